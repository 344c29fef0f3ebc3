"""Contracts of the protocol compiler's building blocks (theory/protocol, stream A of the mutation round)
that no verify method reads: what the objects promise their callers, not mathematics."""
import dataclasses

import pytest

from theory.protocol.result import Check


def test_a_check_is_immutable_and_hashable():
    """A V1 check's verdict cannot be changed after it was computed (``frozen``), and checks can be
    collected in sets and dict keys."""
    c = Check("z*_A is fixed by the round map", True, "0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(c, "holds", False)
    assert {c, Check("z*_A is fixed by the round map", True, "0")} == {c}


def test_each_compiled_expression_remembers_its_polynomial():
    """``Compiled.poly`` returns the word polynomial the compiler built an expression from (the very object: the
    printed order of its terms is the compiler's), and only for that expression object; an equal expression built
    elsewhere is expanded anew (result.py's survivors: the cache disabled, or read for another object)."""
    import sympy as sp

    from theory.core.algebra import padd, to_poly
    from theory.protocol import compiler as P, gallery as G

    cp = P.compile_protocol(G.entry("ring").spec, noise=False)
    exprs = [x for row in cp.Phi for x in row if x != 0] + list(cp.r) + list(cp.fixed_point)
    assert exprs and all(id(e) in cp.polys for e in exprs)
    for e in exprs:
        assert cp.poly(e) is cp.polys[id(e)][1]
        again = sp.sympify(sp.srepr(e))  # equal, another object (never stored)
        if again is not e:
            assert cp.poly(again) is not cp.polys[id(e)][1] and not padd(cp.poly(again), to_poly(e), signs=(1, -1))


def test_compiled_defaults_and_repr():
    """A ``Compiled`` built by hand (not by ``compile_protocol``) has not been timed: ``seconds`` is 0.0, which
    ``derive``'s JSON reports as ``compile_seconds``; its ``repr`` leaves out the polynomial cache, which repeats every
    expression (result.py's survivors: the default 1.0 and -1.0, ``repr=True``)."""
    from theory.core.algebra import FreeAlgebra
    from theory.protocol import compiler as P, gallery as G
    from theory.protocol.result import Compiled

    cp = P.compile_protocol(G.entry("round_robin").spec, noise=False)
    bare = Compiled(cp.spec, FreeAlgebra(), cp.Phi, cp.r, cp.live, cp.fixed_point, cp.residual_self,
                    cp.residual_gaps, cp.rate_power, cp.rate_blocks)
    assert bare.seconds == 0.0 and cp.seconds > 0.0
    assert cp.polys and "polys=" not in repr(cp) and "seconds=" in repr(cp)
