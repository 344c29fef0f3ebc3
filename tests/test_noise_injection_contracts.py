"""Contracts of theory/protocol/noise.py that the verify methods' protocols (a few agents) never reach: the noise a
round adds to an agent's message, for agents past CPython's cached small integers (index 257 and on)."""
from __future__ import annotations

import sympy as sp

from theory import api
from theory.protocol import noise


def test_the_noise_of_the_258th_agent_reaches_its_own_message():
    """258 agents, one phase in which only the last (index 257) speaks, hearing the first: one round adds its own
    noise ``S_A257`` to its message and nothing anywhere else (``Q`` has one nonzero block)."""
    names = [f"A{k}" for k in range(258)]
    Q = noise.noise_injection(api.protocol_spec(names, [{names[257]: {names[0]: 1}}]))
    assert Q[257][257] == sp.Symbol("S_A257", commutative=False)
    assert sum(1 for row in Q for block in row if block != 0) == 1
