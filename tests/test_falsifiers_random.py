"""VF and VN of the random-protocol claims R1-R4: power on planted wrong statements, regressions.

Each planted variant (a weakened hypothesis, a wrong conclusion, a flipped direction) is monkeypatched
into the ``a2ad check`` propositions; the falsifier, drawing random protocols
(:func:`proofs_check.verification.strategies.random_configs`), must find a counterexample within the
draws given (derandomized: the same examples every run) and ``a2ad check`` must exit 1 on the printed
instance.
"""
from __future__ import annotations

import numpy as np
import pytest

from proofs_check.check import random_claims as RC
from proofs_check.check.core import REL_TOL, Outcome, Piece
from proofs_check.check.run import check_config
from proofs_check.verification import falsifiers as F, necessity as N
from test_falsifiers import FULL, QUICK, found as found_in, plant


def found(claim: str, examples: int):
    """VF's counterexample within ``examples`` full-profile draws, and a2ad check's exit 1 on it."""
    return found_in(claim, FULL, examples)


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


# --- necessity witnesses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("claim", ["R1", "R2", "R3", "R4"])
def test_r_claims_vn_passes(claim):
    assert N.check_claim(claim).worst_error == 0


def test_r2_witness_unwitnesses_once_noise_is_dropped():
    """Without A's noise the witness is a true instance (zero spread, every d_k = 0): nothing witnessed."""
    w = next(w for w in N.WITNESSES if (w.claim, w.hypothesis) == ("R2", "noiseless"))
    quiet = {**w.config, "agents": [{k: v for k, v in a.items() if k != "noise"} for a in w.config["agents"]]}
    assert not N.witnessed(N.Witness(w.claim, w.hypothesis, w.conclusion, quiet, w.note))[0]


def test_r4_witness_needs_rho_above_one():
    """M_A = M_B = 9/10 (rho = 0.81 <= 1): the bound holds, nothing is witnessed."""
    w = next(w for w in N.WITNESSES if (w.claim, w.hypothesis) == ("R4", "stable"))
    assert not N.witnessed(N.Witness(w.claim, w.hypothesis, w.conclusion, N._two_speakers(0.9, 0.9), w.note))[0]


# --- what R1's statement itself gives: the mean converges and the second moment does not ---------------------

def test_r1_overshooting_agent_only_the_mean_converges():
    """The statement's instance: M_A = -13/10 waking with probability 1/2 (hearing itself): mean rate 3/20,
    second-moment rate 269/200 per round (a2ad check prints its square root); the mean conclusion holds.
    B (M_B = 0, hearing itself while A sleeps) is there because a config has at least two agents."""
    A = {"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 2.3}
    B = {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 1.0}
    raw = {"schema_version": 1, "agents": [A, B], "initial_message": [0.0], "protocol": {"random": [
        {"probability": 0.5, "rounds": [{"B": {"B": 1.0}}]}, {"probability": 0.5, "rounds": [{"A": {"A": 1.0}}]}]}}
    report = check_config("R1", raw, [])
    out = {c["name"]: c for c in report.conclusions}
    assert out["mean"]["holds"] is True and out["mean_square"]["holds"] is None, report.conclusions
    assert f"{(269 / 200) ** 0.5:.6g}" in out["mean_square"]["value"]
    assert report.exit_status == 0


# --- evaluator faults VF found (fixed in proofs_check/check/random_claims.py, numerics) --------------------------

def _agent(name, m, w, **extra):
    """d = 1, H = 1, Gamma = 1 - m: M = m."""
    return {"name": name, "geometry": [[1.0]], "target": [w], "preconditioner": 1.0 - m, **extra}


def _speakers(agents, rows, p):
    """Independent draws: alternative k, with probability p[k], is one phase where rows[k] speaks."""
    return {"schema_version": 1, "agents": agents, "initial_message": [0.0],
            "protocol": {"random": [{"probability": q, "rounds": [r]} for q, r in zip(p, rows)]}}


def test_r1_rate_too_close_to_one_is_not_checkable():
    """M = 0.9995: the mean-square rate needs ~1e5 propagated rounds; the comparison after the 20000
    allowed was read as a counterexample (exit 1), it is now not checkable (exit 3)."""
    raw = _speakers([_agent("A", 0.9995, 1.0), _agent("B", 0.9995, -1.0)],
                    [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}], [0.5, 0.5])
    report = check_config("R1", raw, [])
    assert report.exit_status == 3, report.reason
    assert all("propagated rounds" in c["value"] for c in report.conclusions)


def test_r1_covariance_measured_against_the_mean_squared():
    """Targets 1e8: E[z z^T] - mu mu^T cancels 16 digits; the zero covariance was read as 1 off (exit 1)."""
    raw = _speakers([_agent("A", 0.5, 1e8), _agent("B", 0.5, 1e8)],
                    [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}], [0.5, 0.5])
    assert check_config("R1", raw, []).exit_status == 0


def test_r2_same_average_fixed_point_need_not_attract():
    """The simultaneous protocol has rho = 1.09 > 1, the random speaker (A speaks with p = 0.1) contracts
    in mean square (0.95): its mean is still the simultaneous fixed point (it was refused: exit 1)."""
    raw = _speakers([_agent("A", 1.5, 1.0), _agent("B", 0.5, -1.0)],
                    [{"A": {"B": -1.0}}, {"B": {"A": -0.5, "B": -1.5}}], [0.1, 0.9])
    report = check_config("R2", raw, [])
    assert report.exit_status == 0, report.reason


@pytest.mark.parametrize("claim", ["R2", "R3"])
def test_divergent_instance_is_exit_3_not_a_traceback(claim):
    """M_A = M_B = 3/2: no stationary mean; R2 and R3 raised TypeError / ValueError through a2ad check."""
    raw = N._two_speakers(1.5, 1.5)
    assert check_config(claim, raw, []).exit_status == 3


def test_no_live_agent_fixed_point():
    """Every listening weight 0: no live agent, z* = r (numerics' contraction check raised ValueError on
    the empty map)."""
    raw = _speakers([_agent("A", 1.0, 0.0), _agent("B", 1.0, 0.0)], [{"A": {"A": 0.0}}, {"B": {"A": 0.0}}],
                    [0.5, 0.5])
    assert check_config("R2", raw, []).exit_status == 0


@pytest.mark.parametrize("claim", ["R1", "R2", "R3", "R4"])
def test_true_r_statements_give_no_counterexample(claim):
    out = F.falsify(claim, QUICK)
    assert out.worst_error == 0.0 and out.instances > 0, out.detail


def test_r1_nilpotent_round_map_propagated_to_its_limit():
    """B copies A (M_B = 1), then A answers its target (M_A = 0): Phi = [[0, 0], [1, 0]] has rate 0 but
    moves the moments for two rounds: the propagation stops when they stop moving, not after a round count
    from the rate alone (which reads one round as the limit)."""
    raw = {"schema_version": 1, "agents": [_agent("A", 0.0, 1.0), {**_agent("B", 1.0, 0.0), "geometry": [[0.0]]}],
           "initial_message": [0.0],
           "protocol": {"random": [{"probability": 1.0, "rounds": [{"B": {"A": 1.0}}, {"A": {"B": 1.0}}]}]}}
    report = check_config("R1", raw, [])
    assert report.exit_status == 0, report.reason


def test_r1_chain_started_from_a_given_alternative():
    """R1 says "from every initial alternative": the moments are propagated from the config's
    ``initial`` law (here the group chat started at "A hears B"), not from the stationary one."""
    import json
    from pathlib import Path

    raw = json.loads((Path(__file__).resolve().parents[1] / "examples" / "random_group_chat.json").read_text())
    raw["protocol"]["initial"] = {"A hears B": 1.0}
    report = check_config("R1", raw, [])
    assert report.exit_status == 0, report.reason


def test_r3_equal_heard_means_is_not_a_counterexample_but_outside_the_statement():
    """The instance that made R3's old sentence ("noiseless agents with distinct targets keep a nonzero
    covariance") false: A hears B or C, B or C hears A, B and C with the same target, so every alternative
    keeps the mean and C = 0. The corrected statement asks that some alternative moves the mean: exit 3, with
    the hypothesis "moved" failing and the covariance computed as 0."""
    agents = [_agent("A", 0.5, 0.0), _agent("B", 0.5, 1.0), _agent("C", 0.5, 1.0)]
    rows = [{"A": {"B": 1.0}}, {"A": {"C": 1.0}}, {"B": {"A": 1.0}}, {"C": {"A": 1.0}}]
    report = check_config("R3", _speakers(agents, rows, [0.25] * 4), [])
    assert report.exit_status == 3, report.reason
    moved = {h["name"]: h for h in report.hypotheses}["moved"]
    assert moved["holds"] is False, moved
    # one target moved: B and C's means differ, alternatives move the mean, the spread is positive (exit 0)
    agents[2] = _agent("C", 0.5, 2.0)
    report = check_config("R3", _speakers(agents, rows, [0.25] * 4), [])
    assert report.exit_status == 0, report.reason
