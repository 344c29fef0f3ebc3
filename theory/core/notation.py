"""How formulas are printed: the notation of docs/theory.rst, in LaTeX and in plain text.

Printing never changes the SymPy object, only how it reads:

- names: ``w^*_A`` prints as ``w_A^*``, ``Hhat`` as ``\\hat{H}``, the identity as ``I``;
- the objective gap ``w_B^* - w_A^*`` prints as the symbol ``\\aadDelta`` (plain text ``Delta``);
- terms of a sum in the order a paper writes them: positive terms first (``b - H w``,
  ``a_k + b_k - a_k b_k``, ``I - M_A M_B``), terms in the message (``u_t``, ``w``, ...) before
  constant ones, longer products first;
- a scalar 1 x 1 factor (``p_y``) leads its product, and a fraction never nests in a fraction.

:data:`SYMBOL_MACROS` lists the symbol macros (``\\aadDelta``) that every LaTeX output defines.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

# Symbol macros used in printed formulas; a paper may \renewcommand them.
SYMBOL_MACROS = {"aadDelta": r"\Delta"}

# Messages (the state of the iteration): a sum lists the terms that contain one first.
STATE = {"u_t", "v_t", "v_{t-1}", "v", "w", "u_{t+1}", "n_t", "u^*", "v^*", "V_A", "V_B", "Z"}

# Internal symbol name -> (LaTeX, plain text). Names not listed use SymPy's rules after the
# ``w^*_X -> w_X^*`` rewrite below.
NAMES = {
    "Hhat": (r"\hat{H}", "Hhat"),
    "Mhat": (r"\hat{M}", "Mhat"),
    "chat": (r"\hat{c}", "chat"),
    "what^*": (r"\hat{w}^{*}", "what*"),
    "[M | c]": (r"[M \mid c]", "[M | c]"),
    "[\\hat{M} | \\hat{c}]": (r"[\hat{M} \mid \hat{c}]", "[Mhat | chat]"),
    "M_A^s": (r"M_{A}^{s}", "M_A^s"),
    "M_B^{s_B}": (r"M_{B}^{s_B}", "M_B^s_B"),
    "\\Gamma_{A}^{-1/2}": (r"\Gamma_{A}^{-1/2}", "Gamma_A^(-1/2)"),
    "u_{t+1} - w^*_A": (r"u_{t+1} - w_{A}^{*}", "u_{t+1} - w_A*"),
    "w' - w": (r"w' - w", "w' - w"),
    "(u^* - v^*)_k": (r"(u^{*} - v^{*})_{k}", "(u* - v*)_k"),
    "lambda_k(M_A M_B)": (r"\lambda_{k}(M_{A} M_{B})", "lambda_k(M_A M_B)"),
    "T_A^s(w)": (r"T_{A}^{s}(w)", "T_A^s(w)"),
    "e_B^(s_A -> oo)": (r"\lim_{s_A \to \infty} e_{B}", "lim_{s_A -> oo} e_B"),
    "Delta_k": (r"\aadDelta_{k}", "Delta_k"),
    "Gamma^*": (r"\Gamma^{*}", "Gamma*"),
    "w_{B}(t)": (r"w_{B}(t)", "w_B(t)"),
    "u^*": (r"u^{*}", "u*"),
    "v^*": (r"v^{*}", "v*"),
}
_STAR = re.compile(r"^([A-Za-z]+)\^\*_\{?([A-Za-z0-9]+)\}?$")  # w^*_A, u^*_1


def _latex_name(name: str) -> str | None:
    if name in NAMES:
        return NAMES[name][0]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}^{{*}}"
    return None


def _text_name(name: str) -> str:
    if name in NAMES:
        return NAMES[name][1]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{m.group(2)}*"
    return name


def is_delta(expr) -> bool:
    """``w^*_B - w^*_A`` (two agents A, B): printed as the objective gap Delta."""
    if not isinstance(expr, sp.MatAdd) or len(expr.args) != 2:
        return False
    names = set()
    for t in expr.args:
        coeff, mats = t.as_coeff_mmul() if isinstance(t, sp.MatMul) else (1, (t,))
        mats = [m for m in (mats.args if isinstance(mats, sp.MatMul) else mats)]
        if len(mats) != 1 or not isinstance(mats[0], sp.MatrixSymbol):
            return False
        names.add((mats[0].name, int(coeff) if coeff in (1, -1) else None))
    return names == {("w^*_B", 1), ("w^*_A", -1)}


def _negative(term, flips: bool = True) -> bool:
    # as printed: the sign of the number times one per flipped binomial
    if isinstance(term, sp.Mul) and not isinstance(term, sp.MatMul) and flips:
        sign = 1
        for f in sp.Mul.make_args(term):
            if f.is_Number and f.is_negative:
                sign = -sign
            elif _flip(f)[1]:
                sign = -sign
        return sign < 0
    if isinstance(term, sp.MatMul):
        coeff = term.as_coeff_mmul()[0]
        return bool(coeff.could_extract_minus_sign()) if coeff != 1 else False
    return bool(term.could_extract_minus_sign())


def _ordered(printer, expr):
    if isinstance(expr, sp.MatrixExpr):
        return paper_order(expr.args)
    return paper_order(LatexPrinter._as_ordered_terms(printer, expr, order="lex"))


def _flip(factor):
    """``b - 1`` -> ``(1 - b, True)``: a binomial reads with its positive constant first."""
    if isinstance(factor, sp.Add):
        const = factor.as_coeff_add()[0]
        if const.is_negative and len(factor.args) == 2 and not _negative(factor.args[0] if factor.args[0] != const
                                                                         else factor.args[1]):
            return -factor, True
    return factor, False


def _factors(term) -> int:
    if isinstance(term, sp.MatMul):
        return sum(1 for a in term.args if isinstance(a, sp.MatrixExpr))
    if isinstance(term, sp.Mul):
        return len(term.args)
    return 1


def _has_state(term) -> bool:
    return any(getattr(s, "name", None) in STATE for s in term.atoms(sp.MatrixSymbol))


def paper_order(terms) -> list:
    """Positive terms first; then terms in the message; then longer products first (stable)."""
    terms = list(terms)
    matrix = any(isinstance(t, sp.MatrixExpr) for t in terms)
    if matrix:
        return sorted(terms, key=lambda t: (_negative(t), not _has_state(t), -_factors(t)))
    return sorted(terms, key=_negative)


def _scalar_first(args) -> list:
    """A 1 x 1 matrix symbol (a scalar such as ``p_y``) leads its product."""
    args = list(args)
    scalars = [a for a in args if isinstance(a, sp.MatrixSymbol) and a.shape == (1, 1)]
    if not scalars or len(args) == len(scalars):
        return args
    numbers = [a for a in args if not isinstance(a, sp.MatrixExpr)]
    return numbers + scalars + [a for a in args if a not in scalars and a not in numbers]


class PaperLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the package's names, term order and the ``\\aadDelta`` symbol."""

    def __init__(self, settings=None):
        super().__init__({"order": "none", **(settings or {})})

    def _as_ordered_terms(self, expr, order=None):
        return _ordered(self, expr)

    def parenthesize(self, item, level, is_neg=False, strict=False):
        if is_delta(item):
            return self._print(item)
        return super().parenthesize(item, level, is_neg, strict)

    def _print_Add(self, expr, order=None):
        if is_delta(expr):
            return r"\aadDelta"
        tex = ""
        for i, term in enumerate(_ordered(self, expr)):
            neg = _negative(term)
            if neg:
                term = -term
            if i == 0:
                tex += "- " if neg else ""
            else:
                tex += " - " if neg else " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = r"\left(%s\right)" % term_tex
            tex += term_tex
        return tex

    def _print_Symbol(self, expr, style="plain"):
        return _latex_name(expr.name) or super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr):
        return _latex_name(expr.name) or super()._print_MatrixSymbol(expr)

    def _print_Identity(self, expr):
        return "1" if expr.shape == (1, 1) else "I"

    def _print_MatMul(self, expr):
        args = _scalar_first(expr.args)
        if args != list(expr.args):
            expr = sp.MatMul(*args, evaluate=False)
        return super()._print_MatMul(expr)

    def _print_Mul(self, expr):
        num, den = sp.fraction(expr)
        if isinstance(num, sp.Add) and den != 1 and any(sp.fraction(t)[1] != 1 for t in num.args):
            # (x/y + z)/N -> \frac{1}{N} (z + x/y): a fraction never nests in a fraction
            return r"\frac{1}{%s} \left(%s\right)" % (self._print(den), self._print(num))
        factors = sp.Mul.make_args(expr)
        if not any(isinstance(f, sp.Add) or getattr(f, "name", "") == "Delta_k" for f in factors):
            return super()._print_Mul(expr)
        # (1 - a_k) b_k / D * Delta_k: sums first, the gap last, outside the fraction
        sign, top, bottom, gap = 1, [], [], []
        for f in factors:
            if f.is_Number:
                sign *= -1 if f.is_negative else 1
                f = abs(f)
                if f != 1:
                    top.append(sp.numer(f)) if sp.numer(f) != 1 else None
                    bottom.append(sp.denom(f)) if sp.denom(f) != 1 else None
                continue
            if getattr(f, "name", "") == "Delta_k" or (isinstance(f, sp.Add) and any(
                    sp.fraction(t)[1] != 1 for t in f.args)):
                gap.append(f)  # the gap, or a sum that holds a fraction: outside the fraction
            elif f.is_Pow and f.exp.is_negative:
                bottom.append(f.base ** -f.exp)
            else:
                f, flipped = _flip(f)
                sign *= -1 if flipped else 1
                top.append(f)
        # a binomial leads a short numerator ((1 - a_k) b_k / D); otherwise symbols lead
        if bottom and len(top) <= 2:
            top.sort(key=lambda f: not isinstance(f, sp.Add))
        else:
            top.sort(key=lambda f: (not f.is_Number, isinstance(f, sp.Add)))

        def product(fs):
            return " ".join(r"\left(%s\right)" % self._print(f) if isinstance(f, sp.Add) and len(fs) > 1
                            else self._print(f) for f in fs) or "1"
        body = product(top) if not bottom else r"\frac{%s}{%s}" % (product(top), product(bottom))
        if gap:
            body = (body + " " if body != "1" else "") + " ".join(
                r"\left(%s\right)" % self._print(g) if isinstance(g, sp.Add) else self._print(g) for g in gap)
        return ("- " if sign < 0 else "") + body


class PaperStrPrinter(StrPrinter):
    """Plain text with the same names and term order (``M_A*M_B*u_t + ... + K_A*w_A*``)."""

    def __init__(self, settings=None):
        super().__init__({"order": "none", **(settings or {})})

    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.MatrixExpr):
            return paper_order(expr.args)
        return paper_order(StrPrinter._as_ordered_terms(self, expr, order="lex"))

    def parenthesize(self, item, level, strict=False):
        if is_delta(item):
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _print_Add(self, expr, order=None):
        if is_delta(expr):
            return "Delta"
        out = ""
        for i, term in enumerate(self._as_ordered_terms(expr)):
            neg = _negative(term, flips=False)
            if neg:
                term = -term
            t = self.parenthesize(term, precedence(expr))
            out += ("-" if neg else "") + t if i == 0 else (" - " if neg else " + ") + t
        return out

    def _print_Symbol(self, expr):
        return _text_name(expr.name)

    def _print_MatrixSymbol(self, expr):
        return _text_name(expr.name)

    def _print_Identity(self, expr):
        return "I"

    def _print_MatMul(self, expr):
        args = _scalar_first(expr.args)
        if args != list(expr.args):
            expr = sp.MatMul(*args, evaluate=False)
        return super()._print_MatMul(expr)


def latex(expr) -> str:
    """The paper's LaTeX for ``expr`` (uses ``\\aadDelta``; see :data:`SYMBOL_MACROS`).

    Examples
    --------
    >>> from theory.round_robin.two_agents import G_A
    >>> print(latex(G_A))
    \\left(I - M_{A} M_{B}\\right)^{-1} M_{A} K_{B}
    """
    return PaperLatexPrinter().doprint(expr)


def text(expr) -> str:
    """Plain text for ``expr`` (SymPy's str printer with the package's names and term order)."""
    return PaperStrPrinter().doprint(expr)


def symbol_macros_tex() -> str:
    """``\\providecommand`` lines defining :data:`SYMBOL_MACROS`."""
    return "\n".join(f"\\providecommand{{\\{k}}}{{{v}}}" for k, v in SYMBOL_MACROS.items())
