"""VF and VN of the random-protocol claims R1-R4: power on planted wrong statements, regressions.

Each planted variant (a weakened hypothesis, a wrong conclusion, a flipped direction) is monkeypatched
into the ``a2ad check`` propositions; the falsifier, drawing random protocols
(:func:`proofs_check.verification.strategies.random_systems`), must find a counterexample within the
draws given (derandomized: the same examples every run) and ``a2ad check`` must exit 1 on the printed
instance.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_falsifiers import FULL, NO_SHRINK, QUICK, plant, reproduce

from proofs_check.check import random_claims as RC
from proofs_check.check.core import REL_TOL, Outcome, Piece
from proofs_check.check.run import check_config
from proofs_check.verification import falsifiers as F, necessity as N


def found(claim: str, examples: int):
    out = F.falsify(claim, FULL, examples=examples, shrink_seconds=NO_SHRINK)
    assert out.worst_error == 1.0, f"no counterexample found: {out.detail}"
    report = reproduce(claim, out.detail)
    assert report.exit_status == 1, report.reason  # a2ad check agrees: exit 1 on the printed instance
    return out


def _derived(inst):
    return RC._derived(inst)


# --- planted wrong statements ----------------------------------------------------------------------------

def _ms_iff_mean_rate(inst):
    """R1 with the mean-rate condition in place of the mean-square one: E||z_t - mu||^2 -> 0 iff
    rho(sum_k p_k Phi_k) < 1 (false when the mean converges and the second moment does not)."""
    ms, mean = RC.rates(inst)
    return Outcome((ms < 1) == (mean < 1), f"mean-square rate {ms:.6g} < 1 iff mean rate {mean:.6g} < 1")


def test_r1_with_the_mean_rate_condition_is_falsified(monkeypatch):
    plant(monkeypatch, "R1", conclusions={"mean_square": Piece(_ms_iff_mean_rate, needs=("law",))})
    out = found("R1", R1_DRAWS)
    assert "mean_square" in out.detail


def test_r2_without_the_noiseless_hypothesis_is_falsified(monkeypatch):
    """Noise spreads the messages even where every alternative keeps the mean in place. The strategy
    draws noise again once the statement no longer excludes it (R2's draws are noiseless)."""
    plant(monkeypatch, "R2", hypotheses={"noiseless": Piece(lambda i: Outcome(True, "dropped"))})
    monkeypatch.setitem(F.RANDOM_OPTIONS, "R2", {})
    out = found("R2", R2_DRAWS)
    assert "invariance" in out.detail


def _some_alternative_keeps(inst):
    """R2's iff with 'every alternative' weakened to 'some alternative' keeps the mean: the direction
    'spread zero => ...' still holds, the converse does not (checked both ways, it fails)."""
    _, nu, m = _derived(inst)
    dev = np.linalg.norm(nu.Phi @ m.mean + nu.psi - m.mean, axis=1)[nu.law > 0]
    scale = max(1.0, float(np.abs(m.mean).max()))
    tr = float(np.trace(m.covariance))
    some, zero = bool(dev.min() <= REL_TOL * scale), tr <= REL_TOL * scale ** 2
    return Outcome(some == zero, f"min_k ||d_k|| = {dev.min():.3g}, trace C = {tr:.3g}")


def test_r2_iff_with_some_alternative_is_falsified(monkeypatch):
    plant(monkeypatch, "R2", conclusions={"invariance": Piece(_some_alternative_keeps)})
    out = found("R2", R2_DRAWS)
    assert "invariance" in out.detail


def _zero_spread(inst):
    _, _, m = _derived(inst)
    tr = float(np.trace(m.covariance))
    return Outcome(tr <= REL_TOL * max(1.0, float(np.abs(m.mean).max())) ** 2, f"trace C = {tr:.6g}")


def test_r3_claiming_zero_spread_is_falsified(monkeypatch):
    plant(monkeypatch, "R3", conclusions={"spread": Piece(_zero_spread)})
    out = found("R3", R3_DRAWS)
    assert "spread" in out.detail


def _r4_flipped(inst):
    _, _, m = _derived(inst)
    rr = RC._rr_rate(inst) ** 0.5
    return Outcome(m.contraction_rate <= rr * (1 + REL_TOL),
                   f"random mean-square rate per turn {m.contraction_rate:.6g} <= round robin per turn {rr:.6g}")


def test_r4_flipped_is_falsified(monkeypatch):
    plant(monkeypatch, "R4", conclusions={"proved": Piece(_r4_flipped)})
    out = found("R4", R4_DRAWS)
    assert "proved" in out.detail


# Draws allowed (measured: each planted variant is found within its first 7 instances inside the hypotheses).
R1_DRAWS = R2_DRAWS = R3_DRAWS = R4_DRAWS = 30
