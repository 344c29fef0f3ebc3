r"""VS: the written form of the LaTeX of ``a2ad derive --protocol`` that :mod:`shipped_tyd` does not read.

:mod:`proofs_check.verification.shipped_tyd` checks the typeset formulas' signs, brackets, numbering and
layout, :mod:`proofs_check.verification.shipped_derive_b` their values. What both leave open, each rule read
from the document itself (never from :mod:`theory.protocol.typeset`):

* the named constants ``\kappa_k`` (exact numbers too long for a display line): numbered 1, 2, ..., exactly the
  numbers with more than ``MAX_DIGITS`` digits in numerator or denominator (no fraction written out is longer), each
  written in its shortest exact form, a decimal when the number is one (its denominator has no prime factor
  but 2 and 5: no ``p/q`` for it), without superfluous zeros, else ``p/q`` in lowest terms; a magnitude (the
  sign stands before it in the formula);
* the check items (the V1 checks' labels typeset): one per JSON check, in its order, each opening with its
  label's first word when the label opens with a word, and every symbol in math mode (no escaped ``\_``,
  ``\^{}`` or ``$^*$`` left in the prose, and some math in the item of a label with a subscript or a star);
* the width estimate of every typeset term (the JSON's ``typeset`` widths, on which displays break into lines):
  within :data:`WIDTH_PER_GLYPH` of the term's visible glyphs (digits, letters, signs; a fraction as wide as its
  longer part) plus two for the spaces around its sign, as the estimate is documented (units of about a digit);
* once per process, what no protocol of ``derive --protocol`` reaches, typeset directly (the LaTeX spelt here):
  the letters ``z^*_i`` and ``\eta_{i,k}`` (letters of the V1 proofs), a transposed formal inverse, a word longer
  than 256 letters, and
  symbolic weights (``theory.api.derive`` of a protocol with a SymPy weight ``omega``, as the gallery's
  anchored agent): a sum in parentheses with its number first, ``omega - 1`` as ``-(1 - omega)``, ``-omega - 1``
  as ``-(omega + 1)``; and the exact
  form of long numbers whose denominators have more fives than twos, or a prime other than 2 and 5 (:data:`EXACT`).
"""
from __future__ import annotations

import re
from fractions import Fraction
from math import gcd

from proofs_check.verification.shipped import Ledger

__all__ = ["TYP", "check_typ"]

# Two agents in one phase, A hearing 2 m_B, B hearing -0.7315 m_A + 0.30131 m_B (derived in P2's VS beside SELF):
# numbers the gallery never prints. An integer coefficient other than 1 (2 in the round map, 4 in V_A) and, in
# V_B, long exact numbers (products of two weights, 9 and 10 decimals: kappa_k) wider than one digit group, one of
# them negative (-0.220408265, large enough for the covariance's value to show its sign; its denominator
# 2^9 5^8 has more twos than fives, the gallery's long numbers have as many).
TYP = [{"A": {"B": 2.0}, "B": {"A": -0.7315, "B": 0.30131}}]

# The shortest exact forms of a positive rational: a decimal (one leading 0 at most, no trailing 0 after
# the point, no point without digits after it), an integer, or p/q.
_DECIMAL = re.compile(r"(?:0|[1-9]\d*)\.\d*[1-9]|[1-9]\d*")
_RATIO = re.compile(r"([1-9]\d*)/([1-9]\d*)")


def _finite_decimal(q: int) -> bool:
    """True when 1/q has a finite decimal expansion (q has no prime factor other than 2 and 5)."""
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1


def _constant_form(text: str) -> str | None:
    """None when ``text`` (a kappa's value as typeset, line-break hints removed) is a shortest exact form."""
    if _DECIMAL.fullmatch(text):
        return None
    m = _RATIO.fullmatch(text)
    if not m:
        return f"{text!r} is neither a decimal nor p/q"
    p, q = int(m.group(1)), int(m.group(2))
    if gcd(p, q) != 1 or q == 1:
        return f"{text!r} is not in lowest terms"
    if _finite_decimal(q):
        return f"{text!r} is a finite decimal ({float(Fraction(p, q))!r}) written as p/q"
    return None


def check_typ(ledger: Ledger, files: dict[str, str], doc: dict) -> None:
    """The written forms of one config's LaTeX document (see the module docstring); nothing without LaTeX."""
    tex = files.get("latex")
    if not tex:
        return
    consts = re.findall(r"\$\\kappa_\{(\d+)\} = (.*?)\$", tex)
    ledger.require("latex constants named", [int(k) for k, _ in consts] == list(range(1, len(consts) + 1)),
                   f"LaTeX numbers the constants {[k for k, _ in consts][:6]}")
    _check_items(ledger, tex, doc)
    _check_widths(ledger, doc.get("typeset") or {})
    if not _LETTERS_DONE:
        _LETTERS_DONE.append(True)
        _check_letters(ledger)
        _check_symbolic(ledger)
        _check_exact(ledger)
    values = ["".join(v.replace(r"\allowbreak", "").split()) for _, v in consts]
    bad = [w for w in map(_constant_form, values) if w]
    ledger.require("latex constants form", not bad, f"LaTeX constant {bad[:1]}")
    # a number is named exactly when it is long: more than MAX_DIGITS digits (a parameter of the layout) in its
    # numerator or denominator in lowest terms; every fraction written out is shorter
    from theory.protocol.typeset import MAX_DIGITS

    digits = lambda f: max(len(str(f.numerator)), len(str(f.denominator)))  # noqa: E731
    short = [v for v in values if not _constant_form(v) and digits(Fraction(v)) <= MAX_DIGITS]
    long = [f for f in re.findall(r"\\frac\{(\d+)\}\{(\d+)\}", tex) if max(map(len, f)) > MAX_DIGITS]
    ledger.require("latex constants named", not short and not long,
                   f"LaTeX names the short number {short[:1]} or writes out the long fraction {long[:1]}")


def _check_items(ledger: Ledger, tex: str, doc: dict) -> None:
    """The check items: one per JSON check, in order, each opening with its label's first word (when the label
    opens with a lower-case word), with no symbol left in the prose (escaped by the text escaper)."""
    mc = re.search(r"\\begin\{itemize\}\n(.*?)\\end\{itemize\}", tex, re.S)
    items = re.findall(r"\\item (.*)\n", mc.group(1)) if mc else []
    labels = [c.get("label", "") for c in doc.get("checks", [])]
    ledger.require("latex check items", len(items) == len(labels),
                   f"{len(items)} LaTeX check items, {len(labels)} checks")
    bad = [f"{lab!r} as {item!r}" for lab, item in zip(labels, items)
           if (w := re.match(r"[a-z]{2,}\b", lab)) and not item.startswith(w.group(0))]
    bad += [f"symbol in prose: {item!r}" for item in items if re.search(r"\\_|\\\^\{\}|\$\^\*\$", item)]
    # a label with a symbol (a subscript, a star) is typeset with math in it
    bad += [f"{lab!r} without math: {item!r}" for lab, item in zip(labels, items) if re.search(r"[_*]", lab)
            and "$" not in item]
    ledger.require("latex check items", not bad, f"LaTeX check item {bad[:1]!r:.120}")


_LETTERS_DONE: list = []  # the direct letters check ran in this process
# Letters of the V1 proofs (theory.protocol.checks: the fixed points z^*_i, the noise eta_{i,k}) and their
# LaTeX, as the typesetter's docstring writes letters: a subscript in braces, a Greek name as its macro.
# A repeated letter is a power (braced when the letter has a superscript).
_UNREACHED_LETTERS = [(("z^*_A",), "z^*_{A}"), (("z^*_B1",), "z^*_{B1}"), (("eta_{A,2}",), r"\eta_{A,2}"),
                      (("z^*_A^T",), "{z^*_{A}}^{\\top}"), (("z^*_A", "z^*_A", "eta_1"), r"{z^*_{A}}^{2} \eta_1"),
                      (("Q_1^T",), "{\\mathcal{Q}_{1}}^{\\top}")]  # a transposed formal inverse: its name


def _check_letters(ledger: Ledger) -> None:
    """The letters no displayed formula of ``derive --protocol`` holds, typeset as one-letter words."""
    import sympy as sp

    from theory.protocol.typeset import word_tex

    inverses = {sp.Symbol("Q_1", commutative=False): r"\mathcal{Q}_{1}"}
    got = [word_tex(tuple(sp.Symbol(n, commutative=False) for n in word), inverses)[0]
           for word, _ in _UNREACHED_LETTERS]
    ledger.require("latex letters", got == [t for _, t in _UNREACHED_LETTERS],
                   f"letters typeset as {got} (want {[t for _, t in _UNREACHED_LETTERS]})")
    # a word of LONG_WORD letters (beyond CPython's cached small integers: its length is compared by value)
    A, B = (sp.Symbol(f"M_{n}", commutative=False) for n in "AB")
    try:
        long = word_tex((A, B) * (LONG_WORD // 2) + (B,), {})[0]
    except IndexError as exc:
        long = f"IndexError {exc}"
    ledger.require("latex letters", long == "M_{A} M_{B} " * (LONG_WORD // 2 - 1) + "M_{A} M_{B}^{2}",
                   f"a word of {LONG_WORD} letters typeset as {long[-60:]!r}")


LONG_WORD = 300  # letters, alternating M_A M_B and ending in a square


def _check_symbolic(ledger: Ledger) -> None:
    """Symbolic weights (no config of ``derive --protocol`` has them; ``theory.api.derive`` does): the coefficient
    ``(sign, LaTeX of its magnitude)`` of ``omega``, ``2 omega``, ``1 - omega``, ``omega - 1`` and ``-omega - 1``,
    by the typesetter's documented rules (a sum is parenthesised, reads with its number first, and its minus
    stands outside)."""
    import sympy as sp

    from theory.protocol.typeset import coefficient_tex

    w = sp.Symbol("omega")
    want = [(w, 1, r"\omega"), (-w, -1, r"\omega"), (2 * w, 1, r"2 \omega"),
            (1 - w, 1, r"\left(1 - \omega\right)"), (w - 1, -1, r"\left(1 - \omega\right)"),
            (-w - 1, -1, r"\left(\omega + 1\right)"),  # no parenthesis opens with a minus
            # an API user's symbol whose LaTeX opens with a parenthesis: a sum as written, its plus sign kept
            (sp.Symbol("(b)") + 1, 1, r"\left((b) + 1\right)")]
    got = [coefficient_tex(c)[:2] for c, _, _ in want]
    ledger.require("latex symbolic weights", got == [(s, t) for _, s, t in want],
                   f"symbolic coefficients typeset as {got} (want {[(s, t) for _, s, t in want]})")
    # a polynomial weight prints factored (omega - omega^2 as a product, either sign)
    product = coefficient_tex(w - w**2)[:2]
    ledger.require("latex symbolic weights", product in ((-1, r"\omega \left(\omega - 1\right)"),
                                                         (1, r"\omega \left(1 - \omega\right)")),
                   f"omega - omega^2 typeset as {product}, not factored")


# A term's width estimate over its visible glyphs (+ 2 for the spaces around its sign): the estimate is in units
# of about a digit at 10pt, and a letter, a digit, a sign are each about one (0.89..1.67 over the gallery's and
# the dense protocol's terms). Outside this band a display would break lines far too early or overflow the page.
WIDTH_PER_GLYPH = (0.5, 2.5)


def _glyphs(term: str) -> int:
    """Visible glyphs of a term's LaTeX: ``\\frac{p}{q}`` as its longer part, a macro (``\\kappa``, ``\\top``) as one,
    fonts, sizes and groups as none."""
    s = re.sub(r"\\(left|right|Big|mathcal|mathrm|allowbreak)(?![a-zA-Z])", "", term)
    s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: "9" * max(len(m.group(1)), len(m.group(2))), s)
    s = re.sub(r"\\[a-zA-Z]+", "x", s)
    return len(re.sub(r"[{}_^ ]", "", s))


def _sign_glyphs(term: str) -> int:
    """The spaces around a term's sign (2); none for the lone ``0`` of a residual that vanishes (a stubborn agent):
    it is a whole display, with no sign."""
    return 0 if term == "0" else 2


def _check_widths(ledger: Ledger, ts: dict) -> None:
    """Every term's width estimate in the JSON's typeset displays against its glyphs (:data:`WIDTH_PER_GLYPH`)."""
    lo, hi = WIDTH_PER_GLYPH
    bad = [(t, w) for v in ts.values() if isinstance(v, list) for e in v if isinstance(e, dict)
           for t, w in e.get("terms", []) if not lo <= w / (_glyphs(t) + _sign_glyphs(t)) <= hi]
    ledger.require("latex widths", not bad, f"typeset width of {bad[:1]!r:.100} (glyphs + 2 times {WIDTH_PER_GLYPH})")


# Long numbers (more than MAX_DIGITS digits) as a kappa's exact value: a denominator with more fives than twos,
# more twos than fives, a prime other than 2 and 5 (p/q), an integer part, a negative number, and a denominator
# beyond float64's exact integers (2 * 5^23 > 2^53: its factors counted in integers); read back by value and
# checked for form.
EXACT = [Fraction(1, 5**13), Fraction(3, 2**31), Fraction(7, 2**3 * 5**13), Fraction(1, 3**19),
         Fraction(12345678901, 10**3), Fraction(-123456789, 10**10), Fraction(1, 2 * 5**23)]


def _check_exact(ledger: Ledger) -> None:
    """``typeset.exact_tex`` of :data:`EXACT`: the same number, in its shortest exact form (signed); and as
    coefficients, each named by its magnitude with its sign apart (``(sign, LaTeX)`` of ``coefficient_tex``)."""
    import sympy as sp

    from theory.protocol.typeset import exact_tex

    bad = []
    for x in EXACT:
        text = "".join(exact_tex(sp.Rational(x.numerator, x.denominator)).replace(r"\allowbreak", "").split())
        wrong = _constant_form(text.removeprefix("-")) or text.startswith("-") != (x < 0)
        if wrong or Fraction(text) != x:
            bad.append(f"{x} as {text!r}")
    ledger.require("latex constants form", not bad, f"exact numbers typeset as {bad[:2]}")
    # as coefficients (naming on): each number's sign, and its magnitude named kappa_1, kappa_2, ... once
    from theory.protocol.typeset import coefficient_tex, naming_constants

    with naming_constants():
        got = [coefficient_tex(x)[:2] for x in [*EXACT, -EXACT[0]]]
    want = [(1 if x > 0 else -1, rf"\kappa_{{{k + 1}}}") for k, x in enumerate(EXACT)] + [(-1, r"\kappa_{1}")]
    ledger.require("latex constants named", got == want, f"long coefficients typeset as {got[:3]} (want {want[:3]})")
