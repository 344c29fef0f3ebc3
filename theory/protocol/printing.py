"""Derived protocol objects as text, LaTeX and SymPy matrix expressions (P1-P5).

Formal inverses print by short names in order of creation (``Q1, Q2, ...``; LaTeX
``\\mathcal{Q}_k``) or in full; gaps print as ``(w^*_j - w^*_i)``.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from theory.core import notation
from theory.core.model import I, d
from theory.protocol.result import Compiled


def inverse_names(cp: Compiled, tex: bool = True) -> dict:
    """Short names for the formal inverses, in order of creation: ``Q_1, Q_2, ...``."""
    return {Q: (rf"\mathcal{{Q}}_{{{k + 1}}}" if tex else f"Q{k + 1}") for k, (_, Q) in enumerate(cp.alg.inverted)}


def _symbol_names(cp: Compiled, expr, abbreviate: bool) -> dict:
    names = inverse_names(cp) if abbreviate else {}
    if not abbreviate:
        for F, Q in cp.alg.inverted:
            names[Q] = r"\left(" + sp.latex(F, symbol_names=names) + r"\right)^{-1}"
    for sym in expr.free_symbols:
        if sym.name.startswith("(w^*_"):
            j, i = sym.name[5:-1].split(" - w^*_")
            names[sym] = rf"(w^*_{{{j}}} - w^*_{{{i}}})"
        elif sym.name.startswith("K_"):
            names[sym] = rf"K_{{{sym.name[2:]}}}"
        elif sym.name.startswith("Phi_{"):  # a named block of the round map (theory.protocol.schur)
            names[sym] = "\\" + sym.name
    return names


def latex(cp: Compiled, expr, abbreviate: bool = True) -> str:
    r"""LaTeX of a derived expression; formal inverses print as ``\mathcal{Q}_k`` (see :func:`inverse_names`)
    or, with ``abbreviate=False``, in full as ``(F)^{-1}``."""
    return sp.latex(expr, symbol_names=_symbol_names(cp, expr, abbreviate))


def latex_terms(cp: Compiled, expr) -> list[str]:
    """The LaTeX of each term of a sum (for line breaking)."""
    terms = sp.Add.make_args(expr)
    out = []
    for k, t in enumerate(terms):
        tex = latex(cp, t)
        if k and not tex.startswith("-"):
            tex = "+ " + tex
        out.append(tex)
    return out


IDENTITY = sp.Symbol(notation.IDENTITY_TEXT, commutative=False)


def _with_identity(e):
    """The identity written as ``Id`` where a sum of matrices holds a scalar term (``1 - Q1*M_B``)."""
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(_with_identity)
    if isinstance(e, sp.Add) and not e.is_commutative:
        return sp.Add(*[a * IDENTITY if a.is_commutative else _with_identity(a) for a in e.args])
    if isinstance(e, (sp.Mul, sp.Pow)):
        return e.func(*[_with_identity(a) for a in e.args])
    return e


class _TextPrinter(StrPrinter):
    """The names of :func:`theory.core.notation.text`: ``w_A_star``, gaps ``(w_B_star - w_A_star)``, ``Id``."""

    def __init__(self, inverses: dict):
        super().__init__()
        self.inverses = inverses

    def _print_Symbol(self, expr):
        if expr in self.inverses:
            return self.inverses[expr]
        if expr.name.startswith("(w^*_"):  # the gap symbol (w^*_j - w^*_i)
            j, i = expr.name[5:-1].split(" - w^*_")
            return f"(w_{j}_star - w_{i}_star)"
        name = expr.name.replace("\\", "").replace("{", "").replace("}", "")
        if name.endswith("^T"):  # a transposed matrix of the noisy round (M_A^T)
            return f"transpose({notation.text_name(name[:-2])})"
        return notation.text_name(name)

    def _print_MatrixBase(self, expr):  # one line, as Python reads it: Matrix([[a, b], [c, d]])
        return "Matrix([" + ", ".join("[" + ", ".join(self._print(x) for x in expr.row(i)) + "]"
                                      for i in range(expr.rows)) + "])"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix = _print_MatrixBase


def text(cp: Compiled, expr, extra: dict | None = None) -> str:
    """Plain text of a derived expression in the syntax of :func:`theory.core.notation.text`: Python/SymPy
    (``**``), ``w_A_star``, gaps ``(w_B_star - w_A_star)``, the identity ``Id``, formal inverses
    ``Q1, Q2, ...`` (:func:`inverse_names`) and the letters of ``extra`` (symbol -> text name, e.g. the
    canonical form's named factors ``S1, S2, ...``); ``sympy.parse_expr`` reads it back."""
    names = {**inverse_names(cp, tex=False), **(extra or {})}
    return _TextPrinter(names).doprint(_with_identity(expr))


# ---------------------------------------------------------------- matrix expressions
VECTOR_PREFIXES = ("w^*_", "(w^*_", "x_", "eta_", "u_", "n_", "w_")


def to_matrix_expr(cp_or_alg, expr) -> sp.MatrixExpr:
    """The same object as a SymPy matrix expression (``MatrixSymbol`` of size d, ``Inverse``),
    for theory.core.algebra proofs, derivation chains and LaTeX."""
    alg = cp_or_alg.alg if isinstance(cp_or_alg, Compiled) else cp_or_alg
    inverses = {Q: F for F, Q in alg.inverted}

    def sym(s: sp.Symbol):
        if s in inverses:
            return sp.Inverse(to_matrix_expr(alg, inverses[s]))
        cols = 1 if s.name.startswith(VECTOR_PREFIXES) else d
        return sp.MatrixSymbol(s.name, d, cols)

    terms = []
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        c_ = sp.Mul(*coeff)
        if not word:
            terms.append(c_ * I)
            continue
        factors = []
        for f in word:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            factors.extend([sym(base)] * k)
        m = sp.MatMul(*factors) if len(factors) > 1 else factors[0]
        terms.append(m if c_ == 1 else c_ * m)
    if not terms:
        return sp.ZeroMatrix(d, 1)
    return sp.MatAdd(*terms) if len(terms) > 1 else terms[0]
