"""Running a sweep: chunks -> Parquet files in ``DIR/results/``, locally or on a Dask cluster.

Backends (identical numbers: a chunk is a pure function of the spec and its index):

- ``local``: closed-form chunks are computed in this process, batched; chunks that
  simulate or train run in a process pool (``workers``, default every core).
- ``dask``: chunks are submitted to an existing cluster (``scheduler="tcp://HOST:PORT"``)
  or, without an address, to a ``LocalCluster``. Workers return columns; only this process
  writes files, so ``DIR`` need not be shared with the workers.

Each chunk is written to a hidden temporary file and renamed (atomic on POSIX), so a killed
run leaves only whole chunk files; ``resume`` computes only the missing ones.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numerics.io import locks, outputs, progress as progress_bar
from numerics.io.errors import InputError
from numerics.io.schema import SCHEMA_VERSION, versioned
from numerics.sweep import measures as sweep_measures
from numerics.sweep.spec import Spec, canonical

BACKENDS = ("local", "dask")
MAX_CHUNKS = 100_000  # files in one results folder
# What --force removes (links themselves, never their targets): the phase figure in any --figure-format.
OUTPUT_NAMES = ("results", "spec.json", "phase.png", "phase.pdf", "phase.svg")
PART_NAME = re.compile(r"chunk-([0-9]{6})\.parquet")
# Parquet key-value metadata of each part: which grid, which chunk, which package schema wrote it (--resume checks)
META_SPEC, META_CHUNK, META_SCHEMA = b"a2ad.spec_sha256", b"a2ad.chunk", b"a2ad.schema_version"


@dataclass
class Outcome:
    out_dir: Path
    computed: int          # chunks computed by this run
    skipped: int           # chunks already on disk (resume)
    n_points: int
    phase: Path | None
    phase_note: str


def chunk_path(out_dir: Path, chunk: int) -> Path:
    return out_dir / "results" / f"chunk-{chunk:06d}.parquet"


def spec_hash(spec: Spec) -> str:
    """SHA-256 of the spec's canonical JSON: the grid a part belongs to."""
    return hashlib.sha256(canonical(spec.raw).encode()).hexdigest()


def part_metadata(spec: Spec, chunk: int) -> dict[bytes, bytes]:
    """The Parquet key-value metadata of a part: its spec's hash, its chunk index and the package schema."""
    return {META_SPEC: spec_hash(spec).encode(), META_CHUNK: str(chunk).encode(),
            META_SCHEMA: str(SCHEMA_VERSION).encode()}


def write_chunk(out_dir: Path, chunk: int, cols: dict[str, np.ndarray], spec: Spec) -> Path:
    """Write one part, with :func:`part_metadata`; atomic (:func:`numerics.io.outputs.atomic`: a dot-file,
    ignored by Parquet dataset readers, renamed into place, which replaces a link, never its target)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    final = chunk_path(out_dir, chunk)
    with outputs.atomic(final) as tmp:
        pq.write_table(pa.table(cols).replace_schema_metadata(part_metadata(spec, chunk)), tmp)
    return final


def part_state(spec: Spec, path: Path) -> str:
    """``"ok"``, ``"broken"`` (named as a part of this grid but unreadable, truncated or not the rows and
    columns its metadata promises: recomputed) or ``"foreign: <why>"`` (another grid's, another schema's,
    no a2ad metadata, a link, or a name outside this grid: refused)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    m = PART_NAME.fullmatch(path.name)
    if m is None or int(m.group(1)) >= spec.n_chunks:
        return f"foreign: not a part name of this grid ({spec.n_chunks} chunks)"
    if path.is_symlink():
        return "foreign: a symbolic link (a sweep never reads or writes through a link)"
    try:
        md = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (OSError, ValueError, pa.ArrowException):  # truncated (no footer), empty, a folder, garbage
        return "broken"
    meta = md.metadata or {}
    for key, want in part_metadata(spec, int(m.group(1))).items():
        if meta.get(key) != want:
            got = meta.get(key, b"none").decode("utf-8", "replace")[:16]
            return f"foreign: its {key.decode()} is {got!r}, this sweep's is {want.decode()[:16]!r}"
    if md.num_rows != len(spec.chunk_points(int(m.group(1)))) or schema.names != sweep_measures.columns(spec):
        return "broken"
    return "ok"


def _done_parts(spec: Spec, results: Path) -> set[int]:
    """The chunks whose parts are whole (broken ones are removed, to be recomputed); a foreign file is refused."""
    done = set()
    for path in sorted(results.iterdir()):
        if path.name.startswith((".", "_")):  # hidden: ignored by Parquet dataset readers too
            continue
        state = part_state(spec, path)
        if state.startswith("foreign"):
            raise InputError("--resume", str(path), f"is not a part of this sweep ({state[len('foreign: '):]}); "
                                                    "move it away or use --force to start over")
        if state == "broken":
            _remove(path)  # a file (or folder) of this grid's name, not a link: those are foreign
        else:
            done.add(int(PART_NAME.fullmatch(path.name).group(1)))  # type: ignore[union-attr]
    return done


def read_results(out_dir, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """Every chunk as one table (numpy columns; all, or ``columns`` and ``point``), rows in grid order."""
    import pyarrow.parquet as pq

    if columns is not None:
        columns = ["point"] + [c for c in dict.fromkeys(columns) if c != "point"]
    table = pq.read_table(Path(out_dir) / "results", columns=columns).sort_by("point")
    return {name: table.column(name).to_numpy() for name in table.column_names}


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("a2a-dynamics")
    except PackageNotFoundError:
        return "unknown"


def _check_flags(spec: Spec, out_dir: Path, resume: bool, force: bool) -> None:
    """The checks that need no lock (before DIR and its lock file are created)."""
    if spec.n_chunks > MAX_CHUNKS:
        raise InputError("chunk count", spec.n_chunks, f"must be at most {MAX_CHUNKS}: raise chunk_size")
    if resume and force:
        raise InputError("--resume/--force", "both", "choose one")
    quantity, cols = spec.plot_quantity, sweep_measures.columns(spec)
    if quantity is not None and quantity not in cols:
        new = sweep_measures.renamed(quantity, cols)
        raise InputError("plot.quantity", quantity, f"was renamed to {new!r} (schema version {SCHEMA_VERSION})" if new
                         else f"is not a result column; columns: {cols}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out", str(out_dir), "exists and is not a directory")


def prepare(spec: Spec, out_dir: Path, resume: bool, force: bool, spec_path: Path | None = None) -> set[int]:
    """Check DIR against the flags; write DIR/spec.json; return the chunks already done (DIR locked by the caller)."""
    out_dir = Path(out_dir)
    _check_flags(spec, out_dir, resume, force)
    if spec_path is not None and out_dir.resolve() in Path(spec_path).resolve().parents:
        raise InputError("--out", str(out_dir), "contains the spec file itself; choose another directory")
    meta_path, cols = out_dir / "spec.json", sweep_measures.columns(spec)
    busy = out_dir.exists() and any(p.name != locks.DIR_LOCK for p in out_dir.iterdir())
    if busy and not (resume or force):
        raise InputError("--out", str(out_dir), "is not empty: pass --resume to finish that sweep or --force to "
                                                "start over")
    if force and busy:
        for name in OUTPUT_NAMES:
            _remove(out_dir / name)
    if resume and busy:
        for name in OUTPUT_NAMES:
            if (out_dir / name).is_symlink():
                raise InputError("--resume", str(out_dir / name), "is a symbolic link: a sweep never writes through "
                                                                  "a link; use --force (removes the link only)")
        try:
            manifest = json.loads(meta_path.read_text())
            stored = manifest["spec"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError("--resume", str(out_dir), "holds no readable spec.json from a2ad sweep") from None
        if canonical(stored) != canonical(spec.raw):
            raise InputError("--resume", str(meta_path), "holds a different spec; use --force to start over")
        if manifest.get("columns") != cols:  # e.g. chunks of an older version's names
            raise InputError("--resume", str(meta_path), "lists other result columns (an older a2ad wrote them); "
                                                         "use --force to start over")
    outputs.check_writable_dir("--out", out_dir, ("spec.json", *OUTPUT_NAMES[2:], "results/part"))
    outputs.make_dirs(out_dir / "results")
    for stale in (out_dir / "results").glob(outputs.temporary_glob("chunk-*")):  # left by a killed run (DIR is locked)
        _remove(stale)  # a file, a link (never its target) or a folder of that name
    meta = versioned({"spec": spec.raw, "package_version": _package_version(), "n_points": spec.n_points,
                      "chunk_size": spec.chunk_size, "n_chunks": spec.n_chunks, "columns": cols})
    outputs.write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    return _done_parts(spec, out_dir / "results")


def _remove(target: Path) -> None:
    """Remove an output of DIR for --force: a link itself (never its target, even a folder), else the file or tree."""
    if target.is_symlink() or not target.is_dir():
        target.unlink(missing_ok=True)
    else:
        shutil.rmtree(target)  # does not follow links inside the tree either


def run(spec: Spec, out_dir, backend: str = "local", scheduler: str | None = None, workers: int | None = None,
        resume: bool = False, force: bool = False, progress: bool = False, spec_path=None,
        plot: bool = True, timeout: float | None = None, figure_format: str = "png") -> Outcome:
    """Compute every missing chunk, write it, then draw DIR/phase.png (or .pdf, .svg: ``figure_format``).

    ``timeout`` (seconds, ``dask`` only; default :data:`numerics.sweep.dask_backend.DEFAULT_TIMEOUT`) bounds
    connecting to the cluster and every stretch with no finished chunk (ServiceError past it).
    """
    figure_format = outputs.figure_format("--figure-format", figure_format)
    if backend not in BACKENDS:
        raise InputError("--backend", backend, f"must be one of {list(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise InputError("--scheduler", scheduler, "needs --backend dask")
    if workers is not None and scheduler is not None:
        raise InputError("--workers", workers, "does not apply with --scheduler: the cluster has its own workers")
    if workers is not None and (workers < 1 or workers > 1024):
        raise InputError("--workers", workers, "must be between 1 and 1024")
    if timeout is not None and backend != "dask":
        raise InputError("--timeout", timeout, "applies to --backend dask only")
    if backend == "dask":
        from numerics.sweep import dask_backend

        dask_backend.require()

        timeout = dask_backend.check_timeout(dask_backend.DEFAULT_TIMEOUT if timeout is None else timeout)
        if scheduler is not None:  # the scheme and form, then a scheduler's handshake: before DIR is touched
            dask_backend.probe_scheduler(scheduler, timeout)
    out_dir = Path(out_dir)
    _check_flags(spec, out_dir, resume, force)
    outputs.check_writable_dir("--out", out_dir)  # before the lock creates DIR and before any work
    with locks.hold(out_dir, directory=True):  # a second sweep on DIR is refused until this one ends
        done = prepare(spec, out_dir, resume, force, spec_path)
        todo = [c for c in range(spec.n_chunks) if c not in done]
        # progress.bar decides: never into a pipe, never with A2AD_NO_PROGRESS set
        with progress_bar.bar(spec.n_chunks, "sweep chunks", show=progress, completed=len(done)) as advance:
            for chunk, cols in _results(spec, todo, backend, scheduler, workers, timeout):
                write_chunk(out_dir, chunk, cols, spec)
                advance()
        phase, note = None, "no plot requested"
        if plot:
            from numerics.sweep import plot as sweep_plot

            cols = read_results(out_dir, sweep_plot.needed_columns(spec))
            phase, note = sweep_plot.phase_figure(spec, cols, out_dir / f"phase.{figure_format}", figure_format)
    return Outcome(out_dir, len(todo), len(done), spec.n_points, phase, note)


def _results(spec: Spec, todo: list[int], backend: str, scheduler, workers, timeout: float | None):
    """Yield ``(chunk, columns)`` as chunks finish (any order)."""
    if not todo:
        return
    if backend == "dask":
        from numerics.sweep import dask_backend

        yield from dask_backend.results(spec, todo, scheduler, workers, timeout or dask_backend.DEFAULT_TIMEOUT)
    elif (not spec.expensive and "simulate" not in spec.measures) or workers == 1:
        for c in todo:  # batched closed forms: one numpy call chain per chunk, here
            yield c, sweep_measures.compute_chunk(spec, c)
    else:
        pool = ProcessPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(todo)))
        try:
            futures = {pool.submit(sweep_measures.compute_chunk, spec, c): c for c in todo}
            for f in as_completed(futures):
                if f.exception() is not None:
                    raise _first_failure(futures)
                yield futures[f], f.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _first_failure(futures: dict) -> BaseException:
    """The error of the first failing chunk in the grid's order, once one chunk has failed (chunks finish in any
    order): the chunks not started are cancelled (they come after every started one: the pool takes them in the
    order submitted, ``todo``'s ascending order), the running ones finish, and the lowest failing index wins."""
    for f in futures:
        f.cancel()
    wait(futures)
    errors = sorted((c, f.exception()) for f, c in futures.items() if not f.cancelled())
    return next(e for _, e in errors if e is not None)
