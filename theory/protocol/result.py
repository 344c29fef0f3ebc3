"""What the compiler derives for one protocol (:class:`Compiled`) and one V1 check of it (:class:`Check`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy as sp

from theory.core.algebra import FreeAlgebra, to_poly
from theory.protocol.description import Spec
from theory.protocol.symbols import gap, w_star

if TYPE_CHECKING:
    from theory.protocol.schur import Derivation


@dataclass
class Compiled:
    """The derived theory of ``spec`` (P1): round map ``z <- Phi z + r`` (K x K blocks), live agents R,
    fixed point ``z*``, residuals ``e_i = sum_j G_ij (w_j* - w_i*) + D_i w_i*`` (``residual_gaps``,
    ``residual_self``), rate ``rho(Phi) = max_k rho(rate_blocks_k)^(1/rate_power)`` and, for noisy
    agents, the Lyapunov equation. ``alg`` holds the formal inverses and named letters they use."""

    spec: Spec
    alg: FreeAlgebra
    Phi: list
    r: list
    live: tuple[int, ...]
    fixed_point: list  # z_i*, one expression per agent
    residual_self: list  # coefficient of w_i* in e_i (0 when the weights sum to 1)
    residual_gaps: list  # per agent i: {j: G_ij}, e_i = sum_j G_ij (w_j* - w_i*) + residual_self_i w_i*
    rate_power: int  # q: rho(Phi) = max_k rho(rate_blocks_k)^(1/q)
    rate_blocks: list  # square block matrices (lists of lists of expressions)
    lyapunov: dict = field(default_factory=dict)  # (i, j) in R x R -> rhs of V_RR = Phi_RR V_RR Phi_RR^T + Q_RR
    noise: list = field(default_factory=list)  # Q (K x K blocks) injected per round
    seconds: float = 0.0  # the compile's wall time, set by compile_protocol (0.0: not measured)
    named: Derivation | None = None  # set when derived with named Schur blocks
    definitions: list = field(default_factory=list)  # (letter, expr) of the named path, in order
    polys: dict = field(default_factory=dict, repr=False)  # id(expr) -> (expr, word polynomial), to skip re-expanding

    def poly(self, expr) -> dict:
        hit = self.polys.get(id(expr))
        return hit[1] if hit is not None and hit[0] is expr else to_poly(expr)

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    def reduce(self, expr):
        return self.alg.reduce(expr)

    def residual(self, i: int) -> sp.Expr:
        """``e_i`` written in the gaps (plus ``w_i*`` times its coefficient)."""
        n = self.names
        return (sp.Add(*[G * gap(n[j], n[i]) for j, G in self.residual_gaps[i].items()])
                + self.residual_self[i] * w_star(n[i]))


@dataclass(frozen=True)
class Check:
    """One V1 identity: ``holds`` when it reduced to 0 (``residual``: what was left, as text)."""

    label: str
    holds: bool
    residual: str
