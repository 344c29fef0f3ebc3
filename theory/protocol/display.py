r"""The displays of a protocol's derived theory, as LaTeX terms with widths (P1-P5).

:func:`typeset` turns a compiled protocol (and its canonical residuals, theory.protocol.canonical)
into JSON-able displays: each a left side and a list of ``[term, width]`` so
:func:`theory.protocol.report.as_latex` can break lines to fit the page. Residuals print as
``sum_j C_ij (w_j^* - w_i^*)`` with each ``C_ij`` a product; a product wider than a line prints
term by term instead (the same polynomial, expanded).
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import sympy as sp

from theory.core.algebra import from_poly, to_poly
from theory.protocol.canonical import Canonical, Coefficient, r_in_c
from theory.protocol.result import Compiled
from theory.protocol.symbols import gap, w_star
from theory.protocol.typeset import (
    LINE_UNITS,
    check_tex,
    coefficient_tex,
    naming_constants,
    poly_terms,
    poly_tex,
    word_tex,
)

__all__ = ["coefficient_terms", "inverse_tex_names", "letter_tex_names", "named_text", "typeset"]

PAREN_UNITS = 36  # a sum factor up to this wide is kept in parentheses; wider, the product is expanded


def inverse_tex_names(alg) -> dict:
    """``\\mathcal{Q}_k`` for the k-th formal inverse of ``alg`` (order of creation)."""
    return {Q: rf"\mathcal{{Q}}_{{{k + 1}}}" for k, (_, Q) in enumerate(alg.inverted)}


def named_tex(k: int) -> str:
    """``\\mathcal{S}_k``: the k-th named factor (theory.protocol.canonical, item 5)."""
    return rf"\mathcal{{S}}_{{{k}}}"


def letter_tex_names(alg, cn: Canonical | None = None) -> dict:
    """The LaTeX names of the formal inverses and (with ``cn``) of the named factors."""
    out = inverse_tex_names(alg)
    if cn is not None:
        out.update({S: named_tex(k + 1) for k, (S, _) in enumerate(cn.named)})
    return out


def _product(C: Coefficient, inv: dict) -> tuple[str, float] | None:
    """``C`` as one product (letters, powers, parenthesised sums), or None when a sum factor is too wide."""
    parts: list[str] = []
    run: list = []
    wid = 0.0

    def flush():
        nonlocal wid
        if run:
            t, w = word_tex(tuple(run), inv)
            parts.append(t)
            wid += w
            run.clear()
    for f in C.factors:
        if len(f) == 1 and len(next(iter(f))) == 1 and next(iter(f.values())) == 1:
            run.append(next(iter(f))[0])
            continue
        flush()
        t, w = poly_tex(f, inv)
        if w > PAREN_UNITS:
            return None
        parts.append(r"\left(" + t + r"\right)")
        wid += w + 2.0
    flush()
    return " ".join(parts), wid


def coefficient_terms(C: Coefficient, inv: dict, tail: str, tail_width: float) -> list[list]:
    """``C tail`` as signed terms ``[tex, width]``: one product when it fits, else the expanded polynomial."""
    prod = _product(C, inv)
    sign, ctex, cw = coefficient_tex(C.scalar)
    if prod is not None and cw + prod[1] + tail_width < LINE_UNITS - 8:
        body = " ".join(x for x in (ctex, prod[0] or ("I" if not tail else ""), tail) if x)
        return [[("- " if sign < 0 else "+ ") + body, cw + prod[1] + tail_width + 2.0]]
    return [[t if t.startswith("-") else ("+ " + t if not t.startswith("+") else t), w]
            for t, w in poly_terms(C.poly(), inv, tail, tail_width)]


def _signed(t: str) -> str:
    """A term that follows another: with its ``+`` or ``-`` (poly_terms signs all but the first)."""
    return t if t.startswith(("+ ", "- ", "-")) else "+ " + t


def _first(terms: list[list]) -> list[list]:
    """The first term of a sum loses its ``+``."""
    if terms and terms[0][0].startswith("+ "):
        terms[0] = [terms[0][0][2:], terms[0][1]]
    return terms


def _vector(name: str, inv: dict) -> tuple[str, float]:
    return word_tex((sp.Symbol(name, commutative=False),), inv)


def phase_item(phase) -> str:
    """One phase: ``$A$ hears $m_{B}$``, ``$A$ hears $\\frac{1}{2} m_{B} + \\frac{1}{2} m_{C}$`` (no brackets);
    a message heard with weight 0 is not written (``$A$ hears $0$`` when every weight is 0)."""
    parts = []
    for lst, row in phase:
        heard: list[str] = []
        for src, w in row:
            if w == 0:  # 0 m_C is no message heard (a config may write the weight 0 or -0.0)
                continue
            sign, tex, _ = coefficient_tex(w)
            term = " ".join(x for x in (tex, f"m_{{{src}}}") if x)
            heard.append(("- " if sign < 0 else ("+ " if heard else "")) + term)
        parts.append(f"${lst}$ hears ${' '.join(heard) or '0'}$")
    return "; ".join(parts)


def rate(cp: Compiled, inv_tex: dict, text) -> tuple[str, list[dict]]:
    """``(LaTeX of rho, blocks)``: ``rho = rho(D)^{1/q}`` for one block, the max over several; a block matrix
    too wide for a line is named ``Phi_{RR}`` (the live block of the round map) instead."""
    q = cp.rate_power
    blocks: list[dict] = []
    for b in cp.rate_blocks:
        if len(b) == 1:
            tex, wid = poly_tex(cp.poly(b[0][0]), inv_tex)
            blocks.append({"latex": tex, "text": text(b[0][0]), "size": 1, "width": wid})
        else:
            cells = [[poly_tex(cp.poly(x), inv_tex) for x in row] for row in b]
            wid = sum(max(cells[r][c][1] for r in range(len(b))) + 2.0 for c in range(len(b)))
            body = r" \\ ".join(" & ".join(t for t, _ in row) for row in cells)
            flat = "; ".join(", ".join(text(x) for x in row) for row in b)  # rows by ';' (never Matrix([...]))
            blocks.append({"latex": r"\begin{bmatrix}" + body + r"\end{bmatrix}", "text": f"[{flat}]",
                           "size": len(b), "width": wid})
    root = "" if q == 1 else f"^{{1/{q}}}"
    if sum(b["width"] for b in blocks) > LINE_UNITS - 10:  # too wide to print: the live block by name
        return r"\rho = \rho\left(\Phi_{RR}\right)" + root, blocks
    many = len(blocks) > 1

    def of(tex: str) -> str:  # rho(M_{B}) for one letter, rho\left(...\right) around anything taller or longer
        one = re.fullmatch(r"[A-Za-z]_\{\w+\}(\^\{\d+\})?", tex) is not None
        return (r"\rho(" + tex + ")" if one else r"\rho\left(" + tex + r"\right)") + root
    return (r"\rho = " + (r"\max\left\{" if many else "") + ", ".join(of(b["latex"]) for b in blocks)
            + (r"\right\}" if many else "")), blocks


def typeset(cp: Compiled, cn: Canonical | None, checks: list, text) -> dict:
    """Every display of the LaTeX document (see the module text); ``cn`` None prints the compiler's forms.
    Long rationals print as named constants ``kappa_k`` (``constants``: name and exact value)."""
    with naming_constants() as table:
        out = _typeset(cp, cn, checks, text)
    out["constants"] = [[name, exact] for name, exact in table.values()]
    return out


def _typeset(cp: Compiled, cn: Canonical | None, checks: list, text) -> dict:
    alg = cn.alg if cn is not None else cp.alg
    inv = letter_tex_names(alg, cn)
    n, K = cp.names, cp.spec.K
    out: dict = {"phases": [phase_item(ph) for ph in cp.spec.phases]}
    out["contraction_rate"] = rate(cp, inv, text)[0]
    # round map z <- Phi z + r, r written in the c_j
    rc = r_in_c(cp)
    rows = []
    for i in range(K):
        terms: list[list] = []
        for j in range(K):
            P = cp.poly(cp.Phi[i][j])
            if not P:
                continue
            m, mw = f"m_{{{n[j]}}}", 2.5
            t, w = poly_tex(P, inv)
            if len(P) == 1:
                terms += [[_signed(x), wx] for x, wx in poly_terms(P, inv, m, mw)]
            elif w < PAREN_UNITS:
                terms.append(["+ " + r"\left(" + t + r"\right) " + m, w + mw + 3.0])
            else:
                terms += [[_signed(x), wx] for x, wx in poly_terms(P, inv, m, mw)]
        terms += [[_signed(x), wx] for x, wx in poly_terms(rc[i], inv)] if rc[i] else []
        rows.append({"lhs": rf"m_{{{n[i]}}}^{{\mathrm{{new}}}}", "terms": _first(terms)})
    out["round_map"] = rows
    # pivots (formal inverses), in their displayed form
    pivots = cn.pivots if cn is not None else [(Q, to_poly(F)) for F, Q in cp.alg.inverted]
    out["inverses"] = [{"lhs": inv[Q], "terms": [list(t) for t in poly_terms(F, inv)], "width": poly_tex(F, inv)[1]}
                       for Q, F in pivots]
    out["named_factors"] = [{"lhs": inv[S], "terms": [list(t) for t in poly_terms(F, inv)]}
                            for S, F in (cn.named if cn is not None else [])]
    # hypotheses
    hyps = []
    for Q, F in pivots:
        t, w = poly_tex(F, inv)
        hyps.append(f"${t}$ is invertible (its inverse is ${inv[Q]}$)" if w < 40
                    else f"the pivot ${inv[Q]}^{{-1}}$ above is invertible")
    dens = set()  # symbolic denominators of what is displayed (the canonical forms have none to remove)
    shown = ([cp.poly(e) for e in cp.fixed_point] + [t for _, t in cp.alg.rules] if cn is None else
             [F for _, F in cn.pivots + cn.named] + [C.poly() for row in cn.fixed for C in row.values()]
             + [D.poly() for D in cn.self_ if D is not None])
    for p in shown:
        for c in p.values():
            den = sp.denom(sp.together(sp.sympify(c))) if getattr(c, "free_symbols", None) else sp.Integer(1)
            if den.free_symbols:
                dens.add(sp.factor(den))
    hyps += [f"${sp.latex(d)} \\neq 0$" for d in sorted(dens, key=sp.sstr)]
    out["hypotheses"] = hyps
    # fixed points z_i* = sum_j X_ij K_j w_j*, and residuals in the gaps
    fixed, resid = [], []
    for i in range(K):
        if cn is not None:
            fixed.append({"lhs": f"z^*_{{{n[i]}}}", "terms": _first(fixed_terms(cn, i, inv))})
            terms = residual_terms(cn, i, inv)
        else:
            terms = [[_signed(x), wx]
                     for x, wx in poly_terms(cp.poly(cp.fixed_point[i]), inv)]
            fixed.append({"lhs": f"z^*_{{{n[i]}}}", "terms": _first(terms)})
            res = cp.poly(cp.residual(i))
            terms = [[_signed(x), wx] for x, wx in poly_terms(res, inv)]
        resid.append({"lhs": f"e_{{{n[i]}}} = z^*_{{{n[i]}}} - w^*_{{{n[i]}}}", "terms": _first(terms or [["0", 1.0]])})
    out["fixed_point"], out["residual"] = fixed, resid
    out["delta"] = _delta_note(cn, inv) if cn is not None and K == 2 else ""
    # named blocks, Lyapunov
    out["definitions"] = [{"lhs": word_tex((sym,), inv)[0], "terms": [list(t) for t in poly_terms(to_poly(e), inv)]}
                          for sym, e in cp.definitions]
    out["lyapunov"] = [{"lhs": word_tex((sp.Symbol(f"V_{n[a]}" if a == b else f"V_{{{n[a]},{n[b]}}}",
                                                   commutative=False),), inv)[0],
                        "terms": [list(t) for t in poly_terms(cp.poly(e), inv)]}
                       for (a, b), e in cp.lyapunov.items() if a <= b]
    out["checks"] = [check_tex(c.label) for c in checks]
    return out


def _delta_note(cn: Canonical, inv: dict) -> str:
    """Two agents a, b: the residuals in C3's notation, ``Delta = w_b^* - w_a^*`` (``e_b`` carries the minus)."""
    (a, b), out = cn.cp.names, []
    for i, name in enumerate((a, b)):
        if cn.self_[i] is not None or len(cn.gaps[i]) != 1:
            return ""
        (_, C), = cn.gaps[i].items()
        prod = _product(C, inv)
        if prod is None:
            return ""
        sign, ctex, _ = coefficient_tex(C.scalar)
        sign = sign if i == 0 else -sign
        out.append(f"e_{{{name}}} = {'- ' if sign < 0 else ''}{' '.join(x for x in (ctex, prod[0]) if x)} \\Delta")
    return (f"With $\\Delta = w^*_{{{b}}} - w^*_{{{a}}}$ (the gap of C3): $" + "$ and $".join(out) + "$.")


def residual_latex(cn: Canonical, i: int) -> str:
    """The canonical ``e_i`` on one line (for macros and the gallery pages)."""
    return residual_forms(cn, i)["latex"]


def _forms(terms: list) -> dict:
    """``{"latex": one line, "terms": [tex, ...]}`` of a display's terms (the first without its ``+``)."""
    tex = [t for t, _ in _first(terms)]
    return {"latex": " ".join(tex) or "0", "terms": tex or ["0"]}


def residual_forms(cn: Canonical, i: int) -> dict:
    """The canonical ``e_i``: one line and its terms (see :func:`residual_terms`)."""
    return _forms(residual_terms(cn, i, letter_tex_names(cn.alg, cn)))


def fixed_latex(cn: Canonical, i: int) -> dict:
    """The canonical ``z_i^*`` (``sum_j X_ij K_j w_j^*``; named blocks ``sum_j Z_ij w_j^*``): line and terms."""
    return _forms(fixed_terms(cn, i, letter_tex_names(cn.alg, cn)))


def fixed_terms(cn: Canonical, i: int, inv: dict) -> list:
    """The canonical ``z_i^*`` as LaTeX terms with widths."""
    n, terms = cn.cp.names, []
    for j, X in cn.fixed[i].items():  # X_ij K_j w_j* (named blocks: Z_ij w_j*)
        tail, tw = word_tex(((w_star(n[j]),) if cn.dense else
                             (sp.Symbol(f"K_{n[j]}", commutative=False), w_star(n[j]))), inv)
        terms += coefficient_terms(X, inv, tail, tw)
    return terms


def residual_terms(cn: Canonical, i: int, inv: dict) -> list:
    """The canonical ``e_i`` as LaTeX terms with widths: ``sum_j C_ij (w_j* - w_i*)`` (+ a self term)."""
    n = cn.cp.names
    terms: list = []
    for j, C in cn.gaps[i].items():
        g, gw = _vector(gap(n[j], n[i]).name, inv)
        terms += coefficient_terms(C, inv, g, gw)
    if cn.self_[i] is not None:
        ws, ww = _vector(w_star(n[i]).name, inv)
        terms += coefficient_terms(cn.self_[i], inv, ws, ww)
    return terms


def _text(cn: Canonical, expr) -> str:
    """Plain text (theory.protocol.printing.text) with the named factors as ``S1, S2, ...``."""
    from theory.protocol.printing import text

    shim = SimpleNamespace(alg=cn.alg)
    return text(shim, expr, {S: S.name for S, _ in cn.named})  # type: ignore[arg-type]


def pivot_text(cn: Canonical) -> list[tuple[str, str]]:
    """``(text name, text)`` of each displayed pivot (plain text, formal inverses as ``Q1, Q2, ...``)."""
    return [(f"Q{k + 1}", _text(cn, from_poly(F))) for k, (_, F) in enumerate(cn.pivots)]


def named_text(cn: Canonical) -> list[tuple[str, str]]:
    """``(text name, text)`` of each named factor (``S1, S2, ...``; item 5 of theory.protocol.canonical)."""
    return [(S.name, _text(cn, from_poly(F))) for S, F in cn.named]


def residual_text(cn: Canonical, i: int) -> str:
    return _text(cn, cn.residual(i))

