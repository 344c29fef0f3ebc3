"""Contract tests at the protocol compiler's size bounds (issue 22, item 5; helper ``form``).

* the rate reduction's word bound: docs/protocol.rst states that the powers of ``Phi_RR`` are examined "while
  their entries hold at most 400 words in all" (``rate.MAX_RATE_WORDS``). A block matrix whose square is block
  triangular with exactly the documented number of words is reduced (power 2); one word more and the rate
  keeps ``Phi_RR`` itself (power 1).
* the rate reduction's power bound: docs/protocol.rst states that it examines the powers "up to ``Phi_RR^n`` for n
  live agents". ``B = [[X, -X], [X, 0]]`` (two agents) has ``B^2 = [[0, -X^2], [X^2, -X^2]]`` (one component, not
  triangular) and ``B^3 = -X^3 I`` (diagonal): the reduction it would need is power 3 > n, so the rate keeps
  ``B`` (power 1); ``[[0, X], [Y, 0]]`` is reduced at power 2 = n.
* ``fixed_point.EXPANDED_MAX_WORDS``: docs/protocol.rst states the switch to named blocks "past 300 words";
  the compiler's bound is that number.
* ``cost.elimination_words`` of a protocol with no live agent (every weight 0): the first pivot over no live
  agent forms no word, so the estimate is the words of ``Phi`` and ``r`` plus ``LETTER_WEIGHT`` times their
  squared lengths (cost.py's module text), counted here on the composed round map.
"""
from __future__ import annotations

import re
from pathlib import Path

import sympy as sp

from test_documented_formats import documented
from theory import api
from theory.protocol import cost, fixed_point, rate
from theory.protocol.round_map import compose_poly

ROOT = Path(__file__).resolve().parent.parent


def _letter(name: str) -> sp.Symbol:
    return sp.Symbol(name, commutative=False)


def _square_has(words: int) -> list:
    """``[[0, X, 0], [Y, 0, 0], [0, 0, Z]]``: its square is ``diag(XY, YX, Z^2)`` (block triangular), with
    ``2 |X| |Y| + |Z|^2`` words; ``X`` one letter, ``Y`` a sum of letters, ``Z`` one letter or 0 for parity."""
    b, c = (words // 2, 0) if words % 2 == 0 else ((words - 1) // 2, 1)
    X = _letter("X0")
    Y = sp.Add(*[_letter(f"Y{j}") for j in range(b)])
    Z = _letter("Z0") if c else sp.Integer(0)
    B = [[sp.Integer(0), X, sp.Integer(0)], [Y, sp.Integer(0), sp.Integer(0)], [sp.Integer(0), sp.Integer(0), Z]]
    square = sum(len(sp.Add.make_args(sp.expand(B[i][k] * B[k][j]))) for i in range(3) for j in range(3)
                 for k in range(3) if B[i][k] != 0 and B[k][j] != 0)
    assert square == words  # the construction (independent of rate.py)
    return B


def _documented_rate_words() -> int:
    text = (ROOT / "docs" / "protocol.rst").read_text()
    m = re.search(r"powers of ``Phi_RR`` while their entries hold at most (\d+) words", " ".join(text.split()))
    assert m is not None, "docs/protocol.rst no longer states the rate reduction's word bound"
    return int(m.group(1))


def test_rate_power_at_the_word_bound_is_examined():
    q, blocks = rate._reduce_rate(_square_has(_documented_rate_words()))
    assert q == 2 and len(blocks) >= 2


def test_rate_power_past_the_word_bound_is_not_examined():
    B = _square_has(_documented_rate_words() + 1)
    q, blocks = rate._reduce_rate(B)
    assert q == 1 and blocks == [B]


def test_rate_powers_past_the_number_of_agents_are_not_examined():
    documented("protocol.rst", re.escape("up to ``Phi_RR^n`` for n live agents"))
    X, Y, zero = _letter("X0"), _letter("Y0"), sp.Integer(0)
    B = [[X, -X], [X, zero]]
    cube = [[sp.expand(sum(B[i][k] * B[k][m] * B[m][j] for k in range(2) for m in range(2))) for j in range(2)]
            for i in range(2)]
    assert cube == [[-X**3, zero], [zero, -X**3]]  # the construction: power 3 would reduce it
    q, blocks = rate._reduce_rate(B)
    assert q == 1 and blocks == [B]
    q, blocks = rate._reduce_rate([[zero, X], [Y, zero]])
    assert q == 2 and blocks == [[[X * Y]]]  # B^2 = diag(XY, YX): one block up to rotation


def test_expanded_bound_is_the_documented_one():
    text = (ROOT / "docs" / "protocol.rst").read_text()
    m = re.search(r"Past (\d+) words the compiler switches to\s+named blocks", text)
    assert m is not None, "docs/protocol.rst no longer states the switch to named blocks"
    assert fixed_point.EXPANDED_MAX_WORDS == int(m.group(1))


def test_estimate_without_live_agents():
    s = api.protocol_spec(["A", "B"], [{"A": {"B": 0}, "B": {"A": 0}}])
    Phi, r = compose_poly(s)
    polys = [p for row in Phi for p in row] + list(r)
    words = sum(len(p) for p in polys)
    squared = sum(len(w) ** 2 for p in polys for w in p)
    estimate, n = cost.elimination_words(s)
    assert n == 0
    assert estimate == words + cost.LETTER_WEIGHT * squared


def test_a_cycle_over_257_components_is_one_cycle():
    """``rate._cyclic`` counts components by value: ``B`` maps agent k into agent k + 1 (mod 257), a cycle over 257
    one-agent components (past CPython's cached small ints); ``B`` with one map dropped is no cycle."""
    n = 257
    X = [_letter(f"X{k}") for k in range(n)]
    B = [[X[j] if i == (j + 1) % n else sp.Integer(0) for j in range(n)] for i in range(n)]
    comps = [[k] for k in range(n)]
    assert rate._cyclic(B, comps)
    B[0][n - 1] = sp.Integer(0)
    assert not rate._cyclic(B, comps)
