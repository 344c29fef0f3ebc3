"""``predict --precision D`` prints every one of its D digits right (docs/config.rst), also where forming
``I - Phi`` cancels many leading digits: near the convergence margin. The expected strings are derived by hand.

Two 1-d agents, geometry 1, step ``g = 1e-12``, targets 1 and 0: ``M_A = M_B = 1 - g``, ``c_A = g``, ``c_B = 0``;
the round robin's fixed point is ``u* = g / (1 - (1 - g)^2) = 1 / (2 - g) = 1/2 (1 + g/2 + g^2/4 + ...)`` and
``v* = (1 - g) u* = 1 - u*``; the rate is ``(1 - g)^2 = 1 - 2g + g^2``. To 30 digits (the next terms, ~6e-38, do not
reach the 30th digit): ``u* = 0.500000000000250000000000125000``, ``v* = 0.499999999999749999999999875000`` (the
tail ``...874999999999993750`` rounds up).
"""
from __future__ import annotations

import json

import pytest

from numerics.protocol import config, prediction

G = 0.000000000001  # written to the config file as the decimal 1e-12 and read exactly (as a2ad predict does)
AGENTS = [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": G},
          {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": G}]
ROUND = [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]
U, V = "0.500000000000250000000000125000", "0.499999999999749999999999875000"
RATE = "0.999999999998000000000001000000"


@pytest.mark.parametrize("protocol", [None, {"rounds": ROUND},
                                      # two equal alternatives: the stationary mean is the round robin's fixed point
                                      {"random": [{"probability": 0.5, "rounds": ROUND},
                                                  {"probability": 0.5, "rounds": ROUND}]}])
def test_every_printed_digit_is_right_near_the_convergence_margin(protocol, tmp_path):
    raw = {"agents": AGENTS} if protocol is None else {"agents": AGENTS, "protocol": protocol}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    doc = prediction.predict(config.load_exact(path), precision=30)
    assert doc["converges"] is True and doc["contraction_rate"] == RATE
    assert doc["agents"]["A"]["fixed_point"] == [U] and doc["agents"]["B"]["fixed_point"] == [V]
    assert doc["agents"]["A"]["residual"] == ["-" + V] and doc["agents"]["A"]["residual_norm"] == V
    assert doc["agents"]["B"]["residual"] == [V] and doc["agents"]["B"]["residual_norm"] == V


def test_settled_evaluates_twice_when_the_two_agree():
    """docs/config.rst: D + 10 working digits, then D + 20; the same document twice is printed."""
    calls = []

    def at(working):
        calls.append(working)
        return {"v": 1}
    assert prediction.settled(at, 30) == {"v": 1} and calls == [40, 50]


def test_settled_doubles_the_guard_until_two_evaluations_agree():
    calls = []

    def at(working):
        calls.append(working)
        return {"v": min(working, 70)}  # the printed digits settle from 70 working digits on
    assert prediction.settled(at, 30) == {"v": 70} and calls == [40, 50, 70, 110]


def test_settled_stops_at_the_largest_guard():
    """A document that never settles (a value at a rounding tie): the evaluation with D + 160 digits is printed."""
    calls = []

    def at(working):
        calls.append(working)
        return {"v": working}
    assert prediction.settled(at, 30) == {"v": 190} and calls == [40, 50, 70, 110, 190]
