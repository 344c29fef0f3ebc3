r"""VS: the form of what ``a2ad derive --protocol`` typesets (the LaTeX a user reads), beyond its values.

:mod:`proofs_check.verification.shipped_derive_b` evaluates every printed formula; a formula can evaluate
right and still read wrong or fail to compile. For one config's LaTeX document (and its JSON), the rules
of the typeset form, each read from the document itself, never from the typesetting code:

* every display and every inline ``$...$`` is balanced (``{}``, ``\left( \right)``, ``\Big( \Big)``,
  ``bmatrix``), so the document compiles;
* signs: no ``+ -``, ``- +``, ``+ +`` or ``- -``, and nothing opens with ``+`` (a display's first term, a
  parenthesis, a fraction, a matrix cell, a phase's first message); continuation lines (``&\quad +``) may;
* no trivial numbers or brackets: no power ``^{1}`` or ``^{0}``, no ``\frac{..}{1}``, no coefficient ``1``
  or ``0`` written before a symbol, no empty ``()``, no ``\left( .. \right)`` around a single term;
* the rate: ``\rho(X)`` around a single letter (with its power), ``\rho\left(X\right)`` around anything
  longer, under ``\max\left\{..\right\}`` exactly when the JSON lists several blocks, a block a ``bmatrix``
  exactly when it spans several agents;
* the rate written out only when its blocks fit one line (else named ``\\Phi_{RR}``);
* a hypothesis writes a short pivot out (it points at the display only for a long one);
* every check item balanced in ``$``;
* a round-map row writes a narrow coefficient of a message once, in parentheses, and a single term without
  them (:func:`_check_messages`);
* the formal inverses and named factors numbered 1, 2, ... as displayed, as the JSON and text name them.

:data:`SELF` (two agents in one phase, each hearing itself) is a protocol whose rate is a maximum over
one-letter blocks, the one form the gallery's protocols never print.
"""
from __future__ import annotations

import re

from proofs_check.verification.shipped import Ledger, residual_rel

__all__ = ["SELF", "check_typeset"]

# Two agents in one phase, A hearing itself and -1/2 of B, B only -1/2 of itself: the round map is block
# triangular, so the rate is max(rho(M_A), rho(-M_B / 2)), a one-letter block beside a longer one; no weights
# sum to 1, and the negative weights make displays (round map, residuals, covariances) open with a minus.
SELF = [{"A": {"A": 1.0, "B": -0.5}, "B": {"B": -0.5}}]

# The rate line's own glyphs around its blocks, "rho = rho(" and ")", each about a digit wide (a unit).
RATE_GLYPHS = 6.0
# A pivot whose LaTeX has at most this many characters (e.g. "I - M_{B} M_{A}^{2}", 18) is a few symbols long:
# a hypothesis writes it out rather than pointing at its display.
SHORT_PIVOT_CHARS = 25
# Sign pairs that never occur in a typeset formula (a term's sign is merged with its coefficient's).
_SIGN_PAIR = re.compile(r"(?<![\\&])[-+]\s*[-+](?!\d)")
# A '+' right after an opening: a display's '&= ', a parenthesis, a brace group, a matrix cell.
_OPEN_PLUS = re.compile(r"(?:&=|\\left\(|\\Big\(|\(|\{|&(?!=|\\quad)|\\\\|\\begin\{bmatrix\})\s*\+")
# Trivial numbers: a first power, a zeroth power, a denominator 1, coefficient 1 or 0 before a symbol (a zero
# block before a matrix row's end, "0 \\", is a block, not a coefficient).
_TRIVIAL = re.compile(r"\^\{[01]\}|\\frac\{[^{}]*\}\{1\}|(?<![\w.}])[01] (?=[A-Za-z(]|\\(?!\\))"
                      r"|\(\s*\)|\\left\(\s*\\right\)")


def _balanced(tex: str) -> str | None:
    """None when braces, ``\\left``/``\\right``, ``\\Big(``/``\\Big)`` and ``bmatrix`` nest; else what failed."""
    stack: list[str] = []
    pairs = {"}": "{", r"\right": r"\left", r"\Big)": r"\Big(", r"\end{bmatrix}": r"\begin{bmatrix}"}
    for m in re.finditer(r"\\(?:begin|end)\{bmatrix\}|\\[{}]|\\left(?![a-z])|\\right(?![a-z])|\\Big[()]|[{}]", tex):
        tok = m.group(0)
        if tok in (r"\{", r"\}"):
            continue
        if tok in pairs:
            if not stack or stack.pop() != pairs[tok]:
                return f"unmatched {tok} at {tex[max(0, m.start() - 20):m.start() + 10]!r}"
        else:
            stack.append(tok)
    return f"unclosed {stack[-1]}" if stack else None


def _formulas(tex: str) -> list[tuple[str, str]]:
    """``(where, math)``: each ``align*`` body (line breaks kept) and each inline ``$...$`` of the document."""
    out = [("display", m.group(1)) for m in re.finditer(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)]
    prose = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}", "", tex.split(r"\subsection*{Checks")[0], flags=re.S)
    for line in prose.splitlines():
        out += [("inline", m) for m in re.findall(r"(?<!\\)\$(.*?)(?<!\\)\$", line)]
    return out


def _lone_terms(math: str) -> list[str]:
    """The contents of each ``\\left( .. \\right)`` (not a spectral radius's) that is one term, not a sum."""
    out, stack = [], []
    for m in re.finditer(r"\\left(?![a-z])|\\right(?![a-z])", math):
        if m.group(0) == r"\left":
            stack.append((m.end(), math[max(0, m.start() - 4):m.start()] == r"\rho"))
        elif stack:
            start, rho = stack.pop()
            if math.startswith("(", start) and not rho:
                inner = math[start + 1:m.start()]
                depth, top = 0, ""  # the inner text outside nested \left( .. \right)
                for tok in re.split(r"(\\left(?![a-z])|\\right(?![a-z]))", inner):
                    depth += {r"\left": 1, r"\right": -1}.get(tok, 0)
                    top += tok if depth == 0 and tok not in (r"\left", r"\right") else " "
                if not re.search(r". [-+] ", top.strip()):
                    out.append(inner.strip())
    return out


def _rate_form(statement: str, blocks: int) -> str | None:
    r"""None when ``\rho = ...`` has the documented form for ``blocks`` blocks; else what is wrong."""
    if r"\Phi_{RR}" in statement:  # too wide to print: the live block by name, once
        return None if re.fullmatch(r"\\rho = \\rho\\left\(\\Phi_\{RR\}\\right\)(\^\{1/\d+\})?", statement) else \
            f"rate {statement[:50]!r} names Phi_RR beside other blocks"
    many = statement.startswith(r"\rho = \max\left\{")
    if many != (blocks > 1) or many != statement.endswith(r"\right\}"):
        return f"rate {statement[:50]!r} for {blocks} blocks"
    for m in re.finditer(r"\\rho(\\left\(|\()", statement):
        if m.group(1) == "(":
            end = statement.find(")", m.end())
            arg = statement[m.end():end]
            if not re.fullmatch(r"[A-Za-z]_\{\w+\}(\^\{\d+\})?", arg):
                return rf"\rho({arg[:30]}) around more than one letter"
        else:
            end = statement.find(r"\right)", m.end())
            arg = statement[m.end():end]
            if re.fullmatch(r"[A-Za-z]_\{\w+\}(\^\{\d+\})?", arg):
                return rf"\rho\left({arg}\right) around one letter"
    return None


def check_typeset(ledger: Ledger, files: dict[str, str], doc: dict, refs: tuple = ()) -> None:
    """The typeset form of one config's LaTeX document (see the module docstring); nothing without LaTeX.
    ``refs``: ``(instance, fixed point, round map, offsets, transfers, Evaluator)`` for
    :func:`check_compiler_forms` (``shipped_derive.Evaluator``, passed in: importing it here would close an
    import cycle)."""
    if refs:
        check_compiler_forms(ledger, *refs)
    tex = files.get("latex")
    if not tex:
        return
    bad_balance, bad_sign, bad_number = [], [], []
    for where, math in _formulas(tex):
        body = math.split("&=", 1)[1] if where == "display" and "&=" in math else math
        b = _balanced(math)
        if b:
            bad_balance.append(b)
        first = "&= " + body.strip() if where == "display" else "{" + math.strip()
        if _SIGN_PAIR.search(body) or _OPEN_PLUS.search(first) or _OPEN_PLUS.search(body):
            bad_sign.append(math.strip()[:60])
        if _TRIVIAL.search(body):
            bad_number.append(math.strip()[:60])
        bad_number += [f"({x[:40]}) in parentheses" for x in _lone_terms(body)]
    ledger.require("latex balanced", not bad_balance, f"LaTeX not balanced: {bad_balance[:1]}")
    ledger.require("latex signs", not bad_sign, f"LaTeX signs: {bad_sign[:1]!r}")
    ledger.require("latex trivial numbers", not bad_number, f"LaTeX writes a trivial number: {bad_number[:1]!r}")
    mr = re.search(r"\\subsection\*\{Rate\}\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)
    cr = doc.get("contraction_rate", {})
    wrong = _rate_form(mr.group(1).strip(), len(cr.get("blocks", []))) if mr else "no rate"
    ledger.require("latex rate form", wrong is None, f"LaTeX {wrong}")
    mats = [(b.get("size"), str(b.get("latex", "")).startswith(r"\begin{bmatrix}")) for b in cr.get("blocks", [])]
    ledger.require("latex rate form", all(m == (size != 1) for size, m in mats),
                   f"rate blocks (agents, written as a matrix): {mats}; a matrix exactly for several agents")
    # the rate is one display line that cannot break: written out only when its blocks fit the line (their
    # widths as typeset, in the units of LINE_UNITS, a parameter of the layout), else named Phi_RR
    from theory.protocol.typeset import LINE_UNITS

    wide = sum(float(b.get("width", 0.0)) for b in cr.get("blocks", [])) + RATE_GLYPHS
    ledger.require("latex rate fits", mr is None or r"\Phi_{RR}" in mr.group(1) or wide <= LINE_UNITS,
                   f"LaTeX rate written out over {wide:.0f} units (a line holds {LINE_UNITS})")
    _check_messages(ledger, doc.get("typeset") or {})
    _check_names(ledger, tex, doc)
    # a hypothesis names a pivot ("the pivot Q_k^{-1} above") only when writing it out would be long
    pivots = re.findall(r"\\begin\{align\*\}\n  (\\mathcal\{Q\}_\{\d+\}) &= \\Big\((.*)\\Big\)\^\{-1\}\n", tex)
    short = {q for q, f in pivots if len(f) <= SHORT_PIVOT_CHARS}
    named = re.findall(r"the pivot \$(\\mathcal\{Q\}_\{\d+\})\^\{-1\}\$ above is invertible", tex)
    ledger.require("latex hypotheses written out", not set(named) & short,
                   f"LaTeX names the short pivot {sorted(set(named) & short)[:1]} instead of writing it out")
    mc = re.search(r"\\begin\{itemize\}\n(.*?)\\end\{itemize\}", tex, re.S)
    items = re.findall(r"\\item (.*)\n", mc.group(1)) if mc else []
    odd = [i for i in items if len(re.findall(r"(?<!\\)\$", i)) % 2]
    ledger.require("latex check items", not odd, f"LaTeX check item with an odd number of $: {odd[:1]!r:.80}")


def _check_messages(ledger: Ledger, ts: dict) -> None:
    """A round-map row writes each message's coefficient once, in parentheses, unless that coefficient is at
    least ``PAREN_UNITS`` wide (then term by term): terms of one message that are together narrower than
    ``PAREN_UNITS`` (the coefficient alone is narrower still) should have been one parenthesised term."""
    from theory.protocol.display import PAREN_UNITS  # the threshold (a parameter of the layout, as LINE_UNITS)

    split = []
    for row in ts.get("round_map", []):
        per: dict[str, list[float]] = {}
        for t, w in row["terms"]:
            m = re.search(r" (m_\{\w+\})$", t)
            if m:
                per.setdefault(m.group(1), []).append(w)
        split += [f"{row['lhs']}: {m}" for m, ws in per.items() if len(ws) > 1 and sum(ws) < PAREN_UNITS]
        # parentheses hold a sum: a single term (with its sign) is written without them
        split += [f"{row['lhs']}: ({inner})" for inner in re.findall(r"\\left\((.*?)\\right\) m_\{\w+\}", " ".join(
            t for t, _ in row["terms"])) if not re.search(r". [-+] ", inner)]
    ledger.require("latex round map form", not split, f"LaTeX {split[:1]} term by term, narrower than PAREN_UNITS, "
                   "or one term in parentheses")


def _check_names(ledger: Ledger, tex: str, doc: dict) -> None:
    """The formal inverses and named factors are numbered 1, 2, ... in the order displayed, and each JSON entry's
    LaTeX name is its text name's (``Q2`` is ``\\mathcal{Q}_{2}``, ``S1`` is ``\\mathcal{S}_{1}``)."""
    for letter, key in (("Q", "inverses"), ("S", "named_factors")):
        shown = [int(k) for k in re.findall(r"\\begin\{align\*\}\n  \\mathcal\{" + letter + r"\}_\{(\d+)\}", tex)]
        ledger.require("latex names", shown == list(range(1, len(shown) + 1)),
                       f"LaTeX numbers the {key} {shown[:6]}")
        entries = doc.get(key, [])
        ledger.require("json names", all(e.get("name") == rf"\mathcal{{{letter}}}_{{{e.get('text_name', '')[1:]}}}"
                                         for e in entries) and len(entries) == len(shown),
                       f"JSON {key} names {[(e.get('name'), e.get('text_name')) for e in entries][:2]}")


_FALLBACK_DONE: set = set()  # protocols whose compiler-form displays were checked in this process


def check_compiler_forms(ledger: Ledger, inst, z, Phi_ref, r_ref, M, Evaluator) -> None:
    """The displays printed when a canonical proof fails (``display.typeset`` with no canonical form: the
    compiler's proved forms): a user reaches them only through such a failure, so they are typeset here
    directly, once per protocol, and read like the document's (round map, inverses, fixed points, residuals
    evaluated at the instance against the references; each display's form as in :func:`check_typeset`)."""
    import numpy as np

    from numerics.api import load_config
    from numerics.protocol import engine
    from proofs_check.verification.shipped_derive_b import _name, _stable_env, constant_value, tex_to_text
    from theory.protocol import compiler as P, display
    from theory.protocol.printing import text

    if "long product" not in _FALLBACK_DONE:
        _FALLBACK_DONE.add("long product")
        _check_long_product(ledger)
    key = repr(inst.rounds)
    if key in _FALLBACK_DONE:
        return
    _FALLBACK_DONE.add(key)
    cp = P.compile_protocol(P.from_numeric(engine.of(load_config(inst.config()))))
    if cp.named is not None:  # named Schur blocks: the fallback displays need their definitions, not read here
        return
    ts = display.typeset(cp, None, [], lambda e: text(cp, e))
    d, names = inst.d, list(inst.names)
    env, _ = _stable_env(inst, M, np.random.default_rng(7))
    for name, exact in ts.get("constants", []):  # long exact numbers named kappa_k (display.typeset)
        env[_name(name)] = constant_value(exact)
    texts = {_name(e["lhs"]): tex_to_text(" ".join(t for t, _ in e["terms"])) for e in ts["inverses"]}
    ev = Evaluator(d, env, texts, set(texts))
    m = np.stack([env[f"m_{n}"].reshape(-1) for n in names])
    new = (Phi_ref @ m.reshape(-1) + r_ref).reshape(len(names), d)
    worst = 0.0
    shown = [(ts["round_map"], new, 0 * new), (ts["fixed_point"], z, 0 * z), (ts["residual"], z, inst.target)]
    for rows, want, offset in shown:
        for k, row in enumerate(rows):
            try:
                err = residual_rel(ev.eval(tex_to_text(" ".join(t for t, _ in row["terms"]))), want[k], offset[k])
            except (ValueError, np.linalg.LinAlgError, KeyError, IndexError):
                err = np.inf
            worst = max(worst, err if np.isfinite(err) else 1e300)
    from proofs_check.verification.shipped import FLOAT_BAR

    ledger.add("compiler forms (no canonical form)", worst, FLOAT_BAR)
    lhs = [r["lhs"] for key in ("round_map", "fixed_point", "residual") for r in ts[key]]
    ledger.require("compiler forms (no canonical form)", lhs == [
        *(rf"m_{{{n}}}^{{\mathrm{{new}}}}" for n in names), *(f"z^*_{{{n}}}" for n in names),
        *(f"e_{{{n}}} = z^*_{{{n}}} - w^*_{{{n}}}" for n in names)] and ts["delta"] == "", f"displays {lhs}")
    def stated(h: str, e: dict) -> bool:  # the pivot written out (with its inverse's name), or named when long
        hi = re.fullmatch(r"\$(.*)\$ is invertible \(its inverse is \$(.*)\$\)", h)
        return (hi is not None and hi.group(2) == e["lhs"] and tex_to_text(hi.group(1)) == texts[_name(e["lhs"])]
                or h == f"the pivot ${e['lhs']}^{{-1}}$ above is invertible")
    ledger.require("compiler forms (no canonical form)", len(ts["hypotheses"]) == len(ts["inverses"]) and all(
        stated(h, e) for h, e in zip(ts["hypotheses"], ts["inverses"])), f"hypotheses {ts['hypotheses'][:1]}")
    bad = [(t, w) for key in ("round_map", "fixed_point", "residual", "inverses") for e in ts[key]
           for t, w in e["terms"][:1] if t.startswith("+")]
    ledger.require("compiler forms (no canonical form)", not bad, f"first term with a plus: {bad[:1]}")


def _check_long_product(ledger: Ledger) -> None:
    """A residual coefficient too long for one line (a product of 24 letters, wider than LINE_UNITS) is
    written term by term; being one word, it is still one signed term: ``+ 3/7 M_A M_B ... tail`` or
    ``- 3/7 ...``. No protocol of the killers has such a product (nor a coefficient that is a bare number
    before its tail, checked too), so ``display.coefficient_terms`` gets them directly; the expected LaTeX is
    spelt here (coefficient, letters, tail)."""
    from fractions import Fraction

    import sympy as sp

    from theory.core.algebra import letter
    from theory.protocol.canonical import Coefficient
    from theory.protocol.display import coefficient_terms

    A, B = (sp.Symbol(f"M_{n}", commutative=False) for n in "AB")
    tail = "K_{B} (w^*_{B} - w^*_{A})"
    got = []
    for sign in (1, -1):
        C = Coefficient(Fraction(3 * sign, 7), [letter(A), letter(B)] * LONG_PRODUCT_PAIRS)
        got.append([t for t, _ in coefficient_terms(C, {}, tail, 14.0)])
    body = r"\frac{3}{7} " + " ".join(["M_{A} M_{B}"] * LONG_PRODUCT_PAIRS) + " " + tail
    ledger.require("long product form", got == [["+ " + body], ["- " + body]], f"long product printed {got!r:.120}")
    # a coefficient with no letters before its tail (X_ij = c I in z_i* = sum_j X_ij K_j w_j*): no identity written
    short = [[t for t, _ in coefficient_terms(Coefficient(c, []), {}, "K_{B} w^*_{B}", 6.0)]
             for c in (Fraction(1), Fraction(-1, 2))]
    ledger.require("long product form", short == [["+ K_{B} w^*_{B}"], [r"- \frac{1}{2} K_{B} w^*_{B}"]],
                   f"a scalar coefficient before its tail printed {short!r:.120}")


LONG_PRODUCT_PAIRS = 12  # 24 letters of about 3 units: wider than a line (LINE_UNITS = 72)
