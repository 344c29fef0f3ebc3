"""Propositions: a claim's statement as named hypotheses and conclusions evaluated on one instance.

A :class:`Proposition` pairs the typeset pieces of a claim (``proofs_check.statements.statements``,
``hypothesis_names`` / ``conclusion_names``) with one evaluator per piece. An evaluator takes the
:class:`Instance` (the config's system and the ``--param`` values) and returns an :class:`Outcome`:
``holds`` (True, False, or None for "not checkable on an instance"), the number behind it and,
for a hypothesis, whether it holds only within :data:`BOUNDARY_TOL` of its boundary.

Exit statuses of ``a2ad check`` (:func:`exit_status`): 0 the claim applies and every applicable,
checkable conclusion holds; 3 it does not apply (a hypothesis fails or sits on its boundary, the
config has the wrong shape) or nothing applicable is checkable; 1 a counterexample (every
hypothesis a conclusion needs holds and the conclusion fails).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from numerics.io.errors import InputError

# Relative tolerance of a float64 identity between two computations of the same quantity on a
# well-conditioned instance (round-off grows with the condition number, reported in the value).
REL_TOL = 1e-7
# A hypothesis "x < 1" (or "x != 0", "invertible") within this distance of its boundary is not
# trusted in float64: the claim is reported as not applying (exit 3), never as a counterexample.
BOUNDARY_TOL = 1e-6
# A plateau is read off a simulation once ||J^T|| falls below this (the transient is then negligible).
TRANSIENT_TOL = 1e-12
# Rounds simulated at most to reach a plateau or to watch a divergence.
MAX_ROUNDS = 100_000
# A divergence is seen once the deviation has grown by this factor over its start.
DIVERGENCE_FACTOR = 1e6


class NotApplicable(Exception):
    """The config has the wrong shape for the claim (exit 3 with the reason)."""


@dataclass(frozen=True)
class Outcome:
    holds: bool | None  # None: not checkable on an instance
    value: str
    boundary: bool = False  # a hypothesis that holds only within BOUNDARY_TOL of its boundary


@dataclass(frozen=True)
class Param:
    doc: str
    default: object
    parse: Callable[[str, object], object]  # (name, decoded JSON) -> value; raises InputError
    size: str | None = None  # "d" or "d+1": a vector's length or a square matrix's order, checked on the config


@dataclass(frozen=True)
class Piece:
    """One evaluator: ``fn(instance) -> Outcome``; ``needs``: the hypotheses a conclusion depends
    on (None: all of the claim's hypotheses)."""

    fn: Callable[["Instance"], Outcome]
    needs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Proposition:
    claim: str
    shape: str  # "pair", "agents", "protocol", "lsa", "random": what build() needs from the config
    hypotheses: dict[str, Piece]
    conclusions: dict[str, Piece]
    params: dict[str, Param] = field(default_factory=dict)
    # True when the conclusions are alternatives under exclusive hypotheses (C1: rho < 1 or rho > 1):
    # the claim applies when one conclusion's hypotheses hold; otherwise every hypothesis must hold.
    alternatives: bool = False


@dataclass
class Instance:
    """The config's system, the claim's parameters and a cache of derived quantities."""

    system: Any  # numerics.protocol.config.System
    params: dict
    cache: dict = field(default_factory=dict)

    def get(self, key: str, make: Callable[[], object]):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


# --- small numerical helpers (each evaluator's number) -------------------------------------------

def rho(A: np.ndarray) -> float:
    """Spectral radius."""
    return float(np.max(np.abs(np.linalg.eigvals(A)))) if A.size else 0.0


def norm(x) -> float:
    return float(np.linalg.norm(x, 2 if np.ndim(x) == 2 else None))


def less_than_one(name: str, x: float) -> Outcome:
    """The hypothesis ``x < 1`` with the boundary band."""
    if not np.isfinite(x):
        return Outcome(False, f"{name} = {x}")
    return Outcome(x < 1, f"{name} = {x:.6g}", boundary=abs(x - 1) <= BOUNDARY_TOL)


def greater_than_one(name: str, x: float) -> Outcome:
    if not np.isfinite(x):
        return Outcome(False, f"{name} = {x}")
    return Outcome(x > 1, f"{name} = {x:.6g}", boundary=abs(x - 1) <= BOUNDARY_TOL)


def invertible(name: str, A: np.ndarray) -> Outcome:
    """``A`` invertible: its smallest singular value, relative to its largest, off the boundary."""
    s = np.linalg.svd(A, compute_uv=False)
    scale = max(float(s[0]), 1.0)
    smin = float(s[-1])
    return Outcome(smin > BOUNDARY_TOL * scale, f"sigma_min({name}) = {smin:.6g}",
                   boundary=smin <= BOUNDARY_TOL * scale and smin > 0)


def nonzero(name: str, x, scale: float = 1.0) -> Outcome:
    n = norm(x)
    return Outcome(n > BOUNDARY_TOL * max(scale, 1.0), f"||{name}|| = {n:.6g}",
                   boundary=0 < n <= BOUNDARY_TOL * max(scale, 1.0))


def spd(name: str, A: np.ndarray) -> Outcome:
    sym = norm(A - A.T) <= REL_TOL * max(norm(A), 1.0)
    lam = float(np.min(np.linalg.eigvalsh((A + A.T) / 2)))
    scale = max(norm(A), 1.0)
    return Outcome(sym and lam > BOUNDARY_TOL * scale,
                   f"{name}: asymmetry {norm(A - A.T):.3g}, lambda_min = {lam:.6g}",
                   boundary=sym and 0 < lam <= BOUNDARY_TOL * scale)


def close(name: str, a, b, tol: float = REL_TOL) -> Outcome:
    """``a = b`` in float64: ``||a - b|| <= tol max(1, ||b||)``; non-finite values fail."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return Outcome(False, f"{name}: not finite")
    err = norm(a - b) / max(1.0, norm(b))
    return Outcome(err <= tol, f"{name}: relative difference {err:.3g} (tolerance {tol:g})")


def always(text: str) -> Outcome:
    return Outcome(True, text)


def not_checkable(value: str) -> Outcome:
    return Outcome(None, value + " (a limit or an existence: not checkable on one instance)")


def safe(fn: Callable[[Instance], Outcome], inst: Instance) -> Outcome:
    """Evaluate; a singular or overflowing instance is a failed piece, named, never a traceback."""
    try:
        with np.errstate(all="ignore"):
            return fn(inst)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ZeroDivisionError) as exc:
        return Outcome(False, f"singular or divergent instance ({type(exc).__name__}: {exc})")
    except InputError as exc:  # a numerics constructor refused the instance (e.g. K_B singular)
        return Outcome(False, f"refused: {exc}")


@dataclass(frozen=True)
class Report:
    claim: str
    applies: bool
    holds: bool | None
    reason: str
    hypotheses: list[dict]
    conclusions: list[dict]

    @property
    def exit_status(self) -> int:
        if self.holds is False:
            return 1
        return 0 if self.applies and self.holds else 3

    def as_dict(self) -> dict:
        return {"schema_version": 1, "claim": self.claim, "applies": self.applies, "holds": self.holds,
                "reason": self.reason, "hypotheses": self.hypotheses, "conclusions": self.conclusions}


def evaluate(prop: Proposition, texts: dict[str, str], inst: Instance) -> Report:
    """Every hypothesis and conclusion of ``prop`` on ``inst``; ``texts``: name -> typeset text."""
    hyps = {}
    for name, piece in prop.hypotheses.items():
        hyps[name] = safe(piece.fn, inst)
    ok = {n: bool(o.holds) and not o.boundary for n, o in hyps.items()}
    concl, applicable = {}, {}
    for name, piece in prop.conclusions.items():
        needs = tuple(prop.hypotheses) if piece.needs is None else piece.needs
        concl[name] = safe(piece.fn, inst)
        applicable[name] = all(ok[n] for n in needs)
    failed = [n for n in concl if applicable[n] and concl[n].holds is False]
    applies = any(applicable.values()) if prop.alternatives else all(ok.values())
    checked = [n for n in concl if applicable[n] and concl[n].holds is not None]
    if failed:  # a conclusion fails where every hypothesis it needs holds
        holds, reason = False, "COUNTEREXAMPLE: the hypotheses hold and a conclusion fails: " + ", ".join(failed)
    elif not applies:
        failing = [n for n in hyps if not ok[n]]
        holds, reason = None, "a hypothesis fails or sits on its boundary: " + ", ".join(failing)
    elif not checked:
        holds, reason = None, "no applicable conclusion is checkable on one instance"
    else:
        holds, reason = True, "every hypothesis holds and every checkable conclusion holds"
    return Report(
        prop.claim, applies, holds, reason,
        [{"name": n, "statement": texts.get(n, ""), "holds": o.holds, "value": o.value, "boundary": o.boundary}
         for n, o in hyps.items()],
        [{"name": n, "statement": texts.get(n, ""), "holds": o.holds, "value": o.value,
          "applicable": applicable[n]} for n, o in concl.items()])
