"""``a2ad check``: claim statements as propositions evaluated on an instance.

The six statements that were false (issue 22) are regression tests here: each counterexample gives
exit 3 (the corrected hypothesis fails) or 0, never 1, and the test rebuilds the OLD predicate
(independently, in numpy) to show the old statement would have been contradicted on it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry, from_prompt
from numerics.io.errors import InputError
from numerics.lsa import agent as nlsa
from proofs_check.check import PROPOSITIONS
from proofs_check.check.run import check_config
from proofs_check.claims import all_claims
from proofs_check.statements import statements

ROOT = Path(__file__).resolve().parent.parent
I2 = np.eye(2)
# Float64 round-off of a 2 x 2 identity recomputed along another path.
ROUNDOFF = 1e-9


def _agent(name, H, target, Gamma, steps=1):
    return {"name": name, "geometry": np.asarray(H, float).tolist(), "target": list(map(float, target)),
            "preconditioner": np.asarray(Gamma, float).tolist(), "steps_per_turn": steps}


def _cfg(*agents, v0=None, protocol=None):
    raw = {"agents": list(agents)}
    if v0 is not None:
        raw["initial_message"] = list(map(float, v0))
    if protocol is not None:
        raw["protocol"] = protocol
    return raw


def _run(claim, raw, *items):
    return check_config(claim, raw, list(items))


def _piece(report, name):
    return next(p for p in report.hypotheses + report.conclusions if p["name"] == name)


def _rho(A):
    return float(max(abs(np.linalg.eigvals(A))))


def _gd(H, Gamma, target, steps=1):
    return GDAgent("X", from_geometry(H, target), np.asarray(Gamma, float), steps)


# --- the data: every verified claim is a proposition whose pieces are the typeset statement -----------

def test_every_verified_claim_is_checkable_with_the_statement_pieces():
    ids = [c.id for c in all_claims()]
    assert sorted(ids) == sorted(PROPOSITIONS)
    for cid, prop in PROPOSITIONS.items():
        st_ = statements.of(cid)
        assert st_.hypothesis_names == tuple(prop.hypotheses), cid
        assert st_.conclusion_names == tuple(prop.conclusions), cid
        for text in st_.conclusions:  # the typeset statement is made of the conclusions
            assert text in st_.statement, cid


# --- the six corrected statements -----------------------------------------------------------------------

def test_L1b_p_y_zero_is_affine_with_the_corrected_gamma_eff():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal(5)
    p = np.array([0.7, -0.3, 0.0])  # p_y = 0
    Q = rng.standard_normal((3, 3))  # q_yx = Q[2, :2] != 0
    raw = _cfg({"name": "A", "prompt": {"X": X.tolist(), "y": y.tolist()}, "preconditioner": 0.5},
               _agent("B", I2, [0, 0], 0.5))
    report = _run("L1b", raw, f"nu={json.dumps(p.tolist())}", f"Q={json.dumps(Q.tolist())}")
    assert report.exit_status == 0, report.as_dict()
    # The OLD statement: affine exactly when q_yx = 0, Gamma_eff = p_y Q_xx^T (= 0 here).
    W = nlsa.LSAWeights.from_pQ(p, Q)
    w, h = rng.standard_normal(2), rng.standard_normal(2)
    f = lambda v: nlsa.forward(W, X, y, v)  # noqa: E731
    assert np.any(Q[2, :2] != 0)  # old: "not affine"
    assert np.linalg.norm(f(w + h) + f(w - h) - 2 * f(w)) <= ROUNDOFF  # but it is affine
    g = from_prompt(X, y)
    old = w + 0.0 * Q[:2, :2].T @ (g.b - g.H @ w) + Q[:2, :2].T @ g.H @ p[:2]
    assert np.linalg.norm(f(w) - old) > 1e-3  # and the old Gamma_eff misses q_yx p_x^T


C16_INSTANCES = [
    ([[0.0095, 0.046], [0.046, 0.8882]], [[32.0392, 0.1797], [0.1797, 1.6285]], "e_B"),
    ([[11.448, -0.054], [-0.054, 0.002]], [[0.006, -0.034], [-0.034, 92.829]], "bound"),
]


@pytest.mark.parametrize("Gamma_B, H_B, what", C16_INSTANCES)
def test_C16_more_steps_need_not_shrink_the_plateau_or_the_bound(Gamma_B, H_B, what):
    Delta = np.array([0.3169, -0.8885])
    raw = _cfg(_agent("A", I2, [0, 0], 1.0), _agent("B", H_B, Delta, Gamma_B))
    report = _run("C16", raw, "s=[1,2,3,4]")
    assert report.exit_status in (0, 3), report.as_dict()
    # The OLD statement: more steps per turn shrink ||e_B|| (and the bound ||M_B^s|| ||Delta||).
    M = I2 - np.asarray(Gamma_B) @ np.asarray(H_B)
    Ms = [np.linalg.matrix_power(M, s) for s in (1, 2, 3, 4)]
    seq = [np.linalg.norm(P @ Delta) for P in Ms] if what == "e_B" else [np.linalg.norm(P, 2) for P in Ms]
    assert not all(a > b for a, b in zip(seq, seq[1:])), seq


# An SPD pair with rho(M_A) = 0.99, rho(M_B) = 0.98 and rho(M_A M_B) ~ 119 (issue 22).
C3_PAIR = dict(G_A=[[1.993193, 0.082221], [0.082221, 0.006807]], H_A=[[0.01, -0.120796], [-0.120796, 293.822442]],
               G_B=[[0.524499, 0.836324], [0.836324, 1.475501]], H_B=[[16.693535, -13.006656], [-13.006656, 10.165907]])


def test_C3_needs_the_rate_below_one_not_only_invertibility():
    c = C3_PAIR
    raw = _cfg(_agent("A", c["H_A"], [1, 0], c["G_A"]), _agent("B", c["H_B"], [0, 1], c["G_B"]))
    M_A, M_B = I2 - np.array(c["G_A"]) @ np.array(c["H_A"]), I2 - np.array(c["G_B"]) @ np.array(c["H_B"])
    assert _rho(M_A) < 1 and _rho(M_B) < 1 and _rho(M_A @ M_B) > 100
    report = _run("C3", raw)
    assert report.exit_status == 3 and _piece(report, "rate")["holds"] is False
    # OLD hypothesis (I - M_A M_B invertible) holds, and the plateau conclusion fails: a counterexample.
    assert np.linalg.svd(I2 - M_A @ M_B, compute_uv=False)[-1] > 1e-3
    assert _piece(report, "plateau")["holds"] is False
    # C6's corrected sentence: the pair rate is unbounded, e.g. this pair.
    assert _run("C6", raw).exit_status == 3


def test_C12_no_plateau_needs_the_damped_rate_below_one():
    raw = _cfg(_agent("A", np.diag([1.0, 0.5]), [1, -1], 2.6 * I2), _agent("B", [[1, 0.2], [0.2, 1]], [0, 1], 0.7))
    report = _run("C12", raw, "alpha=0.2")
    assert report.exit_status == 3 and _piece(report, "rate")["holds"] is False
    # OLD hypotheses: K_B invertible, H_A invertible, alpha in (0, 2): all hold; "no plateau" fails.
    for name in ("K_B_invertible", "H_A_invertible", "alpha_range"):
        assert _piece(report, name)["holds"] is True
    assert _piece(report, "no_plateau")["holds"] is False
    # With a damping inside the corrected hypothesis it holds.
    assert _run("C12", raw, "alpha=1").exit_status == 0


def test_C1_divergence_is_about_the_unstable_subspace_of_M_B_M_A():
    H_A, G_B, H_B = np.diag([0.0, 1.0]), [[1, 0.9], [0.9, 1]], [[0.8, -2], [-2, 6]]
    A, B = _gd(H_A, I2, [0, 1]), _gd(H_B, G_B, [1, 0])
    J_v = B.M @ A.M
    v_star = np.linalg.solve(I2 - J_v, B.M @ A.c + B.c)
    u_star = A.respond(v_star)
    v0 = v_star + np.array([0.0, 1.0])
    raw = _cfg(_agent("A", H_A, [0, 1], I2), _agent("B", H_B, [1, 0], G_B), v0=v0)
    report = _run("C1", raw)
    assert report.exit_status == 3 and _piece(report, "component")["holds"] is False
    # OLD predicate: v_0 - v* has a component on the unstable subspace of M_A M_B ...
    lam, V = np.linalg.eig(A.M @ B.M)
    coef = np.linalg.solve(V, v0 - v_star)
    assert _rho(A.M @ B.M) > 1 and np.any(np.abs(coef[np.abs(lam) > 1]) > 0.1)
    # ... yet u_t = u* for every t: the old sentence's divergence does not happen.
    v = v0
    for _ in range(50):
        u = A.respond(v)
        assert np.linalg.norm(u - u_star) <= ROUNDOFF
        v = B.respond(u)


def _anchored(omega):
    raw = json.loads((ROOT / "examples" / "protocol_anchored.json").read_text())
    raw["protocol"] = {"rounds": [{"A": {"A": omega, "B": 1 - omega}}, {"B": {"A": 1.0}}]}
    return raw


@pytest.mark.parametrize("omega", [0.0, 0.3, 0.9])
def test_anchored_plateau_without_the_removable_singularity(omega):
    from numerics.protocol import config
    from numerics.protocol.engine import evaluate_float
    from numerics.protocol.evaluate import stacked_finite

    raw = _anchored(omega)
    system = config.parse(raw)
    M, c = stacked_finite(system)
    _, z = evaluate_float(M, c, system.protocol)
    A, B = system.agents
    Q1 = np.linalg.inv(I2 - omega * A.M)
    Q2 = np.linalg.inv(I2 - (1 - omega) * B.M @ Q1 @ A.M)
    e_A = (1 - omega) * A.M @ Q1 @ Q2 @ B.K @ (B.w_star - A.w_star)
    assert np.linalg.norm(z[0] - A.w_star - e_A) <= ROUNDOFF
    assert _run("P4", raw).exit_status == 0


# --- the command ---------------------------------------------------------------------------------------

def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "proofs_check.cli", "check", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_json_exit_statuses_and_help(tmp_path):
    out = _cli("C3", str(ROOT / "examples" / "two_agents.json"), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["claim"] == "C3" and doc["applies"] and doc["holds"]
    for piece in doc["hypotheses"] + doc["conclusions"]:
        assert {"name", "statement", "holds", "value"} <= set(piece)
    bad = _cli("C12", str(ROOT / "examples" / "two_agents.json"), "--param", "alpha=__import__('os')")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    unknown = _cli("C12", str(ROOT / "examples" / "two_agents.json"), "--param", "beta=1")
    assert unknown.returncode == 2 and "beta" in unknown.stderr
    shape = _cli("C3", str(ROOT / "examples" / "protocol_simultaneous.json"))
    assert shape.returncode == 3 and "round robin" in shape.stdout
    helped = _cli("C12", "--help")
    assert helped.returncode == 0 and "alpha" in helped.stdout and "no_plateau" in helped.stdout


def test_bad_param_sizes_are_input_errors():
    raw = json.loads((ROOT / "examples" / "two_agents.json").read_text())
    with pytest.raises(InputError, match="Hhat"):
        _run("C13", raw, "Hhat=[[1]]")
    with pytest.raises(InputError, match="s"):
        _run("C16", raw, "s=[0]")


# --- the power of the check: a wrong conclusion is a counterexample (exit 1) ----------------------------

def test_a_planted_wrong_conclusion_gives_exit_1(monkeypatch):
    from proofs_check.check import claims_pair, pair

    raw = json.loads((ROOT / "examples" / "two_agents.json").read_text())
    real = pair.fixed_points
    monkeypatch.setattr(claims_pair, "fixed_points", lambda P: tuple(-x for x in real(P)))  # flipped sign
    assert _run("C2", raw).exit_status == 1
    monkeypatch.setattr(claims_pair, "fixed_points", lambda P: tuple(x * np.nan for x in real(P)))  # NaN
    assert _run("C2", raw).exit_status == 1


# --- fuzz: random instances inside the hypotheses never give exit 1 ------------------------------------

def _spd(draw):
    L = draw(hnp.arrays(float, (2, 2), elements=st.floats(-1.5, 1.5)))
    return L @ L.T + 0.05 * I2


@st.composite
def pairs(draw):
    H_A, H_B, G_A, G_B = (_spd(draw) for _ in range(4))
    w = draw(hnp.arrays(float, (2, 2), elements=st.floats(-3, 3)))
    G_A, G_B = G_A / max(1.0, _rho(G_A @ H_A)), G_B / max(1.0, _rho(G_B @ H_B))  # steps that do not overshoot
    return _cfg(_agent("A", H_A, w[0], G_A), _agent("B", H_B, w[1], G_B))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs(), st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C12", "C13", "C14",
                                 "C14b", "C15", "C16", "C17", "C18", "P1", "L1", "L1b"]))
def test_random_pairs_are_never_counterexamples(raw, claim):
    assert _run(claim, raw).exit_status in (0, 3)


def test_docs_list_every_claim_and_parameter():
    page = (ROOT / "docs" / "check.rst").read_text()
    for cid, prop in PROPOSITIONS.items():
        assert f"   * - {cid}\n" in page, cid
        for name in list(prop.params) + list(prop.hypotheses) + list(prop.conclusions):
            assert f"``{name}``" in page, (cid, name)


def test_the_C12_counterexample_through_the_command(tmp_path):
    raw = _cfg(_agent("A", np.diag([1.0, 0.5]), [1, -1], 2.6 * I2), _agent("B", [[1, 0.2], [0.2, 1]], [0, 1], 0.7))
    path = tmp_path / "c12.json"
    path.write_text(json.dumps(raw))
    out = _cli("C12", str(path), "--param", "alpha=0.2", "--json")
    assert out.returncode == 3, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert not doc["applies"] and doc["holds"] is None
    assert [h["holds"] for h in doc["hypotheses"] if h["name"] == "rate"] == [False]


def test_c17_round_off_scales_with_the_rounds_amplification():
    """VF's instance (Gamma H = 1027 for B and C, C with 2 steps): one real round amplifies round-off by
    ~1e9, and u_i* came back 1.2e-7 off relatively; C17's fixed-point bar is the round's round-off
    (ROUND_ROUNDOFF K prod_i (1 + ||Gamma_i|| ||H_i||)^s_i), not a flat 1e-7, so it is no counterexample.
    The bar stays far below the O(1) error of a wrong fixed point."""
    from proofs_check.check.run import check_config
    g = 1027.284681130835
    raw = {"schema_version": 1, "initial_message": [0.0], "agents": [
        {"name": "A", "geometry": [[0.0009734399999999999]], "target": [0.0], "preconditioner": [[g]]},
        {"name": "B", "geometry": [[1.0]], "target": [1.0], "preconditioner": [[g]]},
        {"name": "C", "geometry": [[1.0]], "target": [0.0], "preconditioner": [[g]], "steps_per_turn": 2}]}
    assert check_config("C17", raw, []).exit_status == 0
    report = check_config("C17", raw, [])
    fixed = {c["name"]: c for c in report.conclusions}["fixed_point"]
    bar = float(fixed["value"].rsplit("tolerance ", 1)[1].rstrip(")"))
    assert 1e-7 < bar < 1e-3, fixed  # the round's round-off, far below an O(1) wrong fixed point


def _settle_by_spectral_norm(J, tol, limit):
    """The definition of rounds_to_settle: the first T with ||J^T||_2 <= tol (None if rho(J) >= 1 or past limit)."""
    if np.max(np.abs(np.linalg.eigvals(J))) >= 1:
        return None
    P = np.eye(len(J))
    for t in range(1, limit + 1):
        P = P @ J
        if np.linalg.norm(P, 2) <= tol:
            return t
    return None


def test_rounds_to_settle_is_the_first_round_under_the_spectral_norm_bar():
    # the Frobenius screen must never change the first T: random, non-normal (large transient) and slow maps
    from proofs_check.check.pair import rounds_to_settle

    rng = np.random.default_rng(11)
    for k in range(120):
        d = int(rng.integers(1, 6))
        J = rng.standard_normal((d, d))
        J *= rng.uniform(0.05, 0.995) / np.max(np.abs(np.linalg.eigvals(J)))
        if k % 2:  # a strictly upper-triangular push keeps the spectrum, adds a transient
            J = np.triu(J) + np.triu(rng.standard_normal((d, d)) * 30.0, 1)
            J[np.diag_indices(d)] = np.clip(np.diag(J), -0.99, 0.99)
        assert rounds_to_settle(J, 1e-9, 5000) == _settle_by_spectral_norm(J, 1e-9, 5000), J
    # tol where ||J^T||_F > tol >= ||J^T||_2: d = 2, J = 0.5 I, ||J^T||_2 = 0.5^T, ||J^T||_F = sqrt(2) 0.5^T
    assert rounds_to_settle(0.5 * np.eye(2), 0.5 ** 10, 100) == 10
