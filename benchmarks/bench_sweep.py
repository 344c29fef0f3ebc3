"""``a2ad sweep`` throughput and parallel efficiency.

1. Closed-form sweep of 10^6 points (d = 4, two agents, ``predict``; both step sizes swept) against a
   bare numpy script doing the same solves (rho from the eigenvalues of M_A M_B, the fixed points by
   one solve where rho < 1, both residual norms) on the same grid. Medians of REPEATS interleaved runs.
2. A ``train-lsa`` sweep on a 2-worker Dask cluster (``dask scheduler`` and ``dask worker`` processes,
   joined with ``--scheduler``) against the same sweep on a 1-worker cluster.
"""
from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from numerics.sweep import measures as sweep_measures, run as sweep_run, spec as sweep_spec

REPEATS = 3
SIDE = 1000  # 1000 x 1000 = 10^6 points
TRAIN_POINTS, TRAIN_STEPS = 12, 300
H_A = np.diag([1.0, 0.5, 0.2, 0.05])
H_B = np.array([[0.3, 0.1, 0.0, 0.0], [0.1, 0.6, 0.1, 0.0], [0.0, 0.1, 1.0, 0.1], [0.0, 0.0, 0.1, 0.8]])
W_A, W_B = np.array([1.0, 0, 0, 0]), np.array([1.0, 1.0, 0, 0])
STEPS = np.linspace(0.05, 3.0, SIDE)


def closed_form_spec() -> dict:
    agent = lambda name, H, w: {"name": name, "geometry": H.tolist(), "target": w.tolist(), "preconditioner": 0.8}
    return {"base": {"agents": [agent("A", H_A, W_A), agent("B", H_B, W_B)]},
            "axes": {"agents.0.preconditioner": {"linspace": [0.05, 3.0, SIDE]},
                     "agents.1.preconditioner": {"linspace": [0.05, 3.0, SIDE]}},
            "measure": ["predict"]}


def bare() -> tuple[np.ndarray, np.ndarray]:
    """What a user would write for the same grid: no validation, no files."""
    I = np.eye(4)
    gA, gB = np.repeat(STEPS, SIDE), np.tile(STEPS, SIDE)
    MA = I - gA[:, None, None] * H_A
    MB = I - gB[:, None, None] * H_B
    cA, cB = W_A - (MA @ W_A), W_B - (MB @ W_B)
    J = MA @ MB
    rho = np.max(np.abs(np.linalg.eigvals(J)), axis=-1)
    ok = rho < 1
    r = (MA[ok] @ cB[ok, :, None])[..., 0] + cA[ok]
    u = np.linalg.solve(I - J[ok], r[..., None])[..., 0]
    v = (MB[ok] @ u[..., None])[..., 0] + cB[ok]
    res = np.full((len(rho), 2), np.nan)
    res[ok, 0] = np.linalg.norm(u - W_A, axis=-1)
    res[ok, 1] = np.linalg.norm(v - W_B, axis=-1)
    return rho, res


def package_compute(spec) -> list:
    return [sweep_measures.compute_chunk(spec, c) for c in range(spec.n_chunks)]


def package_full(spec, out: Path) -> None:
    sweep_run.run(spec, out, force=True)


def train_spec(points: int, steps: int) -> dict:
    H = np.diag([1.0, 0.6, 0.3])
    agent = lambda name, w: {"name": name, "geometry": H.tolist(), "target": w, "preconditioner": 0.5}
    return {"base": {"agents": [agent("A", [1.0, 0, 0]), agent("B", [0, 1.0, 0])]},
            "axes": {"seed": list(range(points))},
            "measure": [{"train-lsa": {"steps": steps, "turns": 100}}]}


class Cluster:
    """A real ``dask scheduler`` and ``n`` single-threaded ``dask worker`` processes on 127.0.0.1, each in its
    own session, as separate ``dask worker`` commands run (the kernel shares CPU between sessions)."""

    def __init__(self, n: int, tmp: Path):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).with_name("dask"))
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp)
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"], **quiet)]
        self.procs += [subprocess.Popen([dask, "worker", self.address, "--nthreads", "1", "--no-dashboard",
                                         "--local-directory", str(tmp / f"w{i}")], **quiet) for i in range(n)]
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=60)

    def close(self):
        for p in reversed(self.procs):
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()


def cluster_times(spec, workers: int, tmp: Path, repeats: int) -> list[float]:
    """Wall times of the sweep joined to a running cluster by its address (start-up is not part of a sweep)."""
    cluster = Cluster(workers, tmp)
    times = []
    try:
        for _ in range(repeats):
            t = time.perf_counter()
            sweep_run.run(spec, tmp / "out", backend="dask", scheduler=cluster.address, force=True, plot=False)
            times.append(time.perf_counter() - t)
    finally:
        cluster.close()
    return times


def main() -> dict:
    load = os.getloadavg()[0]
    spec = sweep_spec.parse(closed_form_spec())
    rho, res = bare()
    cols = package_compute(spec)
    got = np.concatenate([c["contraction_rate"] for c in cols])
    assert np.allclose(got, rho, rtol=1e-10), "package and bare rho differ"
    assert np.allclose(np.concatenate([c["residual_norm_A"] for c in cols]), res[:, 0], rtol=1e-8, equal_nan=True)
    tmp = Path(tempfile.mkdtemp(prefix="a2ad-bench-sweep-"))
    t_bare, t_compute, t_full = [], [], []
    try:
        for _ in range(REPEATS):
            for fn, args, sink in ((bare, (), t_bare), (package_compute, (spec,), t_compute),
                                   (package_full, (spec, tmp / "full"), t_full)):
                t = time.perf_counter()
                fn(*args)
                sink.append(time.perf_counter() - t)
        b, c, f = (statistics.median(x) for x in (t_bare, t_compute, t_full))
        print(f"closed-form sweep, 10^6 points, d=4, K=2 (load {load:.1f} on {os.cpu_count()} cores): bare numpy "
              f"{b:.2f} s; package compute {c:.2f} s -> {100 * b / c:.0f}% of bare throughput; whole run with "
              f"Parquet files and phase.png {f:.2f} s -> {100 * b / f:.0f}%")
        tspec = sweep_spec.parse(train_spec(points=TRAIN_POINTS, steps=TRAIN_STEPS))
        one, two = [], []
        for _ in range(REPEATS):  # interleaved, so that load changes hit both
            one += cluster_times(tspec, 1, tmp, 1)
            two += cluster_times(tspec, 2, tmp, 1)
        t1, t2 = statistics.median(one), statistics.median(two)
        print(f"train-lsa sweep, {TRAIN_POINTS} points x 2 trainings ({TRAIN_STEPS} steps) (load "
              f"{os.getloadavg()[0]:.1f}): 1 worker {t1:.2f} s, 2 workers {t2:.2f} s -> ratio {t2 / t1:.2f} "
              f"(target <= 0.65), parallel efficiency {t1 / (2 * t2):.0%}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"load_average": load, "bare_seconds": b, "package_compute_seconds": c, "package_full_seconds": f,
            "throughput_ratio_compute": b / c, "throughput_ratio_full": b / f,
            "train_lsa_1_worker_seconds": t1, "train_lsa_2_workers_seconds": t2, "train_lsa_ratio": t2 / t1,
            "raw": {"bare": t_bare, "compute": t_compute, "full": t_full, "one": one, "two": two}}


if __name__ == "__main__":
    main()
