"""How formulas are printed: the notation of docs/theory.rst, in LaTeX and in plain text.

Printing never changes the SymPy object, only how it reads:

- names: ``w^*_A`` prints as ``w_A^*``, ``Hhat`` as ``\\hat{H}``, the identity as ``I``; a label that reads
  as a sum (:data:`SUM_LABELS`: ``w' - w``) prints bare alone and in parentheses inside a larger formula
  (``M_A (w' - w)``, ``(w' - w)^T``);
- the objective gap ``w_B^* - w_A^*`` prints as the symbol ``\\aadDelta`` (plain text ``Delta``);
- terms of a sum in the order a paper writes them: positive terms first (``b - H w``,
  ``a_k + b_k - a_k b_k``, ``I - M_A M_B``), terms in the message (``u_t``, ``w``, ...) before
  constant ones, longer products (more matrix factors) first, else as SymPy gives them;
- a scalar 1 x 1 factor (``p_y``) leads its product (after a number), and a fraction never nests in a
  fraction: ``(x/y + z)/N`` prints ``\\frac{1}{N} (x/y + z)``;
- a rational coefficient of a matrix product is a ``\\tfrac`` put before the product's own print
  (``\\tfrac{1}{2} M_A``); the factors print as the product holds them, never merged (``p_y p_y M_A``);
- a binomial factor with a negative constant reads with the constant first (``a_k (b_k - 1)`` prints
  ``- a_k (1 - b_k)``, ``(omega - 1) M_A M_B`` reads ``- (1 - omega) M_A M_B``); a binomial leads a
  numerator of at most two factors (``\\frac{(1 - a_k) b_k}{D}``), symbols lead a longer one; the gap
  ``Delta_k`` stands last, outside the fraction (``\\frac{(1 - a_k) b_k}{D} \\aadDelta_k``), and a sum reads
  without parentheses only as a whole numerator or denominator (``(x + y) \\aadDelta_k``, ``\\frac{x + y}{D}``);
- a sum of transposes reads as the transpose of a sum (``b^T - w^T H^T`` prints ``(b - H w)^T``; in
  LaTeX the identity may take part, ``(I - M_A)^T``, in plain text not: ``Id - transpose(M_A)``);
- any other product of plain symbols and numbers prints by SymPy's rules, its sign kept (the sign of a
  number is its extended sign: ``-oo`` is negative).

The plain text (:func:`text`) uses :func:`text_name`: ``{}`` and ``()`` dropped, ``,`` -> ``_``, ``+`` ->
``_plus_``, ``-`` -> ``_minus_``, ``^*`` -> ``_star``, ``'`` -> ``_prime``, ``^`` -> ``_``, spaces dropped,
runs of ``_`` collapsed and none at either end; a name that does not then read as a Python identifier
is refused (``ValueError``, "add it to NAMES"); :func:`text` refuses a symbol that would print as ``Id``
or ``Delta`` (the identity and the gap).

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

# Internal symbol name -> (LaTeX, plain text). The plain text is Python/SymPy syntax (see TEXT_ATOMS):
# a name, or for a label that stands for an expression (``w' - w``) that expression in names.
# Names not listed use SymPy's rules after the ``w^*_X -> w_X^*`` rewrite below.
NAMES = {
    "Hhat": (r"\hat{H}", "H_hat"),
    "Mhat": (r"\hat{M}", "M_hat"),
    "chat": (r"\hat{c}", "c_hat"),
    "what^*": (r"\hat{w}^{*}", "w_hat_star"),
    "[M | c]": (r"[M \mid c]", "Mc"),
    "[\\hat{M} | \\hat{c}]": (r"[\hat{M} \mid \hat{c}]", "Mc_hat"),
    "M_A^s": (r"M_{A}^{s}", "M_A**s"),
    "M_B^{s_B}": (r"M_{B}^{s_B}", "M_B**s_B"),
    "\\Gamma_{A}^{-1/2}": (r"\Gamma_{A}^{-1/2}", "Gamma_A**(-1/2)"),
    "u_{t+1} - w^*_A": (r"u_{t+1} - w_{A}^{*}", "u_t_plus_1 - w_A_star"),
    "u_{t+1}": (r"u_{t+1}", "u_t_plus_1"),
    "v_{t}": (r"v_{t}", "v_t"),
    "v_{t-1}": (r"v_{t-1}", "v_t_minus_1"),
    "w' - w": (r"w' - w", "w_prime - w"),
    "(u^* - v^*)_k": (r"(u^{*} - v^{*})_{k}", "u_star_k - v_star_k"),
    "lambda_k(M_A M_B)": (r"\lambda_{k}(M_{A} M_{B})", "lambda_k"),
    "T_A^s(w)": (r"T_{A}^{s}(w)", "T_A_s_of_w"),
    "e_B^(s_A -> oo)": (r"\lim_{s_A \to \infty} e_{B}", "e_B_limit_s_A"),
    "Delta_k": (r"\aadDelta_{k}", "Delta_k"),
    "Gamma^*": (r"\Gamma^{*}", "Gamma_star"),
    "w_{B}(t)": (r"w_{B}(t)", "w_B_t"),
    "u^*": (r"u^{*}", "u_star"),
    "v^*": (r"v^{*}", "v_star"),
    "||Delta||^2": (r"\|\aadDelta\|^{2}", "Delta_norm_sq"),
    "ell": (r"\ell", "ell"),
}
# Labels of NAMES whose LaTeX reads as a sum: parenthesized inside a larger formula (M_A (w' - w)), as the plain
# text does (a text name with a space); alone, as a formula's left-hand side, they print bare.
SUM_LABELS = {"u_{t+1} - w^*_A", "w' - w"}
# Plain-text names that are not single Python identifiers' own symbols: the atoms of a label
# written as an expression, with commutativity where it differs from the label's (an exponent).
TEXT_ATOMS = {"M_A**s": {"M_A": False, "s": True}, "M_B**s_B": {"M_B": False, "s_B": True}}
IDENTITY_TEXT = "Id"  # the identity matrix in plain text (SymPy's I is the imaginary unit)
DELTA_TEXT = "Delta"  # the objective gap w_B^* - w_A^* in plain text
DELTA_DEFINITION = "w_B_star - w_A_star"
TEXT_FUNCTIONS = {"spectral_radius": "spectral radius", "trace": "trace of a matrix", "transpose": "matrix transpose",
                  "sqrt": "square root", "sin": "sine", "cos": "cosine"}
_STAR = re.compile(r"^([A-Za-z]+)\^\*_\{?([A-Za-z0-9]+)\}?$")  # w^*_A, u^*_1
_TEXT_CHARS = [("{", ""), ("}", ""), ("(", ""), (")", ""), (",", "_"), ("+", "_plus_"), ("-", "_minus_"),
               ("^*", "_star"), ("'", "_prime"), ("^", "_"), (" ", "")]


class spectral_radius(sp.Function):
    """The spectral radius of a matrix expression: ``\\rho(M_A M_B)`` in LaTeX, ``spectral_radius(...)`` in text.

    It takes one argument (SymPy refuses two with a ``TypeError``)."""

    nargs = 1

    def _latex(self, printer) -> str:
        return r"\rho\left(%s\right)" % printer._print(self.args[0])


def _latex_name(name: str) -> str | None:
    if name in NAMES:
        return NAMES[name][0]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}^{{*}}"
    return None


def text_name(name: str) -> str:
    """The plain-text (Python/SymPy) name of an internal symbol name: ``w^*_A`` -> ``w_A_star``,
    ``e_{A,k}`` -> ``e_A_k``; a label of :data:`NAMES` may be an expression (``w_prime - w``)."""
    if name in NAMES:
        return NAMES[name][1]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{m.group(2)}_star"
    out = name
    for a, b in _TEXT_CHARS:
        out = out.replace(a, b)
    out = re.sub(r"_+", "_", out).strip("_")
    if not out.isidentifier():
        raise ValueError(f"symbol {name!r} has no plain-text name (got {out!r}); add it to NAMES")
    return out


def text_atoms(name: str, commutative: bool) -> dict[str, bool]:
    """Every name in the plain text of symbol ``name`` with whether it commutes."""
    t = text_name(name)
    if t in TEXT_ATOMS:
        return dict(TEXT_ATOMS[t])
    return {a: commutative for a in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t)}


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
            if f.is_Number and f.is_extended_negative:  # -oo too (its is_negative is False)
                sign = -sign
            elif _flip(f)[1]:
                sign = -sign
        return sign < 0
    if isinstance(term, sp.MatMul):
        coeff = term.as_coeff_mmul()[0]
        if isinstance(coeff, sp.Add):  # (omega - 1) M_A M_B reads - (1 - omega) M_A M_B
            return _flip(coeff)[1]
        return bool(coeff.could_extract_minus_sign())  # SymPy: 1 extracts no minus sign
    return bool(term.could_extract_minus_sign())


def _ordered(printer, expr):
    if isinstance(expr, sp.MatrixExpr):
        return paper_order(expr.args)
    return paper_order(LatexPrinter._as_ordered_terms(printer, expr, order="lex"))


def _flip(factor):
    """``b - 1`` -> ``(1 - b, True)``: a binomial reads with its positive constant first."""
    if isinstance(factor, sp.Add):
        const = factor.as_coeff_add()[0]  # a nonzero constant is the sum's first term: the other is args[1]
        if const.is_negative and len(factor.args) == 2 and not _negative(factor.args[1]):
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
        self._root = None

    def doprint(self, expr):
        self._root = expr
        return super().doprint(expr)

    def _as_ordered_terms(self, expr, order=None):
        return _ordered(self, expr)

    def parenthesize(self, item, level, is_neg=False, strict=False):
        if is_delta(item) or transposed_sum(item) is not None:
            return self._print(item)
        return super().parenthesize(item, level, is_neg, strict)

    def _print_Add(self, expr, order=None):
        if is_delta(expr):
            return r"\aadDelta"
        inner = transposed_sum(expr)
        if inner is not None:  # b^T - w^T H^T reads (b - H w)^T
            return r"\left(%s\right)^{T}" % self._print(inner)
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

    def _label(self, expr, tex: str) -> str:
        return r"\left(%s\right)" % tex if expr.name in SUM_LABELS and expr is not self._root else tex

    def _print_Symbol(self, expr, style="plain"):
        return self._label(expr, _latex_name(expr.name) or super()._print_Symbol(expr, style))

    def _print_MatrixSymbol(self, expr):
        return self._label(expr, _latex_name(expr.name) or super()._print_MatrixSymbol(expr))

    def _print_Transpose(self, expr):
        if getattr(expr.arg, "name", None) in SUM_LABELS:  # already in parentheses: not twice
            return self._print(expr.arg) + "^{T}"
        return super()._print_Transpose(expr)

    def _print_Identity(self, expr):
        return "1" if expr.shape == (1, 1) else "I"

    def _print_MatMul(self, expr):
        args = _scalar_first(expr.args)
        if args != list(expr.args):
            expr = sp.MatMul(*args, evaluate=False)
        coeff, rest = expr.as_coeff_mmul()
        if isinstance(coeff, sp.Rational) and not coeff.is_Integer:  # \tfrac{1}{2} M_A, not (1/2) M_A
            frac = r"\tfrac{%d}{%d}" % (abs(coeff.p), coeff.q)
            body = self._print(rest)  # as_coeff_mmul gives the matrix factors as a MatMul
            return ("- " if coeff < 0 else "") + frac + " " + body
        return super()._print_MatMul(expr)

    def _print_Mul(self, expr):
        num, den = sp.fraction(expr)
        if isinstance(num, sp.Add) and den != 1 and any(sp.fraction(t)[1] != 1 for t in num.args):
            # (x/y + z)/N -> \frac{1}{N} (x/y + z): a fraction never nests in a fraction
            return r"\frac{1}{%s} \left(%s\right)" % (self._print(den), self._print(num))
        factors = sp.Mul.make_args(expr)
        if not any(isinstance(f, sp.Add) or getattr(f, "name", "") == "Delta_k" for f in factors):
            return super()._print_Mul(expr)
        # (1 - a_k) b_k / D * Delta_k: sums first, the gap last, outside the fraction
        sign, top, bottom, gap = 1, [], [], []
        for f in factors:
            if f.is_Number:
                sign *= -1 if f.is_extended_negative else 1
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

        def product(fs, whole=False):  # a sum reads without parentheses only as a whole side of a fraction
            return " ".join(r"\left(%s\right)" % self._print(f)
                            if isinstance(f, sp.Add) and not (whole and len(fs) == 1) else self._print(f)
                            for f in fs) or "1"
        body = product(top) if not bottom else r"\frac{%s}{%s}" % (product(top, True), product(bottom, True))
        if gap:
            body = (body + " " if body != "1" else "") + " ".join(
                r"\left(%s\right)" % self._print(g) if isinstance(g, sp.Add) else self._print(g) for g in gap)
        return ("- " if sign < 0 else "") + body


class PaperStrPrinter(StrPrinter):
    """Plain text in Python/SymPy syntax with the same term order (``M_A*M_B*u_t + ... + K_A*w_A_star``).

    ``**`` for powers, ``transpose(X)``, ``trace(X)``, the identity :data:`IDENTITY_TEXT`, the gap
    :data:`DELTA_TEXT` and the names of :func:`text_name`. :attr:`names` collects every name printed
    (name -> commutes?), the table a reader needs to parse the text back (:func:`text_symbols`).
    """

    def __init__(self, settings=None):
        super().__init__({"order": "none", **(settings or {})})
        self.names: dict[str, bool] = {}
        self._root = None

    def doprint(self, expr):
        self._root = expr
        return super().doprint(expr)

    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.MatrixExpr):
            return paper_order(expr.args)
        return paper_order(StrPrinter._as_ordered_terms(self, expr, order="lex"))

    def parenthesize(self, item, level, strict=False):
        if is_delta(item) or transposed_sum(item, identity=False) is not None:
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _print_Add(self, expr, order=None):
        if is_delta(expr):
            self.names[DELTA_TEXT] = False
            return DELTA_TEXT
        inner = transposed_sum(expr, identity=False)
        if inner is not None:
            return self._print(sp.Transpose(inner))
        out = ""
        for i, term in enumerate(self._as_ordered_terms(expr)):
            neg = _negative(term, flips=False)
            if neg:
                term = -term
            t = self.parenthesize(term, precedence(expr))
            out += ("-" if neg else "") + t if i == 0 else (" - " if neg else " + ") + t
        return out

    def _name(self, expr, commutative: bool) -> str:
        t = text_name(expr.name)
        if t in (IDENTITY_TEXT, DELTA_TEXT):  # a reader could not tell it from the identity or the gap
            raise ValueError(f"symbol {expr.name!r} would print as {t!r}, the plain text of the identity or the gap")
        self.names.update(text_atoms(expr.name, commutative))
        return f"({t})" if " " in t and expr is not self._root else t  # a label written as a sum

    def _print_Symbol(self, expr):
        return self._name(expr, True)

    def _print_MatrixSymbol(self, expr):
        return self._name(expr, expr.shape == (1, 1))  # a 1 x 1 matrix (p_y) is a scalar: it commutes

    def _print_Identity(self, expr):
        self.names[IDENTITY_TEXT] = False
        return IDENTITY_TEXT

    def _print_Transpose(self, expr):
        return f"transpose({self._print(expr.arg)})"

    def _print_Trace(self, expr):
        return f"trace({self._print(expr.arg)})"

    def _print_MatMul(self, expr):
        args = _scalar_first(expr.args)
        if args != list(expr.args):
            expr = sp.MatMul(*args, evaluate=False)
        return super()._print_MatMul(expr)


def transposed_sum(expr, identity: bool = True):
    """``b^T - w^T H^T`` -> ``b - H w``: a sum that reads as the transpose of a sum (else ``None``).

    ``identity``: a term without matrices (``I``, as ``I^T = I``) may take part; the plain text says
    no, since a reader parsing ``transpose(Id)`` would not know that it is ``Id``.
    """
    if not isinstance(expr, sp.MatAdd) or not all(t.has(sp.Transpose) or (identity and not t.has(sp.MatrixSymbol))
                                                   for t in expr.args):
        return None
    inner = sp.transpose(expr)
    return None if inner.has(sp.Transpose) else inner


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
    """Plain text for ``expr``: Python/SymPy syntax that ``sympy.parse_expr`` reads back with
    :func:`text_symbols` (SymPy's str printer with the package's names and term order).

    Examples
    --------
    >>> from theory.round_robin.two_agents import G_A
    >>> print(text(G_A))
    (Id - M_A*M_B)**(-1)*M_A*K_B
    """
    return PaperStrPrinter().doprint(expr)


def text_symbols(*exprs) -> dict[str, dict]:
    """The names in :func:`text` of ``exprs``: ``{name: {"commutative": bool, ...}}``.

    Matrices do not commute (``"commutative": false``); scalars (1 x 1 matrices included) do. The identity
    (:data:`IDENTITY_TEXT`) and the gap (:data:`DELTA_TEXT`, with its ``"definition"``) say what they
    stand for; functions (``transpose``, ``trace``, ...) are listed with ``"function": true``.
    """
    printer = PaperStrPrinter()
    texts = [printer.doprint(e) for e in exprs]
    table: dict[str, dict] = {}
    for name, commutes in sorted(printer.names.items()):
        entry: dict = {"commutative": commutes}
        if name == IDENTITY_TEXT:
            entry["meaning"] = "identity matrix"
        elif name == DELTA_TEXT:
            entry["definition"] = DELTA_DEFINITION
            for atom in re.findall(r"[A-Za-z_]\w*", DELTA_DEFINITION):
                table.setdefault(atom, {"commutative": False})
        table[name] = entry
    for fn, meaning in TEXT_FUNCTIONS.items():
        if any(re.search(rf"\b{fn}\(", t) for t in texts):
            table[fn] = {"function": True, "meaning": meaning}
    return table


def symbolic(expr) -> sp.Expr:
    """``expr`` as a scalar SymPy expression in the plain-text names: noncommutative symbols for the
    matrices, :data:`IDENTITY_TEXT` for the identity, plain symbols (no assumptions) for scalars.

    What a reader gets back by parsing :func:`text` with :func:`text_symbols` (the gap substituted
    by its definition); built from the SymPy tree, not from the printed text.
    """
    def sym(name: str, commutative: bool):
        t = text_name(name)
        if t.isidentifier():
            return sp.Symbol(t, commutative=commutative)
        atoms = {a: sp.Symbol(a, commutative=c) for a, c in text_atoms(name, commutative).items()}
        return _label_expr(t, atoms)

    def go(e):
        if isinstance(e, sp.MatrixSymbol):
            return sym(e.name, e.shape == (1, 1))
        if isinstance(e, sp.Symbol):
            return sym(e.name, True)
        if isinstance(e, sp.Identity):
            return sp.Symbol(IDENTITY_TEXT, commutative=False)
        if isinstance(e, sp.ZeroMatrix):
            return sp.Integer(0)
        if isinstance(e, sp.MatAdd):
            return sp.Add(*[go(a) for a in e.args])
        if isinstance(e, sp.MatMul):
            return sp.Mul(*[go(a) for a in e.args])
        if isinstance(e, sp.MatPow):  # Inverse included
            return sp.Pow(go(e.base), go(e.exp))
        if isinstance(e, sp.Transpose):
            return sp.transpose(go(e.arg))
        if isinstance(e, sp.Trace):
            return sp.Function("trace")(go(e.arg))
        if e.args:
            return e.func(*[go(a) for a in e.args])
        return e

    return go(expr)


def _label_expr(t: str, atoms: dict) -> sp.Expr:
    """A label written as an expression of its atoms (``u_t_plus_1 - w_A_star``, ``M_A**s``)."""
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations

    return parse_expr(t, local_dict=atoms, transformations=standard_transformations)  # our own NAMES table


def symbol_macros_tex() -> str:
    """``\\providecommand`` lines defining :data:`SYMBOL_MACROS`."""
    return "\n".join(f"\\providecommand{{\\{k}}}{{{v}}}" for k, v in SYMBOL_MACROS.items())
