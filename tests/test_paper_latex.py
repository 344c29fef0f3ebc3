"""Paper-grade LaTeX and provenance: the PDF has no overfull box, every derivation step changes
something, every macro compiles in a minimal paper, every claim carries its provenance and a
typeset statement, and the repository refers to no file outside it."""
import re
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from proofs_check.claims import all_claims, select, validate
from proofs_check.cli import main as cli
from proofs_check.report import latex
from proofs_check.statements import provenance, statements
from proofs_check.verification import registry
from test_latex import need_pdflatex
from theory import derivations
from theory.core import notation
from theory.core.formulas import all_formulas

ROOT = Path(__file__).resolve().parent.parent


def _compile_log(tex: Path) -> str:
    latex.compile_pdf(tex)
    return tex.with_suffix(".log").read_text(errors="replace")


def test_derivations_pdf_has_no_overfull_box(tmp_path, capsys):
    need_pdflatex()
    tex = tmp_path / "derivations.tex"
    assert cli.main(["derive", "--format", "latex", "--out", str(tex)]) == 0
    log = _compile_log(tex)
    overfull = [line for line in log.splitlines() if line.startswith("Overfull")]
    assert not overfull, overfull
    text = tex.read_text()
    for defect in (r"\mathbb{I}", "THEORY", r"\$|\$", r"\^{}", "infinity", r"\left(\aadDelta\right)"):
        assert defect not in text, defect


def test_overfull_box_is_detected(tmp_path):
    """The log check above can fail: a formula too wide for the page shows up as Overfull."""
    need_pdflatex()
    tex = tmp_path / "wide.tex"
    tex.write_text("\\documentclass{article}\\usepackage{amsmath}\\begin{document}\\[" + " + ".join(["x_{1}"] * 80)
                   + "\\]\\end{document}\n")
    assert any(line.startswith("Overfull") for line in _compile_log(tex).splitlines())


def _unchanged_steps(chain):
    printed = [notation.latex(e) for e, _ in chain.steps]
    return [k for k in range(1, len(printed)) if printed[k] == printed[k - 1]]


@pytest.mark.parametrize("chain", derivations.CHAINS, ids=lambda c: f"{c.claim}-{c.title[:24]}")
def test_every_step_changes_something(chain):
    assert len(chain.steps) >= 2
    assert not _unchanged_steps(chain)


def test_a_step_equal_to_its_predecessor_is_refused(tmp_path, capsys, monkeypatch):
    chain = derivations.chains_for("C3")[0]
    repeated = derivations.Chain(chain.claim, chain.title, (chain.steps[0], *chain.steps), chain.definitions)
    assert _unchanged_steps(repeated) == [1]
    monkeypatch.setattr(derivations, "CHAINS", [repeated])
    assert cli.main(["derive", "--claims", "C3", "--out", str(tmp_path / "d.tex")]) == 2
    assert "prints exactly like" in capsys.readouterr().err


def test_every_macro_compiles_in_a_minimal_paper(tmp_path, capsys):
    need_pdflatex()
    macros = tmp_path / "a2ad-formulas.tex"
    assert cli.main(["derive", "--format", "macros", "--out", str(macros)]) == 0
    source = macros.read_text()
    assert "Requires: \\usepackage{amsmath,amssymb}" in source
    names = re.findall(r"\\newcommand\{\\(\w+)\}", source)
    assert len(names) == 2 * len(all_formulas())
    body = "\n".join(f"\\[{'' if n.endswith('Rhs') else ''}\\{n}\\]" for n in names)
    paper = tmp_path / "paper.tex"
    paper.write_text("\\documentclass{article}\\usepackage{amsmath,amssymb}\\input{a2ad-formulas.tex}\n"
                     f"\\begin{{document}}\n$\\aadDelta$\n{body}\n\\end{{document}}\n")
    log = _compile_log(paper)
    assert "Undefined control sequence" not in log


def test_macros_and_text_honour_claims(tmp_path, capsys):
    out = tmp_path / "m.tex"
    assert cli.main(["derive", "--format", "macros", "--claims", "C3", "--out", str(out)]) == 0
    ids = re.findall(r"^% (\S+)  fingerprint", out.read_text(), flags=re.M)
    assert ids and all(i.startswith("C3.") for i in ids)
    capsys.readouterr()
    assert cli.main(["derive", "--format", "text", "--claims", "C2"]) == 0
    printed = capsys.readouterr().out
    assert "C2.fixed_point_A" in printed and "C3." not in printed
    assert "\\left" not in printed and "\\frac" not in printed  # plain text, not LaTeX
    assert "u_star = (Id - M_A*M_B)**(-1)*(M_A*K_B*w_B_star + K_A*w_A_star)" in printed


@pytest.mark.parametrize("fid,expected", [
    ("C3.residual_A", r"e_{A} = \left(I - M_{A} M_{B}\right)^{-1} M_{A} K_{B} \aadDelta"),
    ("L1.gd_readout", r"w' - w = \Gamma \left(b - H w\right)"),
    ("C5.residual_A_k", r"e_{A,k} = \frac{\left(1 - a_{k}\right) b_{k}}{a_{k} + b_{k} - a_{k} b_{k}} \aadDelta_{k}"),
    ("C5.disagreement_k", r"(u^{*} - v^{*})_{k} = - \frac{a_{k} b_{k}}{a_{k} + b_{k} - a_{k} b_{k}} \aadDelta_{k}"),
    ("C5.rate_k", r"\lambda_{k}(M_{A} M_{B}) = \left(1 - a_{k}\right) \left(1 - b_{k}\right)"),
    ("C7.s_steps", r"T_{A}^{s}(w) = M_{A}^{s} w + \left(I - M_{A}^{s}\right) w_{A}^{*}"),
    ("C7.limit_residual_B", r"\lim_{s_A \to \infty} e_{B} = - M_{B} \aadDelta"),
    ("C1.round_map_A", r"u_{t+1} = M_{A} M_{B} u_{t} + M_{A} K_{B} w_{B}^{*} + K_{A} w_{A}^{*}"),
])
def test_paper_notation(fid, expected):
    assert all_formulas()[fid].latex() == expected


def test_no_nested_fraction_in_gamma_star():
    tex = all_formulas()["L2.gamma_star"].rhs_latex()
    for m in re.finditer(r"\\frac\{", tex):  # no \frac inside the numerator or denominator of another
        depth, k, inner = 1, m.end(), ""
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[k], 0)
            inner += tex[k]
            k += 1
        assert "\\frac" not in inner, tex


def test_gap_printed_as_delta_only_for_the_gap():
    from theory.round_robin import two_agents as ta
    assert notation.latex(ta.Delta) == r"\aadDelta"
    assert notation.latex(ta.A.w_star - ta.B.w_star) != r"\aadDelta"  # the opposite sign is not Delta
    assert notation.text(ta.e_A).endswith("*Delta")


def test_covariance_and_transfer_product_have_distinct_symbols():
    lhs = {f.id: notation.latex(f.lhs) for f in all_formulas().values()}
    assert lhs["C15.stationary_covariance_B"] == "V_{B}"
    assert all(not v.startswith("P_") for v in lhs.values())


def test_every_claim_has_provenance_statement_and_typeset_hypotheses():
    for claim in all_claims():
        prov = claim.provenance
        assert prov.kind in provenance.KINDS and claim.reference == prov.citation
        assert "section" not in prov.citation.lower() and "THEORY" not in prov.citation
        st = statements.of(claim.id)
        assert st.statement and st.hypotheses
        for h in (st.statement, *st.hypotheses):
            assert "||" not in h and "_{" not in re.sub(r"\$[^$]*\$", "", h), h  # math lives in $...$
        for key in prov.bibtex:
            assert key in provenance.REFERENCES
            assert key in (ROOT / "paper.bib").read_text()


def test_provenance_kinds_match_the_abstract():
    kinds = {c.id: c.provenance.kind for c in all_claims()}
    assert {i for i, k in kinds.items() if k == "paper abstract"} == {"C3", "C5", "C8", "C12"}
    assert {i for i, k in kinds.items() if k == "standard result"} == {"L1", "L2", "C1", "C2", "C14b"}


def test_a_claim_without_provenance_is_refused():
    orphan = registry.Claim("C99", "t", (), "x", "equal", {})
    assert orphan.provenance is None
    with pytest.raises(ValueError, match="C99"):
        validate([*all_claims(), orphan])
    with pytest.raises(ValueError):  # a reference that disagrees with the provenance data
        registry.Claim("C3", "t", (), "arXiv:2511.08710 section 2", "equal", {})


def test_report_carries_provenance():
    from proofs_check.report import writers as report
    from proofs_check.verification import runner
    rep = runner.run(select(["C14b"]), registry.Profile.named("quick"))
    assert rep["claims"][0]["provenance"]["kind"] == "standard result"
    assert "| C14b | standard result | Gay (1979) |" in report.markdown(rep)


def test_statement_text_converts_to_latex_and_rst():
    assert statements.to_latex("gap $w_B^*$ and x_y 50%") == r"gap $w_B^*$ and x\_y 50\%"
    assert statements.to_rst("gap $w_B^*$, a*b") == r"gap :math:`w_B^*`, a\*b"
    assert statements.to_text("gap $w_B^*$") == "gap w_B^*"


def test_nothing_refers_to_files_outside_the_repository():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["THEORY" + ".md", "DESIGN" + ".md", "shared" + "/"]  # split so this file does not match itself
    out = subprocess.run(["git", "grep", "-n", "-F", *[a for n in names for a in ("-e", n)]],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.stdout == "", out.stdout


def test_long_sums_break_into_lines_that_fit():
    from theory.round_robin import k_agents as ka
    expr = ka.residual(4, 0)  # four agents: a long sum inside (I - J_1)^{-1} ( ... )
    lines = latex.break_lines(expr, budget=60)
    assert len(lines) > 1 and all(latex.visible_width(line) <= 60 for line in lines[1:-1])
    joined = " ".join(lines).replace(r"\bigl(", r"\left(").replace(r"\bigr)", r"\right)")
    assert sp.srepr(expr)  # the object is unchanged by printing
    assert joined.count(r"\left(") == joined.count(r"\right)")
    assert latex.break_lines(expr, budget=10_000) == [notation.latex(expr)]


def test_json_format_carries_text_and_provenance(capsys):
    import json
    assert cli.main(["derive", "--format", "json", "--claims", "C14b,C12"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    rows = doc["formulas"]
    assert {r["claim"] for r in rows} == {"C12"}  # C14b has no named formula
    assert rows[0]["provenance"] == "paper abstract" and "$" not in rows[0]["description"]
