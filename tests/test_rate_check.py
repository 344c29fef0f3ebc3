"""The rate check of a compiled protocol (theory.protocol.checks.rate_check, P1's V1): a reduced rate block with
more than one agent must be a principal block of ``Phi_RR^q`` entry by entry (the check accepted any such block
unexamined before the ninth round; checks.py's survivors ``len(b) > 1`` to ``< 1`` and ``> 2``). The protocol: two
pairs that listen to each other at once, so ``Phi_RR`` is cyclic over {A, B} and {C, D}, ``q = 2``, and the kept
block is ``(Phi_RR^2)`` on {A, B}, a full 2 x 2 block. A 1 x 1 block is compared up to rotation of its word (the
round robin's)."""
from __future__ import annotations

import copy

import sympy as sp

from theory import api
from theory.protocol import checks, compiler as P, gallery as G
from theory.protocol.round_map import matmul


def _compiled():
    spec = api.protocol_spec(["A", "B", "C", "D"], [{"A": {"C": 0.5, "D": 0.5}, "B": {"C": 0.25, "D": 0.75},
                                                     "C": {"A": 0.5, "B": 0.5}, "D": {"A": 0.2, "B": 0.8}}])
    return P.compile_protocol(spec, noise=False)


def _planted(cp, change):
    bad = copy.copy(cp)
    bad.rate_blocks = [[row[:] for row in b] for b in cp.rate_blocks]
    change(bad.rate_blocks[0])
    return checks.rate_check(bad)


def test_a_multi_agent_block_is_checked_entry_by_entry():
    cp = _compiled()
    assert cp.rate_power == 2 and [len(b) for b in cp.rate_blocks] == [2]
    assert all(b != 0 for row in cp.rate_blocks[0] for b in row)  # full: no entry can be skipped
    assert checks.rate_check(cp).holds
    assert "rate blocks are diagonal blocks of Phi_RR^2" in [c.label for c in checks.verify(cp)]
    extra = next(x for row in cp.Phi for x in row if x != 0)  # a transfer of the protocol

    def off_diagonal(b):
        b[0][1] = b[0][1] + extra

    def below_diagonal(b):
        b[1][0] = b[1][0] + extra

    def diagonal(b):
        b[1][1] = b[1][1] + extra

    def swapped(b):
        b[0][1], b[1][0] = b[1][0], b[0][1]

    for change in (off_diagonal, below_diagonal, diagonal, swapped):
        check = _planted(cp, change)
        assert not check.holds and check.residual == "a rate block is not a diagonal block", change.__name__


def test_the_other_components_block_is_a_principal_block_too():
    """``Phi_RR^2`` on {C, D} has the same nonzero spectrum (``rho(XY) = rho(YX)``): it is accepted as well."""
    cp = _compiled()
    B = [[cp.Phi[a][b] for b in cp.live] for a in cp.live]
    P2 = matmul(B, B)

    def other_component(b):
        b[:] = [[P2[2][2], P2[2][3]], [P2[3][2], P2[3][3]]]

    assert _planted(cp, other_component).holds


def test_a_one_agent_block_up_to_rotation_of_its_word():
    """A 1 x 1 block is compared up to rotation of its word (``rho(XY) = rho(YX)``): the round robin's block
    ``M_B M_A`` may be written ``M_A M_B``, which is on no diagonal of ``Phi_RR``; another word fails."""
    cp = P.compile_protocol(G.entry("round_robin").spec, noise=False)
    assert [len(b) for b in cp.rate_blocks] == [1]
    word = cp.rate_blocks[0][0][0]
    x, y = word.args[-2:]  # M_B, M_A
    assert word == x * y and checks.rate_check(cp).holds

    def rotated(blk):
        blk[0][0] = y * x

    def other(blk):
        blk[0][0] = x * x

    assert _planted(cp, rotated).holds and not _planted(cp, other).holds


def test_a_block_of_257_agents_is_matched_to_its_last_index():
    """``_principal`` counts the indices it has matched by value: a principal block of 257 agents (past CPython's
    cached small ints) is found in full, and one whose last diagonal entry differs is refused. Distinct letters
    on the diagonal leave one match per index, so the search is linear in the blocks compared (under 1 s)."""
    n = 257
    M = [sp.Symbol(f"M_{k}", commutative=False) for k in range(n)]
    P = [[M[i] if i == j else sp.Integer(0) for j in range(n)] for i in range(n)]
    assert checks._principal(P, P)
    bad = [row[:] for row in P]
    bad[n - 1][n - 1] = M[0]
    assert not checks._principal(P, bad)
