"""Labels and links in derivations.tex: every claim and registered formula has exactly one label
derived from its ID, a paper's ``\\ref`` to it resolves through hyperref, and the docs' claim pages
carry the matching anchors."""
import re
from collections import Counter

import pytest

from proofs_check.claims import all_claims
from proofs_check.cli import main as cli
from proofs_check.report import labels, latex
from test_latex import need_pdflatex
from theory.core.formulas import all_formulas

LABEL = re.compile(r"\\aadlabel\{([^}]*)\}")


def expected_labels() -> list[str]:
    """Labels built here from the IDs by the documented rule (``_`` -> ``-``), not by the code under test."""
    return ([f"aad:claim:{c.id.replace('_', '-')}" for c in all_claims()]
            + [f"aad:formula:{fid.replace('_', '-')}" for fid in all_formulas()])


def label_defects(tex: str) -> dict[str, int]:
    """Each expected label that does not occur exactly once, and each unexpected one, with its count."""
    counts = Counter(LABEL.findall(tex.split(r"\begin{document}", 1)[-1]))  # not the macro's definition
    expected = expected_labels()
    bad = {name: counts[name] for name in expected if counts[name] != 1}
    bad.update({name: n for name, n in counts.items() if name not in expected})
    return bad


@pytest.fixture(scope="module")
def derivations_tex():
    doc, _ = latex.derivations_tex(all_claims())
    return doc


def test_every_claim_and_formula_has_exactly_one_label(derivations_tex):
    assert not label_defects(derivations_tex)
    assert len(set(expected_labels())) == len(expected_labels())  # the ID -> label map is injective here


def test_a_planted_duplicate_label_is_detected(derivations_tex, monkeypatch):
    doc = derivations_tex.replace(r"\end{document}", r"\aadlabel{aad:claim:C3}{C3}\end{document}")
    assert label_defects(doc) == {"aad:claim:C3": 2}
    # the generator's once-only rule matters: C4 shows C3's residuals, labelling them there too doubles them
    original = latex.formula_latex
    monkeypatch.setattr(latex, "formula_latex", lambda f, labelled=True: original(f, True))
    doubled, _ = latex.derivations_tex(all_claims())
    assert label_defects(doubled) == {"aad:formula:C3.residual-A": 2, "aad:formula:C3.residual-B": 2}


def test_a_missing_label_is_detected(monkeypatch):
    """Showing only the formulas claims list drops those registered but listed by no claim
    (L2.gamma_star_scalar, and the formulas read off derivation chains, theory.derivations.FORMULAS)."""
    from theory import derivations
    monkeypatch.setattr(latex, "shown_formulas",
                        lambda claim, owners: [(f, all_formulas()[f].claim == claim.id) for f in claim.formulas])
    doc, _ = latex.derivations_tex(all_claims())
    unlisted = ["L2.gamma_star_scalar"] + [f.id for f in derivations.FORMULAS]
    assert label_defects(doc) == {labels.tex_label("formula", fid): 0 for fid in unlisted}


def test_labels_are_latex_safe_and_refuse_other_characters():
    assert labels.tex_label("formula", "C5.residual_A_k") == "aad:formula:C5.residual-A-k"
    assert labels.rst_anchor("claim", "C14b") == "aad-claim-C14b"
    for bad in ("C3 x", "C3-x", "C3{x}", "C3\\x", ""):
        with pytest.raises(ValueError):
            labels.tex_label("claim", bad)
    with pytest.raises(ValueError):
        labels.tex_label("section", "C3")


def test_steps_are_numbered_through_the_document(derivations_tex):
    tags = [int(n) for n in re.findall(r"\\tag\*\{\((\d+)\)\}", derivations_tex)]
    assert tags == list(range(1, len(tags) + 1))


def test_ref_from_a_paper_resolves_with_hyperref(tmp_path, capsys):
    """A \\ref to a claim and a formula label resolves (compile_pdf raises on an undefined reference)."""
    need_pdflatex()
    tex = tmp_path / "derivations.tex"
    assert cli.main(["derive", "--format", "latex", "--out", str(tex)]) == 0
    text = tex.read_text()
    assert r"\usepackage[bookmarks=true" in text and r"\pdfbookmark" in text
    packages = re.findall(r"\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}", text)
    assert packages[-1] == "hyperref", packages  # hyperref is loaded last
    paper = tex.with_name("paper.tex")
    cite = r"See claim~\ref{aad:claim:C3} and \ref{aad:formula:C3.residual-A} on page~\pageref{aad:claim:C3}."
    paper.write_text(text.replace(r"\end{document}", cite + "\n\\end{document}"))
    log = latex.compile_pdf(paper).with_suffix(".log").read_text(errors="replace")
    assert "multiply defined" not in log and not [ln for ln in log.splitlines() if ln.startswith("Overfull")]
    # the check can fail: a reference to a label that does not exist is reported
    wrong = tex.with_name("wrong.tex")
    wrong.write_text(text.replace(r"\end{document}", r"\ref{aad:claim:C99}" + "\n\\end{document}"))
    with pytest.raises(RuntimeError, match="undefined references"):
        latex.compile_pdf(wrong)


def test_a_separate_paper_cites_the_appendix_with_xr_hyper(tmp_path, capsys):
    """compile_pdf keeps derivations.aux beside the PDF; a paper's \\ref into it resolves (and a wrong one does not)."""
    need_pdflatex()
    tex = tmp_path / "derivations.tex"
    assert cli.main(["derive", "--format", "latex", "--claims", "C3,C4", "--out", str(tex)]) == 0
    latex.compile_pdf(tex)
    assert r"\newlabel{aad:claim:C3}{{C3}" in tex.with_suffix(".aux").read_text()
    head = "\\documentclass{article}\\usepackage{xr-hyper}\\usepackage{hyperref}\\externaldocument{derivations}\n"
    paper = tmp_path / "paper.tex"
    paper.write_text(head + "\\begin{document}Claim~\\ref{aad:claim:C3}, \\ref{aad:formula:C3.residual-B}."
                     "\\end{document}\n")
    assert latex.compile_pdf(paper).exists()
    paper.write_text(head + "\\begin{document}\\ref{aad:claim:C99}\\end{document}\n")
    with pytest.raises(RuntimeError, match="undefined references"):
        latex.compile_pdf(paper)


def test_pdflatex_reports_a_planted_duplicate_label(tmp_path, capsys):
    """The log check of the test above can fail: pdflatex reports a label defined twice."""
    need_pdflatex()
    tex = tmp_path / "dup.tex"
    assert cli.main(["derive", "--format", "latex", "--claims", "C3", "--out", str(tex)]) == 0
    tex.write_text(tex.read_text().replace(r"\end{document}", r"\aadlabel{aad:claim:C3}{C3}" + "\n\\end{document}"))
    assert "multiply defined" in latex.compile_pdf(tex).with_suffix(".log").read_text(errors="replace")


def _docs_generate():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "generate.py"
    spec = importlib.util.spec_from_file_location("docs_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANCHOR = re.compile(r"^\.\. _([^:]+):$", re.M)


def docs_anchor_defects(pages: list[str]) -> dict[str, int]:
    """Expected docs anchors (the LaTeX labels with ':' as '-') not defined exactly once, and unexpected ones."""
    counts = Counter(a for page in pages for a in ANCHOR.findall(page))
    expected = [name.replace(":", "-") for name in expected_labels()]
    bad = {name: counts[name] for name in expected if counts[name] != 1}
    bad.update({name: n for name, n in counts.items() if name not in expected})
    return bad


def test_docs_claim_pages_carry_the_same_ids_once():
    generate = _docs_generate()
    claims = all_claims()
    entry = {"status": "passed", "methods": []}  # the anchors do not depend on the verify run
    pages = [generate.claim_page(c, entry, {c.id for c in claims}) for c in claims]
    assert not docs_anchor_defects(pages)
    assert pages[[c.id for c in claims].index("C3")].startswith(".. _aad-claim-C3:\n")
    # the check can fail: a page that anchors a formula it only shows (C4 shows C3's residuals) doubles it
    doubled = pages + [".. _aad-formula-C3.residual-A:\n"]
    assert docs_anchor_defects(doubled) == {"aad-formula-C3.residual-A": 2}
