"""The derived theory of one protocol as text, JSON, LaTeX or LaTeX macros (``a2ad derive --protocol``).

Every formula is rendered from the compiled SymPy object that :func:`theory.protocol.checks.verify`
checked; :func:`derived_theory` refuses (raises :class:`Unverified`) when a check fails.
"""
from __future__ import annotations

import json
import re

import sympy as sp

from theory.core.algebra import from_poly, letter, normal, padd, pmul
from theory.protocol import checks as protocol_checks
from theory.protocol.printing import inverse_names, latex, latex_terms, text
from theory.protocol.result import Compiled
from theory.protocol.symbols import M, cov_block, gap, w_star


class Unverified(Exception):
    """A derived object that did not reduce to 0 when substituted back: nothing is printed."""


def _pretty(cp: Compiled, G: sp.Expr) -> sp.Expr:
    """Display form: right factors ``I - M_j`` written as ``K_j`` where that is exact."""
    G = normal(G)
    for n in cp.names:
        Mj, Kj = M(n), sp.Symbol(f"K_{n}", commutative=False)
        X = sp.Add(*[t for t in sp.Add.make_args(G) if not (t.args_cnc()[1] and t.args_cnc()[1][-1] == Mj)])
        if X != 0 and normal(X * (1 - Mj) - G) == 0:
            return X * Kj
    return G


def derived_theory(cp: Compiled, steps: dict | None = None) -> dict:
    """Everything derived for ``cp``, as LaTeX and text strings, with the V1 checks."""
    checks = protocol_checks.verify(cp)
    bad = [c for c in checks if not c.holds]
    if bad:
        raise Unverified(f"'{bad[0].label}' does not reduce to 0 (residual {bad[0].residual[:200]}); refusing to print")
    n, R = cp.names, cp.live
    L = lambda e: latex(cp, e)  # noqa: E731
    T = lambda e: text(cp, e)  # noqa: E731
    F = lambda e: {"latex": L(e), "terms": latex_terms(cp, e), "text": T(e)}  # noqa: E731
    fixed, resid = {}, {}
    for i, name in enumerate(n):
        fixed[name] = F(cp.fixed_point[i])
        if cp.named is None:
            terms = [(_pretty(cp, G), gap(n[j], name)) for j, G in cp.residual_gaps[i].items()]
            expr = sp.Add(*[G * g for G, g in terms]) + cp.residual_self[i] * w_star(name)
        else:  # long coefficients: one term per word, so the LaTeX lines can break
            expr = from_poly(padd(*[pmul(cp.poly(G), letter(gap(n[j], name)))
                                    for j, G in cp.residual_gaps[i].items()],
                                  pmul(cp.poly(cp.residual_self[i]), letter(w_star(name)))))
        resid[name] = {**F(expr), "weights_sum_to_one": cp.residual_self[i] == 0}
    q = cp.rate_power
    blocks: list[dict] = []
    for b in cp.rate_blocks:
        if len(b) == 1:
            blocks.append({"latex": L(b[0][0]), "text": T(b[0][0]), "size": 1})
        else:
            blocks.append({"latex": r"\begin{bmatrix}" + r" \\ ".join(" & ".join(L(x) for x in row) for row in b)
                                    + r"\end{bmatrix}", "text": T(sp.Matrix(b)), "size": len(b)})
    root = "" if q == 1 else f"^{{1/{q}}}"
    rate_latex = r"\rho = " + (r"\max\left(" if len(blocks) > 1 else "") + ", ".join(
        r"\rho\left(" + b["latex"] + r"\right)" + root for b in blocks) + (r"\right)" if len(blocks) > 1 else "")
    dens = set()
    for e in list(cp.fixed_point) + [from_poly(t) for _, t in cp.alg.rules]:
        for term in sp.Add.make_args(sp.expand(e)):
            den = sp.denom(sp.Mul(*term.args_cnc()[0]))
            if den.free_symbols:
                dens.add(sp.factor(den))
    hypotheses = [f"{inv} invertible" for inv in inverse_names(cp, tex=False).values()]
    hypotheses += [f"{sp.sstr(den)} != 0" for den in sorted(dens, key=sp.sstr)]
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
        "inverses": [{"name": nm, "text_name": tn, **F(Fx)} for (Fx, Q), nm, tn in
                     zip(cp.alg.inverted, inverse_names(cp).values(), inverse_names(cp, tex=False).values())],
        "lyapunov": {f"{n[a]},{n[b]}": {"lhs": L(cov_block(n[a], n[b])), **F(e)}
                     for (a, b), e in cp.lyapunov.items() if a <= b},
        "checks": [{"label": c.label, "method": "V1", "holds": c.holds} for c in checks],
        "compile_seconds": round(cp.seconds, 3),
    }
    if cp.definitions:  # derived with named blocks (theory.protocol.schur): each letter and its definition
        doc["definitions"] = [{"name": L(sym), "text_name": sp.sstr(sym), **F(e)} for sym, e in cp.definitions]
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
    out.append("hypotheses: " + ("; ".join(doc["hypotheses"]) or "none"))
    for name, e in doc["fixed_points"].items():
        out.append(f"z_{name}_star = {e['text']}")
    for name, e in doc["residuals"].items():
        out.append(f"e_{name} = z_{name}_star - w_{name}_star = {e['text']}")
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
\begin{document}
"""


def _tex_text(s: str) -> str:
    table = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%", "#": r"\#",
             "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\~{}"}
    return "".join(table.get(ch, ch) for ch in s)


LINE_CHARS = 140  # LaTeX source characters per displayed line (a long sum is broken after this)


def _eq(lhs: str, f: dict, wrap: tuple[str, str] = ("", "")) -> str:
    """``lhs = terms`` as align*, broken into lines of about LINE_CHARS source characters."""
    lines, cur = [], ""
    for t in f["terms"]:
        if cur and len(cur) + len(t) > LINE_CHARS:
            lines.append(cur)
            cur = ""
        cur += (" " if cur else "") + t
    lines.append(cur)
    body = " \\\\\n  &\\quad ".join(lines)
    return "\\begin{align*}\n  " + f"{lhs} &= {wrap[0]}{body}{wrap[1]}" + "\n\\end{align*}"


def as_latex(doc: dict, title: str = "Derived theory of a protocol") -> str:
    """A standalone LaTeX document; every equation is one the V1 checks proved."""
    A = doc["agents"]
    out = [PREAMBLE, r"\section*{" + _tex_text(title) + "}",
           r"Agents " + ", ".join(f"${a}$" for a in A) + r". Each turn is $T_i(w) = M_i w + c_i$ with "
           r"$c_i = K_i w^*_i$, $K_i = I - M_i$; with $s_i$ steps per turn $M_i$ stands for $M_i^{s_i}$.",
           r"\subsection*{Phases}", r"\begin{enumerate}"]
    for ph in doc["phases_latex"]:
        out.append(r"\item " + "; ".join(f"${lst}$ hears "
                                         + " + ".join(f"$\\left({w}\\right) m_{{{src}}}$" for src, w in row.items())
                                         for lst, row in ph.items()))
    out.append(r"\end{enumerate}")
    out.append(r"\subsection*{Round map $z \leftarrow \Phi z + r$}")
    for i, row in enumerate(doc["round_map"]["Phi"]):
        terms = [f"\\left({x['latex']}\\right) m_{{{A[j]}}}" for j, x in enumerate(row) if x["text"] != "0"]
        r_ = doc["round_map"]["r"][i]["latex"]
        terms = [t if k == 0 else "+ " + t for k, t in enumerate(terms)] + [r_ if r_.startswith("-") else "+ " + r_]
        out.append(_eq(f"m_{{{A[i]}}}^{{\\text{{new}}}}", {"terms": terms}))
    out.append("Live agents (messages read before they are overwritten): "
               + ", ".join(f"${a}$" for a in doc["live_agents"]) + ".")
    out.append(r"\subsection*{Rate}" + r"\begin{align*}" + doc["rate"]["latex"] + r"\end{align*}")
    if doc.get("definitions"):
        out.append(r"\subsection*{Named blocks (round map, right side, Schur complements, noise)}")
        for e in doc["definitions"]:
            out.append(_eq(e["name"], e))
    if doc["inverses"]:
        out.append(r"\subsection*{Formal inverses (pivots of the block elimination)}")
        for inv in doc["inverses"]:
            out.append(_eq(inv["name"], inv, (r"\Big(", r"\Big)^{-1}")))
    out.append(r"\textbf{Hypotheses.} " + (_tex_text("; ".join(doc["hypotheses"])) or "none") + ".")
    out.append(r"\subsection*{Fixed point (end of a round)}")
    for name, e in doc["fixed_points"].items():
        out.append(_eq(f"z^*_{{{name}}}", e))
    out.append(r"\subsection*{Residuals in the gaps}")
    for name, e in doc["residuals"].items():
        out.append(_eq(f"e_{{{name}}} = z^*_{{{name}}} - w^*_{{{name}}}", e))
    if doc["lyapunov"]:
        out.append(r"\subsection*{Stationary covariance with noisy agents ($\eta_i$, covariance $S_i$, per message)}")
        for key, e in doc["lyapunov"].items():
            out.append(_eq(e["lhs"], e))
    out.append(r"\subsection*{Checks (V1, free algebra)}" + r"\begin{itemize}")
    out += [r"\item " + _tex_text(c["label"]) + (": proved." if c["holds"] else ": FAILED.") for c in doc["checks"]]
    out.append(r"\end{itemize}" + "\n" + r"\end{document}" + "\n")
    return "\n".join(out)


DIGIT_WORDS = dict(zip("0123456789", ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
                                        "Nine"]))


def macro_words(name: str) -> str:
    """``name`` as letters only, for a LaTeX command name: ``z*_A1`` -> ``zAOne``, ``protocol_ring`` ->
    ``ProtocolRing`` (each word capitalised, digits spelt out)."""
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

    keys = ("rate", "inverses", "definitions", "fixed_points", "residuals", "hypotheses")
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
    definition ``\\<prefix>QOneDefinition``, and ``\\<prefix>Definition<letter>`` per named block.
    """
    lines = [MACRO_HEADER.format(version=version, source=source, prefix=prefix, fingerprint=fingerprint(doc),
                                 provenance=provenance, hypotheses="; ".join(doc["hypotheses"]) or "none")]
    lines += symbol_macro_lines(prefix)
    inverses = {inv["name"]: f"{prefix}{macro_words(inv['text_name'])}" for inv in doc["inverses"]}

    def body(tex: str) -> str:  # each formal inverse by its prefixed symbol macro: defined, not clashing
        for name, macro in inverses.items():  # one space after the command word, whatever followed
            tex = re.sub(re.escape(name) + r"\s?", "\\\\" + macro + " ", tex)
        return prefixed_symbol_macros(tex, prefix)

    def define(name: str, tex: str) -> None:
        lines.append(f"\\newcommand{{\\{name}}}{{{body(tex)}}}")

    for inv in doc["inverses"]:
        lines.append(f"\\newcommand{{\\{inverses[inv['name']]}}}{{{inv['name']}}}")
    for inv in doc["inverses"]:
        define(inverses[inv["name"]] + "Definition", f"{inv['name']} = \\left({inv['latex']}\\right)^{{-1}}")
    for e in doc.get("definitions", []):
        define(f"{prefix}Definition{macro_words(e['text_name'])}", f"{e['name']} = {e['latex']}")
    define(f"{prefix}Rate", doc["rate"]["latex"])
    for name, e in doc["fixed_points"].items():
        define(f"{prefix}FixedPoint{macro_words(name)}", e["latex"])
    for name, e in doc["residuals"].items():
        define(f"{prefix}Residual{macro_words(name)}", e["latex"])
    return "\n".join(lines) + "\n"
