"""VS: the *written form* of what ``a2ad derive --protocol`` prints (issue 22, item 5; helper ``form``).

:mod:`~proofs_check.verification.shipped_derive` and :mod:`~proofs_check.verification.shipped_derive_b`
evaluate every printed expression numerically; a printed formula whose value is right but whose form is
not the documented one passed them. This module reads the form, against references built here from the
protocol's definition and the documented spelling, never from the package's output:

* :func:`check_form` (every config a derive VS method reads, from
  :func:`~proofs_check.verification.shipped_derive.check_derivation`):

  - ``K_j``: a residual's coefficient of the gap ``w_j* - w_i*`` is written ``X K_j`` (``K_j = I - M_j``,
    docs/protocol.rst; ``theory.protocol.report._pretty``: "where that is exact"). Reference: a
    noncommutative polynomial ``G`` is ``X (I - M_n)`` for some ``X`` iff, grouping its words as ``u M_n^k``
    (``u`` not ending in ``M_n``), the coefficients of each ``u`` sum to 0 (``p_u(1) = 0``). A coefficient
    printed without any ``K`` must not be of that form for any agent ``n`` (expanded path only: the named
    Schur path writes one term per word by design).
  - the identity: a printed sum of matrices never holds a bare scalar term: it is written ``Id``
    (``theory.protocol.printing.text``; round map, inverses, named factors, rate blocks; expanded path).
  - the text and macros formats made from the command's own JSON (as ``DerivedProtocol.to_text`` /
    ``to_macros`` do): the rate line states one ``spectral_radius`` per JSON rate block, ``max`` iff there are
    several, the root iff the power is above 1; one ``NAME := ...`` line and one ``\\<prefix>Definition...``
    macro per named block; the report's own JSON (``report.as_json``) is indented as the command's document
    (``DerivedProtocol.INDENT``: "the report's own JSON"); the fingerprint has the length of the formulas
    file's fingerprints (``a2ad-formulas.tex``, docs/latex.rst: "as a2ad-formulas.tex does") and does not
    depend on the order of the document's keys (a hash of the formulas, not of their order).

* :func:`form_method` (joined to P2's VS): protocols the gallery does not have, compiled through the public
  ``theory.api`` (``compile_protocol(..., noise=False)`` and ``derive``):

  - two agents answering simultaneously twice per round (``TWICE``: one rate block at power 1 that covers
    one of the two live agents) and a three-agent protocol whose rate has two blocks at power 2 covering
    every live agent (``TWO_BLOCKS``): ``rate.reduced`` against its definition (the evaluated blocks cover
    fewer live messages than the live agents, computed here from the phases, or a root), and the text
    format's rate line with ``max`` of two radii;
  - symbolic weights (``SYMBOLIC``: ``1/a``; ``theory.api.protocol_spec`` takes SymPy weights): every
    symbolic denominator of a printed fixed point is a hypothesis ``... != 0``;
  - the documented spellings of :mod:`theory.protocol.printing`: formal inverses in full with
    ``abbreviate=False`` (``\\left(F\\right)^{-1}``), the gap ``(w^*_{j} - w^*_{i})`` and ``K_{j}`` in LaTeX,
    a matrix as ``Matrix([[..], ..])`` that ``sympy.parse_expr`` reads back, ``to_matrix_expr`` giving
    vectors ``d x 1`` and matrices ``d x d``, a letter as its ``MatrixSymbol`` and a formal inverse as an
    ``Inverse``, and commuting with a scalar factor;
  - the LaTeX layout: a pivot whose display takes two lines is named ``Q^{-1}`` on its left side, with no
    bracket spanning lines (``report._eq``; the quick profile derives no protocol with such a pivot).
"""
from __future__ import annotations

import re
import time
from typing import Any

import sympy as sp

from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger

__all__ = ["TWICE", "TWO_BLOCKS", "SYMBOLIC", "check_form", "form_method", "report_doc"]

# Two agents answering each other simultaneously, twice per round: Phi = diag(M_A M_B, M_B M_A), whose two
# diagonal blocks are one word up to rotation: one rate block (power 1) for two live agents.
TWICE = [{"A": {"B": 1}, "B": {"A": 1}}, {"A": {"B": 1}, "B": {"A": 1}}]
# Three agents whose round map squared is block triangular with two distinct diagonal blocks covering both live
# agents (found by a search over small protocols): power 2, two blocks, no block left out.
TWO_BLOCKS = [{"B": {"A": 1}, "A": {"B": 1}, "C": {"A": 1}}, {"A": {"A": 1}, "B": {"C": 1}},
              {"B": {"B": sp.Rational(1, 2), "C": sp.Rational(1, 2)}}]
# A symbolic weight 1/a (theory.api.protocol_spec reads SymPy weights): a fixed point with the denominator a.
_A = sp.Symbol("a")
SYMBOLIC = [{"A": {"B": 1 / _A}, "B": {"B": 1}}]

_GAP = re.compile(r"\(w_([A-Za-z0-9]+)_star - w_([A-Za-z0-9]+)_star\)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCS = {"Matrix", "transpose", "spectral_radius", "max"}


def report_doc(cmd: dict) -> dict:
    """The report's document (``theory.protocol.report.derived_theory``'s keys) from the command's JSON:
    the inverse of ``DerivedProtocol.to_json`` (per-agent entries back to ``fixed_points``, ``residuals``,
    ``steps_per_turn``; ``contraction_rate`` back to ``rate``)."""
    agents = cmd["agents"]
    doc = {k: v for k, v in cmd.items() if k not in ("agents", "contraction_rate", "schema_version")}
    doc["agents"] = list(agents)
    doc["rate"] = cmd["contraction_rate"]
    for old, new in (("steps_per_turn", "steps_per_turn"), ("fixed_points", "fixed_point"),
                     ("residuals", "residual")):
        doc[old] = {n: e[new] for n, e in agents.items() if new in e}
    return doc


def _parse(text: str, scalars: frozenset = frozenset()) -> sp.Expr:
    """A printed plain-text expression as a SymPy expression of noncommutative letters (gaps as one letter
    ``GAP_j_i``, the identity as the letter ``Id``); the names in ``scalars`` (symbolic weights) commute."""
    text = _GAP.sub(lambda m: f"GAP_{m.group(1)}_{m.group(2)}", text)
    names = {n: sp.Symbol(n, commutative=n in scalars) for n in _IDENT.findall(text) if n not in _FUNCS}
    return sp.parse_expr(text, local_dict={**names, "Matrix": sp.Matrix}, evaluate=True)


def _words(expr) -> dict[tuple, sp.Expr]:
    """``expr`` expanded: word (tuple of letter names, ``Id`` dropped, powers written out) -> coefficient."""
    out: dict[tuple, sp.Expr] = {}
    for t in sp.Add.make_args(sp.expand(expr)):
        c, nc = t.args_cnc()
        w: list[str] = []
        for f in nc:
            b, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            if b.name != "Id":
                w += [b.name] * k
        out[tuple(w)] = out.get(tuple(w), 0) + sp.Mul(*c)
    return {w: c for w, c in out.items() if sp.simplify(c) != 0}


def right_divisible(G: dict[tuple, sp.Expr], letter: str) -> bool:
    """``G = X (I - letter)`` for some polynomial ``X`` (see the module text); False for ``G = 0``."""
    sums: dict[tuple, sp.Expr] = {}
    for w, c in G.items():
        k = len(w)
        while k and w[k - 1] == letter:
            k -= 1
        sums[w[:k]] = sums.get(w[:k], 0) + c
    return bool(G) and all(sp.simplify(v) == 0 for v in sums.values())


def _k_form(ledger: Ledger, agent: str, text: str, names: list[str]) -> None:
    """One residual's gap coefficients: written with ``K`` only as ``X K_m``, and, without ``K``, not of that
    form for any agent."""
    try:
        words = _words(_parse(text))
    except (SyntaxError, TypeError, ValueError, AttributeError) as exc:
        ledger.require("residual text form", False, f"cannot read residual {agent} {text[:60]!r}: {exc}")
        return
    by_gap: dict[str, dict[tuple, sp.Expr]] = {}
    for w, c in words.items():
        if w and w[-1].startswith("GAP_"):
            by_gap.setdefault(w[-1], {})[w[:-1]] = c
    for g, G in by_gap.items():
        ks = {x for w in G for x in w if x.startswith("K_")}
        if ks:
            ok = len(ks) == 1 and all(w and w[-1] in ks and sum(x.startswith("K_") for x in w) == 1 for w in G)
            ledger.require("residual K_j form", ok, f"residual {agent}: {g} coefficient is not X*K_j: {text[:80]!r}")
            continue
        hit = [n for n in names if right_divisible(G, f"M_{n}")]
        ledger.require("residual K_j where exact", not hit,
                       f"residual {agent}: the {g} coefficient is X*(Id - M_{hit[0] if hit else ''}) but no K is "
                       f"written: {text[:80]!r}")


def _identity_written(ledger: Ledger, field: str, text: str) -> None:
    """A printed sum holding a matrix term has no bare scalar term (the identity is ``Id``)."""
    try:
        e = _parse(text)
    except (SyntaxError, TypeError, ValueError) as exc:
        ledger.require("identity written Id", False, f"cannot read {field} {text[:60]!r}: {exc}")
        return
    if isinstance(e, sp.MatrixBase):
        return
    terms = sp.Add.make_args(sp.expand(e))
    if any(not t.is_commutative for t in terms):
        bare = [t for t in terms if t.is_commutative]
        ledger.require("identity written Id", not bare, f"{field}: scalar term {bare[:1]} in {text[:60]!r}")


def _texts(cmd: dict) -> list[tuple[str, str]]:
    """(field, text) of every plain-text matrix expression of the command's JSON."""
    out = [(f"Phi[{i}][{j}]", x["text"]) for i, row in enumerate(cmd["round_map"]["Phi"]) for j, x in enumerate(row)]
    out += [(f"inverse {e['text_name']}", e["text"]) for e in cmd.get("inverses", [])]
    out += [(f"named factor {e['text_name']}", e["text"]) for e in cmd.get("named_factors", []) or []]
    for k, b in enumerate(cmd["contraction_rate"]["blocks"]):  # one entry, or a block matrix [a, b; c, d]
        out += [(f"rate block {k}", x) for x in _entries(b["text"])]
    return out


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses and brackets."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur]


def _entries(text: str) -> list[str]:
    """The entries of a printed rate block: ``[a, b; c, d]`` (rows by ``;``) or one expression."""
    if not text.startswith("["):
        return [text]
    return [x.strip() for row in _split(text[1:-1], ";") for x in _split(row, ",")]


def _rate_line(ledger: Ledger, text: str, blocks: list, power: int) -> None:
    line = next((x for x in text.splitlines() if x.startswith("rate: rho = ")), "")
    ok = (line.count("spectral_radius(") == len(blocks) and ("max(" in line) == (len(blocks) > 1)
          and line.count(f"**(1/{power})") == (len(blocks) if power > 1 else 0))
    ledger.require("text rate form", ok, f"text rate {line[:80]!r} for {len(blocks)} block(s) at power {power}")


def _reversed_keys(x: Any) -> Any:
    """``x`` with every mapping's keys in reverse order (the same document)."""
    if isinstance(x, dict):
        return {k: _reversed_keys(x[k]) for k in reversed(list(x))}
    return [_reversed_keys(v) for v in x] if isinstance(x, list) else x


def check_form(ledger: Ledger, cmd: dict, stem: str = "config") -> None:
    """The written form of one config's ``derive --protocol`` document (``cmd``: its JSON as printed)."""
    from numerics.results import DerivedProtocol
    from theory.core.formulas import Formula
    from theory.protocol import report

    names = list(cmd["agents"])
    if not cmd.get("definitions"):  # the expanded path: K_j where exact
        for n, e in cmd["agents"].items():
            _k_form(ledger, n, e["residual"]["text"], names)
        for field, text in _texts(cmd):  # (the named path's long sums: P1's dense protocol, 0.1 s; not read)
            _identity_written(ledger, field, text)
    doc = report_doc(cmd)
    text = report.as_text(doc)
    rate = cmd["contraction_rate"]
    _rate_line(ledger, text, rate["blocks"], int(rate["power"]))
    defs = cmd.get("definitions") or []
    lines = text.splitlines()
    ledger.require("text definitions", all(any(x.startswith(f"{e['text_name']} := ") for x in lines) for e in defs),
                   "the text format lacks a NAME := line of a named block")
    prefix = report.default_macro_prefix(stem)
    macros = report.as_macros(doc, prefix)
    ledger.require("macros definitions", macros.count(f"\\newcommand{{\\{prefix}Definition") == len(defs),
                   f"{macros.count(f'{prefix}Definition')} Definition macros for {len(defs)} named blocks")
    indent = lambda s: len(s.splitlines()[1]) - len(s.splitlines()[1].lstrip())  # noqa: E731
    ledger.require("report JSON indent", indent(report.as_json(doc)) == DerivedProtocol.INDENT,
                   "report.as_json is not indented as the command's document")
    fp = report.fingerprint(doc)
    want = len(Formula("X", "x", sp.Symbol("x"), sp.Symbol("y"), "").fingerprint)  # a2ad-formulas.tex's
    ledger.require("fingerprint", re.fullmatch(f"[0-9a-f]{{{want}}}", fp) is not None
                   and report.fingerprint(_reversed_keys(doc)) == fp and f"% fingerprint {fp} " in macros,
                   f"fingerprint {fp!r}: not {want} hex digits, or it depends on the order of the keys")


# ---------------------------------------------------------------- protocols the gallery does not have

def live_from_phases(rounds: list[dict], names: list[str]) -> list[str]:
    """Agents whose message at the start of a round is read before it is overwritten (definition)."""
    out = []
    for x in names:
        for ph in rounds:
            if any(x in row for row in ph.values()):  # heard in this phase (sources read at its start)
                out.append(x)
                break
            if x in ph:  # overwritten first
                break
    return out


def _block_agents(text: str) -> int:
    """Agents a printed rate block covers: its rows (``[a, b; c, d]``), or 1."""
    return len(_split(text[1:-1], ";")) if text.startswith("[") else 1


def _compiled(rounds: list[dict], noise: bool = False):
    from theory import api

    names = sorted({n for ph in rounds for lst, row in ph.items() for n in (lst, *row)})
    return api.compile_protocol(api.protocol_spec(names, rounds), noise=noise), names


def _check_rate_shapes(ledger: Ledger) -> None:
    from theory import api
    from theory.protocol import report

    for label, rounds, blocks_want in (("TWICE", TWICE, 1), ("TWO_BLOCKS", TWO_BLOCKS, 2)):
        cp, names = _compiled(rounds)
        doc = api.derive(cp)
        rate = doc["rate"]
        live = live_from_phases(rounds, names)
        ledger.require(f"{label} live agents", doc["live_agents"] == live, f"{label}: {doc['live_agents']} vs {live}")
        covered = sum(_block_agents(b["text"]) for b in rate["blocks"])
        root = re.search(r"\^\{1/\d+\}$", rate["latex"]) is not None
        ledger.require(f"{label} reduced", rate["reduced"] == (covered < len(live) or root),
                       f"{label}: reduced {rate['reduced']} with {covered} of {len(live)} live agents, root {root}")
        ledger.require(f"{label} blocks", len(rate["blocks"]) == blocks_want,
                       f"{label}: {len(rate['blocks'])} rate blocks")
        _rate_line(ledger, report.as_text(doc), rate["blocks"], int(rate["power"]))


def _check_symbolic(ledger: Ledger) -> None:
    from theory import api

    cp, _ = _compiled(SYMBOLIC)
    doc = api.derive(cp)
    hyp = [sp.parse_expr(h[:-len(" != 0")], local_dict={"a": _A}) for h in doc["hypotheses"] if h.endswith(" != 0")]
    have = {f for h in hyp for f in sp.factor_list(h)[1] for f in [f[0]]}
    dens = set()
    for e in doc["fixed_points"].values():
        for t in sp.Add.make_args(sp.expand(_parse(e["text"], frozenset({"a"})))):
            den = sp.denom(sp.Mul(*t.args_cnc()[0]))
            dens |= {f for f, _ in sp.factor_list(den)[1] if f.free_symbols}
    ledger.require("symbolic weights: hypotheses", bool(dens) and dens <= have,
                   f"denominators {sorted(map(str, dens))} vs hypotheses {doc['hypotheses']}")


def _check_printing(ledger: Ledger) -> None:
    from theory.core.model import d
    from theory.protocol import printing
    from theory.protocol.symbols import gap

    cp, names = _compiled([{"A": {"B": 1}, "B": {"A": 1}}])  # P2's protocol: two formal inverses
    A, B = names
    try:
        inv = printing.inverse_names(cp)
        for F, Q in cp.alg.inverted:
            full = printing.latex(cp, Q, abbreviate=False)
            inner = printing.latex(cp, F, abbreviate=False)
            ledger.require("latex full inverses", full == r"\left(" + inner + r"\right)^{-1}"
                           and r"\mathcal{Q}" not in full and inv[Q] not in full,
                           f"latex(Q, abbreviate=False) = {full[:60]!r}")
        tex = printing.latex(cp, gap(B, A) * sp.Symbol(f"K_{B}", commutative=False))
        ledger.require("latex gap and K_j names", tex.replace(" ", "") == f"(w^*_{{{B}}}-w^*_{{{A}}})K_{{{B}}}"
                       or tex.replace(" ", "") == f"K_{{{B}}}(w^*_{{{B}}}-w^*_{{{A}}})",
                       f"gap and K_j printed {tex!r}")
        mat = sp.Matrix([[x for x in row] for row in cp.Phi])
        txt = printing.text(cp, mat)
        back = _parse(txt)
        want = sp.Matrix([[_parse(printing.text(cp, x)) if x != 0 else 0 for x in row] for row in cp.Phi])
        ledger.require("text of a matrix", txt.startswith("Matrix([[") and isinstance(back, sp.MatrixBase)
                       and back.shape == mat.shape and (back - want).expand() == sp.zeros(*mat.shape),
                       f"text(Matrix) = {txt[:60]!r}")
        z = printing.to_matrix_expr(cp, cp.fixed_point[0])
        P = printing.to_matrix_expr(cp, cp.Phi[0][1])
        ledger.require("matrix expression shapes", z.shape == (d, 1) and P.shape == (d, d),
                       f"fixed point {z.shape}, Phi block {P.shape}")
        # a letter is its MatrixSymbol and a formal inverse an Inverse (the docstring), not a one-factor product or
        # a one-term sum
        MA = printing.to_matrix_expr(cp, sp.Symbol(f"M_{A}", commutative=False))
        Qs = [printing.to_matrix_expr(cp, Q) for _, Q in cp.alg.inverted]
        ledger.require("matrix expression of a letter", MA == sp.MatrixSymbol(f"M_{A}", d, d)
                       and all(isinstance(x, sp.Inverse) for x in Qs), f"M_{A} -> {sp.srepr(MA)[:60]}")
        for c in (2, sp.Rational(-1, 3)):
            ledger.require("matrix expression: scalar factor",
                           printing.to_matrix_expr(cp, c * cp.Phi[0][1]) == c * P,
                           f"to_matrix_expr({c} * Phi_AB) != {c} * to_matrix_expr(Phi_AB)")
    except (TypeError, ValueError, AttributeError, SyntaxError) as exc:
        ledger.require("printing", False, f"printing raised {type(exc).__name__}: {exc}")


def _check_layout(ledger: Ledger) -> None:
    from theory.protocol import report, typeset

    wide = [(f"+ X_{{{k}}}", typeset.LINE_UNITS * 0.6) for k in range(2)]  # two terms: exactly two lines
    one = [("X", 1.0)]
    try:
        two = report._eq(r"\mathcal{Q}_{1}", wide, (r"\Big(", r"\Big)^{-1}"))
        short = report._eq(r"\mathcal{Q}_{1}", one, (r"\Big(", r"\Big)^{-1}"))
    except TypeError as exc:
        ledger.require("long pivot layout", False, f"report._eq raised {exc}")
        return
    ledger.require("long pivot layout", r"\mathcal{Q}_{1}^{-1} &= " in two and r"\Big(" not in two
                   and two.count(r"\\") == 1, f"a two-line pivot printed {two[:80]!r}")
    ledger.require("one-line pivot layout", r"\mathcal{Q}_{1} &= \Big(X\Big)^{-1}" in short,
                   f"a one-line pivot printed {short[:80]!r}")


def form_method(profile: Profile) -> Outcome:
    """VS (joined to P2's): the protocols and printers above."""
    ledger = Ledger(instances=3)
    start = time.process_time()
    _check_rate_shapes(ledger)
    _check_symbolic(ledger)
    _check_printing(ledger)
    _check_layout(ledger)
    return ledger.outcome(f"derive's written form on TWICE, TWO_BLOCKS and SYMBOLIC, the printers' spellings and the "
                          f"long-pivot layout ({time.process_time() - start:.2f} s CPU)")

