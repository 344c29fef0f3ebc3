"""Contracts of the agents every command starts from (numerics/agents/gd.py, numerics/agents/prompts.py) that no
verify method reaches: a GD agent is immutable (its ``M``, ``K`` and ``c`` are read many times and must not change
under a caller), and what the docstrings state about a prompt's geometry."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from numerics.agents import gd, prompts


def _agent() -> gd.GDAgent:
    geometry = prompts.from_geometry(np.diag([2.0, 1.0]), np.array([1.0, -1.0]), "A")
    return gd.GDAgent("A", geometry, 0.25 * np.eye(2), steps=2)


def test_gd_agent_is_frozen():
    """GDAgent is a frozen dataclass: assigning a field raises, so M, K and c stay those of its construction."""
    agent = _agent()
    for field, value in (("steps", 3), ("Gamma", np.eye(2)), ("name", "B")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(agent, field, value)
    # M = (I - Gamma H)^s by hand: diag(1 - 0.5, 1 - 0.25)^2
    assert np.array_equal(agent.M, np.diag([0.25, 0.5625]))
