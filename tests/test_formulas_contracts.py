"""The registered formulas' names in the macros file (theory/core/formulas.py): each macro is ``aad`` and the
formula's name in camel case, letters only (words split at any other character, each word's first letter upper
case and the rest as written, digits spelled out: docs/latex.rst, ``Formula.macro``), distinct for every formula;
and the ``verification:`` note beside each macro (``verification_note``). Expected names are written out by hand
from that rule."""
from __future__ import annotations

import re

import sympy as sp

from theory.core import formulas
from theory.core.formulas import Formula, all_formulas, verification_note


def _macro(name: str) -> str:
    return Formula("C0", name, sp.Symbol("x"), sp.Symbol("y"), "a test formula").macro


def test_a_macro_is_the_name_in_camel_case_letters_only():
    assert _macro("fixed_point_A") == "aadFixedPointA"
    assert _macro("residual_3_agents") == "aadResidualThreeAgents"
    assert _macro("newtonError") == "aadNewtonError"  # the rest of a word as written
    assert _macro("s_steps") == "aadSSteps"
    assert _macro("rate.k-2") == "aadRateKTwo"
    assert _macro("x10") == "aadXOneZero"


def test_every_registered_macro_is_letters_only_and_its_own():
    macros = [f.macro for f in all_formulas().values()]
    assert all(re.fullmatch(r"aad[A-Za-z]+", m) for m in macros)
    assert len(set(macros)) == len(macros)
    assert all_formulas()["C3.residual_A"].macro == "aadResidualA"  # docs/latex.rst's example


def test_the_verification_note_names_the_method_that_read_the_formula():
    passed = "".join(["pass", "ed"])  # a status built at run time, as the registry's
    fid = "C3.residual_A"
    assert verification_note(fid, passed) == f"passed ({formulas.VERIFIED_BY[fid]} reads this formula)"
    assert verification_note(fid, passed) == "passed (C3 VS reads this formula)"
    assert verification_note("C0.not_registered", passed) == "claim passed; no method reads this formula"
    assert verification_note(fid, "failed") == "failed"
    assert verification_note("C0.not_registered", "skipped") == "skipped"


def test_a_registered_formula_cannot_be_changed():
    """The object the registry verifies is the object the macros file typesets: a Formula is frozen."""
    import dataclasses

    import pytest

    f = all_formulas()["C3.residual_A"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.rhs = sp.Integer(0)  # type: ignore[misc]
    assert {f: 1}[f] == 1  # and hashable
