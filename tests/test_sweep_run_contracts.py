"""Contracts of ``numerics.sweep.run`` (docs/sweeps.rst, "Results" and "Backends"): the bounds on ``workers`` and
on the chunk count (each reached exactly is accepted, exceeded by one refused), what ``--resume`` does with an
unreadable ``DIR/spec.json`` or one listing other result columns, which parts count as damaged (recomputed), and
that the local process pool has no worker left running when ``run`` returns or raises.

Small closed-form grids (milliseconds) and short simulations in pools of at most four processes."""
import io
import json
import multiprocessing
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from numerics.io import progress
from numerics.io.errors import InputError
from numerics.sweep import measures as sweep_measures, run as sweep_run, spec as sweep_spec

BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1], [0.1, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.4},
]}
# Three chunks of two closed-form points.
RAW = {"base": BASE, "axes": {"agents.0.preconditioner": [0.2, 0.4, 0.6, 0.8, 1.0, 1.2]}, "measure": ["predict"],
       "chunk_size": 2}
WORKERS_MAX = 1024  # the bound docs/sweeps.rst states for --workers
CHUNKS_MAX = 100_000  # "a sweep writes at most 10^5 chunks" (docs/sweeps.rst, Bounds)


@pytest.fixture(autouse=True)
def local_only(monkeypatch):
    """Every test here runs the local backend, which neither needs Dask (an optional extra) nor hands it chunks."""
    from numerics.sweep import dask_backend

    def forbidden(*args, **kwargs):
        raise AssertionError("the local backend used Dask")

    for name in ("require", "check_timeout", "probe_scheduler", "results"):
        monkeypatch.setattr(dask_backend, name, forbidden)


def finished(tmp_path, raw=RAW):
    """A finished sweep of ``raw`` in tmp_path/out: its spec, folder and results."""
    spec = sweep_spec.parse(raw)
    out = tmp_path / "out"
    outcome = sweep_run.run(spec, out, plot=False)
    assert (outcome.computed, outcome.skipped) == (spec.n_chunks, 0)
    return spec, out, sweep_run.read_results(out)


def assert_same_results(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)  # NaN where no fixed point, on both


def resume_error(spec, out) -> str:
    with pytest.raises(InputError) as err:
        sweep_run.run(spec, out, resume=True, plot=False)
    return str(err.value)


# --- bounds -------------------------------------------------------------------------------------------------------


def test_workers_bound_is_accepted_at_1024_and_refused_above(tmp_path):
    """--workers is an integer in [1, 1024]: 1024 runs, 1025 and 0 are refused naming --workers."""
    spec = sweep_spec.parse(RAW)
    outcome = sweep_run.run(spec, tmp_path / "edge", workers=WORKERS_MAX, plot=False)
    assert outcome.computed == spec.n_chunks == 3
    for bad in (WORKERS_MAX + 1, 0):
        with pytest.raises(InputError) as err:
            sweep_run.run(spec, tmp_path / f"w{bad}", workers=bad, plot=False)
        assert str(err.value).startswith(f"--workers = {bad}:") and "between 1 and 1024" in str(err.value)
        assert not (tmp_path / f"w{bad}").exists()  # refused before DIR is created


def chunk_spec(n_chunks: int):
    """A closed-form grid of n_chunks one-point chunks (parse checks only the first and last gap_scale)."""
    return sweep_spec.parse({"base": BASE, "axes": {"gap_scale": {"linspace": [0.0, 1.0, n_chunks]}},
                             "measure": ["predict"], "chunk_size": 1})


def test_chunk_count_bound_is_accepted_at_1e5_and_refused_above(tmp_path):
    """At most 10^5 chunks: 10^5 passes the chunk check (the next check, --out, refuses); 10^5 + 1 is refused."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")  # --out is a file: checked right after the chunk count, before any work
    at, above = chunk_spec(CHUNKS_MAX), chunk_spec(CHUNKS_MAX + 1)
    assert (at.n_chunks, above.n_chunks) == (CHUNKS_MAX, CHUNKS_MAX + 1)
    with pytest.raises(InputError) as err:
        sweep_run.run(at, not_a_dir, plot=False)
    assert str(err.value).startswith("--out = ") and "not a directory" in str(err.value)
    with pytest.raises(InputError) as err:
        sweep_run.run(above, not_a_dir, plot=False)
    assert str(err.value) == "chunk count = 100001: must be at most 100000: raise chunk_size"


# --- --resume and DIR/spec.json -------------------------------------------------------------------------------------

UNREADABLE_MANIFEST = {  # how DIR/spec.json is made unreadable; each read raises another exception type
    "missing": lambda p: p.unlink(),  # FileNotFoundError (OSError)
    "a folder": lambda p: (p.unlink(), p.mkdir()),  # IsADirectoryError (OSError)
    "not JSON": lambda p: p.write_text("{\"spec\": "),  # JSONDecodeError (ValueError)
    "not UTF-8": lambda p: p.write_bytes(b"\xff\xfe{}"),  # UnicodeDecodeError (ValueError)
    "no spec key": lambda p: p.write_text("{\"columns\": []}"),  # KeyError
    "a list": lambda p: p.write_text("[1, 2]"),  # TypeError (list indices)
    "a string": lambda p: p.write_text("\"spec\""),  # TypeError (string indices)
    "null": lambda p: p.write_text("null"),  # TypeError (None is not subscriptable)
}


@pytest.mark.parametrize("how", UNREADABLE_MANIFEST)
def test_resume_refuses_an_unreadable_manifest(tmp_path, how):
    """--resume on a DIR whose spec.json is missing, not JSON or not an object with "spec": one refusal, no write."""
    spec, out, _ = finished(tmp_path)
    UNREADABLE_MANIFEST[how](out / "spec.json")
    before = {p.name: p.read_bytes() for p in (out / "results").iterdir()}
    assert resume_error(spec, out) == f"--resume = '{out}': holds no readable spec.json from a2ad sweep"
    assert {p.name: p.read_bytes() for p in (out / "results").iterdir()} == before


def other_columns(cols: list[str]) -> dict:
    return {"one more": cols + ["extra"], "one fewer": cols[:-1], "reordered": cols[::-1], "renamed":
            cols[:-1] + [cols[-1] + "_old"], "none": None}


def test_resume_refuses_a_manifest_with_other_columns(tmp_path):
    """--resume compares spec.json's "columns" with this version's: any other list (or none) is refused."""
    spec, out, want = finished(tmp_path)
    meta_path = out / "spec.json"
    meta = json.loads(meta_path.read_text())
    for case, cols in other_columns(meta["columns"]).items():
        changed = dict(meta, columns=cols) if cols is not None else {k: v for k, v in meta.items() if k != "columns"}
        meta_path.write_text(json.dumps(changed))
        line = resume_error(spec, out)
        assert line.startswith(f"--resume = '{meta_path}':") and "lists other result columns" in line, case
    meta_path.write_text(json.dumps(meta))
    assert sweep_run.run(spec, out, resume=True, plot=False).skipped == spec.n_chunks  # the real list resumes
    assert_same_results(sweep_run.read_results(out), want)


# --- damaged parts: recomputed by --resume --------------------------------------------------------------------------


def rewrite(path, change) -> None:
    """Rewrite a part through ``change(table)``, keeping its a2ad metadata (spec hash, chunk, schema)."""
    table = pq.read_table(path)
    metadata = table.schema.metadata
    pq.write_table(change(table).replace_schema_metadata(metadata), path)


DAMAGED = {  # a part of this grid, with this grid's metadata, but not the rows and columns it promises
    "rows twice": lambda t: pa.concat_tables([t, t]),
    "one row more": lambda t: pa.concat_tables([t, t.slice(0, 1)]),
    "a column missing": lambda t: t.drop_columns([t.column_names[-1]]),
    "a column more": lambda t: t.append_column("extra", t.column(0)),
    "a column renamed": lambda t: t.rename_columns(t.column_names[:-1] + ["other"]),
    "columns reordered": lambda t: t.select(t.column_names[::-1]),
}


@pytest.mark.parametrize("how", DAMAGED)
def test_resume_recomputes_a_part_with_other_rows_or_columns(tmp_path, how):
    """A part whose row count or column names (and order) differ from its chunk's is damaged: recomputed."""
    spec, out, want = finished(tmp_path)
    part = sweep_run.chunk_path(out, 1)
    rewrite(part, DAMAGED[how])
    assert sweep_run.part_state(spec, part) == "broken"
    outcome = sweep_run.run(spec, out, resume=True, plot=False)
    assert (outcome.computed, outcome.skipped) == (1, spec.n_chunks - 1)
    assert pq.read_table(part).num_rows == 2 and pq.read_schema(part).names == list(want)
    assert_same_results(sweep_run.read_results(out), want)


# --- the local process pool -----------------------------------------------------------------------------------------

POOL_BASE = {"agents": [dict(BASE["agents"][0], steps_per_turn=2), BASE["agents"][1]]}
# Chunk 0 simulates 20000 turns (a few tenths of a second); chunk 1's A takes Gamma = 1e200 I twice per turn, so
# its per-turn transfer overflows float64: refused at once, while chunk 0 is still running in the other worker.
POOL_RAW = {"base": POOL_BASE, "axes": {"agents.0.preconditioner": [0.5, 1e200]},
            "measure": [{"simulate": {"turns": 20000}}], "chunk_size": 1}
# Four one-point chunks that simulate (so the local backend uses its pool): milliseconds each.
SIM_RAW = dict(POOL_RAW, base=BASE, axes={"gap_scale": [0.0, 0.5, 1.0, 2.0]}, measure=[{"simulate": {"turns": 20}}])


def test_pool_leaves_no_worker_running_when_a_chunk_is_refused(tmp_path):
    """run raises a chunk's refusal only once its pool has shut down: no worker of it is left running."""
    before = set(multiprocessing.active_children())
    spec = sweep_spec.parse(POOL_RAW)
    with pytest.raises(InputError) as err:
        sweep_run.run(spec, tmp_path / "out", workers=2, plot=False)
    assert "per-turn transfer" in str(err.value) and "1e+200" in str(err.value)
    assert set(multiprocessing.active_children()) <= before


def test_pool_leaves_no_worker_running_when_run_returns(tmp_path):
    """After a sweep that simulates in a pool of two, run returns with every worker exited."""
    before = set(multiprocessing.active_children())
    spec = sweep_spec.parse(SIM_RAW)
    assert sweep_run.run(spec, tmp_path / "out", workers=2, plot=False).computed == 4
    assert set(multiprocessing.active_children()) <= before


def test_pool_size_never_exceeds_the_chunks_to_compute(tmp_path, monkeypatch):
    """Closed forms and --workers 1 compute in this process; a pool has at most one process per chunk to compute."""
    sizes = []

    class Recorded(sweep_run.ProcessPoolExecutor):
        def __init__(self, max_workers):
            sizes.append(max_workers)
            super().__init__(max_workers)

    monkeypatch.setattr(sweep_run, "ProcessPoolExecutor", Recorded)
    sweep_run.run(sweep_spec.parse(RAW), tmp_path / "closed", workers=2, plot=False)
    simulated = sweep_spec.parse(SIM_RAW)
    sweep_run.run(simulated, tmp_path / "one", workers=1, plot=False)
    assert sizes == []  # neither started a pool
    sweep_run.run(simulated, tmp_path / "eight", workers=8, plot=False)
    assert sizes == [4]  # four chunks, eight workers allowed
    sweep_run.chunk_path(tmp_path / "eight", 2).unlink()
    assert sweep_run.run(simulated, tmp_path / "eight", resume=True, plot=False).computed == 1
    assert sizes == [4, 1]  # default (every core), one chunk missing
    sweep_run.run(simulated, tmp_path / "three", workers=3, plot=False)
    sweep_run.run(simulated, tmp_path / "default", plot=False)
    assert sizes == [4, 1, 3, min(os.cpu_count(), 4)]  # as asked; every core, at most one per chunk
    assert_same_results(sweep_run.read_results(tmp_path / "one"), sweep_run.read_results(tmp_path / "eight"))


# --- DIR/spec.json's package version; a foreign part's refusal ------------------------------------------------------


def test_manifest_names_the_installed_version_or_unknown(tmp_path, monkeypatch):
    """spec.json's package_version is the installed a2a-dynamics's version, "unknown" when it is not installed."""
    import importlib.metadata as metadata

    _, out, _ = finished(tmp_path)
    assert json.loads((out / "spec.json").read_text())["package_version"] == metadata.version("a2a-dynamics")

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)  # as when run from a source tree without installing
    sweep_run.run(sweep_spec.parse(RAW), tmp_path / "source", plot=False)
    assert json.loads((tmp_path / "source" / "spec.json").read_text())["package_version"] == "unknown"


def test_foreign_part_refusal_shows_both_hashes_first_16_characters(tmp_path):
    """A part of another spec is refused naming a2ad.spec_sha256: its value and this sweep's, 16 characters each."""
    import hashlib

    other_raw = dict(RAW, axes={"agents.0.preconditioner": [0.3, 0.5, 0.7, 0.9, 1.1, 1.3]})
    spec, out, _ = finished(tmp_path)
    other_out = tmp_path / "other"
    sweep_run.run(sweep_spec.parse(other_raw), other_out, plot=False)
    part = sweep_run.chunk_path(out, 1)
    part.write_bytes(sweep_run.chunk_path(other_out, 1).read_bytes())
    mine, theirs = (hashlib.sha256(sweep_spec.canonical(r).encode()).hexdigest() for r in (RAW, other_raw))
    line = resume_error(spec, out)
    assert line == (f"--resume = '{part}': is not a part of this sweep (its a2ad.spec_sha256 is {theirs[:16]!r}, "
                    f"this sweep's is {mine[:16]!r}); move it away or use --force to start over")


def test_a_refused_chunk_cancels_the_chunks_not_started(tmp_path, monkeypatch):
    """When a chunk is refused in the pool, the chunks not yet started are never computed (only those in flight)."""
    ran = tmp_path / "ran"
    ran.mkdir()
    real = sweep_measures.compute_chunk

    def recorded(spec, chunk):  # the pool's processes are forked after this patch: they record each chunk they start
        (ran / str(chunk)).touch()
        return real(spec, chunk)

    recorded.__module__, recorded.__qualname__ = real.__module__, real.__qualname__  # pickled by that name
    monkeypatch.setattr(sweep_measures, "compute_chunk", recorded)
    n_slow = 12  # chunk 0 is refused at once; chunks 1-12 simulate (a few hundredths of a second each)
    raw = dict(POOL_RAW, axes={"agents.0.preconditioner": [1e200] + [0.5] * n_slow},
               measure=[{"simulate": {"turns": 5000}}])
    with pytest.raises(InputError):
        sweep_run.run(sweep_spec.parse(raw), tmp_path / "out", workers=2, plot=False)
    started = {int(p.name) for p in ran.iterdir()}
    assert 0 in started and len(started) < 1 + n_slow, sorted(started)  # two running, a few queued: never all


def test_a_failed_write_cancels_the_chunks_not_started(tmp_path, monkeypatch):
    """When writing a finished chunk fails (here an InputError, as a full disk gives an OSError), the pool is shut
    down with the chunks not yet started cancelled: they are never computed."""
    ran = tmp_path / "ran"
    ran.mkdir()
    real = sweep_measures.compute_chunk

    def recorded(spec, chunk):  # forked after this patch: each chunk records its start
        (ran / str(chunk)).touch()
        return real(spec, chunk)

    def failed_write(out_dir, chunk, cols, spec):
        raise InputError("--out", str(out_dir), "cannot be written")

    recorded.__module__, recorded.__qualname__ = real.__module__, real.__qualname__  # pickled by that name
    monkeypatch.setattr(sweep_measures, "compute_chunk", recorded)
    monkeypatch.setattr(sweep_run, "write_chunk", failed_write)
    n = 13  # chunks that simulate (a few hundredths of a second each): two run, the rest wait in the queue
    raw = dict(POOL_RAW, axes={"agents.0.preconditioner": [0.5] * n}, measure=[{"simulate": {"turns": 5000}}])
    with pytest.raises(InputError, match="cannot be written"):
        sweep_run.run(sweep_spec.parse(raw), tmp_path / "out", workers=2, plot=False)
    started = {int(p.name) for p in ran.iterdir()}
    assert len(started) < n, sorted(started)


SLOW_FIRST = 1.0  # s: chunk 0 fails this much later than chunk 1 (a pool worker takes each at once)


def test_the_pool_raises_the_first_failing_chunk_in_the_grid_order(tmp_path, monkeypatch):
    """Two chunks are refused and the later one finishes first: the refusal raised names the first point in the
    grid's order (docs/sweeps.rst), whichever chunk finished first."""
    real = sweep_measures.compute_chunk

    def late_first(spec, chunk):  # forked after this patch: chunk 0 is refused SLOW_FIRST later than chunk 1
        if chunk == 0:
            time.sleep(SLOW_FIRST)
        return real(spec, chunk)

    late_first.__module__, late_first.__qualname__ = real.__module__, real.__qualname__  # pickled by that name
    monkeypatch.setattr(sweep_measures, "compute_chunk", late_first)
    raw = dict(POOL_RAW, axes={"agents.0.preconditioner": [1e200, 1e300]})
    with pytest.raises(InputError) as info:
        sweep_run.run(sweep_spec.parse(raw), tmp_path / "out", workers=2, plot=False)
    assert "{'agents.0.preconditioner': 1e+200}" in str(info.value), str(info.value)


def test_resume_ignores_hidden_and_underscore_files(tmp_path):
    """Dot-files and _-files in DIR/results are neither parts nor foreign: resume keeps every part, and them."""
    spec, out, want = finished(tmp_path)
    for name in (".DS_Store", "_SUCCESS"):  # "." sorts before "chunk-", "_" after
        (out / "results" / name).write_text("not a part")
    outcome = sweep_run.run(spec, out, resume=True, plot=False)
    assert (outcome.computed, outcome.skipped) == (0, spec.n_chunks)
    assert (out / "results" / ".DS_Store").exists() and (out / "results" / "_SUCCESS").exists()
    assert_same_results(sweep_run.read_results(out), want)


def test_a_part_named_at_the_chunk_count_is_foreign(tmp_path):
    """Part names run from chunk-000000 to the chunk count minus one: the next name is foreign (refused)."""
    spec, out, _ = finished(tmp_path)
    beyond = out / "results" / f"chunk-{spec.n_chunks:06d}.parquet"
    beyond.write_bytes(b"")  # were it this grid's name, an empty file would be recomputed, not refused
    line = resume_error(spec, out)
    assert line.startswith(f"--resume = '{beyond}': is not a part of this sweep (not a part name of this grid")
    beyond.unlink()
    sweep_run.chunk_path(out, spec.n_chunks - 1).write_bytes(b"")  # the last name of this grid: recomputed
    assert sweep_run.run(spec, out, resume=True, plot=False).computed == 1


def test_a_dir_holding_only_a_hidden_file_is_not_empty(tmp_path):
    """DIR is empty only when it holds nothing but the sweep's own lock file: a hidden file makes a rerun refused."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".DS_Store").write_text("x")
    with pytest.raises(InputError) as err:
        sweep_run.run(sweep_spec.parse(RAW), out, plot=False)
    assert "is not empty" in str(err.value)


def test_resume_keeps_parts_of_more_than_256_rows(tmp_path):
    """A whole part of a large chunk (300 points) is kept by --resume, as a small one is."""
    raw = dict(RAW, axes={"gap_scale": {"linspace": [0.0, 2.0, 600]}}, chunk_size=300)
    spec, out, want = finished(tmp_path, raw)
    outcome = sweep_run.run(spec, out, resume=True, plot=False)
    assert (outcome.computed, outcome.skipped) == (0, 2)
    assert_same_results(sweep_run.read_results(out), want)


def test_run_draws_no_progress_bar_by_default(tmp_path, monkeypatch):
    """run's progress defaults to False: nothing on stderr, even a terminal's."""
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.delenv(progress.ENV_OFF, raising=False)
    monkeypatch.setattr(sys, "stderr", err)
    sweep_run.run(sweep_spec.parse(RAW), tmp_path / "quiet", plot=False)
    assert err.getvalue() == ""
    sweep_run.run(sweep_spec.parse(RAW), tmp_path / "drawn", plot=False, progress=True)
    assert "sweep chunks" in err.getvalue()  # the same terminal shows the bar when asked


def test_manifest_is_json_indented_by_two_spaces(tmp_path):
    """DIR/spec.json is written for people too: JSON indented by 2 spaces, ending with one newline."""
    _, out, _ = finished(tmp_path)
    text = (out / "spec.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"


def test_a_sweep_holds_the_lock_file_inside_dir(tmp_path):
    """While DIR/.a2ad.lock is held (by another sweep), a sweep on DIR is refused at once, naming that file."""
    from numerics.io import locks

    out = tmp_path / "out"
    with locks.hold(out, directory=True) as held:
        assert held == out / ".a2ad.lock"
        with pytest.raises(InputError) as err:
            sweep_run.run(sweep_spec.parse(RAW), out, plot=False)
    assert str(err.value).startswith(f"--out = '{out}': is in use by process ") and str(held) in str(err.value)
    assert not (out / "results").exists()  # refused before any write
    assert sweep_run.run(sweep_spec.parse(RAW), out, plot=False).computed == 3  # released: the sweep runs


def test_read_results_selects_columns_with_point_first_once(tmp_path):
    """read_results(DIR, columns): "point" first, then each asked column once, in the order asked; rows by point."""
    _, out, whole = finished(tmp_path)
    asked = ["seed", "residual_norm_B", "".join(["po", "int"]), "contraction_rate", "seed"]  # a "point" built here
    got = sweep_run.read_results(out, asked)
    assert list(got) == ["point", "seed", "residual_norm_B", "contraction_rate"]
    assert got["point"].tolist() == list(range(6))
    assert_same_results(got, {k: whole[k] for k in got})


def test_resume_refuses_another_spec_either_way(tmp_path):
    """--resume with a spec other than DIR's is refused whichever of the two sorts first as text."""
    wider = dict(RAW, axes={"agents.0.preconditioner": [0.2, 0.4, 0.6, 0.8, 1.0, 1.4]})
    for first, second in ((RAW, wider), (wider, RAW)):
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        sweep_run.run(sweep_spec.parse(first), out, plot=False)
        with pytest.raises(InputError) as err:
            sweep_run.run(sweep_spec.parse(second), out, resume=True, plot=False)
        assert str(err.value) == f"--resume = '{out / 'spec.json'}': holds a different spec; use --force to start over"


def test_scheduler_needs_the_dask_backend(tmp_path):
    """--scheduler with the local backend is refused before DIR is touched."""
    with pytest.raises(InputError) as err:
        sweep_run.run(sweep_spec.parse(RAW), tmp_path / "out", scheduler="tcp://127.0.0.1:8786", plot=False)
    assert str(err.value) == "--scheduler = 'tcp://127.0.0.1:8786': needs --backend dask"
    assert not (tmp_path / "out").exists()


def test_resume_removes_leftover_temporaries_of_any_kind(tmp_path):
    """Leftover temporaries (.chunk-*.tmp-*) in DIR/results are removed: a file, a folder, a link (not its target)."""
    spec, out, want = finished(tmp_path)
    target = tmp_path / "keep.txt"
    target.write_text("mine")
    results = out / "results"
    (results / ".chunk-000000.parquet.tmp-1-a").write_bytes(b"half a file")
    (results / ".chunk-000001.parquet.tmp-2-b").mkdir()
    (results / ".chunk-000001.parquet.tmp-2-b" / "x").write_text("x")
    (results / ".chunk-000002.parquet.tmp-3-c").symlink_to(target)
    outcome = sweep_run.run(spec, out, resume=True, plot=False)
    assert (outcome.computed, outcome.skipped) == (0, spec.n_chunks)
    assert sorted(p.name for p in results.iterdir()) == [f"chunk-{c:06d}.parquet" for c in range(spec.n_chunks)]
    assert target.read_text() == "mine"
    assert_same_results(sweep_run.read_results(out), want)
