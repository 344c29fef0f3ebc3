"""Fuzzing the CLI contract with Hypothesis: configs, transcripts and arguments.

For every generated run (``proofs_check.cli.main.main`` in-process, stdout/stderr captured):

- exit 0 with standard JSON on stdout (no NaN/Infinity; every number finite), or
- exit 2 with exactly one line on stderr and nothing on stdout;
- within a per-run CPU-time bound (and a wall-clock SIGALRM turns a hang into a failure);
- and no file changes except the run's own ``--out``/``--figure`` (no temporary file left).

The ``ci`` profile (tests/conftest.py) keeps this under a minute in ``make test``;
``HYPOTHESIS_PROFILE=thorough`` runs many more examples. A few real subprocess runs
check the same contract end to end (one stderr line, no traceback, exit 2).
"""
import contextlib
import hashlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from hypothesis.errors import InvalidArgument

from proofs_check.cli import main as cli

# Small inputs: a run takes ~10-100 ms (median). The bound is on the process's CPU time, which
# other jobs on a shared 2-core machine do not inflate; the fit's bound allows for matplotlib
# rendering its figure. A wall-clock alarm (HANG_SECONDS) catches a run that waits forever.
PER_RUN_SECONDS = 1.0
FIT_RUN_SECONDS = 3.0
HANG_SECONDS = 20.0
SUBPROCESS_SECONDS = 30.0  # interpreter start-up plus imports, on a shared machine


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def finite_json(text: str):
    """Strict JSON: NaN/Infinity refused, every number finite."""
    def no_constant(token):
        raise AssertionError(f"non-standard JSON constant {token}")
    doc = json.loads(text, parse_constant=no_constant)
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            assert math.isfinite(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return doc


def check_run(argv, root: Path, allowed=(), json_out=True, seconds=PER_RUN_SECONDS):
    """Run the CLI once and assert the contract (module docstring). Returns the exit code."""
    before = snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, max(HANG_SECONDS, seconds))
    start = time.process_time()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in argv])
    except Hang:
        raise AssertionError(f"no result within {max(HANG_SECONDS, seconds)} s: {argv}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    elapsed = time.process_time() - start
    assert elapsed < seconds, (argv, elapsed)
    stdout, stderr = out.getvalue(), err.getvalue()
    assert "Traceback" not in stderr, stderr
    if code == 0:
        if json_out:
            finite_json(stdout)
    else:
        assert code == 2, (argv, code, stdout, stderr)
        assert stdout == "", (argv, stdout)
        assert len(stderr.strip().splitlines()) == 1, (argv, stderr)
    with contextlib.suppress(InvalidArgument):  # outside @given (the power test) there are no events
        event(f"{argv[0]}: exit {code}")
        event("CPU time " + next(f"< {b} s" for b in (0.1, 0.3, 0.5, 1.0, 2.0, 1e9) if elapsed < b))
    after = snapshot(root)
    allowed = {str(Path(a).relative_to(root)) for a in allowed}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= allowed, (argv, changed - allowed)
    return code


@pytest.fixture(scope="module", autouse=True)
def warm_imports():
    """Import what the commands import lazily, so the per-run bound measures the run, not imports."""
    import matplotlib.pyplot  # noqa: F401
    import scipy.linalg  # noqa: F401

    import numerics.fit.output  # noqa: F401
    import numerics.interventions.attacks  # noqa: F401
    import proofs_check.verification.runner  # noqa: F401
    from proofs_check.claims import all_claims
    from proofs_check.cli import main  # noqa: F401
    from proofs_check.verification import registry  # noqa: F401

    all_claims()  # imports every claim module (SymPy) once
    fig = matplotlib.pyplot.figure()
    fig.savefig(io.BytesIO(), format="png")  # font cache, renderer
    matplotlib.pyplot.close(fig)


@contextlib.contextmanager
def workdir():
    with tempfile.TemporaryDirectory() as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


# --- strategies -------------------------------------------------------------------------------

def mostly(good, bad):
    """One of ``good`` five times in six, else one of ``bad``."""
    return st.integers(0, 5).flatmap(lambda i: st.sampled_from(bad if i == 0 else good))



REASONABLE = st.floats(min_value=-3, max_value=3, allow_nan=False).map(lambda x: round(x, 3))
HOSTILE = st.one_of(
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 1e-300, 1e308, 0.0]),
    st.integers(min_value=-10**400, max_value=10**400),
    st.booleans(), st.sampled_from(["1.5", "", None, [], {}]))
# Mostly ordinary numbers, so that many runs succeed and exercise the exit-0 contract too.
NUMBER = st.integers(0, 24).flatmap(lambda i: HOSTILE if i == 0 else REASONABLE)


def matrix(rows, cols, entry=NUMBER):
    return st.lists(st.lists(entry, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


@st.composite
def agent(draw, index, d, clean):
    NUMBER = REASONABLE if clean else globals()["NUMBER"]
    dd = d if clean or draw(st.integers(0, 9)) else draw(st.integers(1, 3))
    spec = {"name": chr(65 + index) if clean else draw(st.sampled_from([chr(65 + index), chr(65 + index), "", "A", 7]))}
    if draw(st.booleans()):
        n = draw(st.integers(1 if clean else 0, 4))
        extra = 0 if clean or draw(st.integers(0, 9)) else 1
        spec["prompt"] = {"X": draw(matrix(n, dd, NUMBER)), "y": draw(st.lists(NUMBER, min_size=n + extra,
                                                                               max_size=n + extra))}
    else:
        a = draw(matrix(dd, dd, REASONABLE))
        psd = [[sum(a[i][k] * a[j][k] for k in range(dd)) for j in range(dd)] for i in range(dd)]
        spec["geometry"] = psd if clean or draw(st.integers(0, 5)) else draw(matrix(dd, dd))
        spec["target"] = draw(st.lists(NUMBER, min_size=dd, max_size=dd))
    choice = draw(st.integers(0, 5)) if clean else draw(st.integers(0, 9))
    if choice < 6:
        spec["preconditioner"] = draw(st.floats(min_value=0.01, max_value=1.2).map(lambda x: round(x, 3)))
    elif choice < 8:
        spec["preconditioner"] = draw(st.one_of(NUMBER, matrix(dd, dd)))
    if clean:
        if draw(st.integers(0, 3)) == 0:
            spec["steps_per_turn"] = draw(st.sampled_from([1, 2, 3, 10**9]))
        return spec
    if draw(st.integers(0, 3)) == 0:
        spec["steps_per_turn"] = draw(st.one_of(st.integers(-1, 4), st.sampled_from([10**9, 10**12, 10**13]),
                                                st.floats(allow_nan=True), st.booleans(), st.just("2")))
    if draw(st.integers(0, 20)) == 0:
        spec["gamma"] = 1
    return spec


@st.composite
def protocol_object(draw, k, clean):
    """A ``protocol`` key over agents A, B, ...: phases of listeners with weights (hostile when not clean)."""
    names = [chr(65 + i) for i in range(k)]
    phases = []
    for _ in range(draw(st.integers(1, 3))):
        listeners = draw(st.lists(st.sampled_from(names), min_size=1, max_size=k, unique=True))
        phases.append({i: {j: draw(st.floats(-1.0, 1.5).map(lambda x: round(x, 3)))
                           for j in draw(st.lists(st.sampled_from(names), min_size=1, max_size=k, unique=True))}
                       for i in listeners})
    phases.append({n: {names[i - 1]: 1.0} for i, n in enumerate(names)})  # every agent speaks
    if clean:
        return {"rounds": phases}
    hostile = draw(st.integers(0, 5))
    if hostile == 0:
        phases[0] = {}
    elif hostile == 1:
        phases[0] = {"Z": {"A": 1.0}}
    elif hostile == 2:
        phases[-1]["A"] = {"B": draw(HOSTILE)}
    return {"rounds": phases} if hostile != 3 else draw(HOSTILE)


@st.composite
def config_text(draw):
    clean = draw(st.booleans())  # half the configs are valid in form (their numbers may still diverge)
    d = draw(st.integers(1, 3))
    k = draw(st.sampled_from([2, 2, 2, 3] + ([] if clean else [1])))
    raw = {"agents": [draw(agent(i, d, clean)) for i in range(k)]}
    if draw(st.booleans()):
        raw["initial_message"] = draw(st.lists(REASONABLE if clean else NUMBER, min_size=d,
                                               max_size=d + (0 if clean else draw(st.integers(0, 1)))))
    if draw(st.integers(0, 4)) == 0:
        raw["schema_version"] = 1 if clean else draw(st.sampled_from([1, 2, True, "1", 1.0, None]))
    if draw(st.integers(0, 3)) == 0:
        raw["protocol"] = draw(protocol_object(k, clean))
    text = json.dumps(raw)
    if clean:
        return text.encode()
    mutation = draw(st.integers(0, 15))
    if mutation == 0:
        text = text.replace('{"name"', '{"name": "Z", "name"', 1)  # duplicate key
    elif mutation == 1:
        text = text[:draw(st.integers(0, len(text)))]  # truncated
    elif mutation == 2:
        text = "[" * draw(st.integers(60, 5000)) + text
    data = text.encode()
    encoding = draw(st.integers(0, 20))
    if encoding == 0:
        data = text.encode("utf-16")
    elif encoding == 1:
        data = b"\xef\xbb\xbf" + data
    elif encoding == 2:
        data = data + b"\xff"
    return data


COMMANDS = st.one_of(
    st.tuples(st.just("predict")),
    st.tuples(st.just("predict"), st.just("--precision"), mostly(["20", "30"], ["5", "2000", "x"])),
    st.tuples(st.just("simulate"), st.just("--turns"),
              mostly(["1", "7", "60"], ["0", "-3", str(10**7), str(10**9), "2.5"])),
    st.tuples(st.just("attack"), st.just("--kind"), st.sampled_from(["full", "rank-one"]),
              st.sampled_from(["--seed", "--examples"]), mostly(["0", "3"], ["-1", str(10**8)])),
    st.tuples(st.just("attack"), st.just("--kind"), st.just("steer"), st.just("--point"),
              mostly(["[1, 2]", "[1]", "[0.5]", "[1, 2, 3]"], ["[NaN, 1]", '["1", 2]', "[1e999, 1]", "{", "[[1]]"])),
    st.tuples(st.just("llm-run"), st.just("--turns"), mostly(["1", "5"], ["0", str(10**9)]),
              st.just("--backend"), st.just("local"), st.sampled_from(["--decimals", "--max-reasks", "--seed"]),
              mostly(["1", "2"], ["0", "-1", "99999"])),
)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=config_text(), command=COMMANDS)
def test_fuzz_configs(data, command):
    with workdir() as root:
        cfg = root / "cfg.json"
        cfg.write_bytes(data)
        name, *rest = command
        argv = [name, cfg, *rest]
        allowed = []
        json_out = name != "llm-run"
        if name == "llm-run":
            out = root / "out.jsonl"
            argv += ["--out", out]
            allowed = [out]
        check_run(argv, root, allowed, json_out=json_out)


@st.composite
def transcript_text(draw):
    clean = draw(st.booleans())
    d = draw(st.integers(1, 2))
    n = draw(st.integers(20, 60)) if clean else draw(st.integers(0, 40))
    names = ["A", "B"] if clean else draw(st.sampled_from([["A", "B"], ["A", "B"], ["A"], ["A", "B", "C"]]))
    w = [0.0] * d
    lines = []
    a = draw(st.floats(min_value=-0.9, max_value=0.9))
    noise = draw(st.lists(REASONABLE, min_size=n * d, max_size=n * d))
    for i in range(n):
        out = [round(a * w[j] + 0.1 * noise[i * d + j] + (i % len(names)), 6) for j in range(d)]
        rec = {"turn": i // len(names), "agent": names[i % len(names)], "incoming": w, "outgoing": out}
        if not clean and draw(st.integers(0, 30)) == 0:
            rec[draw(st.sampled_from(["incoming", "outgoing", "turn", "agent", "meta", "prompt", "x"]))] = draw(HOSTILE)
        lines.append(json.dumps(rec))
        w = out
    if len(names) == 2 and draw(st.integers(0, 3)) == 0:  # recorded under the round robin, stated in a header
        head = {"schema_version": 1, "agents": names, "protocol": {"rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}],
                                                           "initial_messages": {"A": [0.0] * d, "B": [0.0] * d}}}
        if not clean and draw(st.integers(0, 3)) == 0:
            head[draw(st.sampled_from(["schema_version", "agents", "protocol", "extra"]))] = draw(HOSTILE)
        lines = [json.dumps(head)] + [json.dumps({**json.loads(x), "phase": i % 2}) for i, x in enumerate(lines)]
    if lines and not clean and draw(st.integers(0, 10)) == 0:
        lines[draw(st.integers(0, len(lines) - 1))] = draw(st.sampled_from(
            ['{"turn": 0, "turn": 1}', "not json", '{"a": ' + "1" * 400 + "}", "[" * 200, "NaN"]))
    return ("\n".join(lines) + "\n").encode()


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=transcript_text(), bootstrap=mostly(["0", "5", "20"], ["-1", str(10**8)]),
       tail=mostly(["0.5", "0.3"], ["0", "1", "nan"]), seed=mostly(["0", "7"], ["-1"]),
       figure=mostly(["fig.png", "fig.svg", "sub/fig.png"], ["fig.txt", "t.jsonl"]))
def test_fuzz_transcripts(data, bootstrap, tail, seed, figure):
    with workdir() as root:
        tr = root / "t.jsonl"
        tr.write_bytes(data)
        fig = root / figure
        check_run(["fit", tr, "--json", "--bootstrap", bootstrap, "--tail", tail, "--seed", seed, "--figure", fig],
                  root, allowed=[fig] if figure != "t.jsonl" else [], seconds=FIT_RUN_SECONDS)


GOOD_CONFIG = json.dumps({"agents": [
    {"name": "A", "prompt": {"X": [[1, 0], [0, 1], [1, 1]], "y": [1, 2, 3.2]}, "preconditioner": 0.5},
    {"name": "B", "geometry": [[1, 0.2], [0.2, 1]], "target": [0, 1], "preconditioner": 0.8}]})
TOKENS = st.sampled_from(["--turns", "--precision", "--kind", "--seed", "--examples", "--point", "--out", "--force",
                          "--backend", "--timeout", "--deadline", "--retries", "--max-reasks", "--decimals",
                          "--resume", "--bootstrap", "--figure", "--json", "--claims", "--profile", "--format",
                          "--victim", "--config", "--attacker", "A", "B",
                          "-1", "0", "3", "1e9", "nan", "inf", "99999999999999999999", "", ",", "local", "http",
                          "full", "steer", "cfg.json", "out.txt", ".", "/", "[1, 2]", "C99", "\x00", "é"])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["predict", "simulate", "attack", "llm-run", "fit", "verify", "derive", "bogus"]),
       tokens=st.lists(TOKENS, max_size=7))
def test_fuzz_arguments(command, tokens):
    """Random option soup. Runs that could legitimately do long work (verify of a real claim,
    derive of every claim, an HTTP backend) are steered to fail fast or skipped by construction."""
    if command in ("verify", "derive") and "--claims" not in tokens:
        tokens = ["--claims", "C99", *tokens]
    if command == "llm-run" and "local" not in tokens:
        tokens = [*tokens, "--backend", "local", "--endpoint", "http://127.0.0.1:9"]
    if command == "derive":
        tokens = [*tokens, "--format", "json"]
    with workdir() as root:
        (root / "cfg.json").write_text(GOOD_CONFIG)
        argv = [command, *(["cfg.json"] if command in ("predict", "simulate", "attack", "llm-run") else []), *tokens]
        if command == "fit":
            argv = ["fit", "missing.jsonl", *tokens]
        # A run may write its own outputs (any path the arguments name); nothing else may change.
        allowed = [root / t for t in tokens if t not in ("", ".", "/") and "\x00" not in t] + \
                  [root / "out.txt", root / "missing-fit.png"]
        allowed = [a for a in allowed if a.resolve().parent == root.resolve()]
        code = check_run(argv, root, allowed, json_out=command in ("predict", "simulate", "attack"))
        assert (root / "cfg.json").read_text() == GOOD_CONFIG  # an input is never overwritten
        assert code in (0, 2)


HOSTILE_FILES = {  # each subprocess costs seconds of start-up; the rest run in-process above
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "utf16.json": GOOD_CONFIG.encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_subprocess_one_line(tmp_path, name):
    """The real console script: exit 2, one stderr line, no traceback, promptly."""
    path = tmp_path / name
    path.write_bytes(HOSTILE_FILES[name])
    exe = Path(sys.executable).with_name("a2ad")
    start = time.monotonic()
    proc = subprocess.run([str(exe), "predict", str(path)], capture_output=True, text=True,
                          timeout=SUBPROCESS_SECONDS)
    assert time.monotonic() - start < SUBPROCESS_SECONDS
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_subprocess_dev_zero_is_bounded():
    exe = Path(sys.executable).with_name("a2ad")
    proc = subprocess.run([str(exe), "predict", "/dev/zero"], capture_output=True, text=True,
                          timeout=SUBPROCESS_SECONDS)
    assert proc.returncode == 2 and "larger than the limit" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_checker_catches_planted_contract_breaks(monkeypatch, tmp_path):
    """Power: each way of breaking the contract is caught by check_run."""
    from proofs_check.cli import predict

    cfg = tmp_path / "cfg.json"
    cfg.write_text(GOOD_CONFIG)

    def prints_nan(args):
        sys.stdout.write('{"x": NaN}\n')
        return 0

    def two_lines(args):
        from numerics.io.errors import InputError
        raise InputError("x", 1, "first line\nsecond line")

    def writes_elsewhere(args):
        (tmp_path / "stray.txt").write_text("oops")
        sys.stdout.write("{}\n")
        return 0

    def spins(args):
        while True:
            pass

    def waits(args):
        while True:
            time.sleep(0.01)

    # Short enough for a quick test, long enough that the alarm never fires while the CLI builds its
    # parser on a loaded machine (at 0.5 s it once fired inside ast.parse: a SystemError, not a catch).
    monkeypatch.setattr(sys.modules[__name__], "HANG_SECONDS", 2.0)
    for planted in (prints_nan, two_lines, writes_elsewhere, spins, waits):
        monkeypatch.setattr(predict, "run", planted)
        with pytest.raises(AssertionError):
            check_run(["predict", cfg], tmp_path, seconds=0.3)


# ---- second round: train-lsa's float options and sizes (issue: ZeroDivisionError, OverflowError,
# hundreds of GiB) are exit 0 or one line, within the per-run bound ------------------------------

TRAIN_VALUES = st.sampled_from(["1e-300", "1e300", "nan", "inf", "-inf", "0", "-1", "1e-7", "2e6", "0.5"]) | \
    st.floats(allow_nan=True, allow_infinity=True).map(repr)
TRAIN_SIZES = st.sampled_from([[], ["--d", "64", "--N", "10000", "--batch", "100000"],
                                ["--d", "64", "--N", "2000", "--batch", "20000"]])  # both over the memory bound


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=25)
@given(option=st.sampled_from(["--tau", "--sigma", "--lr"]), value=TRAIN_VALUES, sizes=TRAIN_SIZES)
def test_fuzz_train_lsa_options(option, value, sizes):
    with workdir() as root:
        argv = ["train-lsa", "--no-progress", "--d", "2", "--N", "4", "--steps", "2", "--batch", "8",
                "--out", "w.npz", *sizes, option, value]
        check_run(argv, root, [root / "w.npz"], json_out=False)
