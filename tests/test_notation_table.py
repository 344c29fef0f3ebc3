"""The notation table ("each symbol defined once", issue 23): every symbol that the statements, the
model, the derivations and the registered formulas use appears in it, and the renamed symbols (P5's
messages m_i, the LSA weight row nu, P4's anchoring weight omega) are the ones printed."""
import re

import pytest

from proofs_check.statements import statements as S
from theory import derivations as D
from theory.core.formulas import all_formulas

MATH = re.compile(r"\$\$?([^$]+)\$?")
# Commands that are not symbols (operators, spacing, fonts, delimiters, functions, constants).
NOT_SYMBOLS = {
    "frac", "tfrac", "left", "right", "bigl", "bigr", "Bigl", "Bigr", "Big", "big", "quad", "qquad", "in", "le",
    "ge", "ne", "to", "cdots", "dots", "ldots", "sum", "max", "min", "sqrt", "cdot", "times", "mapsto", "mid",
    "langle", "rangle", "infty", "lim", "sin", "cos", "begin", "end", "smallmatrix", "partial", "sim", "pi",
    "aadDelta", "mathbb", "mathcal", "hat", "text", "mathrm", "operatorname", "approx", "neq", "succeq", "otimes",
}
# Letters that are not symbols: big-O, the expectation E (in \mathbb), a distribution N (in \mathcal).
NOT_LETTERS = {"O"}


def symbols(tex: str) -> set[str]:
    """The symbols a LaTeX math string uses, by base letter: ``M_A`` -> ``M``, ``\\hat{H}_i`` -> ``hat H``."""
    tex = re.sub(r"\\(text|mathrm|operatorname|mathbb|mathcal)\{[^}]*\}", "", tex)
    out = {"hat " + m.group(1) for m in re.finditer(r"\\hat\{\\?([A-Za-z]+)\}", tex)}
    tex = re.sub(r"\\hat\{\\?[A-Za-z]+\}", "", tex)
    for _ in range(3):  # indices and exponents, nested braces included
        tex = re.sub(r"[_^]\{[^{}]*\}", "", tex)
    tex = re.sub(r"[_^]\\?[A-Za-z0-9*+]", "", tex)
    out |= {"\\" + m.group(1) for m in re.finditer(r"\\([A-Za-z]+)", tex) if m.group(1) not in NOT_SYMBOLS}
    tex = re.sub(r"\\[A-Za-z]+", "", tex)
    out |= {m.group(1) for m in re.finditer(r"(?<![A-Za-z])([A-Za-z])(?![A-Za-z])", tex)} - NOT_LETTERS
    return out


def used() -> dict[str, str]:
    """Symbol -> where it is first used (statements, hypotheses, the model, chains, formulas)."""
    texts = [(cid, t) for cid, st in S.STATEMENTS.items() for t in (st.statement, *st.hypotheses)]
    texts += [(heading, par) for heading, pars in S.MODEL for par in pars]
    texts += [(f"{c.claim} derivation", t) for c in D.CHAINS for t in (c.title, *(why for _, why in c.steps))]
    out: dict[str, str] = {}
    for where, t in texts:
        for m in MATH.finditer(t):
            for sym in symbols(m.group(1)):
                out.setdefault(sym, where)
    for f in all_formulas().values():
        for sym in symbols(f.latex()):
            out.setdefault(sym, f.id)
    return out


def table(notation=None) -> set[str]:
    rows = S.NOTATION if notation is None else notation
    return {sym for col, _ in rows for m in MATH.finditer(col) for sym in symbols(m.group(1))}


def missing(notation=None) -> dict[str, str]:
    defined = table(notation)
    return {sym: where for sym, where in used().items() if sym not in defined}


def test_every_used_symbol_is_in_the_notation_table():
    assert missing() == {}


@pytest.mark.parametrize("symbol", [r"m_i", r"z", r"\Phi", r"r_p", r"n_t", r"\hat{H}", r"u_i^*", r"\omega", r"\nu"])
def test_the_table_defines(symbol):
    assert any(symbol in col for col, _ in S.NOTATION)


def test_the_coverage_check_has_power():
    # planted: the table without its m_i row, and without its omega row
    assert "m" in missing([row for row in S.NOTATION if "m_i" not in row[0]])
    assert "\\omega" in missing([row for row in S.NOTATION if "omega" not in row[0]])
    assert symbols(r"\kappa_A = \Xi m_B + \hat{H}_i") == {r"\kappa", r"\Xi", "m", "hat H"}


def test_renamed_symbols_are_the_printed_ones():
    p5 = [c for c in D.CHAINS if c.claim == "P5"][0]
    p4 = [c for c in D.CHAINS if c.claim == "P4"][0]
    from proofs_check.report.latex import chain_latex
    assert "m_{B}" in chain_latex(p5)[0] and "x_{B}" not in chain_latex(p5)[0] and "x_B" not in chain_latex(p5)[0]
    assert r"\alpha" not in chain_latex(p4)[0] + p4.title and r"\omega" in chain_latex(p4)[0]
    assert "M_1" not in S.of("P5").statement and "M_A" in S.of("P5").statement
    assert r"\alpha" not in S.of("P4").statement and r"\omega" in S.of("P4").statement
    lsa = S.of("L1b").statement + S.of("L1").statement + all_formulas()["L1b.general_map"].latex()
    assert "p_" not in lsa and r"\nu" in lsa
    assert r"\alpha" in S.of("C12").statement  # C12 keeps alpha (the CLI's --alpha), C11 keeps p
    assert "$p$" in S.of("C11").statement


@pytest.mark.parametrize("claim", ["P2", "P3"])
def test_p2_p3_derivations_start_from_a_left_hand_side(claim):
    from proofs_check.report.latex import chain_latex
    body = chain_latex(D.chains_for(claim)[0])[0]
    first = body.split("\n")[1]
    assert first.strip() == "&z_{B}^{*} \\\\"


def test_opening_quotes_are_typeset_as_opening_quotes():
    from proofs_check.claims import all_claims
    texts = [S.to_latex(c.provenance.justification) for c in all_claims()]
    assert any("(`trained" in t for t in texts)  # L1's quotation of the abstract
    assert not any(re.search(r"(^|[\s(\[])['\"]", t) for t in texts)  # planted form: "('trained"
    assert S.to_latex("(\"quoted\")") == "(``quoted'')" and S.to_latex("agent's $w'$") == "agent's $w'$"


# Letters that still head more than one row of the table: variants of one symbol (Gamma_i and Gamma^*,
# u_t and u_i^*, R(Gamma) naming its argument) and the overloads not yet renamed: b (b_i the moment, b_k an
# eigenvalue of K_B in C5), r (LSA residuals, P1's offsets), z and Z (LSA tokens, P1's stacked
# messages, C18's incoming messages). The random protocols (R1-R4) keep the symbols of their
# specification: Phi_k (an alternative's round map, a variant of P1's Phi), p_k and P_jl (probabilities;
# C11's point p and C17's transfer products P_ij keep theirs), C the stationary covariance (agent C).
# A new overload fails here.
SHARED = {"b", "\\Gamma", "u", "r", "z", "Z", "\\Phi", "p", "P", "C"}


def test_no_new_letter_heads_two_rows():
    from collections import Counter
    count = Counter(s for col, _ in S.NOTATION for s in {s for m in MATH.finditer(col) for s in symbols(m.group(1))})
    assert {s for s, n in count.items() if n > 1} == SHARED
