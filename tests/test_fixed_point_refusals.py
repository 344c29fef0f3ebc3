"""``evaluate.fixed_points`` below the kernel's batch threshold refuses what the kernel path refuses: a system
whose round map overflows float64, or (unchecked) whose ``I - Phi`` is singular, is named in an InputError
(checked or not); never numpy's LinAlgError, never a silent non-finite fixed point."""
from __future__ import annotations

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import evaluate, spec

NAMES = ["A", "B"]
ROUND_ROBIN = [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]


def _batch(scalars: list[tuple[float, float]], rounds=ROUND_ROBIN, d: int = 1):
    """Systems of two agents whose transfers are multiples of I_d (default d = 1): per system ``(M_A, M_B)``,
    offsets 1; the protocol's weights."""
    proto = spec.build(rounds, NAMES, d, np.zeros(d))
    W, mask = proto.weights()
    M = np.array([[a * np.eye(d), b * np.eye(d)] for a, b in scalars])
    c = np.ones((len(scalars), 2, d))
    return M, c, W, mask


@pytest.mark.parametrize("check", [True, False])
def test_an_overflowing_round_map_is_refused_by_name(check):
    """System 1: M_A M_B = 1e200 * 1e200 overflows (the round map is inf); systems 0 and 2 contract."""
    M, c, W, mask = _batch([(0.5, 0.5), (1e200, 1e200), (0.1, 0.2)])
    with pytest.raises(InputError, match=r"round map of system 1\)"):
        evaluate.fixed_points(M, c, W, mask, check=check)


def test_a_singular_system_unchecked_is_refused_by_name():
    """System 2: M_A M_B = 1, so I - Phi is singular (checked, C1's rate test refuses it first). The refusal's
    value is that system's round map (B hears A's new message: Phi = [[0, M_A], [0, M_B M_A]])."""
    M, c, W, mask = _batch([(0.5, 0.5), (0.1, 0.2), (1.0, 1.0)])
    with pytest.raises(InputError, match=r"round map of system 2\)") as err:
        evaluate.fixed_points(M, c, W, mask, check=False)
    assert np.array_equal(err.value.value, [[0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(InputError, match=r"contraction rate rho"):
        evaluate.fixed_points(M, c, W, mask, check=True)


def test_the_same_refusal_as_the_kernel_path():
    systems = [(0.5, 0.5)] * evaluate.KERNEL_MIN_BATCH
    systems[7] = (1e200, 1e200)
    M, c, W, mask = _batch(systems)
    with pytest.raises(InputError, match=r"round map of system 7\)") as kernel:
        evaluate.fixed_points(M, c, W, mask, check=False)
    M, c, W, mask = _batch(systems[:8])
    with pytest.raises(InputError, match=r"round map of system 7\)") as small:
        evaluate.fixed_points(M, c, W, mask, check=False)
    assert str(kernel.value).split(" = ")[0] == str(small.value).split(" = ")[0]


@pytest.mark.parametrize("size", [8, evaluate.KERNEL_MIN_BATCH])
def test_of_two_singular_systems_the_lower_is_named_on_both_paths(size):
    """One agent hearing itself (``Phi = M``), d = 2: system 1 has ``M = diag(0.5, 1)`` (its zero pivot at the second
    elimination step), system 5 ``M = diag(1, 0.5)`` (at the first). Both paths name system 1, the lowest, as the
    refusal of a singular system promises: the kernel, whose lanes meet system 5's zero pivot first, too."""
    proto = spec.build([{"A": {"A": 1.0}}], ["A"], 2, np.zeros(2))
    W, mask = proto.weights()
    M = np.tile(0.5 * np.eye(2), (size, 1, 1, 1))
    M[1, 0], M[5, 0] = np.diag([0.5, 1.0]), np.diag([1.0, 0.5])
    with pytest.raises(InputError, match=r"round map of system 1\)"):
        evaluate.fixed_points(M, np.ones((size, 1, 2)), W, mask, check=False)


def test_finite_systems_still_solve():
    """z_A* = M_A z_B* + 1, z_B* = M_B z_A* + 1 (the round ends with B): z_B* = (1 + M_B) / (1 - M_A M_B)."""
    M, c, W, mask = _batch([(0.5, 0.5), (0.1, -0.2)])
    z = evaluate.fixed_points(M, c, W, mask)
    for (a, b), zk in zip([(0.5, 0.5), (0.1, -0.2)], z):
        zB = (1 + b) / (1 - a * b)
        assert zk[1, 0] == pytest.approx(zB, rel=1e-14) and zk[0, 0] == pytest.approx(a * zB + 1, rel=1e-14)


def test_no_live_agent_gives_the_offsets():
    """Every weight 0: no agent hears anyone, z* = r (here each agent's offset, 1)."""
    M, c, W, mask = _batch([(0.5, 0.5)], [{"A": {"B": 0.0}}, {"B": {"A": 0.0}}])
    assert np.array_equal(evaluate.fixed_points(M, c, W, mask), np.ones((1, 2, 1)))


def test_a_non_live_agent_whose_fixed_point_overflows_is_refused_by_name():
    """B speaks first and A hears B's new message: only A is live (B's old message is never read). The live
    block M_A M_B = 1 - 1e-12 contracts and solves (z_A* ~ 1e12), but z_B* = M_B z_A* + 1 with M_B = 1e300
    overflows: system 2, the first of the two that overflow, is named after the solve (in d = 1 and d = 3: the
    flattened rows are K d long)."""
    rounds = [{"B": {"A": 1.0}}, {"A": {"B": 1.0}}]
    big = ((1 - 1e-12) / 1e300, 1e300)
    for d in (1, 3):
        M, c, W, mask = _batch([(0.5, 0.5), (0.3, 0.3), big, (0.1, 0.2), big], rounds, d)
        with pytest.raises(InputError, match=r"round map of system 2\)"):
            evaluate.fixed_points(M, c, W, mask, check=True)


def test_a_two_dimensional_batch_solves_like_the_flat_one():
    """Systems in a (1, 3) batch (as a sweep's grid may shape them) give the flat batch's fixed points."""
    systems = [(0.5, 0.5), (0.1, -0.2), (0.3, 0.9)]
    M, c, W, mask = _batch(systems)
    flat = evaluate.fixed_points(M, c, W, mask)
    grid = evaluate.fixed_points(M[None], c[None], W, mask)
    assert grid.shape == (1,) + flat.shape and np.array_equal(grid[0], flat)
