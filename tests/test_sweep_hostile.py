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


def cli_error(capsys, args) -> str:
    code = cli.main(args)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


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
