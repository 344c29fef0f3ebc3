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


# A random protocol whose 12 x 12 second-moment operator makes mpmath's QR iteration fail at 30 digits (not at 25
# or 35): predict --precision 30 printed a traceback before the eigenvalues were computed again with more digits.
QR_FAILS_AT_30 = {
    "schema_version": 1, "initial_message": [0.0],
    "agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
               {"name": "B", "geometry": [[2.0]], "target": [-1.0], "preconditioner": 0.25}],
    "protocol": {"random": [
        {"name": "x", "rounds": [{"A": {"B": 1.0}}], "next": {"x": 0.1, "y": 0.6, "z": 0.3}},
        {"name": "y", "rounds": [{"B": {"A": 1.0}}], "next": {"x": 0.7, "y": 0.1, "z": 0.2}},
        {"name": "z", "rounds": [], "next": {"x": 0.2, "y": 0.3, "z": 0.5}}]}}


def test_a_matrix_whose_qr_iteration_fails_is_solved_with_more_digits():
    import mpmath as mp

    from numerics import api

    at30, at40 = (api.predict(QR_FAILS_AT_30, precision=digits) for digits in (30, 40))
    for field in ("contraction_rate", "mean_rate"):
        a, b = mp.mpf(getattr(at30, field)), mp.mpf(getattr(at40, field))
        assert abs(a - b) <= mp.mpf(10) ** -29 * b  # the 30 printed digits are right


def test_the_radius_after_a_retry_is_rounded_to_the_working_precision(monkeypatch):
    import mpmath as mp

    calls = []
    real = mp.eig

    def eig(A, **kw):  # fails at the working precision, as mpmath's QR does on some matrices
        calls.append(mp.mp.dps)
        if len(calls) == 1:
            raise RuntimeError("qr: failed to converge after 161 steps")
        return real(A, **kw)

    monkeypatch.setattr(mp, "eig", eig)
    with mp.workdps(30):
        # eigenvalues 0.4 +- sqrt(0.03): computed (not read off a diagonal), so at 40 digits they carry more bits
        A = mp.matrix([[mp.mpf("0.5"), mp.mpf("0.1")], [mp.mpf("0.2"), mp.mpf("0.3")]])
        r = precise.spectral_radius(A)
        assert calls == [30, 40]  # once more with EIG_RETRY_DIGITS = 10 more digits
        assert r == +r  # a number of the working precision
        assert abs(r - (mp.mpf("0.4") + mp.sqrt(mp.mpf("0.03")))) <= mp.mpf(10) ** -29


def test_a_qr_iteration_that_fails_twice_is_refused_naming_the_precision(monkeypatch):
    import mpmath as mp

    def eig(A, **kw):
        raise RuntimeError("qr: failed to converge after 161 steps")

    monkeypatch.setattr(mp, "eig", eig)
    with mp.workdps(30), pytest.raises(InputError, match=r"--precision = 30: mpmath's eigenvalue iteration did not "
                                                         r"converge on a 2 x 2 matrix \(qr: failed"):
        precise.spectral_radius(mp.matrix([[0.5, 0], [0, 0.25]]))
