"""Parameter sweeps: evaluate a function over a grid, serially, in a local process
pool (the default), or on a dask cluster (optional extra ``a2a-dynamics[distributed]``).

``sweep(fn, grid)`` returns ``[fn(**point) for point in grid]`` in grid order,
whatever the backend, so results are reproducible: each point must carry its
own seed. ``fn`` must be a module-level function (it is pickled to workers;
nothing is ever unpickled from outside the process tree).
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

from .errors import InputError

BACKENDS = ("serial", "process", "dask")


def grid(**axes: Iterable) -> list[dict]:
    """Cartesian product of named axes: ``grid(scale=[1, 2], seed=[0, 1])``."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def _call(args):
    fn, point = args
    return fn(**point)


def sweep(fn: Callable, points: list[dict], backend: str = "process", workers: int | None = None,
          progress: bool = False) -> list:
    """Evaluate ``fn(**point)`` for every point, results in the order of ``points``."""
    if backend not in BACKENDS:
        raise InputError("sweep backend", backend, f"must be one of {BACKENDS}")
    jobs = [(fn, p) for p in points]
    if backend == "serial" or len(points) <= 1:
        return [_call(j) for j in _track(jobs, progress)]
    if backend == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise InputError("sweep backend", backend, "needs the optional extra: pip install 'a2a-dynamics[distributed]'") from None
        with LocalCluster(n_workers=workers or os.cpu_count(), processes=True) as cluster, Client(cluster) as client:
            return client.gather(client.map(_call, jobs))
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        return list(_track(pool.map(_call, jobs), progress, total=len(jobs)))


def _track(items, progress: bool, total: int | None = None):
    if not progress:
        return items
    from rich.progress import track

    return track(items, description="sweep", total=total)
