"""The typeset-form checks of ``a2ad derive --protocol`` (proofs_check.verification.shipped_tyd) fail on
planted wrong forms: each plant is the printed effect of a display.py mutant that survived the checks of
values (docs/mutation.rst), applied to the printed document."""
from __future__ import annotations

import math
import re

import pytest

from proofs_check.verification.registry import PROFILES
from proofs_check.verification.shipped import MISMATCH

QUICK = PROFILES["quick"]


def passes(out) -> bool:
    return out.skipped is None and math.isfinite(out.worst_error) and out.worst_error <= out.tolerance


def derive(key: str):
    from proofs_check.verification.shipped_derive import GALLERY, derive_method
    from proofs_check.verification.shipped_tyd import SELF

    return derive_method({"self": SELF} if key == "self" else {key: GALLERY[key]})(QUICK)


def plant(monkeypatch, edit) -> None:
    from theory.protocol import report

    orig = report.as_latex
    monkeypatch.setattr(report, "as_latex", lambda doc, *a, **k: edit(orig(doc, *a, **k)))


def test_the_package_passes():
    for key in ("self", "P3", "P5"):
        out = derive(key)
        assert passes(out), out.detail


@pytest.mark.parametrize("key, edit, field", [
    # a phase's first message with a plus ("+ " if heard flipped)
    ("P3", lambda t: t.replace("hears $m_{B}$", "hears $+ m_{B}$"), "latex signs"),
    # rho(...) around a product, rho\left(..\right) around one letter (the test of "one" negated)
    ("P3", lambda t: t.replace(r"\rho\left(M_{B} M_{A}^{2}\right)", r"\rho(M_{B} M_{A}^{2})"), "latex rate form"),
    ("self", lambda t: t.replace(r"\rho(M_{A})", r"\rho\left(M_{A}\right)"), "latex rate form"),
    # several blocks without max (len(blocks) > 2)
    ("self", lambda t: t.replace(r"\max\left\{", "").replace(r"\right\}\end{align*}", r"\end{align*}"),
     "latex rate form"),
    # a first power written out, a coefficient 1 written out
    ("P3", lambda t: t.replace(r"M_{B} M_{A}^{2}", r"M_{B}^{1} M_{A}^{2}"), "latex trivial numbers"),
    # named factors numbered from 2 (named_tex(k + 2))
    ("P3", lambda t: re.sub(r"\\mathcal\{S\}_\{(\d)\}", lambda m: rf"\mathcal{{S}}_{{{int(m.group(1)) + 1}}}", t),
     "latex names"),
    # a short pivot pointed at instead of written out (w < 40 to w == 40)
    ("P3", lambda t: re.sub(r"\$([^$]*)\$ is invertible \(its inverse is \$(\\mathcal\{Q\}_\{\d+\})\$\)",
                            lambda m: f"the pivot ${m.group(2)}^{{-1}}$ above is invertible", t),
     "latex hypotheses written out"),
    # an unbalanced display
    ("P3", lambda t: t.replace(r"\Big)^{-1}", r")^{-1}", 1), "latex balanced"),
])
def test_a_planted_form_fails(monkeypatch, key, edit, field):
    plant(monkeypatch, edit)
    out = derive(key)
    assert not passes(out) and f"{field} {MISMATCH:.1e} (bar" in out.detail, out.detail
