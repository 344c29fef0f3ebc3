"""Input contracts of ``predict --precision`` (mutation killers of numerics/protocol/prediction.py,
docs/mutation.rst): ``a2ad verify`` checks mathematics and never feeds bad input, so the bounds the
documentation states for ``--precision`` are checked here. The mathematics that used to sit in this
file's predecessors (the protocol shapes, the divergence reasons, ``--precision`` against exact
rationals) now runs in ``a2ad verify`` (the VS methods of P1 and C17: shipped_protocol, shipped_reasons,
shipped_exact) and is called from tests/test_shipped_methods.py.
"""
from __future__ import annotations

import json

import mpmath as mp
import pytest

from numerics.io import jsonio
from numerics.io.errors import InputError
from numerics.protocol import config, prediction
from proofs_check.verification.shipped_exact import DIGITS, PRECISE_REL, config_text, exact_cases


def test_precision_refuses_more_than_ten_thousand_examples():
    """docs/cli.rst: ``--precision`` supports at most 10^4 examples per agent; one more is an InputError naming
    the agent's prompt and the count (before any exact arithmetic)."""
    raw = json.loads(json.dumps(exact_cases(False)["round_robin_steps"]))
    del raw["agents"][0]["geometry"], raw["agents"][0]["target"]
    raw["agents"][0]["prompt"] = {"X": [["1.0", "0.5"]] * 10001, "y": ["0.25"] * 10001}
    system = config.parse_exact(jsonio.loads(config_text(raw)))
    with pytest.raises(InputError) as info:
        prediction.predict(system, DIGITS)
    assert "A.prompt.X" in str(info.value) and "10001 rows" in str(info.value) and "10000" in str(info.value)


def test_precision_accepts_exactly_ten_thousand_examples():
    """The bound is inclusive: 10^4 examples run. Two rows repeated 5000 times give the same ``H = X^T X / N`` and
    ``b = X^T y / N`` as the two rows once, so the documents agree (to the 30 printed digits)."""
    raw = json.loads(json.dumps(exact_cases(False)["round_robin_steps"]))
    del raw["agents"][0]["geometry"], raw["agents"][0]["target"]
    docs = []
    for n in (5000, 1):
        raw["agents"][0]["prompt"] = {"X": [["1.0", "0.5"], ["-0.5", "1.25"]] * n, "y": ["0.25", "-0.5"] * n}
        docs.append(prediction.predict(config.parse_exact(jsonio.loads(config_text(raw))), DIGITS))
    big, small = docs
    for name in ("A", "B"):
        for got, want in zip(big["agents"][name]["fixed_point"], small["agents"][name]["fixed_point"]):
            assert abs(mp.mpf(got) - mp.mpf(want)) <= PRECISE_REL * max(1, abs(mp.mpf(want))), (got, want)


def test_precision_accepts_16_to_1000_digits():
    """docs/cli.rst: ``--precision`` takes 16 to 1000 digits; 15 and 1001 are InputErrors naming ``--precision``."""
    assert prediction.check_digits(16) == 16 and prediction.check_digits(1000) == 1000
    for bad in (15, 1001):
        with pytest.raises(InputError, match="--precision"):
            prediction.check_digits(bad)


def _dimension(d: int):
    """Two agents answering each other simultaneously (both live: a 2d x 2d round map)."""
    eye = [["1.0" if i == j else "0.0" for j in range(d)] for i in range(d)]
    raw = {"agents": [{"name": n, "geometry": eye, "target": ["0.5"] * d, "preconditioner": "0.5"} for n in "AB"],
           "initial_message": ["0.0"] * d, "protocol": {"rounds": [{"A": {"B": "0.5"}, "B": {"A": "0.5"}}]}}
    return config.parse_exact(jsonio.loads(config_text(raw)))


def test_precision_refuses_dimension_above_20():
    """docs/cli.rst: ``--precision`` supports d <= 20; d = 21 is an InputError naming the dimension and the bound
    (before any mpmath work)."""
    with pytest.raises(InputError) as info:
        prediction.predict(_dimension(21), DIGITS)
    assert "dimension d" in str(info.value) and "21" in str(info.value) and "d <= 20" in str(info.value)


def test_precision_accepts_dimension_20():
    """d = 20 passes the dimension bound: at 1000 digits the run is then refused by its estimated mpmath time
    (before any mpmath work), an InputError on ``--precision``, not on the dimension."""
    with pytest.raises(InputError) as info:
        prediction.predict(_dimension(20), 1000)
    assert "dimension" not in str(info.value) and "estimated" in str(info.value), str(info.value)
