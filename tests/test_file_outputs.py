"""One way to write files, modes that follow the umask, one lock per output, one error root
(issue 24 item 5; issue 25 "Concurrency").

Every writing command is run in this process under umask 022 and 077 and every file and folder
it creates is checked against ``0666 & ~umask`` / ``0777 & ~umask``. The locks are tested with
real processes: a holder started with ``python -c``, a second CLI process refused with one
line naming the lock, a holder killed with SIGKILL whose stale lock the next run takes over,
and two sweeps / two llm-runs started at once on one output.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from chat_server import ChatServer
from numerics.io import locks, outputs, transcripts, validate
from numerics.io.errors import A2ADError, DerivationRefused, InputError, ServiceError
from numerics.llm import client as llm_client
from numerics.protocol import config, spec as protocol_spec
from numerics.sweep import spec as sweep_spec
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PYTHON = sys.executable
# A real process started by a test may take this long to import numpy and reach its lock on a
# loaded 2-core machine; a test never waits this long when things work.
PROCESS_TIMEOUT = 300
UMASKS = (0o022, 0o077)

TWO_AGENTS = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1], [0.1, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.8}],
    "initial_message": [0.3, -0.2]}
SWEEP_SPEC = {"base": TWO_AGENTS, "axes": {"gap_scale": {"linspace": [0.0, 2.0, 40]}}, "measure": ["predict"],
              "chunk_size": 4}  # 10 chunks: every sweep here writes several files


def env() -> dict:
    """The environment of a child process: this worktree's code first."""
    return dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")


def a2ad(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "proofs_check.cli", *map(str, args)], cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(proc) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
    return proc.returncode, out, err


# ---------------------------------------------------------------------------- modes
def wrong_modes(paths, umask: int) -> list[str]:
    """Every file or folder under ``paths`` (themselves included) whose permission bits are not
    what ``open``/``mkdir`` give under ``umask``: ``0666 & ~umask`` and ``0777 & ~umask``."""
    want_file, want_dir = 0o666 & ~umask, 0o777 & ~umask
    bad, stack = [], [Path(p) for p in paths]
    while stack:
        p = stack.pop()
        mode, want = p.stat().st_mode & 0o777, want_dir if p.is_dir() else want_file
        if mode != want:
            bad.append(f"{p}: {oct(mode)} (expected {oct(want)})")
        if p.is_dir():
            stack.extend(p.iterdir())
    return bad


@pytest.fixture(params=UMASKS, ids=lambda m: f"umask{m:03o}")
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_the_mode_check_sees_a_private_file(tmp_path):
    """Power of wrong_modes: a 0600 file (what tempfile.mkstemp made before) is reported under umask 022."""
    ok, private = tmp_path / "ok", tmp_path / "private"
    ok.write_text("x")
    os.chmod(ok, 0o644)
    private.write_text("x")
    os.chmod(private, 0o600)
    assert wrong_modes([ok], 0o022) == []
    assert wrong_modes([ok, private], 0o022) == [f"{private}: 0o600 (expected 0o644)"]


FAKE_PDFLATEX = """#!/bin/sh
# Stands in for pdflatex: writes NAME.pdf and NAME.log where -output-directory says.
for a in "$@"; do
  case "$a" in
    -output-directory=*) out="${a#-output-directory=}" ;;
    *.tex) name="${a%.tex}" ;;
  esac
done
printf '%%PDF-1.4 fake\\n' > "$out/$name.pdf"
printf 'fake pdflatex log\\n' > "$out/$name.log"
"""


def fake_pdflatex(tmp_path, monkeypatch):
    from proofs_check.report import latex

    exe = tmp_path / "bin" / "pdflatex"
    exe.parent.mkdir()
    exe.write_text(FAKE_PDFLATEX)
    exe.chmod(0o755)
    monkeypatch.setattr(latex, "pdflatex", lambda: str(exe))


def test_verify_out_files_follow_the_umask(tmp_path, monkeypatch, capsys, umask):
    fake_pdflatex(tmp_path, monkeypatch)  # the PDF and its log are copied in too
    out, cache = tmp_path / "o" / "report", tmp_path / "cache"
    monkeypatch.setenv("A2AD_CACHE_DIR", str(cache))  # the proof cache is written the same way
    assert cli.main(["verify", "--claims", "C2", "--workers", "1", "--out", str(out)]) == 0
    names = {p.relative_to(out).as_posix() for p in out.rglob("*")}
    assert {"report.json", "report.md", "derivations.tex", "derivations.pdf", "derivations.log",
            "figures/verification_margins.png"} <= names
    assert (out / "derivations.pdf").read_bytes().startswith(b"%PDF")
    assert not [n for n in names if outputs.TEMP_MARK in n or n.endswith(".lock")]
    assert any(cache.rglob("*.json"))
    assert wrong_modes([tmp_path / "o", cache], umask) == []


def test_derive_experiment_train_files_follow_the_umask(tmp_path, capsys, umask):
    o = tmp_path / "o"
    assert cli.main(["derive", "--claims", "C2", "--out", str(o / "d" / "derivations.tex")]) == 0
    assert cli.main(["derive", "--claims", "C2", "--format", "macros", "--out", str(o / "m.tex")]) == 0
    assert cli.main(["experiment", "geometry", "--quick", "--out", str(o / "e")]) == 0
    assert cli.main(["train-lsa", "--d", "2", "--N", "8", "--steps", "20", "--no-progress",
                     "--out", str(o / "w" / "w.npz")]) == 0
    assert {p.name for p in (o / "e").iterdir()} == {"geometry.csv", "geometry.png"}
    assert wrong_modes([o], umask) == []


def test_llm_run_fit_sweep_files_follow_the_umask(tmp_path, capsys, umask):
    o = tmp_path / "o"
    tr = o / "t" / "t.jsonl"
    base = ["llm-run", str(EXAMPLES / "text_agents.json"), "--backend", "local", "--out", str(tr)]
    assert cli.main([*base, "--turns", "4"]) == 0
    assert cli.main([*base, "--turns", "8", "--resume"]) == 0  # appended to, mode kept
    assert len(transcripts.read(tr).records) == 16
    assert cli.main(["fit", str(tr), "--figure", str(o / "f" / "fit.png")]) == 0
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SWEEP_SPEC))
    assert cli.main(["sweep", str(spec), "--out", str(o / "s"), "--no-progress"]) == 0
    assert wrong_modes([o], umask) == []
    assert not [p for p in o.rglob("*") if outputs.TEMP_MARK in p.name or p.name.endswith(".lock")]


# ---------------------------------------------------------------------------- the atomic helper
def test_atomic_write_fsyncs_file_and_folder_and_leaves_no_temporary(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real(fd)))
    path = tmp_path / "sub" / "f.txt"
    outputs.write_text(path, "hello")
    assert path.read_text() == "hello" and sorted(p.name for p in path.parent.iterdir()) == ["f.txt"]
    assert synced[-1] == str(path.parent)  # the folder, after the rename
    assert outputs.TEMP_MARK in Path(synced[0]).name  # the data, before the rename


def test_a_scratch_write_is_atomic_without_fsync(tmp_path, monkeypatch):
    # durable=False (verify's configs in a scratch folder it deletes): same file, same atomic rename, no fsync
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    path = tmp_path / "sub" / "f.txt"
    outputs.write_text(path, "old", durable=False)
    outputs.write_text(path, "hello", durable=False)
    assert path.read_text() == "hello" and sorted(p.name for p in path.parent.iterdir()) == ["f.txt"]
    assert synced == []
    with pytest.raises(RuntimeError), outputs.atomic(path, durable=False) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "hello" and [p.name for p in path.parent.iterdir()] == ["f.txt"]
    outputs.write_text(path, "durable")  # the default is durable: the file and its folder
    assert len(synced) == 2
    from proofs_check.verification import shipped_cli  # the verifier's configs are scratch files

    synced.clear()
    assert shipped_cli.write_configs(tmp_path, [{"a": 1}]) == [str(tmp_path / "config_0.json")] and synced == []


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "f.txt"
    outputs.write_text(path, "old")
    with pytest.raises(RuntimeError), outputs.atomic(path) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def overlapping_writes(path) -> str:
    """Two writers of one file whose writes overlap (the second starts before the first renames)."""
    with outputs.atomic(path) as first:
        first.write_text("first " * 1000)
        with outputs.atomic(path) as second:
            second.write_text("second " * 1000)
    return path.read_text()


def test_overlapping_writers_never_share_a_temporary(tmp_path):
    assert overlapping_writes(tmp_path / "f.txt") == "first " * 1000  # the last rename wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_fixed_temporary_name_would_be_caught(tmp_path, monkeypatch):
    """Power: the old sweep's fixed '.spec.json.tmp' makes the overlapping writers collide."""
    def fixed(path):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.touch()
        return tmp

    monkeypatch.setattr(outputs, "_new_temporary", fixed)
    with pytest.raises(InputError, match="cannot be written"):
        overlapping_writes(tmp_path / "f.txt")


def test_a_private_temporary_would_be_caught(tmp_path, monkeypatch):
    """Power: a temporary made by tempfile.mkstemp (mode 0600) gives a file the umask check refuses."""
    import tempfile

    def private(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{outputs.TEMP_MARK}")
        os.close(fd)
        return Path(tmp)

    monkeypatch.setattr(outputs, "_new_temporary", private)
    old = os.umask(0o022)
    try:
        outputs.write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert wrong_modes([tmp_path / "f.txt"], 0o022)


# A second way to write a file: a rename, a private temporary, or a Path written in place
# (``outputs.write_text`` itself is the one way).
OTHER_WRITERS = re.compile(r"os\.(replace|rename)\(|mkstemp\(|NamedTemporaryFile\(|(?<!outputs)\.write_(text|bytes)\(")


def other_writers(sources) -> list[str]:
    return [f"{name}: {m.group(0)}" for name, text in sources for m in OTHER_WRITERS.finditer(text)]


def test_no_other_file_writer_in_the_package():
    """Every file is written through numerics.io.outputs (atomic, fsynced, umask modes)."""
    sources = [(src.relative_to(ROOT).as_posix(), src.read_text())
               for package in ("numerics", "proofs_check", "theory") for src in (ROOT / package).rglob("*.py")
               if src != ROOT / "numerics" / "io" / "outputs.py"]
    assert other_writers(sources) == []
    # power: the writers this change removed are found
    assert len(other_writers([("old", 'tmp.write_text(json.dumps(data))\nos.replace(tmp, path)'),
                              ("ok", "outputs.write_text(path, doc)")])) == 2


# ---------------------------------------------------------------------------- locks
HOLDER = """
import sys
from numerics.io import locks
with locks.hold(sys.argv[1], directory=sys.argv[2] == "dir"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin (or kills this process)
"""


def hold_in_another_process(target, directory: bool) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, "-c", HOLDER, str(target), "dir" if directory else "file"], cwd=ROOT, env=env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def refused_by_lock(code, err, lock) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(lock) in err and "in use by process" in err, err


def test_sweep_refused_while_locked_then_takes_over_a_stale_lock(tmp_path):
    spec, out = tmp_path / "spec.json", tmp_path / "out"
    spec.write_text(json.dumps(SWEEP_SPEC))
    holder = hold_in_another_process(out, directory=True)
    lock = locks.lock_path(out, directory=True)
    try:
        code, _, err = finish(a2ad("sweep", spec, "--out", out, "--no-progress"))
        refused_by_lock(code, err, lock)
        assert f"process {holder.pid}" in err
        assert [p.name for p in out.iterdir()] == [locks.DIR_LOCK]  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean-up: the lock file stays, stale
        holder.wait()
    assert lock.exists()
    code, out_text, err = finish(a2ad("sweep", spec, "--out", out, "--no-progress"))
    assert code == 0, err
    assert "10 computed" in out_text and not lock.exists()


def test_verify_out_refused_while_locked(tmp_path):
    out = tmp_path / "report"
    holder = hold_in_another_process(out, directory=True)
    try:
        code, _, err = finish(a2ad("verify", "--claims", "C2", "--out", out))
        refused_by_lock(code, err, locks.lock_path(out, directory=True))
        assert sorted(p.name for p in out.iterdir()) == [locks.DIR_LOCK]
    finally:
        holder.stdin.close()
        holder.wait(timeout=PROCESS_TIMEOUT)
    assert not out.joinpath(locks.DIR_LOCK).exists()  # a clean exit removes it


def test_two_sweeps_started_at_once_leave_one_whole_result(tmp_path):
    spec, out = tmp_path / "spec.json", tmp_path / "out"
    spec.write_text(json.dumps(SWEEP_SPEC))
    procs = [a2ad("sweep", spec, "--out", out, "--no-progress") for _ in range(2)]
    results = [finish(p) for p in procs]
    assert sorted(code for code, _, _ in results) == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    # refused by the lock, or (if the winner had already finished) by the non-empty folder
    assert "in use by process" in loser or "is not empty" in loser, loser
    df = pd.read_parquet(out / "results")
    assert sorted(df["point"]) == list(range(40))
    assert json.loads((out / "spec.json").read_text())["spec"] == SWEEP_SPEC
    assert sorted(p.name for p in out.iterdir()) == ["phase.png", "results", "spec.json"]


@pytest.fixture
def gated_server():
    """A chat server whose first reply waits until the test opens the gate."""
    gate, asked = threading.Event(), threading.Event()

    def answer(prompt, n, local):
        asked.set()
        gate.wait(PROCESS_TIMEOUT)
        return local(prompt)

    server = ChatServer(answer)
    yield server, gate, asked
    gate.set()
    server.close()


def test_llm_run_resume_refused_while_another_run_writes(tmp_path, gated_server):
    server, gate, asked = gated_server
    cfg, out = EXAMPLES / "text_agents.json", tmp_path / "t.jsonl"
    http = ["--endpoint", server.url, "--model", "m"]
    first = a2ad("llm-run", cfg, "--turns", "3", "--out", out, *http)
    try:
        assert asked.wait(PROCESS_TIMEOUT)  # the first run holds the lock and waits for its reply
        code, _, err = finish(a2ad("llm-run", cfg, "--turns", "3", "--out", out, "--resume", *http))
        refused_by_lock(code, err, locks.lock_path(out))
        assert f"process {first.pid}" in err
    finally:
        gate.set()
    code, _, err = finish(first)
    assert code == 0, err
    assert len(transcripts.read(out).records) == 6  # one run's messages, whole
    code, _, err = finish(a2ad("llm-run", cfg, "--turns", "4", "--out", out, "--resume", *http))
    assert code == 0, err
    assert len(transcripts.read(out).records) == 8


def test_the_lock_is_what_refuses(tmp_path, monkeypatch):
    """Power: without the lock the second holder is not refused (in-process: flock is per open file)."""
    target = tmp_path / "t.jsonl"
    with locks.hold(target), pytest.raises(InputError, match="in use by process"), locks.hold(target):
        pass
    monkeypatch.setattr(locks.fcntl, "flock", lambda fd, op: None)  # a planted lock that never excludes
    with locks.hold(target), locks.hold(target):
        pass


# ---------------------------------------------------------------------------- errors
def test_one_error_root_with_its_own_prefixes():
    assert issubclass(InputError, A2ADError) and issubclass(InputError, ValueError)
    assert issubclass(llm_client.LLMError, ServiceError) and not issubclass(llm_client.LLMError, InputError)
    assert issubclass(DerivationRefused, A2ADError)
    prefixes = {cls.prefix for cls in (InputError, ServiceError, DerivationRefused)}
    assert len(prefixes) == 3
    err = ServiceError("LLM request", "http://x", "HTTP 500").amended(" (after 2 messages)")
    assert type(err) is ServiceError and str(err) == "LLM request = 'http://x': HTTP 500 (after 2 messages)"


@pytest.mark.parametrize("error, prefix, status", [
    (InputError("--x", 1, "bad"), "error", 2),
    (ServiceError("LLM request", "http://x", "HTTP 503"), "service error", 2),
    (DerivationRefused("step 2 does not follow"), "refused", 2),
    (A2ADError("any other"), "error", 2),
])
def test_the_cli_prints_every_a2ad_error_on_one_line(monkeypatch, capsys, error, prefix, status):
    from proofs_check.cli import predict

    def fail(args):
        raise error

    monkeypatch.setattr(predict, "run", fail)
    assert cli.main(["predict", str(EXAMPLES / "two_agents.json")]) == status
    err = capsys.readouterr().err
    assert err == f"a2ad predict: {prefix}: {error}\n"


def test_a_failed_service_is_not_reported_as_bad_input(tmp_path, capsys):
    server = ChatServer(lambda p, n, local: (500, "overloaded", {}))
    try:
        out = tmp_path / "t.jsonl"
        code = cli.main(["llm-run", str(EXAMPLES / "text_agents.json"), "--turns", "2", "--out", str(out),
                         "--endpoint", server.url, "--model", "m", "--retries", "0"])
    finally:
        server.close()
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("a2ad llm-run: service error: LLM request = ") and "HTTP 500" in err
    assert "continue with --resume" in err


def test_an_unanswered_dask_scheduler_is_a_service_error(monkeypatch):
    distributed = pytest.importorskip("distributed")
    from numerics.sweep import dask_backend

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(distributed, "Client", refuse)
    spec = sweep_spec.parse(SWEEP_SPEC)
    with pytest.raises(ServiceError, match="no Dask scheduler answered"):  # the handshake probe refuses port 1
        dask_backend.probe_scheduler("tcp://127.0.0.1:1", timeout=5.0)
    with pytest.raises(ServiceError, match="no Dask scheduler answered"):  # and the client's own failure too
        list(dask_backend.results(spec, [0], "tcp://127.0.0.1:1", None, timeout=5.0))


def test_the_exit_statuses_are_documented():
    table = (ROOT / "docs" / "cli.rst").read_text()
    for status in cli.EXIT_STATUSES:
        assert f"\n   * - {status}\n" in table, status


# ---------------------------------------------------------------------------- unknown keys
def _protocol(raw):
    protocol_spec.parse(raw, ["A", "B"], 2, [0.0, 0.0])


def _transcript_line(obj, protocol=False):
    transcripts.parse_line(json.dumps(obj), protocol=protocol)


MESSAGE = {"turn": 0, "agent": "A", "incoming": [0.0, 0.0], "outgoing": [1.0, 2.0]}
UNKNOWN = [  # (where the key is, the parser, a JSON object with the unknown key 'zzz')
    ("config", config.parse, dict(TWO_AGENTS, zzz=1)),
    ("agents[0]", config.parse, dict(TWO_AGENTS, agents=[dict(TWO_AGENTS["agents"][0], zzz=1),
                                                         TWO_AGENTS["agents"][1]])),
    ("A.prompt", config.parse, {"agents": [{"name": "A", "prompt": {"X": [[1, 0]], "y": [1], "zzz": 1}},
                                           TWO_AGENTS["agents"][1]]}),
    ("protocol", _protocol, {"rounds": [{"A": {"B": 1}}, {"B": {"A": 1}}], "zzz": 1}),
    ("spec", sweep_spec.parse, dict(SWEEP_SPEC, zzz=1)),
    ("measure.train-lsa", sweep_spec.parse, dict(SWEEP_SPEC, measure=[{"train-lsa": {"zzz": 1}}])),
    ("measure.simulate", sweep_spec.parse, dict(SWEEP_SPEC, measure=[{"simulate": {"turns": 5, "zzz": 1}}])),
    ("measure.predict", sweep_spec.parse, dict(SWEEP_SPEC, measure=[{"predict": {"zzz": 1}}])),
    ("plot", sweep_spec.parse, dict(SWEEP_SPEC, plot={"quantity": "rho", "zzz": 1})),
    ("protocol header", transcripts.parse_header, {"format": 1, "agents": ["A", "B"], "protocol": {}, "zzz": 1}),
    ("message", _transcript_line, dict(MESSAGE, zzz=1)),
    ("prompt", _transcript_line, dict(MESSAGE, prompt={"X": [[1, 0]], "y": [1], "zzz": 1})),
]


def refusal(parse, obj) -> str | None:
    try:
        parse(obj)
    except ValueError as exc:  # InputError, or a transcript line's ValueError
        return str(exc)
    return None


@pytest.mark.parametrize("where, parse, obj", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_every_json_object_refuses_an_unknown_key_by_name(where, parse, obj):
    with pytest.raises(InputError) as err:
        parse(obj)
    assert str(err.value).startswith(f"{where} key = 'zzz': is not allowed here; allowed keys: ")


def test_the_unknown_key_tests_fail_without_the_check(monkeypatch):
    """Power: with the check planted as a no-op, no parser names the unknown key."""
    monkeypatch.setattr(validate, "unknown_keys", lambda *a, **k: None)
    for where, parse, obj in UNKNOWN:
        message = refusal(parse, obj)
        assert message is None or "key = 'zzz'" not in message, where


def test_unknown_keys_names_the_first_and_counts_the_rest():
    with pytest.raises(InputError, match=r"^here key = 'a': is not allowed here \(and 1 more unknown\); "
                                         r"allowed keys: \['x'\]$"):
        validate.unknown_keys("here", {"x": 1, "b": 2, "a": 3}, ("x",))
    validate.unknown_keys("here", {"x": 1}, ("x", "y"))
