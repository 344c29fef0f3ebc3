"""``llm-run`` and ``fit`` on random protocols (issue 26): the schedule is drawn from ``--seed`` and
recorded in every message, a resumed run is byte-identical to an uninterrupted one, ``fit`` reads
such transcripts back and recovers the true maps, mean and spread, bad transcripts exit 2 with one
line, and planted wrong variants fail."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest

from numerics import api
from numerics.dynamics import noisy
from numerics.fit import protocol_fit
from numerics.io import transcripts
from numerics.llm import text_protocol
from numerics.protocol import config, random_moments, random_simulate, random_transcript as rt
from numerics.protocol.random_spec import RandomProtocol
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent

# The runner and the simulator sum the same terms in the same order: equal bit for bit.
BITWISE = 0.0
# A noisy fit (1500 rounds, noise std 0.05): C18's bar for a fitted spread (tests/test_blackbox.py),
# relative to the largest entry; the planted noiseless spread is off by 100% there.
SPREAD_RTOL = 0.3
# The fitted stationary mean against the true one: the map errors (~1e-2 at this noise and length)
# moved through (I - mean map)^{-1}; measured 3e-3; a mean under the wrong law is off by 0.054.
MEAN_TOL = 0.03

PROMPTS = {
    "A": {"X": [[1, 0, 0.5], [0, 1, 0], [1, 1, 1], [0.5, -1, 0]], "y": [1, 2, 3.2, -1]},
    "B": {"X": [[2, 0, 0], [0, 1, 1], [1, -1, 0], [0, 0, 1]], "y": [-1, 0.5, -0.3, 2]},
    "C": {"X": [[1, 0.5, 0], [0, 1, -1], [1, 0, 1], [0, 0, 2]], "y": [0.3, -1, 0.2, 1]},
}
# The group-chat pattern: a Markov chain over who speaks, the speaker hearing the other two, and a
# round in which nobody speaks (its turn leaves no line in the transcript).
MARKOV = {"agents": [{"name": n, "prompt": p} for n, p in PROMPTS.items()],
          "protocol": {"random": [
              {"name": "A speaks", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"B speaks": 0.7, "C speaks": 0.3}},
              {"name": "B speaks", "rounds": [{"B": {"A": 0.5, "C": 0.5}}],
               "next": {"A speaks": 0.5, "C speaks": 0.3, "nobody": 0.2}},
              {"name": "C speaks", "rounds": [{"C": {"A": 0.5, "B": 0.5}}], "next": {"A speaks": 0.9, "B speaks": 0.1}},
              {"name": "nobody", "rounds": [], "next": {"A speaks": 0.6, "nobody": 0.4}}],
              "initial_messages": {"C": [1.0, -1.0, 0.5]}}}
# Independent draws: a random speaker, or everyone at once in two phases.
INDEPENDENT = {"agents": MARKOV["agents"],
               "protocol": {"random": [
                   {"probability": 0.3, "rounds": [{"A": {"B": 1.0}}]},
                   {"probability": 0.3, "rounds": [{"B": {"C": 1.0}}]},
                   {"probability": 0.2, "rounds": [{"C": {"A": 0.5, "B": 0.5}}]},
                   {"probability": 0.2, "rounds": [{"A": {"C": 1.0}, "B": {"A": 1.0}}, {"C": {"B": 1.0}}]}]}}

CYCLE = [{"A": {"B": 1.0}}, {"B": {"C": 1.0}}, {"C": {"A": 1.0}}]  # a deterministic protocol of the same agents


def _cfg(tmp_path, raw, name="cfg.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def _run(cfg, out, turns, seed, *extra):
    return cli.main(["llm-run", str(cfg), "--turns", str(turns), "--out", str(out), "--backend", "local",
                     "--seed", str(seed), *extra])


@pytest.mark.parametrize("raw", [MARKOV, INDEPENDENT], ids=["markov", "independent"])
def test_llm_run_draws_simulate_schedule_and_records_it(tmp_path, capsys, raw):
    cfg, out = _cfg(tmp_path, raw), tmp_path / "t.jsonl"
    turns, seed = 40, 7
    assert _run(cfg, out, turns, seed) == 0
    tr = transcripts.read(out)
    rp = config.parse(raw).random
    # the header carries the protocol with its law
    assert rt.same(rt.from_header(tr.header, 3), rp)
    # the schedule simulate --seed draws (random_simulate: its own inverse CDF and loop)
    schedule = random_simulate.draw_schedule(rp, turns, np.random.default_rng(seed))
    for rec in tr.records:
        assert rec.alternative == schedule[rec.turn] and rec.label == rp.labels[rec.alternative]
        assert rec.meta["schedule_seed"] == seed
    spoken = {t for t in range(turns) if rp.alternatives[schedule[t]].phases}
    assert {r.turn for r in tr.records} == spoken
    if raw is MARKOV:
        assert len(spoken) < turns  # some rounds were empty: their turns are skipped
    # the same text agents under the simulator (run_random, an independent loop) give the same messages
    agents = [text_protocol.TextAgent(n, a.geometry, text_protocol.gd_text_agent(0.5))
              for n, a in zip(rp.names, config.parse(raw).agents)]
    sim = random_simulate.run_random(agents, rp, turns, schedule)[1:]
    rep = rt.replay(rp, tr.records)
    last = max(spoken) + 1  # the replay ends at the last message; later (empty) rounds leave no line
    assert np.max(np.abs(rep.rounds - sim[:last])) <= BITWISE
    assert np.array_equal(rep.alternatives[[t for t in range(last) if t in spoken]], schedule[sorted(spoken)])


def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path, capsys):
    cfg = _cfg(tmp_path, MARKOV)
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    assert _run(cfg, full, 30, 11) == 0
    lines = full.read_text().splitlines(keepends=True)
    records = [json.loads(x) for x in lines[1:]]
    gaps = [n for n in range(1, len(records)) if records[n]["turn"] > records[n - 1]["turn"] + 1]
    assert gaps  # a cut there resumes after empty rounds
    for cut in (0, 1, 4, gaps[0], len(records) - 1):
        part.write_text("".join(lines[:1 + cut]))
        assert _run(cfg, part, 30, 11, "--resume") == 0
        assert part.read_bytes() == full.read_bytes(), cut
    # a shorter run continued to more rounds: the same as one long run
    short = tmp_path / "short.jsonl"
    assert _run(cfg, short, 12, 11) == 0
    assert _run(cfg, short, 30, 11, "--resume") == 0
    assert short.read_bytes() == full.read_bytes()
    capsys.readouterr()
    # the local agent's noise continues too: a noisy resumed run is the uninterrupted one
    noisy_full, noisy_part = tmp_path / "nf.jsonl", tmp_path / "np.jsonl"
    assert _run(cfg, noisy_full, 30, 11, "--local-noise", "0.05") == 0
    noisy_lines = noisy_full.read_text().splitlines(keepends=True)
    for cut in (3, gaps[0], len(noisy_lines) - 2):
        noisy_part.write_text("".join(noisy_lines[:1 + cut]))
        assert _run(cfg, noisy_part, 30, 11, "--local-noise", "0.05", "--resume") == 0
        assert noisy_part.read_bytes() == noisy_full.read_bytes(), cut
    # another seed would draw another chain: refused
    part.write_text("".join(lines[:6]))
    assert _run(cfg, part, 30, 12, "--resume") == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "schedule seed" in err and len(err.strip().splitlines()) == 1


def test_planted_noise_restarted_on_resume_differs(tmp_path, monkeypatch):
    """Power: a resume whose local agents restart their noise stream writes other messages."""
    cfg = _cfg(tmp_path, MARKOV)
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    assert _run(cfg, full, 20, 4, "--local-noise", "0.05") == 0
    monkeypatch.setattr(text_protocol.GDTextAgent, "skip", lambda self, answers, d: None)  # planted
    part.write_text("".join(full.read_text().splitlines(keepends=True)[:8]))
    assert _run(cfg, part, 20, 4, "--local-noise", "0.05", "--resume") == 0
    assert part.read_bytes() != full.read_bytes()


def test_planted_resume_from_the_initial_law_differs(tmp_path, monkeypatch):
    """Power: a resume that redraws its first round from the initial law (not P[last]) is caught."""
    cfg = _cfg(tmp_path, MARKOV)
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    assert _run(cfg, full, 30, 11) == 0
    lines = full.read_text().splitlines(keepends=True)
    real = rt.uniform_drawer

    def forgetful(rp, u):
        draw = real(rp, u)
        return lambda turn, previous: draw(turn, None)  # planted: the chain forgets its last alternative

    monkeypatch.setattr(rt, "uniform_drawer", forgetful)
    differs = 0
    for cut in range(3, 12):
        part.write_text("".join(lines[:1 + cut]))
        assert _run(cfg, part, 30, 11, "--resume") == 0
        differs += part.read_bytes() != full.read_bytes()
    assert differs > 0


def _noisy_transcript(raw, turns=1500, sigma=0.05, seed=3):
    system = config.parse(raw)
    rp, d = system.random, system.d
    S = sigma ** 2 * np.eye(d)
    agents = [noisy.NoisyAgent(a, S, 50 + k) for k, a in enumerate(system.agents)]
    return system, rp, S, rt.run(agents, rp, turns, seed=seed)


@pytest.mark.parametrize("raw", [MARKOV, INDEPENDENT], ids=["markov", "independent"])
def test_fit_recovers_maps_mean_and_spread_of_a_simulated_transcript(raw):
    system, rp, S, tr = _noisy_transcript(raw)
    report = protocol_fit.fit(tr, rp, 0.5, bootstrap=0, seed=1, level=0.99)  # map intervals: t, no bootstrap
    for iv, a in zip(report.map_interval, system.agents):
        assert iv.contains(np.hstack([a.M, a.c[:, None]])).all()
    M, c = np.stack([a.M for a in system.agents]), np.stack([a.c for a in system.agents])
    truth = random_moments.moments(M, c, rp, np.stack([S] * 3))
    p = report.prediction
    assert p.plateau is not None and p.mean_rate is not None
    assert abs(p.rate - truth.contraction_rate) < MEAN_TOL and abs(p.mean_rate - truth.mean_rate) < MEAN_TOL
    assert np.max(np.abs(p.plateau - truth.mean)) < MEAN_TOL
    np.testing.assert_allclose(p.spread, truth.covariance, rtol=SPREAD_RTOL,
                               atol=SPREAD_RTOL * np.max(truth.covariance))
    if raw is MARKOV:  # here the noise makes most of the spread (the schedule alone: measured 2%)
        # planted: the spread without the fitted noise (the schedule's spread only) misses the truth
        noiseless = predict_noiseless(p.fits, rp)
        assert not np.allclose(noiseless, truth.covariance, rtol=SPREAD_RTOL,
                               atol=SPREAD_RTOL * np.max(truth.covariance))
    else:  # here the schedule makes most of the spread (measured 91%) and moves the mean
        # planted: the law forgotten (the same alternatives drawn uniformly) misses the true mean
        uniform = RandomProtocol(rp.names, rp.alternatives, rp.labels, np.full(rp.P.shape, 1 / rp.n_alt),
                                 np.full(rp.n_alt, 1 / rp.n_alt), False, rp.initial)
        assert np.max(np.abs(protocol_fit.predict_random(p.fits, uniform).plateau - truth.mean)) > MEAN_TOL


def predict_noiseless(fits, rp):
    M, c = np.stack([f.M_hat for f in fits]), np.stack([f.c_hat for f in fits])
    return random_moments.moments(M, c, rp).covariance


def test_fit_cli_on_an_llm_run_transcript(tmp_path, capsys):
    cfg, out = _cfg(tmp_path, INDEPENDENT), tmp_path / "t.jsonl"
    assert _run(cfg, out, 200, 2, "--local-noise", "0.05") == 0
    capsys.readouterr()
    assert cli.main(["fit", str(out), "--bootstrap", "5", "--json", "--config", str(cfg), "--level", "0.999"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["converges"] and 0 < doc["mean_rate"] <= doc["contraction_rate"] < 1
    assert doc["protocol"]["random"][3]["probability"] == 0.2
    system = config.parse(INDEPENDENT)
    for a in system.agents:  # the text agent is a GD step of 0.5 on its prompt (written with 4 decimals)
        entry, truth = doc["agents"][a.name], np.eye(3) - 0.5 * a.geometry.H
        iv = entry["map_interval"]
        assert np.all((np.array(iv["low"])[:, :3] <= truth) & (truth <= np.array(iv["high"])[:, :3]))
        assert len(entry["predicted_covariance"]) == 3 and entry["fixed_point_interval"] is not None
    markov = tmp_path / "m.jsonl"
    assert _run(_cfg(tmp_path, MARKOV, "m.json"), markov, 60, 2, "--local-noise", "0.05") == 0
    text = api.fit_transcript(markov, bootstrap=0).to_text()  # the CLI's text, without a second figure
    assert "random protocol: 4 alternatives (a Markov chain)" in text and "mean rate" in text


def _lines(raw=INDEPENDENT, turns=8):
    _, _, _, tr = _noisy_transcript(raw, turns=turns)
    return [transcripts.header_line(tr.header).strip()] + [r.to_json() for r in tr.records]


def _edit(line, **changes):
    obj = json.loads(line)
    obj.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del obj[k]
    return json.dumps(obj)


def _fails(tmp_path, capsys, lines, match, *extra):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert cli.main(["fit", str(path), "--figure", str(tmp_path / "bad.png"), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and match in err, err


def test_bad_random_transcripts_exit_2(tmp_path, capsys):
    lines = _lines()
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], alternative=None, label=None)] + lines[2:],
           "record their round's drawn alternative")
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], label="other")] + lines[2:], "label")
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], alternative=9, label="9")] + lines[2:],
           "is not an alternative")
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], alternative=True, label="1")] + lines[2:],
           "'alternative' must be an integer")
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], label=None)] + lines[2:], "go together")
    first = json.loads(lines[1])
    other = (first["alternative"] + 1) % 4
    _fails(tmp_path, capsys, [lines[0], _edit(lines[1], alternative=other, label=str(other))] + lines[2:],
           "transcript message 1")
    # a turn without messages, but every alternative has a speaker
    _fails(tmp_path, capsys, [lines[0]] + [x for x in lines[1:] if json.loads(x)["turn"] != 1], "has no message")
    # two alternatives in one turn (alternative 3 has three messages a round)
    many = _lines(turns=40)
    turns = [json.loads(x)["turn"] for x in many[1:]]
    n = next(n for n in range(1, len(turns)) if turns[n] == turns[n - 1]) + 1  # a round's second line
    alt = (json.loads(many[n])["alternative"] + 1) % 4
    _fails(tmp_path, capsys, many[:n] + [_edit(many[n], alternative=alt, label=str(alt))] + many[n + 1:],
           "earlier messages of turn")
    # alternatives on a transcript without a protocol header
    _fails(tmp_path, capsys, lines[1:], "need a protocol header line first")
    # a zero-probability alternative drawn
    zero = copy.deepcopy(INDEPENDENT)
    alts = zero["protocol"]["random"]
    k = first["alternative"]
    alts[(k + 1) % 4]["probability"] += alts[k]["probability"]
    alts[k]["probability"] = 0.0
    head = transcripts.header_line(rt.header(config.parse(zero).random)).strip()
    _fails(tmp_path, capsys, [head] + lines[1:], "probability 0")
    # a deterministic config for a random transcript
    det = {"agents": MARKOV["agents"], "protocol": {"rounds": CYCLE}}
    _fails(tmp_path, capsys, lines, "names a different protocol", "--config", str(_cfg(tmp_path, det, "det.json")))


def test_a_resume_across_random_and_deterministic_protocols_is_refused(tmp_path, capsys):
    det = {"agents": MARKOV["agents"], "protocol": {"rounds": CYCLE}}
    rand, fixed = _cfg(tmp_path, MARKOV, "r.json"), _cfg(tmp_path, det, "d.json")
    out = tmp_path / "t.jsonl"
    assert _run(rand, out, 3, 0) == 0
    assert _run(fixed, out, 5, 0, "--resume") == 2
    assert "random protocol" in capsys.readouterr().err
    assert _run(fixed, out, 3, 0, "--force") == 0
    assert _run(rand, out, 5, 0, "--resume") == 2
    assert "not recorded under this config's protocol" in capsys.readouterr().err


def test_agent_noise_key_is_accepted_by_llm_run_and_fit(tmp_path, capsys):
    raw = copy.deepcopy(INDEPENDENT)
    raw["agents"][0]["noise"] = 0.01
    raw["agents"][1]["noise"] = [[0.01, 0, 0], [0, 0.02, 0], [0, 0, 0.01]]
    cfg, out = _cfg(tmp_path, raw), tmp_path / "t.jsonl"
    assert _run(cfg, out, 60, 0, "--local-noise", "0.05") == 0
    assert api.fit_transcript(out, bootstrap=0, config=cfg).report.prediction.mean_rate is not None
    det = {"agents": raw["agents"], "protocol": {"rounds": CYCLE}}
    cfg2, out2 = _cfg(tmp_path, det, "det.json"), tmp_path / "d.jsonl"
    assert _run(cfg2, out2, 40, 0, "--local-noise", "0.05") == 0
    assert api.fit_transcript(out2, bootstrap=0, config=cfg2).report.prediction.mean_rate is None


def test_random_documents_use_the_documented_vocabulary(tmp_path, capsys):
    """fit --json of a random transcript, attack and the sweep columns of a random base: schema_version
    first, every top-level and per-agent key listed in docs/config.rst, no former name."""
    from test_vocabulary import CONFIG_RST, documented, former_names

    cfg, out = _cfg(tmp_path, INDEPENDENT), tmp_path / "t.jsonl"
    assert _run(cfg, out, 80, 0, "--local-noise", "0.05") == 0
    capsys.readouterr()
    docs = {}
    docs["fit"] = json.loads(api.fit_transcript(out, bootstrap=0).to_json())  # what fit --json prints
    attack_cfg = _cfg(tmp_path, json.loads((ROOT / "examples" / "random_attack.json").read_text()), "a.json")
    assert cli.main(["attack", str(attack_cfg), "--kind", "steer", "--victim", "C", "--point", "[0.3, -0.2]"]) == 0
    docs["attack"] = json.loads(capsys.readouterr().out)
    for name, doc in docs.items():
        assert next(iter(doc)) == "schema_version" and doc["schema_version"] == 1, name
        assert documented(doc) == [] and not former_names(doc), (name, documented(doc))
    assert "mean_rate" in docs["fit"] and "mean_rate" in docs["attack"]["predicted"]
    from numerics.sweep import measures, spec as sweep_spec
    spec = sweep_spec.load(ROOT / "examples" / "sweep_random.json")
    for column in measures.columns(spec):
        generic = column.replace("_A", "_<n>").replace("_B", "_<n>").replace("_C", "_<n>")
        assert column in ("point", "seed") or "." in column or f"``{generic}``" in CONFIG_RST, column


def test_llm_run_over_http_draws_the_same_schedule(tmp_path, capsys):
    """The chat-completions client (a local test server answering with the GD text agent) under a random
    protocol: the same alternatives and messages as the local backend with the same seed."""
    from chat_server import ChatServer

    server = ChatServer(lambda prompt, n, local: local(prompt))
    try:
        cfg = _cfg(tmp_path, MARKOV)
        http, local = tmp_path / "http.jsonl", tmp_path / "local.jsonl"
        assert cli.main(["llm-run", str(cfg), "--turns", "12", "--out", str(http), "--endpoint", server.url,
                         "--model", "local-gd", "--seed", "9"]) == 0
        assert _run(cfg, local, 12, 9) == 0
        a, b = transcripts.read(http).records, transcripts.read(local).records
        assert len(a) == len(b) == server.requests
        assert [(r.turn, r.alternative, r.label) for r in a] == [(r.turn, r.alternative, r.label) for r in b]
        assert np.max(np.abs(np.array([r.outgoing for r in a]) - np.array([r.outgoing for r in b]))) <= BITWISE
    finally:
        server.close()


def test_run_conversation_draws_from_its_seed(tmp_path):
    """The API's run_conversation draws a random protocol's schedule from its ``seed``, as llm-run does."""
    out = tmp_path / "api.jsonl"
    api.run_conversation(MARKOV, 15, out, seed=7)
    schedule = random_simulate.draw_schedule(config.parse(MARKOV).random, 15, np.random.default_rng(7))
    assert all(r.alternative == schedule[r.turn] for r in transcripts.read(out).records)
