"""Contract tests for ``theory.protocol.named_elimination`` (issue 22 item 5, helper ``ne6``): what only the
Python API reaches. Each test states the rule it reads (the module text and its fields' comments) and builds its
reference from the system given, never from the code under test.

* ``Elimination.nxt`` holds "the system of step k+1 before its swap, k = 0..n-2": n - 1 systems (the last step
  updates nothing), each equal to the next step's system with that step's two rows swapped back. ``derive
  --protocol`` never reads ``nxt[n - 1]``, so only the API sees an extra entry.
* ``eliminate`` names "every updated block ``A^(k+1)_ij``" of step k (module text): rows below the pivot, columns
  right of it, so a two-unknown system has one named block, ``U^{(1)}_{1,1}``. The entries are word polynomials,
  not necessarily reduced: an entry ``a Q b`` with ``Q = a^-1`` (which the algebra rewrites to ``b``) is one.
  (``derive --protocol`` passes reduced entries, on which the pivot row and column name nothing either way.)
* ``checks`` (b), the matrix part of an elimination row, is applied to opaque unknowns ``x`` (module text): its
  residual is a vector, every printed term a product of matrices ending in an ``x`` letter, in the free algebra
  (letters do not commute). Only a wrong elimination leaves a residual, so a named block is planted wrong.

(mutation/targets.toml lists this file in the module's killer.)
"""
from __future__ import annotations

import re

import sympy as sp

from theory.core.algebra import FreeAlgebra, from_poly, letter, padd
from theory.protocol import named_elimination as NE


def _system(n: int, zero: tuple = ()) -> list:
    """A dense n x n system of opaque letters ``a_ij``; the entries listed in ``zero`` are 0."""
    return [[{} if (i, j) in zero else letter(sp.Symbol(f"a_{i}{j}", commutative=False)) for j in range(n)]
            for i in range(n)]


def test_elimination_keeps_one_updated_system_per_step_but_the_last():
    for n, zero in ((1, ()), (2, ()), (3, ()), (3, ((0, 0),)), (4, ((1, 1), (0, 0)))):
        el = NE.eliminate(FreeAlgebra(), _system(n, zero), [f"u{i}" for i in range(n)])
        assert len(el.nxt) == n - 1, (n, zero, len(el.nxt))
        assert len(el.A) == len(el.Q) == len(el.pivot) == n
        for k in range(n - 1):  # step k+1's system is nxt[k] with rows k+1 and pivot[k+1] swapped
            p = el.pivot[k + 1]
            swap = {k + 1: p, p: k + 1}
            for i in range(k + 1, n):
                assert el.A[k + 1][i][k + 1:] == el.nxt[k][swap.get(i, i)][k + 1:], (n, zero, k, i)
    # the planted zero pivot is swapped: the check above compares swapped rows
    assert NE.eliminate(FreeAlgebra(), _system(3, ((0, 0),)), ["a", "b", "c"]).pivot[0] == 1


def test_only_the_updated_blocks_are_named_also_for_an_unreduced_entry():
    a, b, c, d, e = (sp.Symbol(x, commutative=False) for x in "abcde")
    for pivot in ({(b,): 1}, {(a, None, b): 1}):
        alg = FreeAlgebra()
        Q = alg.inverse(a)  # a formal inverse made before: a Q -> 1, Q a -> 1
        pivot = {tuple(Q if x is None else x for x in w): v for w, v in pivot.items()}
        el = NE.eliminate(alg, [[pivot, letter(c)], [letter(d), letter(e)]], ["u0", "u1"])
        assert el.pivot == [0, 1]
        assert [str(U) for U in el.order] == ["U^{(1)}_{u1,u1}"], (pivot, el.order)
        assert el.made == [el.order, []]


def test_a_wrong_named_block_leaves_a_vector_residual_in_the_matrix_part():
    n = 3
    alg = FreeAlgebra()
    el = NE.eliminate(alg, _system(n), [f"u{i}" for i in range(n)])
    assert not [lab for lab, res in NE.checks(alg, el) if res]
    U = el.made[0][0]  # planted: the first named block of step 1 gains a_00
    el.defs[U] = padd(el.defs[U], letter(sp.Symbol("a_00", commutative=False)))
    failed = [(lab, res) for lab, res in NE.checks(alg, el) if res]
    assert failed and all("elimination step 1: row" in lab for lab, _ in failed), failed
    for lab, res in failed:
        printed = sp.sstr(from_poly(res))
        terms = [t.strip() for t in re.split(r" [+-] |^-", printed) if t.strip()]
        assert terms, printed
        for t in terms:  # a product of matrices applied to an unknown: its last factor is x_j
            assert re.fullmatch(r"x_\d", re.split(r"\*", t)[-1]), (t, printed)
