"""``a2ad simulate`` with a noisy agent: each printed message minus the GD answer to what its writer heard is the
noise it added (shipped_random.noisy_deviation_check, in P1's VS). It passes on the package and fails when the
noise is left out or drawn with the wrong factor (planted here; a mutant that skipped the noise survived every
verify method before this check)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from proofs_check.verification import shipped_random as R
from proofs_check.verification.shipped import Ledger


def run():
    cfg = R.instance(R._H[:2], R._G[:2]).config()
    cfg["agents"][0]["noise"] = 0.01
    ledger = Ledger(instances=1)
    R.noisy_deviation_check(ledger, cfg)
    return ledger.outcome("noisy simulate")


def test_the_package_passes():
    out = run()
    assert math.isfinite(out.worst_error) and out.worst_error <= out.tolerance, out.detail


@pytest.mark.parametrize("scale", [0.0, 2.0])
def test_a_wrong_noise_fails(monkeypatch, scale):
    from numerics.protocol import random_simulate

    orig = random_simulate.noise_factor
    monkeypatch.setattr(random_simulate, "noise_factor", lambda S: scale * orig(np.asarray(S)))
    out = run()
    assert out.worst_error > out.tolerance, out.detail
