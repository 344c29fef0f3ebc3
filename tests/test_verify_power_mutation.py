"""Checks strengthened after ``make mutation`` found survivors (docs/mutation.rst). Each test plants
one wrong variant and shows the method that should catch it fails; the unplanted methods pass in
tests/test_registry.py.

Issue 11 item 6 for ``a2ad attack``: C9-C11's V4 run ``attacks.plan`` (the command's code) on
configs parsed by ``numerics.protocol.config``."""
import dataclasses

import pytest
import sympy as sp

from numerics.interventions import attacks
from proofs_check.claims import all_claims
from proofs_check.verification import runner
from proofs_check.verification.registry import PROFILES

QUICK = PROFILES["quick"]
CLAIMS = {c.id: c for c in all_claims()}
TRUE_PLAN = attacks.plan


def assert_fails(cid: str, method: str = "V4") -> None:
    res = runner.run_method(method, CLAIMS[cid].methods[method], QUICK)
    assert res["status"] == "failed", (cid, method, res)


def test_plan_ignoring_the_attacker_index_fails(monkeypatch):
    # always attacks with agent 0: when agent 1 should attack, the entry replaces the wrong agent
    monkeypatch.setattr(attacks, "plan", lambda system, kind, point=None, N=None, *, seed, attacker:
                        TRUE_PLAN(system, kind, point, N, seed=seed, attacker=0))
    for cid in ("C9", "C10", "C11"):
        assert_fails(cid)


def test_plan_steering_with_the_victims_one_step_transfer_fails_c11(monkeypatch):
    # steering target computed from the victim's one-step transfer (I - Gamma_B H_B) instead of
    # its per-turn transfer M_B^{s_B}: the victim then settles away from p when s_B > 1
    import numpy as np

    def planted(system, kind, point=None, N=None, *, seed, attacker):
        out = TRUE_PLAN(system, kind, point, N, seed=seed, attacker=attacker)
        if kind != "steer":
            return out
        b = system.agents[1 - attacker]
        one_step = np.eye(b.d) - b.Gamma @ b.geometry.H
        w_A, _ = attacks.steering_target(one_step, b.w_star, point)
        prompt = attacks.full_rank_prompt(system.agents[attacker].Gamma, w_A, len(out.prompt.X),
                                          np.random.default_rng(seed))
        entry = {**out.entry, "prompt": {"X": prompt.X.tolist(), "y": prompt.y.tolist()}}
        return dataclasses.replace(out, entry=entry, prompt=prompt)
    monkeypatch.setattr(attacks, "plan", planted)
    assert_fails("C11")


@pytest.mark.parametrize("cid", ["C9", "C10", "C11"])
def test_plan_with_nan_prompt_fails(monkeypatch, cid):
    def planted(*args, **kwargs):
        out = TRUE_PLAN(*args, **kwargs)
        X = [[float("nan")] * len(row) for row in out.entry["prompt"]["X"]]
        return dataclasses.replace(out, entry={**out.entry, "prompt": {**out.entry["prompt"], "X": X}})
    monkeypatch.setattr(attacks, "plan", planted)
    assert_fails(cid)


@pytest.mark.parametrize("i", [1, 2])
def test_c17_formula_registered_for_another_agent_fails_v1(monkeypatch, i):
    # the docs render theory.round_robin.k_agents.FORMULAS: agent 1's formulas must be the ones V1 proves
    import dataclasses as dc

    from theory.round_robin import k_agents as ka
    planted = [dc.replace(ka.FORMULAS[0], rhs=ka.fixed_point(3, i)), dc.replace(ka.FORMULAS[1], rhs=ka.residual(3, i))]
    monkeypatch.setattr(ka, "FORMULAS", planted)
    res = runner.run_method("V1", CLAIMS["C17"].methods["V1"], QUICK)
    assert res["status"] == "failed" and "registered C17.fixed_point_3_agents" in res["detail"], res
    assert "registered C17.residual_3_agents" in res["detail"], res


def test_c17_wrong_product_length_fails_v1_at_the_first_wrong_k(monkeypatch):
    # P_{i,j} with (i - j)^K factors instead of (i - j) mod K: wrong already at K = 2 (P_{-1,j} in
    # u_1* = T_1(u_0*)), and up to 4^5 = 1024 factors at K = 5 (the mutation session timed out
    # there). V1 stops at K = 2.
    from theory.core.model import I
    from theory.round_robin import k_agents as ka

    def planted(K, i, j):
        out = I
        for step in range((i - j) ** K):
            out = out * ka.agents(K)[(i - step) % K].M
        return out
    monkeypatch.setattr(ka, "P", planted)
    # the mutated module registers its formulas with the planted P too
    monkeypatch.setattr(ka, "FORMULAS", [dataclasses.replace(ka.FORMULAS[0], rhs=ka.fixed_point(3, 0)),
                                         dataclasses.replace(ka.FORMULAS[1], rhs=ka.residual(3, 0))])
    res = runner.run_method("V1", CLAIMS["C17"].methods["V1"], QUICK)
    assert res["status"] == "failed" and "K=2" in res["detail"], res
    assert not any(f"K={K}" in res["detail"] for K in (3, 4, 5)), res


# ---- issue 11 item 8 for the derivation chains: inverses need a named hypothesis ---------------
def test_chain_inverting_an_unjustified_factor_does_not_hold():
    from theory import derivations as dv
    from theory.round_robin import two_agents as ta
    # M_A^{-1} M_A w_A* = w_A* is an identity of the free algebra only if M_A is invertible, which no
    # hypothesis of C4 says (rho(M_A) < 1 allows M_A = 0)
    wrong = dv.Chain("C4", "planted", ((ta.A.w_star, "start"),
                                      (dv.unevaluated(sp.Inverse(ta.A.M), ta.A.M, ta.A.w_star), "M_A^{-1} M_A")), {})
    (step,) = dv.check(wrong)
    assert not step.holds and "not justified" in step.residual and "M_A" in step.residual


@pytest.mark.parametrize("claim", ["C3", "C14", "C18", "P4"])
def test_chain_without_its_claims_hypothesis_does_not_hold(monkeypatch, claim):
    from theory import derivations as dv
    chains = [c for c in dv.CHAINS if c.claim == claim and c.method == "V1"]
    assert chains and all(s.holds and s.justified for c in chains for s in dv.check(c))
    monkeypatch.setitem(dv.HYPOTHESES, claim, {})
    assert any(not s.holds and "not justified" in s.residual for c in chains for s in dv.check(c))


# ---- registered formulas (what the docs render) are the objects the methods check -------------
def _planted_formula(monkeypatch, module, fid, rhs):
    import dataclasses as dc
    formulas = [dc.replace(f, rhs=rhs) if f.id == fid else f for f in module.FORMULAS]
    assert any(f.id == fid for f in formulas)
    monkeypatch.setattr(module, "FORMULAS", formulas)


def test_wrong_registered_victim_residual_fails_c8_v1(monkeypatch):
    from theory.interventions import adversarial as adv
    from theory.round_robin import two_agents as ta
    _planted_formula(monkeypatch, adv, "C8.victim_residual", ta.B.M * ta.Delta)  # sign flipped
    res = runner.run_method("V1", CLAIMS["C8"].methods["V1"], QUICK)
    assert res["status"] == "failed" and "registered C8.victim_residual" in res["detail"], res


def test_wrong_registered_full_rank_prompt_fails_c9_v1(monkeypatch):
    from theory.core.model import matrix
    from theory.interventions import adversarial as adv
    _planted_formula(monkeypatch, adv, "C9.full_rank_prompt", sp.sqrt(sp.Symbol("N")) * matrix("U") * adv.R * adv.R)
    res = runner.run_method("V1", CLAIMS["C9"].methods["V1"], QUICK)
    assert res["status"] == "failed" and "registered C9.full_rank_prompt" in res["detail"], res


@pytest.mark.parametrize("wrong", ["sign", "one step"])
def test_wrong_registered_c16_formula_fails_v4(monkeypatch, wrong):
    from theory.interventions import adversarial as adv
    from theory.round_robin import two_agents as ta
    s_B = sp.Symbol("s_B")
    rhs = ta.B.M ** s_B * ta.Delta if wrong == "sign" else -ta.B.M * ta.Delta
    _planted_formula(monkeypatch, adv, "C16.victim_residual_s_steps", rhs)
    assert runner.run_method("V4", CLAIMS["C16"].methods["V4"], QUICK)["status"] == "failed"


def test_wrong_registered_covariance_of_A_fails_c15_v1(monkeypatch):
    from theory.round_robin import two_agents as ta
    from theory.stochastic import noisy
    wrong = ta.J_A * noisy.V_A * ta.J_A.T - ta.A.M * noisy.S_B * ta.A.M.T + noisy.S_A  # B's noise subtracted
    _planted_formula(monkeypatch, noisy, "C15.stationary_covariance_A", wrong)
    res = runner.run_method("V1", CLAIMS["C15"].methods["V1"], QUICK)
    assert res["status"] == "failed" and "registered C15.stationary_covariance_A" in res["detail"], res


def test_wrong_registered_per_direction_plateau_fails_c5_v3(monkeypatch):
    from theory.round_robin import per_direction as pd
    _planted_formula(monkeypatch, pd, "C5.residual_B_k", -pd.gain_B * pd.Delta_k)  # sign flipped
    res = runner.run_method("V3", CLAIMS["C5"].methods["V3"], QUICK)
    assert res["status"] == "failed" and "registered C5.residual_B_k" in res["detail"], res
