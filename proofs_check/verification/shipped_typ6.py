r"""VS: the layout rules of ``a2ad derive --protocol``'s LaTeX, as the user documentation states them.

docs/protocol.rst ("Layout of the LaTeX (the JSON's widths)") documents the width of every typeset term (the
JSON's ``typeset`` displays, ``[term, width]``) part by part, and the layout's thresholds with their values.
This module reads each rule from that page (restated once below, never imported from
:mod:`theory.protocol.typeset` or :mod:`theory.protocol.display`) against one config's printed documents:

* every term's width, recomputed from the term's LaTeX alone by the documented parts (a letter, a power, a gap,
  a number, the sign) and compared with the JSON's width;
* the line breaks of every display of the LaTeX document: the terms grouped greedily into lines of at most
  :data:`LINE_UNITS` (their JSON widths, checked above);
* the named constants: exactly the numbers with more than :data:`MAX_DIGITS` digits are ``\kappa_k``;
* a round-map coefficient of several terms in parentheses exactly when narrower than :data:`PAREN_UNITS`;
  a canonical coefficient counted as one product exactly when narrower than :data:`PRODUCT_UNITS`; the rate's
  blocks written out exactly when together at most :data:`RATE_UNITS` wide; a pivot written out in a
  hypothesis exactly when narrower than :data:`PIVOT_UNITS`.

Once per process, what the killers' protocols do not reach: :data:`EDGES` (small protocols, compiled and typeset)
put a display on each threshold or within a unit of it, and carry a weight of nine digits; a canonical coefficient
of 15 letters sits on the product threshold (``display.coefficient_terms``); the random report's rougher measure
(``typeset.width``) of :data:`ROUGH`; and the page's two written forms (a repeated letter held by two equal
objects is a power; ``3 omega - 2`` is not negated).
"""
from __future__ import annotations

import json
import re
from fractions import Fraction

from proofs_check.verification.shipped import Ledger

__all__ = ["EDGES", "check_typ6"]

# The documented values (docs/protocol.rst, "Layout of the LaTeX (the JSON's widths)").
LINE_UNITS = 72.0  # a display line takes terms while their widths together stay within this
MAX_DIGITS = 8  # more digits than this in numerator or denominator: named kappa_k
PAREN_UNITS = 36.0  # a round-map coefficient of several terms narrower than this: once, in parentheses
PRODUCT_UNITS = 64.0  # a canonical coefficient's term narrower than this: counted as one product
RATE_UNITS = 62.0  # the rate's blocks together at most this wide: written out, else Phi_RR
PIVOT_UNITS = 40.0  # a pivot narrower than this: written out in its hypothesis
# The documented widths of the parts (same page).
LETTER, COMMA, STEP, TOP, INVERSE, GAP, POWER, IDENTITY, MESSAGE = 3.0, 1.5, 2.0, 1.5, 3.0, 11.0, 1.0, 1.5, 2.5
KAPPA, PER_CHAR, SUM_BRACKETS = 2.0, 0.77, 2.0
TERM, SIGN, PRODUCT_TERM, PAREN_EXTRA, ZERO = 1.0, 2.5, 2.0, 3.0, 1.0
# Widths are sums of a few parts in float64: equal up to rounding (0.77 a character is not a binary fraction).
WIDTH_TOL = 1e-9

_GAP = re.compile(r"\(w\^\*_\{\w+\} - w\^\*_\{\w+\}\)")
_NUMBER = re.compile(r"\\frac\{(\d+)\}\{(\d+)\}|\\kappa_\{\d+\}|\d+")
_DISPLAYS = ("round_map", "definitions", "inverses", "named_factors", "fixed_point", "residual", "lyapunov")


def _tokens(body: str) -> list[str]:
    """The space-separated parts of a term, a bracketed group (a gap, ``\\left(..\\right)``) kept whole."""
    out, depth, cur = [], 0, ""
    i = 0
    while i < len(body):
        if body.startswith(r"\left(", i):
            depth, cur, i = depth + 1, cur + r"\left(", i + 6
            continue
        if body.startswith(r"\right)", i):
            depth, cur, i = depth - 1, cur + r"\right)", i + 7
            continue
        ch = body[i]
        depth += (ch == "(") - (ch == ")")
        if ch == " " and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    return [t for t in [*out, cur] if t]


def _letter(t: str) -> float | None:
    """A letter's documented width (a power, a transpose, a gap, a formal inverse, an indexed letter)."""
    m = re.fullmatch(r"\{(.*)\}\^\{(\d+)\}", t) or re.fullmatch(r"([^{^][^^]*)\^\{(\d+)\}", t)
    if m:
        base = _letter(m.group(1))
        return None if base is None else base + POWER
    m = re.fullmatch(r"\{(.*)\}\^\{\\top\}", t)
    if m:
        base = _letter(m.group(1))
        return None if base is None else base + TOP
    if _GAP.fullmatch(t):
        return GAP
    if re.fullmatch(r"\\mathcal\{[QS]\}_\{\d+\}", t):
        return INVERSE
    if re.fullmatch(r"(\\[A-Za-z]+|[A-Za-z])(\^\{\(\d+\)\}|\^\*)?_\{[\w,]+\}", t):
        return LETTER + COMMA * t.count(",") + (STEP if "^{(" in t else 0.0)
    return None


def _number(t: str) -> float | None:
    m = _NUMBER.fullmatch(t)
    if not m:
        return None
    if m.group(1):
        return max(len(m.group(1)), len(m.group(2))) + 1.0
    return KAPPA if t.startswith(r"\kappa") else PER_CHAR * len(t)


def parts_width(body: str, message: bool = False) -> float | None:
    """The documented width of a term's parts (its number, letters, tail; no sign), None when unreadable."""
    toks = _tokens(body)
    if toks == ["I"]:
        return IDENTITY
    wid = 0.0
    for k, t in enumerate(toks):
        w = _number(t) if k == 0 else None
        if w is None and message and k == len(toks) - 1 and re.fullmatch(r"m_\{\w+\}", t):
            w = MESSAGE
        if w is None:
            w = _letter(t)
        if w is None:
            return None
        wid += w
    return wid


def _body(term: str) -> str:
    return term[2:] if term.startswith(("+ ", "- ")) else term


def _inner_terms(tex: str) -> list[str]:
    """The terms of a one-line polynomial ``a + b - c`` (split at its top-level signs)."""
    out, depth, cur, i = [], 0, "", 0
    while i < len(tex):
        ch = tex[i]
        depth += (ch in "({") - (ch in ")}")
        if depth == 0 and tex.startswith((" + ", " - "), i):
            out.append(cur)
            cur, i = tex[i + 1:i + 3], i + 3
            continue
        cur += ch
        i += 1
    return [*out, cur]


def term_width(term: str, where: str, canonical: bool) -> tuple[float | None, float | None]:
    """``(documented width, parts)`` of a term of display ``where``; the width None when a part is unreadable."""
    if term == "0":
        return ZERO, None
    body = _body(term)
    m = re.fullmatch(r"\\left\((.*)\\right\) (m_\{\w+\})", body) if where == "round_map" else None
    if m:
        inner = [parts_width(_body(t)) for t in _inner_terms(m.group(1))]
        known = [w for w in inner if w is not None]
        if len(known) < len(inner):
            return None, None
        return sum(w + TERM + SIGN for w in known) + MESSAGE + PAREN_EXTRA, None
    parts = parts_width(body, message=where == "round_map")
    if parts is None:
        return None, None
    if canonical and where in ("fixed_point", "residual") and parts < PRODUCT_UNITS:
        return parts + PRODUCT_TERM, parts
    return parts + TERM + SIGN, parts


def _greedy(terms: list) -> list[str]:
    lines: list[list[str]] = []
    wid = 0.0
    for t, w in terms:
        if lines and lines[-1] and wid + w > LINE_UNITS:
            lines.append([])
            wid = 0.0
        if not lines:
            lines.append([])
        lines[-1].append(t)
        wid += w
    return [" ".join(x) for x in lines]


def check_typ6(ledger: Ledger, files: dict[str, str], doc: dict) -> None:
    """The documented layout rules on one config's JSON (and LaTeX, when printed) document."""
    ts = doc.get("typeset") or {}
    resid = [a.get("residual", {}) for a in doc["agents"].values()] if isinstance(doc.get("agents"), dict) else \
        list((doc.get("residuals") or {}).values())  # the CLI's JSON, or theory.api.derive's document
    canonical = any("canonical_text" in r for r in resid)
    bad, unread = [], []
    for key in _DISPLAYS:
        for e in ts.get(key, []):
            for t, w in e["terms"]:
                want, _ = term_width(t, key, canonical)
                if want is None:
                    unread.append(t)
                elif abs(want - w) > WIDTH_TOL:
                    bad.append((key, t, w, round(want, 6)))
    ledger.require("documented widths", not bad and not unread,
                   f"(display, term, width, documented) {bad[:1]!r:.160}; unread {unread[:1]!r:.80}")
    _thresholds(ledger, ts, doc, canonical)
    if "phases" in ts and isinstance(doc.get("phases"), list):
        _phase_signs(ledger, ts["phases"], doc["phases"])
    if not _DONE:
        _DONE.append(True)
        _product_edges(ledger)
        _edges(ledger)
        _rough(ledger)
        _written(ledger)
    tex = files.get("latex")
    if tex:
        _breaks(ledger, tex, ts)
        named = r"\$\\kappa_\{\d+\} = (.*?)\$"  # the constants' list: each kappa's exact value
        _kappas(ledger, re.sub(named, "", tex), re.findall(named, tex))
    elif ts:  # no LaTeX (EDGES): the typeset displays and the constants' table
        shown = json.dumps({k: v for k, v in ts.items() if k != "constants"})
        _kappas(ledger, shown, [v for _, v in ts.get("constants", [])])


def _zero(weight: str) -> bool:
    """A weight as the JSON's ``phases`` write it (``sympy.sstr``) is the number 0."""
    try:
        return Fraction(weight) == 0
    except ValueError:  # a symbolic weight
        return False


def _phase_signs(ledger: Ledger, items: list, phases: list) -> None:
    """Each phase item (``$A$ hears $... m_{B}$; ...``) gives every weight its sign: a minus before exactly the
    negative weights, in the order of the phase's row; a weight 0 is left out (``0`` alone when all are 0)."""
    bad = []
    for item, phase in zip(items, phases):
        for part, (lst, row) in zip(item.split("; "), phase.items()):
            m = re.fullmatch(r"\$(\w+)\$ hears \$(.*)\$", part)
            kept = [str(w).strip() for w in row.values() if not _zero(str(w))]
            minus = [t.startswith("- ") for t in _inner_terms(m.group(2))] if m and kept else []
            want = [w.startswith("-") for w in kept]
            if not m or m.group(1) != lst or minus != want or (not kept and m.group(2) != "0"):
                bad.append(f"{part[:60]!r} for weights {row}")
    ledger.require("documented written forms", not bad and len(items) == len(phases), "; ".join(bad)[:200])


def _thresholds(ledger: Ledger, ts: dict, doc: dict, canonical: bool) -> None:
    """The documented thresholds against the JSON's widths (parentheses, product, rate, pivot)."""
    bad = []
    for row in ts.get("round_map", []):
        groups: dict[str, list] = {}
        for t, w in row["terms"]:
            m = re.search(r" (m_\{\w+\})$", t)
            if m and r"\left(" in t:
                inner = w - MESSAGE - PAREN_EXTRA
                if not inner < PAREN_UNITS:
                    bad.append(f"{t[:50]} in parentheses, {inner:g} units")
            elif m:
                groups.setdefault(m.group(1), []).append(w - MESSAGE)
        bad += [f"{row['lhs']}: the coefficient of {g} ({sum(ws):g} units) not in parentheses"
                for g, ws in groups.items() if len(ws) > 1 and sum(ws) < PAREN_UNITS]
    rate = doc.get("contraction_rate") or doc.get("rate") or {}
    blocks = sum(b.get("width", 0.0) for b in rate.get("blocks", []))
    if rate and ("Phi_{RR}" in rate.get("latex", "")) != (blocks > RATE_UNITS):
        bad.append(f"rate {rate.get('latex', '')[:40]!r} for blocks {blocks:g} units wide")
    widths = {e["lhs"]: e["width"] for e in ts.get("inverses", [])}
    for h in ts.get("hypotheses", []):
        m = re.fullmatch(r"\$.*\$ is invertible \(its inverse is \$(.*)\$\)", h) or \
            re.fullmatch(r"the pivot \$(.*)\^\{-1\}\$ above is invertible", h)
        if m and m.group(1) in widths and (h.startswith("$") != (widths[m.group(1)] < PIVOT_UNITS)):
            bad.append(f"hypothesis {h[:50]!r} for a pivot {widths[m.group(1)]:g} units wide")
    ledger.require("documented thresholds", not bad, "; ".join(bad)[:200])


def _breaks(ledger: Ledger, tex: str, ts: dict) -> None:
    """Every display of the LaTeX broken greedily at :data:`LINE_UNITS` (the terms' JSON widths)."""
    blocks = re.findall(r"\\begin\{align\*\}\n  (.*?)\n\\end\{align\*\}", tex, re.S)
    got: dict[str, list] = {}
    for b in blocks:
        lhs, _, body = b.partition(" &= ")
        body = body.removeprefix(r"\Big(").removesuffix(r"\Big)^{-1}")
        got.setdefault(lhs.removesuffix("^{-1}"), []).append(body.split(" \\\\\n  &\\quad "))
    bad = []
    for key in _DISPLAYS:
        for e in ts.get(key, []):
            want = _greedy(e["terms"]) or ["0"]
            if want not in got.get(e["lhs"], []):
                bad.append(f"{e['lhs']}: {len(want)} line(s) {[x[:30] for x in want]}")
    ledger.require("documented line breaks", not bad, "; ".join(bad)[:200])


def _kappas(ledger: Ledger, tex: str, consts: list[str]) -> None:
    """The numbers written out in ``tex`` have at most :data:`MAX_DIGITS` digits; every kappa (exact values
    ``consts``) names a longer one."""
    from fractions import Fraction

    values = ["".join(v.replace(r"\allowbreak", "").split()) for v in consts]
    short = [v for v in values if max(len(str(Fraction(v).numerator)), len(str(Fraction(v).denominator))) <= MAX_DIGITS]
    long = [f for f in re.findall(r"\\frac\{(\d+)\}\{(\d+)\}", tex) if max(map(len, f)) > MAX_DIGITS]
    long += [n for n in re.findall(r"(?<![\w{.\\])(\d+)(?![\w}.])", tex) if len(n) > MAX_DIGITS]
    ledger.require("documented constants", not short and not long,
                   f"named though short {short[:1]}; written out though long {long[:1]}")


# Two-agent protocols each putting a display on a documented threshold or within a unit of it (found by a search
# over small protocols with float weights; widths in units): what the killers' protocols do not reach.
EDGES: list = [
    [{"A": {"B": 0.15}, "B": {"A": 0.3}}, {"A": {"A": 0.15, "B": 0.25}, "B": {"A": 0.3, "B": 0.06}}],  # pivot 40
    [{"A": {"A": 0.03125, "B": 0.5}, "B": {"A": 0.12345671}}],  # pivot 39; a weight of 9 digits (12345671/10^8)
    [{"B": {"B": 2.0, "A": 0.25}, "A": {"A": 0.15, "B": 0.9}}, {"B": {"B": 0.4375}, "A": {"B": 0.06}},
     {"A": {"B": 0.1875, "A": 0.5}}],  # rate blocks 62
    [{"A": {"A": 0.7, "B": 0.03125}, "B": {"B": 0.35}}, {"B": {"B": 0.25, "A": 0.15}, "A": {"B": 0.03125}},
     {"B": {"B": 0.2, "A": 1.0}}],  # rate blocks 63
    [{"B": {"A": 0.1875}}, {"B": {"A": 1.0, "B": 0.4375}, "A": {"A": 0.45}},
     {"B": {"A": 0.625, "B": 0.03125}, "A": {"A": 0.12, "B": 0.125}}],  # a round-map coefficient 35.5
    [{"B": {"A": 0.375, "B": 0.25}, "A": {"B": 0.123}}, {"A": {"B": 0.1234, "A": 0.101}, "B": {"B": 0.123}},
     {"A": {"A": 0.12, "B": 0.06}}],  # a round-map coefficient 36
    [{"A": {"B": 2.0}, "B": {"B": 0.15}}, {"A": {"A": 1.0}, "B": {"B": 0.12345671, "A": 0.625}},
     {"A": {"A": 2.0, "B": 0.45}, "B": {"B": 0.375, "A": 0.15}}],  # a round-map coefficient 36.5
    [{"A": {"A": 1.0, "B": 0.0}, "B": {"A": 1.0}}],  # A hears only itself (B weighs 0): its residual is the empty
    # polynomial, 0
]
_DONE: list = []  # the edges ran in this process


# The rougher rule of a random protocol's LaTeX (same page): units per visible character, and LaTeX of its
# displays with their visible characters counted by hand (theory.protocol.random_report measures its terms and
# pivots with typeset.width; no P claim derives a random protocol).
ROUGH_PER_CHAR = 0.9
ROUGH = [(r"\rho\left(M_{A}\right)", 5), (r"\mathbb{E}\big[V_{A,B}\big] + \frac{1}{2} \, S_{A}", 14),
         (r"I - \Big(\mathcal{Q}_{12}\Big)^{\top}\quad 0", 10)]


def _rough(ledger: Ledger) -> None:
    """``typeset.width`` (the random report's measure) of :data:`ROUGH` against the documented rule."""
    from theory.protocol.typeset import width

    got = [width(t) for t, _ in ROUGH]
    want = [ROUGH_PER_CHAR * n for _, n in ROUGH]
    ledger.require("documented widths", all(abs(g - w) <= WIDTH_TOL for g, w in zip(got, want)),
                   f"random-protocol widths {got} (documented {want})")


def _written(ledger: Ledger) -> None:
    """The two written forms of the same page, typeset directly (no protocol of the killers reaches them): a word
    of two letters equal by value but not one object (SymPy's symbol cache hands out one object per name while
    it holds it; a letter made after an eviction is another) is a power; ``3 omega - 2`` and ``2 - 3 omega`` open
    with a number as they stand, so neither is negated."""
    from fractions import Fraction

    import sympy as sp

    from theory.protocol.typeset import coefficient_tex, word_tex

    a = sp.Symbol("M_A", commutative=False)
    b = sp.Symbol.__xnew__(sp.Symbol, "M_A", commutative=False)  # uncached: equal to a, another object
    word = word_tex((a, b), {})[0]
    ledger.require("documented written forms", word == "M_{A}^{2}", f"M_A M_A (two objects) typeset as {word!r}")
    w = sp.Symbol("omega")
    got = [coefficient_tex(c)[:2] for c in (3 * w - 2, 2 - 3 * w, w + 1)]
    want = [(1, r"\left(3 \omega - 2\right)"), (1, r"\left(2 - 3 \omega\right)"),
            (1, r"\left(\omega + 1\right)")]  # no number at either front of omega + 1, no minus: as it stands
    ledger.require("documented written forms", got == want, f"3 omega - 2, 2 - 3 omega, omega + 1 typeset as {got}")
    # a typeset block inside another (an API user's naming_constants around derive): the number is named in the
    # innermost block's table (the one its document lists), never in the outer one
    from theory.protocol.typeset import naming_constants

    with naming_constants() as outer:
        with naming_constants() as inner:
            coefficient_tex(Fraction(1, 3**19))
    ledger.require("documented written forms", len(inner) == 1 and not outer,
                   f"a long number named in the inner table {dict(inner)} and the outer {dict(outer)}")
    # a symbolic number's width: PER_CHAR a character of its LaTeX (counted here by hand: "1 - \omega" is 1, two
    # spaces, a minus and one macro), plus SUM_BRACKETS for a sum's parentheses
    widths = [coefficient_tex(c)[2] for c in (w, 2 * w, 1 - w)]
    want_w = [PER_CHAR * 1, PER_CHAR * 3, PER_CHAR * 5 + SUM_BRACKETS]
    ledger.require("documented widths", all(abs(a - b) <= WIDTH_TOL for a, b in zip(widths, want_w)),
                   f"omega, 2 omega, 1 - omega {widths} units wide (documented {want_w})")
    # a kappa's exact value 1/5^24 is a finite decimal (24 places): its fives counted in integers, 5^23 > 2^53
    from theory.protocol.typeset import exact_tex

    text = "".join(exact_tex(sp.Rational(1, 5**24)).replace(r"\allowbreak", "").split())
    ledger.require("documented written forms", re.fullmatch(r"0\.\d{24}", text) is not None
                   and Fraction(text) == Fraction(1, 5**24), f"1/5^24 written as {text!r}")


def _edges(ledger: Ledger) -> None:
    """:data:`EDGES` compiled and typeset in the compiler's forms (``display.typeset`` without a canonical form, what
    derive --protocol prints when a canonical proof fails; 0.04 s each, a derivation 0.15 s), each display's widths
    and thresholds checked by the rules above."""
    from theory import api
    from theory.protocol import display

    for rounds in EDGES:
        names = sorted({a for ph in rounds for lst, row in ph.items() for a in (lst, *row)})
        cp = api.compile_protocol(api.protocol_spec(names, rounds), noise=False)
        ts = display.typeset(cp, None, [], str)
        blocks = display.rate(cp, display.letter_tex_names(cp.alg), str)[1]
        check_typ6(ledger, {}, {"typeset": ts, "rate": {"latex": ts["contraction_rate"], "blocks": blocks},
                                "phases": rounds})


def _product_edges(ledger: Ledger) -> None:
    """A canonical coefficient (``display.coefficient_terms``, as for a residual's ``C_ij`` before its gap) whose
    term is exactly :data:`PRODUCT_UNITS` wide (counted as a term of its expansion), half a unit narrower (one
    product) and 3 units wider (expansion): no protocol of the killers has a product this long (15 letters)."""
    from fractions import Fraction

    import sympy as sp

    from theory.protocol.canonical import Coefficient
    from theory.protocol.display import coefficient_terms

    def letters(*names: str) -> list:
        return [{(sp.Symbol(n, commutative=False),): 1} for n in names]

    gap = "(w^*_{B} - w^*_{A})"
    cases = [  # 15 letters (45) + 1/10^6 (8) + the gap (11) = 64; 14 letters + V_{A,B} (46.5) + 1/10^4 (6) + 11 = 63.5
        Coefficient(Fraction(1, 10**6), letters(*["M_A", "M_B"] * 7, "M_A")),
        Coefficient(Fraction(1, 10**4), letters(*["M_A", "M_B"] * 7, "V_{A,B}")),
        Coefficient(Fraction(1, 10**6), letters(*["M_A", "M_B"] * 8))]  # and 16 letters: 67, well past it
    bad = []
    for C in cases:
        for t, w in coefficient_terms(C, {}, gap, GAP):
            want, parts = term_width(t, "residual", True)
            if want is None or abs(want - w) > WIDTH_TOL:
                bad.append(f"{t[:40]}... ({parts} units of parts) {w} units, documented {want}")
    ledger.require("documented widths", not bad, "; ".join(bad)[:200])
