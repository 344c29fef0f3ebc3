"""``--figure-format png|pdf|svg`` on every command that writes a figure: the file has that format and
extension, the output names it, and a bad value or a contradiction with ``--figure`` is exit 2."""
import json

import numpy as np
import pytest

from numerics.io import transcripts
from numerics.protocol import simulate
from proofs_check.cli import main as cli
from tests.test_blackbox import gd_pair

MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


def is_format(path, fmt: str) -> bool:
    return path.suffix == "." + fmt and path.read_bytes()[:len(MAGIC[fmt])] == MAGIC[fmt]


def transcript(tmp_path):
    pair, rng = gd_pair(3, 2)
    v0 = rng.standard_normal(2)
    return transcripts.from_run(pair, v0, simulate.run(pair, v0, 30)).write(tmp_path / "gd.jsonl")


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_experiment_writes_its_figures_in_the_format(fmt, tmp_path, capsys):
    out = tmp_path / "geometry"
    assert cli.main(["experiment", "geometry", "--quick", "--out", str(out), "--figure-format", fmt]) == 0
    printed = [p for p in capsys.readouterr().out.split() if not p.endswith(".csv")]
    assert printed == [str(out / f"geometry.{fmt}")] and is_format(out / f"geometry.{fmt}", fmt)
    assert not (out / "geometry.png").exists()


def test_fit_figure_format_names_the_default_path_and_must_agree_with_figure(tmp_path, capsys):
    path = transcript(tmp_path)
    assert cli.main(["fit", str(path), "--bootstrap", "0", "--figure-format", "svg"]) == 0
    assert f"figure: {tmp_path / 'gd-fit.svg'}" in capsys.readouterr().out
    assert is_format(tmp_path / "gd-fit.svg", "svg")
    assert cli.main(["fit", str(path), "--bootstrap", "0", "--figure", str(tmp_path / "f.pdf")]) == 0
    assert is_format(tmp_path / "f.pdf", "pdf")
    capsys.readouterr()
    code = cli.main(["fit", str(path), "--figure", str(tmp_path / "g.png"), "--figure-format", "pdf"])
    err = capsys.readouterr().err
    assert code == 2 and "--figure-format" in err and "contradicts" in err and "Traceback" not in err
    assert not (tmp_path / "g.png").exists()


def test_sweep_phase_figure_format(tmp_path, capsys):
    spec = {"base": json.loads(open("examples/two_agents.json").read()),
            "axes": {"agents.0.preconditioner": [0.2, 0.5], "agents.1.preconditioner": [0.3, 0.6]},
            "measure": ["predict"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "sw"
    assert cli.main(["sweep", str(tmp_path / "spec.json"), "--out", str(out), "--no-progress", "--workers", "1",
                     "--figure-format", "pdf"]) == 0
    assert f"phase: {out / 'phase.pdf'}" in capsys.readouterr().out
    assert is_format(out / "phase.pdf", "pdf") and not (out / "phase.png").exists()


def test_verify_margins_figure_format(tmp_path, capsys):
    assert cli.main(["verify", "--claims", "C5", "--out", str(tmp_path), "--figure-format", "svg"]) == 0
    assert is_format(tmp_path / "figures" / "verification_margins.svg", "svg")


@pytest.mark.parametrize("command", [["experiment", "geometry"], ["sweep", "spec.json", "--out", "x"],
                                     ["verify"], ["fit", "t.jsonl"]])
def test_bad_figure_format_is_exit_2(command, capsys):
    code = cli.main([*command, "--figure-format", "jpeg"])  # argparse: the allowed values, no traceback
    err = capsys.readouterr().err
    assert code == 2 and "--figure-format" in err and "png" in err and "Traceback" not in err


def test_figure_format_validation_in_the_api():
    from numerics.io import outputs
    from numerics.io.errors import InputError

    assert outputs.figure_format("--figure-format", "PDF") == "pdf"
    for bad in ("jpeg", "", None, 3):
        with pytest.raises(InputError, match="--figure-format"):
            outputs.figure_format("--figure-format", bad)
    assert np.all([outputs.figure_path("d/phase.png", f).name == f"phase.{f}" for f in outputs.FIGURE_FORMATS])
