"""A round map that overflows float64 (finite transfers whose product passes 1.8e308), or a sweep point whose own
transfer overflows, is refused with an InputError naming it (exit 2 from the CLI), never numpy's LinAlgError."""
from __future__ import annotations

import json

import numpy as np
import pytest

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import config, prediction
from proofs_check.cli import main as cli

HUGE = 1e200  # M = 1 - HUGE per agent: finite, but M_A M_B = 1e400 overflows


def _agents(gammas):
    targets = [[1, 0], [0, 1], [1, 1]]
    return [{"name": "ABC"[k], "geometry": [[1, 0], [0, 1]], "target": targets[k], "preconditioner": g}
            for k, g in enumerate(gammas)]


def test_predict_refuses_an_overflowing_round_robin_map():
    system = config.parse({"agents": _agents([HUGE, HUGE])})
    with pytest.raises(InputError, match=r"^round map = 'not finite': overflows float64"):
        prediction.predict(system)
    assert float(prediction.predict(system, precision=30)["contraction_rate"]) > 1e300  # the exact path computes it


def test_predict_refuses_an_overflowing_protocol_map():
    rounds = [{"A": {"B": 0.5, "C": 0.5}}, {"B": {"A": 1.0}}, {"C": {"A": 1.0}}]
    system = config.parse({"agents": _agents([HUGE, HUGE, 0.5]), "protocol": {"rounds": rounds}})
    with pytest.raises(InputError, match=r"^round map = 'not finite'"):
        prediction.predict(system)


def test_a_batch_names_the_system():
    M = np.stack([np.stack([0.5 * np.eye(2)] * 2), np.stack([-HUGE * np.eye(2)] * 2)])
    with pytest.raises(InputError, match=r"^round map of system 1 = "):
        closed_forms.contraction_rate(M)
    assert closed_forms.contraction_rate(M[:1])[0] == pytest.approx(0.25)
    # two systems overflow: the first is named (require_finite_map's docstring), not the last
    with pytest.raises(InputError, match=r"^round map of system 1 = "):
        closed_forms.contraction_rate(np.concatenate([M, M[1:]]))


@pytest.mark.parametrize("axes,named", [
    ({"agents.0.preconditioner": [0.5, 5.0], "agents.0.steps_per_turn": [1, 1000]},
     "A per-turn transfer M^s at {'agents.0.preconditioner': 5.0, 'agents.0.steps_per_turn': 1000.0}"),
    ({"agents.0.preconditioner": [0.5, HUGE]}, "round map at {'agents.0.preconditioner': 1e+200}"),
    # two points overflow: the first in the grid's order is named (docs/sweeps.rst), not the last
    ({"agents.0.preconditioner": [0.5, 5.0, 6.0], "agents.0.steps_per_turn": [1, 1000]},
     "A per-turn transfer M^s at {'agents.0.preconditioner': 5.0, 'agents.0.steps_per_turn': 1000.0}"),
])
def test_sweep_names_the_point(tmp_path, capsys, axes, named):
    base = {"agents": _agents([0.5, HUGE if "steps" not in str(axes) else 0.5])}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"base": base, "axes": axes, "measure": ["predict"], "seed": 0}))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert named in err and "overflows float64" in err and "Traceback" not in err, err


ROUNDS = [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]
RANDOM = {"random": [{"probability": 0.5, "rounds": [{"A": {"B": 1.0}}]},
                     {"probability": 0.5, "rounds": [{"B": {"A": 1.0}}]}]}


@pytest.mark.parametrize("protocol", [None, {"rounds": ROUNDS}, RANDOM], ids=["batched", "per-point", "random"])
# two points overflow: the first in the grid's order is named, not the last
@pytest.mark.parametrize("values", [[1.0, 1e308, 2.0, 1.7e308], [1.0, 2.0, 1e308]], ids=["two", "last"])
def test_sweep_refuses_a_residual_that_overflows(tmp_path, capsys, protocol, values):
    """A converging point whose target is near 1e308: its residual norm overflows float64. The sweep refuses it
    naming the point (exit 2), as predict refuses it, and writes no inf (docs/sweeps.rst), in every tier."""
    base = {"agents": _agents([0.5, 0.5])}
    if protocol is not None:
        base["protocol"] = protocol
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"base": base, "axes": {"agents.0.target.0": values}, "measure": ["predict"]}))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "residual_norm_A at {'agents.0.target.0': 1e+308} = inf: is not finite" in err, err
    assert "overflows float64" in err and "Traceback" not in err
    assert not list((tmp_path / "out").rglob("*.parquet"))
    # the same points without the huge value: finite residuals everywhere
    spec.write_text(json.dumps({"base": base, "axes": {"agents.0.target.0": [1.0, 2.0]}, "measure": ["predict"]}))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "ok")]) == 0


def test_sweep_refuses_a_spread_that_overflows(tmp_path, capsys):
    """A random protocol whose agent's noise variance is 1e308: its stationary covariance overflows, so spread_A
    would be inf. Refused by name (exit 2), as predict refuses the covariance."""
    agents = _agents([0.5, 0.5])
    agents[0]["noise"] = 1e308
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"base": {"agents": agents, "protocol": RANDOM},
                                "axes": {"agents.0.target.0": [1.0, 2.0]}, "measure": ["predict"]}))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "spread_A at {'agents.0.target.0': 1.0} = inf: is not finite" in err, err
