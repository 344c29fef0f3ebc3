"""Building blocks shared by the claim modules: turning proofs and witnesses into Outcomes.

Tolerances are named here with their reasons; claim modules import them.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable

import numpy as np
import sympy as sp

from proofs_check.verification.registry import Outcome, Profile
from theory.core import model
from theory.core.algebra import FreeProof
from theory.round_robin import two_agents as ta

# The hypothesis (named in the claims) that makes the two-agent factors invertible: I - M_B M_A
# has the same nonzero spectrum shifted by 1 as I - M_A M_B, so one hypothesis covers both.
PAIR_INVERTIBLE = "I - M_A M_B invertible (implied by rho(M_A M_B) < 1)"
PAIR_FACTORS = {PAIR_INVERTIBLE: (model.I - ta.J_A, model.I - ta.J_B)}

# V1/V2/V3 are exact: the reduced difference must be exactly 0.
EXACT = 0.0
# V4: docs/theory.rst, verification methods - closed form vs converged simulation at rho <= 0.9.
FLOAT_REL_TOL = 1e-9
# V5: >= 40 agreeing digits (docs/theory.rst, V5); 60 working digits leave margin for cond 1e12 x 1/(1-rho) 1e10.
PRECISE_REL_TOL = 1e-40
PRECISE_DPS = 60
# V8: python-control computes the DC gain through its own (LU) solve in float64;
# at rho <= 0.9 and cond <= 1e2 that agrees to ~1e-13, 1e-10 leaves headroom.
EXTERNAL_REL_TOL = 1e-10


def free_proofs(proofs: Iterable[tuple[str, FreeProof]]) -> Outcome:
    """V1: every identity must reduce to exactly 0 in the free algebra.

    A proof also fails when its two sides were structurally equal before the prover ran
    (it proves nothing) or when its inverses were not checked against named hypotheses.
    The detail lists every factor multiplied by or inverted, with the hypothesis that makes
    it invertible.
    """
    proofs = list(proofs)
    bad = [label for label, p in proofs if not p.holds]
    trivial = [label for label, p in proofs if p.trivial]
    unchecked = [label for label, p in proofs if not p.checked]
    worst = max((p.terms for _, p in proofs), default=0) + len(trivial) + len(unchecked)
    used = {}
    for _, p in proofs:
        used.update(dict(p.justified))
    factors = "; ".join(f"{f} [{h}]" for f, h in sorted(used.items())) or "none"
    detail = f"{len(proofs)} identities reduce to 0 in the free algebra; factors and hypotheses used: {factors}"
    problems = ([f"not reduced to 0: {', '.join(bad)}"] if bad else []) + \
               ([f"structurally trivial (both sides equal as built): {', '.join(trivial)}"] if trivial else []) + \
               ([f"inverses not checked against named hypotheses: {', '.join(unchecked)}"] if unchecked else [])
    if problems:
        detail = "; ".join(problems)
    return Outcome(float(worst), EXACT, len(proofs), detail,
                   power="exact: any wrong identity leaves a nonzero residual (>= 1 term, bar 0)")


def explicit_zero(cases: Iterable[tuple[str, sp.Matrix]]) -> Outcome:
    """V2/V3: each explicit symbolic difference must cancel to the zero matrix."""
    cases = list(cases)
    bad, nonzero = [], 0
    for label, diff in cases:
        diff = sp.Matrix(diff) if not isinstance(diff, sp.Expr) else sp.Matrix([diff])
        n = sum(1 for x in diff if sp.cancel(sp.together(x)) != 0)
        if n:
            bad.append(label)
            nonzero = max(nonzero, n)
    detail = f"{len(cases)} explicit identities cancel to 0" if not bad else f"nonzero: {', '.join(bad)}"
    return Outcome(float(nonzero), EXACT, len(cases), detail,
                   power="exact: a wrong identity leaves at least one nonzero entry (bar 0)")


def relative_error(a, b) -> float:
    """``||a - b|| / max(||b||, tiny)`` on arrays (works on stacked batches)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(float).tiny))


def batch_relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-instance relative error over the leading axis."""
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    return np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(b, axis=1), np.finfo(float).tiny)


def finite_max(errors) -> float:
    """The largest error, or NaN if any error is NaN or +-inf (Python's ``max`` skips a NaN
    that is not first; a non-finite error must fail its method, see ``Outcome``)."""
    errors = np.atleast_1d(np.asarray(errors, dtype=float))
    if errors.size == 0:
        return float("nan")  # no instance checked is not a pass
    if not np.all(np.isfinite(errors)):
        return float("nan")
    return float(np.max(errors))


def default_power(tolerance: float) -> str:
    """What a wrong answer looks like against a relative-error bar (methods that state nothing better)."""
    return (f"any disagreement above {tolerance:.0e} fails; a flipped sign or a swapped factor is an O(1) "
            f"error, ~{1 / tolerance:.0e} times the bar")


def worst(errors, tolerance: float, detail: str, power: str = "") -> Outcome:
    power = power or default_power(tolerance)
    errors = np.atleast_1d(np.asarray(errors, dtype=float))
    bad = int(np.sum(~np.isfinite(errors)))
    if bad:
        detail = f"{bad} of {errors.size} errors are NaN/inf; {detail}"
    return Outcome(finite_max(errors), tolerance, int(errors.size), detail, power=power)


def with_python_control(method: Callable) -> Callable[[Profile], Outcome]:
    """V8 methods that use python-control: ``method(profile, control)``; skipped, with the
    install hint, when the optional package is missing."""
    @functools.wraps(method)
    def run(profile: Profile) -> Outcome:
        try:
            import control
        except ImportError:
            return Outcome.skip("python-control is not installed (pip install 'a2a-dynamics[control]')")
        return method(profile, control)
    return run
