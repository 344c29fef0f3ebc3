"""``predict --precision`` against exact rational arithmetic (mutation killers, docs/mutation.rst).

A float64 oracle cannot see an error below ~1e-12, and ``--precision 30`` promises 30 digits: with
listening weights that do not sum to 1 and ``steps_per_turn`` up to 3, a wrong guard, a float64
product or a dropped step could be right to 17 digits only. Here the config is read as the CLI
reads it (:func:`numerics.io.jsonio.loads`, decimals by their text, :func:`numerics.protocol.config.parse_exact`),
and the oracle works in exact rationals from the same decimal text, never calling the engine:

* one round of the protocol is run on the agents' GD steps (``w <- w - Gamma (H w - H w*)``,
  ``steps_per_turn`` times; each listener hears ``sum_j W_ij m_j`` of the messages at the start of
  its phase) in :class:`fractions.Fraction`; probing it from the zero state and each unit state gives
  the round map ``z -> Phi z + r`` exactly (it is affine);
* the fixed point solves ``(I - Phi) z = r`` exactly (SymPy rationals); the rate is ``rho(Phi)`` of
  the exact ``Phi`` by mpmath's eigenvalues at 60 digits.
"""
from __future__ import annotations

import json
import re
from fractions import Fraction

import mpmath as mp
import pytest
import sympy as sp

from numerics.io import jsonio
from numerics.io.errors import InputError
from numerics.protocol import config, prediction

DIGITS = 30
# 30 printed significant digits, computed with 10 guard digits: the printed value is within one unit of
# the 30th digit, relative to the largest entry; 1e-28 leaves a factor 10 for the last digit's rounding.
PRECISE_REL = mp.mpf("1e-28")
ORACLE_DPS = 60


def agents(K, d, seed):
    """K agents with decimal data (strings: exact as written): SPD geometries, matrix preconditioners."""
    out = []
    for k in range(K):
        a = (seed + 3 * k) % 7 + 1
        H = [[f"{a / 4 + (i == j) * 0.5 + 0.25:.2f}" if i == j else "0.15" for j in range(d)] for i in range(d)]
        G = [[f"{0.3 + 0.05 * ((k + i) % 3):.2f}" if i == j else "0.02" for j in range(d)] for i in range(d)]
        target = [f"{(-1) ** (i + k) * (0.7 + 0.1 * i + 0.2 * k):.2f}" for i in range(d)]
        out.append({"name": chr(ord("A") + k), "geometry": H, "target": target, "preconditioner": G,
                    "steps_per_turn": 1 + (k + seed) % 3})
    return out


CASES = {
    "round_robin_steps": {"agents": agents(2, 2, 1), "initial_message": ["0.5", "-0.25"]},
    "three_agent_round_robin": {"agents": agents(3, 2, 2), "initial_message": ["0.1", "0.2"]},
    "weights_not_one": {"agents": agents(3, 2, 3), "initial_message": ["0.3", "0.3"],
                        "protocol": {"rounds": [{"A": {"B": "0.3", "C": "0.9"}, "B": {"A": "0.45"}},
                                                {"C": {"A": "0.6", "B": "0.7"}}]}},
    "permuted_cycle": {"agents": agents(3, 2, 4), "initial_message": ["1.0", "0.0"],
                       "protocol": {"rounds": [{"B": {"A": "1"}}, {"C": {"B": "1"}}, {"A": {"C": "1"}}]}},
    # a cycle in list order whose weights are 1.25, not 1: not the round robin (its fast path would drop them)
    "cycle_weights_not_one": {"agents": agents(3, 2, 6), "initial_message": ["0.2", "0.1"],
                              "protocol": {"rounds": [{"A": {"C": "1.25"}}, {"B": {"A": "1.25"}},
                                                      {"C": {"B": "1.25"}}]}},
    "anchored_1d": {"agents": agents(2, 1, 5), "initial_message": ["0.7"],
                    "protocol": {"rounds": [{"A": {"A": "0.25", "B": "0.75"}}, {"B": {"A": "1.0"}}]}},
}


def with_prompts(raw):
    """A's data as a prompt of full column rank, B's as a rank-one prompt (w* is the minimum-norm solution)."""
    out = json.loads(json.dumps(raw))
    for k, (X, y) in enumerate([([["1.0", "0.5"], ["-0.5", "1.5"], ["0.25", "0.75"]], ["0.3", "-0.6", "0.9"]),
                                ([["1.0", "2.0"], ["-0.5", "-1.0"]], ["0.4", "-0.2"])]):
        a = out["agents"][k]
        del a["geometry"], a["target"]
        a["prompt"] = {"X": X, "y": y}
    return out


CASES["prompts_weights_not_one"] = with_prompts(CASES["weights_not_one"])
CASES["prompts_round_robin"] = with_prompts(CASES["round_robin_steps"])


def text(raw) -> str:
    """The config as a file: the decimal strings written as JSON numbers."""
    return re.sub(r'"(-?[0-9.]+)"', r"\1", json.dumps(raw))


def _num(x) -> Fraction:
    return Fraction(str(x))


def data(a) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """``(H, b, w*)`` of an agent, exact: from geometry and target, or ``H = X^T X / N``, ``b = X^T y / N``
    and the minimum-norm ``w* = H^+ b`` from a prompt."""
    def rat(x):
        f = _num(x)
        return sp.Rational(f.numerator, f.denominator)

    if "prompt" in a:
        X = sp.Matrix([[rat(x) for x in r] for r in a["prompt"]["X"]])
        y = sp.Matrix([rat(v) for v in a["prompt"]["y"]])
        H, b = X.T * X / X.rows, X.T * y / X.rows
        return H, b, H.pinv() * b
    H = sp.Matrix([[rat(x) for x in r] for r in a["geometry"]])
    w = sp.Matrix([rat(v) for v in a["target"]])
    return H, H * w, w


def exact_round(raw, state):
    """One round of the protocol (the round robin without ``protocol``) in exact rationals."""
    ags = raw["agents"]
    names = [a["name"] for a in ags]
    K = len(ags)
    if "protocol" in raw:
        rounds = [{names.index(i): {names.index(j): _num(w) for j, w in row.items()} for i, row in ph.items()}
                  for ph in raw["protocol"]["rounds"]]
    else:
        rounds = [{i: {(i - 1) % K: Fraction(1)}} for i in range(K)]
    m = [list(v) for v in state]
    for phase in rounds:
        new = {}
        for i, row in phase.items():
            a = ags[i]
            Hs, bs, _ = data(a)
            d = Hs.rows
            H = [[Fraction(int(Hs[r, c].p), int(Hs[r, c].q)) for c in range(d)] for r in range(d)]
            b = [Fraction(int(bs[r].p), int(bs[r].q)) for r in range(d)]
            G = [[_num(x) for x in r] for r in a["preconditioner"]]
            w = [sum((wt * m[j][k] for j, wt in row.items()), Fraction(0)) for k in range(d)]
            for _ in range(a["steps_per_turn"]):
                g = [sum(H[r][c] * w[c] for c in range(d)) - b[r] for r in range(d)]
                w = [w[r] - sum(G[r][c] * g[c] for c in range(d)) for r in range(d)]
            new[i] = w
        for i, w in new.items():
            m[i] = w
    return m


def exact_oracle(raw):
    K, d = len(raw["agents"]), len(raw["agents"][0]["preconditioner"])
    n = K * d

    def F(x):
        return [v for row in exact_round(raw, [x[k * d:(k + 1) * d] for k in range(K)]) for v in row]

    r = F([Fraction(0)] * n)
    cols = [[a - b for a, b in zip(F([Fraction(int(i == j)) for i in range(n)]), r)] for j in range(n)]
    Phi = sp.Matrix(n, n, lambda i, j: sp.Rational(cols[j][i].numerator, cols[j][i].denominator))
    rv = sp.Matrix([sp.Rational(v.numerator, v.denominator) for v in r])
    z = (sp.eye(n) - Phi).LUsolve(rv)
    with mp.workdps(ORACLE_DPS):
        Pm = mp.matrix([[mp.mpf(sp.Rational(Phi[i, j]).p) / Phi[i, j].q for j in range(n)] for i in range(n)])
        rho = max(abs(e) for e in mp.eig(Pm)[0])
    return rho, [[z[k * d + i] for i in range(d)] for k in range(K)]


@pytest.mark.parametrize("name", list(CASES))
def test_precision_30_is_right_to_30_digits(name):
    raw = CASES[name]
    system = config.parse_exact(jsonio.loads(text(raw)))
    doc = prediction.predict(system, DIGITS)
    rho, z = exact_oracle(raw)
    assert rho < 1 and doc["converges"] is True
    with mp.workdps(ORACLE_DPS):
        assert abs(mp.mpf(doc["contraction_rate"]) - rho) <= PRECISE_REL
        scale = max(1, max(abs(mp.mpf(sp.Rational(v).p) / sp.Rational(v).q) for row in z for v in row))
        for k, a in enumerate(raw["agents"]):
            entry = doc["agents"][a["name"]]
            for i, v in enumerate(z[k]):
                exact = mp.mpf(sp.Rational(v).p) / sp.Rational(v).q
                w_star = data(a)[2][i]
                target = mp.mpf(w_star.p) / w_star.q
                assert abs(mp.mpf(entry["fixed_point"][i]) - exact) <= PRECISE_REL * scale, (i, entry)
                assert abs(mp.mpf(entry["residual"][i]) - (exact - target)) <= PRECISE_REL * scale
                assert abs(mp.mpf(entry["target"][i]) - target) <= PRECISE_REL * scale


def test_precision_refuses_more_than_ten_thousand_examples():
    """docs/cli.rst: ``--precision`` supports at most 10^4 examples per agent; one more is an InputError naming
    the agent's prompt and the count (before any exact arithmetic)."""
    raw = json.loads(json.dumps(CASES["round_robin_steps"]))
    del raw["agents"][0]["geometry"], raw["agents"][0]["target"]
    raw["agents"][0]["prompt"] = {"X": [["1.0", "0.5"]] * 10001, "y": ["0.25"] * 10001}
    system = config.parse_exact(jsonio.loads(text(raw)))
    with pytest.raises(InputError) as info:
        prediction.predict(system, DIGITS)
    assert "A.prompt.X" in str(info.value) and "10001 rows" in str(info.value) and "10000" in str(info.value)


def test_precision_accepts_16_to_1000_digits():
    """docs/cli.rst: ``--precision`` takes 16 to 1000 digits; 15 and 1001 are InputErrors naming ``--precision``."""
    assert prediction.check_digits(16) == 16 and prediction.check_digits(1000) == 1000
    for bad in (15, 1001):
        with pytest.raises(InputError, match="--precision"):
            prediction.check_digits(bad)
