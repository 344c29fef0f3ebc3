"""The derived theory of a random protocol as a document, text, JSON, LaTeX or macros (R1-R3).

``a2ad derive --protocol CONFIG`` on a config with ``protocol.random``. Every formula is rendered
from the compiled object that :func:`theory.protocol.random_checks.verify` checked;
:func:`derived_random` refuses (:class:`theory.protocol.report.Unverified`) when a check fails.
The generic formulas (mean-square condition, Stein equation) are typeset once; the protocol's own
objects (each alternative's round map, the stationary mean, its residuals in the gaps, the
deviations ``d_k``) are the compiler's.
"""
from __future__ import annotations

import json
import re
from typing import Any

import sympy as sp

from theory.core.algebra import from_poly, letter, padd, pmul
from theory.protocol import typeset
from theory.protocol.printing import inverse_names, latex, latex_terms, text
from theory.protocol.random_checks import verify
from theory.protocol.random_compiler import RandomCompiled, cond_cov_letter
from theory.protocol.report import PREAMBLE, Unverified, _eq, _tex_text, macro_words
from theory.protocol.symbols import cov_block, gap, w_star

__all__ = ["derived_random", "as_text", "as_json", "as_latex", "as_macros", "MEAN_SQUARE_LATEX", "STEIN_LATEX"]

MEAN_SQUARE_LATEX = {
    False: r"\rho_{\mathrm{ms}} = \rho\Big(\sum_k p_k\, \Phi_k \otimes \Phi_k\Big)^{1/2} < 1, \qquad "
           r"\rho_{\mathrm{mean}} = \rho\Big(\sum_k p_k\, \Phi_k\Big)",
    True: r"\rho_{\mathrm{ms}} = \rho\Big(\big[P_{jl}\, \Phi_j \otimes \Phi_j\big]_{l,j}\Big)^{1/2} < 1, \qquad "
          r"\rho_{\mathrm{mean}} = \rho\Big(\big[P_{jl}\, \Phi_j\big]_{l,j}\Big)",
}
STEIN_LATEX = {
    False: r"C = \sum_k p_k \big(\Phi_k C \Phi_k^{T} + d_k d_k^{T} + N_k\big), \qquad d_k = \Phi_k \mu + \psi_k - \mu",
    True: r"Q_l = \sum_j P_{jl} \big(\Phi_j Q_j \Phi_j^{T} + \Phi_j q_j \psi_j^{T} + \psi_j q_j^{T} \Phi_j^{T} "
          r"+ \pi_j (\psi_j \psi_j^{T} + N_j)\big), \qquad C = \sum_l Q_l - \mu \mu^{T}",
}


# The identity as a letter in LaTeX (a matrix polynomial's constant term is c I, printed I, never 1).
IDENTITY = sp.Symbol("I", commutative=False)


def _f(rc: RandomCompiled, p: dict) -> dict:
    e = from_poly(p)
    shown = from_poly({(w or (IDENTITY,)): c for w, c in p.items()})
    return {"latex": latex(rc, shown), "terms": latex_terms(rc, shown),  # type: ignore[arg-type]
            "text": text(rc, e)}  # type: ignore[arg-type]


def derived_random(rc: RandomCompiled) -> dict:
    """Everything derived for ``rc`` (schema_version 1), with the V1 checks; Unverified if one fails."""
    checks = verify(rc)
    bad = [c for c in checks if not c.holds]
    if bad:
        raise Unverified(f"'{bad[0].label}' does not reduce to 0 (residual {bad[0].residual[:200]}); refusing to print")
    rs, n = rc.rspec, rc.names
    alts = []
    for k, alt in enumerate(rs.alternatives):
        entry = {"label": rs.labels[k],
                 "phases": [{lst: {src: sp.sstr(w) for src, w in row} for lst, row in ph} for ph in alt.phases],
                 "round_map": {"Phi": [[_f(rc, x) for x in row] for row in rc.Phi[k]],
                               "psi": [_f(rc, x) for x in rc.psi[k]]},
                 "deviation": {n[a]: _f(rc, rc.deviation[k][a]) for a in range(rs.K)}}
        if rs.is_markov:
            entry["next"] = {rs.labels[l]: sp.sstr(rs.P[k][l]) for l in range(rs.n) if rs.P[k][l] != 0}
        else:
            entry["probability"] = {"text": sp.sstr(rs.probabilities[k]), "latex": sp.latex(rs.probabilities[k])}
        entry["stationary_probability"] = {"text": sp.sstr(rc.law[k]), "latex": sp.latex(rc.law[k])}
        alts.append(entry)
    doc: dict = {
        "schema_version": 1,
        "kind": "random protocol",
        "law": "markov" if rs.is_markov else "independent",
        "agents": list(n),
        "alternatives": alts,
        "mean_square_condition": {"latex": MEAN_SQUARE_LATEX[rs.is_markov]},
        "stein_equation": {"latex": STEIN_LATEX[rs.is_markov]},
        "notes": list(rc.notes),
        "hypotheses": [f"{nm} invertible" for nm in inverse_names(rc, tex=False).values()]  # type: ignore[arg-type]
        + ["mean-square rate < 1 for the covariance"]
        + (["the chain irreducible and aperiodic"] if rs.is_markov else []),
        "inverses": [{"name": nm, "text_name": tn, **_f(rc, _poly(F))}
                     for (F, _), nm, tn in zip(rc.alg.inverted, inverse_names(rc).values(),  # type: ignore[arg-type]
                                               inverse_names(rc, tex=False).values())],  # type: ignore[arg-type]
        "checks": [{"label": c.label, "method": "V1", "holds": c.holds} for c in checks],
        "compile_seconds": round(rc.seconds, 3),
    }
    if rc.named is not None:  # derived with named Schur blocks (random_markov): each letter and its definition
        doc["definitions"] = [{"name": latex(rc, sym), "text_name": text(rc, sym), **_f(rc, p)}  # type: ignore[arg-type]
                              for sym, p in rc.alg.named_letters().items()]
    if rc.mean is not None:
        doc["fixed_points"] = {n[i]: _f(rc, rc.mean[i]) for i in range(rs.K)}
        resid = {}
        for i in range(rs.K):
            p = padd(*[pmul(G, letter(gap(n[j], n[i]))) for j, G in rc.residual_gaps[i].items()],
                     pmul(rc.residual_self[i], letter(w_star(n[i]))))
            resid[n[i]] = {**_f(rc, p), "weights_sum_to_one": not rc.residual_self[i]}
        doc["residuals"] = resid
    if not rs.is_markov:
        doc["second_moment"] = {f"{n[a]},{n[b]}": {"lhs": sp.latex(cov_block(n[a], n[b])),
                                                   "lhs_text": f"C[{n[a]},{n[b]}]", **_f(rc, rc.second_moment[(a, b)])}
                                for a in range(rs.K) for b in range(rs.K) if a <= b}
    else:  # Q_l = E[z z^T 1{next = l}], block (a, b); Q_l^T = Q_l, so a <= b
        doc["second_moment"] = {f"{l + 1},{n[a]},{n[b]}": {"lhs": sp.latex(cond_cov_letter(l, n[a], n[b])),
                                                          "lhs_text": f"Q_{l + 1}[{n[a]},{n[b]}]",
                                                          **_f(rc, rc.second_moment[(l, a, b)])}
                                for l in range(rs.n) for a in range(rs.K) for b in range(rs.K) if a <= b}
    return doc


def _poly(F) -> dict:
    from theory.core.algebra import to_poly
    return to_poly(F)


def as_json(doc: dict) -> str:
    return json.dumps(doc, indent=2)


def as_text(doc: dict) -> str:
    out = [f"random protocol ({doc['law']} draws) over agents {', '.join(doc['agents'])}"]
    for k, a in enumerate(doc["alternatives"]):
        law = (f"p = {a['probability']['text']}" if "probability" in a
               else "next: " + ", ".join(f"{l} {p}" for l, p in a["next"].items()))
        stat = a["stationary_probability"]["text"]
        out.append(f"[{k}] {a['label']} ({law}; stationary {stat}): phases {a['phases']}")
        for i, row in enumerate(a["round_map"]["Phi"]):
            out.append(f"    Phi_{k}[{doc['agents'][i]}] = [{', '.join(x['text'] for x in row)}] ; "
                       f"psi = {a['round_map']['psi'][i]['text']}")
    out.append("mean-square rate: rho([P_jl Phi_j (x) Phi_j]_(l,j))^(1/2); mean rate: rho([P_jl Phi_j]_(l,j))"
               if doc["law"] == "markov" else
               "mean-square rate: rho(sum_k p_k Phi_k (x) Phi_k)^(1/2); mean rate: rho(sum_k p_k Phi_k)")
    for e in doc.get("definitions", []):
        out.append(f"{e['text_name']} := {e['text']}")
    for inv in doc["inverses"]:
        out.append(f"{inv['text_name']} = ({inv['text']})^-1")
    out.append("hypotheses: " + "; ".join(doc["hypotheses"]))
    for name, e in doc.get("fixed_points", {}).items():
        out.append(f"mu_{name} = {e['text']}")
    for name, e in doc.get("residuals", {}).items():
        out.append(f"mu_{name} - w*_{name} = {e['text']}")
    for note in doc["notes"]:
        out.append(f"note: {note}")
    for e in doc.get("second_moment", {}).values():
        out.append(f"{e['lhs_text']} = {e['text']}")
    for k, a in enumerate(doc["alternatives"]):
        out.append(f"d_{k} = " + " ; ".join(f"{nm}: {e['text']}" for nm, e in a["deviation"].items()))
    out += [f"[{c['method']} {'proved' if c['holds'] else 'FAILED'}] {c['label']}" for c in doc["checks"]]
    return "\n".join(out)


def as_latex(doc: dict, title: str = "Derived theory of a random protocol") -> str:
    """A standalone LaTeX document; every protocol-specific equation is one the V1 checks proved."""
    A = doc["agents"]
    out = [PREAMBLE, r"\section*{" + _tex_text(title) + "}",
           r"Agents " + ", ".join(f"${a}$" for a in A) + r". Each turn is $T_i(w) = M_i w + c_i$, $c_i = K_i w^*_i$, "
           r"$K_i = I - M_i$. Each round one alternative $k$ is drawn ("
           + ("by a Markov chain $P$" if doc["law"] == "markov" else "independently with probability $p_k$")
           + r") and maps the joint state $z \mapsto \Phi_k z + \psi_k$.",
           r"\subsection*{Alternatives}", r"\begin{enumerate}"]
    for a in doc["alternatives"]:
        law = (f"probability ${a['probability']['latex']}$" if "probability" in a
               else "stationary probability $" + a["stationary_probability"]["latex"] + "$")
        out.append(r"\item " + _words_tex(a["label"], A) + ", " + law + ".")
    out.append(r"\end{enumerate}")
    out.append(r"\subsection*{Rates and the Stein equation}" + r"\begin{align*}" + doc["mean_square_condition"]["latex"]
               + r"\\" + doc["stein_equation"]["latex"] + r"\end{align*}")
    for k, a in enumerate(doc["alternatives"]):
        out.append(r"\subsection*{Round map of alternative " + str(k + 1) + " (" + _words_tex(a["label"], A) + ")}")
        for i, row in enumerate(a["round_map"]["Phi"]):
            terms = [f"{_factor(x['latex'])} m_{{{A[j]}}}" for j, x in enumerate(row) if x["text"] != "0"]
            r_ = a["round_map"]["psi"][i]["latex"]
            terms = [t if m == 0 else "+ " + t for m, t in enumerate(terms)]
            if r_ != "0":
                terms.append(r_ if r_.startswith("-") or not terms else "+ " + r_)
            out.append(_eq(f"m_{{{A[i]}}}^{{\\text{{new}}}}", _widths(terms or ["0"])))
    if doc.get("definitions"):
        out.append(r"\subsection*{Named blocks (block elimination of the reduced first-moment system)}")
        for e in doc["definitions"]:
            out.append(_eq(e["name"], _widths(e["terms"])))
    if doc["inverses"]:
        out.append(r"\subsection*{Formal inverses (pivots of the block elimination)}")
        for inv in doc["inverses"]:
            out.append(_eq(inv["name"], _widths(inv["terms"]), (r"\Big(", r"\Big)^{-1}")))
    out.append(r"\textbf{Hypotheses.} " + "; ".join(_hypotheses_tex(doc)) + ".")
    if "fixed_points" in doc:
        out.append(r"\subsection*{Stationary mean (end of a round)}")
        for name, e in doc["fixed_points"].items():
            out.append(_eq(f"\\mu_{{{name}}}", _widths(e["terms"])))
        out.append(r"\subsection*{Mean residuals in the gaps}")
        for name, e in doc["residuals"].items():
            out.append(_eq(f"\\mu_{{{name}}} - w^*_{{{name}}}", _widths(e["terms"])))
    for note in doc["notes"]:
        out.append(r"\textbf{Note.} " + _words_tex(note, A) + ".")
    out.append(r"\subsection*{How each alternative moves the mean ($d_k$, with $\mu_i$ the stationary mean)}")
    for k, a in enumerate(doc["alternatives"]):
        for nm, e in a["deviation"].items():
            out.append(_eq(f"d_{{{k + 1},{nm}}}", _widths(e["terms"])))
    out.append(r"\subsection*{Checks (V1, free algebra)}" + r"\begin{itemize}")
    out += [r"\item " + _math_names(typeset.check_tex(_check_words(c["label"])), A)
            + (": proved." if c["holds"] else ": FAILED.")
            for c in doc["checks"]]
    out.append(r"\end{itemize}" + "\n" + r"\end{document}" + "\n")
    return "\n".join(out)


def _hypotheses_tex(doc: dict) -> list[str]:
    """The hypotheses in words and mathematics: each pivot with its inverse's name (as the deterministic
    report states them), the rate and the chain in words."""
    out = [f"${inv['latex']}$ is invertible (its inverse is ${inv['name']}$)"
           if typeset.width(inv["latex"]) < 40 else f"the pivot ${inv['name']}^{{-1}}$ above is invertible"
           for inv in doc["inverses"]]
    words = {"mean-square rate < 1 for the covariance": "the mean-square rate is below 1 (for the covariance)"}
    rest = [h for h in doc["hypotheses"] if not h.endswith(" invertible")]
    return out + [_tex_text(words.get(h, h)) for h in rest]


# Check labels of the random compiler in words before typesetting (typeset.check_tex puts the
# deterministic compiler's symbols in math mode; these are the random compiler's own phrasings).
_CHECK_WORDS: list[tuple[str, Any]] = [(r"phases composed = Phi_k z \+ psi_k",
                                        "its phases composed give its round map"),
                                       (r"^(\d+): ", lambda m: f"alternative {int(m.group(1)) + 1}: "),
                                       (r" = ", " equals "), (r" \+ ", " plus ")]


def _math_names(tex: str, agents: list) -> str:
    """Outside ``$...$``: agent names and the conditional second moments ``Q_l`` (``Q\\_1``) in math mode."""
    names = "|".join(re.escape(a) for a in agents)
    parts = re.split(r"(?<!\\)\$", tex)  # an escaped \$ (a dollar in a label) is text, not a math delimiter
    for k in range(0, len(parts), 2):  # even pieces are outside mathematics
        parts[k] = re.sub(rf"(?<![\\\w])({names})(?!\w)", r"$\1$", parts[k])
        parts[k] = re.sub(r"(?<![\\\w])Q\\_(\d+)", r"$Q_{\1}$", parts[k])
    return "$".join(parts)


def _words_tex(text: str, agents: list) -> str:
    return _math_names(_tex_text(text), agents)


def _check_words(label: str) -> str:
    for pat, rep in _CHECK_WORDS:
        label = re.sub(pat, rep, label)
    return label


def as_macros(doc: dict, prefix: str = "aadRandom", source: str = "a config", version: str = "") -> str:
    """``\\newcommand`` per derived formula: ``\\<prefix>MeanSquareRate``, ``\\<prefix>Stein``,
    ``\\<prefix>Mean<agent>``, ``\\<prefix>MeanResidual<agent>``, the named blocks' definitions
    (``\\<prefix>Block<k>Definition``, Markov chains derived with named Schur blocks) and the formal inverses'."""
    lines = [f"% a2a-dynamics {version}: derived formulas of the random protocol of {source} (every one proved by V1).",
             r"% Requires: \usepackage{amsmath,amssymb}. Each macro is math-mode content.",
             "% hypotheses: " + "; ".join(doc["hypotheses"])]

    def define(name: str, tex: str) -> None:
        lines.append(f"\\newcommand{{\\{prefix}{name}}}{{{tex}}}")
    define("MeanSquareRate", doc["mean_square_condition"]["latex"])
    define("Stein", doc["stein_equation"]["latex"])
    for k, e in enumerate(doc.get("definitions", [])):
        define(f"Block{macro_words(str(k + 1))}Definition", f"{e['name']} = {e['latex']}")
    for k, inv in enumerate(doc["inverses"]):
        define(f"Q{macro_words(str(k + 1))}Definition", f"{inv['name']} = \\left({inv['latex']}\\right)^{{-1}}")
    for name, e in doc.get("fixed_points", {}).items():
        define(f"Mean{macro_words(name)}", e["latex"])
    for name, e in doc.get("residuals", {}).items():
        define(f"MeanResidual{macro_words(name)}", e["latex"])
    return "\n".join(lines) + "\n"


def _widths(terms: list[str]) -> list[tuple[str, float]]:
    """LaTeX terms with their estimated printed widths (theory.protocol.typeset), as the report's lines need."""
    from theory.protocol import typeset

    return [(t, typeset.width(t)) for t in terms]


def _factor(tex: str) -> str:
    """A coefficient before a message: bare when it is one product (``M_A``), bracketed when a sum; no ``1``."""
    if tex == "1":
        return ""
    body = tex[1:] if tex.startswith("-") else tex
    return f"\\left({tex}\\right)" if ("+" in body or "-" in body) else tex
