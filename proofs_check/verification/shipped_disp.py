r"""VS: the widths ``a2ad derive --protocol`` writes beside its typeset terms (JSON ``typeset``), and what they decide.

Every display of the LaTeX document is a list of ``[term, width]`` (:mod:`theory.protocol.display`); the widths,
in units of a digit's width at 10 pt (:mod:`theory.protocol.typeset`), decide where a display breaks its lines,
whether a round-map coefficient is written once in parentheses, and whether the rate's block matrix is written
out. :mod:`proofs_check.verification.shipped_tyd` reads the form of the LaTeX; this module reads the widths, for
one config's document:

* every width is a number above 0 (a printed term takes room), an inverse's ``width`` is the width of its terms
  together (its display on one line), and a lone ``0`` is one unit (the unit is a digit's width);
* a block of the rate spanning several agents is as wide as its columns, each the widest of its cells (the
  cell's polynomial measured by :func:`theory.protocol.typeset.poly_tex`, the width model) plus TeX's column
  separation (:data:`BMATRIX_COLUMN_UNITS`); a one-agent block is its polynomial's width;
* a term of the round map, a fixed point or a residual is at least as wide as its parts (its coefficient, its
  letters, its tail, each measured by :mod:`theory.protocol.typeset`) and at most its sign's allowance wider
  (:data:`TERM_EXTRA_UNITS`);
* a hypothesis points at a pivot wider than :data:`LONG_PIVOT_UNITS` ("the pivot ... above is invertible"),
  never writes it out (shipped_tyd: a short one is written out);
* the covariance displays are named as the JSON's ``lyapunov`` entries (``V_{A}`` on the diagonal, ``V_{A,B}``
  off it; the JSON's names come from :func:`theory.protocol.report.derived_theory`, not from the display);
* a round-map row writes a message's coefficient of several terms once, in parentheses, exactly when the
  coefficient (measured as above) is narrower than ``display.PAREN_UNITS``, and such a term is wider than
  its coefficient by the brackets, the message and the sign (:data:`PAREN_EXTRA_UNITS`).

:data:`ZERO` (an agent that hears only itself, so its residual is ``0``) is typeset once per process: the
killers' protocols have no zero residual; so are :data:`ONE` (a single agent: no sentence on the gap of two
agents) and :data:`SYMBOLIC` in the compiler's forms (what a failed canonical
proof prints, through the theory API: ``derive --protocol`` reads numeric weights): its elimination divides by the
weight ``omega``, and the hypotheses must state ``omega \neq 0``.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from proofs_check.verification.shipped import FLOAT_BAR, Ledger

__all__ = ["ONE", "SYMBOLIC", "ZERO", "check_chain_shapes", "check_display"]

# bmatrix separates its columns by 2 \arraycolsep (5 pt each side of a column): 10 pt, 2 units a column.
BMATRIX_COLUMN_UNITS = 2.0
# What "+ \left(C\right) m_{X}" adds to its coefficient C: two brackets (3.9 pt each at 10 pt), the message m_{X}
# (about 14 pt), the sign with its spaces (about 12 pt): about 34 pt, 6.8 units; the estimates are rough (a
# letter is 3 units, 15 pt), so anything from 4.5 to 8.5 units reads as right.
PAREN_EXTRA_UNITS = (4.5, 8.5)
# What a term's sign and spaces add to its parts: "+" (7.8 pt) between two medium spaces (2.2 pt each), about
# 2.4 units; a term is never narrower than its parts, and the estimates may exceed TeX's by a letter (3 units).
TERM_EXTRA_UNITS = (0.0, 6.0)
# A pivot this wide (its display's width, most of a line of LINE_UNITS = 72) written out in a hypothesis would fill
# the paragraph with a formula the document displays above: it is pointed at instead.
LONG_PIVOT_UNITS = 60.0
# A two-agent protocol where A hears only itself (weight 1): z*_A = w*_A, the residual e_A is 0.
ZERO = [{"A": {"A": 1.0}, "B": {"A": 1.0}}]
# A single agent hearing half of itself.
ONE = [{"A": {"A": 0.5}}]
# A hears omega of B, then B hears A: the elimination's rules carry 1/omega (a symbolic denominator of the forms).
SYMBOLIC: list[dict[str, dict[str, str | int]]] = [{"A": {"B": "omega"}}, {"B": {"A": 1}}]
_DISPLAYS = ("round_map", "fixed_point", "residual", "inverses", "named_factors", "definitions", "lyapunov")
_DONE: set = set()  # protocols whose compiled widths were read in this process


def _blocks(doc: dict) -> list:
    """The rate's blocks: ``contraction_rate`` in the printed JSON, ``rate`` in ``report.derived_theory``'s."""
    rate = doc.get("contraction_rate") if isinstance(doc.get("contraction_rate"), dict) else doc.get("rate")
    return list((rate or {}).get("blocks", []))


_PART = re.compile(r"\\frac\{(\d+)\}\{(\d+)\}|\(w\^\*_\{(\w+)\} - w\^\*_\{(\w+)\}\)|w\^\*_\{(\w+)\}"
                   r"|\\mathcal\{([QS])\}_\{(\d+)\}(?:\^\{(\d+)\})?|([A-Za-z])_\{(\w+)\}(?:\^\{(\d+)\})?")


def _parts_width(term: str) -> float | None:
    """The width of a term's parts (coefficient and letters, measured by theory.protocol.typeset), None when the
    term is not a fraction times letters (w^*, gaps, M_{A}, \\mathcal{Q}_{k}, powers) or does not print back."""
    import sympy as sp

    from theory.protocol.typeset import coefficient_tex, word_tex

    body = term.removeprefix("+ ").removeprefix("- ")
    coef, word, inv, pos = 0.0, [], {}, 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if m is None:
            return None
        g = m.groups()
        if g[0]:
            if pos:
                return None
            coef = coefficient_tex(Fraction(int(g[0]), int(g[1])))[2]
        elif g[2]:
            word.append(sp.Symbol(f"(w^*_{g[2]} - w^*_{g[3]})", commutative=False))
        elif g[4]:
            word.append(sp.Symbol(f"w^*_{g[4]}", commutative=False))
        else:
            sym = sp.Symbol(f"{g[5]}{g[6]}" if g[5] else f"{g[8]}_{g[9]}", commutative=False)
            if g[5]:
                inv[sym] = rf"\mathcal{{{g[5]}}}_{{{g[6]}}}"
            word += [sym] * int(g[7] or g[10] or 1)
        pos = m.end() + 1
    tex, wid = word_tex(tuple(word), inv)
    return coef + wid if body.endswith(tex) and word else None


def _width_rules(ledger: Ledger, ts: dict, blocks: list, where: str) -> None:
    """Widths: numbers above 0; an inverse as wide as its terms; a lone 0 one unit."""
    widths = [w for key in _DISPLAYS for e in ts.get(key, []) for _, w in e["terms"]]
    widths += [b.get("width") for b in blocks] + [e.get("width") for e in ts.get("inverses", [])]
    bad = [w for w in widths if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 < w < math.inf]
    ledger.require("typeset widths", not bad, f"{where}: typeset widths {bad[:2]!r:.80} (a width is a number > 0)")
    if bad:
        return
    sums = [(e["lhs"], e["width"], sum(w for _, w in e["terms"])) for e in ts.get("inverses", [])]
    ledger.require("typeset widths", all(abs(a - b) <= FLOAT_BAR * max(1.0, b) for _, a, b in sums),
                   f"{where}: an inverse's width is not its terms' together: {sums[:2]}")
    parts = [(t, w, _parts_width(t)) for key in ("round_map", "fixed_point", "residual") for e in ts.get(key, [])
             for t, w in e["terms"] if r"\left(" not in t]
    off = [(t, w, p) for t, w, p in parts if p is not None and not TERM_EXTRA_UNITS[0] <= w - p <= TERM_EXTRA_UNITS[1]]
    ledger.require("typeset widths", not off, f"{where}: (term, width, its parts' width) {off[:1]}")
    wide = {e["lhs"] for e in ts.get("inverses", []) if e["width"] >= LONG_PIVOT_UNITS}
    inline = [m.group(1) for h in ts.get("hypotheses", [])
              for m in [re.fullmatch(r"\$.*\$ is invertible \(its inverse is \$(.*)\$\)", h)] if m]
    ledger.require("typeset hypotheses", not wide & set(inline),
                   f"{where}: pivots {sorted(wide & set(inline))} over {LONG_PIVOT_UNITS:g} units written out")
    zeros = [(e["lhs"], w) for key in _DISPLAYS for e in ts.get(key, []) for t, w in e["terms"] if t == "0"]
    ledger.require("typeset widths", all(w == 1.0 for _, w in zeros), f"{where}: a lone 0 is {zeros[:1]} units wide")


def _compiled_rules(ledger: Ledger, cp, doc: dict, where: str) -> None:
    """The rate blocks' widths and the round map's parenthesised coefficients, against the compiled protocol."""
    from theory.protocol.display import PAREN_UNITS  # the threshold (a parameter of the layout)
    from theory.protocol.typeset import naming_constants, poly_tex

    def wid(x) -> float:  # as the JSON's rate blocks write it: long numbers in full
        return poly_tex(cp.poly(x), {})[1]

    def named_wid(x) -> float:  # as the typeset document writes it: long numbers named kappa_k
        with naming_constants():
            return wid(x)

    want = [wid(b[0][0]) if len(b) == 1 else
            sum(max(wid(b[r][c]) for r in range(len(b))) + BMATRIX_COLUMN_UNITS for c in range(len(b)))
            for b in cp.rate_blocks]
    got = [b.get("width") for b in _blocks(doc)]
    ledger.require("rate block widths", len(got) == len(want) and all(
        abs(g - w) <= FLOAT_BAR * max(1.0, w) for g, w in zip(got, want)),
        f"{where}: rate block widths {got} for cells measured {want}")
    n, wrong = cp.names, []
    for i, row in enumerate(doc["typeset"]["round_map"]):
        text = {t.removeprefix("+ ").removeprefix("- "): w for t, w in row["terms"]}
        for j in range(cp.spec.K):
            P = cp.poly(cp.Phi[i][j])
            if len(P) < 2:
                continue
            m = f"m_{{{n[j]}}}"
            w = named_wid(cp.Phi[i][j])
            paren = [(t, tw) for t, tw in text.items() if t.startswith(r"\left(") and t.endswith(r"\right) " + m)]
            if len(paren) != (1 if w < PAREN_UNITS else 0):
                state = "in parentheses" if paren else "term by term"
                wrong.append(f"{row['lhs']}: the coefficient of {m} ({w:g} units) written {state}")
            elif paren and not PAREN_EXTRA_UNITS[0] <= paren[0][1] - w <= PAREN_EXTRA_UNITS[1]:
                wrong.append(f"{row['lhs']}: ({m} coefficient, {w:g} units) written {paren[0][1]:g} units wide")
    ledger.require("round map parentheses", not wrong, f"{where}: {wrong[:1]}")


def check_display(ledger: Ledger, doc: dict, inst) -> None:
    """The widths of one config's typeset document (see the module docstring); the compiled protocol's rules and
    :data:`ZERO` once per process (each protocol compiled again: a few hundredths of a second)."""
    from numerics.api import load_config
    from numerics.protocol import engine
    from theory.protocol import compiler as P

    _width_rules(ledger, doc.get("typeset") or {}, _blocks(doc), "document")
    names = [e["lhs"] for e in (doc.get("typeset") or {}).get("lyapunov", [])]
    want = [e["lhs"] for e in doc.get("lyapunov", {}).values()]
    ledger.require("typeset covariance names", names == want, f"covariance displays {names[:3]}, JSON {want[:3]}")
    key = repr(inst.rounds)
    if key not in _DONE and doc.get("typeset") and not doc.get("definitions"):  # not on the named Schur path
        _DONE.add(key)
        _compiled_rules(ledger, P.compile_protocol(P.from_numeric(engine.of(load_config(inst.config())))), doc,
                        "document")
    if "zero" not in _DONE:
        _DONE.add("zero")
        from theory.protocol import report
        from theory.protocol.description import spec

        zdoc = report.derived_theory(P.compile_protocol(spec(("A", "B"), ZERO)))
        _width_rules(ledger, zdoc["typeset"], _blocks(zdoc), "ZERO")
        _compiled_rules(ledger, P.compile_protocol(spec(("A", "B"), ZERO)), zdoc, "ZERO")
        zeros = [e["lhs"] for e in zdoc["typeset"]["residual"] if [t for t, _ in e["terms"]] == ["0"]]
        ledger.require("typeset widths", zeros == ["e_{A} = z^*_{A} - w^*_{A}"], f"ZERO: residuals 0: {zeros}")
        odoc = report.derived_theory(P.compile_protocol(spec(("A",), ONE)))
        _width_rules(ledger, odoc["typeset"], _blocks(odoc), "ONE")
        sentence = odoc["typeset"]["delta"]
        ledger.require("typeset delta sentence", sentence == "", f"ONE: a sentence on two agents {sentence[:60]!r}")
        _check_symbolic(ledger)


def _check_symbolic(ledger: Ledger) -> None:
    """:data:`SYMBOLIC` in the compiler's forms (``display.typeset`` with no canonical form): a displayed rule
    divides by omega, so the hypotheses state ``\\omega \\neq 0``, once."""
    import sympy as sp

    from theory.protocol import compiler as P, display
    from theory.protocol.description import spec
    from theory.protocol.printing import text

    omega = sp.Symbol("omega")
    rounds = [{lst: {src: omega if w == "omega" else w for src, w in row.items()} for lst, row in ph.items()}
              for ph in SYMBOLIC]
    cp = P.compile_protocol(spec(("A", "B"), rounds), noise=False)
    divides = any(sp.denom(sp.together(c)) == omega for _, rule in cp.alg.rules for c in rule.values())
    hyps = display.typeset(cp, None, [], lambda e: text(cp, e))["hypotheses"]
    ledger.require("typeset hypotheses", divides and hyps.count(r"$\omega \neq 0$") == 1,
                   f"SYMBOLIC: a rule divides by omega: {divides}; hypotheses {hyps}")


def _nonconforming(expr) -> list[str]:
    """The products and sums in ``expr`` whose matrix factors do not conform (columns of each factor = rows of
    the next; terms of one shape); SymPy does not refuse them when a dimension is a symbol."""
    import sympy as sp

    out, stack = [], [expr]
    while stack:
        e = stack.pop()
        stack.extend(a for a in e.args if isinstance(a, sp.Basic))
        mats = [a for a in e.args if isinstance(a, sp.MatrixExpr)]
        if isinstance(e, sp.MatMul) and any(a.shape[1] != b.shape[0] for a, b in zip(mats, mats[1:])):
            out.append(f"{sp.sstr(e)[:60]}: {[a.shape for a in mats]}")
        if isinstance(e, sp.MatAdd) and len({a.shape for a in mats}) > 1:
            out.append(f"{sp.sstr(e)[:60]}: {[a.shape for a in mats]}")
    return out


def check_chain_shapes(ledger: Ledger, claims: tuple[str, ...]) -> None:
    """The printed derivation chains of ``claims`` (:mod:`theory.derivations`, built by
    :mod:`theory.protocol.chains` for P1-P5) equate objects of one shape: every step of a chain has its first
    step's shape (a vector stays a vector) and the products and sums of its stated form (its last step) conform,
    so each formula read off a chain, ``lhs = rhs``, equates two objects of one shape, and its symbols table
    (``derive --claims --format json``) writes a vector as a matrix symbol."""
    import sympy as sp

    from theory import derivations

    bad = []
    for claim in claims:
        for chain in derivations.chains_for(claim):
            shapes = [getattr(e, "shape", None) for e, _ in chain.steps]
            if any(sh != shapes[0] for sh in shapes):
                bad.append(f"{chain.title}: {shapes}")
            # the stated form (the last step, written in chains.py) conforms; the first, the compiler's object
            # through printing.to_matrix_expr, types a message m_j as a square letter (P5), so it is not read here
            bad += [f"{chain.title}: {x}" for x in _nonconforming(chain.steps[-1][0])][:1]
            # a symbol the chain defines (e_A, z^*_3: the compiler's object) has its definition's shape
            defs = {k: getattr(v, "shape", None) for k, v in chain.definitions.items()}
            bad += [f"{chain.title}: {m.name} {m.shape}, defined {defs[m.name]}" for e, _ in chain.steps
                    for m in e.atoms(sp.MatrixSymbol) if defs.get(m.name) not in (None, m.shape)][:1]
        bad += [f"{f.id}: {f.lhs.shape} = {f.rhs.shape}" for f in derivations.FORMULAS if f.claim in claims
                and getattr(f.lhs, "shape", None) != getattr(f.rhs, "shape", None)]
    ledger.require("derivation chain shapes", not bad, f"steps or sides of different shapes: {bad[:1]}")
