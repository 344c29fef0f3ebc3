"""Input contracts of ``numerics.protocol.evaluate.stacked_finite`` (the mutation killer's tests for
numerics/protocol/evaluate.py, mutation/targets.toml): an agent whose own per-turn transfer ``M^s`` or offset
``c`` overflows float64 is refused with an InputError naming that agent, before any round map is formed
(``predict``, ``attack`` and the fits under a protocol read the stacked arrays through it). ``a2ad verify``
checks mathematics on finite systems and never feeds such an agent."""
from __future__ import annotations

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, evaluate

ROUNDS = [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}]


def _system(b_geometry: float, b_steps: int, b_target: float):
    """Three scalar agents (d = 1) under ROUNDS; B has preconditioner 1, so ``M_B = 1 - h`` per step."""
    agents = [{"name": "A", "geometry": [[1.0]], "target": [0.5], "preconditioner": 0.5},
              {"name": "B", "geometry": [[b_geometry]], "target": [b_target], "preconditioner": 1.0,
               "steps_per_turn": b_steps},
              {"name": "C", "geometry": [[1.0]], "target": [1.5], "preconditioner": 0.5}]
    return config.parse({"schema_version": 1, "agents": agents, "initial_message": [0.0],
                         "protocol": {"rounds": ROUNDS}})


def test_an_agent_whose_transfer_overflows_is_named():
    """M_B = 1 - 4 = -3 per step, 1000 steps: (-3)^1000 overflows float64; B is named, not a later round map."""
    with np.errstate(all="ignore"):
        system = _system(4.0, 1000, 0.25)
    with pytest.raises(InputError, match=r"^B per-turn transfer M\^s = 1000: overflows float64"):
        evaluate.stacked_finite(system)


def test_an_agent_whose_offset_alone_overflows_is_named():
    """M_B = 1 - 3 = -2 per step, 3 steps: M_B^3 = -8 is finite, H w_B* = 7.5e307 too (target 2.5e307), but
    c_B = (1 - M_B^3) w_B* = 9 w_B* = 2.25e308 overflows; B is named as well."""
    with np.errstate(all="ignore"):
        system = _system(3.0, 3, 2.5e307)
        M, c = system.stacked()
    assert np.all(np.isfinite(M)) and not np.all(np.isfinite(c))  # the instance: only the offset overflows
    with pytest.raises(InputError, match=r"^B per-turn transfer M\^s"):
        evaluate.stacked_finite(system)


def test_finite_agents_pass():
    M, c = evaluate.stacked_finite(_system(0.5, 3, 0.25))
    assert M.shape == (3, 1, 1) and c.shape == (3, 1)


def test_precise_round_map_of_more_than_256_agents():
    """``--precision``'s round map of 258 scalar agents (indices beyond CPython's cached small ints, -5..256), one
    phase in which agent i hears agent i + 1 (mod 258) with weight 1: ``m_i <- M_i m_(i+1) + c_i``, so ``Phi`` has
    ``M_i`` at (i, i + 1) and zeros elsewhere, and ``r = c`` (each agent starts the round from its own
    message: the identity block of every agent's row, 256 and 257 included)."""
    import mpmath as mp

    from numerics.protocol import spec

    K = 258
    names = [f"a{k}" for k in range(K)]
    proto = spec.build([{names[i]: {names[(i + 1) % K]: 1.0} for i in range(K)}], names, 1, np.zeros(1))
    Ms = [mp.matrix([[mp.mpf(1) / (k + 2)]]) for k in range(K)]
    cs = [mp.matrix([[mp.mpf(k)]]) for k in range(K)]
    Phi, r = evaluate.precise_round_map(Ms, cs, proto)
    wrong = [(i, j) for i in range(K) for j in range(K)
             if Phi[i, j] != (Ms[i][0, 0] if j == (i + 1) % K else 0)]
    assert not wrong, wrong[:4]
    assert [r[i, 0] for i in range(K)] == [mp.mpf(k) for k in range(K)]
