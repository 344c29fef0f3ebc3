"""Contracts of the protocol compiler's input and refusal paths (issue 22 item 5, stream B: report, description).

``derived_theory`` must refuse (``Unverified``) when a V1 check fails, naming the first failed identity and the
start of its residual; a listening weight must be a number (a bool is refused) and a float is read exactly as
the description module documents (the simplest fraction with the same double, else the exact decimal).
"""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp


@pytest.fixture(scope="module")
def simultaneous():
    from theory.protocol import compiler, description

    return compiler.compile_protocol(description.spec(["A", "B"], [{"A": {"B": 1}, "B": {"A": 1}}]))


def _plant(monkeypatch, failed: list[tuple[str, str]]) -> None:
    """``checks.verify`` returns the real checks and then ``failed`` (label, residual), none holding."""
    from theory.protocol import checks
    from theory.protocol.result import Check

    real = checks.verify

    def planted(cp):
        return real(cp) + [Check(label, False, residual) for label, residual in failed]

    monkeypatch.setattr(checks, "verify", planted)


def test_refuses_naming_the_first_failed_check(monkeypatch, simultaneous):
    from theory.protocol import report

    _plant(monkeypatch, [("planted identity", "M_A - M_B")])
    with pytest.raises(report.Unverified, match=r"'planted identity' does not reduce to 0 \(residual M_A - M_B\)"):
        report.derived_theory(simultaneous)


def test_refusal_names_the_first_of_several(monkeypatch, simultaneous):
    from theory.protocol import report

    _plant(monkeypatch, [("first planted", "Q1"), ("second planted", "Q2")])
    with pytest.raises(report.Unverified) as info:
        report.derived_theory(simultaneous)
    assert "'first planted'" in str(info.value) and "(residual Q1)" in str(info.value)
    assert "second planted" not in str(info.value)


def test_refusal_cuts_a_long_residual_at_200_characters(monkeypatch, simultaneous):
    from theory.protocol import report

    _plant(monkeypatch, [("long", "x" * 500)])
    with pytest.raises(report.Unverified) as info:
        report.derived_theory(simultaneous)
    assert "x" * 200 + ")" in str(info.value) and "x" * 201 not in str(info.value)


def test_the_unplanted_derivation_is_printed(simultaneous):
    from theory.protocol import report

    doc = report.derived_theory(simultaneous)
    assert doc["checks"] and all(c["holds"] for c in doc["checks"])


@pytest.mark.parametrize("bad", [True, False])
def test_weight_refuses_a_bool(bad):
    from theory.protocol.description import weight

    with pytest.raises(TypeError, match="is not a number"):
        weight(bad)


@pytest.mark.parametrize("w, exact", [
    (1, sp.Integer(1)), (-2, sp.Integer(-2)), (0.5, sp.Rational(1, 2)), (0.1, sp.Rational(1, 10)),
    (1 / 3, sp.Rational(1, 3)), (-0.06, sp.Rational(-3, 50)), (2 / 7, sp.Rational(2, 7)),
    # no fraction with a denominator up to 10**6 has this double: its exact shortest decimal
    (0.1234567891234, sp.Rational(1234567891234, 10**13)),
    # 1/999983 (a prime denominator just under 10**6) is found; 1/1000003 (just over) is kept as a decimal
    (1 / 999983, sp.Rational(1, 999983)),
    (1 / 1000003, sp.Rational(Fraction(repr(1 / 1000003)).numerator, Fraction(repr(1 / 1000003)).denominator)),
])
def test_weight_reads_a_number_exactly(w, exact):
    from theory.protocol.description import weight

    got = weight(w)
    assert got == exact and float(got) == float(w)


def test_weight_keeps_a_symbol():
    from theory.protocol.description import weight

    omega = sp.Symbol("omega")
    assert weight(omega) is omega and weight(1 - omega) == 1 - omega
