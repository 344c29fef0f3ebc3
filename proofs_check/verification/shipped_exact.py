"""VS for ``predict --precision`` against exact rational arithmetic (P1 under a protocol, C17 for the
round robin).

A float64 reference cannot see an error below ~1e-12, and ``--precision 30`` promises 30 digits: with
listening weights that do not sum to 1 and ``steps_per_turn`` up to 3, a wrong guard, a float64 product,
a JSON decimal read through ``float`` or a dropped step could be right to 17 digits only. Here the config
file holds decimals as written (``0.45``, not its float), ``a2ad predict --precision 30`` runs on it
through the entry point, and the reference works in exact rationals from the same decimal text, with no
package code:

* one round of the protocol is run on the agents' GD steps (``w <- w - Gamma (H w - b)``,
  ``steps_per_turn`` times; each listener hears ``sum_j W_ij m_j`` of the messages at the start of its
  phase) in :class:`fractions.Fraction`; probing it from the zero state and each unit state gives the
  round map ``z -> Phi z + r`` exactly (it is affine);
* prompt agents: ``H = X^T X / N``, ``b = X^T y / N`` and the minimum-norm ``w* = H^+ b``, exact (SymPy);
* the fixed point solves ``(I - Phi) z = r`` exactly (SymPy rationals); the rate is ``rho(Phi)`` of the
  exact ``Phi`` by mpmath's eigenvalues at 60 digits.

Each printed number must be within ``PRECISE_REL`` of the exact value and, as docs/config.rst promises, carry
every one of its 30 digits right: the string is the exact value rounded to 30 digits. Among the round robins is a
pair inside the convergence margin (:func:`near_margin`), where ``I - Phi`` cancels 11 leading digits.

Package extension (issue 22, items 4 and 5).
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import sympy as sp

from numerics.io import outputs
from proofs_check.verification import shipped_cli as cli
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger

__all__ = ["exact_method", "exact_cases", "exact_oracle", "exact_round", "check_exact", "config_text",
           "significant_digits", "near_margin", "DIGITS", "PRECISE_REL"]

DIGITS = 30
# 30 printed significant digits, computed with guard digits: the printed value is within one unit of the
# 30th digit, relative to the largest entry; 1e-28 leaves a factor 10 for the last digit's rounding. A
# float64 product anywhere in the path, or a relative error of 1e-20 in an offset, fails it.
PRECISE_REL = mp.mpf("1e-28")
ORACLE_DPS = 60


def _agents(K: int, d: int, seed: int) -> list[dict]:
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


def _with_prompts(raw: dict) -> dict:
    """A's data as a prompt of full column rank, B's as a rank-one prompt (w* is the minimum-norm solution)."""
    out = json.loads(json.dumps(raw))
    for k, (X, y) in enumerate([([["1.0", "0.5"], ["-0.5", "1.5"], ["0.25", "0.75"]], ["0.3", "-0.6", "0.9"]),
                                ([["1.0", "2.0"], ["-0.5", "-1.0"]], ["0.4", "-0.2"])]):
        a = out["agents"][k]
        del a["geometry"], a["target"]
        a["prompt"] = {"X": X, "y": y}
    return out


def exact_cases(protocol: bool, extra: int = 0) -> dict[str, dict]:
    """Configs (decimals as strings): under protocols (weights not 1, not summing to 1, a permuted cycle, a
    cycle of weights 1.25, a self-hearing anchor) or round robins; prompts of full, deficient and zero rank;
    ``extra`` more seeds of the same shapes (the full profile)."""
    cases: dict[str, dict] = {}
    for s in range(1 + extra):
        t = f"_{s}" if s else ""
        if protocol:
            cases["weights_not_one" + t] = {
                "agents": _agents(3, 2, 3 + 7 * s), "initial_message": ["0.3", "0.3"],
                "protocol": {"rounds": [{"A": {"B": "0.3", "C": "0.9"}, "B": {"A": "0.45"}},
                                        {"C": {"A": "0.6", "B": "0.7"}}]}}
            cases["permuted_cycle" + t] = {
                "agents": _agents(3, 2, 4 + 7 * s), "initial_message": ["1.0", "0.0"],
                "protocol": {"rounds": [{"B": {"A": "1"}}, {"C": {"B": "1"}}, {"A": {"C": "1"}}]}}
            # a cycle in list order whose weights are 1.25, not 1: not the round robin (its fast path drops them)
            cases["cycle_weights_not_one" + t] = {
                "agents": _agents(3, 2, 6 + 7 * s), "initial_message": ["0.2", "0.1"],
                "protocol": {"rounds": [{"A": {"C": "1.25"}}, {"B": {"A": "1.25"}}, {"C": {"B": "1.25"}}]}}
            cases["anchored_1d" + t] = {
                "agents": _agents(2, 1, 5 + 7 * s), "initial_message": ["0.7"],
                "protocol": {"rounds": [{"A": {"A": "0.25", "B": "0.75"}}, {"B": {"A": "1.0"}}]}}
            cases["prompts_weights_not_one" + t] = _with_prompts(cases["weights_not_one" + t])
        else:
            cases["round_robin_steps" + t] = {"agents": _agents(2, 2, 1 + 7 * s), "initial_message": ["0.5", "-0.25"]}
            cases["three_agent_round_robin" + t] = {"agents": _agents(3, 2, 2 + 7 * s),
                                                    "initial_message": ["0.1", "0.2"]}
            cases["prompts_round_robin" + t] = _with_prompts(cases["round_robin_steps" + t])
    if not protocol:  # a prompt of zeros: H = 0, b = 0, w* = 0 (no pivot: the minimum-norm solve's empty case)
        zero = json.loads(json.dumps(cases["round_robin_steps"]))  # B's SPD geometry keeps rho < 1
        del zero["agents"][0]["geometry"], zero["agents"][0]["target"]
        zero["agents"][0]["prompt"] = {"X": [["0.0", "0.0"], ["0.0", "0.0"]], "y": ["0.5", "-0.25"]}
        cases["zero_prompt_round_robin"] = zero
        cases["pivot_prompts_round_robin"] = _pivot_prompts()
        # d = 1: the round map is 1 x 1, whose rate is |J| itself (mpmath's eigen-solver is not called)
        cases["one_dimensional_round_robin"] = {"agents": _agents(2, 1, 3), "initial_message": ["0.4"]}
        cases["near_margin_round_robin"] = near_margin()
    return cases


def near_margin() -> dict:
    """Two 1-d agents with step 1e-12 (geometry 1, targets 1 and 0): the rate ``(1 - 1e-12)^2`` is 2e-12 inside the
    convergence margin, and forming ``1 - rate`` cancels 11 leading digits; the fixed point is ``1 / (2 - 1e-12)``."""
    return {"agents": [{"name": name, "geometry": [["1.0"]], "target": [target], "preconditioner": [["0.000000000001"]],
                        "steps_per_turn": 1} for name, target in (("A", "1.0"), ("B", "0.0"))],
            "initial_message": ["0.4"]}


def _pivot_prompts() -> dict:
    """Three prompt agents whose exact minimum-norm solve meets the pivot search's other branches: A's first
    column is zero (no pivot in it, one in the next: H = diag(0, 5/8)), B's and C's ``H`` have the off-diagonal
    entries +1 and -1 (``X^T X / N = [[1, +-1], [+-1, 2]]``), which the elimination must clear like any other."""
    agents = _agents(3, 2, 2)
    for a, (X, y) in zip(agents, [([["0.0", "1.0"], ["0.0", "0.5"]], ["0.5", "-0.25"]),
                                         ([["1.0", "0.0"], ["1.0", "2.0"]], ["0.3", "0.9"]),
                                         ([["1.0", "0.0"], ["-1.0", "2.0"]], ["-0.4", "0.6"])]):
        del a["geometry"], a["target"]
        a["prompt"] = {"X": X, "y": y}
    return {"agents": agents, "initial_message": ["0.1", "0.2"]}


def config_text(raw: dict) -> str:
    """The config as a file: the decimal strings written as JSON numbers."""
    return re.sub(r'"(-?[0-9.]+)"', r"\1", json.dumps(raw))


def _rat(x) -> sp.Rational:
    f = Fraction(str(x))
    return sp.Rational(f.numerator, f.denominator)


def _data(a: dict) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """``(H, b, w*)`` of an agent, exact: from geometry and target, or from a prompt."""
    if "prompt" in a:
        X = sp.Matrix([[_rat(x) for x in r] for r in a["prompt"]["X"]])
        y = sp.Matrix([_rat(v) for v in a["prompt"]["y"]])
        H, b = X.T * X / X.rows, X.T * y / X.rows
        return H, b, H.pinv() * b
    H = sp.Matrix([[_rat(x) for x in r] for r in a["geometry"]])
    w = sp.Matrix([_rat(v) for v in a["target"]])
    return H, H * w, w


def _frac(x: sp.Rational) -> Fraction:
    return Fraction(int(x.p), int(x.q))


def exact_round(raw: dict, state: list[list[Fraction]]) -> list[list[Fraction]]:
    """One round of the protocol (the round robin without ``protocol``) in exact rationals."""
    ags = raw["agents"]
    names = [a["name"] for a in ags]
    K = len(ags)
    if "protocol" in raw:
        rounds = [{names.index(i): {names.index(j): Fraction(str(w)) for j, w in row.items()} for i, row in ph.items()}
                  for ph in raw["protocol"]["rounds"]]
    else:
        rounds = [{i: {(i - 1) % K: Fraction(1)}} for i in range(K)]
    m = [list(v) for v in state]
    for phase in rounds:
        new = {}
        for i, row in phase.items():
            a = ags[i]
            Hs, bs, _ = _data(a)
            d = Hs.rows
            H = [[_frac(Hs[r, c]) for c in range(d)] for r in range(d)]
            b = [_frac(bs[r]) for r in range(d)]
            G = [[Fraction(str(x)) for x in r] for r in a["preconditioner"]]
            w = [sum((wt * m[j][k] for j, wt in row.items()), Fraction(0)) for k in range(d)]
            for _ in range(a["steps_per_turn"]):
                g = [sum(H[r][c] * w[c] for c in range(d)) - b[r] for r in range(d)]
                w = [w[r] - sum(G[r][c] * g[c] for c in range(d)) for r in range(d)]
            new[i] = w
        for i, w in new.items():
            m[i] = w
    return m


def exact_oracle(raw: dict) -> tuple[mp.mpf, list[list[sp.Rational]]]:
    """``(rho, z)``: the exact round map's spectral radius (mpmath, ORACLE_DPS) and its exact fixed point."""
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
        Pm = mp.matrix([[mp.mpf(Phi[i, j].p) / Phi[i, j].q for j in range(n)] for i in range(n)])
        rho = max(abs(e) for e in mp.eig(Pm)[0])
    return rho, [[z[k * d + i] for i in range(d)] for k in range(K)]


def _mp(x: sp.Rational) -> mp.mpf:
    return mp.mpf(x.p) / x.q


def _printed(x) -> mp.mpf:
    try:
        return mp.mpf(x) if isinstance(x, str) else mp.mpf("nan")
    except (TypeError, ValueError):
        return mp.mpf("nan")


def significant_digits(text) -> int | None:
    """How many significant digits a printed decimal string carries (None for zero or a non-string)."""
    if not isinstance(text, str):
        return None
    mantissa = text.lstrip("+-").lower().split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa) if mantissa and mantissa.isdigit() else None


def _bars(e: mp.mpf) -> float:
    """An error in units of PRECISE_REL (NaN stays NaN)."""
    return float(e / PRECISE_REL) if e == e else math.nan


def check_exact(ledger: Ledger, doc, raw: dict, label: str) -> None:
    """Every field of a ``predict --precision 30`` document against the exact round map."""
    rho, z = exact_oracle(raw)
    ok = isinstance(doc, dict) and isinstance(doc.get("agents"), dict)
    ledger.require("precise document", ok and doc.get("converges") is True and rho < 1
                   and doc.get("precision") == f"mpmath {DIGITS} digits", f"{label}: {str(doc)[:120]}")
    if not ok:
        return
    agents = doc["agents"]
    names = [a["name"] for a in raw["agents"]]
    ledger.require("agents", list(agents) == names, f"{label}: agents {list(agents)}")
    if list(agents) != names:
        return
    # docs/config.rst: "With --precision D every number is a decimal string with D significant digits"
    printed = [doc.get("contraction_rate")] + [x for e in agents.values() if isinstance(e, dict)
                                               for f in ("fixed_point", "residual", "target")
                                               for x in (e.get(f) or [])] + \
        [e.get("residual_norm") for e in agents.values() if isinstance(e, dict)]
    counts = {n for n in map(significant_digits, printed) if n is not None}
    ledger.require("significant digits", counts == {DIGITS}, f"{label}: printed with {sorted(counts)} significant "
                   f"digits, not {DIGITS}")
    with mp.workdps(ORACLE_DPS):
        ledger.add("contraction_rate", _bars(abs(_printed(doc.get("contraction_rate")) - rho)), 1.0)
        scale = max(mp.mpf(1), max(abs(_mp(sp.Rational(v))) for row in z for v in row))
        for k, a in enumerate(raw["agents"]):
            e = agents[a["name"]] if isinstance(agents[a["name"]], dict) else {}
            w_star = _data(a)[2]
            for field in ("fixed_point", "residual", "target"):
                ledger.require(f"{field} length", isinstance(e.get(field), list) and len(e[field]) == len(z[k]),
                               f"{label}: {a['name']}.{field} {e.get(field)}")
            if not all(isinstance(e.get(f), list) and len(e[f]) == len(z[k]) for f in ("fixed_point", "residual",
                                                                                         "target")):
                continue
            res2 = mp.mpf(0)
            for i, v in enumerate(z[k]):
                exact, target = _mp(sp.Rational(v)), _mp(w_star[i])
                res2 += (exact - target) ** 2
                ledger.add("fixed_point", _bars(abs(_printed(e["fixed_point"][i]) - exact) / scale), 1.0)
                ledger.add("residual", _bars(abs(_printed(e["residual"][i]) - (exact - target)) / scale), 1.0)
                ledger.add("target", _bars(abs(_printed(e["target"][i]) - target) / scale), 1.0)
                for field, value in (("fixed_point", exact), ("residual", exact - target)):
                    _every_digit(ledger, f"{label}: {a['name']}.{field}[{i}]", e[field][i], value)
            ledger.add("residual_norm", _bars(abs(_printed(e.get("residual_norm")) - mp.sqrt(res2)) / scale), 1.0)
            _every_digit(ledger, f"{label}: {a['name']}.residual_norm", e.get("residual_norm"), mp.sqrt(res2))
        _every_digit(ledger, f"{label}: contraction_rate", doc.get("contraction_rate"), rho)


def _every_digit(ledger: Ledger, where: str, printed, exact: mp.mpf) -> None:
    """docs/config.rst: every one of the DIGITS printed digits is right: the string is the exact value rounded to
    DIGITS significant digits (mpmath's own rounding of the ORACLE_DPS value; none of these cases sits within
    10^-ORACLE_DPS of a rounding tie)."""
    with mp.workdps(ORACLE_DPS):
        expected = mp.nstr(exact, DIGITS, strip_zeros=False)
    ledger.require("every printed digit", printed == expected, f"{where} printed {printed}, exact {expected}")


def exact_method(protocol: bool):
    """A VS method: ``a2ad predict --precision 30`` on the configs of :func:`exact_cases` (2 more seeds of each
    shape in the full profile), every field against the exact rational round map."""
    def method(profile: Profile) -> Outcome:
        cases = exact_cases(protocol, 0 if profile.name == "quick" else 2)
        ledger = Ledger(instances=len(cases))
        with cli.scratch() as tmp:
            paths = []
            for k, raw in enumerate(cases.values()):
                path = Path(tmp) / f"exact_{k}.json"
                outputs.write_text(path, config_text(raw), durable=False)
                paths.append(str(path))
            printed = cli.run_commands([["predict", p, "--precision", str(DIGITS)] for p in paths])
        for (label, raw), pr in zip(cases.items(), printed):
            ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
            check_exact(ledger, pr.json_or_none(), raw, label)
        kind = "protocols (weights not 1, not summing to 1)" if protocol else "round robins"
        return ledger.outcome(f"a2ad predict --precision {DIGITS} on {len(cases)} configs ({kind}, 1-3 steps per "
                              "turn, prompts of full and deficient rank) vs the exact rational round map; errors "
                              f"in units of {mp.nstr(PRECISE_REL, 2)} of the largest entry")
    return method
