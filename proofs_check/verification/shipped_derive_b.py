"""VS for what ``a2ad derive --protocol`` prints beyond the JSON plain-text fields (issue 22, item 5).

:func:`proofs_check.verification.shipped_derive.check_derivation` evaluates the JSON document's plain-text
expressions; this module reads the other things a user reads, each against an independent reference
(the probed round map, the simulated fixed point, its spectral radius, a stationary covariance summed from
probed rounds, the config's own weights and names), never against the package's own output:

* the LaTeX document: every display (round-map rows, named blocks, formal inverses, fixed points,
  residuals, the ``\\Delta`` sentence, covariance equations, the rate) is translated by the small reader
  below (``\\frac``, ``\\Big(..\\Big)^{-1}``, ``{X}^{\\top}``, ``\\begin{bmatrix}``, juxtaposition as
  product) into the plain-text grammar of :class:`~proofs_check.verification.shipped_derive.Evaluator` and
  evaluated at the instance's matrices; the phases list against the config's weights; the hypotheses (each
  stated matrix times its named inverse is ``I``); the agents and live agents; every check item proved;
* the JSON document's LaTeX fields (round map, fixed points, residuals, inverses, covariance equations), its
  phases, live agents and hypotheses;
* the text format's round map, rate, inverse, covariance and check lines;
* the macros file: each macro expanded (its own ``\\providecommand`` and ``\\newcommand`` definitions) and
  evaluated: rate, fixed points, residuals, inverse definitions; the macro names from the config's file name.
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction

import numpy as np

from proofs_check.verification import shipped_reference as ref
from proofs_check.verification.shipped import FLOAT_BAR, Ledger, residual_rel

__all__ = ["LONG_PIVOT", "UNNORMALISED", "tex_to_text", "check_printed"]

# Two agents whose weights do not sum to 1 (A hears 0.6 m_B; B hears 0.9 m_A + 0.3 m_B), small enough for the
# compiler's expanded path: the residuals keep a term in w*_i itself (the gallery's weights all sum to 1).
UNNORMALISED = [{"A": {"B": 0.6}}, {"B": {"A": 0.9, "B": 0.3}}]
# Three agents answering simultaneously, weights not summing to 1: the second pivot's display takes two lines
# (named Q_2^{-1} = ... in the LaTeX). 0.4 s of CPU in json and latex: the full profile only.
LONG_PIVOT = [{"A": {"B": 0.3, "C": 0.6}, "B": {"A": 0.6, "C": 0.5}, "C": {"A": 0.2, "B": 0.8}}]

# One LaTeX token of a derived formula; the order matters (longest constructs first).
_TEX = re.compile(r"""\s*(?:
    (?P<frac>\\frac\{)
  | (?P<open>\\left\(|\\Big\(|\()
  | (?P<close>\\right\)|\\Big\)|\))
  | (?P<bopen>\{)
  | (?P<bclose>\})
  | (?P<post>\^\{-1\}|\^\{\\top\}|\^\{T\}|\^T|\^\{\d+\}|\^\d)
  | (?P<name>\\mathcal\{[A-Z]\}_\{\d+\}|w\^\{?\*\}?_\{[^{}]*\}|\\Phi_\{[^{}]*\}|U\^\{\(\d+\)\}_\{[^{}]*\}
      |\\kappa_\{\d+\}|[A-Za-z]\^\{T\}_\{[^{}]*\}|[A-Za-z]_\{[^{}]*\}(?:\^\{\\mathrm\{new\}\})?
      |\\aadDelta|\\Delta|I(?![A-Za-z]))
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op>[-+,;\[\]]|\\cdot)
)""", re.X)


def _name(tex: str) -> str:
    """The plain name of a LaTeX symbol: ``M_{A}`` -> ``M_A``, ``w^*_{A}`` -> ``w_A_star``, ``\\mathcal{Q}_{2}``
    -> ``Q2``, ``\\Phi_{A,B}`` -> ``Phi_A_B``, ``U^{(1)}_{C,D}`` -> ``U_1_C_D``, ``M^{T}_{A}`` -> transposed."""
    if tex == "I":
        return "Id"
    if tex in (r"\Delta", r"\aadDelta"):
        return "Delta"
    m = re.fullmatch(r"\\mathcal\{([A-Z])\}_\{(\d+)\}", tex)
    if m:
        return m.group(1) + m.group(2)
    m = re.fullmatch(r"w\^\{?\*\}?_\{([^{}]*)\}", tex)
    if m:
        return f"w_{m.group(1)}_star"
    m = re.fullmatch(r"U\^\{\((\d+)\)\}_\{([^{}]*)\}", tex)
    if m:
        return f"U_{m.group(1)}_" + m.group(2).replace(",", "_")
    m = re.fullmatch(r"([A-Za-z])\^\{T\}_\{([^{}]*)\}", tex)
    if m:
        return f"transpose({m.group(1)}_{m.group(2)})"
    m = re.fullmatch(r"\\?([A-Za-z]+)_\{([^{}]*)\}(\^\{\\mathrm\{new\}\})?", tex)
    if m:
        return f"{m.group(1)}_" + m.group(2).replace(",", "_") + ("_new" if m.group(3) else "")
    raise ValueError(f"unknown LaTeX symbol {tex!r}")


def constant_value(exact: str) -> float:
    r"""A named exact number ``kappa_k`` as typeset (``p/q`` or a decimal, with ``\allowbreak`` and spaces
    where the line may break) as a float; ValueError when it is neither."""
    return float(Fraction("".join(exact.replace(r"\allowbreak", "").split())))


def tex_to_text(tex: str) -> str:
    """A derived formula's LaTeX in the plain-text grammar of ``Evaluator`` (products explicit)."""
    tex = tex.replace(r"\begin{bmatrix}", "[").replace(r"\end{bmatrix}", "]").replace("&", ",")
    tex = tex.replace("\\\\", ";")
    out: list[str] = []
    stack: list[str] = []
    ends = False  # the last piece ends an operand (a product follows by juxtaposition)
    pos, tex = 0, tex.strip()
    while pos < len(tex):
        m = _TEX.match(tex, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read LaTeX {tex[pos:pos + 30]!r}")
        pos = m.end()
        kind, val = str(m.lastgroup), m.group(str(m.lastgroup))
        if kind in ("frac", "open", "bopen", "name", "num") and ends:
            out.append("*")
        if kind == "frac":
            out.append("((")
            stack.append("num")
        elif kind == "bopen":
            out.append("(")
            stack.append("group")
        elif kind == "bclose":
            top = stack.pop() if stack else "?"
            if top == "num":
                if not tex.startswith("{", pos):
                    raise ValueError("\\frac without a denominator")
                pos += 1
                out.append(")/(")
                stack.append("den")
                ends = False
                continue
            out.append("))" if top == "den" else ")")
        elif kind == "open":
            out.append("(")
        elif kind == "close":
            out.append(")")
        elif kind == "post":
            inner = val[2:-1] if val.startswith("^{") else val[1:]  # ^{-1}, ^{\top}, ^{T}, ^T, ^{k}, ^k
            out.append({"-1": "^-1", r"\top": "^T", "T": "^T"}.get(inner, f"**{inner}"))
        elif kind == "name":
            out.append(_name(val))
        elif kind == "num":
            out.append(val)
        else:
            out.append({r"\cdot": "*"}.get(val, val))
        ends = kind in ("bclose", "close", "post", "name", "num")
    if stack:
        raise ValueError(f"unbalanced braces in {tex[:40]!r}")
    return " ".join(out)


def spelled_out(tex: str, doc: dict) -> str:
    r"""``tex`` with each named constant ``\kappa_{k}`` of ``doc["typeset"]["constants"]`` written as the JSON's
    ``latex`` fields write a number: ``\frac{p}{q}``, or the integer (the exact value read from its listing)."""
    for name, exact in (doc.get("typeset") or {}).get("constants", []):
        v = Fraction("".join(exact.replace(r"\allowbreak", "").split()))
        spelled = str(v.numerator) if v.denominator == 1 else rf"\frac{{{v.numerator}}}{{{v.denominator}}}"
        tex = tex.replace(name, spelled)
    return tex


def document_form(doc: dict, part: str, name: str) -> str | None:
    """The JSON's ``part`` (``fixed_point`` or ``residual``) of agent ``name`` as the LaTeX document displays it:
    its ``typeset`` terms when the JSON has them (long exact numbers named ``\\kappa_k`` there, written out in
    the ``latex`` field), else its ``latex`` field; whitespace normalised, as :func:`_align` reads the document."""
    lhs = f"z^*_{{{name}}}" if part == "fixed_point" else f"e_{{{name}}} = z^*_{{{name}}} - w^*_{{{name}}}"
    for t in (doc.get("typeset") or {}).get(part, []):
        if t.get("lhs") == lhs:
            return " ".join(" ".join(x[0] for x in t["terms"]).split())
    latex = doc.get("agents", {}).get(name, {}).get(part, {}).get("latex")
    return " ".join(latex.split()) if isinstance(latex, str) else None


def _align(tex: str) -> list[tuple[str, str]]:
    """``(lhs, body)`` of each ``align*`` display with ``&=`` (line breaks removed)."""
    out = []
    for m in re.finditer(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        body = " ".join(m.group(1).replace("\\\\", " ").replace(r"&\quad", " ").split())
        if "&=" in body:
            lhs, rhs = body.split("&=", 1)
            out.append((lhs.strip(), rhs.strip()))
    return out


def _rate_value(ev, statement: str, env_extra: dict | None = None) -> float:
    """The number a rate statement ``\\rho = ...`` states: each ``\\rho(X)`` / ``\\rho\\left(X\\right)``, with
    its root ``^{1/p}``, evaluated (spectral radius by LAPACK); several under ``\\max`` give their maximum."""
    body = statement.strip()
    if not body.startswith(r"\rho = "):
        raise ValueError(f"rate statement {body[:30]!r}")
    body = body[len(r"\rho = "):]
    values, pos = [], 0
    while True:
        i = body.find(r"\rho", pos)
        if i < 0:
            break
        j = i + len(r"\rho")
        if body.startswith(r"\left(", j):
            k = body.find(r"\right)", j)  # a block matrix holds no \right)
            arg, end = body[j + len(r"\left("):k], k + len(r"\right)")
        elif body.startswith("(", j):
            depth, k = 0, j
            while True:
                depth += {"(": 1, ")": -1}.get(body[k], 0)
                if depth == 0:
                    break
                k += 1
            arg, end = body[j + 1:k], k + 1
        else:
            raise ValueError(f"rate statement: \\rho without an argument at {body[j:j + 20]!r}")
        root = re.match(r"\^\{1/(\d+)\}", body[end:])
        p = int(root.group(1)) if root else 1
        X = ev._mat(ev.eval(tex_to_text(arg)))
        values.append(float(np.max(np.abs(np.linalg.eigvals(X)))) ** (1.0 / p))
        pos = end + (root.end() if root else 0)
    if not values:
        raise ValueError("rate statement without \\rho(...)")
    return max(values)


DIGITS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]


def _expand(tex: str, macros: dict[str, str]) -> str:
    """``tex`` with every defined macro replaced by its body (recursively; at most 20 levels)."""
    for _ in range(20):
        new = re.sub(r"\\([A-Za-z]+)", lambda m: (macros[m.group(1)] + " ") if m.group(1) in macros
                     else m.group(0), tex)
        if new == tex:
            return tex
        tex = new
    raise ValueError("macro expansion does not end")


def _stable_env(inst: ref.Instance, M: np.ndarray, rng: np.random.Generator) -> tuple[dict, dict]:
    """Names of the printed formulas at the instance: transfers, ``K = I - M``, targets, messages ``m`` and
    their offsets ``c = K w*`` (random messages), and noise covariances ``S`` with the stationary covariance
    ``V`` of the noisy round (probed rounds summed, :func:`shipped_reference.stationary_covariance`)."""
    d, names = inst.d, list(inst.names)
    env: dict[str, np.ndarray] = {}
    m = rng.standard_normal((len(names), d))
    Ss = []
    for k, n in enumerate(names):
        K = np.eye(d) - M[k]
        w = inst.target[k].reshape(d, 1)
        env.update({f"M_{n}": M[k], f"K_{n}": K, f"w_{n}_star": w, f"m_{n}": m[k].reshape(d, 1),
                    f"c_{n}": K @ w})
        E = rng.standard_normal((d, d))
        Ss.append(E @ E.T / d)
    cs = [inst.target[k] - M[k] @ inst.target[k] for k in range(len(names))]
    V, _, _ = ref.stationary_covariance(list(M), cs, Ss, inst.phases())
    cov = {}
    for a, na in enumerate(names):
        cov[f"S_{na}"] = Ss[a]
        for b, nb in enumerate(names):
            cov[f"V_{na}_{nb}"] = V[a * d:(a + 1) * d, b * d:(b + 1) * d]
        cov[f"V_{na}"] = cov[f"V_{na}_{na}"]
    return env, {"m": m, **cov}


def _words(name: str) -> str:
    """A name spelt for a LaTeX command (letters only): words capitalised, digits spelt out."""
    out = ""
    for w in re.split(r"[^A-Za-z0-9]+", name):
        if w:
            out += "".join(DIGITS[int(ch)] if ch.isdigit() else ch for ch in w[0].upper() + w[1:])
    return out


def _live(inst: ref.Instance) -> set[str]:
    """The agents some phase reads (a message never read cannot be live)."""
    return {src for ph in inst.rounds or () for _, row in ph for src, _ in row}


def _weights_sum_to_one(inst: ref.Instance, z: np.ndarray, rho: float) -> list[bool]:
    """Per agent: does ``z*_i - w*_i`` stay the same when every target moves by the same vector ``t``?
    (``e_i = sum_j C_ij (w*_j - w*_i) + R_i w*_i`` moves by ``R_i t``; ``R_i = 0`` is what the document
    calls the weights summing to one.) Simulated rounds at the shifted targets."""
    t = np.linspace(1.0, 2.0, inst.d)
    moved = ref.Instance(inst.names, inst.H, inst.target + t, inst.Gamma, inst.scalar_gamma, inst.steps,
                         inst.initial, inst.rounds)
    z2 = ref.settled(moved, rho)
    scale = max(float(np.linalg.norm(t)), 1.0)
    return [bool(np.linalg.norm(z2[k] - z[k] - t) < SHIFT_BAR * scale) for k in range(inst.K)]


# A moved target shows in the fixed point with weight R_i: 0 for weights summing to 1, else an O(1) multiple of
# t; simulated to rho^t < 1e-15, a zero R_i leaves ~1e-13 * ||t||: 1e-6 separates the two with headroom.
SHIFT_BAR = 1e-6


def check_printed(ledger: Ledger, inst: ref.Instance, rho: float, printed: dict, files: dict[str, str],
                  doc: dict, M: np.ndarray, Phi_ref: np.ndarray, r_ref: np.ndarray, z: np.ndarray,
                  stem: str, Evaluator: type) -> None:
    """Every format's printed formulas and statements for one config (see the module docstring).

    ``Evaluator``: :class:`~proofs_check.verification.shipped_derive.Evaluator`, passed by its caller
    (importing it here would make the two modules import each other)."""

    rng = np.random.default_rng(4242 + 10 * inst.K + inst.d)
    d, names = inst.d, list(inst.names)
    idx = {n: k for k, n in enumerate(names)}
    env, cov = _stable_env(inst, M, rng)
    m = cov.pop("m")
    new = (Phi_ref @ m.reshape(-1) + r_ref).reshape(len(names), d)
    cols = [k for k in range(len(names)) if np.linalg.norm(Phi_ref[:, k * d:(k + 1) * d]) > 0]
    env["Phi_RR"] = Phi_ref[np.ix_(*[[k * d + i for k in cols for i in range(d)]] * 2)]
    if len(names) == 2:
        env["Delta"] = env[f"w_{names[1]}_star"] - env[f"w_{names[0]}_star"]  # C3's gap w*_B - w*_A
    heard = [(lst, {src: float(w) for src, w in row}) for ph in inst.rounds or () for lst, row in ph]
    ms: dict = {f"m_{n}": float(v) for n, v in zip(names, rng.standard_normal(len(names)))}
    rel = lambda a, b: (float(np.linalg.norm(np.asarray(a, dtype=float) - b) / max(float(np.linalg.norm(b)), 1e-300))  # noqa: E731
                        if a is not None and np.shape(np.asarray(a)) == np.shape(b) else math.inf)
    n_checks = len(doc.get("checks", []))
    shift_ok = _weights_sum_to_one(inst, z, rho)

    def value(ev, text: str, field: str):
        try:
            return ev.eval(text)
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
            ledger.require(field, False, f"{field}: cannot evaluate {text[:60]!r}: {exc}")
            return None

    def to_text(tex: str, field: str) -> str:
        try:
            return tex_to_text(tex)
        except (ValueError, IndexError) as exc:
            ledger.require(field, False, f"{field}: cannot read {tex[:60]!r}: {exc}")
            return "0"

    # ---- the LaTeX document
    tex = files.get("latex")
    if tex is not None:
        base = {**env, **cov}
        for k, v in re.findall(r"\$\\kappa_\{(\d+)\} = (.*?)\$", tex):  # named exact numbers: p/q or a decimal
            try:
                base[f"kappa_{k}"] = constant_value(v)
            except ValueError:
                ledger.require("latex constants", False, f"LaTeX constant kappa_{k} = {v[:40]!r}")
        texts: dict[str, str] = {}
        inverse: set[str] = set()
        displays = _align(tex)
        for lhs, body in displays:
            mq = re.fullmatch(r"(\\mathcal\{Q\}_\{\d+\})(\^\{-1\})?", lhs)
            if mq:
                name = _name(mq.group(1))
                inverse.add(name)
                if not mq.group(2):
                    bm = re.fullmatch(r"\\Big\((.*)\\Big\)\^\{-1\}", body)
                    ledger.require("latex inverses", bm is not None, f"LaTeX {lhs} is not (F)^{{-1}}: {body[:40]!r}")
                    body = bm.group(1) if bm else "0"
                texts[name] = to_text(body, "latex inverses")
            elif not re.match(r"(m_\{|z\^\*_\{|e_\{|V_\{)", lhs):
                texts[_name(lhs)] = to_text(body, "latex definitions")
        ev = Evaluator(d, base, texts, inverse)
        seen: dict[str, set] = {"round map": set(), "fixed point": set(), "residual": set()}
        for lhs, body in displays:
            mm = re.fullmatch(r"m_\{(\w+)\}\^\{\\mathrm\{new\}\}", lhs)
            mz = re.fullmatch(r"z\^\*_\{(\w+)\}", lhs)
            me = re.fullmatch(r"e_\{(\w+)\} = z\^\*_\{(\w+)\} - w\^\*_\{(\w+)\}", lhs)
            mv = re.fullmatch(r"V_\{(\w+)(?:,(\w+))?\}", lhs)
            if mm and mm.group(1) in idx:
                seen["round map"].add(mm.group(1))
                ledger.add("latex round map", rel(value(ev, to_text(body, "latex round map"), "latex round map"),
                                                  new[idx[mm.group(1)]].reshape(d, 1)), FLOAT_BAR)
            elif mz and mz.group(1) in idx:
                seen["fixed point"].add(mz.group(1))
                ledger.require("latex fixed point", document_form(doc, "fixed_point", mz.group(1)) == body,
                               f"JSON's LaTeX of z*_{mz.group(1)} is not the LaTeX's")
                jl = doc.get("agents", {}).get(mz.group(1), {}).get("fixed_point", {}).get("latex")
                ledger.require("latex fixed point",
                               isinstance(jl, str) and " ".join(jl.split()) == spelled_out(body, doc),
                               f"JSON's latex of z*_{mz.group(1)} is not the LaTeX's with its constants spelled out")
                ledger.add("latex fixed point", rel(value(ev, to_text(body, "latex fixed point"), "latex fixed point"),
                                                    z[idx[mz.group(1)]].reshape(d, 1)), FLOAT_BAR)
            elif me and me.group(1) in idx and me.group(1) == me.group(2) == me.group(3):
                k = idx[me.group(1)]
                seen["residual"].add(me.group(1))
                ledger.require("latex residual", document_form(doc, "residual", me.group(1)) == body,
                               f"JSON's LaTeX of e_{me.group(1)} is not the document's")
                jl = doc.get("agents", {}).get(me.group(1), {}).get("residual", {}).get("latex")
                ledger.require("latex residual",
                               isinstance(jl, str) and " ".join(jl.split()) == spelled_out(body, doc),
                               f"JSON's latex of e_{me.group(1)} is not the document's with its constants spelled out")
                got = value(ev, to_text(body, "latex residual"), "latex residual")
                ledger.add("latex residual", residual_rel(got, z[k], inst.target[k]), FLOAT_BAR)
            elif mv:
                a, b = mv.group(1), mv.group(2) or mv.group(1)
                seen.setdefault("covariance", set()).add(f"{a},{b}")
                ledger.add("latex covariance", rel(value(ev, to_text(body, "latex covariance"), "latex covariance"),
                                                   cov[f"V_{a}_{b}"]), FLOAT_BAR)
        covs = seen.pop("covariance", set())
        for what, got in seen.items():
            ledger.require(f"latex {what}", got == set(names), f"LaTeX {what} displays for {sorted(got)}, "
                           f"agents {names}")
        ledger.require("latex covariance", covs == {f"{names[a]},{names[b]}" for a in cols for b in cols if a <= b},
                       f"LaTeX covariance displays for {sorted(covs)}")
        # the rate
        mr = re.search(r"\\subsection\*\{Rate\}\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)
        try:
            got_rate = _rate_value(ev, mr.group(1)) if mr else math.nan
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
            ledger.require("latex rate", False, f"LaTeX rate unreadable: {exc}")
            got_rate = math.nan
        ledger.add("latex rate", abs(got_rate - rho) / rho, FLOAT_BAR)
        said = "Here $\\Phi_{RR}$ is the block of the round map above on the live agents." in tex
        ledger.require("latex rate", said == (mr is not None and "\\Phi_{RR}" in mr.group(1)),
                       "LaTeX: Phi_RR explained iff the rate is stated with it")
        # the Delta sentence (two agents): e_X in C3's gap
        md = re.search(r"With \$\\Delta = (.*?)\$ \(the gap of C3\): (.*)\.\n", tex)
        one = [len(t) == 1 and t != ["0"] for t in (e.get("residual", {}).get("terms", [])
                                                    for e in doc.get("agents", {}).values())]  # 0 is no product
        ledger.require("latex delta", (md is not None) == (len(names) == 2 and all(shift_ok) and all(one)),
                       "LaTeX's Delta sentence: two agents, weights summing to 1, each residual one product")
        if md:
            ledger.require("latex delta", "Delta" in env and rel(value(ev, to_text(md.group(1), "latex delta"),
                                                                       "latex delta"), env.get("Delta")) < FLOAT_BAR,
                           f"LaTeX Delta = {md.group(1)!r} is not w*_B - w*_A")
            for name, body in re.findall(r"\$e_\{(\w+)\} = (.*?)\$", md.group(2)):
                k = idx[name]
                ledger.add("latex delta", rel(value(ev, to_text(body, "latex delta"), "latex delta"),
                                              (z[k] - inst.target[k]).reshape(d, 1)), FLOAT_BAR)
        # hypotheses: each stated matrix times its named inverse is I
        mh = re.search(r"\\paragraph\{Hypotheses\.\} (.*)\.\n", tex)
        stated = set()
        for item in (mh.group(1).split("; ") if mh and mh.group(1) != "none" else []):
            hi = re.fullmatch(r"\$(.*)\$ is invertible \(its inverse is \$(\\mathcal\{Q\}_\{\d+\})\$\)", item)
            hp = re.fullmatch(r"the pivot \$(\\mathcal\{Q\}_\{\d+\})\^\{-1\}\$ above is invertible", item)
            if hp is not None:  # a pivot too long to repeat: its display above
                stated.add(_name(hp.group(1)))
                ledger.require("latex hypotheses", _name(hp.group(1)) in inverse,
                               f"LaTeX hypothesis names the pivot {hp.group(1)}^{{-1}}, not displayed")
                continue
            if hi is None:
                ledger.require("latex hypotheses", False, f"LaTeX hypothesis {item[:60]!r}")
                continue
            stated.add(_name(hi.group(2)))
            F = value(ev, to_text(hi.group(1), "latex hypotheses"), "latex hypotheses")
            Q = value(ev, _name(hi.group(2)), "latex hypotheses")
            ok = F is not None and Q is not None
            ledger.add("latex hypotheses", rel(ev._mat(F) @ ev._mat(Q), np.eye(d)) if ok else math.inf, FLOAT_BAR)
        ledger.require("latex hypotheses", stated == inverse, f"LaTeX hypotheses name {sorted(stated)}, inverses "
                       f"{sorted(inverse)}")
        # phases, agents, live agents, checks
        mp = re.search(r"\\subsection\*\{Phases\}\n\\begin\{enumerate\}\n(.*?)\\end\{enumerate\}", tex, re.S)
        items = re.findall(r"\\item (.*)\n", mp.group(1)) if mp else []
        got_heard = [(lst, body) for item in items for lst, body in re.findall(r"\$(\w+)\$ hears \$(.*?)\$", item)]
        ledger.require("latex phases", len(items) == len(inst.rounds or ()) and len(got_heard) == len(heard),
                       f"LaTeX lists {len(items)} phases ({len(got_heard)} listeners) for {len(inst.rounds or ())}")
        pev = Evaluator(1, ms, {}, set())
        for (lst, body), (lst_ref, row) in zip(got_heard, heard):
            want = sum(w * ms[f"m_{s}"] for s, w in row.items())
            got = value(pev, to_text(body, "latex phases"), "latex phases")
            ledger.require("latex phases", lst == lst_ref and got is not None and abs(got - want) <= FLOAT_BAR * (
                1 + abs(want)), f"LaTeX phase: {lst} hears {body!r}, config: {lst_ref} hears {row}")
        ma = re.search(r"\nAgents (.*?)\. Each turn", tex)
        ledger.require("latex agents", ma is not None and ma.group(1) == ", ".join(f"${n}$" for n in names),
                       f"LaTeX agents {ma.group(1) if ma else None!r}")
        ml = re.search(r"Live agents \(messages read before they are overwritten\): (.*)\.\n", tex)
        live = re.findall(r"\$(\w+)\$", ml.group(1)) if ml else []
        ledger.require("latex live agents", set(live) <= _live(inst) and {names[k] for k in cols} <= set(live),
                       f"LaTeX live agents {live}")
        mc = re.search(r"\\subsection\*\{Checks \(V1, free algebra\)\}\\begin\{itemize\}\n(.*?)\\end\{itemize\}",
                       tex, re.S)
        citems = re.findall(r"\\item (.*)\n", mc.group(1)) if mc else []
        ledger.require("latex checks", len(citems) == n_checks > 0 and all(i.endswith(": proved.") for i in citems),
                       f"LaTeX lists {len(citems)} checks ({sum(i.endswith(': proved.') for i in citems)} proved) "
                       f"for {n_checks}")

        _check_layout(ledger, tex, doc.get("typeset") or {})

    # ---- the JSON document's LaTeX fields and statements
    jtexts = {_name(e["name"]): to_text(e["latex"], "json latex") for e in doc.get("inverses", [])}
    jtexts.update({_name(e["name"]): to_text(e["latex"], "json latex") for e in doc.get("named_factors", [])})
    jtexts.update({_name(e["name"]): to_text(e["latex"], "json latex") for e in doc.get("definitions", [])})
    jev = Evaluator(d, {**env, **cov}, jtexts, {_name(e["name"]) for e in doc.get("inverses", [])})
    rm = doc.get("round_map", {})
    for i, n in enumerate(names):
        prow = [value(jev, to_text(x["latex"], "json latex round map"), "json latex round map")
                for x in rm.get("Phi", [[]] * len(names))[i]]
        blocks = [jev._mat(x) if x is not None else np.full((d, d), np.nan) for x in prow]
        ledger.add("json latex round map", rel(np.hstack(blocks) if blocks else None,
                                               Phi_ref[i * d:(i + 1) * d]), FLOAT_BAR)
        r_i = value(jev, to_text(rm["r"][i]["latex"], "json latex round map"), "json latex round map")
        ledger.add("json latex round map", rel(r_i, r_ref[i * d:(i + 1) * d].reshape(d, 1)), FLOAT_BAR)
    for n, e in doc.get("agents", {}).items():
        k = idx[n]
        ledger.add("json latex fixed point", rel(value(jev, to_text(e["fixed_point"]["latex"], "json latex"),
                                                       "json latex"), z[k].reshape(d, 1)), FLOAT_BAR)
        for key in ("latex", "terms"):
            t = e["residual"][key] if key == "latex" else " ".join(e["residual"][key])
            got = value(jev, to_text(t, "json latex"), "json latex")
            ledger.add("json latex residual", residual_rel(got, z[k], inst.target[k]), FLOAT_BAR)
        ledger.require("json steps per turn", e.get("steps_per_turn") == int(inst.steps[k]),
                       f"JSON steps_per_turn of {n}: {e.get('steps_per_turn')}, config {int(inst.steps[k])}")
        ledger.require("json weights sum to one", e["residual"].get("weights_sum_to_one") == shift_ok[k],
                       f"JSON weights_sum_to_one of {n}: {e['residual'].get('weights_sum_to_one')}")
    for key, e in doc.get("lyapunov", {}).items():
        a, b = key.split(",")
        ledger.require("json latex covariance", e.get("lhs") == (f"V_{{{a}}}" if a == b else f"V_{{{a},{b}}}"),
                       f"JSON lyapunov {key} lhs {e.get('lhs')!r}")
        ledger.add("json latex covariance", rel(value(jev, to_text(e["latex"], "json latex covariance"),
                                                      "json latex covariance"), cov[f"V_{a}_{b}"]), FLOAT_BAR)
    # each formula's "terms" (the LaTeX lines are broken from) are its LaTeX, term by term
    formulas = [*doc.get("lyapunov", {}).values(), *doc.get("definitions", []), *doc.get("inverses", []),
                *doc.get("named_factors", []), *[e[k] for e in doc.get("agents", {}).values()
                                                 for k in ("fixed_point", "residual")]]
    for e in formulas:
        whole = value(jev, to_text(e["latex"], "json terms"), "json terms")
        split = value(jev, to_text(" ".join(e.get("terms", [])) or "0", "json terms"), "json terms")
        ledger.add("json terms", rel(jev._mat(split) if split is not None else None, jev._mat(whole))
                   if whole is not None else math.inf, FLOAT_BAR)
        ledger.require("json terms", not e.get("terms") or not e["terms"][0].startswith("+"),
                       f"JSON terms start with a plus: {(e.get('terms') or [''])[0][:40]!r}")
    # the identity is written Id beside matrices, never multiplied into a product (documented in printing.text)
    texts_json = [x["text"] for row in rm.get("Phi", []) for x in row] + [x["text"] for x in rm.get("r", [])] + [
        e["text"] for e in formulas]
    bad_id = [t for t in texts_json if re.search(r"[A-Za-z_]\w*\*Id\b|\bId\*[A-Za-z(]", t)]
    ledger.require("json text identity", not bad_id, f"JSON text multiplies Id: {bad_id[:1]!r:.80}")
    pairs = {f"{names[a]},{names[b]}" for a in cols for b in cols if a <= b}  # the live messages' blocks
    ledger.require("json latex covariance", set(doc.get("lyapunov", {})) == pairs,
                   f"JSON lyapunov blocks {sorted(doc.get('lyapunov', {}))}, pairs {sorted(pairs)}")
    # the rate is reduced when its blocks cover fewer messages than the live agents or a root is taken
    blocks = [value(jev, to_text(b["latex"], "json rate"), "json rate")
              for b in doc.get("contraction_rate", {}).get("blocks", [])]
    sizes = [np.shape(jev._mat(b if b is not None else 0.0))[0] // d for b in blocks]
    power = doc.get("contraction_rate", {}).get("power")
    ledger.require("json rate reduced", doc.get("contraction_rate", {}).get("reduced") == (
        sum(sizes) < len(cols) or power != 1), f"JSON rate reduced {doc.get('contraction_rate', {}).get('reduced')} "
        f"for blocks of {sizes} agents, {len(cols)} live, power {power}")
    ledger.require("json agents", list(doc.get("agents", {})) == names, f"JSON agents {list(doc.get('agents', {}))}")
    live = doc.get("live_agents", [])
    ledger.require("json live agents", set(live) <= _live(inst) and {names[k] for k in cols} <= set(live),
                   f"JSON live agents {live}")
    phases = doc.get("phases", [])
    flat = [(lst, {s: _fraction(w) for s, w in row.items()}) for ph in phases for lst, row in ph.items()]
    flat_tex = [(lst, {s: value(Evaluator(1, {}, {}, set()), to_text(w, "json phases"), "json phases")
                       for s, w in row.items()}) for ph in doc.get("phases_latex", []) for lst, row in ph.items()]
    for listed in (flat, flat_tex):
        ledger.require("json phases", len(phases) == len(inst.rounds or ()) and len(listed) == len(heard) and all(
            lst == lr and set(row) == set(rr) and all(abs(row[s] - rr[s]) <= FLOAT_BAR for s in rr)
            for (lst, row), (lr, rr) in zip(listed, heard)), f"JSON phases {listed} for {heard}")
    n_inv = len(doc.get("inverses", []))
    ledger.require("json hypotheses", doc.get("hypotheses") == [f"Q{k + 1} invertible" for k in range(n_inv)],
                   f"JSON hypotheses {doc.get('hypotheses')} for {n_inv} inverses")
    ledger.require("json checks", n_checks > 0 and all(c.get("holds") is True and c.get("method") == "V1"
                                                       for c in doc.get("checks", [])), "JSON checks not all proved")

    # ---- the text format
    if "text" in printed:
        lines = printed["text"].stdout.splitlines()
        ttexts = {}
        for line in lines:
            mq = re.fullmatch(r"(Q\d+) = \((.*)\)\*\*\(-1\)", line)
            md = re.fullmatch(r"(\S+) := (.*)", line)
            ms_ = re.fullmatch(r"(S\d+) = (.*)", line)
            if mq:
                ttexts[mq.group(1)] = mq.group(2)
            elif md:
                ttexts[md.group(1)] = md.group(2)
                ttexts[_plain_text(md.group(1))] = md.group(2)
            elif ms_:
                ttexts[ms_.group(1)] = ms_.group(2)
        inv = {q for q in ttexts if re.fullmatch(r"Q\d+", q)}
        tev = Evaluator(d, {**env, **cov}, ttexts, inv)
        rows, tchecks, vkeys, zkeys = set(), [], set(), set()
        for line in lines:
            mp_ = re.fullmatch(r"Phi\[(\w+)\] = \[(.*)\] ; r = (.*)", line)
            mv = re.fullmatch(r"V\[(\w+),(\w+)\] = (.*)", line)
            mz_ = re.fullmatch(r"z_(\w+)_star = (.*)", line)
            me_ = re.fullmatch(r"e_(\w+) = z_\1_star - w_\1_star = (.*)", line)
            mt = mz_ or me_
            if mp_ and mp_.group(1) in idx:
                i = idx[mp_.group(1)]
                rows.add(mp_.group(1))
                row = value(tev, "[" + mp_.group(2) + "]", "text round map")
                ledger.add("text round map", rel(row, Phi_ref[i * d:(i + 1) * d]), FLOAT_BAR)
                ledger.add("text round map", rel(value(tev, mp_.group(3), "text round map"),
                                                 r_ref[i * d:(i + 1) * d].reshape(d, 1)), FLOAT_BAR)
            elif mv:
                vkeys.add(f"{mv.group(1)},{mv.group(2)}")
                ledger.add("text covariance", rel(value(tev, mv.group(3), "text covariance"),
                                                  cov[f"V_{mv.group(1)}_{mv.group(2)}"]), FLOAT_BAR)
            elif mt is not None:
                k = idx.get(mt.group(1), -1)
                zkeys.add(("z" if mz_ else "e") + str(k))
                got = value(tev, mt.group(2), "text fixed point")
                ledger.add("text fixed point and residual", residual_rel(got, z[k], 0.0 if mz_ else inst.target[k])
                           if k >= 0 else math.inf, FLOAT_BAR)
            elif line.startswith("rate: rho = "):
                ledger.add("text rate", abs(_text_rate(tev, line[len("rate: rho = "):]) - rho) / rho, FLOAT_BAR)
                # its form: one spectral radius per block (under max() when several), the root iff the power
                # (confirmed by the numbers, check_derivation) is above 1
                cr = doc.get("contraction_rate", {})
                nb, p = len(cr.get("blocks", [])), cr.get("power")
                roots = re.findall(r"spectral_radius\(.*?\)(\*\*\(1/(\d+)\))?(?:, |\)?$)", line)
                ledger.require("text rate", line.count("spectral_radius(") == nb and line.startswith(
                    "rate: rho = max(") == (nb > 1) and all((r[1] == str(p)) if p != 1 else not r[0] for r in roots)
                    and len(roots) == nb, f"text {line[:80]!r} for {nb} blocks, power {p}")
            elif line.startswith("hypotheses: "):
                got = line[len("hypotheses: "):]
                ledger.require("text hypotheses", got == ("; ".join(f"{q} invertible" for q in sorted(
                    inv, key=lambda q: int(q[1:]))) or "none"), f"text hypotheses {got!r}")
            elif line.startswith("agents: "):
                steps = "{" + ", ".join(f"'{n}': {int(inst.steps[idx[n]])}" for n in names) + "}"
                ledger.require("text agents", line.startswith(f"agents: {', '.join(names)}  (")
                               and line.endswith(f"steps per turn {steps})"), f"text {line[:80]!r}")
            elif line.startswith("live agents (read before overwritten): "):
                tlive = line.split(": ", 1)[1].split(", ")
                ledger.require("text live agents", set(tlive) <= _live(inst) and {names[k] for k in cols} <= set(tlive),
                               f"text {line!r}")
            elif line.startswith("phases: "):
                tph = [json.loads(p.replace("'", '"')) for p in line[len("phases: "):].split(" ; ")]
                flat = [(lst, {s: _fraction(w) for s, w in row.items()}) for ph in tph for lst, row in ph.items()]
                ledger.require("text phases", len(tph) == len(inst.rounds or ()) and len(flat) == len(heard) and all(
                    lst == lr and set(row) == set(rr) and all(abs(row[s] - rr[s]) <= FLOAT_BAR for s in rr)
                    for (lst, row), (lr, rr) in zip(flat, heard)), f"text {line[:80]!r}")
            elif line.startswith("["):
                tchecks.append(line)
        ledger.require("text round map", rows == set(names), f"text round map rows {sorted(rows)}")
        ledger.require("text fixed point and residual", zkeys == {f"{x}{k}" for x in "ze" for k in range(len(names))},
                       f"text z/e lines {sorted(zkeys)}")
        ledger.require("text covariance", vkeys == pairs, f"text V lines {sorted(vkeys)}")
        ledger.require("text checks", len(tchecks) == n_checks and all(c.startswith("[V1 proved] ") for c in tchecks),
                       f"text lists {len(tchecks)} checks for {n_checks}")

    # ---- the macros file
    mac = files.get("macros")
    if mac is not None:
        _check_names(ledger)
        defs: dict[str, str] = {}
        for line in mac.splitlines():
            mdef = re.fullmatch(r"\\(?:new|provide)command\{\\([A-Za-z]+)\}\{(.*)\}", line)
            if mdef:
                defs[mdef.group(1)] = mdef.group(2)
        prefix = "aadProtocol" + _words(stem)
        ledger.require("macros prefix", all(k.startswith(prefix) for k in defs) and defs.get(prefix + "Delta")
                       == r"\Delta", f"macros {sorted(defs)[:4]} for prefix {prefix}")
        mtexts, minv = {}, set()
        for name, body in defs.items():
            mq = re.fullmatch(r"(.*) = \\left\((.*)\\right\)\^\{-1\}", _expand(body, defs)) \
                if "Definition" in name else None
            if mq:
                mtexts[_name(mq.group(1).strip())] = to_text(mq.group(2), "macros")
                minv.add(_name(mq.group(1).strip()))
            elif "Definition" in name:
                lhs, rhs = _expand(body, defs).split(" = ", 1)
                mtexts[_name(lhs.strip())] = to_text(rhs, "macros")
        mev = Evaluator(d, {**env, **cov}, mtexts, minv)
        ledger.require("macros inverses", len(minv) == len(doc.get("inverses", [])),
                       f"macros define {len(minv)} inverses")
        for n in names:
            k = idx[n]
            for what, offset in (("FixedPoint", 0.0), ("Residual", inst.target[k])):
                mbody = defs.get(f"{prefix}{what}{_words(n)}")
                ledger.require("macros names", mbody is not None, f"no macro {prefix}{what}{_words(n)}")
                if mbody is not None:
                    got = value(mev, to_text(_expand(mbody, defs), "macros"), "macros")
                    ledger.add(f"macros {what}", residual_rel(got, z[k], offset), FLOAT_BAR)
        try:
            got_rate = _rate_value(mev, _expand(defs.get(prefix + "Rate", ""), defs))
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
            ledger.require("macros rate", False, f"macros rate unreadable: {exc}")
            got_rate = math.nan
        ledger.add("macros rate", abs(got_rate - rho) / rho, FLOAT_BAR)
        # every formal inverse and named factor in a formula by its prefixed symbol macro (documented in as_macros)
        raw = [k for k, v in defs.items() if re.search(r"\\mathcal\{[QS]\}", v)
               and not re.fullmatch(r"\\mathcal\{[QS]\}_\{\d+\}", v)]
        ledger.require("macros symbols", not raw, f"macros {raw[:2]} write a formal inverse without its macro")
        mh = re.search(r"^% hypotheses: (.*)$", mac, re.M)
        ledger.require("macros hypotheses", mh is not None and mh.group(1) == (
            "; ".join(f"Q{k + 1} invertible" for k in range(len(minv))) or "none"), "macros hypotheses line")


def _fraction(w: str) -> float:
    """``'3/10'`` -> 0.3 (an exact weight as the document prints it)."""
    num, _, den = str(w).partition("/")
    return float(num) / float(den or 1)


def _plain_text(name: str) -> str:
    return re.sub(r"\^\{\((\d+)\)\}", r"_\1", name).replace("_{", "_").replace(",", "_").replace("}", "")


def _text_rate(ev, text: str) -> float:
    """``spectral_radius(X)**(1/q)`` or ``max(spectral_radius(X), ...)`` evaluated."""
    values, pos = [], 0
    while True:
        i = text.find("spectral_radius(", pos)
        if i < 0:
            break
        depth, k = 0, i + len("spectral_radius")
        while True:
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            if depth == 0:
                break
            k += 1
        X = ev._mat(ev.eval(text[i + len("spectral_radius("):k]))
        root = re.match(r"\*\*\(1/(\d+)\)", text[k + 1:])
        values.append(float(np.max(np.abs(np.linalg.eigvals(X)))) ** (1.0 / (int(root.group(1)) if root else 1)))
        pos = k + 1
    if not values:
        raise ValueError(f"rate {text[:40]!r}")
    return max(values)


def _packed(terms: list) -> list[str]:
    """Terms ``[tex, width]`` packed greedily into lines of at most ``LINE_UNITS`` (a wider term alone)."""
    from theory.protocol.typeset import LINE_UNITS  # the page's width in the typeset's units (a parameter)

    lines: list[list[str]] = []
    width = 0.0
    for t, w in terms:
        if not lines or width + w > LINE_UNITS:
            lines.append([])
            width = 0.0
        lines[-1].append(t)
        width += w
    return [" ".join(x) for x in lines]


def _check_layout(ledger: Ledger, tex: str, ts: dict) -> None:
    """The LaTeX document's displays break into the lines its typeset terms pack into (each line at most the
    page width, a wider term alone; a pivot inverse in ``\\Big(..\\Big)^{-1}`` on one line, else named
    ``Q^{-1}``): the JSON document's ``typeset`` terms, re-packed here, against the document's lines."""
    shown: dict[str, list[str]] = {}
    for body in re.findall(r"\\begin\{align\*\}\n  (.*?)\n\\end\{align\*\}", tex, re.S):
        lhs, _, rhs = body.partition(" &= ")
        shown[lhs] = rhs.split(" \\\\\n  &\\quad ")
    n = 0
    for key in ("round_map", "definitions", "inverses", "named_factors", "fixed_point", "residual", "lyapunov"):
        for e in ts.get(key, []):
            lines, lhs = _packed(e["terms"]) or ["0"], e["lhs"]
            if key == "inverses":
                if len(lines) > 1:
                    lhs += "^{-1}"
                else:
                    lines = [r"\Big(" + lines[0] + r"\Big)^{-1}"]
            n += 1
            ledger.require("latex layout", shown.get(lhs) == lines,
                           f"LaTeX {lhs} in lines {shown.get(lhs)!r:.80}, packed {lines!r:.80}")
    ledger.require("latex layout", n == len(shown) > 0, f"LaTeX has {len(shown)} displays, typeset {n}")


# Config file stems as users name them (the examples are protocol_*.json) and the macro prefix each must give:
# "aad" + the stem in words (capitalised, digits spelt), with "Protocol" first unless the words start with it.
STEMS = ("protocol_ring", "two_agents", "config_0", "Protocol", "dense_protocol_12", "x")


def _check_names(ledger: Ledger) -> None:
    """The macro names a config's file name gives (``--format macros`` without ``--prefix``), and the symbol
    macros renamed with the prefix (``\\aadDelta`` -> ``\\<prefix>Delta``, never a longer name)."""
    from theory.core.notation import SYMBOL_MACROS
    from theory.protocol.report import default_macro_prefix, prefixed_symbol_macros, symbol_macro_lines

    for stem in STEMS:
        words = _words(stem)
        want = "aad" + (words if words.startswith("Protocol") else "Protocol" + words)
        got = default_macro_prefix(stem)
        ledger.require("macros prefix", got == want, f"prefix of {stem}.json: {got}, not {want}")
    for name, body in SYMBOL_MACROS.items():
        short = name.removeprefix("aad")
        tex = f"\\{name} + \\{name}X \\{name}"
        got = prefixed_symbol_macros(tex, "pre")
        ledger.require("macros symbols", got == f"\\pre{short} + \\{name}X \\pre{short}", f"{tex} renamed {got}")
        ledger.require("macros symbols", f"\\providecommand{{\\pre{short}}}{{{body}}}" in symbol_macro_lines("pre"),
                       f"no \\providecommand of \\pre{short}")
