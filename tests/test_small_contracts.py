"""Contracts of the protocol compiler's input (issue 22 item 5, helper "small": description, gallery, evaluation,
helper, chains).

A float listening weight is read exactly (theory.protocol.description.weight): the simplest fraction ``p/q``
(``q <= 10**6``) whose double is the weight's, else the weight's exact shortest decimal, never a nearby fraction
(whether that fraction lies above or below the weight). ``a2ad derive --protocol`` prints the weights so read.
"""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp


def _decimal(text: str) -> sp.Rational:
    """The exact rational of a decimal literal (the reference: never the code under test)."""
    f = Fraction(text)
    return sp.Rational(f.numerator, f.denominator)


# Floats with no fraction of denominator <= 10**6 of the same double, whose nearest such fraction (80/81, 10/81)
# lies below, resp. above, the float: either way the exact decimal is kept.
@pytest.mark.parametrize("text", ["0.987654321", "0.123456789"])
def test_weight_keeps_the_decimal_whichever_side_the_nearest_fraction_lies(text):
    from theory.protocol.description import weight

    got = weight(float(text))
    assert got == _decimal(text) and float(got) == float(text)


def test_derive_protocol_prints_a_float_weight_exactly():
    """The user's path: a config's weight 0.987654321 (80/81 is the nearest fraction, below it) is printed as the
    exact decimal in the derived phases."""
    from numerics import api

    cfg = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                      {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}],
           "protocol": {"rounds": [{"A": {"A": 0.987654321, "B": 0.012345679}}, {"B": {"A": 1.0}}]}}
    phases = api.derive_protocol(cfg).phases
    assert phases[0]["A"] == {"A": str(_decimal("0.987654321")), "B": str(_decimal("0.012345679"))}
    assert phases[1] == {"B": {"A": "1"}}


def test_a_spec_is_a_value():
    """A Spec (the compiler's input, kept by the compiled result as ``cp.spec``) is a value: equal specs hash
    equal (it can key a cache) and it cannot be changed once built (a compiled result keeps describing it)."""
    import dataclasses

    from theory.protocol.description import round_robin, spec

    a, b = round_robin(["A", "B"]), spec(["A", "B"], [{"A": {"B": 1}}, {"B": {"A": 1}}])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.names = ("B", "A")


def test_gallery_entry_is_found_by_value():
    """``gallery.entry(key)`` looks the key up by its text: a key built at run time (read from a file or a command
    line, so not the interned literal) finds its entry, and an unknown key is a KeyError naming it."""
    from theory.protocol import gallery

    key = "".join(["deb", "ate"])  # equal to "debate", a different str object
    assert gallery.entry(key).key == "debate"
    with pytest.raises(KeyError, match="nope"):
        gallery.entry("nope")


def test_a_gallery_entry_is_a_value():
    """The gallery's entries are constants (the docs pages and P2-P5 read them): equal entries hash equal, and an
    entry cannot be changed in place."""
    import dataclasses

    from theory.protocol import gallery

    a, b = gallery.entry("ring"), gallery.entry("ring")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.key = "star"


@pytest.mark.parametrize("runtime", [False, True])
def test_helper_derivation_reads_names_by_value(runtime):
    """``derive_helper`` finds the main agent among the helper's sources, and the helper among the main agent's,
    by name, also when the names were built at run time (read from a config, so not the interned literals). By
    hand from the module text, with weights 1 (a round robin): the helper emits ``M_H u_t + (I - M_H) w_H(t)``, so
    the relabelled target is ``(I - M_H)^{-1} (n_t - M_H u_t)``; the main agent then answers ``n_t``, so its next
    error is ``M_main n_t + c_main - w_main*``. Its V1 check holds, as a bool, and what it left is "0"."""
    from theory.protocol.description import round_robin
    from theory.protocol.helper import derive_helper
    from theory.protocol.symbols import ONE, M, c, w_star

    main, helper = ("".join(["Ma", "in"]), "".join(["Hel", "per"])) if runtime else ("Main", "Helper")
    h = derive_helper(round_robin([main, helper]), "Main", "Helper")
    u, n = sp.Symbol("u_t", commutative=False), sp.Symbol("n_t", commutative=False)
    MH = M("Helper")
    assert h.alg.reduce(h.relabel - h.alg.inverse(ONE - MH) * (n - MH * u)) == 0
    assert h.alg.reduce(h.error_next - (M("Main") * n + c("Main") - w_star("Main"))) == 0
    assert h.checks and all(ch.holds is True and ch.residual == "0" for ch in h.checks)


@pytest.mark.parametrize("bad", ["scalar", "other letter"])
def test_split_by_vector_refuses_a_term_without_a_trailing_vector(bad):
    """``split_by_vector`` writes ``expr = sum_v C_v v``; a term that does not end with one of the vectors (a
    number, or a word ending in another letter) is a ValueError naming the term, not a wrong split."""
    from theory.protocol.helper import split_by_vector

    u, x, A = (sp.Symbol(s, commutative=False) for s in ("u_t", "x", "M_A"))
    expr = A * u + (3 if bad == "scalar" else A * x)
    with pytest.raises(ValueError, match="does not end with one of"):
        split_by_vector(expr, {u: None})
    assert split_by_vector(A * u + 2 * u, {u: None}) == {u: A + 2}

