"""Contract tests for ``theory.protocol.named_elimination`` (issue 22 item 5, helper ``ne6``): what only the
Python API reaches. Each test states the rule it reads (the module text and its fields' comments) and builds its
reference from the system given, never from the code under test.

* ``Elimination.nxt`` holds "the system of step k+1 before its swap, k = 0..n-2": n - 1 systems (the last step
  updates nothing), each equal to the next step's system with that step's two rows swapped back. ``derive
  --protocol`` never reads ``nxt[n - 1]``, so only the API sees an extra entry.

(mutation/targets.toml lists this file in the module's killer.)
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import FreeAlgebra, letter
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
