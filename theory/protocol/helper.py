"""The helper that relabels its prompt each turn, derived by the compiler (C12, C13).

In a two-agent protocol where each agent speaks once per round, the helper's turn is
``M_H x + (I - M_H) w_H(t)`` with ``x`` what it hears (the main agent's message ``u_t``). Splitting
off the coefficient of ``w_H(t)`` and inverting it (``K_H``, a hypothesis) gives the relabelled
target that makes the helper emit ``n_t``; the main agent's next turn with ``m_H = n_t`` gives
the next error ``u_{t+1} - w_main*`` in terms of ``n_t``.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.core.algebra import FreeAlgebra, normal
from theory.protocol.description import Spec
from theory.protocol.result import Check
from theory.protocol.symbols import ONE, M, c, w_star


@dataclass
class HelperDerivation:
    alg: FreeAlgebra
    relabel: sp.Expr  # w_H(t) that makes the helper emit n_t
    emitted: sp.Expr  # the helper's message with that target (reduces to n_t)
    error_next: sp.Expr  # u_{t+1} - w_main* in terms of n_t
    checks: list


def derive_helper(s: Spec, main: str, helper: str, message: sp.Expr | None = None) -> HelperDerivation:
    """The relabelled target, the emitted message and the main agent's next error (see the module text).

    ``message`` (in ``u_t`` and ``w_main*``) substitutes the chosen ``n_t`` (C12: damped Newton).
    """
    alg = FreeAlgebra()
    u, n, wH = (sp.Symbol(x, commutative=False) for x in ("u_t", "n_t", f"w_{helper}(t)"))
    rows = {listener: dict(row) for phase in s.phases for listener, row in phase}
    heard_by_helper = sp.Add(*[wt * (u if src == main else sp.Integer(0)) for src, wt in rows[helper].items()])
    emitted = sp.expand(M(helper) * heard_by_helper + (ONE - M(helper)) * wH)
    parts = split_by_vector(emitted, {wH: None, u: None})
    C, rest = parts[wH], parts[u] * u
    relabel = alg.reduce(alg.inverse(C) * (n - rest))
    emitted_n = alg.reduce(emitted.subs(wH, relabel))
    main_heard = sp.Add(*[wt * (n if src == helper else u) for src, wt in rows[main].items()])
    error = sp.expand(M(main) * main_heard + c(main) - w_star(main))
    checks = [Check("the relabelled target makes the helper emit n_t", normal(emitted_n - n) == 0,
                    sp.sstr(normal(emitted_n - n)))]
    if message is not None:
        error = alg.reduce(error.subs(n, message))
    return HelperDerivation(alg, relabel, emitted_n, error, checks)


def split_by_vector(expr: sp.Expr, vectors: dict) -> dict:
    """``expr = sum_v C_v v``: the coefficient of each trailing vector symbol."""
    out = {v: sp.Integer(0) for v in vectors}
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        if not word or word[-1] not in vectors:
            raise ValueError(f"term {term} does not end with one of {list(vectors)}")
        out[word[-1]] += sp.Mul(*coeff) * sp.Mul(*word[:-1])
    return out
