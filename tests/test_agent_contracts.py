"""Contracts of the agents every command starts from (numerics/agents/gd.py, numerics/agents/prompts.py) that no
verify method reaches: a GD agent is immutable (its ``M``, ``K`` and ``c`` are read many times and must not change
under a caller), and what the docstrings state about a prompt's geometry."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from numerics.agents import gd, prompts
from numerics.io.errors import InputError


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


def test_geometry_is_frozen():
    """A prompt's Geometry is a frozen dataclass: its H, b and w_star stay those of the prompt."""
    geometry = prompts.from_prompt(np.eye(2), np.ones(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        geometry.H = np.zeros((2, 2))  # type: ignore[misc]


@pytest.mark.parametrize("shape", [(0, 2), (3, 0), (0, 0)])
def test_a_prompt_needs_an_example_and_a_column(shape):
    """X of N x d with N = 0 or d = 0 is refused, naming X and its shape (docstring of check_prompt)."""
    with pytest.raises(InputError) as info:
        prompts.check_prompt(np.zeros(shape), np.zeros(shape[0]), "A")
    assert info.value.quantity == "A.X"
    assert info.value.problem == f"needs N >= 1 examples and d >= 1 columns, got shape {shape}"


def test_one_label_per_row():
    """y must have one entry per row of X; the refusal names both counts (rows of X, not its columns)."""
    X = np.arange(6.0).reshape(3, 2)  # N = 3 rows, d = 2 columns
    with pytest.raises(InputError) as info:
        prompts.check_prompt(X, np.ones(2), "A")
    assert (info.value.quantity, info.value.problem) == ("A.y", "must have one label per row of X (3), got 2")


def test_a_long_prompt_is_accepted():
    """Labels are counted by value: 300 examples (past CPython's cached small ints) with 300 labels are accepted,
    and H = X^T X / N, b = X^T y / N, as written by hand for X = [I; I; ...] (150 copies of the 2 x 2 identity)."""
    X = np.tile(np.eye(2), (150, 1))
    y = np.tile([1.0, 3.0], 150)
    geometry = prompts.from_prompt(X, y)
    assert np.array_equal(geometry.H, 0.5 * np.eye(2)) and np.array_equal(geometry.b, [0.5, 1.5])
    assert np.allclose(geometry.w_star, [1.0, 3.0]) and geometry.d == 2


def test_dimension_of_a_geometry_is_that_of_h():
    """Geometry.d is the dimension of H (d x d) given directly; a target of another length is refused."""
    geometry = prompts.from_geometry(np.diag([1.0, 2.0, 3.0]), [1.0, 0.0, 0.0])
    assert geometry.d == 3 and np.array_equal(geometry.b, [1.0, 0.0, 0.0])
    with pytest.raises(InputError):
        prompts.from_geometry(np.diag([1.0, 2.0, 3.0]), [1.0, 0.0])
