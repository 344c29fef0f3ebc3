"""The canonical form's factoring steps (theory.protocol.canonical, docs/protocol.rst steps 1-5) on coefficients built
by hand, where the factored form is known in advance: the paths no protocol of the other tests reaches (peels on
either side and the documented limits of steps 1, 4 and 5, common letters, push-through's cases, removable
divisions, one-word and named sums, both recognitions of an inverse, words longer than 256 letters, 258 agents),
and the fallbacks (an unsettled product, a failed recognised inverse), reached by planting a failing check. Each
expected form is derived in the comment above it, and factored products are also checked against the polynomial
they factor by the free algebra's reduction."""
import re
from collections import Counter
from fractions import Fraction as Fr
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

from numerics.protocol import random_protocols, spec as nproto
from test_documented_formats import documented
from test_protocol_latex import random_spec
from theory.core.algebra import FreeAlgebra, letter, padd, pmul, psubs
from theory.protocol import canonical as cn, compiler as P, description, gallery as G
from theory.protocol.result import Check

# docs/protocol.rst (the canonical form's cost limits): step 1 is tried on coefficients of at most this many words
PEEL_LIMIT_DOCUMENTED = 64


@pytest.fixture
def alg():
    """``M_A``, ``M_B``, ``M_C`` and the inverse ``Q1 = (I - M_A M_B)^{-1}``: the rules ``M_A M_B Q1 = Q1 - I``
    and ``Q1 M_A M_B = Q1 - I``."""
    a = FreeAlgebra()
    MA, MB = a.symbol("M_A"), a.symbol("M_B")
    a.inverse(1 - MA * MB)
    return a


def letters(alg):
    MA, MB, MC = (alg.symbol(f"M_{x}") for x in "ABC")
    return MA, MB, MC, alg.inverted[0][1]


def same(alg, C: cn.Coefficient, X: dict) -> bool:
    """The product ``C`` equals ``X`` in the free algebra (independent of how ``C`` was found)."""
    return not alg.reduce_poly(padd(C.poly(), X, signs=(1, -1)))


def word_of(C: cn.Coefficient) -> list:
    """The factors of ``C`` as letters (a sum factor as its dict)."""
    return [next(iter(f))[0] if cn._is_letter(f) else f for f in C.factors]


def test_peel_on_the_left_then_common_trailing_letter(alg):
    MA, MB, MC, Q1 = letters(alg)
    # X = Q1 (M_A M_B + M_B) reduces to Q1 - I + Q1 M_B (3 words); F1 X = M_A M_B + M_B has 2: Q1 is peeled on the
    # left, the common trailing M_B comes off, and I + M_A stays a sum: X = Q1 (I + M_A) M_B
    X = alg.reduce_poly(pmul(letter(Q1), {(MA, MB): Fr(1), (MB,): Fr(1)}))
    assert len(X) == 3
    C = cn.factor(alg, X, [])
    assert C.scalar == 1 and word_of(C) == [Q1, {(): 1, (MA,): 1}, MB]
    assert same(alg, C, X)


def test_three_peels_on_the_right_keep_their_order(alg):
    MA, MB, MC, Q1 = letters(alg)
    Q2, Q3 = alg.inverse(1 - MC * MA), alg.inverse(1 - MB * MC)
    # Y Q1 Q2 Q3 with Y = M_B M_C M_C M_A M_A M_B: each inverse's rule fires once (M_A M_B Q1 = Q1 - I, then
    # M_C M_A Q2 = Q2 - I, then M_B M_C Q3 = Q3 - I), so X has 4 words, X F3 has 3, X F3 F2 has 2, Y has 1: Q3, Q2,
    # Q1 are peeled on the right in that order, each put before the ones already peeled
    Y = {(MB, MC, MC, MA, MA, MB): Fr(1)}
    X = alg.reduce_poly(pmul(Y, letter(Q1), letter(Q2), letter(Q3)))
    assert len(X) == 4
    C = cn.factor(alg, X, [])
    assert C.scalar == 1 and word_of(C) == [MB, MC, MC, MA, MA, MB, Q1, Q2, Q3]
    assert same(alg, C, X)


def test_two_common_trailing_letters_and_none_leading(alg):
    MA, MB, MC, _ = letters(alg)
    # M_A M_C M_B + M_B M_C M_B = (M_A + M_B) M_C M_B: the two trailing letters in order, no leading one
    X = {(MA, MC, MB): Fr(1), (MB, MC, MB): Fr(1)}
    C = cn.factor(alg, X, [])
    assert word_of(C) == [{(MA,): 1, (MB,): 1}, MC, MB]
    assert same(alg, C, X)
    # M_A M_B + M_B M_A: first and last letters differ, nothing comes off
    X = {(MA, MB): Fr(1), (MB, MA): Fr(1)}
    C = cn.factor(alg, X, [])
    assert C.scalar == 1 and word_of(C) == [X]


def test_peel_limit_is_the_documented_one(alg):
    MA, MB, MC, Q1 = letters(alg)
    # Q1 (M_A M_B + M_C + M_C^2 + ... + M_C^n) reduces to Q1 - I + Q1 M_C + ... + Q1 M_C^n: n + 2 words, and peeling
    # Q1 leaves n + 1. A coefficient of the documented limit's length is peeled, one word longer is not
    for words, peeled in ((PEEL_LIMIT_DOCUMENTED, True), (PEEL_LIMIT_DOCUMENTED + 1, False)):
        Y = {(MA, MB): Fr(1), **{(MC,) * k: Fr(1) for k in range(1, words - 1)}}
        X = alg.reduce_poly(pmul(letter(Q1), Y))
        assert len(X) == words
        C = cn.factor(alg, X, [])
        assert (word_of(C)[0] == Q1) is peeled, words
        assert same(alg, C, X)


def test_push_through_puts_the_inverse_first(alg):
    MA, MB, MC, _ = letters(alg)
    # M_A (I - M_B M_A)^{-1} M_C = (I - M_A M_B)^{-1} M_A M_C: the inverse of I - M_A M_B is the algebra's Q1
    Q0 = alg.inverse(1 - MB * MA)
    out = cn._push_through(alg, [letter(MA), letter(Q0), letter(MC)])
    assert out == [letter(alg.inverted[0][1]), letter(MA), letter(MC)]
    # unchanged: a pivot whose words do not all end in the leading M's; a product not starting with an M (W is a
    # leading word of M's, not Q1 M_A, though Q1 M_A (I - M_B Q1 M_A)^{-1} = (I - Q1 M_A M_B)^{-1} Q1 M_A holds too);
    # a pivot whose identity coefficient is not 1 (2, 1/2) or that has none; I - V W equal to I - W V (V = W = M_A)
    Q1 = alg.inverted[0][1]
    Q2 = alg.inverse(1 - MB * MC)
    Q3 = alg.inverse(1 - MB * Q1 * MA)
    others = [alg.inverse(2 - MB * MA), alg.inverse(Fr(1, 2) - MB * MA), alg.inverse(MB * MA), alg.inverse(1 - MA * MA)]
    for factors in ([letter(MA), letter(Q2), letter(MC)], [letter(Q0), letter(MA)], [letter(MA), letter(MB)],
                    [letter(Q1), letter(MA), letter(Q3), letter(MC)],
                    *([letter(MA), letter(Q), letter(MC)] for Q in others)):
        assert cn._push_through(alg, factors) == factors, factors


def test_name_sums_splits_one_word_factors():
    MA, MB, MC = (sp.Symbol(f"M_{x}", commutative=False) for x in "ABC")
    # 3 * (2 M_A M_B) * (5 I) * M_C * (M_A / 2) * I * (M_B M_C) * (3 M_B): a one-word factor is its number times its
    # letters, the identity contributes its number only, and a letter with a number other than 1 is not a letter
    C = cn.Coefficient(Fr(3), [{(MA, MB): Fr(2)}, {(): Fr(5)}, letter(MC), {(MA,): Fr(1, 2)}, {(): Fr(1)},
                               {(MB, MC): Fr(1)}, {(MB,): Fr(3)}])
    out = cn.name_sums(cn.Naming(), C)
    assert out.scalar == 45
    assert out.factors == [letter(MA), letter(MB), letter(MC), letter(MA), letter(MB), letter(MC), letter(MB)]


def test_a_named_sum_is_divided_by_its_unit_with_symbolic_coefficients_factored(alg):
    MA, MB, MC, _ = letters(alg)
    omega = sp.Symbol("omega")
    # (2 I + (omega^2 - 1) M_A) = 2 (I + (omega - 1)(omega + 1)/2 M_A): the unit is the identity's coefficient, and the
    # quotient is written factored (as every symbolic coefficient of the canonical form)
    naming = cn.Naming(alg, [])
    out = cn.name_sums(naming, cn.Coefficient(Fr(1), [{(): Fr(2), (MA,): omega**2 - 1}]))
    S1 = cn.named_letter(1)
    assert out.scalar == 2 and word_of(out) == [S1]
    (S, g), = naming.named
    assert S == S1 and g[()] == 1 and g[(MA,)] == (omega - 1) * (omega + 1) / 2  # structurally: factored
    # the same sum up to a number gets the same name
    out = cn.name_sums(naming, cn.Coefficient(Fr(1), [{(): Fr(6), (MA,): 3 * omega**2 - 3}]))
    assert out.scalar == 6 and word_of(out) == [S1] and len(naming.named) == 1


def test_name_sums_recognises_an_inverse_and_names_a_sum(alg):
    MA, MB, MC, Q1 = letters(alg)
    # Q = (I - 1/2 M_B M_A)^{-1}: 3 I + 3/2 M_A Q M_B = 3 (I + 1/2 M_A Q M_B) = 3 (I - 1/2 M_A M_B)^{-1} (push-through),
    # a new inverse Q', its identity recorded; the sum after it (I + M_C) is named S1, the M_B after that kept
    a = Fr(1, 2)
    Q = alg.inverse(1 - a * MB * MA)
    f = {(): Fr(3), (MA, Q, MB): 3 * a}
    ids: list = []
    naming = cn.Naming(alg, ids)
    out = cn.name_sums(naming, cn.Coefficient(Fr(2), [f, {(): Fr(1), (MC,): Fr(1)}, letter(MB)]))
    Qp = alg.inverted[-1][1]
    assert alg.inverted[-1][0] == 1 - a * MA * MB
    assert out.scalar == 6 and word_of(out)[0] == Qp and word_of(out)[2] == MB
    S1 = cn.named_letter(1)
    assert word_of(out)[1] == S1 and naming.named == [(S1, {(): 1, (MC,): 1})]
    assert ids == [(Qp, {(): 1, (MA, Q, MB): a})]
    # without recognition (the retry's naming, ids None) the same sum is named instead, nothing recorded
    naming = cn.Naming(alg, None)
    out = cn.name_sums(naming, cn.Coefficient(Fr(2), [f, letter(MB)]))
    assert out.scalar == 6 and word_of(out) == [S1, MB] and naming.named == [(S1, {(): 1, (MA, Q, MB): a})]


def test_removable_division_cleared_on_the_left_first():
    omega = sp.Symbol("omega")
    alg = FreeAlgebra()
    MA, MB = alg.symbol("M_A"), alg.symbol("M_B")
    Q1 = alg.inverse(1 - omega * MA)
    # the anchored pivot's form: I - (omega - 1)/omega M_B + (omega - 1)/omega M_B Q1 divides by omega. With
    # Q1 = I + omega Q1 M_A (step 4, F1 = I - omega M_A) it is I + (omega - 1) M_B Q1 M_A, no division, 2 words; the
    # right form I + (omega - 1) M_B M_A Q1 is as good, and the left one is tried first
    X = {(): Fr(1), (MB,): -(omega - 1) / omega, (MB, Q1): (omega - 1) / omega}
    out = cn.desingularize(alg, X)
    assert out == {(): 1, (MB, Q1, MA): omega - 1}
    assert not alg.reduce_poly(padd(out, X, signs=(1, -1)))
    # factor() clears it the same way (no inverse peels off: X F1 has 3 words too), and the sum stays one factor
    assert cn.factor(alg, X, []).factors == [out]
    # a pivot with no identity term (F = a - V needs a != 0) gives no variant: X itself
    alg2 = FreeAlgebra()
    MA, MB = alg2.symbol("M_A"), alg2.symbol("M_B")
    Q2 = alg2.inverse(omega * MA)
    X = {(MB, Q2): 1 / omega, (MB,): Fr(1)}
    assert cn.desingularize(alg2, X) == X


def test_factor_a_single_word_and_a_recognised_inverse():
    alg = FreeAlgebra()
    MA, MB = alg.symbol("M_A"), alg.symbol("M_B")
    # one word: its number times its letters
    C = cn.factor(alg, {(MA, MB): Fr(2)}, [])
    assert C.scalar == 2 and word_of(C) == [MA, MB]
    # Q = (I - 1/2 M_B M_A)^{-1}: 3/2 M_A Q M_B + 3 I = 3 (I + 1/2 M_A Q M_B) = 3 (I - 1/2 M_A M_B)^{-1}. The common
    # number taken out first is the first word's, 3/2, so the identity's coefficient in what is left is b = 2
    Q = alg.inverse(1 - Fr(1, 2) * MB * MA)
    ids: list = []
    X = {(MA, Q, MB): Fr(3, 2), (): Fr(3)}
    C = cn.factor(alg, X, ids)
    Qp = alg.inverted[-1][1]
    assert alg.inverted[-1][0] == 1 - Fr(1, 2) * MA * MB
    assert C.scalar == 3 and word_of(C) == [Qp] and ids == [(Qp, {(): 1, (MA, Q, MB): Fr(1, 2)})]
    # without recognition (ids None) the sum stays, its first word's number taken out
    C = cn.factor(alg, X, None)
    assert C.scalar == Fr(3, 2) and word_of(C) == [{(MA, Q, MB): 1, (): 2}]


@pytest.mark.parametrize("seed", [0, 13])  # an expanded (K = 2) and a named-block (dense, K = 3) protocol
def test_an_unsettled_product_is_printed_as_its_raw_sum(seed, monkeypatch):
    """The fallback of both paths: a displayed product whose proof does not settle is replaced by the raw
    coefficient (one named factor holding the eliminated sum), and only that one. Which proofs fail is planted:
    the first check of the chosen labels reports "not settled" (no real protocol found leaves one unsettled)."""
    cp = P.compile_protocol(random_spec(seed), noise=False)
    n, dense = cp.names, cp.named is not None
    clean = cn.canonical(cp)
    assert clean.dense is dense and all(c.holds for c in clean.checks)
    if dense:  # C_AB, Z_BC and D_C; the raw polynomials are the named elimination's
        faulty = {cn.gap_label(n[0], n[1]): ("gaps", 0, 1), cn.fixed_label(n[1], n[2]): ("fixed", 1, 2),
                  cn.self_label(n[2]): ("self_", 2, None)}
        gaps, selfs, Z = clean.raw
        raw = {"gaps": gaps, "fixed": Z, "self_": selfs}
    else:  # X_AB (so C_AB = X_AB K_B) and D_A; the raw polynomials are the elimination's X and the compiler's D
        faulty = {cn.factor_label(n[0], n[1]): ("gaps", 0, 1), cn.self_label(n[0]): ("self_", 0, None)}
        raw = {"gaps": clean.X, "self_": [cp.poly(x) for x in cp.residual_self]}
    assert all(clean.self_[i] is not None for _, i, j in faulty.values() if j is None)

    def lone_named(c, what, C):  # one named factor (and K_j on the expanded path's C_ij)
        factors = C.factors[:-1] if what == "gaps" and not dense else C.factors
        return len(factors) == 1 and next(iter(factors[0]))[0] in c.definitions()

    # the planted spots are factored when they settle (else the fallback could not be told from the factoring)
    for what, i, j in faulty.values():
        assert not lone_named(clean, what, getattr(clean, what)[i] if j is None else getattr(clean, what)[i][j])
    calls: Counter = Counter()
    real = cn.coefficient_check

    def first_fails(cn_, label, C, target):
        calls[label] += 1
        if label in faulty and calls[label] == 1:
            return Check(label, False, "planted: not settled")
        return real(cn_, label, C, target)

    monkeypatch.setattr(cn, "coefficient_check", first_fails)
    out = cn.canonical(cp)
    assert all(c.holds for c in out.checks) and all(calls[label] >= 2 for label in faulty)
    for what, i, j in faulty.values():
        C = getattr(out, what)[i] if j is None else getattr(out, what)[i][j]
        factors = C.factors[:-1] if what == "gaps" and not dense else C.factors  # without its K_j
        expected = raw[what][i] if j is None else raw[what][i][j]
        assert lone_named(out, what, C), (what, i, j)
        shown = psubs(cn.Coefficient(C.scalar, factors).poly(), out.definitions())
        assert not padd(shown, expected, signs=(1, -1)), (what, i, j)
    # every other coefficient keeps its factored form: the same letters (named factors up to their numbers, which
    # shift when a raw sum is named first) and the same number
    def shape(c, C):
        return C.scalar, tuple("S" if x in c.definitions() else x.name for f in C.factors for x in next(iter(f)))

    spots = set(faulty.values())
    for what in ("gaps", "fixed", "self_"):
        for i, row in enumerate(getattr(clean, what)):
            cells = {None: row} if what == "self_" else row
            for j, C in cells.items():
                # (on the expanded path X_ij is both C_ij's product and the fixed point's coefficient)
                if C is None or (what, i, j) in spots or (not dense and what == "fixed" and ("gaps", i, j) in spots):
                    continue
                got = getattr(out, what)[i] if j is None else getattr(out, what)[i][j]
                assert shape(out, got) == shape(clean, C), (what, i, j)


def test_a_failed_recognised_inverse_means_a_retry_without_recognition(monkeypatch):
    """When one identity ``Q' = I + a W Q V`` of item 5 does not reduce, the canonical form is derived again with no
    recognised inverse (planted: every identity check fails; the round robin has one recognised inverse)."""
    cp = P.compile_protocol(G.entry("round_robin").spec, noise=False)
    clean = cn.canonical(cp)
    assert clean.recognise and len(clean.identities) == 1
    real, calls = cn.identity_checks, []

    def failing(c):
        calls.append(c.recognise)
        return [Check(x.label, False, "planted") for x in real(c)]

    monkeypatch.setattr(cn, "identity_checks", failing)
    out = cn.canonical(cp)
    assert calls[0] is True and calls[-1] is False
    assert not out.recognise and out.identities == [] and all(c.holds for c in out.checks)
    # without recognition the sum the recognised inverse replaced, I + M_A (I - M_B M_A)^{-1} M_B, is a named factor
    MA, MB = out.alg.symbol("M_A"), out.alg.symbol("M_B")
    Q = next(Q for F, Q in out.alg.inverted if F == 1 - MB * MA)
    assert clean.named == [] and list(out.sums.values()) == [{(): 1, (MA, Q, MB): 1}]


def test_a_named_sum_whose_factored_form_is_an_inverse(alg):
    MA, MB, MC, Q1 = letters(alg)
    # x = (I - 1/2 M_C Q1 M_A M_B)^{-1} (V = M_C, W = Q1 M_A M_B) and g = I + 1/2 (Q1 x M_C - x M_C): g's non-identity
    # terms factor as 1/2 Q1 M_A M_B x M_C (Q1 peeled: F1 times them is the one word 1/2 M_A M_B x M_C), so g is shown
    # as I + 1/2 W x V, recognised as the inverse (I - 1/2 W V)^{-1} (push-through) instead of being named. With
    # 3 * (2 g) * M_C the unit 2 comes out: 6 (I - 1/2 Q1 M_A M_B M_C)^{-1} M_C
    x = alg.inverse(1 - Fr(1, 2) * MC * Q1 * MA * MB)
    g = {(): Fr(1), (Q1, x, MC): Fr(1, 2), (x, MC): Fr(-1, 2)}
    assert alg.reduce_poly(g) == g
    ids: list = []
    naming = cn.Naming(alg, ids)
    out = cn.name_sums(naming, cn.Coefficient(Fr(3), [{w: 2 * c for w, c in g.items()}, letter(MC)]))
    F, Qp = alg.inverted[-1]
    assert F == 1 - Fr(1, 2) * Q1 * MA * MB * MC
    assert out.scalar == 6 and word_of(out) == [Qp, MC] and naming.named == [] and naming.sums == []
    assert ids == [(Qp, {(): 1, (Q1, MA, MB, x, MC): Fr(1, 2)})]


def test_step_5_repeats_at_most_four_times():
    alg = FreeAlgebra()
    MA, MB, MC = (alg.symbol(f"M_{x}") for x in "ABC")
    # Q_0 = (I - M_A M_B)^{-1} and Q_k = (I - M_C Q_{k-1})^{-1}; X_0 = Q_0 (M_A M_B + M_B) = Q_0 - I + Q_0 M_B and
    # X_k = Q_k M_C X_{k-1}, reduced (Q_k M_C Q_{k-1} = Q_k - I: two more words per level). In X_k, Q_k peels off
    # (F_k X_k = M_C X_{k-1}), then the common M_C, and X_{k-1} has no common letter (its identity term): one
    # repetition of step 5 per level. X_4 needs four and is a product of letters (Q_0 peeled, the trailing M_B,
    # I + M_A left); X_5 would need five, so its X_0 stays a sum (docs/protocol.rst: step 5 repeats at most 4 times)
    Q = [alg.inverse(1 - MA * MB)]
    X = [alg.reduce_poly(pmul(letter(Q[0]), {(MA, MB): Fr(1), (MB,): Fr(1)}))]
    for k in range(1, 6):
        Q.append(alg.inverse(1 - MC * Q[-1]))
        X.append(alg.reduce_poly(pmul(letter(Q[k]), letter(MC), X[-1])))
    assert [len(x) for x in X] == [3, 5, 7, 9, 11, 13]
    levels = [Q[4], MC, Q[3], MC, Q[2], MC, Q[1], MC]
    C4, C5 = cn.factor(alg, X[4], []), cn.factor(alg, X[5], [])
    assert word_of(C4) == levels + [Q[0], {(): 1, (MA,): 1}, MB]
    assert word_of(C5) == [Q[5], MC] + levels + [X[0]]
    assert same(alg, C4, X[4]) and same(alg, C5, X[5])


def test_removable_division_limits_and_pivots():
    """Step 4's documented limits and its pivots ``F = a - V``: ``Q = (I + Q V)/a`` (left) or ``(I + V Q)/a``."""
    omega = sp.Symbol("omega")

    def fresh():
        a = FreeAlgebra()
        return (a, *(a.symbol(f"M_{x}") for x in "ABC"))

    def anchored(MB, Q):  # I - (omega - 1)/omega M_B + (omega - 1)/omega M_B Q = I + (omega - 1)/omega M_B (Q - I)
        return {(): Fr(1), (MB,): -(omega - 1) / omega, (MB, Q): (omega - 1) / omega}

    # a pivot of at most 12 words is used, one of 13 is not: with F = I - omega (M_A + ... + M_A^(n-1)) (n words),
    # Q - I = Q V = omega Q (M_A + ... + M_A^(n-1)), so X = I + (omega - 1) (M_B Q M_A + ... + M_B Q M_A^(n-1))
    for n, used in ((12, True), (13, False)):
        alg, MA, MB, MC = fresh()
        Q = alg.inverse(1 - omega * sp.Add(*[MA**k for k in range(1, n)]))
        X = anchored(MB, Q)
        want = {(): 1, **{(MB, Q) + (MA,) * k: omega - 1 for k in range(1, n)}} if used else X
        assert cn.desingularize(alg, X) == want, n
    # with no symbolic denominator, only a polynomial of at most 12 words is tried: Q - I = 2 Q M_A (F = I - 2 M_A),
    # so Q - I + (10 or 11 more words) is one word shorter that way at 12 words, and kept as it is at 13
    for n, tried in ((12, True), (13, False)):
        alg, MA, MB, MC = fresh()
        Q = alg.inverse(1 - 2 * MA)
        tail = {(MC,) * k: Fr(1) for k in range(1, n - 1)}
        X = {(Q,): Fr(1), (): Fr(-1), **tail}
        assert len(X) == n and cn.desingularize(alg, X) == ({(Q, MA): 2, **tail} if tried else X), n
    # a polynomial of more than 12 words is still cleared when it divides by a symbol
    alg, MA, MB, MC = fresh()
    Q = alg.inverse(1 - omega * MA)
    tail = {(MC,) * k: Fr(1) for k in range(1, 11)}
    assert len({**anchored(MB, Q), **tail}) == 13
    assert cn.desingularize(alg, {**anchored(MB, Q), **tail}) == {(): 1, (MB, Q, MA): omega - 1, **tail}
    # a second inverse that needs nothing is left alone (the variant "Q left, Q2 as it is" comes first and is
    # strictly better than X; rewriting Q2 too is no better)
    Q2 = alg.inverse(1 - MC)
    assert cn.desingularize(alg, {**anchored(MB, Q), (Q2,): Fr(1)}) == {(): 1, (MB, Q, MA): omega - 1, (Q2,): 1}
    # no identity term (F = omega M_A, a = 0): no variant, though writing Q0 = I - omega Q0 M_A would "clear"
    # (1/omega) M_B (Q0 - I); a = -1 (F = omega M_A - I: Q3 = -I + omega Q3 M_A); a = 2 (F = 2 I - omega M_A:
    # Q4 = (I + omega Q4 M_A)/2, so 2/omega Q4 - 1/omega = Q4 M_A)
    alg, MA, MB, MC = fresh()
    Q0, Q3, Q4 = alg.inverse(omega * MA), alg.inverse(omega * MA - 1), alg.inverse(2 - omega * MA)
    X = {(MB, Q0): 1 / omega, (MB,): -1 / omega}
    assert cn.desingularize(alg, X) == X
    X = {(): Fr(1), (MB,): (omega - 1) / omega, (MB, Q3): (omega - 1) / omega}
    assert cn.desingularize(alg, X) == {(): 1, (MB, Q3, MA): omega - 1}
    assert cn.desingularize(alg, {(Q4,): 2 / omega, (): -1 / omega}) == {(Q4, MA): 1}


def test_words_longer_than_256_letters(alg):
    MA, MB, MC, Q1 = letters(alg)
    # lengths compared by value (CPython shares int objects only up to 256): a 300-letter word that is the common
    # prefix (or suffix) of the other, and a product of 300 M's before the inverse
    long = (MC,) * 300
    C = cn.factor(alg, {long: Fr(1), long + (MB,): Fr(1)}, [])
    assert word_of(C) == [MC] * 300 + [{(): 1, (MB,): 1}]
    C = cn.factor(alg, {long: Fr(1), (MB,) + long: Fr(1)}, [])
    assert word_of(C) == [{(): 1, (MB,): 1}] + [MC] * 300
    # the common suffix is all of the first word, and the second word's letter before it is the first word's last
    S = (MB,) + (MC,) * 299
    C = cn.factor(alg, {S: Fr(1), (MC,) + S: Fr(1)}, [])
    assert word_of(C) == [{(): 1, (MC,): 1}, *S]
    factors = [letter(MC)] * 300
    assert cn._push_through(alg, factors) == factors
    Q0 = alg.inverse(1 - MB * MC**300)  # M_C^300 (I - M_B M_C^300)^{-1} = (I - M_C^300 M_B)^{-1} M_C^300 (push-through)
    out = cn._push_through(alg, factors + [letter(Q0)])
    assert out == [letter(alg.inverted[-1][1])] + factors and alg.inverted[-1][0] == 1 - MC**300 * MB


def test_check_labels_name_the_named_factors_used():
    S1, S2 = cn.named_letter(1), cn.named_letter(2)
    fake = SimpleNamespace(definitions=lambda: {S1: {}, S2: {}})
    one = cn.Coefficient(1, [letter(S1), {(): 1, (S2,): 1}])  # a sum factor is not a use of a named letter
    two = cn.Coefficient(1, [letter(S2), letter(S1), letter(S2)])
    assert cn._with_definitions(fake, "L", cn.Coefficient(1, [])) == "L"
    assert cn._with_definitions(fake, "L", one) == "L, with S1 by its definition"
    assert cn._with_definitions(fake, "L", two) == "L, with S2 and S1 by their definitions"


def test_name_sums_without_an_algebra_names_every_sum():
    MA = sp.Symbol("M_A", commutative=False)
    naming = cn.Naming(ids=[])  # no algebra: no recognition, definitions stay expanded
    out = cn.name_sums(naming, cn.Coefficient(Fr(1), [{(): Fr(2), (MA,): Fr(4)}]))
    assert out.scalar == 2 and out.factors == [letter(cn.named_letter(1))]
    assert naming.named == [(cn.named_letter(1), {(): 1, (MA,): 2})] and naming.ids == []


def test_dense_protocol_whose_weights_sum_to_one():
    """A named-block protocol where every listener's weights sum to 1 (seed 40 of random_protocols' phases, each
    row's weights set to 1/n, n = 1, 2 or 4: exact): no D_i, and no check for one (nothing is missing)."""
    names = ["A", "B", "C"]
    rounds = random_protocols.rounds(np.random.default_rng(40), names, max_phases=4)
    for phase in rounds:
        for sources in phase.values():
            assert len(sources) in (1, 2, 4)
            for s in sources:
                sources[s] = 1.0 / len(sources)
    cp = P.compile_protocol(description.from_numeric(nproto.build(rounds, names, 2, [0.0, 0.0])), noise=False)
    out = cn.canonical(cp)
    assert out.dense and out.self_ == [None, None, None] and not any(map(bool, out.raw[1]))
    assert all(c.holds for c in out.checks) and not any(c.label.startswith("D_") for c in out.checks)


def test_258_agents_indices_compared_by_value():
    """Agent indices past 256 (CPython shares int objects only up to 256): 256 agents listen to A, the last one also
    to itself, nobody listens to them. Every agent's gaps are the compiler's, no self term among them, and the last
    agent's own coefficient X_kk (not I: it hears itself) is displayed and proved (about 8 s of CPU)."""
    names = ["A", "B"] + [f"X{k}" for k in range(256)]
    last = names[-1]
    rounds = [{"A": {"B": 1.0}}, {"B": {"A": 1.0}},
              {**{n: {"A": 1.0} for n in names[2:-1]}, last: {"A": 0.5, last: 0.5}}]
    cp = P.compile_protocol(description.from_numeric(nproto.build(rounds, names, 2, [0.0, 0.0])), noise=False)
    out = cn.canonical(cp)
    assert all(c.holds for c in out.checks)
    assert all(set(out.gaps[i]) == set(cp.residual_gaps[i]) and i not in out.gaps[i] for i in range(len(names)))
    k = len(names) - 1
    assert k == 257 and set(out.gaps[k]) == {0, 1} and out.fixed[k][k].factors  # X_kk is not I: it hears itself


def _fresh(s: sp.Symbol) -> sp.Symbol:
    """An equal letter that is not the same object: SymPy's cache cleared (as a long session evicts entries), so
    the symbol is made again."""
    from sympy.core.cache import clear_cache
    clear_cache()
    out = sp.Symbol(s.name, **s.assumptions0)
    assert out == s and out is not s
    return out


def test_letters_are_compared_by_value_not_by_identity(alg):
    MA, MB, MC, Q1 = letters(alg)
    # the first test's X = Q1 - I + Q1 M_B written with a Q1 made again: step 1 still finds Q1 at the start of its
    # words and peels it, X = Q1 (I + M_A) M_B
    Qf = _fresh(Q1)
    X = {(Qf,): Fr(1), (): Fr(-1), (Qf, MB): Fr(1)}
    assert alg.reduce_poly(X) == X
    C = cn.factor(alg, X, [])
    assert C.scalar == 1 and word_of(C) == [Q1, {(): 1, (MA,): 1}, MB]
    assert same(alg, C, X)
    # an inverse recognised again (3/2 M_A Q M_B + 3 I = 3 (I - 1/2 M_A M_B)^{-1}, as in the test above) whose
    # identity is already recorded, with an equal letter made again: it is not recorded twice
    Q = alg.inverse(1 - Fr(1, 2) * MB * MA)
    X = {(MA, Q, MB): Fr(3, 2), (): Fr(3)}
    ids: list = []
    cn.factor(alg, X, ids)
    (Qp, identity), = ids
    ids = [(_fresh(Qp), identity)]
    C = cn.factor(alg, X, ids)
    assert C.scalar == 3 and word_of(C) == [Qp] and len(ids) == 1


# docs/protocol.rst (the canonical form's cost limits): step 4 tries at most this many variants per polynomial
VARIANT_LIMIT_DOCUMENTED = 64
omega = sp.Symbol("omega")


def _removable(alg, left: sp.Symbol, right: sp.Symbol, on_the_right: bool):
    """``Q = F^{-1}`` with ``F = 1/omega I - V`` and the part ``X = 1/omega (L - I) Q`` (``V = (L + I) R``, best
    rewritten on the right) or ``X = 1/omega Q (R - I)`` (``V = L (R + I)``, best on the left), letters ``L``, ``R``."""
    if on_the_right:
        Q = alg.inverse(1 / omega - left * right - right)
        return Q, {(Q,): -1 / omega, (left, Q): 1 / omega}
    Q = alg.inverse(1 / omega - left * right - left)
    return Q, {(Q, right): 1 / omega, (Q,): -1 / omega}


def test_removable_division_prefers_the_right_variant_when_it_is_shorter():
    alg = FreeAlgebra()
    MA, MB = alg.symbol("M_A"), alg.symbol("M_B")
    # F = 1/omega I - (M_A + I) M_B, X = 1/omega (M_A - I) Q (two symbolic denominators). Left, Q = omega (I + Q V):
    # X = (M_A - I)(I + Q (M_A M_B + M_B)), 6 words. Right, Q = omega (I + V Q): X = M_A - I + (M_A - I)(M_A + I) M_B Q
    # = M_A - I + M_A M_A M_B Q - M_B Q, 4 words: the right variant is kept
    Q, X = _removable(alg, MA, MB, on_the_right=True)
    assert cn.desingularize(alg, X) == {(MA,): 1, (): -1, (MA, MA, MB, Q): 1, (MB, Q): -1}


@pytest.mark.parametrize("fourth", ["unchanged", "left"])
def test_removable_division_tries_the_documented_number_of_variants(fourth):
    """Four inverses give 81 variants in the documented order (Q1 slowest; unchanged, left, right); 64 are tried.
    Q1 is best on the right and Q2 on the left (parts as above, each clearing two denominators: 4 words, 6 the other
    way); Q3 = (I - M_E)^{-1} in ``M_E Q3`` is best unchanged (either rewriting adds a word)."""
    documented("protocol.rst", rf"at most {VARIANT_LIMIT_DOCUMENTED} of its variants per polynomial")
    alg = FreeAlgebra()
    MA, MB, MC, MD, ME, MF, MG = (alg.symbol(f"M_{x}") for x in "ABCDEFG")
    Q1, X1 = _removable(alg, MA, MB, on_the_right=True)
    Q2, X2 = _removable(alg, MD, MC, on_the_right=False)
    Q3 = alg.inverse(1 - ME)
    X = {**X1, **X2, (ME, Q3): Fr(1)}
    if fourth == "unchanged":
        # Q4 = (I - M_F)^{-1} in M_F Q4, best unchanged: the best variant (right, left, unchanged, unchanged) is the
        # 64th (index 2 * 27 + 9 = 63), the last one tried: 4 + 4 words with the two -I merged, and M_E Q3, M_F Q4
        Q4 = alg.inverse(1 - MF)
        X[(MF, Q4)] = Fr(1)
        want = {(MA,): 1, (): -2, (MA, MA, MB, Q1): 1, (MB, Q1): -1, (MC,): 1, (Q2, MD, MC, MC): 1, (Q2, MD): -1,
                (ME, Q3): 1, (MF, Q4): 1}
    else:
        # Q4 best on the left too: the best variant (right, left, unchanged, left) is the 65th (index 64), not tried.
        # Among the 64 a variant without denominators rewrites Q1, Q2 and Q4, so Q1 on the left (index 27 + 9 + 1):
        # Q1's 6 words, Q2's and Q4's 4, the three -I merged, M_E Q3
        Q4, X4 = _removable(alg, MF, MG, on_the_right=False)
        X.update(X4)
        want = {(MA,): 1, (): -3, (MA, Q1, MA, MB): 1, (MA, Q1, MB): 1, (Q1, MA, MB): -1, (Q1, MB): -1,
                (MC,): 1, (Q2, MD, MC, MC): 1, (Q2, MD): -1, (ME, Q3): 1, (MG,): 1, (Q4, MF, MG, MG): 1, (Q4, MF): -1}
    assert [Q for _, Q in alg.inverted] == [Q1, Q2, Q3, Q4]  # the order of creation is the variants' order
    assert cn.desingularize(alg, X) == want


def _dense_stand_in():
    """What the dense path reads of a compiled protocol, built by hand: two agents, ``e_A = X (w_B* - w_A*)`` with
    ``X = 3 I + 3/2 M_A Q M_B``, ``Q = (I - 1/2 M_B M_A)^{-1}``, and ``z*_A = X w_B* + (I - X) w_A*`` (``e_B = 0``).
    No protocol the compiler derives with named blocks has such a coefficient (their pivots are single named
    letters, or ``I`` minus one), so the recognition on that path is reached through this stand-in."""
    from theory.core.algebra import to_poly
    from theory.protocol.symbols import w_star

    alg = FreeAlgebra()
    MA, MB = alg.symbol("M_A"), alg.symbol("M_B")
    Q = alg.inverse(1 - Fr(1, 2) * MB * MA)
    X = 3 + sp.Rational(3, 2) * MA * Q * MB
    wA, wB = w_star("A"), w_star("B")
    cp = SimpleNamespace(alg=alg, names=["A", "B"], spec=SimpleNamespace(K=2), named=[],
                         residual_gaps=[{1: X}, {}], residual_self=[sp.Integer(0), sp.Integer(0)],
                         fixed_point=[sp.expand(X * wB + wA - X * wA), wB], poly=to_poly)
    return cp, alg, (MA, MB, Q)


def test_the_dense_path_recognises_an_inverse():
    # 3 I + 3/2 M_A Q M_B = 3 (I + 1/2 M_A Q M_B) = 3 (I - 1/2 M_A M_B)^{-1} (push-through): a new inverse Q', its
    # identity recorded and proved, in the residual and in z*_A's coefficient of w_B*
    cp, alg, (MA, MB, Q) = _dense_stand_in()
    out = cn.canonical(cp)
    assert out.dense and out.recognise
    Qp = out.alg.inverted[-1][1]
    assert out.alg.inverted[-1][0] == 1 - Fr(1, 2) * MA * MB
    C = out.gaps[0][1]
    S1 = cn.named_letter(1)
    assert C.scalar == 3 and word_of(C) == [Qp] and out.fixed[0][1].scalar == 3 and word_of(out.fixed[0][1]) == [Qp]
    # z*_A's coefficient of w_A*, I - X = -2 (I + 3/4 M_A Q M_B), is no inverse of the algebra: a named sum
    assert out.named == [(S1, {(): 1, (MA, Q, MB): Fr(3, 4)})]
    assert out.fixed[0][0].scalar == -2 and word_of(out.fixed[0][0]) == [S1]
    assert out.identities == [(Qp, {(): 1, (MA, Q, MB): Fr(1, 2)})]
    assert [c.label for c in out.checks if c.label.startswith("Q")] == [cn.identity_label(2)]
    assert all(c.holds for c in out.checks)
    # without recognition the sum is named instead, nothing recorded
    off = cn.canonical(cp, recognise=False)
    assert not off.recognise and off.identities == [] and word_of(off.gaps[0][1]) == [S1]
    assert off.named[0] == (S1, {(): 1, (MA, Q, MB): Fr(1, 2)}) and all(c.holds for c in off.checks)


def test_a_canonical_built_by_hand_recognises_inverses_by_default(alg):
    MA, MB, _, _ = letters(alg)
    # the field's default (recognise=True): its naming records the inverse recognised in 3 I + 3/2 M_A Q M_B
    Q = alg.inverse(1 - Fr(1, 2) * MB * MA)
    out = cn.Canonical(None, alg, [], [], [])
    C = cn.name_sums(cn._naming(out), cn.Coefficient(Fr(1), [{(): Fr(3), (MA, Q, MB): Fr(3, 2)}]))
    Qp = alg.inverted[-1][1]
    assert out.recognise and C.scalar == 3 and word_of(C) == [Qp] and len(out.identities) == 1


def test_each_pass_of_step_1_starts_again_from_the_first_inverse_on_the_left():
    alg = FreeAlgebra()
    MA, MC = alg.symbol("M_A"), alg.symbol("M_C")
    Q = alg.inverse(1 - MA)  # F = I - M_A, F Q = Q F = I
    # X = M_C - Q M_C + 2 I - 4 Q + 2 Q^2 (5 words). F X = M_C - M_A M_C - M_C + 2 I - 2 M_A - 4 I + 2 Q =
    # -M_A M_C - 2 I - 2 M_A + 2 Q (4 words): Q is peeled on the left. The next pass starts again with Q on the left:
    # F (-M_A M_C - 2 I - 2 M_A + 2 Q) = -M_A M_C + M_A M_A M_C + 2 M_A M_A (3 words), peeled again, and no word starts
    # or ends with Q any more. (Trying Q on the right first in that pass would also shorten it, to -M_A M_C +
    # M_A M_C M_A + 2 M_A M_A: another factorisation, X = Q Y' Q.)
    X = {(MC,): Fr(1), (Q, MC): Fr(-1), (): Fr(2), (Q,): Fr(-4), (Q, Q): Fr(2)}
    assert alg.reduce_poly(X) == X
    assert cn._peel(alg, X) == ([Q, Q], {(MA, MC): -1, (MA, MA, MC): 1, (MA, MA): 2}, [])


def test_after_a_peel_the_next_pass_does_not_go_on_to_the_next_inverse():
    alg = FreeAlgebra()
    MA, MC = alg.symbol("M_A"), alg.symbol("M_C")
    Q1 = alg.inverse(1 + MC)  # F1 = I + M_C
    Q2 = alg.inverse(1 - MA * MA)  # F2 = I - M_A^2: the rule M_A M_A Q2 = Q2 - I
    A3 = (MA, MA, MA)
    # X = M_A^3 - Q1 M_A^3 - Q1 + Q1 Q2 + Q1^2 - Q1^2 Q2 (6 words). F1 X = M_C M_A^3 - I + Q2 + Q1 - Q1 Q2 (5): Q1 is
    # peeled on the left. The next pass starts again with Q1: F1 times that is M_C M_A^3 + M_C^2 M_A^3 - M_C + M_C Q2
    # (4), peeled again; then only M_C Q2 ends with an inverse, and times F2 it has 5 words: done. (Going on to Q2
    # after the first peel instead: 5 words times F2 on the right is M_C M_A^3 - M_C M_A^5 + M_A^2 - Q1 M_A^2, 4
    # words, and X = Q1 Y' Q2.)
    X = {A3: Fr(1), (Q1, *A3): Fr(-1), (Q1,): Fr(-1), (Q1, Q2): Fr(1), (Q1, Q1): Fr(1), (Q1, Q1, Q2): Fr(-1)}
    assert alg.reduce_poly(X) == X
    assert cn._peel(alg, X) == ([Q1, Q1], {(MC, *A3): 1, (MC, MC, *A3): 1, (MC,): -1, (MC, Q2): 1}, [])


def test_a_named_sum_whose_other_terms_factor_as_one_letter(alg):
    MA, MB, _, Q1 = letters(alg)
    Q0 = alg.inverse(1 - MB * MA)
    # g = 2 I + Q1 + M_A Q0 - Q1 M_A is reduced (the algebra has no rule for the push-through M_A Q0 = Q1 M_A), so its
    # terms other than I, X = Q1 + M_A Q0 - Q1 M_A, are 3 words. F1 X = I + (M_A Q0 - M_A (Q0 - I)) - (Q1 M_A - (Q1 - I)
    # M_A) = I: Q1 is peeled and X is the one letter Q1. g is named S1 = g / 2, displayed I + 1/2 Q1 (proved: F1
    # times the difference from g / 2 reduces to 0), not as its four words
    g = {(): Fr(2), (Q1,): Fr(1), (MA, Q0): Fr(1), (Q1, MA): Fr(-1)}
    assert alg.reduce_poly(g) == g
    naming = cn.Naming(alg, [])
    out = cn.name_sums(naming, cn.Coefficient(Fr(1), [g]))
    S1 = cn.named_letter(1)
    assert out.scalar == 2 and word_of(out) == [S1]
    assert naming.named == [(S1, {(): 1, (Q1,): Fr(1, 2)})]


def test_a_difference_is_cleared_by_the_leading_run_of_inverses_only(alg):
    """The proofs of a displayed product multiply its difference on the left by the pivots of the run of inverses
    that *starts* its word (docs/protocol.rst: "by the pivots of the run of inverses that starts the product (one
    by one from the left, as few as needed)"), and the word is the product's letters up to its first sum factor."""
    MA, MB, MC, Q1 = letters(alg)
    Q2 = alg.inverse(1 - MC)
    F1, F2 = (F for F, _ in alg.inverted)
    assert cn._leading_pivots(alg, (Q2, Q1, MA, Q2, MB)) == (F2, F1)
    assert cn._leading_pivots(alg, (MA, Q1)) == ()
    C = cn.Coefficient(Fr(2), [letter(Q1), letter(MA), {(): Fr(1), (MB,): Fr(1)}, letter(Q2)])
    assert cn._word(C) == (Q1, MA)
    documented("protocol.rst", re.escape("by the pivots of the run of inverses that starts the product (one by one "
                                         "from the left, as few as needed)"))


def test_step_5_repeats_after_a_peel_on_one_side():
    alg = FreeAlgebra()
    MA, MC = alg.symbol("M_A"), alg.symbol("M_C")
    Q1 = alg.inverse(1 - 2 * MA)  # F1 = I - 2 M_A
    Q2 = alg.inverse(1 / omega - MA * MC - MC)  # F2 = 1/omega I - (M_A + I) M_C, a = 1/omega
    # X = 1/omega Q1 (Q1 - Q2): nothing to peel (2 words); step 4 writes Q2 = omega (I + V Q2) on the right (no
    # denominators left, 4 words), Q1 is a common leading letter, and step 5 factors the rest, -I - Q2 (M_A + I) M_C
    # + 1/omega Q1: F1 times it has 3 words, so Q1 is peeled on the left only (a peel on one side). Step 5 repeats on
    # what is left after step 4 (5 words, no common letter): Q2 is peeled on the right, leaving a sum of M's divided
    # by omega. So X = Q1 Q1 S Q2 with S = (1 - omega)/omega^2 I + 2/omega M_A - 1/omega M_C - 1/omega M_A M_C
    X = {(Q1, Q1): 1 / omega, (Q1, Q2): -1 / omega}
    assert alg.reduce_poly(X) == X
    C = cn.factor(alg, X, [])
    S = {(): (1 - omega) / omega**2, (MA,): 2 / omega, (MC,): -1 / omega, (MA, MC): -1 / omega}
    assert C.scalar == 1 and word_of(C) == [Q1, Q1, S, Q2]
    # equal to X as the proofs settle it (the rewriting is not confluent, and the difference alone does not reduce
    # to 0): the difference times F1 and F1 on the left, the leading run's pivots, reduces to 0
    assert not cn._settle(alg, padd(C.poly(), X, signs=(1, -1)), cn._leading_pivots(alg, cn._word(C)))
