"""``attack`` on random protocols (issue 26): ``full`` (C9) makes the attacker exact in every drawn
schedule, ``steer`` places the victim's stationary mean at the point (checked against the
alternatives' maps taken from the real agents, and against a long simulation of a Markov chain),
``rank-one`` is refused with one line, and planted wrong variants fail."""
import copy
import json

import numpy as np
import pytest

from numerics import api
from numerics.interventions import random_attack
from numerics.protocol import config, random_simulate
from proofs_check.cli import main as cli
from proofs_check.verification.shipped_attack import fresh
from test_random_use_sweep import _alternative_maps

# The steered mean from the agents' maps: float64 rounding of two small solves (cond G ~ 3).
SAME_TOL = 1e-9
# C9: the attacker's message is M_A w + c_A with M_A = 0 to rounding: w_A* to ~1e-15 relative.
EXACT_TOL = 1e-12
# A time average of 36000 rounds of a Markov chain (noise std 0.1 on C, mean rate 0.65): its standard
# error from 30 batch means (batches of 1200 rounds, far beyond the correlation time); the mean must lie
# within MC_SIGMAS of them. Measured: 0.006 off (SE 0.005); the planted steering under a forgotten
# law is 0.075 off (14 SE).
MC_SIGMAS = 5.0
BATCHES = 30

CONFIG = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.8},
    {"name": "B", "geometry": [[0.6, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.8},
    {"name": "C", "geometry": [[0.8, 0.0], [0.0, 0.8]], "target": [-1.0, 0.5], "preconditioner": 0.8,
     "noise": 0.01}],
    "protocol": {"random": [
        {"probability": 0.4, "rounds": [{"A": {"B": 0.5, "C": 0.5}}]},
        {"probability": 0.3, "rounds": [{"B": {"A": 1.0}}]},
        {"probability": 0.3, "rounds": [{"C": {"B": 1.0}}]}]}}
# C hears A in one alternative and B in another (who it hears depends on the chain), so the stationary
# mean depends on the law, not only on the agents' maps.
MARKOV = {"agents": CONFIG["agents"], "protocol": {"random": [
    {"name": "a", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"b": 0.5, "c1": 0.5}},
    {"name": "b", "rounds": [{"B": {"C": 1.0}}], "next": {"c2": 0.9, "a": 0.1}},
    {"name": "c1", "rounds": [{"C": {"A": 1.0}}], "next": {"b": 1.0}},
    {"name": "c2", "rounds": [{"C": {"B": 1.0}}], "next": {"a": 0.7, "c1": 0.3}}]}}
POINT = [0.3, -0.2]


def _attacked(raw, doc):
    out = copy.deepcopy(raw)
    entry = doc["agent_entry"]
    out["agents"][0] = {k: entry[k] for k in ("name", "prompt", "preconditioner", "steps_per_turn")}
    return config.parse(out)


def _mean_from_agents(system):
    """The stationary mean of independent draws from the alternatives' maps read off the real agents."""
    Phi, psi = _alternative_maps(system)
    p = system.random.P[0]
    A = sum(pk * F for pk, F in zip(p, Phi))
    return np.linalg.solve(np.eye(len(A)) - A, sum(pk * f for pk, f in zip(p, psi))).reshape(len(system.agents), -1)


def _fresh(args: list[str]) -> list[str]:
    """The arguments as a real command line passes them: new string objects, not this file's interned literals
    (code comparing ``kind is "steer"`` would pass on those)."""
    return [fresh(a) for a in args]


def test_steer_places_the_victims_stationary_mean():
    doc = api.attack(CONFIG, "steer", point=POINT, victim="C").to_json()
    doc = json.loads(doc)
    system = _attacked(CONFIG, doc)
    assert np.max(np.abs(_mean_from_agents(system)[2] - POINT)) < SAME_TOL
    assert doc["predicted"]["agents"]["C"]["covariance"][0][0] > 0  # the victim still spreads around the point


def test_planted_flipped_target_misses_the_point(monkeypatch):
    real = random_attack.mean_steering_target

    def flipped(M, c, rp, attacker, victim, point, names):
        w, cond = real(M, c, rp, attacker, victim, point, names)
        return -w, cond  # planted: the wrong sign

    monkeypatch.setattr(random_attack, "mean_steering_target", flipped)
    doc = json.loads(api.attack(CONFIG, "steer", point=POINT, victim="C").to_json())
    assert np.max(np.abs(_mean_from_agents(_attacked(CONFIG, doc))[2] - POINT)) > 0.1


def _time_average(system, rounds=40000, seed=5):
    """The time average after a burn-in of a tenth, its batch-means standard error, the run and schedule."""
    rng = np.random.default_rng(seed)
    schedule = random_simulate.draw_schedule(system.random, rounds, rng)
    run = random_simulate.run_random(system.agents, system.random, rounds, schedule, rng, system.noise)
    tail = run[rounds // 10:]
    batches = tail[: len(tail) // BATCHES * BATCHES].reshape(BATCHES, -1, *tail.shape[1:]).mean(axis=1)
    return tail.mean(axis=0), batches.std(axis=0, ddof=1) / np.sqrt(BATCHES), run, schedule


def test_steer_under_a_markov_chain_against_a_long_simulation(monkeypatch):
    doc = json.loads(api.attack(MARKOV, "steer", point=POINT, victim="C").to_json())
    mean, se, _, _ = _time_average(_attacked(MARKOV, doc))
    assert np.all(np.abs(mean[2] - POINT) < MC_SIGMAS * se[2])
    # planted: the target derived under independent draws at the chain's stationary law (the chain forgotten)
    system = config.parse(MARKOV)
    rp = system.random
    forgot = type(rp)(rp.names, rp.alternatives, rp.labels, np.tile(rp.stationary(), (4, 1)), rp.stationary(),
                      False, rp.initial)
    wrong = copy.deepcopy(MARKOV)
    wrong["protocol"] = {"random": [{"probability": float(p), "rounds": a["rounds"]}
                                   for p, a in zip(forgot.P[0], MARKOV["protocol"]["random"])]}
    doc_wrong = json.loads(api.attack(wrong, "steer", point=POINT, victim="C").to_json())
    mean_wrong, se, _, _ = _time_average(_attacked(MARKOV, doc_wrong))
    assert np.any(np.abs(mean_wrong[2] - POINT) > MC_SIGMAS * se[2])


def test_full_attack_is_exact_from_the_attackers_first_round():
    doc = json.loads(api.attack(MARKOV, "full").to_json())
    system = _attacked(MARKOV, doc)
    _, _, run, schedule = _time_average(system, rounds=300)
    first = int(np.flatnonzero(schedule == 0)[0])  # alternative "a": A speaks
    target = np.array(CONFIG["agents"][0]["target"])
    assert np.max(np.abs(run[first + 1:, 0] - target)) < EXACT_TOL
    assert doc["predicted"]["agents"]["A"]["fixed_point"] == pytest.approx(target.tolist(), abs=EXACT_TOL)


@pytest.mark.parametrize("args, match", [
    (["--kind", "rank-one"], "rank-one attack (C10) is derived for two agents speaking in turn"),
    (["--kind", "steer", "--point", "[0, 0]"], "--victim"),
    (["--kind", "steer", "--victim", "C"], "--point"),
])
def test_attack_errors_under_a_random_protocol(tmp_path, capsys, args, match):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    assert cli.main(_fresh(["attack", str(cfg), *args])) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and match in err, err


def test_steer_on_a_victim_that_never_hears_the_attacker(tmp_path, capsys):
    raw = copy.deepcopy(CONFIG)
    raw["protocol"]["random"][1]["rounds"] = [{"B": {"C": 1.0}}]  # nobody hears A now
    raw["protocol"]["random"][2]["rounds"] = [{"C": {"B": 1.0}}]
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(raw))
    assert cli.main(_fresh(["attack", str(cfg), "--kind", "steer", "--victim", "C", "--point", "[0, 0]"])) == 2
    # G = d mu_C / d w_A* is exactly 0: its smallest singular value 0 and its condition infinite, named
    err = capsys.readouterr().err
    assert "(smallest singular value) = 0.0: is singular (condition inf > " in err, err


def _pair(d: int, geometry_B: list, rounds_B: dict) -> dict:
    return {"agents": [{"name": "A", "geometry": np.eye(d).tolist(), "target": [1.0] + [0.0] * (d - 1),
                        "preconditioner": 0.8},
                       {"name": "B", "geometry": geometry_B, "target": [0.0] * (d - 1) + [1.0], "preconditioner": 0.8}],
            "protocol": {"random": [{"probability": 0.5, "rounds": [{"B": rounds_B}]},
                                    {"probability": 0.5, "rounds": [{"A": {"B": 1.0}}]}]}}


def test_steer_in_one_dimension(tmp_path, capsys):
    """d = 1 (one singular value): B hears A in half the rounds; the steered mean is the point, cond(G) = 1."""
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(_pair(1, [[0.6]], {"A": 1.0})))
    assert cli.main(_fresh(["attack", str(cfg), "--kind", "steer", "--point", "[0.3]"])) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["victim_fixed_point"] == pytest.approx([0.3], abs=SAME_TOL) and doc["sensitivity_condition"] == 1.0


def test_a_rank_deficient_sensitivity_names_its_smallest_singular_value(tmp_path, capsys):
    """d = 3, B's transfer M_B = I - 0.8 diag(1.25, 1, 1) = diag(0, 0.2, 0.2) has rank 2, so G = d mu_B / d w_A*
    (B hears A, A's M_A = 0) has rank 2: the refusal names its smallest singular value, about 0, not another."""
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(_pair(3, np.diag([1.25, 1.0, 1.0]).tolist(), {"A": 1.0})))
    assert cli.main(_fresh(["attack", str(cfg), "--kind", "steer", "--point", "[0.3, 0.1, 0.2]"])) == 2
    err = capsys.readouterr().err
    value = float(err.split("(smallest singular value) = ")[1].split(":")[0])
    assert abs(value) < 1e-12 and "is singular" in err, err


def test_a_condition_at_the_limit_is_accepted(monkeypatch):
    """The refusal is for cond(G) above ``MAX_SENSITIVITY_COND`` (its message: "condition ... > limit"): with the
    limit set to this case's own condition number, the attack is printed."""
    from numerics.interventions import attacks

    cond = json.loads(api.attack(CONFIG, "steer", point=POINT, victim="C").to_json())["sensitivity_condition"]
    monkeypatch.setattr(attacks, "MAX_SENSITIVITY_COND", cond)
    doc = json.loads(api.attack(CONFIG, "steer", point=POINT, victim="C").to_json())
    assert doc["sensitivity_condition"] == cond


def test_full_attack_from_the_command_line(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(MARKOV))
    assert cli.main(_fresh(["attack", str(cfg), "--kind", "full"])) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "full" and "point" not in doc
    assert doc["predicted"]["agents"]["A"]["fixed_point"] == pytest.approx(CONFIG["agents"][0]["target"],
                                                                           abs=EXACT_TOL)
