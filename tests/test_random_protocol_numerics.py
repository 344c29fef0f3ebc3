"""Random protocols (issue 26), the numerics: moments, predict, simulate, validation.

Every check is against a reference written here and independent of the code under test:

* the affine round maps ``(Phi_k, psi_k)`` and the per-round noise covariance ``N_k`` are read off the
  *simulator* (the agents' own ``respond``, perturbed one coordinate at a time), never from
  ``evaluate.round_map`` or ``noise_injection``;
* the moments then come from the *uncentred* Markov-jump equations in *column-major* ``vec`` with one
  dense Kronecker solve for both kinds of law (independent draws as a chain whose rows are all ``p``),
  and the stationary law from an eigenvector of ``P^T``;
* a brute-force enumeration of every schedule of length L (exact finite-horizon moments);
* Monte Carlo over many runs (bars from the sampling error, stated at each use).
"""
from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry
from numerics.io.errors import InputError
from numerics.protocol import (
    config,
    engine,
    evaluate,
    prediction,
    random_moments,
    random_protocols,
    random_simulate,
    random_spec,
)
from proofs_check.cli import main as cli
from tests.test_sweep_spec import cli_error  # one line on stderr, exit 2, no traceback

# Rates and means vs the reference: float64 rounding through a (K d)^2 n_alt dense solve (issue bar).
RATE_TOL = 1e-8
MEAN_TOL = 1e-8
# Covariances vs the reference (issue bar; relative max|a - b| / max(1, max|b|)).
COV_TOL = 1e-7
# Replaying a schedule: the same respond calls in the same order (issue bar 1e-9; equality expected).
REPLAY_TOL = 1e-9
# A covariance that is zero in exact arithmetic: float64 rounding of messages of size ~1.
ZERO_COV_TOL = 1e-14


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


# ------------------------------------------------------------------ the independent reference

class _Scripted:
    """A stand-in noise generator: returns the scripted vectors in call order (zeros after)."""

    def __init__(self, vectors):
        self.vectors = list(vectors)

    def standard_normal(self, d):
        return self.vectors.pop(0) if self.vectors else np.zeros(d)


def _one_round(system, rp, k, z0, noise_vectors=None):
    rp1 = dataclasses.replace(rp, initial=np.asarray(z0, dtype=float))
    if noise_vectors is None:
        return random_simulate.run_random(system.agents, rp1, 1, np.array([k]))[1].ravel()
    eye = [np.eye(system.d)] * rp.K  # factor I: the scripted vector is added as it is
    return random_simulate.run_random(system.agents, rp1, 1, np.array([k]), _Scripted(noise_vectors), eye)[1].ravel()


def simulated_maps(system, rp):
    """``Phi_k``, ``psi_k`` and ``N_k`` of every alternative from one-round simulations."""
    K, d = rp.K, system.d
    n = K * d
    S = [np.zeros((d, d)) if s is None else s for s in (system.noise or [None] * K)]
    Phis, psis, Ns = [], [], []
    for k, alt in enumerate(rp.alternatives):
        psi = _one_round(system, rp, k, np.zeros((K, d)))
        Phi = np.stack([_one_round(system, rp, k, np.eye(n)[j].reshape(K, d)) - psi for j in range(n)], axis=1)
        slots = [i for phase in alt.phases for i, _ in phase]  # who writes, in call order
        N = np.zeros((n, n))
        for s, i in enumerate(slots):
            G = np.stack([_one_round(system, rp, k, np.zeros((K, d)),
                                     [np.zeros(d)] * s + [np.eye(d)[a]]) - psi for a in range(d)], axis=1)
            N += G @ S[i] @ G.T
        Phis.append(Phi)
        psis.append(psi)
        Ns.append(N)
    return np.array(Phis), np.array(psis), np.array(Ns)


def reference(system, rp):
    """(mean_rate, ms_rate, mean (K,d), covariance (Kd,Kd)) by the uncentred Markov-jump equations."""
    Phi, psi, N = simulated_maps(system, rp)
    m, n = rp.n_alt, Phi.shape[-1]
    P = rp.P
    w, V = np.linalg.eig(P.T)
    pi = np.real(V[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    A1 = np.zeros((m * n, m * n))
    A2 = np.zeros((m * n * n, m * n * n))
    for l, j in itertools.product(range(m), range(m)):
        A1[l * n:(l + 1) * n, j * n:(j + 1) * n] = P[j, l] * Phi[j]
        A2[l * n * n:(l + 1) * n * n, j * n * n:(j + 1) * n * n] = P[j, l] * np.kron(Phi[j], Phi[j])
    mean_rate = max(abs(np.linalg.eigvals(A1)))
    ms_rate = np.sqrt(max(abs(np.linalg.eigvals(A2))))
    b = np.concatenate([sum(P[j, l] * pi[j] * psi[j] for j in range(m)) for l in range(m)])
    q = np.linalg.solve(np.eye(m * n) - A1, b).reshape(m, n)
    mu = q.sum(axis=0)
    C = []
    for l in range(m):
        Cl = sum(P[j, l] * (np.outer(Phi[j] @ q[j], psi[j]) + np.outer(psi[j], Phi[j] @ q[j])
                            + pi[j] * (np.outer(psi[j], psi[j]) + N[j])) for j in range(m))
        C.append(Cl.ravel(order="F"))
    Q = np.linalg.solve(np.eye(m * n * n) - A2, np.concatenate(C)).reshape(m, n * n)
    second = sum(Q[l].reshape(n, n, order="F") for l in range(m))
    return mean_rate, ms_rate, mu.reshape(-1, system.d), second - np.outer(mu, mu)


# ------------------------------------------------------------------ random instances

def random_instance(seed: int, markov: bool, noisy: bool, max_rate: float = 0.95):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        K, d, n_alt = int(rng.integers(2, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 5))
        names = [chr(ord("A") + k) for k in range(K)]
        alts = [{"rounds": random_protocols.rounds(rng, names, max_phases=3)} for _ in range(n_alt)]
        if n_alt > 1 and rng.uniform() < 0.5:
            alts[int(rng.integers(n_alt))]["rounds"] = []  # a round in which nobody speaks
        if markov:
            labels = [f"alt{k}" for k in range(n_alt)]
            for k, a in enumerate(alts):
                row = rng.dirichlet(np.ones(n_alt)) * (rng.uniform(size=n_alt) < 0.7)
                row = row / row.sum() if row.sum() > 0 else np.eye(n_alt)[(k + 1) % n_alt]
                a.update(name=labels[k], next={labels[l]: float(x) for l, x in enumerate(row) if x > 0})
        else:
            p = rng.dirichlet(np.ones(n_alt))
            for k, a in enumerate(alts):
                a["probability"] = float(p[k])
        try:
            rp = random_spec.parse({"random": alts}, names, d, rng.standard_normal(d))
        except InputError:
            continue  # a reducible or periodic chain, or an agent that never speaks: draw again
        agents = random_protocols.agents(rng, names, d, max_steps=2)
        noise = tuple(random_spec_noise(rng, d) if noisy and rng.uniform() < 0.7 else None for _ in names)
        system = config.System(agents, rp.initial[0], None, rp, noise)
        ref = reference(system, rp)
        if ref[1] < max_rate:
            return system, rp, ref
    raise RuntimeError("no contracting random instance")


def random_spec_noise(rng, d):
    B = rng.standard_normal((d, d)) * 0.3
    return B @ B.T


CASES = [(seed, markov, noisy) for seed in range(6) for markov in (False, True) for noisy in (False, True)]


@pytest.mark.parametrize("seed, markov, noisy", CASES)
def test_moments_match_reference(seed, markov, noisy):
    system, rp, (mean_rate, ms_rate, mu, cov) = random_instance(seed, markov, noisy)
    M, c = evaluate.stacked_finite(system)
    mom = random_moments.moments(M, c, rp, system.noise_stack())
    assert abs(mom.mean_rate - mean_rate) <= RATE_TOL
    assert abs(mom.contraction_rate - ms_rate) <= RATE_TOL
    assert mom.converges and mom.mean_converges
    assert rel(mom.mean, mu) <= MEAN_TOL
    assert rel(mom.joint_covariance, cov) <= COV_TOL
    d = system.d
    assert rel(mom.covariance, np.stack([cov[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(rp.K)])) <= COV_TOL


@pytest.mark.parametrize("seed, markov", [(1, False), (2, True), (4, True)])
def test_iterative_paths_match_reference(monkeypatch, seed, markov):
    """ARPACK for the rates and GMRES for the covariance (used beyond the dense sizes) on small cases."""
    system, rp, (mean_rate, ms_rate, mu, cov) = random_instance(seed, markov, True)
    monkeypatch.setattr(random_moments, "DENSE_MAX_UNKNOWNS", 0)
    monkeypatch.setattr(random_moments, "DENSE_EIG_MAX", 0)
    M, c = evaluate.stacked_finite(system)
    mom = random_moments.moments(M, c, rp, system.noise_stack())
    assert mom.solver == "gmres"
    if rp.n_alt * (rp.K * system.d) ** 2 > 2:  # ARPACK needs an operator of size >= 3
        assert abs(mom.contraction_rate - ms_rate) <= RATE_TOL
    assert rel(mom.mean, mu) <= MEAN_TOL
    assert rel(mom.joint_covariance, cov) <= COV_TOL


def _gd(name, H, target, gamma=0.5):
    H = np.atleast_2d(np.asarray(H, dtype=float))
    return GDAgent(name, from_geometry(H, np.asarray(target, dtype=float), name=name), gamma * np.eye(len(H)))


def test_brute_force_enumeration_of_schedules():
    """Every schedule of length L = 16 with its probability, run through the simulator's own maps: the
    exact moments at round L. They differ from the stationary ones by about mean_rate^L (the transient of
    the mean, which also enters the covariance through mu_L mu_L^T) and ms_rate^2L; the bar is 10 times
    that, checked to be below 1e-7 here."""
    agents = (_gd("A", [[1.0, 0.2], [0.2, 1.2]], [1.0, 0.0], 0.9), _gd("B", [[1.1, 0.0], [0.0, 0.9]], [0.0, 1.0], 0.9),
              _gd("C", [[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0], 0.8))
    raw = {"random": [
        {"name": "x", "rounds": [{"A": {"B": 1.0}}, {"C": {"A": 0.5, "B": 0.5}, "B": {"C": 1.0}}],
         "next": {"x": 0.2, "y": 0.8}},
        {"name": "y", "rounds": [{"B": {"C": 1.0}, "C": {"B": 0.3, "A": 0.7}}, {"A": {"C": 1.0}}],
         "next": {"x": 0.6, "y": 0.4}}]}
    rp = random_spec.parse(raw, ["A", "B", "C"], 2, [0.0, 0.0])
    system = config.System(agents, np.zeros(2), None, rp, (None,) * 3)
    Phi, psi, _ = simulated_maps(system, rp)
    L = 16
    # all 2^L schedules at once: states (2^t, n), probabilities and last alternative per branch
    z = np.stack([Phi[k] @ rp.initial.ravel() + psi[k] for k in range(2)])
    prob, last = rp.initial_law.copy(), np.arange(2)
    for _ in range(L - 1):
        z = np.concatenate([z @ Phi[k].T + psi[k] for k in range(2)])
        prob = np.concatenate([prob * rp.P[last, k] for k in range(2)])
        last = np.concatenate([np.full(last.size, k) for k in range(2)])
    assert z.shape[0] == 2 ** L and abs(prob.sum() - 1) < 1e-12
    mean = prob @ z
    cov = (z - mean).T @ ((z - mean) * prob[:, None])
    M, c = evaluate.stacked_finite(system)
    mom = random_moments.moments(M, c, rp)
    bound = 10 * (mom.mean_rate ** L + mom.contraction_rate ** (2 * L))
    assert bound < 1e-7, (mom.mean_rate, mom.contraction_rate)
    assert rel(mom.mean.ravel(), mean) <= bound
    assert rel(mom.joint_covariance, cov) <= bound
    # the covariance is not trivially zero here: who hears whom differs between x and y
    assert np.max(np.abs(mom.joint_covariance)) > 1e-4


# ------------------------------------------------------------------ the documented cases

def _two_agents(extra=None, noise_a=None):
    raw = {"schema_version": 1, "agents": [
        {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
        {"name": "B", "geometry": [[0.8, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5}]}
    if noise_a is not None:
        raw["agents"][0]["noise"] = noise_a
    if extra is not None:
        raw["protocol"] = extra
    return raw


@pytest.mark.parametrize("rounds", [[{"A": {"B": 1.0}}, {"B": {"A": 0.7, "B": 0.3}}],
                                    [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]])  # the round robin: C1, C2, C15 path
@pytest.mark.parametrize("noise", [None, 0.04, [[0.02, 0.01], [0.01, 0.03]]])
def test_one_alternative_is_the_deterministic_protocol(noise, rounds):
    det = prediction.predict(config.parse(_two_agents({"rounds": rounds}, noise)))
    rnd = prediction.predict(config.parse(_two_agents({"random": [{"probability": 1.0, "rounds": rounds}]}, noise)))
    assert abs(rnd["contraction_rate"] - det["contraction_rate"]) <= RATE_TOL
    assert abs(rnd["mean_rate"] - det["contraction_rate"]) <= RATE_TOL
    for name in ("A", "B"):
        assert rel(rnd["agents"][name]["fixed_point"], det["agents"][name]["fixed_point"]) <= MEAN_TOL
        if noise is None:
            assert "covariance" not in det["agents"][name]
            assert np.max(np.abs(rnd["agents"][name]["covariance"])) <= ZERO_COV_TOL
        else:  # the deterministic noisy path (joint Lyapunov equation) and the random one agree
            assert rel(rnd["agents"][name]["covariance"], det["agents"][name]["covariance"]) <= COV_TOL
            assert np.max(np.abs(det["agents"][name]["covariance"])) > 1e-3


def _three(protocol):
    return {"schema_version": 1, "agents": [
        {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.5},
        {"name": "B", "geometry": [[0.8, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5},
        {"name": "C", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 1.0], "preconditioner": 0.5}],
        "protocol": protocol}


AVERAGE = {"A": {"B": 0.5, "C": 0.5}, "B": {"A": 0.5, "C": 0.5}, "C": {"A": 0.5, "B": 0.5}}


@pytest.mark.parametrize("p", [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [1 / 3, 1 / 3, 1 / 3]])
def test_schedule_invariance_random_speaker_hearing_the_same_average(p):
    """A random speaker who always hears the same weighted average: the mean is the deterministic fixed
    point (all speak at once, same weights), whatever the probabilities, and the spread is zero."""
    det = prediction.predict(config.parse(_three({"rounds": [AVERAGE]})))
    raw = {"random": [{"probability": p[k], "rounds": [{n: AVERAGE[n]}]} for k, n in enumerate("ABC")]}
    doc = prediction.predict(config.parse(_three(raw)))
    assert doc["converges"]
    for n in "ABC":
        assert rel(doc["agents"][n]["fixed_point"], det["agents"][n]["fixed_point"]) <= MEAN_TOL
        assert np.max(np.abs(doc["agents"][n]["covariance"])) <= ZERO_COV_TOL
    # only the rate changes: one speaker per round is slower than all at once
    assert doc["contraction_rate"] > det["contraction_rate"]


def test_gossip_pairs_create_spread_without_noise():
    """Random gossip pairs (who hears whom changes): nonzero covariance for noiseless agents, as large as
    the reference says."""
    raw = {"random": [
        {"probability": 0.5, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]},
        {"probability": 0.3, "rounds": [{"B": {"C": 1.0}, "C": {"B": 1.0}}]},
        {"probability": 0.2, "rounds": [{"C": {"A": 1.0}, "A": {"C": 1.0}}]}]}
    system = config.parse(_three(raw))
    doc = prediction.predict(system)
    _, ms, mu, cov = reference(system, system.random)
    assert abs(doc["contraction_rate"] - ms) <= RATE_TOL
    for i, n in enumerate("ABC"):
        entry = doc["agents"][n]
        assert rel(entry["fixed_point"], mu[i]) <= MEAN_TOL
        assert rel(entry["covariance"], cov[2 * i:2 * i + 2, 2 * i:2 * i + 2]) <= COV_TOL
        assert np.trace(entry["covariance"]) > 1e-3


def test_mean_converges_while_second_moment_does_not():
    """Phi_0 = diag(1.9, 0.5) w.p. 1/2, Phi_1 = diag(0, 0.5): mean rate 0.95, ms rate sqrt(3.61/2) = 1.3435."""
    raw = {"schema_version": 1, "agents": [
        {"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
        {"name": "B", "geometry": [[1.0]], "target": [2.0], "preconditioner": 0.5}],
        "protocol": {"random": [
            {"probability": 0.5, "rounds": [{"A": {"A": 3.8}, "B": {"B": 1.0}}]},
            {"probability": 0.5, "rounds": [{"A": {"B": 0.0}, "B": {"B": 1.0}}]}]}}
    doc = prediction.predict(config.parse(raw))
    assert abs(doc["mean_rate"] - 0.95) <= RATE_TOL
    assert abs(doc["contraction_rate"] - np.sqrt(0.5 * 1.9 ** 2)) <= RATE_TOL
    assert doc["converges"] is False
    assert "the mean still converges" in doc["reason"]
    assert all(doc["agents"][n][k] is None for n in "AB" for k in ("fixed_point", "residual", "covariance"))
    raw["protocol"]["random"][0]["rounds"][0]["A"]["A"] = 4.2  # Phi_0 = 2.1: the mean diverges too
    doc = prediction.predict(config.parse(raw))
    assert doc["mean_rate"] > 1 and "does not converge either" in doc["reason"]


# ------------------------------------------------------------------ simulation

def _write(tmp_path, raw, name="c.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return str(path)


MARKOV = {"random": [
    {"name": "A speaks", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"B speaks": 0.7, "C speaks": 0.3}},
    {"name": "B speaks", "rounds": [{"B": {"A": 0.5, "C": 0.5}}], "next": {"A speaks": 0.5, "C speaks": 0.5}},
    {"name": "C speaks", "rounds": [{"C": {"A": 0.7, "B": 0.3}}], "next": {"A speaks": 0.9, "B speaks": 0.1}}]}


@pytest.mark.parametrize("noisy", [False, True])
def test_simulate_replays_its_schedule(tmp_path, capsys, noisy):
    raw = _three(MARKOV)
    if noisy:
        raw["agents"][1]["noise"] = 0.01
    path = _write(tmp_path, raw)
    assert cli.main(["simulate", path, "--turns", "40", "--seed", "7"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["seed"] == 7 and len(first["schedule"]) == 40
    replay = ["--schedule", json.dumps(first["schedule"])]
    assert cli.main(["simulate", path, "--turns", "40", "--seed", "7", *replay]) == 0
    again = json.loads(capsys.readouterr().out)
    system = config.parse(raw)
    rng = np.random.default_rng(7)
    sched = random_simulate.draw_schedule(system.random, 40, rng)
    assert sched.tolist() == first["schedule"]
    direct = random_simulate.run_random(system.agents, system.random, 40, sched, rng, system.noise)
    for i, n in enumerate("ABC"):
        assert rel(again["agents"][n]["messages"], first["agents"][n]["messages"]) <= REPLAY_TOL
        assert rel(first["agents"][n]["messages"], direct[1:, i]) <= REPLAY_TOL
    if noisy:  # another seed draws other noise along the same schedule
        assert cli.main(["simulate", path, "--turns", "40", "--seed", "8", "--schedule",
                         json.dumps(first["schedule"])]) == 0
        other = json.loads(capsys.readouterr().out)
        assert rel(other["agents"]["B"]["messages"], first["agents"]["B"]["messages"]) > 1e-4


def test_run_random_phase_semantics():
    """Alternative 1 is one phase where A and B both speak: they read the messages as they stood at the
    start of the phase (A's new message uses B's old one and vice versa); an empty alternative keeps all."""
    A, B = _gd("A", [[1.0]], [1.0]), _gd("B", [[1.0]], [3.0])
    raw = {"random": [{"probability": 0.5, "rounds": []},
                      {"probability": 0.5, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}],
           "initial_messages": {"A": [10.0], "B": [20.0]}}
    rp = random_spec.parse(raw, ["A", "B"], 1, [0.0])
    out = random_simulate.run_random((A, B), rp, 2, np.array([0, 1]))
    assert out[:, :, 0].tolist() == [[10.0, 20.0], [10.0, 20.0], [0.5 * 20 + 0.5, 0.5 * 10 + 1.5]]


@pytest.mark.parametrize("seed, markov", [(0, True), (0, False)])
def test_monte_carlo_equals_run_random_on_its_schedules(seed, markov):
    """Matrix preconditioners (Gamma H not symmetric), 1-2 GD steps, empty alternatives: the batched runs
    are the agents' own runs along the schedules monte_carlo drew."""
    system, rp, _ = random_instance(seed, markov, False)
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    assert np.max(np.abs(G[0] @ H[0] - (G[0] @ H[0]).T)) > 1e-3
    steps = [a.steps for a in system.agents]
    z = random_simulate.monte_carlo(G, H, b, steps, rp, 25, 5, seed=3)
    sched = random_simulate.draw_schedule(rp, 25, np.random.default_rng(3), runs=5)
    for r in range(5):
        assert rel(z[r], random_simulate.run_random(system.agents, rp, 25, sched[r])[-1]) <= REPLAY_TOL


def test_monte_carlo_agrees_with_the_moments():
    """20000 runs of 60 rounds (transient ~0.82^60 < 1e-5): the sample mean within 5 standard errors of
    the stationary mean and each covariance entry within 5 standard errors of its estimate (the entry's
    variance from the fourth moments, estimated as var((x - m)(y - m)))."""
    raw = _three({"random": [
        {"probability": 0.5, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]},
        {"probability": 0.3, "rounds": [{"B": {"C": 1.0}, "C": {"B": 1.0}}]},
        {"probability": 0.2, "rounds": [{"C": {"A": 1.0}, "A": {"C": 1.0}}]}]})
    raw["agents"][0]["noise"] = 0.02
    system = config.parse(raw)
    M, c = evaluate.stacked_finite(system)
    mom = random_moments.moments(M, c, system.random, system.noise_stack())
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    n = 20000
    z = random_simulate.monte_carlo(G, H, b, [1, 1, 1], system.random, 60, n, seed=11,
                                    noise=system.noise_stack()).reshape(n, -1)
    se = z.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(z.mean(axis=0) - mom.mean.ravel()) <= 5 * se)
    zc = z - z.mean(axis=0)
    prods = zc[:, :, None] * zc[:, None, :]
    cov_se = prods.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(axis=0) - mom.joint_covariance) <= 5 * cov_se + 1e-12)


# Chi-square bounds: with a fixed seed, the statistic of an honest sampler exceeds the 1e-6 upper
# quantile with probability 1e-6; a sampler off by 1% in one cell at 2e5 draws exceeds it by far.
CHI2_P = 1e-6


def _chi2_bound(df):
    from scipy.stats import chi2
    return chi2.ppf(1 - CHI2_P, df)


def test_long_runs_draw_with_their_laws():
    rp = config.parse(_three({"random": [
        {"probability": 0.5, "rounds": [AVERAGE]}, {"probability": 0.2, "rounds": []},
        {"probability": 0.3, "rounds": [{"A": {"B": 1.0}}]}, {"probability": 0.0, "rounds": []}]})).random
    T = 200_000
    s = random_simulate.draw_schedule(rp, T, np.random.default_rng(0))
    counts = np.bincount(s, minlength=4)
    assert counts[3] == 0  # probability 0: never drawn
    expected = T * rp.P[0, :3]
    assert np.sum((counts[:3] - expected) ** 2 / expected) <= _chi2_bound(2)
    mk = config.parse(_three(MARKOV)).random
    s = random_simulate.draw_schedule(mk, T, np.random.default_rng(1))
    # one chain (plain Python per round) and two at once (numpy over runs: fewer runs than alternatives)
    for runs in (s[None], random_simulate.draw_schedule(mk, T // 2, np.random.default_rng(2), runs=2)):
        trans = np.zeros((3, 3))
        for r in runs:
            np.add.at(trans, (r[:-1], r[1:]), 1)
        assert np.all(trans[np.diag_indices(3)] == 0)  # P has a zero diagonal
        stat, df = 0.0, 0
        for j in range(3):
            nz = mk.P[j] > 0
            e = trans[j].sum() * mk.P[j, nz]
            stat += np.sum((trans[j, nz] - e) ** 2 / e)
            df += int(nz.sum()) - 1
        assert stat <= _chi2_bound(df)
    freq = np.bincount(s, minlength=3) / T
    assert np.max(np.abs(freq - mk.stationary())) < 0.01  # ~5 sigma for a chain mixing in a few steps


def test_initial_law_of_a_chain():
    raw = dict(MARKOV, initial={"B speaks": 1.0})
    rp = config.parse(_three(raw)).random
    firsts = random_simulate.draw_schedule(rp, 1, np.random.default_rng(0), runs=50)[:, 0]
    assert set(firsts.tolist()) == {1}


# ------------------------------------------------------------------ validation through the CLI

def _alts(*ps):
    return [{"probability": p, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]} for p in ps]


def _chain(rows, names=("x", "y")):
    return [{"name": n, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}], "next": row} for n, row in zip(names, rows)]


BAD = [
    ("negative probability", {"random": _alts(-0.1, 1.1)}, None, "protocol.random[0].probability"),
    ("sum not 1", {"random": _alts(0.5, 0.4)}, None, "protocol.random probability"),
    ("17 alternatives", {"random": _alts(*([1 / 17] * 17))}, None, "protocol.random"),
    ("both rounds and random", {"random": _alts(1.0), "rounds": [{"A": {"B": 1.0}}]}, None, "protocol"),
    ("unknown protocol key", {"random": _alts(1.0), "rate": 2}, None, "protocol key"),
    ("unknown alternative key", {"random": [dict(_alts(1.0)[0], weight=1)]}, None, "protocol.random[0] key"),
    ("missing probability", {"random": [{"rounds": []}, *_alts(1.0)]}, None, "protocol.random[0].probability"),
    ("not a list", {"random": {"p": 1}}, None, "protocol.random"),
    ("empty list", {"random": []}, None, "protocol.random"),
    ("probability not a number", {"random": _alts("1")}, None, "protocol.random[0].probability"),
    ("initial for independent draws", {"random": _alts(1.0), "initial": {"0": 1.0}}, None, "protocol.initial"),
    ("agent only in a p=0 alternative",
     {"random": [{"probability": 1.0, "rounds": [{"A": {"B": 1.0}}]},
                 {"probability": 0.0, "rounds": [{"B": {"A": 1.0}}]}]}, None, "protocol agent"),
    ("unknown agent in an alternative", {"random": [{"probability": 1.0, "rounds": [{"Z": {"B": 1.0}}]}]}, None,
     "protocol.random[0].rounds[0] agent"),
    ("duplicate names", {"random": _chain([{"x": 1.0}, {"x": 1.0}], ("x", "x"))}, None, "protocol.random[1].name"),
    ("next names an unknown alternative", {"random": _chain([{"z": 1.0}, {"x": 1.0}])}, None,
     "protocol.random[0].next alternative"),
    ("next row sums to 0.9", {"random": _chain([{"x": 0.5, "y": 0.4}, {"x": 1.0}])}, None, "protocol.random[0].next"),
    ("reducible chain", {"random": _chain([{"x": 1.0}, {"x": 0.5, "y": 0.5}])}, None, "protocol.random next"),
    ("periodic chain", {"random": _chain([{"y": 1.0}, {"x": 1.0}])}, None, "protocol.random next"),
    ("missing name in a chain", {"random": [{"rounds": [], "next": {"x": 1.0}}, *_chain([{"x": 1.0}])]}, None,
     "protocol.random[0].name"),
    ("missing next in a chain", {"random": [_chain([{"x": 1.0}])[0], {"name": "y", "rounds": []}]}, None,
     "protocol.random[1].next"),
    ("probability in a chain", {"random": [dict(_chain([{"x": 1.0}])[0], probability=1.0)]}, None,
     "protocol.random[0].probability"),
    ("initial names an unknown alternative", {"random": _chain([{"x": 0.5, "y": 0.5}, {"x": 1.0}]),
                                              "initial": {"q": 1.0}}, None, "protocol.initial alternative"),
    ("noise not PSD", {"random": _alts(1.0)}, [[1.0, 0.0], [0.0, -1.0]], "A.noise"),
    ("noise negative number", {"random": _alts(1.0)}, -0.1, "A.noise"),
    ("noise wrong shape", {"random": _alts(1.0)}, [[1.0]], "A.noise"),
    ("noise not symmetric", {"random": _alts(1.0)}, [[1.0, 0.5], [0.0, 1.0]], "A.noise"),
    ("noise a string", {"random": _alts(1.0)}, "0.1", "A.noise"),
    ("noise true", {"random": _alts(1.0)}, True, "A.noise"),
]




@pytest.mark.parametrize("case, protocol, noise, quantity", BAD, ids=[b[0] for b in BAD])
def test_bad_random_protocols_exit_2(tmp_path, capsys, case, protocol, noise, quantity):
    path = _write(tmp_path, _two_agents(protocol, noise))
    for command in (["predict", path], ["simulate", path, "--turns", "3"]):
        line = cli_error(capsys, command)
        assert f": {quantity} = " in line or f": {quantity} key = " in line, line


BAD_SCHEDULES = [("[0, 1]", "--schedule = "), ("[0, 1, 9]", "--schedule[2] = 9"), ("[0, true, 1]", "--schedule[1]"),
                 ("[0, 1.0, 1]", "--schedule[1]"), ("[0, 0, 1]", "--schedule[1] = 0"), ("{\"a\": 1}", "--schedule = "),
                 ("[0, 1", "--schedule = "), ("[-1, 1, 0]", "--schedule[0] = -1")]


@pytest.mark.parametrize("text, quantity", BAD_SCHEDULES)
def test_bad_schedules_exit_2(tmp_path, capsys, text, quantity):
    path = _write(tmp_path, _two_agents({"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}])}))
    line = cli_error(capsys, ["simulate", path, "--turns", "3", "--schedule", text])
    assert quantity in line, line


def test_bad_schedule_messages_name_the_alternatives(tmp_path, capsys):
    """Three alternatives x -> y -> z -> {x, y}: an index out of range names the range [0, 2], a transition of
    probability 0 (x to z) names the alternative it cannot follow (0), not the one drawn (2) or another."""
    chain = {"random": _chain([{"y": 1.0}, {"z": 1.0}, {"x": 0.5, "y": 0.5}], names=("x", "y", "z"))}
    path = _write(tmp_path, _two_agents(chain))
    line = cli_error(capsys, ["simulate", path, "--turns", "3", "--schedule", "[0, 1, 3]"])  # 3: one past the last
    assert "--schedule[2] = 3" in line and "must be an integer in [0, 2] (an alternative)" in line, line
    line = cli_error(capsys, ["simulate", path, "--turns", "3", "--schedule", "[0, 2, 1]"])
    assert "--schedule[1] = 2" in line and "cannot follow alternative 0 (probability 0)" in line, line


def test_schedule_longer_than_the_turns_exits_2(tmp_path, capsys):
    path = _write(tmp_path, _two_agents({"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}])}))
    line = cli_error(capsys, ["simulate", path, "--turns", "3", "--schedule", "[0, 1, 0, 1]"])
    assert "--schedule = '4 entries'" in line and "one alternative per round (3)" in line, line


def test_a_schedule_is_not_read_as_a_cycle(tmp_path, capsys):
    """x -> x has probability 0, but x, y, x ends where it began: no transition from the last round to the first."""
    path = _write(tmp_path, _two_agents({"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}])}))
    assert cli.main(["simulate", path, "--turns", "3", "--schedule", "[0, 1, 0]"]) == 0
    assert json.loads(capsys.readouterr().out)["schedule"] == [0, 1, 0]


def test_a_long_schedule_is_accepted(tmp_path, capsys):
    """300 rounds (more than CPython's cached small ints): the given schedule is the printed one."""
    path = _write(tmp_path, _two_agents({"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}])}))
    given = [0, 1] * 150
    assert cli.main(["simulate", path, "--turns", "300", "--schedule", json.dumps(given)]) == 0
    assert json.loads(capsys.readouterr().out)["schedule"] == given


def test_zero_rounds_through_the_python_api():
    """No round, or no run: an empty schedule and only the initial messages."""
    raw = _two_agents({"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}])})
    system = config.parse(raw)
    rp = system.random
    assert random_simulate.draw_schedule(rp, 0, np.random.default_rng(0)).shape == (0,)
    assert random_simulate.draw_schedule(rp, 0, np.random.default_rng(0), runs=3).shape == (3, 0)
    assert random_simulate.draw_schedule(rp, 5, np.random.default_rng(0), runs=0).shape == (0, 5)
    out = random_simulate.run_random(system.agents, rp, 0, np.zeros(0, dtype=np.int64))
    assert out.shape == (1, 2, 2) and np.array_equal(out[0], rp.initial)


def test_schedule_starting_where_the_initial_law_is_zero_exits_2(tmp_path, capsys):
    chain = {"random": _chain([{"y": 1.0}, {"x": 0.5, "y": 0.5}]), "initial": {"x": 1.0}}
    path = _write(tmp_path, _two_agents(chain))
    assert "--schedule[0] = 1" in cli_error(capsys, ["simulate", path, "--turns", "2", "--schedule", "[1, 0]"])
    assert cli.main(["simulate", path, "--turns", "2", "--schedule", "[0, 1]"]) == 0
    capsys.readouterr()


def test_schedule_for_a_deterministic_config_exits_2(tmp_path, capsys):
    path = _write(tmp_path, _two_agents())
    assert "--schedule" in cli_error(capsys, ["simulate", path, "--turns", "2", "--schedule", "[0, 0]"])


def test_other_commands_refuse_a_random_protocol():
    system = config.parse(_two_agents({"random": _alts(1.0)}))
    with pytest.raises(InputError, match="protocol.random"):
        engine.of(system)


def test_predict_text_shows_rates_and_covariance(tmp_path, capsys):
    path = _write(tmp_path, _three(MARKOV))
    assert cli.main(["predict", path, "--text"]) == 0
    out = capsys.readouterr().out
    assert "mean rate" in out and "mean-square" in out and "covariance [[" in out


# ------------------------------------------------------------------ --precision

# float64 vs 40-digit mpmath on a well-conditioned instance (rates ~0.6): float64 rounding only.
PRECISE_VS_FLOAT_TOL = 1e-12

SMALL_CHAIN = {"random": [
    {"name": "x", "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}], "next": {"x": 0.3, "y": 0.7}},
    {"name": "y", "rounds": [{"A": {"B": 0.6, "A": 0.4}, "B": {"A": 1.0}}], "next": {"x": 0.9, "y": 0.1}}]}


@pytest.mark.parametrize("protocol", [SMALL_CHAIN, {"random": _alts(0.25, 0.75) + [{"probability": 0.0, "rounds": []}]},
                                      {"random": [{"probability": 0.5, "rounds": []}, *_alts(0.5)]}])
def test_precise_moments_agree_with_the_reference(tmp_path, capsys, protocol):
    raw = _two_agents(protocol)
    system = config.parse(raw)
    mean_rate, ms_rate, mu, cov = reference(system, system.random)
    path = _write(tmp_path, raw)
    assert cli.main(["predict", path, "--precision", "40"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["precision"] == "mpmath 40 digits" and doc["converges"]
    assert abs(float(doc["contraction_rate"]) - ms_rate) <= PRECISE_VS_FLOAT_TOL
    assert abs(float(doc["mean_rate"]) - mean_rate) <= PRECISE_VS_FLOAT_TOL
    for i, n in enumerate("AB"):
        entry = doc["agents"][n]
        assert len(entry["fixed_point"][0].replace("-", "").replace(".", "").lstrip("0")) >= 30
        assert rel(np.array(entry["fixed_point"], dtype=float), mu[i]) <= PRECISE_VS_FLOAT_TOL
        assert rel(np.array(entry["covariance"], dtype=float), cov[2 * i:2 * i + 2, 2 * i:2 * i + 2]) \
            <= PRECISE_VS_FLOAT_TOL


def test_precise_refuses_large_or_noisy_random_protocols(tmp_path, capsys):
    path = _write(tmp_path, _three(MARKOV))
    line = cli_error(capsys, ["predict", path, "--precision", "30"])
    assert "--precision = '108 second-moment unknowns'" in line
    path = _write(tmp_path, _two_agents(SMALL_CHAIN, 0.01))
    assert "noise" in cli_error(capsys, ["predict", path, "--precision", "30"])
    four = dict(SMALL_CHAIN, random=[*SMALL_CHAIN["random"][:1], dict(SMALL_CHAIN["random"][1], next={"z": 1.0}),
                                     {"name": "z", "rounds": [], "next": {"x": 0.5, "w": 0.5}},
                                     {"name": "w", "rounds": [{"B": {"A": 1.0}}], "next": {"x": 0.5, "y": 0.5}}])
    path = _write(tmp_path, _two_agents(four))  # 4 modes x 4^2 = 64 unknowns: allowed at 50 digits, not 500
    assert "estimated" in cli_error(capsys, ["predict", path, "--precision", "500"])


# ------------------------------------------------------------------ the docs example

def test_docs_random_protocol_example_works_as_written(tmp_path, capsys):
    """docs/protocol.rst's JSON config: parsed as written, predicted, simulated, and its mean (with noise)
    agrees with the reference."""
    import re
    import textwrap
    from pathlib import Path

    rst = (Path(__file__).resolve().parent.parent / "docs" / "protocol.rst").read_text()
    block = re.search(r"\.\. code-block:: json\n\n((?:    .*\n|\n)+?)\n(?=\S)", rst)
    assert block is not None
    raw = json.loads(textwrap.dedent(block.group(1)))
    assert "random" in raw["protocol"] and "noise" in raw["agents"][0]
    path = _write(tmp_path, raw)
    assert cli.main(["predict", path]) == 0
    doc = json.loads(capsys.readouterr().out)
    system = config.parse(raw)
    _, ms, mu, cov = reference(system, system.random)
    assert doc["converges"] and abs(doc["contraction_rate"] - ms) <= RATE_TOL
    assert rel(doc["agents"]["A"]["fixed_point"], mu[0]) <= MEAN_TOL
    assert rel(doc["agents"]["A"]["covariance"], cov[:2, :2]) <= COV_TOL
    assert cli.main(["simulate", path, "--turns", "20", "--seed", "3"]) == 0
    assert len(json.loads(capsys.readouterr().out)["schedule"]) == 20


# ------------------------------------------------------------------ the large-instance paths

def _bench_like(K, d, n_alt, seed=0):
    """K agents, n_alt alternatives of random speakers or gossip pairs, a random dense Markov chain."""
    rng = np.random.default_rng(seed)
    names = [chr(ord("A") + k) for k in range(K)]
    agents = []
    for n in names:
        B = rng.standard_normal((d, d))
        H = B @ B.T / d + np.eye(d)
        agents.append({"name": n, "geometry": H.tolist(), "target": rng.standard_normal(d).tolist(),
                       "preconditioner": (np.eye(d) / np.linalg.eigvalsh(H)[-1]).tolist()})
    labels = [f"s{k}" for k in range(n_alt)]
    alts = []
    for k in range(n_alt):
        a, b = (k % K, (k + 1) % K)
        alts.append({"name": labels[k], "rounds": [{names[a]: {names[b]: 0.7, names[a]: 0.3}}],
                     "next": dict(zip(labels, rng.dirichlet(np.ones(n_alt)).tolist()))})
    return {"schema_version": 1, "agents": agents, "protocol": {"random": alts}}


def test_arpack_and_gmres_at_default_thresholds():
    """K = 3, d = 3, 4 alternatives (Markov): 324 second-moment unknowns, beyond DENSE_EIG_MAX, so the
    mean-square rate comes from ARPACK; forced through GMRES as well."""
    raw = _bench_like(3, 3, 4)
    system = config.parse(raw)
    assert 4 * 9 ** 2 > random_moments.DENSE_EIG_MAX
    mean_rate, ms_rate, mu, cov = reference(system, system.random)
    M, c = evaluate.stacked_finite(system)
    old = random_moments.DENSE_MAX_UNKNOWNS
    try:
        random_moments.DENSE_MAX_UNKNOWNS = 100
        mom = random_moments.moments(M, c, system.random)
    finally:
        random_moments.DENSE_MAX_UNKNOWNS = old
    assert mom.solver == "gmres"
    assert abs(mom.contraction_rate - ms_rate) <= RATE_TOL and abs(mom.mean_rate - mean_rate) <= RATE_TOL
    assert rel(mom.mean, mu) <= MEAN_TOL and rel(mom.joint_covariance, cov) <= COV_TOL


def test_gmres_stall_falls_back_to_dense_or_refuses(monkeypatch):
    system = config.parse(_bench_like(2, 1, 3))
    M, c = evaluate.stacked_finite(system)
    monkeypatch.setattr(random_moments, "DENSE_MAX_UNKNOWNS", 0)
    monkeypatch.setattr(random_moments, "ITERATIVE_RTOL", 1e-300)  # unreachable: GMRES reports no convergence
    ref = reference(system, system.random)
    mom = random_moments.moments(M, c, system.random)
    assert mom.solver == "dense" and rel(mom.joint_covariance, ref[3]) <= COV_TOL
    monkeypatch.setattr(random_moments, "DENSE_FALLBACK_UNKNOWNS", 0)
    with pytest.raises(InputError, match="second-moment solve"):
        random_moments.moments(M, c, system.random)


def test_simulate_noisy_deterministic_config(tmp_path, capsys):
    """Noise on a deterministic protocol: drawn from --seed (same seed, same messages; another seed,
    other messages), no schedule printed; predict gains covariance only then."""
    noisy, plain = _write(tmp_path, _two_agents(None, 0.05), "n.json"), _write(tmp_path, _two_agents(), "p.json")
    runs = []
    for seed in ("1", "1", "2"):
        assert cli.main(["simulate", noisy, "--turns", "5", "--seed", seed]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert "schedule" not in runs[0] and runs[0]["seed"] == 1
    assert runs[0]["agents"] == runs[1]["agents"] and runs[0]["agents"] != runs[2]["agents"]
    assert cli.main(["simulate", plain, "--turns", "5"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert "seed" not in clean and rel(clean["agents"]["A"]["messages"], runs[0]["agents"]["A"]["messages"]) > 1e-3
    assert cli.main(["predict", plain]) == 0
    assert "covariance" not in json.loads(capsys.readouterr().out)["agents"]["A"]


@pytest.mark.parametrize("protocol", [MARKOV, dict(MARKOV, initial={"C speaks": 1.0}),
                                      {"random": [{"probability": 0.25, "rounds": [AVERAGE]},
                                                  {"probability": 0.75, "rounds": []}]}])
def test_as_dict_round_trips(protocol):
    rp = config.parse(_three(protocol)).random
    again = random_spec.parse(rp.as_dict(), list(rp.names), 2, [0.0, 0.0])
    assert again.labels == rp.labels and again.markov == rp.markov
    assert np.array_equal(again.P, rp.P) and np.array_equal(again.initial_law, rp.initial_law)
    assert [a.phases for a in again.alternatives] == [a.phases for a in rp.alternatives]
    assert np.array_equal(again.initial, rp.initial)


def test_api_stationary_covariance_and_derive_on_a_random_protocol(tmp_path, capsys):
    from numerics import api

    S = [[[0.02, 0.01], [0.01, 0.03]], [[0.0, 0.0], [0.0, 0.0]]]
    noisy = _two_agents(SMALL_CHAIN, S[0])
    system = config.parse(noisy)
    _, _, _, cov = reference(system, system.random)
    P = api.stationary_covariance(_two_agents(SMALL_CHAIN), {"A": S[0], "B": S[1]})
    assert rel(P["A"], cov[:2, :2]) <= COV_TOL and rel(P["B"], cov[2:, 2:]) <= COV_TOL
    path = _write(tmp_path, _two_agents(SMALL_CHAIN))
    # derive --protocol derives a random protocol's moments (theory.protocol.random_report), proved before printed
    assert cli.main(["derive", "--protocol", path, "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("random protocol (markov draws)") and "FAILED" not in out


def test_zero_round_maps_on_the_iterative_paths(monkeypatch):
    """Gamma = H^-1: every agent answers its own target at once, so every Phi_k = 0 and the moment
    operators are zero (ARPACK's Krylov space collapses: the dense fallback answers)."""
    raw = _two_agents({"random": _alts(0.5, 0.5)})
    for a in raw["agents"]:
        a["preconditioner"] = np.linalg.inv(a["geometry"]).tolist()
    system = config.parse(raw)
    monkeypatch.setattr(random_moments, "DENSE_EIG_MAX", 0)
    monkeypatch.setattr(random_moments, "DENSE_MAX_UNKNOWNS", 0)
    M, c = evaluate.stacked_finite(system)
    mom = random_moments.moments(M, c, system.random)
    assert mom.contraction_rate <= 1e-12 and mom.mean_rate <= 1e-12
    assert rel(mom.mean, [[1.0, 0.0], [0.0, 1.0]]) <= MEAN_TOL and np.max(np.abs(mom.joint_covariance)) <= 1e-20


def test_random_simulate_noise_factor_is_the_psd_square_root():
    """The seeded noise of ``simulate`` on a random protocol uses ``S^{1/2}`` (symmetric, ``L L^T = S``), the factor
    of ``NoisyAgent``, not ``V sqrt(Lambda)``, whose columns' signs are LAPACK's choice."""
    from numerics.dynamics import noisy
    from numerics.protocol import random_simulate

    S = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.0]])
    S = S @ S.T  # PSD, non-isotropic; its smallest eigenvalue is far from repeated
    L = random_simulate.noise_factor(S)
    assert np.array_equal(L, noisy.noise_factor("S", S))
    assert np.allclose(L, L.T, atol=1e-14) and np.allclose(L @ L.T, S, atol=1e-13)
