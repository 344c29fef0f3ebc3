"""Attacks (C9-C11) and relabelling helpers (C12-C14b): the CLI round trip, the issue's
numerical bars, and every bad input through the API and (where there is one) the CLI."""
import copy
import json

import numpy as np
import pytest

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry, from_prompt, relabelled
from numerics.interventions import attacks
from numerics.interventions.helper_policies import (
    BroydenPolicy,
    IdentificationPolicy,
    NewtonPolicy,
    RelabellingHelper,
    check_alpha,
)
from numerics.io.errors import InputError
from numerics.protocol import config, simulate
from proofs_check.claims import c12_c14_helpers
from proofs_check.cli import main as cli
from proofs_check.verification.registry import PROFILES
from test_bad_input import GOOD, cli_error

LONG = 2000  # turns: the example pairs below contract at rho <= 0.6
SIM_TOL = 1e-10  # float64 round-off over LONG turns on O(1) messages


def attack_cli(capsys, tmp_path, raw, *args):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    code = cli.main(["attack", str(path), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def attacked_run(raw, entry):
    """Plug the attacker's printed entry into the config and run the real agents."""
    attacked = copy.deepcopy(raw)
    attacked["agents"][0] = entry
    system = config.parse(attacked)
    last = simulate.run(system.agents, system.initial_message, LONG)[-1]
    return system, last


@pytest.mark.parametrize("kind", ["full", "rank-one"])
def test_attack_cli_makes_attacker_exact(capsys, tmp_path, kind):
    doc = attack_cli(capsys, tmp_path, GOOD, "--kind", kind)
    w_A = config.parse(GOOD).agents[0].w_star
    system, last = attacked_run(GOOD, doc["agent_entry"])
    victim = system.agents[1]
    Delta = victim.w_star - w_A
    assert np.linalg.norm(last[0] - w_A) < SIM_TOL  # C8-C10: e_A = 0
    assert np.linalg.norm(last[1] - victim.w_star + victim.M @ Delta) < SIM_TOL  # e_B = -M_B Delta
    assert doc["predicted"]["agents"]["A"]["residual_norm"] < SIM_TOL
    assert doc["contraction_rate"] < 1


def test_attack_cli_steers_victim(capsys, tmp_path):
    doc = attack_cli(capsys, tmp_path, GOOD, "--kind", "steer", "--point", "[2.0, -1.0]")
    _, last = attacked_run(GOOD, doc["agent_entry"])
    assert np.allclose(last[1], [2.0, -1.0], atol=SIM_TOL)
    assert doc["unreachable_residual_norm"] < SIM_TOL


def test_steering_reports_unreachable_residual():
    b = GDAgent("B", from_geometry(np.diag([1.0, 0.5]), [1.0, -1.0]), np.eye(2))  # M_B = diag(0, 0.5)
    _, residual = attacks.steering_target(b.M, b.w_star, [3.0, 2.0])
    assert residual == pytest.approx(2.0, rel=1e-12)  # v*[0] is pinned at w_B*[0] = 1, not 3


# ---- bad input --------------------------------------------------------------
def with_gamma(gamma):
    raw = copy.deepcopy(GOOD)
    raw["agents"][0]["preconditioner"] = gamma
    return raw


ALIGNED = copy.deepcopy(GOOD)
ALIGNED["agents"][1]["target"] = config.parse(GOOD).agents[0].w_star.tolist()  # Delta = 0, so g = 0

THREE = copy.deepcopy(GOOD)
THREE["agents"].append({**copy.deepcopy(GOOD["agents"][1]), "name": "C"})

ATTACK_CASES = [
    # three agents: their round robin, where C10 (derived for two) does not apply; full and steer do (P1)
    ("three agents", THREE, ["--kind", "rank-one"], "C10 does not apply"),
    ("N < d", GOOD, ["--kind", "full", "--examples", "1"], "N"),
    ("non-SPD Gamma_A, full", with_gamma([[1.0, 0.0], [0.0, -0.5]]), ["--kind", "full"], "Gamma_A"),
    ("non-SPD Gamma_A, rank-one", with_gamma([[1.0, 0.0], [0.0, -0.5]]), ["--kind", "rank-one"], "Gamma_A"),
    ("g = 0", ALIGNED, ["--kind", "rank-one"], "g = K_B Delta"),
    ("steer without a point", GOOD, ["--kind", "steer"], "--point"),
    ("point of the wrong size", GOOD, ["--kind", "steer", "--point", "[1.0]"], "--point"),
    ("point with NaN", GOOD, ["--kind", "steer", "--point", "[NaN, 1.0]"], "--point"),
    ("unknown attacker", GOOD, ["--kind", "full", "--attacker", "Z"], "--attacker"),
]


@pytest.mark.parametrize("case, raw, args, quantity", ATTACK_CASES, ids=[c[0] for c in ATTACK_CASES])
def test_bad_attack_cli(tmp_path, capsys, case, raw, args, quantity):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    assert quantity in cli_error(capsys, ["attack", str(path), *args])


def test_bad_attack_api():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="N"):
        attacks.full_rank_prompt(np.eye(3), np.ones(3), N=2, rng=rng)
    with pytest.raises(InputError, match="Gamma_A"):
        attacks.full_rank_prompt(np.diag([1.0, -1.0]), np.ones(2), N=2, rng=rng)
    with pytest.raises(InputError, match="Gamma_A"):
        attacks.rank_one_prompt(np.diag([1.0, 0.0]), 0.5 * np.eye(2), np.zeros(2), np.ones(2))
    with pytest.raises(InputError, match="g = K_B Delta"):
        attacks.rank_one_prompt(np.eye(2), 0.5 * np.eye(2), np.ones(2), np.ones(2))


@pytest.mark.parametrize("w_A, w_B", [([1e6, 0.0], [-1e6, 0.0]), ([2e6, 0.0], [0.0, 0.0])],
                         ids=["w_A = -w_B", "w_B = 0"])
def test_rank_one_refuses_g_zero_up_to_roundoff(w_A, w_B):
    # K_B = I - M_B = 1e-15 I: ||g|| = 1e-15 ||Delta|| is round-off relative to ||Delta|| = 2e6 (the
    # bar scales with ||w_B* - w_A*||, not with ||w_B* +- w_A*|| or ||w_B* * w_A*||, which are 0 here)
    M_B = (1 - 1e-15) * np.eye(2)
    with pytest.raises(InputError, match="g = K_B Delta"):
        attacks.rank_one_prompt(np.eye(2), M_B, np.array(w_A), np.array(w_B))


def test_plan_refuses_a_system_of_one_agent():
    # config.parse refuses fewer than two agents; a System built in code reaches plan directly
    system = config.parse(GOOD)
    one = config.System(system.agents[:1], system.initial_message)
    with pytest.raises(InputError, match="number of agents"):
        attacks.plan(one, "full", seed=0, attacker=0)


def test_rank_one_bar_on_g_is_the_documented_one():
    # g = K_B Delta is refused when ||g|| <= 1e-14 max(1, ||Delta||): with M_B = 0, g = Delta
    Gamma, M_B = np.eye(2), np.zeros((2, 2))
    with pytest.raises(InputError, match="g = K_B Delta"):  # on the bar
        attacks.rank_one_prompt(Gamma, M_B, np.zeros(2), np.array([1e-14, 0.0]))
    g = np.array([1.5e-14, 0.0])  # just above it: a real (tiny) g is attacked, K_A g = g
    prompt = attacks.rank_one_prompt(Gamma, M_B, np.zeros(2), g)
    K_A = Gamma @ prompt.X.T @ prompt.X / len(prompt.X)
    assert np.allclose(K_A @ g, g, rtol=1e-12, atol=0)


def test_rank_one_refuses_a_pair_with_rate_one():
    # M_B = diag(1, 0.5) and Delta = e_2: g = (0, 0.5), x = e_2, M_A = diag(1, 0) and M_A M_B = diag(1, 0):
    # rho = 1 exactly, the pair does not contract (C10 needs rho < 1)
    with pytest.raises(InputError, match="rho"):
        attacks.rank_one_prompt(np.eye(2), np.diag([1.0, 0.5]), np.zeros(2), np.array([0.0, 1.0]))


def test_rank_one_refuses_divergent_pair():
    # A stable but non-normal victim (eigenvalues +-0.6i, rho(M_B) = 0.6): the rank-one prompt
    # leaves M_A a projector, and M_A M_B has radius > 1. The attack must refuse and give rho.
    M_B = np.array([[1.3, -1.7], [1.3, -1.3]])
    assert max(abs(np.linalg.eigvals(M_B))) < 1
    with pytest.raises(InputError, match="rho"):
        attacks.rank_one_prompt(np.eye(2), M_B, np.zeros(2), np.array([1.0, 0.0]))


@pytest.mark.parametrize("alpha", [0.0, 2.0, -1.0, float("nan"), 3.5])
def test_alpha_outside_open_interval(alpha):
    with pytest.raises(InputError, match="alpha"):
        check_alpha(alpha)
    with pytest.raises(InputError, match="alpha"):
        NewtonPolicy(np.eye(2), np.ones(2), alpha)


def test_singular_H_A_for_oracle_newton():
    with pytest.raises(InputError, match="H_A"):
        NewtonPolicy(np.diag([1.0, 0.0]), np.ones(2), 1.0)


def test_singular_K_B_for_relabelling_helper():
    X = np.array([[1.0, 0.0], [2.0, 0.0]])  # B's prompt never informs e_2: K_B e_2 = 0
    with pytest.raises(InputError, match="K_B"):
        RelabellingHelper("B", X, 0.5 * np.eye(2), NewtonPolicy(np.eye(2), np.ones(2)))


def test_identification_needs_affinely_independent_probes():
    with pytest.raises(InputError, match=r"probes.*need d\+1 = 3 affinely independent"):
        IdentificationPolicy(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(InputError, match=r"probes.*need d\+1 = 3 affinely independent"):  # too few probes
        IdentificationPolicy(np.array([[0.0, 0.0], [1.0, 0.0]]))


def test_relabelling_helper_dimension_and_targets():
    helper = RelabellingHelper("B", np.ones((5, 1)) * np.array([[1.0, 0.0, 0.0]]) + np.eye(5, 3), 0.3 * np.eye(3),
                               NewtonPolicy(np.eye(3), np.ones(3), 1.0))
    assert helper.d == 3
    assert np.array_equal(helper.w_star, np.zeros(3))  # no target before its first turn
    for u in (np.ones(3), np.arange(3.0)):  # its target is the latest relabelling
        helper.respond(u)
        assert np.array_equal(helper.w_star, helper.targets[-1])
    assert not np.array_equal(helper.targets[0], helper.targets[-1])
    # one GD step per turn unless told otherwise: w_B(t) = K_B^{-1}(n - M_B u), M_B = I - Gamma_B X^T X / N
    X = helper.X
    M_B = np.eye(3) - 0.3 * X.T @ X / len(X)
    n = helper.policy.message(u)
    assert np.allclose(helper.targets[-1], np.linalg.solve(np.eye(3) - M_B, n - M_B @ u), rtol=1e-12, atol=1e-12)


def test_broyden_terminates_when_the_first_secant_has_unit_length():
    # d = 1, T_A(v) = v / 2 + 1 from v_0 = 0: F_0 = 1, so s = v_1 - v_0 = 1 and s^T s = 1 exactly. The
    # secant update then gives B_1 = -1/2, the exact Jacobian, and v_2 is the fixed point 2.
    policy = BroydenPolicy([0.0], dps=30)
    T = lambda v: [float(v[0]) / 2 + 1]  # noqa: E731
    v1 = policy.observe(T(policy.v))
    assert float(v1[0]) == 1.0  # B_0 = -I: the first step sends A's own reply, v_1 = T_A(v_0)
    v2 = policy.observe(T(v1))
    assert float(v2[0]) == 2.0


# ---- the numerical bars ---------------------------------------------
def test_witnesses_fail_for_a_wrong_newton_policy(monkeypatch):
    """The C12 witness is not tautological: a helper that damps by 0.9 alpha fails it."""
    true_message = NewtonPolicy.message
    monkeypatch.setattr(NewtonPolicy, "message", lambda self, u: u + 0.9 * (true_message(self, u) - u))
    assert c12_c14_helpers.c12_v4(PROFILES["quick"]).worst_error > 1e-3


def test_newton_alpha_one_exact_after_one_round():
    rng = np.random.default_rng(3)
    for d in (1, 3, 8):
        a = c12_c14_helpers.main_agent(rng, d)
        b = c12_c14_helpers.helper(rng, d, NewtonPolicy(a.geometry.H, a.geometry.b, 1.0))
        e = c12_c14_helpers.main_errors(a, b, 5 * rng.standard_normal(d), 3)
        assert np.linalg.norm(e[1]) <= 1e-12 * max(1.0, np.linalg.norm(a.w_star))


@pytest.mark.parametrize("shape", [(5, 3), (2, 3)])  # full rank and rank-deficient H
def test_relabelled_geometry_is_from_prompt_on_the_new_labels(shape):
    # the helper's turn reuses H and H^+; every field must be the definition's (what from_prompt computes), bit for bit
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal(shape), rng.standard_normal(shape[0])
    base = from_prompt(X, np.zeros(shape[0]), name="B")
    got = relabelled(base, y, np.linalg.pinv(base.H), name="B")
    H = X.T @ X / shape[0]  # the definitions, computed here
    b = X.T @ y / shape[0]
    want = {"H": H, "b": b, "w_star": np.linalg.pinv(H) @ b, "X": X, "y": y}
    for field, value in want.items():
        assert np.array_equal(getattr(got, field), value), field
        assert np.array_equal(getattr(from_prompt(X, y, name="B"), field), value), field
    with pytest.raises(InputError, match=r"B\.y.*one label per row of X \(5\), got 4"):
        relabelled(from_prompt(np.eye(5, 3), np.zeros(5)), np.ones(4), np.eye(3), name="B")
    with pytest.raises(InputError, match=r"B\.y"):
        relabelled(base, np.full(shape[0], np.nan), np.linalg.pinv(base.H), name="B")
    with pytest.raises(InputError, match=r"B\.y.*overflows"):
        relabelled(from_prompt(np.full((2, 3), 4.0), np.zeros(2)), np.full(2, 1e308), np.eye(3), name="B")
    with pytest.raises(InputError, match=r"B\.X.*without its prompt"):
        relabelled(from_geometry(np.eye(3), np.ones(3)), y, np.eye(3), name="B")


def test_relabelling_helper_turn_is_the_gd_agent_on_the_relabelled_prompt():
    # the turn as documented: GD agent built by from_prompt on (X_B, X_B w_B(t)), run on u
    rng = np.random.default_rng(8)
    X = rng.standard_normal((4, 3))
    H_A = X.T @ X / 4 + np.eye(3)
    helper = RelabellingHelper("B", X, 0.2 * np.eye(3), NewtonPolicy(H_A, np.ones(3), 0.7), steps=2)
    for u in rng.standard_normal((3, 3)):
        got = helper.respond(u)
        agent = GDAgent("B", from_prompt(X, X @ helper.targets[-1], name="B"), 0.2 * np.eye(3), 2)
        assert np.array_equal(got, agent.respond(u))
