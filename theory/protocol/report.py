"""The derived theory of one protocol as text, JSON, LaTeX or LaTeX macros (``a2ad derive --protocol``).

Every formula is rendered from the compiled SymPy object that :func:`theory.protocol.checks.verify`
checked; :func:`derived_theory` refuses (raises :class:`Unverified`) when a check fails.
"""
from __future__ import annotations

import json
import re
from typing import Any

import sympy as sp

from theory.core.algebra import P_ONE, from_poly, letter, padd, pmul
from theory.protocol import canonical, checks as protocol_checks, display, typeset
from theory.protocol.printing import inverse_names, latex, latex_terms, text
from theory.protocol.result import Compiled
from theory.protocol.symbols import M, cov_block, gap, w_star


class Unverified(Exception):
    """A derived object that did not reduce to 0 when substituted back: nothing is printed."""


def _right_quotient(Gp: dict, Mj) -> dict:
    """The ``X`` with ``G = X (I - M_j)`` when ``G`` has one: grouping ``G``'s words as ``u M_j^l`` (``u`` not
    ending in ``M_j``), ``X`` has ``u M_j^k`` with the sum of ``u``'s coefficients for ``l <= k``, for ``k`` below
    ``u``'s largest power; ``G`` is divisible iff each ``u``'s coefficients sum to 0 (the caller checks)."""
    powers: dict[tuple, dict[int, Any]] = {}
    for w, c in Gp.items():
        k = len(w)
        while k and w[k - 1] == Mj:
            k -= 1
        powers.setdefault(w[:k], {})[len(w) - k] = c
    X: dict = {}
    for u, cs in powers.items():
        run: Any = 0
        for k in range(max(cs)):
            run = run + cs.get(k, 0)
            X[u + (Mj,) * k] = run
    return padd(X)


def _pretty(cp: Compiled, G: sp.Expr) -> sp.Expr:
    """Display form: ``G = X (I - M_j)`` written ``X K_j`` where that is exact (``X`` by
    :func:`_right_quotient`, kept only when ``X (I - M_j)`` reduces to ``G``)."""
    Gp = cp.poly(G)
    for n in cp.names:
        Mj, Kj = M(n), sp.Symbol(f"K_{n}", commutative=False)
        X = _right_quotient(Gp, Mj)
        if X and not padd(pmul(X, padd(P_ONE, letter(Mj), signs=(1, -1))), Gp, signs=(1, -1)):
            return from_poly(X) * Kj
    return from_poly(Gp)


def derived_theory(cp: Compiled, steps: dict | None = None) -> dict:
    """Everything derived for ``cp``, as LaTeX and text strings, with the V1 checks.

    The residuals are printed in canonical form (theory.protocol.canonical: ``sum_j C_ij (w_j* - w_i*)``, each
    ``C_ij`` a product) when every identity of its chain reduces to 0; else in the compiler's form.
    ``typeset`` holds the LaTeX displays (terms with widths) that :func:`as_latex` breaks into lines.
    """
    checks = protocol_checks.verify(cp)
    bad = [c for c in checks if not c.holds]
    if bad:
        raise Unverified(f"'{bad[0].label}' does not reduce to 0 (residual {bad[0].residual[:200]}); refusing to print")
    cn: canonical.Canonical | None = canonical.canonical(cp)
    if cn is not None and all(c.holds for c in cn.checks):
        checks = checks + cn.checks
    else:
        cn = None  # a chain step did not reduce to 0: the compiler's (proved) forms are printed instead
    n, R = cp.names, cp.live
    L = lambda e: latex(cp, e)  # noqa: E731
    T = lambda e: text(cp, e)  # noqa: E731
    F = lambda e: {"latex": L(e), "terms": latex_terms(cp, e), "text": T(e)}  # noqa: E731
    fixed, resid = {}, {}
    for i, name in enumerate(n):
        # with a canonical form, the LaTeX (and its terms) is the canonical one and the text the compiler's
        fixed[name] = F(cp.fixed_point[i]) if cn is None else {**display.fixed_latex(cn, i),
                                                               "text": T(cp.fixed_point[i])}
        if cp.named is None:
            terms = [(_pretty(cp, G), gap(n[j], name)) for j, G in cp.residual_gaps[i].items()]
            expr = sp.Add(*[G * g for G, g in terms]) + cp.residual_self[i] * w_star(name)
        else:  # long coefficients: one term per word, so the LaTeX lines can break
            expr = from_poly(padd(*[pmul(cp.poly(G), letter(gap(n[j], name)))
                                    for j, G in cp.residual_gaps[i].items()],
                                  pmul(cp.poly(cp.residual_self[i]), letter(w_star(name)))))
        if cn is None:
            resid[name] = {**F(expr), "weights_sum_to_one": cp.residual_self[i] == 0}
        else:
            resid[name] = {**display.residual_forms(cn, i), "text": T(expr),
                           "weights_sum_to_one": cp.residual_self[i] == 0,
                           "canonical_text": display.residual_text(cn, i)}
    q = cp.rate_power
    inv_tex = display.letter_tex_names(cn.alg if cn is not None else cp.alg, cn)
    rate_latex, blocks = display.rate(cp, inv_tex, T)
    dens = set()
    for e in list(cp.fixed_point) + [from_poly(t) for _, t in cp.alg.rules]:
        for term in sp.Add.make_args(sp.expand(e)):
            den = sp.denom(sp.Mul(*term.args_cnc()[0]))
            if den.free_symbols:
                dens.add(sp.factor(den))
    hypotheses = [f"{inv} invertible" for inv in inverse_names(cp, tex=False).values()]
    hypotheses += [f"{sp.sstr(den)} != 0" for den in sorted(dens, key=sp.sstr)]
    if cn is not None:
        inverses = [{"name": inv_tex[Q], "text_name": tn, "latex": typeset.poly_tex(Fd, inv_tex)[0],
                     "terms": [t for t, _ in typeset.poly_terms(Fd, inv_tex)], "text": tx}
                    for (Q, Fd), (tn, tx) in zip(cn.pivots, display.pivot_text(cn))]
        hypotheses += [f"Q{k + 1} invertible" for k in range(len(cp.alg.inverted), len(cn.alg.inverted))]
        named = [{"name": inv_tex[S], "text_name": tn, "latex": typeset.poly_tex(Fd, inv_tex)[0],
                  "terms": [t for t, _ in typeset.poly_terms(Fd, inv_tex)], "text": tx}
                 for (S, Fd), (tn, tx) in zip(cn.named, display.named_text(cn))]
    else:
        inverses = [{"name": nm, "text_name": tn, **F(Fx)} for (Fx, Q), nm, tn in
                    zip(cp.alg.inverted, inverse_names(cp).values(), inverse_names(cp, tex=False).values())]
        named = []
    doc = {
        "agents": list(n),
        "hypotheses": hypotheses,
        "steps_per_turn": steps or {},
        "phases": [{lst: {src: sp.sstr(w) for src, w in row} for lst, row in ph} for ph in cp.spec.phases],
        "phases_latex": [{lst: {src: sp.latex(w) for src, w in row} for lst, row in ph} for ph in cp.spec.phases],
        "round_map": {"Phi": [[{"latex": L(x), "text": T(x)} for x in row] for row in cp.Phi],
                      "r": [{"latex": L(x), "text": T(x)} for x in cp.r]},
        "live_agents": [n[a] for a in R],
        "rate": {"power": q, "blocks": blocks, "latex": rate_latex,
                 "reduced": sum(b["size"] for b in blocks) < len(R) or q > 1},
        "fixed_points": fixed,
        "residuals": resid,
        "inverses": inverses,
        "named_factors": named,  # the canonical form's S_k (sums that stay in a C_ij), defined once
        "lyapunov": {f"{n[a]},{n[b]}": {"lhs": L(cov_block(n[a], n[b])), **F(e)}
                     for (a, b), e in cp.lyapunov.items() if a <= b},
        "checks": [{"label": c.label, "method": "V1", "holds": c.holds} for c in checks],
        "compile_seconds": round(cp.seconds, 3),
    }
    if cp.definitions:  # derived with named blocks (theory.protocol.schur): each letter and its definition
        doc["definitions"] = [{"name": L(sym), "text_name": sp.sstr(sym), **F(e)} for sym, e in cp.definitions]
    doc["typeset"] = display.typeset(cp, cn, checks, T)
    return doc


def as_text(doc: dict) -> str:
    out = [f"agents: {', '.join(doc['agents'])}  (M_i is the per-turn transfer M_i^s_i; "
           f"steps per turn {doc['steps_per_turn'] or 'as given'})",
           "phases: " + " ; ".join(str(p) for p in doc["phases"]),
           f"live agents (read before overwritten): {', '.join(doc['live_agents'])}"]
    for i, row in enumerate(doc["round_map"]["Phi"]):
        out.append(f"Phi[{doc['agents'][i]}] = [{', '.join(x['text'] for x in row)}] ; "
                   f"r = {doc['round_map']['r'][i]['text']}")
    q = doc["rate"]["power"]
    rates = [f"spectral_radius({b['text']})" + ("" if q == 1 else f"**(1/{q})") for b in doc["rate"]["blocks"]]
    out.append("rate: rho = " + (rates[0] if len(rates) == 1 else f"max({', '.join(rates)})"))
    for e in doc.get("definitions", []):
        out.append(f"{e['text_name']} := {e['text']}")
    for inv in doc["inverses"]:
        out.append(f"{inv['text_name']} = ({inv['text']})**(-1)")
    for nf in doc.get("named_factors", []):
        out.append(f"{nf['text_name']} = {nf['text']}")
    out.append("hypotheses: " + ("; ".join(doc["hypotheses"]) or "none"))
    for name, e in doc["fixed_points"].items():
        out.append(f"z_{name}_star = {e['text']}")
    for name, e in doc["residuals"].items():
        # the canonical form (sum_j C_ij (w_j* - w_i*), proved equal) when there is one, as in the LaTeX
        out.append(f"e_{name} = z_{name}_star - w_{name}_star = {e.get('canonical_text', e['text'])}")
    for key, e in doc["lyapunov"].items():
        out.append(f"V[{key}] = {e['text']}")
    out += [f"[{c['method']} {'proved' if c['holds'] else 'FAILED'}] {c['label']}" for c in doc["checks"]]
    return "\n".join(out)


def as_json(doc: dict) -> str:
    return json.dumps(doc, indent=2)


PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=1.5cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\begin{document}
"""


def _tex_text(s: str) -> str:
    table = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%", "#": r"\#",
             "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\~{}"}
    return "".join(table.get(ch, ch) for ch in s)


def _lines(terms: list) -> list[str]:
    """Terms ``[tex, width]`` grouped into lines of at most typeset.LINE_UNITS (a wider term stands alone)."""
    lines: list[str] = []
    cur: list[str] = []
    wid = 0.0
    for t, w in terms:
        if cur and wid + w > typeset.LINE_UNITS:
            lines.append(" ".join(cur))
            cur, wid = [], 0.0
        cur.append(t)
        wid += w
    if cur:
        lines.append(" ".join(cur))
    return lines


def _eq(lhs: str, terms: list, wrap: tuple[str, str] = ("", "")) -> str:
    """``lhs = terms`` as align*, broken into lines that fit the page (widths from theory.protocol.typeset)."""
    lines = _lines(terms) or ["0"]
    if wrap[0] and len(lines) > 1:  # a bracket cannot span lines: the inverse of a long pivot by its name
        wrap = ("", "")
        lhs = lhs + "^{-1}"
    body = " \\\\\n  &\\quad ".join(lines)
    return "\\begin{align*}\n  " + f"{lhs} &= {wrap[0]}{body}{wrap[1]}" + "\n\\end{align*}"


def as_latex(doc: dict, title: str = "Derived theory of a protocol") -> str:
    """A standalone LaTeX document; every equation is one the V1 checks proved."""
    A, ts = doc["agents"], doc["typeset"]
    out = [PREAMBLE, r"\section*{" + _tex_text(title) + "}",
           r"Agents " + ", ".join(f"${a}$" for a in A) + r". Each turn is $T_i(w) = M_i w + c_i$ with "
           r"$c_i = K_i w^*_i$, $K_i = I - M_i$; with $s_i$ steps per turn $M_i$ stands for $M_i^{s_i}$. "
           r"Every equation below was proved by substituting it back in the free algebra (V1).",
           r"\subsection*{Phases}", r"\begin{enumerate}"]
    out += [r"\item " + item for item in ts["phases"]]
    out.append(r"\end{enumerate}")
    if ts.get("constants"):
        out.append(r"{\sloppy\paragraph{Constants.} Exact numbers too long for a display line are named: "
                   + "; ".join(f"${name} = {exact}$" for name, exact in ts["constants"]) + ".\\par}")
    out.append(r"\subsection*{Round map $z \leftarrow \Phi z + r$ (the messages $m_i$ at the end of a round)}")
    for row in ts["round_map"]:
        out.append(_eq(row["lhs"], row["terms"]))
    out.append("Live agents (messages read before they are overwritten): "
               + ", ".join(f"${a}$" for a in doc["live_agents"]) + ".")
    out.append(r"\subsection*{Rate}" + r"\begin{align*}" + ts["contraction_rate"] + r"\end{align*}")
    if "Phi_{RR}" in ts["contraction_rate"]:
        out.append(r"Here $\Phi_{RR}$ is the block of the round map above on the live agents.")
    if ts["definitions"]:
        out.append(r"\subsection*{Named blocks (round map, right side, Schur complements, noise)}")
        out += [_eq(e["lhs"], e["terms"]) for e in ts["definitions"]]
    if ts["inverses"]:
        out.append(r"\subsection*{Formal inverses (pivots of the block elimination)}")
        out += [_eq(e["lhs"], e["terms"], (r"\Big(", r"\Big)^{-1}")) for e in ts["inverses"]]
    if ts.get("named_factors"):
        out.append(r"\subsection*{Named factors (sums that stay in a coefficient of the residuals)}")
        out += [_eq(e["lhs"], e["terms"]) for e in ts["named_factors"]]
    out.append(r"\paragraph{Hypotheses.} " + ("; ".join(ts["hypotheses"]) or "none") + ".")
    out.append(r"\subsection*{Fixed point (end of a round)}")
    out += [_eq(e["lhs"], e["terms"]) for e in ts["fixed_point"]]
    out.append(r"\subsection*{Residuals in the gaps between targets}")
    out += [_eq(e["lhs"], e["terms"]) for e in ts["residual"]]
    if ts.get("delta"):
        out.append(ts["delta"])
    if ts["lyapunov"]:
        out.append(r"\subsection*{Stationary covariance with noisy agents ($\eta_i$, covariance $S_i$, per message)}")
        out += [_eq(e["lhs"], e["terms"]) for e in ts["lyapunov"]]
    out.append(r"\subsection*{Checks (V1, free algebra)}" + r"\begin{itemize}")
    out += [r"\item " + lbl + (": proved." if c["holds"] else ": FAILED.")
            for lbl, c in zip(ts["checks"], doc["checks"])]
    out.append(r"\end{itemize}" + "\n" + r"\end{document}" + "\n")
    return "\n".join(out)


DIGIT_WORDS = dict(zip("0123456789", ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
                                        "Nine"]))


def macro_words(name: str) -> str:
    """``name`` as letters only, for a LaTeX command name (each word capitalised, digits spelt out).

    >>> macro_words("z*_A1"), macro_words("protocol_ring")
    ('ZAOne', 'ProtocolRing')
    """
    words = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(DIGIT_WORDS.get(ch, ch) for w in words if w for ch in w[0].upper() + w[1:])


def default_macro_prefix(stem: str) -> str:
    """The macro prefix of a protocol file: ``aad`` + the config's file stem in words, with ``Protocol``
    first: ``protocol_ring`` -> ``aadProtocolRing``, ``two_agents`` -> ``aadProtocolTwoAgents``.

    Starting with ``aadProtocol`` keeps it clear of the formulas file's names (``aadFixedPointA``, ...).
    """
    words = macro_words(stem)
    return "aad" + (words if words.startswith("Protocol") else "Protocol" + words)


def prefixed_symbol_macros(tex: str, prefix: str) -> str:
    """``tex`` with each symbol macro (``\\aadDelta``) renamed to ``\\<prefix>Delta``."""
    from theory.core.notation import SYMBOL_MACROS

    names = "|".join(k.removeprefix("aad") for k in SYMBOL_MACROS)
    return re.sub(r"\\aad(" + names + r")(?![A-Za-z])", lambda m: "\\" + prefix + m.group(1), tex)


def symbol_macro_lines(prefix: str) -> list[str]:
    """``\\providecommand`` per symbol macro, renamed with ``prefix`` (a paper may define its own first)."""
    from theory.core.notation import SYMBOL_MACROS

    return [f"\\providecommand{{\\{prefix}{k.removeprefix('aad')}}}{{{v}}}" for k, v in SYMBOL_MACROS.items()]


def fingerprint(doc: dict) -> str:
    """Hash of the derived formulas (rate, inverses, definitions, fixed points, residuals, hypotheses)."""
    import hashlib

    keys = ("rate", "inverses", "named_factors", "definitions", "fixed_points", "residuals", "hypotheses")
    text = json.dumps({k: doc.get(k) for k in keys}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


MACRO_HEADER = r"""% a2a-dynamics {version}: derived formulas of the protocol of {source} (every one proved by V1).
% Requires: \usepackage{{amsmath,amssymb}}. Then \input this file. Each macro is math-mode content.
% Every macro this file defines starts with the prefix {prefix} (a2ad derive --protocol CONFIG
% --format macros --prefix NAME gives another), so it can be \input beside other a2a-dynamics files.
% fingerprint {fingerprint}  a2a-dynamics {version}  provenance: {provenance}
% hypotheses: {hypotheses}
"""


def as_macros(doc: dict, prefix: str = "aadProtocol", source: str = "a config", version: str = "",
              provenance: str = "derived by the protocol compiler (P1-P5)") -> str:
    """``\\newcommand`` per derived formula, every name starting with ``prefix``.

    Defines ``\\<prefix>Rate``, ``\\<prefix>FixedPoint<agent>``, ``\\<prefix>Residual<agent>``, one symbol
    macro per formal inverse (``\\<prefix>QOne`` for :math:`\\mathcal{Q}_1`, used in the formulas) with its
    definition ``\\<prefix>QOneDefinition``, the same per named factor (``\\<prefix>SOne`` for
    :math:`\\mathcal{S}_1`, ``\\<prefix>SOneDefinition``), and ``\\<prefix>Definition<letter>`` per named block.
    """
    lines = [MACRO_HEADER.format(version=version, source=source, prefix=prefix, fingerprint=fingerprint(doc),
                                 provenance=provenance, hypotheses="; ".join(doc["hypotheses"]) or "none")]
    lines += symbol_macro_lines(prefix)
    named = doc.get("named_factors", [])
    inverses = {inv["name"]: f"{prefix}{macro_words(inv['text_name'])}" for inv in doc["inverses"] + named}

    def body(tex: str) -> str:  # each formal inverse by its prefixed symbol macro: defined, not clashing
        for name, macro in inverses.items():  # one space after the command word, whatever followed
            tex = re.sub(re.escape(name) + r"\s?", "\\\\" + macro + " ", tex)
        return prefixed_symbol_macros(tex, prefix)

    def define(name: str, tex: str) -> None:
        lines.append(f"\\newcommand{{\\{name}}}{{{body(tex)}}}")

    for inv in doc["inverses"] + named:
        lines.append(f"\\newcommand{{\\{inverses[inv['name']]}}}{{{inv['name']}}}")
    for inv in doc["inverses"]:
        define(inverses[inv["name"]] + "Definition", f"{inv['name']} = \\left({inv['latex']}\\right)^{{-1}}")
    for nf in named:
        define(inverses[nf["name"]] + "Definition", f"{nf['name']} = {nf['latex']}")
    for e in doc.get("definitions", []):
        define(f"{prefix}Definition{macro_words(e['text_name'])}", f"{e['name']} = {e['latex']}")
    define(f"{prefix}Rate", doc["rate"]["latex"])
    for name, e in doc["fixed_points"].items():
        define(f"{prefix}FixedPoint{macro_words(name)}", e["latex"])
    for name, e in doc["residuals"].items():
        define(f"{prefix}Residual{macro_words(name)}", e["latex"])
    return "\n".join(lines) + "\n"
