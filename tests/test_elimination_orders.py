"""The elimination orders of a random protocol's first moments, as docs/protocol.rst states them ("tried in up to 6
orders of the live unknowns (their order, its reverse, then its rotations by 1, 2, ...)", "A Markov chain's reduced
system tries 2 orders"): which orders are tried decides which derivation settles, so it decides the printed mean.
The numbers are read from the docs, not from the code."""
from __future__ import annotations

import pytest

from test_documented_formats import documented
from theory.protocol import random_compiler as RC, random_gallery as RG


def _documented() -> tuple[int, int]:
    m = documented("protocol.rst", r"is tried in up to (\d+) orders of the live unknowns")
    k = documented("protocol.rst", r"A Markov chain's reduced system tries (\d+) orders")
    return int(m.group(1)), int(k.group(1))


def test_orders_are_the_documented_ones():
    most, _ = _documented()
    R = tuple(range(10, 18))  # 8 live unknowns: 2 + 7 candidate orders, more than the documented number
    rotations = [R[k:] + R[:k] for k in range(1, len(R))]
    assert RC._orders(R) == ([R, R[::-1]] + rotations)[:most]
    assert RC._orders((3, 5)) == [(3, 5), (5, 3)]  # the rotation by 1 is the reverse: no order twice
    assert RC._orders((4,)) == [(4,)]


@pytest.mark.parametrize("spec, markov", [(RG.random_speaker, False), (RG.group_chat, True)])
def test_each_path_tries_its_documented_number_of_orders(spec, markov, monkeypatch):
    most, chain = _documented()
    limits: list = []
    real = RC._orders

    def recorded(R, limit=RC.MAX_ORDERS):
        limits.append(limit)
        return real(R, limit)

    monkeypatch.setattr(RC, "_orders", recorded)
    RC.compile_random(spec())
    assert limits == [chain if markov else most]
