"""``derive --protocol`` LaTeX at the grade of a published appendix (issue 23): every gallery protocol and
seeded random deterministic protocols (K <= 4 agents, <= 4 phases) compile with pdflatex in one document
with no overfull box and no ASCII mathematics; the residuals are in canonical form
(``sum_j C_ij (w_j* - w_i*)``, each ``C_ij`` a product), and for the round robin and the simultaneous pair
they are C3's expressions."""
import re
import subprocess

import numpy as np
import pytest
import sympy as sp

from numerics.protocol import random_protocols, spec as nproto
from test_latex import need_pdflatex
from theory.core.algebra import letter
from theory.protocol import canonical, compiler as P, description, gallery as G, report
from theory.round_robin import two_agents as ta

# K = 2, 2, 3, 4 agents, and 2, 13, 29 derived with named Schur blocks (the dense path); 2 has the longest named
# factor definitions of seeds 0-60 (324 words). Seeds 0-60 all compile with no overfull box (checked once, 367
# pages); these keep the test's pdflatex run short.
RANDOM_SEEDS = (3, 12, 4, 2, 13, 29)
PDFLATEX_SECONDS = 120  # a generous bound for one small document on a loaded 2-core machine


def random_spec(seed: int):
    """A seeded random protocol as random_protocols generates it (weights of all four kinds)."""
    rng = np.random.default_rng(seed)
    names = [chr(ord("A") + k) for k in range(2 + seed % 3)]
    p = nproto.build(random_protocols.rounds(rng, names, max_phases=4), names, 2, [0.0, 0.0])
    return description.from_numeric(p)


def documents():
    """``(title, doc)`` per protocol, titled as ``a2ad derive --protocol CONFIG`` titles them."""
    out = [(f"Derived theory of the protocol of protocol_{e.key}.json", report.derived_theory(
        P.compile_protocol(e.spec))) for e in G.entries()]
    out += [(f"Derived theory of the protocol of random_{s}.json",
             report.derived_theory(P.compile_protocol(random_spec(s)))) for s in RANDOM_SEEDS]
    return out


@pytest.fixture(scope="module")
def docs():
    return documents()


# ---------------------------------------------------------------- what counts as ASCII mathematics
MATH = re.compile(r"\\begin\{align\*\}.*?\\end\{align\*\}|\$[^$]*\$|\\\[.*?\\\]", re.S)
# outside mathematics: program-style names, stars, carets, underscores, operators spelt in ASCII (an escaped
# underscore is the user's own text, e.g. the config's file name in the title)
ASCII_TEXT = re.compile(r"[A-Za-z]\*|\b[A-Za-z]+_[A-Za-z0-9{]|\^|\*\*|!=|<=|>=|\b(Phi|rho|alpha|Delta|sum_j|oo)\b"
                        r"|\bQ\d|Matrix\(|\s[=+]\s|\b[A-Z]\b")
# inside mathematics: Python products and powers, Matrix(, 'max of', the identity printed as 1 in a matrix sum,
# a single letter (or 1) in brackets (M_A) m_B
ASCII_MATH = re.compile(r"\*\*|(?<![\^{])\*(?![}_])|Matrix\(|max of|!=|\boo\b"
                        r"|(?<![\w{/.^_\\])1\s*[-+]\s*(M_|K_|\\mathcal|\\Phi|U\^|r_)"
                        r"|(M_\{\w+\}|K_\{\w+\}|\\mathcal\{Q\}_\{\d+\})\s*[-+]\s*1(?![\d}/])"
                        r"|\\left\(\s*(1|[A-Za-z]_\{\w+\})\s*\\right\)")


def ascii_math(tex: str) -> list[str]:
    """Every piece of ASCII mathematics in a LaTeX document's body (see the patterns above)."""
    body = tex.split("\\begin{document}", 1)[-1]
    found = [m.group(0) for m in ASCII_MATH.finditer(" ".join(MATH.findall(body)))]
    text = MATH.sub(" ", body)
    text = re.sub(r"\\(sub)?section\*\{|\\paragraph\{|\\item|\\begin\{\w+\*?\}|\\end\{\w+\*?\}", " ", text)
    return found + [m.group(0) for m in ASCII_TEXT.finditer(text)]


def test_the_ascii_check_has_power():
    planted = {"z*_A is fixed": "z*", r"rate blocks of Phi_RR^2": "Phi", r"Hypotheses. Q1 invertible": "Q1",
               r"$1 - M_{B} M_{A}$": "1 - M_", r"$\left(M_{A}\right) m_{B}$": r"\left(M_{A}\right)",
               r"$\rho(Matrix([[M_A]]))$": "Matrix(", r"$M_A*M_B$": "*", r"$M_{B}^{-1} + M_A**2$": "**",
               r"A hears $\left(1\right) m_{B}$": r"\left(1\right)", "rho = max of": "rho",
               r"$\mathcal{Q}_{1} M_{B} - 1$": "- 1", "deviation = Phi": "=", "e_A is X times": "X"}
    for tex, what in planted.items():
        hits = ascii_math("\\begin{document}" + tex)
        assert any(what in h for h in hits), (tex, hits)
    # and honest mathematics passes: a weight (1 - alpha), a fraction, a power, a star on w
    fine = (r"$e_{A} = \left(1 - \alpha\right) \mathcal{Q}_{1} M_{A} \frac{1}{2} {M_{B}}^{2} (w^*_{B} - w^*_{A})$"
            r" and $\rho\left(M_{A} M_{B}\right)^{1/2}$, $I - M_{B} M_{A}$, $\left(\alpha - 1\right)^{2} M_{A}$")
    assert ascii_math("\\begin{document}" + fine) == []


# ---------------------------------------------------------------- compile, no overfull box, no ASCII
def body(tex: str) -> str:
    return tex.split("\\begin{document}", 1)[1].rsplit("\\end{document}", 1)[0]


def compile_log(tmp_path, tex: str) -> str:
    need_pdflatex()
    path = tmp_path / "doc.tex"
    path.write_text(tex)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", path.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=PDFLATEX_SECONDS)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    return log


def test_every_protocol_compiles_in_one_document_with_no_overfull_box_and_no_ascii_math(tmp_path, docs):
    texs = [report.as_latex(doc, title) for title, doc in docs]
    for (title, _), tex in zip(docs, texs):
        assert ascii_math(tex) == [], (title, ascii_math(tex)[:5])
    one = texs[0].split("\\begin{document}")[0] + "\\begin{document}\n" + "\n\\clearpage\n".join(
        body(t) for t in texs) + "\n\\end{document}\n"
    log = compile_log(tmp_path, one)
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)[:5]


def test_the_overfull_check_has_power(tmp_path):
    planted = report.PREAMBLE + "\\begin{align*} x &= " + "M_{A} " * 200 + "\\end{align*}\n\\end{document}\n"
    assert "Overfull" in compile_log(tmp_path, planted)


# ---------------------------------------------------------------- canonical form
def test_round_robin_and_simultaneous_residuals_are_c3s(docs):
    """C3 (theory.round_robin.two_agents): e_A = (I - M_A M_B)^{-1} M_A K_B Delta, e_B = -(I - M_B M_A)^{-1}
    M_B K_A Delta with Delta = w_B* - w_A*: written in the gaps, e_B = (I - M_B M_A)^{-1} M_B K_A (w_A* - w_B*)."""
    by_title = dict(docs)
    for key in ("round_robin", "simultaneous"):
        doc = by_title[f"Derived theory of the protocol of protocol_{key}.json"]
        inverses = {inv["name"]: inv["latex"] for inv in doc["inverses"]}
        e_A, e_B = doc["residuals"]["A"]["latex"], doc["residuals"]["B"]["latex"]
        qa = re.fullmatch(r"(\\mathcal\{Q\}_\{\d\}) M_\{A\} K_\{B\} \(w\^\*_\{B\} - w\^\*_\{A\}\)", e_A)
        qb = re.fullmatch(r"(\\mathcal\{Q\}_\{\d\}) M_\{B\} K_\{A\} \(w\^\*_\{A\} - w\^\*_\{B\}\)", e_B)
        assert qa and qb, (key, e_A, e_B)
        assert inverses[qa.group(1)] == "I - M_{A} M_{B}" and inverses[qb.group(1)] == "I - M_{B} M_{A}"
        # and in C3's own notation, e_B carrying the minus sign
        assert doc["typeset"]["delta"] == (rf"With $\Delta = w^*_{{B}} - w^*_{{A}}$ (the gap of C3): "
                                           rf"$e_{{A}} = {qa.group(1)} M_{{A}} K_{{B}} \Delta$ and "
                                           rf"$e_{{B}} = - {qb.group(1)} M_{{B}} K_{{A}} \Delta$.")
        # the same objects as C3's matrix expressions
        cn = canonical.canonical(P.compile_protocol(G.entry(key).spec, noise=False))
        assert as_c3(cn, 0) == ta.e_A and as_c3(cn, 1) == ta.e_B


def as_c3(cn, i: int) -> sp.MatrixExpr:
    """A canonical two-agent residual as a matrix expression in two_agents' symbols (``w_j* - w_i*`` as +-Delta)."""
    agent = {"A": ta.A, "B": ta.B}
    pivots = {Q: F for Q, F in cn.pivots}

    def word(w):
        return sp.MatMul(*[sym(x) for x in w]) if len(w) > 1 else sym(w[0])

    def sym(x):
        if x in pivots:
            return sp.Inverse(sp.MatAdd(*[sp.Rational(c.numerator, c.denominator) * (word(w) if w else ta.I)
                                          for w, c in pivots[x].items()]))
        kind, name = x.name.split("_")
        return agent[name].M if kind == "M" else agent[name].K
    (j, C), = cn.gaps[i].items()
    assert C.scalar == 1 and all(len(f) == 1 and next(iter(f.values())) == 1 for f in C.factors)
    return (1 if i == 0 else -1) * sp.MatMul(*[word(next(iter(f))) for f in C.factors], ta.Delta)


def test_the_c3_comparison_has_power():
    cn = canonical.canonical(P.compile_protocol(G.entry("round_robin").spec, noise=False))
    C = cn.gaps[0][1]
    C.factors[1], C.factors[2] = C.factors[2], C.factors[1]  # planted: K_B M_A in place of M_A K_B
    assert as_c3(cn, 0) != ta.e_A
    cn = canonical.canonical(P.compile_protocol(G.entry("simultaneous").spec, noise=False))
    assert as_c3(cn, 1) != -ta.e_B  # the sign matters


def test_every_residual_is_a_sum_of_products_over_the_gaps(docs):
    """Canonical: e_i = sum_j C_ij (w_j* - w_i*), C_ij a product ending in K_j, for every agent of every gallery
    protocol."""
    for e in G.entries():
        cp = P.compile_protocol(e.spec, noise=False)
        cn = canonical.canonical(cp)
        assert all(c.holds for c in cn.checks), e.key
        for i, row in enumerate(cn.gaps):
            assert set(row) == {j for j in range(cp.spec.K) if j != i}, (e.key, i)
            for j, C in row.items():
                assert C.factors[-1] == letter(canonical.k_letter(cp.names[j])), (e.key, i, j)
                # a scalar times single letters (sums that stay are named factors S_k, defined once)
                assert all(len(f) == 1 and len(next(iter(f))) == 1 for f in C.factors), (e.key, i, j)
    ring = canonical.canonical(P.compile_protocol(G.entry("ring").spec, noise=False))
    assert ring.named == []  # the ring's C_ij need no named factor: Q_k M's K_j


def test_anchored_has_no_removable_singularity():
    """e_A = (1 - omega) M_A Q_1 Q_2 K_B Delta with Q_2 = (I - (1 - omega) M_B Q_1 M_A)^{-1}: no 1/omega."""
    cp = P.compile_protocol(G.entry("anchored").spec, noise=False)
    doc = report.derived_theory(cp)
    shown = " ".join([doc["residuals"]["A"]["latex"]] + [e["latex"] for e in doc["inverses"] + doc["named_factors"]])
    assert "frac" not in shown and r"\left(1 - \omega\right)" in doc["residuals"]["A"]["latex"]
    assert doc["inverses"][1]["latex"] == r"I - \left(1 - \omega\right) M_{B} \mathcal{Q}_{1} M_{A}"
    assert not any("neq" in h for h in doc["typeset"]["hypotheses"])  # no "omega != 0" left
    # the compiler's own form does divide by omega (what the canonical form removes)
    assert any(G.omega in sp.denom(sp.together(c)).free_symbols for c in cp.poly(cp.residual_gaps[0][1]).values())


def test_a_wrong_canonical_factor_fails_its_proof():
    cn = canonical.canonical(P.compile_protocol(G.entry("star").spec, noise=False))
    for i, j in ((0, 1), (1, 0)):
        C = cn.fixed[i][j]
        planted = [canonical.Coefficient(-C.scalar, C.factors),  # flipped sign
                   canonical.Coefficient(C.scalar, C.factors[:-1] or [letter(P.M("A"))]),  # dropped factor
                   canonical.Coefficient(C.scalar, list(reversed(C.factors)))]  # swapped order
        for wrong in planted:
            full = canonical.Coefficient(wrong.scalar, wrong.factors + [letter(canonical.k_letter(cn.cp.names[j]))])
            assert not canonical.factor_check(cn, i, j, full).holds, (i, j)


def test_a_wrong_fixed_point_in_the_chain_fails():
    cn = canonical.canonical(P.compile_protocol(G.entry("debate").spec, noise=False))
    assert all(c.holds for c in canonical.proofs(cn))
    cn.z[1] = {**cn.z[1], (P.M("A"), canonical.c_letter("B")): 1}  # planted: an extra term in z*_B
    failed = [c.label for c in canonical.proofs(cn) if not c.holds]  # z*_B enters every row of the debate
    assert "z*_B in the c_j is fixed by the round map" in failed


def test_a_one_letter_rate_block_has_no_stray_brackets():
    """B only hears itself: the rate is max{rho(2/3 M_A), rho(M_B)}; rho(M_B) needs no \\left( \\right) (the
    ASCII check reads a single letter in \\left( \\right) as a stray bracket)."""
    cp = P.compile_protocol(P.spec(["A", "B"], [{"B": {"B": 1}}, {"A": {"B": 0.1, "A": 2 / 3}}]))
    doc = report.derived_theory(cp)
    assert doc["rate"]["latex"].endswith(r", \rho(M_{B})\right\}")
    assert ascii_math(report.as_latex(doc)) == []
    assert ascii_math(r"\begin{document}$\rho = \rho\left(M_{B}\right)$")  # the planted form is caught
