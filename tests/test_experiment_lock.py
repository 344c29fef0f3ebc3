"""``experiment --out DIR`` is locked like ``sweep``: a second run on DIR while one is writing is
refused at once (exit 2, naming the lock and its holder) and writes nothing into DIR."""
import subprocess
import sys
import time
from pathlib import Path

from numerics.io import locks
from proofs_check.cli import experiment as cli_experiment, main as cli

START_TIMEOUT_S = 60  # the first process imports numpy/sympy under a loaded machine before it writes

# The first run: an experiment that writes one file, then waits for the test's gate file.
FIRST = r"""
import sys, time
from pathlib import Path
from proofs_check.cli import experiment as cli_experiment, main
name, out, gate = sys.argv[1:4]
class Slow:
    @staticmethod
    def run(out, **kw):
        path = Path(out) / "first.csv"
        path.write_text("1\n")
        while not Path(gate).exists():
            time.sleep(0.05)
        return [path]
cli_experiment.all_experiments = lambda: {name: Slow}
sys.exit(main.main(["experiment", name, "--out", out]))
"""


class _Fast:
    @staticmethod
    def run(out, **kw):
        path = Path(out) / "second.csv"
        path.write_text("2\n")
        return [path]


def test_second_experiment_on_the_same_out_is_refused(tmp_path, capsys, monkeypatch):
    out, gate = tmp_path / "exp", tmp_path / "gate"
    first = subprocess.Popen([sys.executable, "-c", FIRST, "misalignment", str(out), str(gate)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (out / "first.csv").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        monkeypatch.setattr(cli_experiment, "all_experiments", lambda: {"misalignment": _Fast})
        # --force: without the lock, the non-empty check would be skipped and both runs would write into DIR
        assert cli.main(["experiment", "misalignment", "--out", str(out), "--force"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "in use by process" in err[0] and locks.DIR_LOCK in err[0]
        assert not (out / "second.csv").exists()
    finally:
        gate.write_text("go")
        stdout, stderr = first.communicate(timeout=START_TIMEOUT_S)
    assert first.returncode == 0, stderr
    assert not (out / locks.DIR_LOCK).exists()  # released on exit
    # once the first run ended, the same command proceeds
    assert cli.main(["experiment", "misalignment", "--out", str(out), "--force"]) == 0
    assert (out / "second.csv").exists()
