"""Numeric evaluation of a derived protocol object (ties numeric code to the derived object, P1-P5)."""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import from_poly
from theory.protocol.result import Compiled
from theory.protocol.symbols import M, w_star


def evaluate(cp: Compiled, expr: sp.Expr, agents: dict, extra: dict | None = None, scalars: dict | None = None):
    """Evaluate a derived expression with numpy.

    ``agents`` maps each agent name to ``(M_i, w_i*)`` (d x d, d); ``extra`` maps other
    noncommutative symbol names (``S_A``, ``P_B``) to arrays; ``scalars`` maps weight
    symbols (P4's ``omega``) to numbers. Named letters take their definitions' values and formal
    inverses are inverted numerically, in order of creation.
    """
    import numpy as np  # theory/ needs numpy only here: imported when a derived object is evaluated
    table = {}
    for k, (Mk, wk) in agents.items():
        table[M(k)] = np.asarray(Mk, dtype=float)
        table[sp.Symbol(f"M_{k}^T", commutative=False)] = table[M(k)].T
        table[w_star(k)] = np.asarray(wk, dtype=float).reshape(-1, 1)
    for k, v in (extra or {}).items():
        table[sp.Symbol(k, commutative=False)] = np.asarray(v, dtype=float)
    d = next(iter(table.values())).shape[0]
    sc = {sp.Symbol(k): v for k, v in (scalars or {}).items()}
    for kind, a, b in cp.alg.events:  # named letters' definitions and the inverses, in order of creation
        if kind == "def":
            try:
                table[a] = _eval(from_poly(b), table, d, sc)
            except KeyError:  # needs a symbol not given (S_i of the noise): left out
                continue
        else:
            table[b] = np.linalg.inv(_eval(a, table, d, sc))
    return _eval(expr, table, d, sc)


def _eval(expr, table, d, scalars):
    import numpy as np
    total = np.zeros((d, d))
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        val = np.eye(d)
        for f in word:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            for _ in range(k):
                val = val @ table[base]
        cval = float(sp.Mul(*coeff).xreplace(scalars))
        total = (total + cval * val if total.shape == val.shape
                 else (cval * val if not total.any() else total + cval * val))
    return total
