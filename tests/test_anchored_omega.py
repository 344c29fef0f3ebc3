"""P4's anchoring weight is omega wherever it is printed, alpha keeps one meaning (C12/C13's Newton
damping, the CLI's ``--param alpha``), and the committed protocol gallery pages say what the compiler
derives now (issue 23: one symbol, one meaning)."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import pytest
import sympy as sp

from proofs_check.check.run import check_config
from proofs_check.statements import statements as S
from theory import derivations as D
from theory.core.formulas import all_formulas
from theory.protocol import compiler as P, gallery as G, report

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "protocols"
ALPHA_CLAIMS = {"C12", "C13"}  # the Newton damping; the only claims whose texts may say alpha
ALPHA = re.compile(r"\\alpha\b|\balpha\b")


def _make_gallery():
    spec = importlib.util.spec_from_file_location("make_gallery", GALLERY / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def texts(statements=None) -> list[tuple[str, str]]:
    """(claim or place, text) for every printed statement, hypothesis, derivation step and formula."""
    sts = S.STATEMENTS if statements is None else statements
    out = [(cid, t) for cid, st in sts.items() for t in (st.statement, *st.hypotheses)]
    out += [(c.claim, t) for c in D.CHAINS for t in (c.title, *(why for _, why in c.steps))]
    out += [(f.claim, f.latex()) for f in all_formulas().values()]
    out += [(cid, name.replace("_", " ")) for cid, st in sts.items() for name in st.hypothesis_names]
    return out


def alpha_outside_newton(statements=None) -> set[str]:
    return {where for where, t in texts(statements) if ALPHA.search(t) and where not in ALPHA_CLAIMS}


def test_alpha_is_only_the_newton_damping():
    assert alpha_outside_newton() == set()
    assert {where for where, t in texts() if ALPHA.search(t)} == ALPHA_CLAIMS  # and C12/C13 keep it


def test_the_alpha_scan_has_power():
    # planted: P4's statement written with the old symbol
    old = dataclasses.replace(S.of("P4"), statement=S.of("P4").statement.replace(r"\omega", r"\alpha"))
    assert alpha_outside_newton({**S.STATEMENTS, "P4": old}) == {"P4"}


def test_one_anchoring_symbol():
    assert D.ANCHOR is G.omega or D.ANCHOR == G.omega
    assert G.omega.name == "omega" and sp.latex(G.omega) == r"\omega"
    weights = {w for ph in G.entry("anchored").spec.phases for _, row in ph for _, w in row}
    assert set().union(*(getattr(w, "free_symbols", set()) for w in weights)) == {G.omega}
    f = all_formulas()["P4.anchored_plateau_A"]
    assert (f.lhs.free_symbols | f.rhs.free_symbols) & {sp.Symbol("alpha")} == set()


def test_the_anchored_derivation_prints_omega():
    doc = report.derived_theory(P.compile_protocol(G.entry("anchored").spec, noise=False))
    shown = json.dumps(doc)
    assert r"\\omega" in shown and "omega" in doc["rate"]["blocks"][0]["text"]
    assert not ALPHA.search(shown.replace("\\\\", "\\"))


def test_the_p4_check_names_omega():
    raw = json.loads((ROOT / "examples" / "protocol_anchored.json").read_text())
    rep = check_config("P4", raw, []).as_dict()
    names = [h["name"] for h in rep["hypotheses"]]
    assert "omega_range" in names and not any("alpha" in n for n in names)
    assert rep["holds"] is True
    assert not ALPHA.search(json.dumps(rep))


@pytest.fixture(scope="module")
def make_gallery():
    return _make_gallery()


@pytest.mark.parametrize("key", [e.key for e in G.entries()])
def test_committed_gallery_page_is_what_make_gallery_writes_now(make_gallery, key):
    committed = (GALLERY / f"{key}.rst").read_text()
    assert committed == make_gallery.current_page(G.entry(key)), \
        f"docs/protocols/{key}.rst is stale: run docs/protocols/make_gallery.py and commit it"


def test_the_page_check_has_power(make_gallery):
    """Planted: the anchored page's sentence, or its protocol, with the old symbol alpha is caught."""
    e = G.entry("anchored")
    committed = (GALLERY / "anchored.rst").read_text()
    old_words = dataclasses.replace(e, changes=e.changes.replace(r"\omega", r"\alpha"))
    assert make_gallery.current_page(old_words) != committed
    rate = {w: report.derived_theory(P.compile_protocol(G.anchored(w), noise=False))["rate"]["latex"]
            for w in (G.omega, sp.Symbol("alpha"))}
    assert rate[G.omega] in committed and rate[sp.Symbol("alpha")] not in committed
