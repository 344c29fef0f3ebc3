"""``predict --precision`` on a random protocol (numerics.protocol.random_precise), where its first mutation
session (tenth round) found nothing checking: a chain whose round map holds a transfer of exactly -1 (every
nonzero term of the second-moment operator counts, whatever its value), and the size refusal for independent
draws (one mode: ``(K d)^2`` unknowns). Its second session added: one alternative drawn for sure, the
convergence margin (a mean-square rate just below 1, exactly at 1 - 1e-12, a mean rate of exactly 1), a chain of
three alternatives (the stationary law's solve), d = 3 messages, and both sides of the documented time estimate
(docs/config.rst, "When ``--precision`` refuses")."""
from __future__ import annotations

import json
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from numerics import api
from numerics.io.errors import InputError
from numerics.protocol import config, random_precise
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


# ------------------------------------------------------------------ one alternative, drawn for sure

# Two agents, each M = 1 - 0.5 = 1/2: A hears B, then B hears A. x_A' = x_B / 2 + 1/2, x_B' = x_A' / 2, so the
# round map is [[0, 1/2], [0, 1/4]] with offset (1/2, 1/4): rate 1/4, fixed point (2/3, 1/3), no spread.
SURE = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                   {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}],
        "protocol": {"random": [{"probability": 1.0, "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]}]}}
# 30 printed digits of exact rationals (2/3, 1/3, 1/4): only the last printed digit is rounded.
EXACT_TOL = 1e-28


def test_one_alternative_drawn_for_sure_is_its_deterministic_round():
    """docs/protocol.rst: for one alternative both rates equal the deterministic rate (and the mean is its
    fixed point); a single alternative has probability 1 and is the only row of ``P``."""
    doc = json.loads(api.predict(SURE, precision=30).to_json())
    assert doc["converges"]
    for key in ("contraction_rate", "mean_rate"):
        assert float(doc[key]) == pytest.approx(0.25, abs=EXACT_TOL), key
    for name, mean in (("A", 2 / 3), ("B", 1 / 3)):
        entry = doc["agents"][name]
        assert float(entry["fixed_point"][0]) == pytest.approx(mean, abs=EXACT_TOL), name
        assert float(entry["covariance"][0][0]) == 0.0, name


# ------------------------------------------------------------------ converges: rho < 1 - 1e-12

# A and B (M = 0: each speaker writes its target) speak together with probability P_SPEAK; otherwise nobody
# speaks (the identity). Mean rate 1 - p, mean-square rate sqrt(1 - p) ~ 1 - p / 2: with p = 1.5e-12 the mean
# rate is below 1 - 1e-12 and the mean-square rate between 1 - 1e-12 and 1.
P_SPEAK = 1.5e-12
MARGIN = 1e-12  # docs/config.rst: converges is rho < 1 - 1e-12


def test_a_mean_square_rate_within_the_margin_below_one_does_not_converge():
    cfg = {"agents": [{"name": n, "geometry": [[1.0]], "target": [t], "preconditioner": 1.0}
                      for n, t in (("A", 1.0), ("B", 0.0))],
           "protocol": {"random": [{"probability": P_SPEAK, "rounds": [{"A": {"A": 1.0}, "B": {"B": 1.0}}]},
                                   {"probability": 1 - P_SPEAK, "rounds": []}]}}
    mean_rate, ms_rate = 1 - P_SPEAK, (1 - P_SPEAK) ** 0.5
    assert mean_rate < 1 - MARGIN <= ms_rate < 1  # the window the test is about
    doc = json.loads(api.predict(cfg, precision=30).to_json())
    assert float(doc["mean_rate"]) == pytest.approx(mean_rate, abs=1e-15)
    assert float(doc["contraction_rate"]) == pytest.approx(ms_rate, abs=1e-15)
    assert doc["converges"] is False and "reason" in doc
    assert all(entry["covariance"] is None and entry["fixed_point"] is None for entry in doc["agents"].values())


# Agents with zero geometry (M = I: a speaker repeats what it hears): B keeps its message, or A and B swap
# theirs. The first-moment operator p I + (1 - p) S has eigenvalues 1 and 2 p - 1, so the mean rate is exactly
# 1 (the mean never forgets the start); mpmath's eigenvalues may round it just below 1, where I - A1 is still
# singular. The pairs of probability and digits are ones where that rounding happens.
@pytest.mark.parametrize("p, digits", [("0.3", 30), ("0.3", 40), ("0.25", 50), ("0.5", 20)])
def test_a_mean_rate_of_exactly_one_does_not_converge(tmp_path, capsys, p, digits):
    cfg = tmp_path / "keep_or_swap.json"
    cfg.write_text(json.dumps({
        "agents": [{"name": n, "geometry": [[0.0]], "target": [t], "preconditioner": 1.0}
                   for n, t in (("A", 0.0), ("B", 1.0))],
        "protocol": {"random": [{"probability": float(p), "rounds": [{"B": {"B": 1.0}}]},
                                {"probability": 1 - float(p), "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}]}}))
    assert cli.main(["predict", str(cfg), "--precision", str(digits)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert float(doc["mean_rate"]) == pytest.approx(1.0, abs=EXACT_TOL)
    assert doc["converges"] is False and "reason" in doc


# ------------------------------------------------------------------ a chain of three alternatives

# Three alternatives (x: A hears B; y: B hears A; z: each hears itself) with a non-uniform stationary law: the
# mean and covariance weight each alternative's offset by its stationary probability, solved in mpmath from
# pi^T P = pi^T (the last equation replaced by sum pi = 1), against float64 predict (numpy's least squares).
CHAIN3 = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                     {"name": "B", "geometry": [[2.0]], "target": [-1.0], "preconditioner": 0.25}],
          "protocol": {"random": [
              {"name": "x", "rounds": [{"A": {"B": 1.0}}], "next": {"x": 0.1, "y": 0.6, "z": 0.3}},
              {"name": "y", "rounds": [{"B": {"A": 1.0}}], "next": {"x": 0.7, "y": 0.1, "z": 0.2}},
              {"name": "z", "rounds": [{"A": {"A": 1.0}, "B": {"B": 1.0}}], "next": {"x": 0.2, "y": 0.3, "z": 0.5}}]}}
# float64 predict on a well-conditioned 3-mode instance (rates ~0.6-0.7): float64 rounding only.
FLOAT_TOL = 1e-12


def _agrees_with_float64(cfg, digits: int) -> dict:
    """``predict --precision digits`` against float64 ``predict`` on ``cfg``: both converge, and the rates, every
    agent's fixed point and covariance agree within FLOAT_TOL. Returns the float64 document."""
    fast = json.loads(api.predict(cfg).to_json())
    exact = json.loads(api.predict(cfg, precision=digits).to_json())
    assert fast["converges"] and exact["converges"]
    for key in ("contraction_rate", "mean_rate"):
        assert float(exact[key]) == pytest.approx(fast[key], abs=FLOAT_TOL), key
    for name, f in fast["agents"].items():
        e = exact["agents"][name]
        for key in ("fixed_point", "covariance"):
            assert np.allclose(np.array(e[key], dtype=float), f[key], rtol=0, atol=FLOAT_TOL), (name, key)
    return fast


def test_a_three_alternative_chain_agrees_with_float64():
    fast = _agrees_with_float64(CHAIN3, 30)
    assert fast["agents"]["A"]["covariance"][0][0] > 0  # the schedule's spread: the covariance is checked too


def _decimal(x: Fraction) -> str:
    """The exact decimal text of a dyadic rational (a JSON number that --precision reads exactly)."""
    with localcontext() as ctx:
        ctx.prec = 400
        text = str(Decimal(x.numerator) / Decimal(x.denominator))
    assert Fraction(Decimal(text)) == x
    return text


# The mean-square rate exactly at the edge: rho = f, the float64 1 - 1e-12 every command compares with. Same
# two alternatives as above (M = 0 together, or nobody), now with probability 1 - f^2 of speaking: A2 = f^2 I,
# so rho = sqrt(f^2) = f, and the mean rate f^2 is below the edge. Both probabilities are written as exact
# decimals (f^2 has 106 bits: 30 digits carry them exactly).
def test_a_mean_square_rate_of_exactly_one_minus_the_margin_does_not_converge(tmp_path, capsys):
    f = Fraction(1 - MARGIN)
    speak, silent = _decimal(1 - f * f), _decimal(f * f)
    agents = json.dumps([{"name": n, "geometry": [[1.0]], "target": [t], "preconditioner": 1.0}
                         for n, t in (("A", 1.0), ("B", 0.0))])
    cfg = tmp_path / "edge.json"
    cfg.write_text(f'{{"agents": {agents}, "protocol": {{"random": ['
                   f'{{"probability": {speak}, "rounds": [{{"A": {{"A": 1.0}}, "B": {{"B": 1.0}}}}]}}, '
                   f'{{"probability": {silent}, "rounds": []}}]}}}}')
    assert cli.main(["predict", str(cfg), "--precision", "30"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Fraction(Decimal(doc["contraction_rate"])) == pytest.approx(f, abs=EXACT_TOL)
    assert doc["converges"] is False and "reason" in doc


# ------------------------------------------------------------------ K d != K^d

# Two agents with d = 3 (K d = 6 where K^d = 8), independent draws: 36 second-moment unknowns, against float64.
def test_three_dimensional_messages_agree_with_float64():
    agents = [{"name": n, "geometry": [[1.0, 0.2, 0.0], [0.2, 0.8, 0.1], [0.0, 0.1, 0.6]], "target": t,
               "preconditioner": 0.5} for n, t in (("A", [1.0, 0.0, -1.0]), ("B", [0.0, 2.0, 0.5]))]
    cfg = {"agents": agents, "protocol": {"random": [
        {"probability": 0.4, "rounds": [{"A": {"B": 1.0}}]}, {"probability": 0.6, "rounds": [{"B": {"A": 1.0}}]}]}}
    _agrees_with_float64(cfg, 20)


# ------------------------------------------------------------------ the time estimate's edge

# docs/config.rst: refused exactly when 0.0185 s x D x (N / 36)^4 > 30 s, N = modes (K d)^2 second-moment
# unknowns (restated here from the documentation, not imported).
DOC_SECONDS_PER_DIGIT, DOC_REFERENCE_UNKNOWNS, DOC_EXPONENT, DOC_LIMIT = 0.0185, 36, 4, 30.0


def _documented_estimate(unknowns: int, digits: int) -> float:
    return DOC_SECONDS_PER_DIGIT * digits * (unknowns / DOC_REFERENCE_UNKNOWNS) ** DOC_EXPONENT


def _eye(d):
    return [[1.0 if i == j else 0.0 for j in range(d)] for i in range(d)]


# (config, d, unknowns, the most digits accepted): independent draws of K d = 8 (one mode: 64 unknowns;
# 29.94 s at 162 digits, 30.12 s at 163) and a chain of 3 alternatives with K d = 4 (48 unknowns; 29.995 s at
# 513 digits, 30.05 s at 514).
EDGES = [
    ({"agents": [{"name": n, "geometry": _eye(4), "target": [1.0, 0.0, 0.0, 0.0], "preconditioner": 0.5}
                 for n in "AB"],
      "protocol": {"random": [{"probability": 0.5, "rounds": [{"A": {"B": 1.0}}]},
                              {"probability": 0.5, "rounds": [{"B": {"A": 1.0}}]}]}}, 4, 64, 162),
    ({"agents": [{"name": n, "geometry": _eye(2), "target": [1.0, 0.0], "preconditioner": 0.5} for n in "AB"],
      "protocol": {"random": [{"name": "x", "rounds": [{"A": {"B": 1.0}}], "next": {"y": 1.0}},
                              {"name": "y", "rounds": [{"B": {"A": 1.0}}], "next": {"x": 0.5, "z": 0.5}},
                              {"name": "z", "rounds": [], "next": {"x": 0.5, "y": 0.5}}]}}, 2, 48, 513),
]


@pytest.mark.parametrize("raw, d, unknowns, digits", EDGES)
def test_the_time_estimate_is_refused_just_above_30_seconds(raw, d, unknowns, digits):
    assert _documented_estimate(unknowns, digits) <= DOC_LIMIT < _documented_estimate(unknowns, digits + 1)
    rp = config.parse(raw).random
    assert random_precise.check_size(rp, d, digits) == unknowns  # just below the limit: accepted
    with pytest.raises(InputError) as refused:
        random_precise.check_size(rp, d, digits + 1)
    message = str(refused.value)
    assert message.startswith(f"--precision = {digits + 1}: ")
    assert f"an estimated {_documented_estimate(unknowns, digits + 1):.3g} s" in message
    assert f"({unknowns} second-moment unknowns)" in message and "the limit is 30 s" in message


# A chain in which x is followed by y for sure (transition probability 1), and in x the agent that does not speak
# keeps its message (round-map entry 1). Their product, 1, is a second-moment weight like any other (only a weight
# of exactly 0 is skipped). z (each agent hears itself) moves the messages off the pair's fixed point: a spread.
ALTERNATE = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                        {"name": "B", "geometry": [[2.0]], "target": [-1.0], "preconditioner": 0.25}],
             "initial_message": [0.0],
             "protocol": {"random": [{"name": "x", "rounds": [{"A": {"B": 1.0}}], "next": {"y": 1.0}},
                                     {"name": "y", "rounds": [{"B": {"A": 1.0}}], "next": {"x": 0.5, "z": 0.5}},
                                     {"name": "z", "rounds": [{"A": {"A": 1.0}, "B": {"B": 1.0}}],
                                      "next": {"x": 0.5, "y": 0.5}}]}}


def test_a_weight_of_exactly_one_counts_in_the_precise_rates():
    fast = _agrees_with_float64(ALTERNATE, 30)
    assert fast["agents"]["A"]["covariance"][0][0] > 0  # the schedule's spread: the covariance is checked too
