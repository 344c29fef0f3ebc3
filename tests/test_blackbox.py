"""Noisy agents (C15), transcripts, fitting (C18) and the LLM protocol, end to end and on bad input."""
import json
import threading
import warnings

import numpy as np
import pytest

from chat_server import ChatServer
from numerics.dynamics import lyapunov, noisy
from numerics.experiments.blackbox import text_pair
from numerics.fit import fitting
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.llm import client as llm_client, text_protocol
from numerics.protocol import simulate
from proofs_check.cli import main as cli
from proofs_check.verification.instances import random_gd_agent
from theory.core import model
from theory.stochastic import noisy as noisy_theory

FIT_EXACT_TOL = 1e-6  # the bar for noise-free agents
# Text replies carry 4 decimals (+-5e-5); the noise-free transcript's design has condition
# ~3e3 (the transient decays), so the rounding moves the fitted entries by up to ~1e-2.
ROUNDED_FIT_TOL = 0.05
SECRET = "sk-test-never-print-this-0123456789"


def gd_pair(seed: int, d: int):
    rng = np.random.default_rng(seed)
    return [random_gd_agent(rng, d, "A"), random_gd_agent(rng, d, "B")], rng


# --- C15 -----------------------------------------------------------------------------------

def test_lyapunov_solution_satisfies_the_derived_equation_for_three_agents():
    rng = np.random.default_rng(0)
    agents = [random_gd_agent(rng, 3, n) for n in "ABC"]
    M = np.stack([a.M for a in agents])
    S = np.stack([(lambda R: R @ R.T / 3)(rng.standard_normal((3, 3))) for _ in range(3)])
    P = lyapunov.stationary_covariances(M, S)
    for i in range(3):
        env = {f"M_{k + 1}": M[k] for k in range(3)}
        env.update({f"S_{k + 1}": S[k] for k in range(3)}, P=P[i])
        Ss = [model.matrix(f"S_{k + 1}") for k in range(3)]
        rhs = model.evaluate(noisy_theory.lyapunov_rhs(3, i, model.matrix("P"), Ss), env, model.numpy_ops())
        assert np.allclose(rhs, P[i], rtol=1e-12, atol=1e-14)


def test_lyapunov_refuses_a_divergent_round():
    with pytest.raises(InputError, match="contraction rate rho"):
        lyapunov.discrete_lyapunov(1.1 * np.eye(2), np.eye(2))


def test_noisy_agent_is_seeded_and_checks_its_covariance():
    (A, _), _ = gd_pair(1, 2)
    a1, a2 = noisy.NoisyAgent(A, 0.1 * np.eye(2), 7), noisy.NoisyAgent(A, 0.1 * np.eye(2), 7)
    assert np.array_equal(a1.respond(np.zeros(2)), a2.respond(np.zeros(2)))
    with pytest.raises(InputError, match="A.noise_covariance"):
        noisy.NoisyAgent(A, -np.eye(2), 0)


# --- transcripts ---------------------------------------------------------------------------

def test_transcript_round_trip(tmp_path):
    pair, _ = gd_pair(2, 3)
    tr = transcripts.from_run(pair, np.zeros(3), simulate.run(pair, np.zeros(3), 5), {"run": "test"})
    back = transcripts.read(tr.write(tmp_path / "t.jsonl"))
    assert back.agents == ["A", "B"] and len(back.records) == 10 and back.records[3].meta["run"] == "test"
    assert np.array_equal(back.pairs("B")[0][1], tr.pairs("B")[0][1])
    assert np.array_equal(back.records[1].incoming, back.records[0].outgoing)  # B hears A


GOOD = '{"turn": 0, "agent": "A", "incoming": [0, 0], "outgoing": [1, 2]}'
BAD_LINES = {
    "malformed JSON": '{"turn": 0, "agent": "A", ',
    "missing field(s) 'agent'": '{"turn": 0, "incoming": [0, 0], "outgoing": [1, 2]}',
    "differs from the first message's dimension 2":
        '{"turn": 1, "agent": "A", "incoming": [0, 0, 0], "outgoing": [1, 2, 3]}',
    "non-finite": '{"turn": 1, "agent": "A", "incoming": [NaN, 0], "outgoing": [1, 2]}',
    "too large for float64": '{"turn": 1, "agent": "A", "incoming": [1e999, 0], "outgoing": [1, 2]}',
    "'turn' must be an integer": '{"turn": -1, "agent": "A", "incoming": [0, 0], "outgoing": [1, 2]}',
    "message key = 'extra': is not allowed here":
        '{"turn": 1, "agent": "A", "incoming": [0, 0], "outgoing": [1, 2], "extra": 1}',
}


@pytest.mark.parametrize("problem", sorted(BAD_LINES))
def test_bad_transcript_lines_are_reported_by_number(tmp_path, capsys, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([GOOD, GOOD, BAD_LINES[problem], GOOD]) + "\n")
    with pytest.raises(InputError) as err:
        transcripts.read(path)
    assert "line 3: " in str(err.value) and problem.split("'")[0] in str(err.value)
    assert cli.main(["fit", str(path)]) == 2
    stderr = capsys.readouterr().err
    assert "line 3" in stderr and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_every_bad_line_is_listed(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([GOOD, "not json", GOOD, '{"turn": 0}']) + "\n")
    with pytest.raises(InputError, match=r"(?s)2 bad line.*line 2: malformed JSON.*line 4: missing field"):
        transcripts.read(path)


# --- fitting (C18) -------------------------------------------------------------------------

def test_fit_recovers_noise_free_gd_maps(tmp_path, capsys):
    pair, rng = gd_pair(3, 4)
    v0 = rng.standard_normal(4)
    path = transcripts.from_run(pair, v0, simulate.run(pair, v0, 40)).write(tmp_path / "gd.jsonl")
    assert cli.main(["fit", str(path), "--json", "--bootstrap", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["agents"]) == [a.name for a in pair]  # keyed by name, in speaking order (as predict)
    for agent in pair:
        entry = doc["agents"][agent.name]
        assert np.max(np.abs(np.array(entry["M_hat"]) - agent.M)) <= FIT_EXACT_TOL
        assert np.max(np.abs(np.array(entry["c_hat"]) - agent.c)) <= FIT_EXACT_TOL
        assert np.max(np.abs(np.array(entry["target"]) - agent.w_star)) <= FIT_EXACT_TOL
    assert (tmp_path / "gd-fit.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_of_noisy_agents_holds_the_true_maps_in_its_intervals():
    pair, _ = gd_pair(4, 2)
    agents = [noisy.NoisyAgent(a, 0.05 ** 2 * np.eye(2), 10 + k) for k, a in enumerate(pair)]
    tr = transcripts.from_run(agents, np.zeros(2), simulate.run(agents, np.zeros(2), 1500))
    report = fitting.fit_transcript(tr, bootstrap=300, seed=1, level=0.99)
    for iv, a in zip(report.map_interval, pair):
        assert iv.contains(np.hstack([a.M, a.c[:, None]])).all()
    P = lyapunov.stationary_covariances(np.stack([a.M for a in pair]), np.stack([a.S for a in agents]))
    assert np.allclose(report.prediction.spread, P, rtol=0.3)  # C15 from fitted maps and residuals
    assert report.plateau_interval.contains(report.observed_mean).mean() >= 0.5


def test_fit_says_how_many_more_messages_are_needed():
    with pytest.raises(InputError, match="record at least 2 more"):
        fitting.fit_map(np.zeros((2, 3)), np.zeros((2, 3)), "A")
    W = np.tile([1.0, 2.0, 3.0], (10, 1))  # ten copies of one message: affine rank 0
    with pytest.raises(InputError, match="at least 3 more messages"):
        fitting.fit_map(W, W, "A")
    W = np.random.default_rng(0).standard_normal((5, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitting.fit_map(W, W, "A")
    assert any("degrees of freedom" in str(w.message) for w in caught)


# --- the text protocol ---------------------------------------------------------------------

@pytest.mark.parametrize("reply, expected", [
    ("w = [1.5, -2]", [1.5, -2]),
    ("Sure! After one step: w = [1.5e-1, -2.0].\nLet me know.", [0.15, -2]),
    ("First [1, 2, 3] was wrong; the answer is [0.5, 0.25]", [0.5, 0.25]),
    ('{"w": [0.5, 0.25]}', [0.5, 0.25]),
])
def test_parse_vector(reply, expected):
    assert np.allclose(text_protocol.parse_vector(reply, 2), expected)


@pytest.mark.parametrize("reply", ["I cannot do that.", "w = [1, 2, 3]", "w = [nan, 1]", "",
                                   # loose numbers in prose are never a vector (issue: both became vectors)
                                   "0.5, 0.25", "Using 3 examples, the result is 0.5.",
                                   "After 1 step, w = [nan, 0.5]", "w = [inf, 0.5]", "w = [1e999, 0.5]",
                                   "w = [0.5, 0.25] then [see above]", '{"w": [NaN, 1]}', '{"w": [true, 1]}'])
def test_unparseable_reply_is_a_clear_error(reply):
    with pytest.raises(text_protocol.ReplyError, match="reply"):
        text_protocol.parse_vector(reply, 2)


def test_reask_is_bounded():
    calls = []
    pair = text_pair(np.random.default_rng(0), 0)
    geometry = pair[0].geometry

    def flaky(prompt):
        calls.append(prompt)
        return "hmm" if len(calls) == 1 else "w = [0.1, 0.2, 0.3]"

    agent = text_protocol.TextAgent("A", geometry, flaky, max_reasks=2)
    assert np.allclose(agent.respond(np.zeros(3)), [0.1, 0.2, 0.3]) and agent.reasks == 1
    assert "could not be read" in calls[1]
    never = []
    agent = text_protocol.TextAgent("A", geometry, lambda p: never.append(p) or "no", max_reasks=2)
    with pytest.raises(text_protocol.ReplyError, match="unreadable after 3 attempts"):
        agent.respond(np.zeros(3))
    assert len(never) == 3


# --- the HTTP client, against a loopback server --------------------------------------------

def _Server(fail=(), delay=0.0) -> ChatServer:
    """Chat-completions on 127.0.0.1: a GD step written as text; the status codes in ``server.fail`` first."""
    local_agent = text_protocol.gd_text_agent(0.5, decimals=4)

    def answer(prompt, n, _local):
        if delay:
            threading.Event().wait(delay)
        if server.fail:
            return server.fail.pop(0), '{"error": "try later"}', {}
        return local_agent(prompt)

    server = ChatServer(answer)
    server.fail = list(fail)
    return server


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


CONFIG = {"agents": [
    {"name": "A", "prompt": {"X": [[1, 0, 0.5], [0, 1, 0], [1, 1, 1], [0.5, -1, 0]], "y": [1, 2, 3.2, -1]}},
    {"name": "B", "prompt": {"X": [[2, 0, 0], [0, 1, 1], [1, -1, 0], [0, 0, 1]], "y": [-1, 0.5, -0.3, 2]}}]}


def test_llm_run_against_loopback_then_fit(tmp_path, capsys, monkeypatch, server):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    out = tmp_path / "llm.jsonl"
    monkeypatch.setenv(llm_client.ENV_KEY, SECRET)
    assert cli.main(["llm-run", str(cfg), "--turns", "30", "--out", str(out), "--endpoint", server.url,
                     "--model", "local-gd"]) == 0
    assert server.auth and all(a == f"Bearer {SECRET}" for a in server.auth)
    assert cli.main(["fit", str(out), "--bootstrap", "50"]) == 0
    printed = capsys.readouterr()
    assert SECRET not in out.read_text() + printed.out + printed.err
    tr = transcripts.read(out)
    assert len(tr.records) == 60 and tr.records[0].meta["model"] == "local-gd"
    assert "updated weights" in tr.records[0].meta["reply"]
    # The text agent's map is a GD step on the prompt, up to 4-decimal rounding.
    X = np.array(CONFIG["agents"][0]["prompt"]["X"], dtype=float)
    fit = fitting.fit_map(*tr.pairs("A"), "A")
    assert np.max(np.abs(fit.M_hat - (np.eye(3) - 0.5 * X.T @ X / len(X)))) < ROUNDED_FIT_TOL
    assert fit.r2 > 0.9999


def test_client_retries_then_succeeds_and_never_leaks_the_key():
    s = _Server(fail=[503, 429])
    try:
        waits = []
        client = llm_client.ChatClient(s.url, "m", SECRET, timeout=5, retries=2, sleep=waits.append)
        prompt = text_protocol.format_prompt(np.eye(2), [1.0, 2.0], [0.0, 0.0])
        assert "w = [" in client(prompt) and s.requests == 3 and waits == [0.5, 1.0]
        assert SECRET not in repr(client)
        s.fail = [401]
        with pytest.raises(llm_client.LLMError, match="HTTP 401") as err:
            client(prompt)
        assert SECRET not in str(err.value) and s.requests == 4  # no retry on 401
    finally:
        s.close()


def test_client_timeouts_are_bounded():
    s = _Server(delay=1.0)
    try:
        client = llm_client.ChatClient(s.url, "m", "", timeout=0.2, retries=1, sleep=lambda t: None)
        with pytest.raises(llm_client.LLMError, match="failed after 2 attempt"):
            client("x")
    finally:
        s.close()
    with pytest.raises(InputError, match="LLM timeout"):
        llm_client.ChatClient("http://127.0.0.1:1", "m", timeout=1e6)
    with pytest.raises(InputError, match="LLM endpoint"):
        llm_client.ChatClient("ftp://x", "m")


def test_llm_run_without_endpoint_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(llm_client.ENV_ENDPOINT, raising=False)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    assert cli.main(["llm-run", str(cfg), "--turns", "3", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "A2AD_LLM_ENDPOINT" in capsys.readouterr().err


def test_lsa_and_helper_runs_can_be_recorded_and_fitted(tmp_path):
    from numerics.interventions.helper_policies import NewtonPolicy, RelabellingHelper
    from numerics.lsa.agent import LSAAgent, gd_weights

    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 2))
    lsa = LSAAgent("A", gd_weights(0.4 * np.eye(2)), X, X @ [1.0, -1.0])
    helper = RelabellingHelper("B", rng.standard_normal((8, 2)), 0.3 * np.eye(2),
                               NewtonPolicy(lsa.geometry.H, lsa.geometry.b, alpha=0.5))
    v0 = rng.standard_normal(2)
    tr = transcripts.from_run([lsa, helper], v0, simulate.run([lsa, helper], v0, 12))
    back = transcripts.read(tr.write(tmp_path / "mixed.jsonl"))
    assert back.records[0].meta["kind"] == "LSAAgent" and back.records[1].meta["kind"] == "RelabellingHelper"
    assert back.records[0].prompt is not None and back.records[1].prompt is None  # the helper relabels
    fit = fitting.fit_map(*back.pairs("A"), "A")
    assert np.max(np.abs(fit.M_hat - lsa.M)) <= FIT_EXACT_TOL
