"""SPEC.json validation for ``a2ad sweep``: every bad input is one line and exit 2."""
import copy
import json
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from numerics.io.errors import InputError
from numerics.sweep import spec as sweep_spec
from proofs_check.cli import main as cli

BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0],
     "preconditioner": [[0.8, 0.0], [0.0, 0.5]]},
]}
PROMPT_BASE = {"agents": [
    {"name": "A", "prompt": {"X": [[1.0, 0.0], [0.0, 2.0]], "y": [1.0, 3.0]}, "preconditioner": 0.5},
    BASE["agents"][1]]}
GOOD = {"base": BASE, "axes": {"agents.0.preconditioner": [0.1, 0.5]}, "measure": ["predict"]}


def spec_with(**changes):
    raw = copy.deepcopy(GOOD)
    raw.update(changes)
    return raw


BAD = [
    ("not an object", [1], "spec"),
    ("unknown key", spec_with(grid=1), "spec key"),
    ("no axes", {"base": BASE, "measure": ["predict"]}, "spec.axes"),
    ("bad base", spec_with(base={"agents": [BASE["agents"][0]]}), "agents"),
    ("empty axes", spec_with(axes={}), "axes"),
    ("missing path", spec_with(axes={"agents.0.stepsize": [1.0], "agents.5.target.0": [1.0]}), "axis"),
    ("index out of range", spec_with(axes={"agents.0.target.7": [1.0]}), "axis"),
    ("path to a vector", spec_with(axes={"agents.0.target": [1.0]}), "axis"),
    # digits of other scripts: '²' passes str.isdigit but int() refuses it (it crashed); '٠' and '０' int() reads
    # as 0, so the column would be named by a path that is not the entry it sets: only ASCII indices
    ("superscript digit", spec_with(axes={"agents.².preconditioner": [1.0]}), "agents.².preconditioner"),
    ("arabic-indic digit", spec_with(axes={"agents.٠.preconditioner": [1.0]}), "agents.٠.preconditioner"),
    ("fullwidth digit", spec_with(axes={"agents.0.target.０": [1.0]}), "agents.0.target.０"),
    ("fullwidth entry", spec_with(axes={"agents.1.preconditioner.１.1": [1.0]}), "agents.1.preconditioner.１.1"),
    ("NaN value", spec_with(axes={"agents.0.preconditioner": [0.1, float("nan")]}), "axes.agents.0.preconditioner"),
    ("string value", spec_with(axes={"agents.0.preconditioner": ["big"]}), "axes.agents.0.preconditioner"),
    ("boolean value", spec_with(axes={"agents.0.preconditioner": [True]}), "axes.agents.0.preconditioner"),
    ("empty values", spec_with(axes={"agents.0.preconditioner": []}), "axes.agents.0.preconditioner"),
    ("bad linspace", spec_with(axes={"agents.0.preconditioner": {"linspace": [0, 1]}}), "linspace"),
    ("linspace n 0", spec_with(axes={"agents.0.preconditioner": {"linspace": [0, 1, 0]}}), "linspace n"),
    ("geomspace through 0", spec_with(axes={"agents.0.preconditioner": {"geomspace": [0, 1, 3]}}), "geomspace"),
    ("unknown spacing", spec_with(axes={"agents.0.preconditioner": {"arange": [0, 1, 3]}}), "axes"),
    ("non-PSD geometry value", spec_with(axes={"agents.0.geometry.0.1": [0.0, 2.0]}), "A.geometry"),
    ("steps not integer", spec_with(axes={"agents.0.steps_per_turn": [1, 2.5]}), "steps_per_turn"),
    ("seed negative", spec_with(axes={"seed": [-1, 2]}), "axes.seed"),
    ("gap axes on a prompt agent", spec_with(base=PROMPT_BASE, axes={"gap_angle": [0.0, 1.0]}), "gap_angle"),
    ("zero base gap", spec_with(base={"agents": [BASE["agents"][0], {**BASE["agents"][1], "target": [1.0, 0.0]}]},
                                axes={"gap_scale": [1.0]}), "gap"),
    ("gap and B target", spec_with(axes={"gap_scale": [1.0], "agents.1.target.0": [1.0]}), "axes"),
    ("unknown measure", spec_with(measure=["fit"]), "measure"),
    ("simulate without turns", spec_with(measure=[{"simulate": {}}]), "measure.simulate"),
    ("simulate too many turns", spec_with(measure=[{"simulate": {"turns": 10**9}}]), "turns"),
    ("train-lsa unknown option", spec_with(measure=[{"train-lsa": {"epochs": 3}}]), "train-lsa key"),
    ("train-lsa negative lr", spec_with(measure=[{"train-lsa": {"lr": -1}}]), "lr"),
    ("train-lsa bad parameterisation", spec_with(measure=[{"train-lsa": {"parameterisation": "dense"}}]),
     "parameterisation"),
    ("grid too large", spec_with(axes={"agents.0.preconditioner": {"linspace": [0.1, 1, 4000]},
                                       "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 4000]}}), "grid size"),
    ("expensive grid too large", spec_with(axes={"agents.0.preconditioner": {"linspace": [0.1, 1, 1000]},
                                                 "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 1000]}},
                                           measure=[{"simulate": {"turns": 10}}]), "grid size"),
    ("chunk size 0", spec_with(chunk_size=0), "chunk_size"),
    ("bad plot", spec_with(plot={"colour": "red"}), "plot"),
]


@pytest.mark.parametrize("case, raw, quantity", BAD, ids=[c[0] for c in BAD])
def test_bad_spec_api(case, raw, quantity):
    with pytest.raises(InputError) as info:
        sweep_spec.parse(raw)
    assert quantity in str(info.value)


def cli_error(capsys, args) -> str:
    code = cli.main(args)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize("case, raw, quantity", BAD[::3], ids=[c[0] for c in BAD[::3]])
def test_bad_spec_cli(tmp_path, capsys, case, raw, quantity):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(raw))
    assert quantity in cli_error(capsys, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()  # nothing written on bad input


def test_bad_files_and_flags(tmp_path, capsys):
    assert "spec file" in cli_error(capsys, ["sweep", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])
    (tmp_path / "broken.json").write_text("{")
    assert "not valid JSON" in cli_error(capsys, ["sweep", str(tmp_path / "broken.json"), "--out", str(tmp_path / "o")])
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    assert "--scheduler" in cli_error(capsys, ["sweep", str(good), "--out", str(tmp_path / "o"),
                                               "--scheduler", "tcp://127.0.0.1:1"])
    assert "--workers" in cli_error(capsys, ["sweep", str(good), "--out", str(tmp_path / "o"), "--workers", "0"])
    bad_plot = tmp_path / "plot.json"
    bad_plot.write_text(json.dumps(spec_with(plot={"quantity": "residual_Z"})))
    assert "plot.quantity" in cli_error(capsys, ["sweep", str(bad_plot), "--out", str(tmp_path / "o")])


def test_dask_backend_without_dask_is_one_line(tmp_path, capsys, monkeypatch):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    line = cli_error(capsys, ["sweep", str(good), "--out", str(tmp_path / "o"), "--backend", "dask"])
    assert "a2a-dynamics[distributed]" in line


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    line = cli_error(capsys, ["sweep", str(good), "--out", str(tmp_path / "o"), "--backend", "dask",
                              "--scheduler", f"tcp://127.0.0.1:{port}", "--no-progress", "--timeout", "1"])
    assert "--scheduler" in line


def test_grid_order_spacing_and_kinds():
    spec = sweep_spec.parse(spec_with(axes={
        "agents.0.preconditioner": {"geomspace": [0.1, 1.0, 3]}, "agents.1.target.0": {"linspace": [-1, 1, 5]},
        "agents.1.steps_per_turn": [1, 3], "agents.1.preconditioner.1.1": [0.4], "agents.0.geometry.0.1": [0.1],
        "initial_message.1": [2.0], "seed": [4, 5]}))
    assert spec.shape == (3, 5, 2, 1, 1, 1, 2) and spec.n_points == 60
    assert [a.kind for a in spec.axes] == ["preconditioner", "target", "steps", "preconditioner_entry", "geometry",
                                           "initial", "seed"]
    np.testing.assert_allclose(spec.axes[0].values, [0.1, np.sqrt(0.1), 1.0])
    v = spec.axis_values(np.array([0, 1, 2, 59]))  # first axis slowest, last fastest
    assert v["seed"].tolist() == [4, 5, 4, 5]
    assert v["agents.1.steps_per_turn"].tolist() == [1, 1, 3, 3]
    assert v["agents.0.preconditioner"][-1] == 1.0
    cfg = spec.point_config({k: x[3] for k, x in v.items()})
    assert cfg["agents"][0]["geometry"][0][1] == cfg["agents"][0]["geometry"][1][0] == 0.1  # kept symmetric
    assert cfg["agents"][1]["steps_per_turn"] == 3 and cfg["agents"][1]["preconditioner"][1][1] == 0.4


def test_prompt_paths_go_through_config_parse():
    spec = sweep_spec.parse(spec_with(base=PROMPT_BASE, axes={"agents.0.prompt.y.1": [0.0, 1.0]}))
    assert spec.generic and spec.axes[0].kind == "generic"


def test_gap_axes_geometry():
    """||Delta|| = s ||Delta_0||, theta = 0 keeps the base direction, theta is the angle to it (C4's gap)."""
    spec = sweep_spec.parse(spec_with(axes={"gap_angle": [0.0, 0.7, np.pi], "gap_scale": [0.5, 2.0]}))
    w0 = np.array(BASE["agents"][0]["target"])
    delta0 = np.array(BASE["agents"][1]["target"]) - w0
    for theta in (0.0, 0.7, np.pi):
        for s in (0.5, 2.0):
            wB = np.array(spec.point_config({"gap_angle": theta, "gap_scale": s})["agents"][1]["target"])
            delta = wB - w0
            assert np.linalg.norm(delta) == pytest.approx(s * np.linalg.norm(delta0), rel=1e-12)
            cos = delta @ delta0 / (np.linalg.norm(delta) * np.linalg.norm(delta0))
            assert np.arccos(np.clip(cos, -1, 1)) == pytest.approx(theta, abs=1e-7)


# Components of axis paths: real keys, ASCII indices, and digits of other scripts ('²' is Unicode category No,
# '٣' and '０' Nd), which str.isdigit accepts and int() refuses or reads as another number.
PATH_PARTS = st.one_of(st.sampled_from(["agents", "0", "1", "2", "preconditioner", "target", "geometry", "prompt",
                                        "X", "y", "steps_per_turn", "initial_message", "name", ""]),
                       st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=2),
                       st.text(max_size=3))


INDEX = st.one_of(st.sampled_from(["0", "1"]), st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=1))
TEMPLATES = st.sampled_from(["agents.{}.preconditioner", "agents.0.target.{}", "agents.1.preconditioner.{}.0",
                             "initial_message.{}", "agents.{}.geometry.0.1", "agents.{}.steps_per_turn"])
PATHS = st.one_of(st.builds(str.format, TEMPLATES, INDEX), st.lists(PATH_PARTS, min_size=1, max_size=5).map(".".join))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS)
def test_fuzz_axis_paths(path):
    """Any axis path is a valid axis or an InputError naming it: never another exception."""
    try:
        spec = sweep_spec.parse(spec_with(axes={path: [0.5, 1.0]}))
    except InputError:  # the path's problem, or the config's at that key (a new top-level key, a bad entry)
        return
    assert all(part.isascii() for part in path.split(".") if part.isdigit())  # indices taken are ASCII
    assert spec.n_points == 2
