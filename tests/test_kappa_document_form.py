"""derive --protocol where long exact numbers are named kappa_k in the LaTeX document while the JSON's ``latex``
fields write them out: the document's residual and rate are compared with the JSON's typeset forms, and widths
as the document writes them (false failures of the derive checks before). A document whose residual is not
that form still fails. Also the seeded random protocols on which the checks once failed (shipped_derive.SEEDED).
"""
from __future__ import annotations

import math

import pytest

from proofs_check.verification.registry import PROFILES
from proofs_check.verification.shipped_derive import KAPPA, SEEDED, derive_method
from proofs_check.verification.shipped_derive_b import document_form

QUICK = PROFILES["quick"]


def passes(out) -> bool:
    return out.skipped is None and math.isfinite(out.worst_error) and out.worst_error <= out.tolerance


def run():
    return derive_method({"kappa": KAPPA}, every_format=True)(QUICK)


def test_a_named_constant_in_a_residual_passes():
    out = run()
    assert passes(out), out.detail


def test_the_document_residual_is_still_compared(monkeypatch):
    from theory.protocol import report

    orig = report.as_latex

    def edit(doc, *a, **k):  # B's residual as the JSON's "latex" field writes it: kappa_4 spelled out
        tex = orig(doc, *a, **k)
        i = tex.index(r"e_{B} = z^*_{B} - w^*_{B} &= ")
        j = tex.index(r"\kappa_{", i)
        return tex[:j] + r"\frac{285707253}{50000}" + tex[tex.index("}", j) + 1:]

    monkeypatch.setattr(report, "as_latex", edit)
    out = run()
    assert not passes(out)
    assert "e_B" in out.detail or "e_{B}" in out.detail, out.detail


def test_document_form_prefers_the_typeset_terms():
    doc = {"agents": {"A": {"residual": {"latex": r"\frac{3}{2}  M_{A} w"}, "fixed_point": {"latex": "x"}}},
           "typeset": {"residual": [{"lhs": r"e_{A} = z^*_{A} - w^*_{A}", "terms": [[r"\kappa_{1} M_{A}", 1.0],
                                                                                    ["w", 1.0]]}]}}
    assert document_form(doc, "residual", "A") == r"\kappa_{1} M_{A} w"
    assert document_form(doc, "fixed_point", "A") == "x"  # no typeset entry: the latex field
    del doc["typeset"]
    assert document_form(doc, "residual", "A") == r"\frac{3}{2} M_{A} w"
    assert document_form(doc, "residual", "B") is None


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_random_protocols_pass(name):
    # each failed before (a K_j not written by the package, or a check misreading a correct document)
    out = derive_method({name: SEEDED[name]}, every_format=True)(QUICK)
    assert passes(out), out.detail


def test_a_zero_block_is_no_trivial_number():
    from proofs_check.verification.shipped_tyd import _TRIVIAL

    assert not _TRIVIAL.search(r"\begin{bmatrix}0 & \frac{1}{2} M_{A} \\ 0 & 0 \\ M_{B} & 0\end{bmatrix}")
    for bad in (r"1 M_{A}", r"0 \mathcal{Q}_{1}", r"1 (w^*_{A} - w^*_{B})", r"M_{A}^{1}", r"\frac{3}{1} M_{A}"):
        assert _TRIVIAL.search(bad), bad


def test_constants_spelled_out_as_the_json_writes_numbers():
    from proofs_check.verification.shipped_derive_b import spelled_out

    doc = {"typeset": {"constants": [[r"\kappa_{1}", r"5714.14506"], [r"\kappa_{12}", r"12345\allowbreak 678901"],
                                     [r"\kappa_{2}", r"1646733629\allowbreak /520900000"]]}}
    assert spelled_out(r"- \kappa_{1} M_{A} + \kappa_{12} Q + \kappa_{2} M_{B}", doc) == \
        r"- \frac{285707253}{50000} M_{A} + 12345678901 Q + \frac{1646733629}{520900000} M_{B}"
