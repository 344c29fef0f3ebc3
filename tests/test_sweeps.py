import numpy as np
import pytest

from numerics import sweeps
from numerics.errors import InputError


def seeded_norm(seed: int, d: int) -> float:
    return float(np.linalg.norm(np.random.default_rng(seed).standard_normal(d)))


def test_backends_agree_and_keep_order():
    points = sweeps.grid(seed=range(4), d=[2, 5])
    serial = sweeps.sweep(seeded_norm, points, backend="serial")
    assert serial == [seeded_norm(**p) for p in points]
    assert sweeps.sweep(seeded_norm, points, backend="process", workers=2) == serial


def test_unknown_backend():
    with pytest.raises(InputError, match="sweep backend"):
        sweeps.sweep(seeded_norm, [], backend="gpu")
