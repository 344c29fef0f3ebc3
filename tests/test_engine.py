"""One engine for every config (numerics/protocol/engine.py).

1. A config and the same config with its round robin written out as ``protocol`` give identical
   ``predict`` (float64 and ``--precision 30``), ``simulate``, ``fit`` and ``attack`` documents,
   divergence diagnosis included, on random configs (K = 2..4, d = 1..4, steps_per_turn 1..3):
   convergent ones, an overshooting agent, a direction no prompt informs, and coupling-only
   divergence (C6). Planted differences (the written-out protocol taking the general path, as
   before the engine; a changed number or word in a document) make the comparison fail.
2. The fast path (closed forms C1, C2, C15, C17 for a round robin in any speaking order) agrees with
   the general block-row round map on the same protocol.
3. The diagnosis names the cause under any protocol, and no numerics module imports itself back.
"""
from __future__ import annotations

import ast
import copy
import json
from dataclasses import fields
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

from numerics.dynamics import noisy
from numerics.fit import fitting, output as fit_output, protocol_fit
from numerics.interventions import protocol_attack
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.protocol import config, engine, prediction, random_protocols, simulate, spec, transcript as pt

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("convergent", "overshoot", "uninformed", "coupling")
SEEDS = range(48)  # 12 configs of each kind
SIM_TURNS = 6  # short: the divergent configs must not overflow float64 (their radii are at most ~10^3 per round)
DIGITS = 30
# Fast path vs general round map: the same round map composed in another order and solved by another
# elimination; float64 rounding of O(K d) products and one solve of a system with rho <= 0.9.
FAST_VS_GENERAL_RTOL = 1e-10
# mpmath at 40 digits: the two forms agree far below the printed precision.
PRECISE_RTOL = mp.mpf(10) ** -30


# ---- random configs of four kinds ---------------------------------------------------------

def _spd(rng, d: int, null: np.ndarray | None = None) -> np.ndarray:
    A = rng.standard_normal((d, d + 1))
    H = A @ A.T / (d + 1) + 0.05 * np.eye(d)
    if null is not None:  # project out the shared null vector: H v = 0
        P = np.eye(d) - np.outer(null, null)
        H = P @ H @ P
    return H


def random_raw(seed: int) -> dict:
    """A CONFIG.json object of kind ``KINDS[seed % 4]`` (K = 2..4, d = 1..4, steps 1..3)."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    K, d = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    if kind == "coupling":
        d = max(d, 2)  # scalars commute: coupling-only divergence needs d >= 2 (C6)
    names = [f"A{k}" for k in range(K)]
    null = None
    if kind == "uninformed":
        null = rng.standard_normal(d)
        null /= np.linalg.norm(null)
    agents = []
    for k, name in enumerate(names):
        H = np.eye(d) if kind == "coupling" else _spd(rng, d, null)
        lam = max(float(np.linalg.eigvalsh(H).max()), 1e-12)
        gamma = (float(rng.uniform(0.3, 1.2)) / lam * np.eye(d))
        if kind == "overshoot" and k == 1:
            gamma = 3.2 / lam * np.eye(d)  # Gamma H has an eigenvalue 3.2 > 2: M overshoots
        if kind == "coupling":  # two non-normal contracting maps whose product does not contract (C6)
            gamma = 0.5 * np.eye(d)
            gamma[0, 1] = -3.0 if k % 2 == 0 else 0.0
            gamma[1, 0] = -3.0 if k % 2 == 1 else 0.0  # M = I - Gamma (H = I): radius 0.5 each
        agents.append({"name": name, "geometry": H.tolist(), "target": rng.standard_normal(d).tolist(),
                       "preconditioner": gamma.tolist(), "steps_per_turn": int(rng.integers(1, 4))})
    return {"agents": agents, "initial_message": rng.standard_normal(d).tolist()}


def written_out(raw: dict, seed: int) -> dict:
    """The same config with its round robin written out (every other seed with ``initial_messages``:
    the last agent's is the config's ``initial_message``, the others' are never read)."""
    out = copy.deepcopy(raw)
    names = [a["name"] for a in raw["agents"]]
    out["protocol"] = {"rounds": [{names[i]: {names[i - 1]: 1.0}} for i in range(len(names))]}
    if seed % 2:
        rng = np.random.default_rng(seed + 10**6)
        d = len(raw["initial_message"])
        initial = {n: rng.standard_normal(d).tolist() for n in names[:-1]}
        out["protocol"]["initial_messages"] = {**initial, names[-1]: raw["initial_message"]}
    return out


def _outcome(f, *args):
    """A command's document, or its one-line error (InputError): both forms must give the same."""
    try:
        return f(*args)
    except InputError as e:
        return f"InputError: {e}"


def documents(raw: dict, tmp_path: Path) -> dict:
    """predict, predict --precision, simulate of a raw config, the way the CLI computes them."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    system = config.load(path)
    return {"predict": _outcome(prediction.predict, system),
            "precise": _outcome(prediction.predict, config.load_exact(path), DIGITS),
            "simulate": _outcome(prediction.simulate_doc, system, SIM_TURNS)}


def differences(a: dict, b: dict) -> list[str]:
    """The documents of ``a`` that are not identical to ``b``'s (JSON text, so every digit and word counts)."""
    return [k for k in a if json.dumps(a[k], sort_keys=True) != json.dumps(b[k], sort_keys=True)]


def _all_differences(tmp_path) -> dict[int, list[str]]:
    out = {}
    for seed in SEEDS:
        raw = random_raw(seed)
        diff = differences(documents(raw, tmp_path), documents(written_out(raw, seed), tmp_path))
        if diff:
            out[seed] = diff
    return out


def test_random_configs_cover_every_kind(tmp_path):
    """The generator's kinds really are what they claim: the diagnosis names each cause."""
    expected = {"overshoot": "outside the unit disc", "uninformed": "informed by no prompt",
                "coupling": "coupling itself"}
    seen = {k: 0 for k in KINDS}
    for seed in SEEDS:
        kind = KINDS[seed % len(KINDS)]
        doc = prediction.predict(config.parse(random_raw(seed)))
        if kind == "convergent":
            seen[kind] += doc["converges"]
        elif not doc["converges"]:
            assert expected[kind] in doc["reason"], (seed, doc["reason"])
            seen[kind] += 1
    assert all(n >= 6 for n in seen.values()), seen  # at least half of each kind is what it claims


def test_written_out_round_robin_gives_identical_documents(tmp_path):
    assert _all_differences(tmp_path) == {}


class _GeneralOnly(spec.Protocol):
    """A protocol the engine does not recognise as a round robin (the planted second path)."""


def test_planted_second_path_is_caught(tmp_path, monkeypatch):
    """Power: written-out protocols evaluated by the general round map (as before the engine: its own
    numbers and the P1 wording) give documents that differ from the plain config's."""
    real_of, real_cycle = engine.of, engine.cycle
    monkeypatch.setattr(engine, "of", lambda s: real_of(s) if s.protocol is None else
                        _GeneralOnly(**{f.name: getattr(s.protocol, f.name) for f in fields(s.protocol)}))
    monkeypatch.setattr(engine, "cycle", lambda p: None if isinstance(p, _GeneralOnly) else real_cycle(p))
    diff = _all_differences(tmp_path)
    assert len(diff) >= len(SEEDS) // 2, diff
    assert any("predict" in v for v in diff.values())


@pytest.mark.parametrize("plant", ["digit", "word", "sign", "nan", "drop"])
def test_planted_document_change_is_caught(tmp_path, plant):
    """Power of :func:`differences`: one changed digit, word, sign, a NaN or a dropped key is a difference."""
    raw = random_raw(1)  # an overshooting agent: the document has a reason
    a = documents(raw, tmp_path)
    b = copy.deepcopy(a)
    entry = b["predict"]["agents"]["A0"]
    if plant == "digit":
        b["predict"]["contraction_rate"] = np.nextafter(b["predict"]["contraction_rate"], 0)
    elif plant == "word":
        b["predict"]["reason"] = b["predict"]["reason"].replace("overshoots", "overshot")
    elif plant == "sign":
        entry["target"][0] = -entry["target"][0]
    elif plant == "nan":
        b["simulate"]["agents"]["A0"]["residual_norms"][0] = float("nan")
    else:
        del b["precise"]["reason"]
    assert not a["predict"]["converges"] and differences(a, b)


# ---- fit and attack on a few configs --------------------------------------------------------

def _noisy(system, seed: int):
    return [noisy.NoisyAgent(a, 0.01 * np.eye(system.d), seed + k) for k, a in enumerate(system.agents)]


@pytest.mark.parametrize("seed", [3, 11, 21])
def test_fit_of_the_written_out_round_robin_is_identical(seed):
    """The transcript of the plain config (no header) and of its round robin written out (header, phases)
    give the same fit document."""
    rng = np.random.default_rng(seed)
    K, d = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    s = random_protocols.system(rng, K, d)
    plain = config.System(s.agents, rng.standard_normal(d))
    rr = spec.round_robin(plain.names, plain.initial_message)
    turns = 60
    a = transcripts.from_run(plain.agents, plain.initial_message,
                             simulate.run(_noisy(plain, seed), plain.initial_message, turns))
    b = pt.run(_noisy(plain, seed), rr, turns)
    assert b.header is not None and a.header is None
    doc_a = fit_output.report_doc(fitting.fit_transcript(a, bootstrap=20, seed=seed))
    doc_b = fit_output.report_doc(protocol_fit.fit(b, pt.from_header(b.header, d), 0.5, bootstrap=20, seed=seed))
    assert json.dumps(doc_a) == json.dumps(doc_b)


@pytest.mark.parametrize("kind,point", [("full", None), ("rank-one", None), ("steer", [0.3, -0.2])])
def test_attack_on_the_written_out_round_robin_is_identical(tmp_path, kind, point):
    raw = json.loads((ROOT / "examples" / "two_agents.json").read_text())
    docs = []
    for r in (raw, written_out(raw, 0)):
        system = config.parse(r)
        docs.append(protocol_attack.attack_doc(system, kind, point, None, 4, 1 if kind == "rank-one" else 0))
    assert json.dumps(docs[0]) == json.dumps(docs[1])


def test_full_attack_on_three_agents_is_identical_written_out():
    raw = json.loads((ROOT / "examples" / "three_agents.json").read_text())
    a, b = (protocol_attack.attack_doc(config.parse(r), "full", None, None, 0, 1) for r in (raw, written_out(raw, 0)))
    assert json.dumps(a) == json.dumps(b) and a["claim"].startswith("C9")


# ---- fast path vs the general round map -----------------------------------------------------

def _cycle_protocol(rng, K: int, d: int) -> spec.Protocol:
    order = [int(i) for i in rng.permutation(K)]
    names = [f"A{k}" for k in range(K)]
    rounds = [{names[order[p]]: {names[order[p - 1]]: 1.0}} for p in range(K)]
    return spec.build(rounds, names, d, np.zeros(d))


def _general(protocol):
    return _GeneralOnly(**{f.name: getattr(protocol, f.name) for f in fields(protocol)})


@pytest.fixture
def general_path(monkeypatch):
    """A :class:`_GeneralOnly` protocol takes the general round map even when it is a round robin."""
    real = engine.cycle
    monkeypatch.setattr(engine, "cycle", lambda p: None if isinstance(p, _GeneralOnly) else real(p))
    return monkeypatch


@pytest.mark.parametrize("seed", range(20))
def test_fast_path_agrees_with_the_general_round_map(seed, general_path):
    """Closed forms on the agents in speaking order vs the block-row round map (any speaking order)."""
    rng = np.random.default_rng(seed)
    K, d = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    proto = _cycle_protocol(rng, K, d)
    assert engine.cycle(proto) is not None and engine.cycle(_general(proto)) is None
    agents = random_protocols.agents(rng, proto.names, d)
    M, c = np.stack([a.M for a in agents]), np.stack([a.c for a in agents])
    M = M / max(1.0, engine.rate(M, proto) / 0.9) ** (1 / K)  # rho <= 0.9: a fixed point to compare
    fast, general = engine.evaluate_float(M, c, proto), engine.evaluate_float(M, c, _general(proto))
    assert fast[0] == pytest.approx(general[0], rel=FAST_VS_GENERAL_RTOL)
    np.testing.assert_allclose(fast[1], general[1], rtol=FAST_VS_GENERAL_RTOL, atol=FAST_VS_GENERAL_RTOL)
    S = np.stack([np.eye(d) * (k + 1) * 0.01 for k in range(K)])
    np.testing.assert_allclose(engine.stationary_covariance(M, S, proto),
                               engine.stationary_covariance(M, S, _general(proto)),
                               rtol=FAST_VS_GENERAL_RTOL, atol=FAST_VS_GENERAL_RTOL)
    with mp.workdps(40):
        Ms = [mp.matrix(m.tolist()) for m in M]
        cs = [mp.matrix(v.tolist()) for v in c]
        (r1, z1), (r2, z2) = engine.evaluate_precise(Ms, cs, proto), engine.evaluate_precise(Ms, cs, _general(proto))
        assert abs(r1 - r2) <= PRECISE_RTOL
        assert max(mp.norm(a - b) for a, b in zip(z1, z2)) <= PRECISE_RTOL * max(1, max(mp.norm(a) for a in z1))


def test_planted_wrong_fast_path_is_caught(general_path):
    """Power: a fast path that forgets the speaking order (agents in list order) disagrees."""
    rng = np.random.default_rng(5)
    d = 2
    names = ["A0", "A1", "A2"]
    proto = spec.build([{"A0": {"A1": 1.0}}, {"A2": {"A0": 1.0}}, {"A1": {"A2": 1.0}}], names, d, np.zeros(d))
    agents = random_protocols.agents(rng, names, d)
    M, c = np.stack([a.M for a in agents]), np.stack([a.c for a in agents])
    general = engine.evaluate_float(M, c, _general(proto))[1]
    general_path.setattr(engine, "cycle", lambda p: None if isinstance(p, _GeneralOnly) else tuple(range(p.K)))
    fast = engine.evaluate_float(M, c, proto)[1]
    assert not np.allclose(fast, general, rtol=FAST_VS_GENERAL_RTOL, atol=FAST_VS_GENERAL_RTOL)


def test_cycle_needs_weight_exactly_one_and_each_agent_once():
    d, names = 2, ["A", "B"]
    ok = spec.build([{"B": {"A": 1.0}}, {"A": {"B": 1}}], names, d, np.zeros(d))
    assert engine.cycle(ok) == (1, 0) and not engine.is_round_robin(ok)
    for rounds in ([{"A": {"B": 1.0}}, {"B": {"A": 0.999}}], [{"A": {"B": 1.0}}, {"B": {"A": 1.0, "B": 0.0}}],
                   [{"A": {"B": 1.0}, "B": {"A": 1.0}}], [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"A": {"B": 1.0}}],
                   [{"A": {"A": 1.0}}, {"B": {"B": 1.0}}]):
        assert engine.cycle(spec.build(rounds, names, d, np.zeros(d))) is None, rounds


# ---- the diagnosis under any protocol --------------------------------------------------------

def _system(H, gammas, rounds, steps=None):
    names = [f"A{k}" for k in range(len(H))]
    raw = {"agents": [{"name": n, "geometry": np.asarray(h).tolist(), "target": [1.0] * len(h),
                       "preconditioner": g, "steps_per_turn": (steps or [1] * len(H))[k]}
                      for k, (n, h, g) in enumerate(zip(names, H, gammas))],
           "protocol": {"rounds": rounds}}
    return config.parse(raw)


SIMULTANEOUS = [{"A0": {"A1": 1.0}, "A1": {"A0": 1.0}}]


@pytest.mark.parametrize("system,cause", [
    (_system([np.eye(2), np.eye(2)], [0.5, 4.0], SIMULTANEOUS),
     "agent A1's own per-turn map M_A1 has an eigenvalue of modulus 3 outside"),
    (_system([[[1, 0], [0, 0]], [[1, 0], [0, 0]]], [0.5, 0.5], [{"A0": {"A1": 0.6, "A0": 0.6}}, {"A1": {"A0": 1.0}}]),
     "informed by no prompt"),
    (_system([np.eye(2), np.eye(2)], [0.5, 0.5], [{"A0": {"A1": 5.0}}, {"A1": {"A0": 1.0}}]),
     "the listening weights alone amplify"),
    (_system([np.eye(2), np.eye(2)], [[[0.5, -3.0], [0.0, 0.5]], [[0.5, 0.0], [-3.0, 0.5]]], SIMULTANEOUS),
     "coupling itself"),
])
def test_diagnosis_names_the_cause_under_a_protocol(system, cause):
    for doc in (prediction.predict(system), prediction.predict(system, DIGITS)):
        assert not doc["converges"] and "(P1)" in doc["reason"] and cause in doc["reason"], doc["reason"]


def test_uninformed_direction_is_no_cause_when_the_weights_damp_it():
    """A null vector shared by every H_i (e_3 here) is not the cause when the listening weights alone
    contract on it (each agent hears half a message, rate 0.25): the coupling of the informed block is (C6)."""
    H = np.diag([1.0, 1.0, 0.0])
    upper, lower = np.eye(3) * 0.5, np.eye(3) * 0.5
    upper[0, 1], lower[1, 0] = -3.0, -3.0
    system = _system([H, H], [upper.tolist(), lower.tolist()], [{"A0": {"A1": 0.5}}, {"A1": {"A0": 0.5}}])
    doc = prediction.predict(system)
    assert engine.weights_rate(system.protocol) == pytest.approx(0.25)
    assert not doc["converges"] and "coupling itself" in doc["reason"], doc["reason"]
    assert "is informed by no prompt" not in doc["reason"] and "no prompt informs" in doc["reason"]


def test_no_import_cycle_between_numerics_modules():
    """Every import (also inside functions) of a numerics module by another: the graph has no cycle."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "numerics").rglob("*.py")}
    graph = {m: set() for m in modules}
    for m, p in modules.items():
        for node in ast.walk(ast.parse(p.read_text())):
            names = ([f"{node.module}.{a.name}" for a in node.names] + [node.module]
                     if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            graph[m] |= {n for n in names if n in modules and n != m and modules[n].name != "__init__.py"}
    state = {}

    def visit(m, path):
        state[m] = "open"
        for n in graph[m]:
            assert state.get(n) != "open", " -> ".join(path + [n])
            if n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize("rho,text,shown", [
    (1 + 3.2e-13, None, "rho = 1 + 3.2e-13 > 1"),  # rounds to 1 at 6 digits: the excess is printed
    (1.5, None, "rho = 1.5 > 1"),
    (1 + 3.2e-13, mp.nstr(mp.mpf(1) + mp.mpf("3.2e-13"), 6), "rho = 1.0 + 3.2e-13 > 1"),  # --precision's text
])
def test_a_rate_above_one_never_reads_as_one(rho, text, shown):
    from numerics.protocol import engine, prediction
    from numerics.protocol.config import parse

    system = parse({"agents": [{"name": "A", "geometry": [[1, 0], [0, 1]], "target": [1, 0], "preconditioner": 3.0},
                               {"name": "B", "geometry": [[1, 0], [0, 1]], "target": [0, 1], "preconditioner": 0.5}]})
    M, _ = prediction.stacked_finite(system)
    reason = engine.diagnose(rho, engine.of(system), M, [a.geometry.H for a in system.agents], system.names, text)
    assert shown in reason and "rho = 1 >" not in reason, reason
