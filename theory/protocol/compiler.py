"""The protocol compiler (P1): any linear interaction protocol in, its derived theory out.

Each agent's turn is ``T_i(w) = M_i w + c_i`` with ``c_i = K_i w_i* = (1 - M_i) w_i*``;
``M_i`` stands for the per-turn transfer (``M_i^{s_i}`` with s steps per turn, C7).
``M_i`` and ``w_i*`` are noncommutative SymPy symbols, so every result holds in any
dimension. From the phases alone (:mod:`theory.protocol.description`) the compiler

1. composes the round map of the joint state ``z = (m_1, ..., m_K)``, ``z <- Phi z + r`` with
   ``Phi = Phi_P ... Phi_1`` (:mod:`theory.protocol.round_map`);
2. finds the live agents R (nonzero block columns of Phi), so ``rho(Phi) = rho(Phi_RR)`` and the
   fixed point needs only ``(I - Phi_RR) z_R* = r_R``;
3. solves that system by block Gaussian elimination in the free algebra (theory.core.algebra),
   each pivot a formal inverse (:mod:`theory.protocol.fixed_point`), or past
   ``EXPANDED_MAX_WORDS`` words with named Schur blocks (:mod:`theory.protocol.schur`);
4. writes each residual ``e_i = z_i* - w_i*`` in the gaps ``w_j* - w_i*``
   (:mod:`theory.protocol.residuals`);
5. reduces the rate to small blocks, ``rho = max_k rho(D_k)^{1/q}`` (:mod:`theory.protocol.rate`);
6. derives the stationary covariance (Lyapunov) equation for agents that add independent noise
   (:mod:`theory.protocol.noise`).

Every derived object is checked by :func:`verify` (method V1, :mod:`theory.protocol.checks`).
Weights may be numbers or SymPy symbols (e.g. P4's anchoring weight ``omega``). This module is the
entry point: :func:`compile_protocol`, and the names the rest of the package uses, re-exported
from the module that owns each.
"""
from __future__ import annotations

import time

from theory.core.algebra import (  # noqa: F401
    MAX_POLY_WORDS,
    P_ONE,
    FreeAlgebra,
    TooLarge,
    from_poly,
    letter,
    normal,
    padd,
    pmul,
    pscale,
    to_poly,
)
from theory.protocol import checks, cost, schur
from theory.protocol.checks import Check, verify  # noqa: F401
from theory.protocol.description import (  # noqa: F401
    WEIGHT_MAX_DENOMINATOR,
    Spec,
    from_numeric,
    round_robin,
    spec,
    weight,
)
from theory.protocol.evaluation import evaluate  # noqa: F401
from theory.protocol.fixed_point import EXPANDED_MAX_WORDS, expanded
from theory.protocol.helper import HelperDerivation, derive_helper  # noqa: F401
from theory.protocol.noise import lyapunov, named_lyapunov, noise_injection, noise_poly
from theory.protocol.printing import (  # noqa: F401
    VECTOR_PREFIXES,
    inverse_names,
    latex,
    latex_terms,
    text,
    to_matrix_expr,
)
from theory.protocol.rate import MAX_RATE_WORDS, rate_reduction  # noqa: F401
from theory.protocol.result import Compiled
from theory.protocol.round_map import (  # noqa: F401
    compose,
    compose_poly,
    live,
    matmul,
    phase_map,
    phase_poly,
)
from theory.protocol.symbols import (  # noqa: F401
    ONE,
    M,
    c,
    cov_block,
    gap,
    noise_cov,
    ptranspose,
    transpose,
    w_star,
)

_matmul = matmul  # the name proofs_check.claims.p_protocol imports


def compile_protocol(s: Spec, noise: bool = True) -> Compiled:
    """Derive the round map, fixed point, residuals, reduced rate and (optionally) the Lyapunov equation.

    The fixed point comes from the expanded elimination (:func:`theory.protocol.fixed_point.expanded`)
    while it stays under EXPANDED_MAX_WORDS words and its identities reduce to 0; else from the
    elimination with named Schur blocks (:mod:`theory.protocol.schur`; ``cp.named`` is set and
    :func:`verify` proves its chain). A protocol whose a-priori size exceeds
    ``cost.MAX_ELIMINATION_WORDS`` is refused first (:class:`TooLarge`, :func:`theory.protocol.cost.check`).
    """
    t0 = time.perf_counter()
    cost.check(s)  # before any polynomial is built: TooLarge naming the estimate and the limit
    Phi, r = compose_poly(s)
    R = live(Phi)
    out = None
    try:
        alg = FreeAlgebra(max_words=EXPANDED_MAX_WORDS)
        parts = expanded(alg, s, Phi, r, R)
        alg.max_words = MAX_POLY_WORDS
        out = _assemble(s, alg, Phi, r, R, *parts, None)
        if not all(c.holds for c in checks.expanded_checks(out)):
            out = None  # the rewriting did not settle an identity: derive with named blocks instead
    except TooLarge:
        pass
    if out is None:
        alg = FreeAlgebra()
        out = _assemble(s, alg, Phi, r, R, *schur.derive(alg, s, Phi, r, R))
    if noise and out.named is not None:
        Q = noise_poly(s)
        out.noise = [[from_poly(x) for x in row] for row in Q]
        out.lyapunov = named_lyapunov(out.alg, s.names, Phi, R, Q)
    elif noise:
        out.noise = noise_injection(s)
        out.lyapunov = lyapunov(s.names, Phi, R, out.noise)
    if out.named is not None:
        out.definitions = [(L, from_poly(p)) for L, p in out.alg.named_letters().items()]
    out.seconds = time.perf_counter() - t0
    return out


def _assemble(s: Spec, alg: FreeAlgebra, Phi, r, R, z, res_self_p, res_gaps_p, named) -> Compiled:
    """The Compiled result from word polynomials (each expression remembers its polynomial)."""
    cache = {}

    def expr(p):
        e = from_poly(p)
        cache[id(e)] = (e, p)
        return e
    res_self = [expr(p) for p in res_self_p]
    res_gaps = [{j: expr(p) for j, p in g.items()} for g in res_gaps_p]
    Phi_e = [[expr(x) for x in row] for row in Phi]
    q, blocks = rate_reduction(Phi_e, R)
    return Compiled(s, alg, Phi_e, [expr(x) for x in r], R, [expr(x) for x in z], res_self, res_gaps, q, blocks,
                    polys=cache, named=named)
