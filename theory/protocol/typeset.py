r"""LaTeX of the protocol compiler's word polynomials, with a width estimate for line breaking (P1-P5).

A word polynomial ``{(letter, ...): coefficient}`` prints term by term: the empty word is the
identity ``I`` (as in derivations.pdf), repeated letters are powers, a formal inverse is
``\mathcal{Q}_k``, a gap is ``(w^*_j - w^*_i)``, a transpose ``X^\top``. Each term comes with an
estimate of its printed width in *units* (about the width of one digit at 10pt), so a display
is broken into lines that fit the page (:data:`LINE_UNITS`).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from fractions import Fraction

import sympy as sp

__all__ = ["LINE_UNITS", "check_tex", "coefficient_tex", "exact_tex", "letter_tex", "naming_constants", "poly_terms",
           "poly_tex", "width"]

# Units per displayed line: the text width (A4, 1.5 cm margins: 510 pt) over a digit (5 pt), less room
# for the left side and the indent of continuation lines (the remainder is the safety margin).
LINE_UNITS = 72


def letter_tex(sym: sp.Symbol, inverses: dict) -> str:
    """One letter: ``M_A`` -> ``M_{A}``, an inverse -> its name in ``inverses``, ``X^T`` -> ``X^{\\top}``."""
    if sym in inverses:
        return inverses[sym]
    name = sym.name
    if name.endswith("^T"):
        return "{" + letter_tex(sp.Symbol(name[:-2], commutative=False), inverses) + "}^{\\top}"
    m = re.fullmatch(r"\(w\^\*_(\w+) - w\^\*_(\w+)\)", name)
    if m:
        return f"(w^*_{{{m.group(1)}}} - w^*_{{{m.group(2)}}})"
    m = re.fullmatch(r"w\^\*_(\w+)", name)
    if m:
        return f"w^*_{{{m.group(1)}}}"
    m = re.fullmatch(r"z\^\*_(\w+)", name)
    if m:
        return f"z^*_{{{m.group(1)}}}"
    if name.startswith("Phi_"):
        return "\\" + name
    if name.startswith("eta_"):
        return "\\" + name
    m = re.fullmatch(r"([A-Za-z])_(\w+)", name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    return name  # already LaTeX: r_{A,B}, U^{(1)}_{A,B}, V_{A,B}


def _letter_width(tex: str) -> float:
    if tex.startswith("(w^*"):
        return 11.0
    if tex.startswith("\\mathcal"):
        return 3.0
    # M_{A} is about 15 pt (3 units); a two-agent subscript, a step superscript, a transpose add to it
    return 3.0 + 1.5 * tex.count(",") + (2.0 if "^{(" in tex else 0.0) + (1.5 if "top" in tex else 0.0)


def word_tex(word: tuple, inverses: dict) -> tuple[str, float]:
    """A product of letters (powers for repeats) and its width."""
    out, wid, k = [], 0.0, 0
    while k < len(word):
        n = 1
        while k + n < len(word) and word[k + n] == word[k]:
            n += 1
        t = letter_tex(word[k], inverses)
        wid += _letter_width(t)
        if n > 1:
            t = ("{" + t + "}" if "^" in t else t) + f"^{{{n}}}"
            wid += 1.0
        out.append(t)
        k += n
    return " ".join(out), wid


def _sym(c):
    return sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else sp.sympify(c)


# A rational with more digits than this prints as a named constant kappa_k (listed with its exact value
# where the text can break between digit groups): a display line holds about 100 digits.
MAX_DIGITS = 8
_constants: list[dict] = []  # the table being filled (naming_constants), innermost last


@contextmanager
def naming_constants():
    """Within the block, long rationals print as ``\\kappa_k``; yields ``{value: (name, exact LaTeX)}``."""
    table: dict = {}
    _constants.append(table)
    try:
        yield table
    finally:
        _constants.pop()


def exact_tex(a: sp.Rational) -> str:
    """The exact value of a rational in text-breakable LaTeX: a finite decimal where it is one, else ``p/q``."""
    q, k2, k5 = int(a.q), 0, 0
    while q % 2 == 0:
        q, k2 = q // 2, k2 + 1
    while q % 5 == 0:
        q, k5 = q // 5, k5 + 1
    if q == 1:  # a finite decimal: exactly max(k2, k5) digits after the point
        k = max(k2, k5)
        digits = str(abs(int(a.p)) * 10**k // int(a.q)).rjust(k + 1, "0")
        text = digits[:-k] + "." + digits[-k:] if k else digits
    else:
        text = f"{abs(int(a.p))}/{int(a.q)}"
    groups = [text[i:i + 10] for i in range(0, len(text), 10)]
    return ("-" if a < 0 else "") + "\\allowbreak ".join(groups)


def coefficient_tex(c) -> tuple[int, str, float]:
    """``(sign, LaTeX of |c|, width)``; ``|c| = 1`` prints as the empty string; a sum is parenthesised."""
    c = _sym(c)
    if _constants and c.is_Rational and max(len(str(abs(c.p))), len(str(c.q))) > MAX_DIGITS:
        table = _constants[-1]
        a = abs(c)
        if a not in table:
            table[a] = (f"\\kappa_{{{len(table) + 1}}}", exact_tex(a))
        return (-1 if c < 0 else 1), table[a][0], 2.0
    if c.free_symbols:
        c = sp.factor(c)
    sign = -1 if (c.is_number and c < 0) or (not c.is_number and c.could_extract_minus_sign()) else 1
    if c.is_Add:  # omega - 1 -> -(1 - omega): a weight reads as written, the number first
        plus, minus = sp.latex(sp.expand(c)), sp.latex(sp.expand(-c))
        sign = 1 if plus[0].isdigit() or not minus[0].isdigit() and plus[0] != "-" else -1
    a = -c if sign < 0 else c
    if a == 1:
        return sign, "", 0.0
    if a.is_Rational and a.q != 1:
        num, den = str(a.p), str(a.q)
        return sign, f"\\frac{{{num}}}{{{den}}}", max(len(num), len(den)) * 1.0 + 1.0
    tex = sp.latex(sp.expand(a) if a.is_Add else a)
    wid = 1.1 * len(re.sub(r"\\[a-zA-Z]+|[{}\\ ]", "x", tex)) * 0.7
    if a.is_Add:
        tex = r"\left(" + tex + r"\right)"
        wid += 2.0
    return sign, tex, wid


def term_tex(c, word: tuple, inverses: dict, tail: str = "", tail_width: float = 0.0) -> tuple[int, str, float]:
    """``(sign, LaTeX of |c| word tail, width)``; the empty word with no tail is the identity ``I``."""
    sign, ctex, cw = coefficient_tex(c)
    wtex, ww = word_tex(word, inverses)
    if not word and not tail:
        wtex, ww = "I", 1.5
    body = " ".join(x for x in (ctex, wtex, tail) if x)
    return sign, body, cw + ww + tail_width + 1.0


def _order(poly: dict) -> list:
    return sorted(poly.items(), key=lambda kv: len(kv[0]))  # the identity first, then by length (stable)


def poly_terms(poly: dict, inverses: dict, tail: str = "", tail_width: float = 0.0) -> list[tuple[str, float]]:
    """Each term of ``poly`` (times ``tail``) as ``(LaTeX with its sign, width)``: the first has only a
    minus sign, the others ``+ ``/``- ``."""
    out = []
    for k, (w, c) in enumerate(_order(poly)):
        sign, body, wid = term_tex(c, w, inverses, tail, tail_width)
        out.append(((("- " if sign < 0 else "") if k == 0 else ("- " if sign < 0 else "+ ")) + body, wid + 2.5))
    return out or [("0", 1.0)]


def poly_tex(poly: dict, inverses: dict) -> tuple[str, float]:
    """The whole polynomial on one line, and its width."""
    terms = poly_terms(poly, inverses)
    return " ".join(t for t, _ in terms), sum(w for _, w in terms)


def width(tex: str) -> float:
    """A rough width of arbitrary LaTeX (for text we did not build term by term)."""
    stripped = re.sub(r"\\(left|right|big|Big|quad|,)", "", tex)
    stripped = re.sub(r"\\[a-zA-Z]+", "x", stripped)
    return 0.9 * len(re.sub(r"[{}_^ ]", "", stripped))


# ---------------------------------------------------------------- the labels of the V1 checks
_CHECK_TOKENS = [
    (r"Phi_RR\^(\d+)", r"$\\Phi_{RR}^{\1}$"),
    (r"I - Phi_RR", r"$I - \\Phi_{RR}$"),
    (r"Phi_\{(\w+),(\w+)\}", r"$\\Phi_{\1,\2}$"),
    (r"Phi_(\w+)R z_R\* \+ r_(\w+)", r"$\\Phi_{\1 R} z^*_R + r_{\2}$"),
    (r"Phi \(z - z\*\)", r"$\\Phi (z - z^*)$"),
    (r"r_\{(\w+),j\} w\*_j", r"r_{\1,j} w^*_j$"),
    (r"r_(\w+) = sum_j ", r"$r_{\1} = \\sum_j "),
    (r"r_(\w+) in the c_j is the round map's r_(\w+)", r"$r_{\1}$ written in the $c_j$ is the round map's $r_{\2}$"),
    (r"z\*_(\w+) in the c_j", r"$z^*_{\1}$ written in the $c_j$"),
    (r"z\*_(\w+)", r"$z^*_{\1}$"),
    (r"X_(\w)(\w) as displayed is X_\w\w as eliminated",
     r"$X_{\1\2}$ as displayed equals $X_{\1\2}$ as eliminated ($z^*_{\1} = \\sum_j X_{\1 j} K_j w^*_j$)"),
    (r"D_(\w+) as displayed is the compiler's D_\w+",
     r"$D_{\1}$ as displayed equals the compiler's (the coefficient of $w^*_{\1}$ in $e_{\1}$)"),
    (r"C_(\w)(\w) as displayed is the named elimination's C_\w\w",
     r"$C_{\1\2}$ as displayed equals the named elimination's (the coefficient of $w^*_{\2} - w^*_{\1}$ in $e_{\1}$)"),
    (r"Z_(\w)(\w) as displayed is the named elimination's Z_\w\w",
     r"$Z_{\1\2}$ as displayed equals the named elimination's (the coefficient of $w^*_{\2}$ in $z^*_{\1}$)"),
    (r"\bS(\d+)\b", r"$\\mathcal{S}_{\1}$"),
    (r"Q(\d+) recognised in a coefficient: pivot \d+ times the sum it inverts is the identity",
     r"$\\mathcal{Q}_{\1}$ recognised in a coefficient: its pivot times the sum it replaces is $I$"),
    (r"X_(\d+) = Q_(\d+) \(b - later unknowns\)", r"$X_{\1} = \\mathcal{Q}_{\2} (b - \\text{later unknowns})$"),
    (r"e_(\w+): row (\w+)", r"$e_{\1}$: row $\2$"),
    (r"e_(\w+) in the gaps", r"$e_{\1}$ in the gaps"),
    (r"row (\w+): the weights sum to 1, so w_i\* drops", r"row $\1$: the weights sum to $1$, so $w^*_i$ drops"),
    (r"displayed pivot (\d+)", r"displayed pivot $\1$"),
    (r"elimination step (\d+): row (\d+)", r"elimination step $\1$: row $\2$"),
    (r"elimination step (\d+):", r"elimination step $\1$:"),
    (r"back substitution (\d+):", r"back substitution $\1$:"),
    (r"block \((\w+), (\w+)\)", r"block $(\1, \2)$"),
    (r"is X times", r"is $X$ times"),
    (r"\(not read by the round map\) = ", r"(not read by the round map) equals "),
    (r" = its update \+ multiple of", r" equals its update plus a multiple of"),
    (r"deviation = ", r"the deviation equals "),
    (r" \+ propagated noise", r" plus the propagated noise"),
]


def check_tex(label: str) -> str:
    """The label of a V1 check (theory.protocol.checks, schur, canonical) as LaTeX: mathematics in math mode."""
    out, pos, pieces = "", 0, []
    pattern = re.compile("|".join(f"(?:{p})" for p, _ in _CHECK_TOKENS))
    for m in pattern.finditer(label):
        pieces.append(_text(label[pos:m.start()]))
        for p, rep in _CHECK_TOKENS:
            mm = re.fullmatch(p, m.group(0))
            if mm:
                pieces.append(mm.expand(rep))
                break
        pos = m.end()
    pieces.append(_text(label[pos:]))
    out = "".join(pieces)
    return out


def _text(s: str) -> str:
    table = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%", "#": r"\#",
             "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\~{}", "*": r"$^*$"}
    return "".join(table.get(ch, ch) for ch in s)
