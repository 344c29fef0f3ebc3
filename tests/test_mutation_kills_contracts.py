"""Input contracts of ``predict --precision`` (mutation killers of numerics/protocol/prediction.py,
docs/mutation.rst): ``a2ad verify`` checks mathematics and never feeds bad input, so the bounds the
documentation states for ``--precision`` are checked here. The mathematics that used to sit in this
file's predecessors (the protocol shapes, the divergence reasons, ``--precision`` against exact
rationals) now runs in ``a2ad verify`` (the VS methods of P1 and C17: shipped_protocol, shipped_reasons,
shipped_exact) and is called from tests/test_shipped_methods.py.
"""
from __future__ import annotations

import json

import mpmath as mp
import pytest

from numerics.io import jsonio
from numerics.io.errors import InputError
from numerics.protocol import config, prediction
from proofs_check.verification.shipped_exact import DIGITS, PRECISE_REL, config_text, exact_cases


def test_precision_refuses_more_than_ten_thousand_examples():
    """docs/cli.rst: ``--precision`` supports at most 10^4 examples per agent; one more is an InputError naming
    the agent's prompt and the count (before any exact arithmetic)."""
    raw = json.loads(json.dumps(exact_cases(False)["round_robin_steps"]))
    del raw["agents"][0]["geometry"], raw["agents"][0]["target"]
    raw["agents"][0]["prompt"] = {"X": [["1.0", "0.5"]] * 10001, "y": ["0.25"] * 10001}
    system = config.parse_exact(jsonio.loads(config_text(raw)))
    with pytest.raises(InputError) as info:
        prediction.predict(system, DIGITS)
    assert "A.prompt.X" in str(info.value) and "10001 rows" in str(info.value) and "10000" in str(info.value)


def test_precision_accepts_exactly_ten_thousand_examples():
    """The bound is inclusive: 10^4 examples run. Two rows repeated 5000 times give the same ``H = X^T X / N`` and
    ``b = X^T y / N`` as the two rows once, so the documents agree (to the 30 printed digits)."""
    raw = json.loads(json.dumps(exact_cases(False)["round_robin_steps"]))
    del raw["agents"][0]["geometry"], raw["agents"][0]["target"]
    docs = []
    for n in (5000, 1):
        raw["agents"][0]["prompt"] = {"X": [["1.0", "0.5"], ["-0.5", "1.25"]] * n, "y": ["0.25", "-0.5"] * n}
        docs.append(prediction.predict(config.parse_exact(jsonio.loads(config_text(raw))), DIGITS))
    big, small = docs
    for name in ("A", "B"):
        for got, want in zip(big["agents"][name]["fixed_point"], small["agents"][name]["fixed_point"]):
            assert abs(mp.mpf(got) - mp.mpf(want)) <= PRECISE_REL * max(1, abs(mp.mpf(want))), (got, want)


def test_precision_accepts_16_to_1000_digits():
    """docs/cli.rst: ``--precision`` takes 16 to 1000 digits; 15 and 1001 are InputErrors naming ``--precision``."""
    assert prediction.check_digits(16) == 16 and prediction.check_digits(1000) == 1000
    for bad in (15, 1001):
        with pytest.raises(InputError, match="--precision"):
            prediction.check_digits(bad)


def _dimension(d: int):
    """Two agents answering each other simultaneously (both live: a 2d x 2d round map)."""
    eye = [["1.0" if i == j else "0.0" for j in range(d)] for i in range(d)]
    raw = {"agents": [{"name": n, "geometry": eye, "target": ["0.5"] * d, "preconditioner": "0.5"} for n in "AB"],
           "initial_message": ["0.0"] * d, "protocol": {"rounds": [{"A": {"B": "0.5"}, "B": {"A": "0.5"}}]}}
    return config.parse_exact(jsonio.loads(config_text(raw)))


def test_precision_refuses_dimension_above_20():
    """docs/cli.rst: ``--precision`` supports d <= 20; d = 21 is an InputError naming the dimension and the bound
    (before any mpmath work)."""
    with pytest.raises(InputError) as info:
        prediction.predict(_dimension(21), DIGITS)
    assert "dimension d" in str(info.value) and "21" in str(info.value) and "d <= 20" in str(info.value)


def test_precision_accepts_dimension_20():
    """d = 20 passes the dimension bound: at 1000 digits the run is then refused by its estimated mpmath time
    (before any mpmath work), an InputError on ``--precision``, not on the dimension."""
    with pytest.raises(InputError) as info:
        prediction.predict(_dimension(20), 1000)
    assert "dimension" not in str(info.value) and "estimated" in str(info.value), str(info.value)


# --- when --precision refuses: docs/config.rst's formula, restated here from the documentation ---------
DOC_OP_SECONDS, DOC_LIMIT = 6e-6, 30.0  # docs/config.rst: 6e-6 s per operation, refused above 30 s


def _documented_seconds(D: int, d: int, n: int, B: float, steps, rows) -> float:
    """docs/config.rst: ``T = 6e-6 s (1 + 1e-4 D^1.6) (25 (n d)^3 + B + sum_i (4 d^3 b_i + N_i d^2 / 10))``."""
    agents = sum(4 * d ** 3 * max(1, int(s).bit_length()) + N * d * d / 10 for s, N in zip(steps, rows))
    return DOC_OP_SECONDS * (1 + 1e-4 * D ** 1.6) * (25 * (n * d) ** 3 + B + agents)


class _Accepted(Exception):
    """Raised in place of the mpmath work: the run passed every bound."""


def _refused(raw: dict, D: int, monkeypatch) -> str | None:
    """The refusal line of ``predict --precision D`` on ``raw``, or None when it would run (stopped before any
    mpmath work by replacing the per-agent transfer it starts with)."""
    from numerics.dynamics import precise

    def accepted(*args, **kwargs):
        raise _Accepted

    monkeypatch.setattr(precise, "agent_transfer", accepted)
    try:
        prediction.predict_precise(config.parse_exact(jsonio.loads(config_text(raw))), D)
    except _Accepted:
        return None
    except InputError as err:
        return str(err)
    raise AssertionError("predict --precision neither refused nor started the mpmath work")


def _boundary(raw_of_rows, seconds_of_rows) -> int:
    """The largest prompt row count whose documented estimate is at most 30 s (the next one is above)."""
    lo, hi = 1, 10 ** 4  # the instances are built so that the boundary is inside
    assert seconds_of_rows(lo) <= DOC_LIMIT < seconds_of_rows(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if seconds_of_rows(mid) <= DOC_LIMIT else (lo, mid)
    return lo


def _prompt(N: int, d: int) -> dict:
    """N prompt rows in d dimensions (row k: 1 at k mod d, 0.5 at k + 1 mod d)."""
    X = [["1.0" if j == k % d else "0.5" if j == (k + 1) % d else "0.0" for j in range(d)] for k in range(N)]
    return {"X": X, "y": ["0.25"] * N}


def _check_both_sides(raw_of_rows, seconds_of_rows, D: int, monkeypatch, nd: int) -> None:
    N = _boundary(raw_of_rows, seconds_of_rows)
    assert _refused(raw_of_rows(N), D, monkeypatch) is None, f"{N} rows: estimate {seconds_of_rows(N)} s refused"
    line = _refused(raw_of_rows(N + 1), D, monkeypatch)
    assert line is not None, f"{N + 1} rows: estimate {seconds_of_rows(N + 1)} s > 30 s accepted"
    assert "--precision" in line and "30 s" in line and "estimated" in line and f" {nd} x {nd} " in line, line


def test_precision_refuses_a_round_robin_exactly_above_the_documented_estimate(monkeypatch):
    """docs/config.rst: a cycle (here the round robin of a prompt agent A and a geometry agent B, d = 20, 1000
    digits, 100 and 127 steps per turn: bit length 7) has ``n = 1``, ``B = K d^3``; the largest prompt whose
    estimate is at most 30 s runs, one more row (d^2 / 10 = 40 operations, 6e-5 of the estimate) is refused."""
    d, D, steps = 20, 1000, (100, 127)
    eye = [["1.0" if i == j else "0.0" for j in range(d)] for i in range(d)]

    def raw(N: int) -> dict:
        return {"agents": [{"name": "A", "prompt": _prompt(N, d), "preconditioner": "0.5", "steps_per_turn": steps[0]},
                           {"name": "B", "geometry": eye, "target": ["0.5"] * d, "preconditioner": "0.5",
                            "steps_per_turn": steps[1]}],
                "initial_message": ["0.0"] * d}

    _check_both_sides(raw, lambda N: _documented_seconds(D, d, 1, 2 * d ** 3, steps, (N, 0)), D, monkeypatch, d)


def test_precision_refuses_a_dense_protocol_exactly_above_the_documented_estimate(monkeypatch):
    """docs/config.rst: any other protocol (here 8 agents, d = 4, all hearing all in one phase, then A hearing
    B: every agent live, n = 8; ``B`` over the 9 listener rows) at 840 digits; a prompt agent A and seven
    geometry agents with 1..7 steps per turn; one prompt row (1.6 operations, 2e-6 of the estimate) decides."""
    K, d, D = 8, 4, 840
    names = "ABCDEFGH"
    eye = [["1.0" if i == j else "0.0" for j in range(d)] for i in range(d)]
    steps = (3,) + tuple(range(1, K))
    phases = [{n: {m: "0.125" for m in names} for n in names}, {"A": {"B": "1.0"}}]
    heard = [K] * K + [1]

    def raw(N: int) -> dict:
        agents = [{"name": "A", "prompt": _prompt(N, d), "preconditioner": "0.5", "steps_per_turn": steps[0]}]
        agents += [{"name": n, "geometry": eye, "target": ["0.5"] * d, "preconditioner": "0.5",
                    "steps_per_turn": s} for n, s in zip(names[1:], steps[1:])]
        return {"agents": agents, "initial_message": ["0.0"] * d, "protocol": {"rounds": phases}}

    B = sum(2 * h * K * (d * d + 15) + K * (d ** 3 + 15) for h in heard)
    _check_both_sides(raw, lambda N: _documented_seconds(D, d, K, B, steps, (N,) + (0,) * (K - 1)), D, monkeypatch,
                      K * d)


def test_precise_fixed_points_refuse_a_rate_of_one_or_more():
    """``numerics.dynamics.precise.fixed_points`` (its docstring: InputError when rho >= 1): per-turn maps
    diag(1.5, 0.5) (round rate 2.25) and diag(1, 0.5) (round rate exactly 1: the round keeps e_1) are refused,
    naming rho."""
    from numerics.dynamics import precise

    with mp.workdps(30):
        for diag in (("1.5", "0.5"), ("1", "0.5")):
            M = mp.matrix([[mp.mpf(diag[0]), 0], [0, mp.mpf(diag[1])]])
            with pytest.raises(InputError, match="contraction rate rho"):
                precise.fixed_points([M, M], [mp.matrix([1, 1]), mp.matrix([1, 1])])


def _random_raw(noise_b=None, K: int = 2) -> dict:
    """Two (or K) geometry agents, d = 2, under independent draws of two alternatives; B optionally noisy."""
    eye = [["1.0", "0.0"], ["0.0", "1.0"]]
    names = "ABCDEFGH"[:K]
    agents = [{"name": n, "geometry": eye, "target": ["0.5", "0.25"], "preconditioner": "0.5"} for n in names]
    if noise_b is not None:
        agents[1]["noise"] = noise_b
    ring = [{names[i]: {names[i - 1]: "1.0"}} for i in range(K)]
    return {"agents": agents, "initial_message": ["0.0", "0.0"],
            "protocol": {"random": [{"probability": "0.5", "rounds": ring},
                                    {"probability": "0.5", "rounds": [{names[0]: {names[1]: "0.5"}}]}]}}


def test_precision_refuses_a_random_protocol_with_a_noisy_agent():
    """docs/protocol.rst ("noise"): covariances are float64 only, ``--precision`` refuses a noisy random protocol;
    on one (here only the second agent noisy) is an InputError naming ``--precision``, while the
    same protocol without noise runs."""
    with pytest.raises(InputError, match="--precision.*float64 only"):
        prediction.predict_precise(config.parse_exact(jsonio.loads(config_text(_random_raw("0.01")))), DIGITS)
    doc = prediction.predict_precise(config.parse_exact(jsonio.loads(config_text(_random_raw()))), DIGITS)
    assert doc["precision"] == f"mpmath {DIGITS} digits" and doc["schedule"]["kind"] == "independent"


def test_precision_refuses_a_random_protocol_beyond_its_size():
    """docs/protocol.rst: ``predict --precision`` computes a random protocol's moments where the instance is small,
    refused naming the size otherwise: five agents at d = 2 (modes (K d)^2 = 100 second-moment unknowns)."""
    with pytest.raises(InputError, match="second-moment unknowns"):
        prediction.predict_precise(config.parse_exact(jsonio.loads(config_text(_random_raw(K=5)))), DIGITS)
