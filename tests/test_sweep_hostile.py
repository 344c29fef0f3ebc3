"""``a2ad sweep`` (and ``verify --out``) under hostile input: odd output paths, symbolic links,
foreign or broken Parquet parts, schedulers that are not schedulers, and progress bars in pipes.
Every failure is one line on stderr and exit 2, before any work where the input allows it."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerics.io import progress
from numerics.sweep import run as sweep_run, spec as sweep_spec
from proofs_check.cli import main as cli
from test_sweep_spec import cli_error

BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.7},
]}
# Four chunks of two closed-form points: milliseconds, and enough parts to break one of them.
RAW = {"base": BASE, "axes": {"agents.0.preconditioner": [0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5]},
       "measure": ["predict"], "chunk_size": 2}
CLI_TIMEOUT = 120  # seconds for one CLI subprocess on a loaded 2-core machine (it takes ~3 s alone)


def write_spec(tmp_path: Path, raw=RAW) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(raw))
    return path


def sweep(capsys, spec: Path, out: Path, *flags) -> int:
    code = cli.main(["sweep", str(spec), "--out", str(out), "--no-progress", *flags])
    capsys.readouterr()
    return code


# --- 6. progress bars: never into a pipe, never with A2AD_NO_PROGRESS ------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("no_progress, terminal, drawn", [("1", True, False), ("", False, False), ("", True, True)])
def test_sweep_bar_obeys_progress_decision(tmp_path, monkeypatch, no_progress, terminal, drawn):
    monkeypatch.setenv(progress.ENV_OFF, no_progress)
    err = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    sweep_run.run(sweep_spec.parse(RAW), tmp_path / "out", progress=True, plot=False)
    assert ("sweep chunks" in err.getvalue()) == drawn, err.getvalue()  # drawn only on a terminal, env unset


def test_sweep_cli_writes_nothing_on_a_piped_stderr(tmp_path):
    env = dict(os.environ, **{progress.ENV_OFF: "1"})
    done = subprocess.run([sys.executable, "-m", "proofs_check.cli", "sweep", str(write_spec(tmp_path)), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr


# --- 2. --out that cannot be written: refused before any work, in sweep and verify -------------------------------


def forbid_work(monkeypatch):
    """Fail the test if a sweep chunk or a verification starts."""
    from numerics.sweep import measures as sweep_measures
    from proofs_check.verification import runner

    def forbidden(*args, **kwargs):
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr(sweep_measures, "compute_chunk", forbidden)
    monkeypatch.setattr(runner, "run", forbidden)


@pytest.fixture
def no_work(monkeypatch):
    forbid_work(monkeypatch)


def unwritable_outs(tmp_path: Path) -> list[Path]:
    (tmp_path / "file").write_text("x")
    outs = [tmp_path / "file" / "sub", tmp_path / "file" / "a" / "b", Path("/proc/a2ad-sweep-out")]  # root cannot write
    if os.geteuid() != 0:  # root writes into a mode-0555 folder anyway
        (tmp_path / "ro").mkdir(mode=0o555)
        outs += [tmp_path / "ro" / "out", tmp_path / "ro"]
    return outs


def test_unwritable_out_is_refused_before_work(tmp_path, capsys, no_work):
    spec = write_spec(tmp_path)
    for out in unwritable_outs(tmp_path):
        for args in (["sweep", str(spec), "--out", str(out)], ["verify", "--claims", "C1", "--out", str(out)]):
            line = cli_error(capsys, args)
            assert "--out" in line and str(out) in line, line


def test_sweep_out_slots_are_checked_before_work(tmp_path, capsys, monkeypatch):
    spec, out, _ = finished(tmp_path, capsys)
    sweep_run.chunk_path(out, 2).unlink()
    (out / "phase.png").unlink()
    (out / "phase.png").mkdir()  # the figure's place is a folder: refused now, not after the missing chunk
    forbid_work(monkeypatch)
    assert "phase.png" in cli_error(capsys, ["sweep", str(spec), "--out", str(out), "--resume"])


def test_verify_out_slots_are_checked_before_work(tmp_path, capsys, no_work):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "figures").write_text("a file where the figures folder goes")
    assert "figures" in cli_error(capsys, ["verify", "--claims", "C1", "--out", str(tmp_path / "a")])
    (tmp_path / "b" / "report.json").mkdir(parents=True)
    assert "report.json" in cli_error(capsys, ["verify", "--claims", "C1", "--out", str(tmp_path / "b"), "--force"])


def test_probe_leaves_nothing_behind(tmp_path):
    from numerics.io import outputs

    outputs.check_writable_dir("--out", tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor the probe file stays


# --- 3. --force never follows a link out of DIR -----------------------------------------------------------------


def outside_targets(tmp_path: Path) -> dict[str, Path]:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "folder" / "keep.txt").write_text("precious")
    (outside / "spec.json").write_text("precious spec")
    (outside / "figure.png").write_text("precious figure")
    return {"results": outside / "folder", "spec.json": outside / "spec.json", "phase.png": outside / "figure.png"}


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_force_removes_links_not_their_targets(tmp_path, capsys):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    targets = outside_targets(tmp_path)
    before = snapshot(tmp_path / "outside")
    out.mkdir()
    for name, target in targets.items():
        (out / name).symlink_to(target)
    assert sweep(capsys, spec, out, "--force") == 0
    assert snapshot(tmp_path / "outside") == before  # every target intact, the folder's file too
    for name in targets:
        assert not (out / name).is_symlink() and (out / name).exists()  # replaced by the sweep's own outputs


@pytest.mark.parametrize("name", ["results", "spec.json", "phase.png"])
def test_resume_refuses_a_linked_output(tmp_path, capsys, name):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    assert sweep(capsys, spec, out) == 0
    targets = outside_targets(tmp_path)
    before = snapshot(tmp_path / "outside")
    sweep_run._remove(out / name)
    (out / name).symlink_to(targets[name])
    assert "symbolic link" in cli_error(capsys, ["sweep", str(spec), "--out", str(out), "--resume", "--no-progress"])
    assert snapshot(tmp_path / "outside") == before


# --- 4. --resume checks every Parquet part --------------------------------------------------------------------


def finished(tmp_path: Path, capsys, raw=RAW, name="out") -> tuple[Path, Path, dict]:
    spec_file = tmp_path / f"{name}.json"
    spec_file.write_text(json.dumps(raw))
    out = tmp_path / name
    assert sweep(capsys, spec_file, out) == 0
    return spec_file, out, sweep_run.read_results(out)


def assert_same_results(got: dict, want: dict) -> None:
    import numpy as np

    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def rewrite_part(path: Path, metadata=None, rows=None) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table if rows is None else table.slice(0, rows)
    pq.write_table(table.replace_schema_metadata(metadata), path)


BROKEN = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"PAR1" + os.urandom(200)),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
    "rows missing": lambda p: rewrite_part(p, metadata=sweep_run.part_metadata(sweep_spec.parse(RAW), 1), rows=1),
}


@pytest.mark.parametrize("how", BROKEN)
def test_resume_recomputes_a_broken_part_of_this_grid(tmp_path, capsys, how):
    spec_file, out, want = finished(tmp_path, capsys)
    BROKEN[how](sweep_run.chunk_path(out, 1))
    assert sweep(capsys, spec_file, out, "--resume") == 0
    assert_same_results(sweep_run.read_results(out), want)


def foreign_cases(tmp_path: Path, capsys) -> dict:
    other = dict(RAW, axes={"agents.0.preconditioner": [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6]})
    _, other_out, _ = finished(tmp_path, capsys, other, "other")
    spec = sweep_spec.parse(RAW)
    old_schema = {**sweep_run.part_metadata(spec, 1), sweep_run.META_SCHEMA: b"0"}
    part = "chunk-000001.parquet"
    return {  # name in DIR/results -> how to make it from this grid's part 1
        "another spec": (part, lambda p: p.write_bytes(sweep_run.chunk_path(other_out, 1).read_bytes())),
        "another schema": (part, lambda p: rewrite_part(p, metadata=old_schema)),
        "no metadata": (part, lambda p: rewrite_part(p, metadata=None)),
        "another chunk's part": (part, lambda p: p.write_bytes(sweep_run.chunk_path(p.parent.parent, 2).read_bytes())),
        "beyond the grid": ("chunk-000009.parquet", lambda p: p.write_bytes(b"")),
        "a stray file": ("notes.txt", lambda p: p.write_text("mine")),
    }


def test_resume_refuses_a_foreign_part_by_name(tmp_path, capsys):
    spec_file, out, want = finished(tmp_path, capsys)
    for case, (name, make) in foreign_cases(tmp_path, capsys).items():
        part = out / "results" / name
        keep = part.read_bytes() if part.exists() else None
        make(part)
        line = cli_error(capsys, ["sweep", str(spec_file), "--out", str(out), "--resume", "--no-progress"])
        assert name in line and "not a part of this sweep" in line, (case, line)
        part.unlink()
        if keep is not None:
            part.write_bytes(keep)
    assert sweep(capsys, spec_file, out, "--resume") == 0  # each planted file removed: resumes as before
    assert_same_results(sweep_run.read_results(out), want)


def test_parts_carry_the_spec_hash(tmp_path, capsys):
    import hashlib

    import pyarrow.parquet as pq

    _, out, _ = finished(tmp_path, capsys)
    meta = pq.read_metadata(sweep_run.chunk_path(out, 3)).metadata
    stored = json.loads((out / "spec.json").read_text())["spec"]
    assert meta[sweep_run.META_SPEC].decode() == hashlib.sha256(sweep_spec.canonical(stored).encode()).hexdigest()
    assert meta[sweep_run.META_CHUNK] == b"3"


# --- 5. Dask: other schemes, servers that are not schedulers, silence: one line, exit 2, bounded time -----------

# Seconds --timeout gives a hostile server in these tests, and the bound on the whole failing command on a loaded
# 2-core machine (importing distributed and starting its client loop take a few seconds of it).
HOSTILE_TIMEOUT = 2
HOSTILE_BOUND = 60
RLIMIT_AS_BYTES = 4 * 2**30  # the client subprocess cannot allocate more: an exabyte read fails at once
ADDRESS_SPACE_FLOOR = 2 * 2**30  # python + numpy + pyarrow + distributed map ~1-2 GiB of address space here


def handshake_bytes(message) -> bytes:
    """A Dask TCP message written independently of distributed: [total][n][len_1..][frames], native uint64."""
    import struct

    import msgpack

    frame = msgpack.packb(message)
    body = struct.pack("QQ", 1, len(frame)) + frame
    return struct.pack("Q", len(body)) + body


class HostileServer:
    """A loopback TCP server (a thread) that answers every connection with ``reply`` (bytes, or None: close at once)
    and then keeps it open, silent, until :meth:`close`."""

    def __init__(self, reply: bytes | None):
        import socket
        import threading

        self.reply, self.conns = reply, []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            if self.reply is None:
                conn.close()
                continue
            self.conns.append(conn)
            try:
                conn.sendall(self.reply)
            except OSError:
                pass

    def close(self):
        import socket

        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not, on Linux)
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(timeout=5)


HOSTILE = {
    "HTTP server": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",  # 'HTTP/1.1' read as ~5e18 bytes
    "all ones": b"\xff" * 64,
    "huge frame count": (24).to_bytes(8, sys.byteorder) + (2**40).to_bytes(8, sys.byteorder) + bytes(16),
    "frames that do not add up": (24).to_bytes(8, sys.byteorder) + (1).to_bytes(8, sys.byteorder) + bytes(16),
    "msgpack, not a handshake": handshake_bytes([1, 2, 3]),
    "a map without the handshake keys": handshake_bytes({"op": "hello", "python": [3, 11]}),
    "silent": b"",
    "closes at once": None,
    "handshake, then silence": handshake_bytes({"compression": None, "python": [3, 11, 7], "pickle-protocol": 5}),
}


@pytest.mark.parametrize("scheduler", ["tls://127.0.0.1:8786", "ucx://127.0.0.1:8786", "inproc://10.0.0.1/1/2",
                                       "ws://127.0.0.1:8786", "127.0.0.1:8786", "tcp://127.0.0.1", "tcp://:8786",
                                       "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000", "tcp://127.0.0.1:８７８６",
                                       "tcp://user@127.0.0.1:8786"])
def test_other_addresses_are_refused_up_front(tmp_path, capsys, monkeypatch, scheduler):
    forbid_work(monkeypatch)
    line = cli_error(capsys, ["sweep", str(write_spec(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "dask",
                              "--scheduler", scheduler])
    assert "--scheduler" in line and "error:" in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9"])
def test_bad_timeout(tmp_path, capsys, value):
    line = cli_error(capsys, ["sweep", str(write_spec(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "dask",
                              "--scheduler", "tcp://127.0.0.1:1", "--timeout", value])
    assert "--timeout" in line


def test_timeout_needs_dask(tmp_path, capsys):
    assert "--timeout" in cli_error(capsys, ["sweep", str(write_spec(tmp_path)), "--out", str(tmp_path / "o"),
                                             "--timeout", "5"])


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_server_is_one_line_in_bounded_time(tmp_path, capsys, monkeypatch, case):
    import time

    forbid_work(monkeypatch)
    server = HostileServer(HOSTILE[case])
    try:
        start = time.monotonic()
        line = cli_error(capsys, ["sweep", str(write_spec(tmp_path)), "--out", str(tmp_path / "o"), "--no-progress",
                                  "--backend", "dask", "--scheduler", server.address,
                                  "--timeout", str(HOSTILE_TIMEOUT)])
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert "service error" in line and "--scheduler" in line and server.address in line, line
    assert elapsed < HOSTILE_BOUND, elapsed
    if case != "handshake, then silence":  # the probe refuses it before DIR is touched: a retry needs no --force
        assert not (tmp_path / "o").exists()


def test_garbage_server_under_a_memory_limit(tmp_path):
    """The client in a subprocess limited to RLIMIT_AS_BYTES of address space: it refuses the server without
    allocating what the garbage announces (distributed alone would try 5e18 bytes: MemoryError, a traceback)."""
    import resource
    import time

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (RLIMIT_AS_BYTES, RLIMIT_AS_BYTES))

    server = HostileServer(HOSTILE["HTTP server"])
    try:
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "proofs_check.cli", "sweep", str(write_spec(tmp_path)), "--out",
                               str(tmp_path / "o"), "--no-progress", "--backend", "dask", "--scheduler",
                               server.address, "--timeout", str(HOSTILE_TIMEOUT)],
                              capture_output=True, text=True, preexec_fn=limit, timeout=CLI_TIMEOUT)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "is not a Dask scheduler" in lines[0], done.stderr
    assert elapsed < HOSTILE_BOUND
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    assert peak < ADDRESS_SPACE_FLOOR, peak


def test_a_stretch_with_no_finished_chunk_is_bounded(tmp_path, capsys):
    """A real scheduler with no worker: connecting works, no chunk ever finishes."""
    import time

    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        start = time.monotonic()
        line = cli_error(capsys, ["sweep", str(write_spec(tmp_path)), "--out", str(tmp_path / "o"), "--no-progress",
                                  "--backend", "dask", "--scheduler", cluster.scheduler_address,
                                  "--timeout", str(HOSTILE_TIMEOUT)])
        elapsed = time.monotonic() - start
    assert "no chunk finished within" in line, line
    assert elapsed < HOSTILE_BOUND, elapsed


PLANTED_NO_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from numerics.sweep import dask_backend
dask_backend.probe_scheduler = lambda address, timeout: None  # planted: distributed reads the server unchecked
from proofs_check.cli import main as cli
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("case", ["HTTP server", "msgpack, not a handshake"])
def test_power_without_the_probe_distributed_fails_badly(tmp_path, case):
    """The handshake check matters: without it (planted), the same server gives a traceback, not one line."""
    server = HostileServer(HOSTILE[case])
    try:
        done = subprocess.run([sys.executable, "-c", PLANTED_NO_PROBE.format(limit=RLIMIT_AS_BYTES), "sweep",
                               str(write_spec(tmp_path)), "--out", str(tmp_path / "o"), "--no-progress", "--backend",
                               "dask", "--scheduler", server.address, "--timeout", str(HOSTILE_TIMEOUT)],
                              capture_output=True, text=True, timeout=CLI_TIMEOUT)
    finally:
        server.close()
    assert done.returncode != 2 and "Traceback" in done.stderr, done.stderr[-300:]
