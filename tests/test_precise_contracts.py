"""Input contracts of ``numerics/dynamics/precise.py`` (the ``--precision`` path) that ``a2ad verify`` never
reaches (mutation killers, docs/mutation.rst): verify checks the mathematics of accepted runs, so the refusal
boundary is checked here, with the limit restated from docs/config.rst (not read from the code under test).
"""
from __future__ import annotations

import math

import pytest

from numerics.dynamics import precise
from numerics.io.errors import InputError

DOC_LIMIT = 30.0  # docs/config.rst: ``predict --precision`` is refused when its estimated time "is above 30 s"


def _cost_with_estimate(seconds: float, monkeypatch) -> float:
    """``check_cost`` on a system whose estimate is ``seconds`` (the estimate itself, docs/config.rst's formula, is
    checked on both sides of its boundary by tests/test_mutation_kills_contracts.py)."""
    monkeypatch.setattr(precise, "evaluation_seconds", lambda *args: seconds)
    return precise.check_cost(2, 1, 0, [1, 1], [0, 0], 30)


def test_check_cost_accepts_an_estimate_of_exactly_the_limit(monkeypatch):
    """docs/config.rst: refused exactly when the estimate "is above 30 s": 30 s itself runs (the estimate is
    returned), the next float above it is refused naming ``--precision`` and the limit."""
    assert _cost_with_estimate(DOC_LIMIT, monkeypatch) == DOC_LIMIT
    above = math.nextafter(DOC_LIMIT, math.inf)
    with pytest.raises(InputError, match="--precision") as err:
        _cost_with_estimate(above, monkeypatch)
    assert "30 s" in str(err.value), err.value
