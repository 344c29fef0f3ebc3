"""Each planted wrong variant of docs/mutation.rst makes a verify method fail (issue 22, item 5).

The variants are wrong versions of the protocol engine (numerics/protocol/engine.py), its documents
(prediction.py), the exact-precision path (numerics/dynamics/precise.py), the block-row evaluation
(evaluate.py) and the simulator (simulate.py). Each is planted by re-executing the module's source
with one text replaced (in the module's own namespace, restored afterwards: every caller reaches the
module through its attributes), and the verify method that should see it, a part of P1's or C17's VS
run at the quick profile through ``runner.run_method`` as ``a2ad verify`` runs it, must fail.
"""
from __future__ import annotations

import contextlib
import importlib
from pathlib import Path

import pytest

from proofs_check.verification import runner, shipped_exact, shipped_protocol, shipped_random, shipped_reasons
from proofs_check.verification.registry import PROFILES

QUICK = PROFILES["quick"]
# predict --precision's evaluation at a working precision (prediction.py's ``at``), as the variants below plant it
WORKING = ("with mp.workdps(working):\n            Ms, cs, targets = zip(*(precise.agent_transfer(a.Gamma, a.geometry, "
           "a.steps) for a in system.agents))\n")
METHODS = {
    "shapes P1": shipped_protocol.shapes_method(shipped_protocol.NAMED_SHAPES, 41, True),
    "shapes C17": shipped_protocol.shapes_method(shipped_protocol.RR_SHAPES, 42, False),
    "reasons P1": shipped_reasons.reasons_method(True),
    "reasons C17": shipped_reasons.reasons_method(False),
    "exact P1": shipped_exact.exact_method(True),
    "exact C17": shipped_exact.exact_method(False),
    "random P1": shipped_random.random_predict_method,
}
E, P, D = "numerics.protocol.engine", "numerics.protocol.prediction", "numerics.dynamics.precise"
V, S = "numerics.protocol.evaluate", "numerics.protocol.simulate"
M = "CONVERGENCE_MARGIN"

# (module, text, replacement, method that must fail)
VARIANTS = [
    (E, "Phi[a, idx[k]] * zR[k]", "Phi[a, idx[k]] + zR[k]", "exact P1"),
    (E, "rho_w = 1.0 if rr else", "rho_w = 1.0 if not rr else", "reasons P1"),
    (E, "uninformed = s[-1] <= UNINFORMED_REL_TOL", "uninformed = s[-1] != UNINFORMED_REL_TOL", "reasons P1"),
    (E, "for p, ((_, row),) in enumerate(phases):", "for p, ((_, row),) in enumerate([]):", "shapes P1"),
    (E, "row[0][0] != order[p - 1]", "row[0][0] != order[p - 0]", "shapes P1"),
    (E, "z = [None] * len(Ms)", "z = [None] + len(Ms)", "exact C17"),
    (E, "component on the unstable subspace (C1)\" if rho > 1 else",
     "component on the unstable subspace (C1)\" if rho >= 1 else", "reasons C17"),
    (E, f"if radii[k] > 1 + {M}:", f"if radii[k] > 1 ** {M}:", "reasons P1"),
    (E, f"if radii[k] > 1 + {M}:", f"if radii[k] >= 1 + {M}:", "reasons P1"),
    (E, f"if radii[k] > 1 + {M}:", f"if radii[k] > 2 + {M}:", "reasons C17"),
    (E, f"if radii[k] > 1 + {M}:", f"if radii[k] > 1 - {M}:", "reasons C17"),
    (E, f"if rho_w > 1 + {M}:", f"if rho_w > 2 + {M}:", "reasons P1"),
    (E, f"if rho_w > 1 + {M}:", f"if rho_w > 1 ** {M}:", "reasons P1"),
    (E, f"if rho_w > 1 + {M}:", f"if rho_w >= 1 + {M}:", "reasons P1"),
    (E, f"return bool(rho < 1 - {M})", f"return bool(rho < 1 ** {M})", "reasons P1"),
    (E, f"return bool(rho < 1 - {M})", f"return bool(rho <= 1 - {M})", "reasons P1"),
    (E, "return Fraction(text) == 1", "return Fraction(text) >= 1", "exact P1"),
    (E, "return Fraction(text) == 1", "return Fraction(text) == 2", "shapes P1"),
    (E, "if text is not None else w == 1", "if text is not None else w >= 1", "shapes P1"),
    (E, "if len(row) != 1 or", "if len(row) > 1 or", "shapes P1"),
    (E, "if len(row) != 1 or", "if len(row) < 1 or", "shapes P1"),
    (E, "any(len(phase) != 1 for", "any(len(phase) < 1 for", "shapes P1"),
    (E, "if len(phases) != protocol.K or", "if len(phases) is not protocol.K or", "shapes P1"),
    (E, "if idx else mp.mpf(0)", "if idx else mp.mpf(1)", "shapes P1"),
    (E, "UNINFORMED_REL_TOL * max(float(s[0]), 1.0)", "UNINFORMED_REL_TOL * max(float(s[-1]), 1.0)", "reasons P1"),
    (E, "UNINFORMED_REL_TOL * max(float(s[0]), 1.0)", "UNINFORMED_REL_TOL ** max(float(s[0]), 1.0)", "reasons P1"),
    (E, "UNINFORMED_REL_TOL * max(float(s[0]), 1.0)", "UNINFORMED_REL_TOL * max(float(s[0]), 2.0)", "reasons P1"),
    (E, "precision=3", "precision=2", "reasons P1"),
    (E, "if s.size == d else True", "if s.size is d else True", "reasons C17"),
    (E, "if uninformed and rho_w >= 1 - CONVERGENCE_MARGIN:", "if uninformed and rho_w > 1 - CONVERGENCE_MARGIN:",
     "reasons P1"),
    (E, "UNINFORMED_REL_TOL * max(float(s[0]), 1.0)", "UNINFORMED_REL_TOL * max(float(s[0]), 0.0)", "reasons P1"),
    (E, "if uninformed and rho_w >= 1 - CONVERGENCE_MARGIN:", "if uninformed and rho_w >= 0 - CONVERGENCE_MARGIN:",
     "reasons P1"),
    (E, "if uninformed and rho_w >= 1 - CONVERGENCE_MARGIN:", "if uninformed and rho_w != 1 - CONVERGENCE_MARGIN:",
     "reasons P1"),
    (E, "if uninformed and rho_w >= 1 - CONVERGENCE_MARGIN:", "if uninformed and rho_w >= 1 ** CONVERGENCE_MARGIN:",
     "reasons P1"),
    (E, "uninformed = s[-1] <= UNINFORMED_REL_TOL", "uninformed = s[-1] < UNINFORMED_REL_TOL", "reasons P1"),
    (E, "    if order is not None:\n        return float(closed_forms.contraction_rate(M[list(order)]))",
     "    if order is None:\n        return float(closed_forms.contraction_rate(M[list(order)]))", "shapes P1"),
    (E, "    if order is not None:\n        o = list(order)\n        out = np.empty(S.shape)",
     "    if order is None:\n        o = list(order)\n        out = np.empty(S.shape)", "shapes P1"),
    (P, "r = fixed_points[i] - targets[i]", "r = targets[i] - fixed_points[i]", "shapes C17"),
    (P, WORKING + "            rho, z", WORKING.replace("(working)", "(17)") + "            rho, z", "exact P1"),
    (P, "    return settled(at, digits)\n\n\ndef settled", "    return at(digits + 10)\n\n\ndef settled",
     "exact C17"),  # one evaluation with 10 guard digits: the last two digits wrong near the convergence margin
    (P, "np.linalg.norm(m - agent.w_star, axis=-1)", "np.linalg.norm(m + agent.w_star, axis=-1)", "shapes C17"),
    (P, 'entry["covariance"] = None if cov is None else cov[i].tolist()',
     'entry["covariance"] = None if not cov is None else cov[i].tolist()', "shapes C17"),
    (P, "s = lambda x: mp.nstr(x, digits, strip_zeros=False)  # noqa: E731\n\n    def at(working: int) -> dict:\n"
        "        " + WORKING + "            rho, z", "s = lambda x: mp.nstr(x, digits, strip_zeros=True)  # noqa: E731"
        "\n\n    def at(working: int) -> dict:\n        " + WORKING + "            rho, z", "exact C17"),
    (P, "out.append(X.T @ X / len(X))", "out.append(X.T @ X * len(X))", "reasons P1"),
    (P, "mp.nstr(rate, 6), mp.nstr(mean_rate, 6))", "mp.nstr(rate, 6), mp.nstr(mean_rate, 5))", "reasons P1"),
    (P, "if mean_rate < 1 - margin:", "if mean_rate < 1 + margin:", "reasons P1"),
    (P, "if mean_rate < 1 - margin:", "if mean_rate < 0 - margin:", "reasons P1"),
    (P, "return head + (f\"; the mean still", "return head * (f\"; the mean still", "reasons P1"),
    (P, "    for i, entry in enumerate(entries.values()):\n        entry[\"covariance\"] = mom.covariance",
     "    for i, entry in []:\n        entry[\"covariance\"] = mom.covariance", "random P1"),
    (P, "names, mp.nstr(rho, 6))", "names, mp.nstr(rho, 7))", "reasons C17"),
    (P, "            if schedule is not None:\n                drawn = random_simulate.check_schedule",
     "            if not schedule is not None:\n                drawn = random_simulate.check_schedule", "random P1"),
    (P, "        if system.random is not None:\n            doc[\"schedule\"]",
     "        if system.random is None:\n            doc[\"schedule\"]", "random P1"),
    (P, WORKING + "            mean_rate, rate", WORKING.replace("(working)", "(digits - 10)") +
     "            mean_rate, rate", "random P1"),
    (P, 'f"{mom.contraction_rate:.6g}"', 'f"{mom.contraction_rate:.7g}"', "reasons P1"),
    (P, 'f"{mom.mean_rate:.6g}"', 'f"{mom.mean_rate:.7g}"', "reasons P1"),
    (P, "mp.nstr(rate, 6), mp.nstr(mean_rate, 6)", "mp.nstr(rate, 7), mp.nstr(mean_rate, 6)", "reasons P1"),
    (D, "        return mp.mpf(text)\n", "        return mp.mpf(float(text))\n", "exact P1"),
    (D, "base_M * out_M, base_M * out_c + base_c", "base_M * out_M, out_M * out_c + base_c", "exact C17"),
    (D, "b = [r[0] for r in _fmatmul(H, [[v] for v in w])]",
     "b = [r[0] * (1 + Fraction(1, 10 ** 20)) for r in _fmatmul(H, [[v] for v in w])]", "exact C17"),
    (D, "H = [[v / N for v in row] for row in _fmatmul(Xt, X)]",
     "H = [[v / (N - 1) for v in row] for row in _fmatmul(Xt, X)]", "exact C17"),
    (D, "return M, c, to_vector(w)", "return M, c, to_vector([v * (1 + Fraction(1, 10 ** 20)) for v in w])",
     "exact C17"),
    (V, "wm = precise.to_mpf(w)", "wm = mp.mpf(float(w))", "exact P1"),
    (V, "D[i, :, i, :] = S[i]", "D[i, :, i, :] = 0.9 * S[i]", "shapes P1"),
    (V, "for i in np.flatnonzero(mask[p]):", "for i in np.flatnonzero(mask[p])[:1]:", "shapes P1"),
    (S, "    for j, w in rest:\n", "    for j, w in rest[:0]:\n", "shapes P1"),
    (S, "                for i, w in new:\n", "                for i, w in new[:1]:\n", "shapes P1"),
]


@contextlib.contextmanager
def planted(module: str, text: str, replacement: str):
    """The module's functions re-defined from its source with ``text`` replaced once; restored after."""
    mod = importlib.import_module(module)
    source = Path(mod.__file__).read_text()
    assert source.count(text) == 1, f"{text!r} occurs {source.count(text)} times in {module}"
    saved = dict(mod.__dict__)
    try:
        exec(compile(source.replace(text, replacement), mod.__file__, "exec"), mod.__dict__)  # noqa: S102 - our own source
        yield
    finally:
        for name in set(mod.__dict__) - set(saved):
            del mod.__dict__[name]
        mod.__dict__.update(saved)


@pytest.mark.parametrize("module,text,replacement,method", VARIANTS,
                         ids=[f"{m.rsplit('.', 1)[1]}: {r.strip()[:60]}" for m, _, r, _ in VARIANTS])
def test_planted_variant_fails_verify(module, text, replacement, method):
    with planted(module, text, replacement):
        result = runner.run_method("VS", METHODS[method], QUICK)
    assert result["status"] == "failed", f"{method} passed on the variant: {result['detail'][:300]}"


def test_the_methods_pass_once_restored():
    """The planting is undone: the same methods pass on the package after every variant ran."""
    for name in ("shapes P1", "exact P1"):
        assert runner.run_method("VS", METHODS[name], QUICK)["status"] == "passed", name
