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


STEP = {0: np.diag([1.0, 0.5]), 1: np.diag([0.5, 1.0])}  # Phi = M: I - Phi's zero pivot at that elimination step


@pytest.mark.parametrize("kernel", [False, True])
@pytest.mark.parametrize("singular, named", [({1: 1, 5: 0}, 1), ({1: 0, 5: 1}, 1), ({0: 0, 3: 1}, 0),
                                             ({65: 0, 70: 1}, 65), ({65: 1, 70: 0}, 65)])
def test_of_several_singular_systems_the_lowest_is_named_on_both_paths(kernel, singular, named):
    """One agent hearing itself (``Phi = M``), d = 2; ``singular`` maps a system to the elimination step of its
    zero pivot (the others ``M = I / 2``). Below the kernel's threshold and on it (64 systems a lane group: 65
    and 70 share the second), the refusal names the lowest singular system, whichever pivot fails first."""
    size = evaluate.KERNEL_MIN_BATCH if kernel else max(singular) + 3
    proto = spec.build([{"A": {"A": 1.0}}], ["A"], 2, np.zeros(2))
    W, mask = proto.weights()
    M = np.tile(0.5 * np.eye(2), (size, 1, 1, 1))
    for system, step in singular.items():
        M[system, 0] = STEP[step]
    with pytest.raises(InputError, match=rf"round map of system {named}\)"):
        evaluate.fixed_points(M, np.ones((size, 1, 2)), W, mask, check=False)


@pytest.mark.parametrize("size", [8, evaluate.KERNEL_MIN_BATCH])
def test_the_last_system_overflowing_is_named(size):
    """The last system's round map overflows (``M_A M_B = 1e400``), or its map is fine and its fixed point overflows
    (one agent hearing itself, ``M = I / 2``, offset 1.5e308: ``z = 3e308``): either way it is named."""
    systems = [(0.5, 0.5)] * size
    systems[-1] = (1e200, 1e200)
    with pytest.raises(InputError, match=rf"round map of system {size - 1}\)"):
        evaluate.fixed_points(*_batch(systems), check=False)
    proto = spec.build([{"A": {"A": 1.0}}], ["A"], 2, np.zeros(2))
    W, mask = proto.weights()
    c = np.ones((size, 1, 2))
    c[-1] = 1.5e308
    with pytest.raises(InputError, match=rf"round map of system {size - 1}\)"):
        evaluate.fixed_points(np.tile(0.5 * np.eye(2), (size, 1, 1, 1)), c, W, mask, check=False)


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
