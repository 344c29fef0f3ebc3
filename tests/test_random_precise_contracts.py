"""``predict --precision`` on a random protocol (numerics.protocol.random_precise), where its first mutation
session (tenth round) found nothing checking: a chain whose round map holds a transfer of exactly -1 (every
nonzero term of the second-moment operator counts, whatever its value), and the size refusal for independent
draws (one mode: ``(K d)^2`` unknowns)."""
from __future__ import annotations

import json

import pytest

from numerics import api
from proofs_check.cli import main as cli

# mpmath at 30 digits against float64 predict: both are the same operators' spectral radii, float64's to ~1e-15.
RATE_TOL = 1e-12

# A overshoots (Gamma H = 2, so M_A = -1 exactly) and hears B; B hears A; after a comes b for sure (then a or b
# with 1/2 each, so the chain is aperiodic): the round of a holds Phi[A, B] = -1, with transition probability 1.
FLIP = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 2.0},
                   {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}],
        "protocol": {"random": [{"name": "a", "rounds": [{"A": {"B": 1.0}}], "next": {"b": 1.0}},
                                {"name": "b", "rounds": [{"B": {"A": 1.0}}], "next": {"a": 0.5, "b": 0.5}}]}}


def test_a_transfer_of_minus_one_counts_in_the_precise_rates():
    fast = json.loads(api.predict(FLIP).to_json())
    exact = json.loads(api.predict(FLIP, precision=30).to_json())
    assert exact["precision"] == "mpmath 30 digits"
    for key in ("contraction_rate", "mean_rate"):
        assert float(exact[key]) == pytest.approx(float(fast[key]), abs=RATE_TOL), key
    assert float(fast["contraction_rate"]) > float(fast["mean_rate"])  # the schedule's spread: a nontrivial A2


def test_independent_draws_are_refused_by_their_size(tmp_path, capsys):
    agents = [{"name": n, "geometry": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "target": [t, 0.0, 0.0],
               "preconditioner": 0.5} for n, t in (("A", 1.0), ("B", 0.0), ("C", -1.0))]
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"agents": agents, "protocol": {"random": [
        {"probability": 0.4, "rounds": [{"A": {"B": 1.0}}]}, {"probability": 0.3, "rounds": [{"B": {"C": 1.0}}]},
        {"probability": 0.3, "rounds": [{"C": {"A": 1.0}}]}]}}))
    assert cli.main(["predict", str(cfg), "--precision", "30"]) == 2  # K d = 9: 81 > 64 unknowns, one mode
    assert "81 second-moment unknowns" in capsys.readouterr().err
