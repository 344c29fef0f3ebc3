"""Building blocks shared by the claim modules: turning proofs and witnesses into Outcomes.

Tolerances are named here with their reasons; claim modules import them.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable

import numpy as np
import sympy as sp

from theory.algebra import FreeProof
from .registry import Outcome, Profile

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
    """V1: every identity must reduce to exactly 0 in the free algebra."""
    proofs = list(proofs)
    bad = [label for label, p in proofs if not p.holds]
    worst = max((p.terms for _, p in proofs), default=0)
    factors = sorted({f for _, p in proofs for f in p.inverted})
    detail = (f"{len(proofs)} identities reduce to 0 in the free algebra; invertible factors: "
              f"{', '.join(factors) or 'none'}")
    if bad:
        detail = f"not reduced to 0: {', '.join(bad)}"
    return Outcome(float(worst), EXACT, len(proofs), detail)


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
    return Outcome(float(nonzero), EXACT, len(cases), detail)


def relative_error(a, b) -> float:
    """``||a - b|| / max(||b||, tiny)`` on arrays (works on stacked batches)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(float).tiny))


def batch_relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-instance relative error over the leading axis."""
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    return np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(b, axis=1), np.finfo(float).tiny)


def worst(errors, tolerance: float, detail: str) -> Outcome:
    errors = np.atleast_1d(np.asarray(errors, dtype=float))
    return Outcome(float(np.max(errors)), tolerance, int(errors.size), detail)


def with_python_control(method: Callable) -> Callable[[Profile], Outcome]:
    """V8 methods that use python-control: ``method(profile, control)``; skipped, with the
    install hint, when the optional package is missing."""
    @functools.wraps(method)
    def run(profile: Profile) -> Outcome:
        try:
            import control
        except ImportError:
            return Outcome.skip("python-control is not installed (pip install 'a2a-dynamics[test]')")
        return method(profile, control)
    return run
