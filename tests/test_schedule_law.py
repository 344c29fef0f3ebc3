"""The law of the schedule ``a2ad simulate --seed`` prints (shipped_schedule.schedule_law_check, in P1's VS): it
passes on the package and fails on planted wrong samplers (a row of the chain read transposed, the chain's rows
ignored, the last alternative never drawn, a first round drawn from P's first row instead of the initial law)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from proofs_check.verification import shipped_schedule as S
from proofs_check.verification.shipped import Ledger


def run():
    ledger = Ledger(instances=len(S.SCHEDULE_CASES))
    S.schedule_law_check(ledger)
    return ledger.outcome("schedule law")


def test_the_package_passes():
    out = run()
    assert math.isfinite(out.worst_error) and out.worst_error <= out.tolerance, out.detail


def _transposed(rp):
    P = rp.P.T / rp.P.T.sum(axis=1, keepdims=True)
    return dataclasses.replace(rp, P=P)


def _independent(rp):  # every row the stationary law: the chain's memory lost
    pi = np.linalg.matrix_power(rp.P, 200)[0]
    return dataclasses.replace(rp, P=np.tile(pi, (len(pi), 1)))


def _last_never(rp):
    P = rp.P.copy()
    P[:, -2] += P[:, -1]
    P[:, -1] = 0.0
    return dataclasses.replace(rp, P=P, initial_law=rp.initial_law)


def _first_from_row(rp):
    return dataclasses.replace(rp, initial_law=rp.P[0].copy())


@pytest.mark.parametrize("wrong", [_transposed, _independent, _last_never, _first_from_row])
def test_a_wrong_sampler_fails(monkeypatch, wrong):
    from numerics.protocol import random_simulate

    orig = random_simulate.draw_schedule
    monkeypatch.setattr(random_simulate, "draw_schedule", lambda rp, *a, **k: orig(wrong(rp), *a, **k))
    out = run()
    assert out.worst_error > out.tolerance, out.detail
