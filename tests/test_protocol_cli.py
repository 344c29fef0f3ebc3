"""``fit``, ``llm-run`` and ``attack`` under interaction protocols: fits recover the maps of unseen
random protocols and predict what a simulation of the protocol does, LLM runs follow the protocol
and are read back by ``fit``, attack targets place the victim where a simulation finds it, bad
input exits 2 with one line, and planted wrong variants fail."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest

from chat_server import ChatServer
from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_prompt
from numerics.dynamics import lyapunov, noisy
from numerics.fit import fitting, protocol_fit
from numerics.interventions import attacks, protocol_attack
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.llm import text_protocol
from numerics.protocol import (
    config,
    evaluate as protocol_eval,
    random_protocols as protocol_random,
    simulate,
    spec as protocol,
    transcript as pt,
)
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent

# Noise-free GD agents: least squares on exact messages (the C18 bar of tests/test_blackbox.py).
FIT_EXACT_TOL = 1e-6
# predicted plateau vs a long simulation (the protocol Done-when bar).
AGREEMENT_REL_TOL = 1e-8
# The steering target solves G w = p - g: float64 rounding of the fixed point (~1e-16 relative, times a
# few dozen operations) amplified by cond G moves the victim by at most this times cond G |p|.
STEER_ROUNDING_PER_COND = 1e-14
# The same sums in the same order: the LLM runner's messages equal the simulator's bit for bit.
BITWISE = 0.0
# Monte Carlo: 30000 rounds of autocorrelated messages (rho <= 0.6) estimate a covariance to ~2% of its
# largest entry (measured 1.2%); a planted wrong noise propagation is off by 54% there.
MC_COV_RTOL = 0.12
# Text replies carry 4 decimals, so fitted maps of text agents are exact to about 1e-2 (as in test_blackbox).
ROUNDED_FIT_TOL = 0.05
# The round robin through the protocol path vs the closed forms (C2, C15): float64 rounding only.
SAME_TOL = 1e-9


def _noise_free_transcript(seed: int, turns: int = 40):
    rng = np.random.default_rng(seed)
    K, d = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    s = protocol_random.system(rng, K, d, rho_max=0.9)
    # random initial messages: a transient in every direction identifies the maps
    s = config.System(s.agents, s.initial_message,
                      protocol.Protocol(s.protocol.names, s.protocol.phases, rng.standard_normal((K, d)) * 3))
    return s, pt.run(s.agents, s.protocol, turns)


def _recovery_error(s, tr) -> float:
    """Largest error of the fitted maps and plateau against the agents' true per-turn maps and a
    long simulation of the protocol (inf when the fit refuses the transcript)."""
    try:
        report = protocol_fit.fit(tr, s.protocol, 0.5, bootstrap=0, seed=0)
    except InputError:
        return float("inf")
    err = 0.0
    for f, a in zip(report.prediction.fits, s.agents):
        err = max(err, np.max(np.abs(f.M_hat - a.M)), np.max(np.abs(f.c_hat - a.c)))
    if report.prediction.plateau is None:
        return float("inf")
    long = simulate.run_protocol(s.agents, s.protocol, 2000)[-1]
    return max(err, np.max(np.abs(report.prediction.plateau - long)) / max(1.0, np.max(np.abs(long))))


SEEDS = [101, 202, 303, 404, 505, 606]  # unseen by the other tests


@pytest.mark.parametrize("seed", SEEDS)
def test_fit_recovers_maps_and_plateau_of_random_protocols(seed):
    s, tr = _noise_free_transcript(seed)
    assert _recovery_error(s, tr) <= FIT_EXACT_TOL


def test_fit_file_round_trip_and_cli(tmp_path, capsys):
    s, tr = _noise_free_transcript(SEEDS[0])
    path = tr.write(tmp_path / "p.jsonl")
    back = transcripts.read(path)
    assert back.header == json.loads(path.read_text().splitlines()[0]) and back.records[0].phase == 0
    assert cli.main(["fit", str(path), "--json", "--bootstrap", "10", "--figure", str(tmp_path / "f.png")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["protocol"]["agents"] == list(s.names)
    M, c, W, mask = protocol_eval.system_arrays(s)
    want = protocol_eval.fixed_points(M, c, W, mask)
    for k, name in enumerate(s.names):
        np.testing.assert_allclose(doc["agents"][name]["fixed_point"], want[k], atol=FIT_EXACT_TOL)
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_planted_fit_that_ignores_weights_fails(monkeypatch):
    s, tr = _noise_free_transcript(SEEDS[2])  # weights other than 1 (SEEDS[1] is a round robin of unit weights)
    assert _recovery_error(s, tr) <= FIT_EXACT_TOL

    def unweighted(self):  # planted: every listed source with weight 1
        return sum(self.m[j] for j, _ in self.protocol.phases[self.phase][self.slot][1])

    monkeypatch.setattr(pt.Schedule, "heard", unweighted)
    with pytest.raises(InputError, match="not recorded under this protocol"):
        protocol_fit.fit(tr, s.protocol, 0.5, bootstrap=0, seed=0)  # caught by the recorded inputs
    monkeypatch.setattr(pt, "INCOMING_RTOL", np.inf)  # and by the fit itself when that check is off
    assert _recovery_error(s, tr) > 1e-3


def test_planted_round_robin_prediction_fails(monkeypatch):
    s, tr = _noise_free_transcript(SEEDS[3])
    round_robin_only = fitting.predict  # the fit's prediction ignoring the protocol: the round robin's
    monkeypatch.setattr(fitting, "predict", lambda fits, protocol=None: round_robin_only(tuple(fits)))
    assert _recovery_error(s, tr) > 1e-3


def test_round_robin_through_the_protocol_path_is_todays_fit():
    """Independent forms: C2/C15 closed forms (fitting.predict) vs the protocol's round map and
    joint-state Lyapunov equation, on the same transcript."""
    from pathlib import Path
    golden = Path(__file__).parent / "golden"
    tr = transcripts.read(golden / "text_agents.local.jsonl")
    old = fitting.fit_transcript(tr, bootstrap=30, seed=5)
    proto = protocol_fit.transcript_protocol(tr, Path(__file__).parent.parent / "examples" / "text_agents.json")
    new = protocol_fit.fit(tr, proto, 0.5, bootstrap=30, seed=5)
    assert new.prediction.rate == pytest.approx(old.prediction.rate, rel=SAME_TOL)
    for a, b in [(new.prediction.plateau, old.prediction.plateau), (new.prediction.spread, old.prediction.spread),
                 (new.observed_mean, old.observed_mean), (new.observed_cov, old.observed_cov),
                 (new.plateau_interval.low, old.plateau_interval.low),
                 (new.spread_interval.high, old.spread_interval.high),
                 (new.observed_mean_interval.low, old.observed_mean_interval.low)]:
        np.testing.assert_allclose(a, b, rtol=SAME_TOL, atol=SAME_TOL)


def test_stationary_covariance_matches_c15_for_the_round_robin():
    rng = np.random.default_rng(7)
    K, d = 3, 2
    M = rng.standard_normal((K, d, d)) * 0.35
    S = np.stack([(lambda A: A @ A.T)(rng.standard_normal((d, d))) for _ in range(K)])
    rr = protocol.round_robin(["A", "B", "C"], np.zeros(d))
    W, mask = rr.weights()
    np.testing.assert_allclose(protocol_fit.stationary_covariance(M, S, W, mask),
                               lyapunov.stationary_covariances(M, S), rtol=SAME_TOL, atol=SAME_TOL)


def _mc_covariance(seed: int):
    rng = np.random.default_rng(seed)
    s = protocol_random.system(rng, 3, 2, rho_max=0.6, max_phases=3)
    S = np.stack([np.diag(rng.uniform(0.01, 0.04, 2)) for _ in s.agents])
    agents = [noisy.NoisyAgent(a, S[k], 50 + k) for k, a in enumerate(s.agents)]
    runs = simulate.run_protocol(agents, s.protocol, 30000)[100:]
    observed = np.stack([np.cov(runs[:, k].T) for k in range(3)])
    M, _, W, mask = protocol_eval.system_arrays(s)
    return observed, M, S, W, mask


def _matches(predicted, observed) -> bool:
    return np.allclose(predicted, observed, rtol=MC_COV_RTOL, atol=MC_COV_RTOL * np.max(np.abs(observed)))


def test_stationary_covariance_matches_a_noisy_simulation():
    from scipy.linalg import solve_discrete_lyapunov

    observed, M, S, W, mask = _mc_covariance(13)
    assert len(mask) == 3  # several phases: the noise of the early ones passes through the later ones
    assert _matches(protocol_fit.stationary_covariance(M, S, W, mask), observed)
    # planted: each phase's noise enters at the end of the round (not carried through the later phases)
    K, d = M.shape[0], M.shape[-1]
    D = np.zeros((K * d, K * d))
    for p in range(len(mask)):
        for i in np.flatnonzero(mask[p]):
            D[i * d:(i + 1) * d, i * d:(i + 1) * d] += S[i]
    Phi, _ = protocol_eval.round_map(M, np.zeros((K, d)), W, mask)
    wrong = solve_discrete_lyapunov(Phi, D)
    assert not _matches(np.stack([wrong[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(K)]), observed)


def test_noisy_fit_holds_the_true_maps_and_predicts_the_spread():
    rng = np.random.default_rng(21)
    s = protocol_random.system(rng, 3, 2, rho_max=0.7, max_phases=2)
    S = 0.05 ** 2 * np.eye(2)
    agents = [noisy.NoisyAgent(a, S, 70 + k) for k, a in enumerate(s.agents)]
    tr = pt.run(agents, s.protocol, 1500)
    report = protocol_fit.fit(tr, s.protocol, 0.5, bootstrap=100, seed=1, level=0.99)
    for iv, a in zip(report.map_interval, s.agents):
        assert iv.contains(np.hstack([a.M, a.c[:, None]])).all()
    M, _, W, mask = protocol_eval.system_arrays(s)
    true_spread = protocol_fit.stationary_covariance(M, np.stack([S] * 3), W, mask)
    # C18's bar for a fitted spread (tests/test_blackbox.py), off-diagonal entries relative to the largest
    np.testing.assert_allclose(report.prediction.spread, true_spread, rtol=0.3, atol=0.3 * np.max(true_spread))
    assert report.plateau_interval.contains(report.observed_mean).mean() >= 0.5


# --- bad transcripts and configs: one line, exit 2 -------------------------------------------

def _write(tmp_path, lines, name="t.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _fit_fails(path, capsys, *extra, match):
    assert cli.main(["fit", str(path), "--figure", str(path.with_suffix(".png")), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and match in err, err


def _lines(seed=SEEDS[3], turns=6):
    _, tr = _noise_free_transcript(seed, turns)
    return [transcripts.header_line(tr.header).strip()] + [r.to_json() for r in tr.records]


def test_bad_protocol_transcripts_exit_2(tmp_path, capsys):
    lines = _lines()
    head = json.loads(lines[0])
    bad_head = copy.deepcopy(head)
    bad_head["protocol"]["rounds"][0] = {"Z": {"A": 1.0}}
    _fit_fails(_write(tmp_path, [json.dumps(bad_head)] + lines[1:]), capsys, match="is not an agent")
    text_head = copy.deepcopy(head)
    first = next(iter(text_head["protocol"]["rounds"][0].values()))
    first[next(iter(first))] = "0.5"
    _fit_fails(_write(tmp_path, [json.dumps(text_head)] + lines[1:]), capsys, match="must be a number")
    _fit_fails(_write(tmp_path, ['{"format": 2, "agents": ["A", "B"], "protocol": {}}'] + lines[1:]), capsys,
               match="line 1: 'schema_version' must be 1")
    _fit_fails(_write(tmp_path, [lines[0], lines[2], lines[1]] + lines[3:]), capsys, match="schedule expects")
    rec = json.loads(lines[3])
    rec["incoming"] = [x + 0.5 for x in rec["incoming"]]
    _fit_fails(_write(tmp_path, lines[:3] + [json.dumps(rec)] + lines[4:]), capsys,
               match="not recorded under this protocol")
    legacy = lines[1:]  # messages with a 'phase' but no header
    _fit_fails(_write(tmp_path, legacy), capsys, match="'phase' needs a protocol header")


def test_config_must_match_the_transcript_protocol(tmp_path, capsys):
    path = _write(tmp_path, _lines())
    cfg = tmp_path / "cfg.json"
    cfg.write_text((__import__("pathlib").Path(__file__).parent.parent / "examples" / "three_agents.json").read_text())
    _fit_fails(path, capsys, "--config", str(cfg), match="--config")


# --- llm-run under a protocol ----------------------------------------------------------------

TEXT_CONFIG = {"agents": [
    {"name": "A", "prompt": {"X": [[1, 0, 0.5], [0, 1, 0], [1, 1, 1], [0.5, -1, 0]], "y": [1, 2, 3.2, -1]}},
    {"name": "B", "prompt": {"X": [[2, 0, 0], [0, 1, 1], [1, -1, 0], [0, 0, 1]], "y": [-1, 0.5, -0.3, 2]}},
    {"name": "C", "prompt": {"X": [[1, 0.5, 0], [0, 1, -1], [1, 0, 1], [0, 0, 2]], "y": [0.3, -1, 0.2, 1]}}],
    "protocol": {"rounds": [{"A": {"B": 0.5, "C": 0.5}, "B": {"A": 0.6, "B": 0.4}}, {"C": {"A": 0.3, "B": 0.7}}],
                 "initial_messages": {"C": [1.0, -1.0, 0.5]}}}


@pytest.fixture
def server():
    s = ChatServer(lambda prompt, n, local: local(prompt))
    yield s
    s.close()


def test_llm_run_follows_the_protocol_and_fit_reads_it_back(tmp_path, capsys, server):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TEXT_CONFIG))
    out = tmp_path / "llm.jsonl"
    assert cli.main(["llm-run", str(cfg), "--turns", "25", "--out", str(out), "--endpoint", server.url,
                     "--model", "local-gd"]) == 0
    assert "75 messages from 3 agents over 25 rounds of 2 phase(s)" in capsys.readouterr().out
    tr = transcripts.read(out)
    assert tr.header["agents"] == ["A", "B", "C"] and len(tr.records) == 75 and server.requests == 75
    # The same text agents under the protocol simulator (an independent loop) give the same messages.
    system = config.parse(TEXT_CONFIG)
    agents = [text_protocol.TextAgent(a.name, a.geometry, text_protocol.gd_text_agent(0.5)) for a in system.agents]
    sim = simulate.run_protocol(agents, system.protocol, 25)
    rep = pt.replay(system.protocol, tr.records)
    assert np.max(np.abs(rep.rounds - sim)) <= BITWISE
    assert cli.main(["fit", str(out), "--bootstrap", "20", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for agent in system.agents:
        entry, H = doc["agents"][agent.name], agent.geometry.H
        assert np.max(np.abs(np.array(entry["M_hat"]) - (np.eye(3) - 0.5 * H))) < ROUNDED_FIT_TOL


def test_planted_sequential_writes_differ_from_the_simulator(tmp_path, monkeypatch):
    """Power: a runner whose listed agents write one after another (not at once) is caught."""
    cfg, out = tmp_path / "cfg.json", tmp_path / "seq.jsonl"
    cfg.write_text(json.dumps(TEXT_CONFIG))
    real_write = pt.Schedule.write

    def sequential(self, message):
        i = self.protocol.phases[self.phase][self.slot][0]
        self.m[i] = message  # planted: visible to the rest of the phase at once
        real_write(self, message)

    monkeypatch.setattr(pt.Schedule, "write", sequential)
    assert cli.main(["llm-run", str(cfg), "--turns", "5", "--out", str(out), "--backend", "local"]) == 0
    monkeypatch.undo()
    system = config.parse(TEXT_CONFIG)
    agents = [text_protocol.TextAgent(a.name, a.geometry, text_protocol.gd_text_agent(0.5)) for a in system.agents]
    sim = simulate.run_protocol(agents, system.protocol, 5)
    ends = np.array([[r.outgoing for r in transcripts.read(out).records if r.turn == t and r.agent == n][-1]
                     for t in range(5) for n in system.names]).reshape(sim.shape)
    assert np.max(np.abs(ends - sim)) > 1e-3


def test_llm_run_resume_under_a_protocol_continues_mid_phase(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TEXT_CONFIG))
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    args = ["--backend", "local"]
    assert cli.main(["llm-run", str(cfg), "--turns", "4", "--out", str(full), *args]) == 0
    lines = full.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:1 + 5]))  # header and 5 messages: round 1 stops inside phase 0
    assert cli.main(["llm-run", str(cfg), "--turns", "4", "--out", str(part), "--resume", *args]) == 0
    assert part.read_bytes() == full.read_bytes()
    part.write_text(lines[0])  # only the header
    assert cli.main(["llm-run", str(cfg), "--turns", "4", "--out", str(part), "--resume", *args]) == 0
    assert part.read_bytes() == full.read_bytes()
    other = copy.deepcopy(TEXT_CONFIG)
    other["protocol"]["rounds"][1]["C"] = {"A": 0.5, "B": 0.5}
    cfg.write_text(json.dumps(other))
    assert cli.main(["llm-run", str(cfg), "--turns", "5", "--out", str(part), "--resume", *args]) == 2
    assert "not recorded under this config's protocol" in capsys.readouterr().err


# --- attack under a protocol -------------------------------------------------------------------

def _attacked(system, doc, attacker: int) -> config.System:
    entry = doc["agent_entry"]
    geom = from_prompt(entry["prompt"]["X"], entry["prompt"]["y"])
    agents = list(system.agents)
    agents[attacker] = GDAgent(entry["name"], geom, np.array(entry["preconditioner"]))
    return config.System(tuple(agents), system.initial_message, system.protocol)


def _steer_errors(seed: int) -> float | None:
    """How far a simulation puts the victim from --point, relative to what the attack may promise
    (<= 1 passes; None: the attack was refused).

    The simulated victim (3000 rounds) must sit at the reported ``victim_fixed_point`` (prediction vs
    simulation, AGREEMENT_REL_TOL), and the reported residual ``|m_V* - p|`` must be float64 rounding
    amplified by cond G (STEER_ROUNDING_PER_COND); the larger of the two ratios is returned."""
    rng = np.random.default_rng(seed)
    K, d = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    s = protocol_random.system(rng, K, d, rho_max=0.8)
    victim = int(rng.integers(1, K))
    point = rng.standard_normal(d)
    try:
        doc = protocol_attack.plan_doc(s, "steer", point, None, seed, 0, s.names[victim])
    except InputError:
        return None
    last = simulate.run_protocol(_attacked(s, doc, 0).agents, s.protocol, 3000)[-1, victim]
    fixed = np.array(doc["victim_fixed_point"])
    sim_vs_predicted = np.max(np.abs(last - fixed)) / (AGREEMENT_REL_TOL * max(1.0, np.max(np.abs(fixed))))
    promised = STEER_ROUNDING_PER_COND * doc["sensitivity_condition"] * max(1.0, np.max(np.abs(point)))
    residual = np.max(np.abs(last - point)) / max(promised, AGREEMENT_REL_TOL * max(1.0, np.max(np.abs(point))))
    return float(max(sim_vs_predicted, residual))


ATTACK_SEEDS = list(range(700, 712))


def test_steer_target_places_the_victim_in_a_simulation():
    errors = [e for e in map(_steer_errors, ATTACK_SEEDS) if e is not None]
    assert len(errors) >= len(ATTACK_SEEDS) // 2  # most random protocols can be steered
    assert max(errors) <= 1


def test_planted_flipped_target_is_caught_by_the_simulation(monkeypatch):
    real = protocol_attack.steering_target
    monkeypatch.setattr(protocol_attack, "steering_target", lambda *a, **k: (-real(*a, **k)[0], real(*a, **k)[1]))
    errors = [e for e in map(_steer_errors, ATTACK_SEEDS) if e is not None]
    assert errors and min(errors) > 1


def test_steer_on_a_round_robin_protocol_is_c11():
    rng = np.random.default_rng(9)
    d = 3
    s = protocol_random.system(rng, 2, d)
    s = config.System(s.agents, s.initial_message, protocol.round_robin(s.names, s.initial_message))
    p = rng.standard_normal(d)
    doc = protocol_attack.plan_doc(s, "steer", p, None, 0, 0)
    w_c11, unreachable = attacks.steering_target(s.agents[1].M, s.agents[1].w_star, p)
    assert unreachable < 1e-12
    np.testing.assert_allclose(doc["predicted"]["agents"]["A"]["target"], w_c11, rtol=SAME_TOL, atol=SAME_TOL)
    assert doc["unreachable_residual_norm"] < SAME_TOL


def test_full_attack_makes_the_attacker_exact_under_any_protocol():
    rng = np.random.default_rng(12)
    s = protocol_random.system(rng, 3, 2, rho_max=0.8)
    doc = protocol_attack.plan_doc(s, "full", None, None, 0, 1)
    last = simulate.run_protocol(_attacked(s, doc, 1).agents, s.protocol, 50)[-1, 1]
    np.testing.assert_allclose(last, s.agents[1].w_star, atol=SAME_TOL)


DEBATE = "examples/protocol_debate.json"


def test_attack_cli_end_to_end_with_simulate(tmp_path, capsys):
    assert cli.main(["attack", DEBATE, "--kind", "steer", "--victim", "C", "--point", "[0.3, -0.2]"]) == 0
    doc = json.loads(capsys.readouterr().out)
    raw = json.loads(open(DEBATE).read())
    raw["agents"][0] = doc["agent_entry"]
    cfg = tmp_path / "attacked.json"
    cfg.write_text(json.dumps(raw))
    assert cli.main(["simulate", str(cfg), "--turns", "400"]) == 0
    last = json.loads(capsys.readouterr().out)["agents"]["C"]["messages"][-1]
    np.testing.assert_allclose(last, [0.3, -0.2], atol=AGREEMENT_REL_TOL)


@pytest.mark.parametrize("args, match", [
    (["--kind", "rank-one"], "C10 does not apply"),
    (["--kind", "steer", "--point", "[1, 1]"], "--victim = None: is required"),
    (["--kind", "steer", "--point", "[1, 1]", "--victim", "A"], "is the attacker itself"),
    (["--kind", "steer", "--point", "[1, 1]", "--victim", "Z"], "not an agent"),
    (["--kind", "steer", "--point", "[1, 1, 1]", "--victim", "B"], "--point"),
])
def test_attack_errors_under_a_protocol(args, match, capsys):
    assert cli.main(["attack", DEBATE, *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and match in err, err


def test_attack_on_a_victim_that_never_hears_the_attacker(tmp_path, capsys):
    raw = json.loads(open(DEBATE).read())
    raw["protocol"] = {"rounds": [{"A": {"B": 0.5, "C": 0.5}, "B": {"C": 1.0}, "C": {"B": 0.5, "C": 0.5}}]}
    cfg = tmp_path / "deaf.json"
    cfg.write_text(json.dumps(raw))
    assert cli.main(["attack", str(cfg), "--kind", "steer", "--victim", "C", "--point", "[1, 1]"]) == 2
    err = capsys.readouterr().err
    assert "smallest singular value) = 0.0" in err and "never hears A" in err and len(err.strip().splitlines()) == 1


def test_rank_one_applies_to_a_two_agent_round_robin_protocol(tmp_path, capsys):
    raw = json.loads(open("examples/two_agents.json").read())
    assert cli.main(["attack", "examples/two_agents.json", "--kind", "rank-one"]) == 0
    plain = json.loads(capsys.readouterr().out)
    raw["protocol"] = {"rounds": [{"B": {"A": 1}}, {"A": {"B": 1}}]}  # B speaks first: still the round robin
    cfg = tmp_path / "rr.json"
    cfg.write_text(json.dumps(raw))
    assert cli.main(["attack", str(cfg), "--kind", "rank-one"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["agent_entry"] == plain["agent_entry"]
    assert doc["predicted"]["agents"]["A"]["residual_norm"] < SAME_TOL  # C10: e_A = 0
    raw["protocol"] = {"rounds": [{"A": {"B": 0.5, "A": 0.5}}, {"B": {"A": 1}}]}  # anchored: not C10
    cfg.write_text(json.dumps(raw))
    assert cli.main(["attack", str(cfg), "--kind", "rank-one"]) == 2


# --- random protocols that no test above saw (Hypothesis draws the seed) -----------------------

from hypothesis import assume, given, settings, strategies as st  # noqa: E402

UNSEEN = st.integers(10**6, 2**32 - 1)


@settings(max_examples=8)
@given(seed=UNSEEN)
def test_fit_agrees_with_simulation_on_unseen_random_protocols(seed):
    s, tr = _noise_free_transcript(seed)
    rep = pt.replay(s.protocol, tr.records)
    if all(_affine_rank(U) == U.shape[1] + 1 for U in rep.inputs):
        assert _recovery_error(s, tr) <= FIT_EXACT_TOL
    else:  # the protocol leaves an agent's inputs in a subspace: the fit must say so, not guess
        with pytest.raises(InputError, match="not identified"):
            protocol_fit.fit(tr, s.protocol, 0.5, bootstrap=0, seed=0)


def _affine_rank(U) -> int:
    s = np.linalg.svd(np.hstack([U, np.ones((len(U), 1))]), compute_uv=False)
    return int(np.sum(s > 1e-9 * s[0]))


@settings(max_examples=8)
@given(seed=UNSEEN)
def test_steer_agrees_with_simulation_on_unseen_random_protocols(seed):
    error = _steer_errors(seed)
    assume(error is not None)  # a refused attack (diverging or singular) is tested above
    assert error <= 1


BAD_PROTOCOLS = [
    ({"rounds": [{"A": {"Z": 1.0}}, {"B": {"A": 1}, "C": {"B": 1}}]}, "source"),
    ({"rounds": [{"A": {"B": 1.0}, "B": {"A": 1}, "C": {"A": 1}}, {}]}, "empty phase"),
    ({"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}, "never speaks"),
    ({"rounds": [{"A": {"B": "1"}, "B": {"A": 1}, "C": {"A": 1}}]}, "must be a number"),
]


@pytest.mark.parametrize("proto, match", BAD_PROTOCOLS, ids=[m for _, m in BAD_PROTOCOLS])
def test_bad_protocols_exit_2_in_every_command(tmp_path, capsys, proto, match):
    raw = copy.deepcopy(TEXT_CONFIG)
    raw["protocol"] = proto
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps(raw))
    transcript = _write(tmp_path, _lines())
    for args in (["llm-run", str(cfg), "--turns", "3", "--out", str(tmp_path / "o.jsonl"), "--backend", "local"],
                 ["attack", str(cfg), "--kind", "full"],
                 ["fit", str(transcript), "--config", str(cfg), "--figure", str(tmp_path / "f.png")]):
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and match in err and "Traceback" not in err, (args, err)
    assert not (tmp_path / "o.jsonl").exists()


def test_resume_across_protocol_and_round_robin_is_refused(tmp_path, capsys):
    cfg, plain = tmp_path / "cfg.json", tmp_path / "plain.json"
    cfg.write_text(json.dumps(TEXT_CONFIG))
    plain.write_text(json.dumps({"agents": TEXT_CONFIG["agents"]}))
    out = tmp_path / "t.jsonl"
    assert cli.main(["llm-run", str(cfg), "--turns", "2", "--out", str(out), "--backend", "local"]) == 0
    assert cli.main(["llm-run", str(plain), "--turns", "3", "--out", str(out), "--backend", "local", "--resume"]) == 2
    assert "recorded under a protocol; this config has none" in capsys.readouterr().err
    legacy = tmp_path / "legacy.jsonl"
    assert cli.main(["llm-run", str(plain), "--turns", "2", "--out", str(legacy), "--backend", "local"]) == 0
    assert cli.main(["llm-run", str(cfg), "--turns", "3", "--out", str(legacy), "--backend", "local", "--resume"]) == 2
    assert "not recorded under this config's protocol" in capsys.readouterr().err


def test_protocol_where_no_message_survives_a_round(tmp_path, capsys):
    """Every agent's last word is erased by a zero-weight phase: the round map is constant (Phi = 0).

    predict (float64 and mpmath) reports rate 0 and the constant message, which simulate reaches at once.
    (Before the fix: a traceback from the spectral radius of an empty matrix.)"""
    cfg = json.loads((ROOT / "examples" / "two_agents.json").read_text())
    cfg["protocol"] = {"rounds": [{"A": {"A": 0.0}, "B": {"A": 0.0}}, {"A": {"B": 1.0}, "B": {"A": 1.0}}]}
    path = tmp_path / "dead.json"
    path.write_text(json.dumps(cfg))
    assert cli.main(["predict", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["contraction_rate"] == 0.0 and doc["converges"]
    assert cli.main(["simulate", str(path), "--turns", "3"]) == 0
    sim = json.loads(capsys.readouterr().out)
    assert cli.main(["predict", str(path), "--precision", "30"]) == 0
    precise = json.loads(capsys.readouterr().out)
    for name, entry in doc["agents"].items():
        last = np.array(sim["agents"][name]["messages"][-1])
        assert np.allclose(entry["fixed_point"], last, rtol=SAME_TOL, atol=SAME_TOL)
        assert np.allclose([float(x) for x in precise["agents"][name]["fixed_point"]], last,
                           rtol=SAME_TOL, atol=SAME_TOL)
