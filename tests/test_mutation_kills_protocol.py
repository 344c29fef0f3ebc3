"""What ``predict`` prints under a protocol, against the simulated agents (mutation killers).

``make mutation`` (docs/mutation.rst) found that no verify method reads the ``predict`` document of a
protocol config, its ``--precision`` form, or the divergence ``reason``: wrong variants of
numerics/protocol/engine.py, prediction.py and evaluate.py passed. These checks read the documents
as a user gets them and compare every field with an oracle that never calls the engine:

* the round map is probed on the simulator (:func:`numerics.protocol.simulate.run_protocol`, which
  only calls ``agent.respond``): one round from the zero state gives ``r``, one round from each unit
  state gives a column of ``Phi``; the rate is ``rho(Phi)`` and the fixed point solves
  ``z = Phi z + r`` (the round map is affine, so the probe is exact up to rounding);
* the reason's numbers (an agent's own spectral radius, the listening weights' rate, the direction
  no prompt informs) are recomputed here from the config's matrices and weights.

Configs: random protocols (numerics.protocol.random_protocols: any weights, sums other than 1, 1-3
steps per turn, K = 2..4), round robins in another speaking order, one-agent phases that are not a
cycle, and divergent configs of each cause.
"""
from __future__ import annotations

import dataclasses
import json
import re

import mpmath as mp
import numpy as np
import pytest

from numerics.io import jsonio
from numerics.protocol import config, engine, prediction, random_protocols, simulate, spec

# Probe vs engine: the same affine map, composed by the simulator (O(P K) products per column)
# versus the engine's block rows, solved once with rho <= 0.85: float64 rounding, amplified by
# 1 / (1 - rho) <= 7 and the conditioning of random SPD geometries (cond <= 100).
FLOAT_RTOL = 1e-9
# --precision 30 against the float64 probe: bounded by the probe's own float64 error.
PRECISE_RTOL = 1e-9
DIGITS = 30
# The reason prints radii and rates with 6 (the named agent, rho) or 3 (the listed radii) digits.
SIX_DIGITS, THREE_DIGITS = 5e-6, 5e-3


def probe(system) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi, r)`` of the round map on the stacked state (K d), from one simulated round per column."""
    protocol = engine.of(system)
    K, d = len(system.agents), system.d

    def one_round(x: np.ndarray) -> np.ndarray:
        p = dataclasses.replace(protocol, initial=x.reshape(K, d))
        return simulate.run_protocol(system.agents, p, 1)[0].reshape(-1)

    r = one_round(np.zeros(K * d))
    Phi = np.column_stack([one_round(e) - r for e in np.eye(K * d)])
    return Phi, r


def oracle_rate(system) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(probe(system)[0]))))


def oracle(system) -> tuple[float, np.ndarray]:
    Phi, r = probe(system)
    rho = float(np.max(np.abs(np.linalg.eigvals(Phi))))
    z = np.linalg.solve(np.eye(len(r)) - Phi, r).reshape(len(system.agents), system.d)
    return rho, z


def _raw(H, gammas, rounds=None, steps=None, targets=None):
    names = [chr(ord("A") + k) for k in range(len(H))]
    raw = {"agents": [{"name": n, "geometry": np.asarray(h, dtype=float).tolist(),
                       "target": (targets[k] if targets else [1.0 - 0.5 * k] * len(h)),
                       "preconditioner": g, "steps_per_turn": (steps or [1] * len(H))[k]}
                      for k, (n, h, g) in enumerate(zip(names, H, gammas))],
           "initial_message": [0.3] * len(H[0])}
    if rounds is not None:
        raw["protocol"] = {"rounds": rounds}
    return raw


def _spd(seed: int, d: int) -> list:
    A = np.random.default_rng(seed).standard_normal((d, d))
    return (A @ A.T / d + 0.5 * np.eye(d)).tolist()


def random_systems():
    out = []
    for seed, (K, d) in enumerate([(2, 1), (2, 2), (3, 2), (3, 3), (4, 2), (2, 3)]):
        out.append(random_protocols.system(np.random.default_rng(1000 + seed), K, d, rho_max=0.85))
    return out


def special_systems():
    H = [_spd(1, 2), _spd(2, 2), _spd(3, 2)]
    G = [[[0.5, 0.1], [0.1, 0.4]], 0.6, [[0.3, 0.0], [0.0, 0.7]]]
    cases = {
        # a round robin in the order C, A, B (each hears the previous speaker with weight 1): the fast path
        "permuted_cycle": _raw(H, G, [{"C": {"B": 1}}, {"A": {"C": 1}}, {"B": {"A": 1}}], steps=[1, 2, 3]),
        # one agent per phase, but B hears C (not A, the previous speaker): not a cycle
        "one_agent_phases": _raw(H, G, [{"A": {"C": 1}}, {"B": {"C": 1}}, {"C": {"B": 1}}], steps=[2, 1, 1]),
        # a cycle whose weights are not 1: not a round robin
        "damped_cycle": _raw(H, G, [{"A": {"C": 0.75}}, {"B": {"A": 0.75}}, {"C": {"B": 0.75}}]),
        # the round robin itself, without a protocol key, with 3 steps per turn
        "round_robin": _raw(H, G, None, steps=[3, 1, 2]),
        # the round robin written out in list order (weight 1.0 as a JSON decimal)
        "written_out": _raw(H, G, [{"A": {"C": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], steps=[3, 1, 2]),
        # simultaneous phases with weights summing to 1.5 and to 0.5
        "simultaneous": _raw(H, G, [{"A": {"B": 0.9, "C": 0.6}, "B": {"C": 0.5}}, {"C": {"A": 0.5, "B": 0.5}}]),
        # K phases, each agent first in one of them, but the first phase has two speakers: not a cycle
        "two_speakers_first": _raw(H[:2], G[:2], [{"A": {"B": 1}, "B": {"A": 0.5}}, {"B": {"A": 1}}]),
        # one agent per phase, A hearing nothing (an empty row hears 0): not a cycle
        "empty_row": _raw(H[:2], G[:2], [{"A": {}}, {"B": {"A": 1}}], steps=[2, 1]),
        # nobody hears anybody: no live agent, rate 0, the fixed point is one answer to silence
        "no_live": _raw(H[:2], G[:2], [{"A": {}, "B": {}}]),
        # a cycle where A also hears B: two sources, not a round robin
        "cycle_extra_source": _raw(H, G, [{"A": {"C": 1, "B": 0.3}}, {"B": {"A": 1}}, {"C": {"B": 1}}]),
    }
    return {k: config.parse(v) for k, v in cases.items()}


SYSTEMS = {f"random{i}": s for i, s in enumerate(random_systems())} | special_systems()


def _check_entries(doc, system, z, rtol, number=float):
    assert list(doc["agents"]) == system.names
    for i, agent in enumerate(system.agents):
        entry = doc["agents"][system.names[i]]
        fp = np.array([number(x) for x in entry["fixed_point"]], dtype=float)
        res = np.array([number(x) for x in entry["residual"]], dtype=float)
        target = np.array([number(x) for x in entry["target"]], dtype=float)
        scale = max(1.0, float(np.linalg.norm(z)))
        np.testing.assert_allclose(target, agent.w_star, rtol=0, atol=1e-15 * scale)
        np.testing.assert_allclose(fp, z[i], rtol=0, atol=rtol * scale)
        np.testing.assert_allclose(res, z[i] - agent.w_star, rtol=0, atol=rtol * scale)  # sign: fixed point - target
        assert abs(number(entry["residual_norm"]) - np.linalg.norm(z[i] - agent.w_star)) <= rtol * scale


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_predict_float64_matches_the_simulated_round_map(name):
    system = SYSTEMS[name]
    rho, z = oracle(system)
    assert rho < 0.9  # a convergent instance (the generator's bound; the special ones are contracting)
    doc = prediction.predict(system)
    assert doc["converges"] is True and "reason" not in doc and doc["precision"] == "float64"
    assert doc["dimension"] == system.d
    assert abs(doc["contraction_rate"] - rho) <= FLOAT_RTOL
    _check_entries(doc, system, z, FLOAT_RTOL)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_rate_alone_is_the_probed_rate(name):
    """``engine.rate`` (the rate without a fixed point: sweep and attack read it) against the probe."""
    system = SYSTEMS[name]
    M, _ = system.stacked()
    assert abs(engine.rate(M, engine.of(system)) - oracle_rate(system)) <= FLOAT_RTOL


@pytest.mark.parametrize("name", ["random1", "random3", "random4", "permuted_cycle", "one_agent_phases",
                                  "damped_cycle", "round_robin", "simultaneous", "no_live", "empty_row"])
def test_predict_precise_matches_the_simulated_round_map(name):
    system = SYSTEMS[name]
    rho, z = oracle(system)
    doc = prediction.predict(system, DIGITS)
    assert doc["converges"] is True and "reason" not in doc and doc["precision"] == f"mpmath {DIGITS} digits"
    assert abs(float(mp.mpf(doc["contraction_rate"])) - rho) <= PRECISE_RTOL
    assert all(len(x.lstrip("-").replace(".", "").split("e")[0]) >= DIGITS
               for x in doc["agents"][system.names[0]]["fixed_point"])  # 30 significant digits printed
    _check_entries(doc, system, z, PRECISE_RTOL, number=lambda x: float(mp.mpf(x)))


# ---- the divergence reason ----------------------------------------------------------------------

def weights_rate(rounds, names) -> float:
    """rho of the listening weights alone (every M_i = I, c_i = 0, d = 1), composed phase by phase here."""
    K = len(names)
    R = np.eye(K)
    for phase in rounds:
        step = np.eye(K)
        for listener, row in phase.items():
            i = names.index(listener)
            step[i] = 0.0
            for source, w in row.items():
                step[i, names.index(source)] += w
        R = step @ R
    return float(np.max(np.abs(np.linalg.eigvals(R))))


def own_radius(H, G, s=1) -> float:
    """Spectral radius of ``(I - Gamma H)^s`` (a scalar ``G`` is ``G I``)."""
    H = np.asarray(H, dtype=float)
    Gamma = G * np.eye(len(H)) if np.ndim(G) == 0 else np.asarray(G, dtype=float)
    M = np.linalg.matrix_power(np.eye(len(H)) - Gamma @ H, s)
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _reason(raw):
    system = config.parse(raw)
    rho = oracle_rate(system)
    docs = [prediction.predict(system), prediction.predict(system, DIGITS)]
    for doc in docs:
        assert doc["converges"] is False
        assert all(e["fixed_point"] is None and e["residual"] is None and e["residual_norm"] is None
                   for e in doc["agents"].values())
        assert abs(float(mp.mpf(doc["contraction_rate"])) - rho) <= FLOAT_RTOL * max(1.0, rho)
    return rho, [d["reason"] for d in docs]


def _number(pattern, text) -> float:
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return float(m.group(1))


NON_NORMAL = [[[0.5, -3.0], [0.0, 0.5]], [[0.5, 0.0], [-3.0, 0.5]]]  # radius 0.5 each, product rho > 1 (C6)
SIMULTANEOUS = [{"A": {"B": 1.0}, "B": {"A": 1.0}}]


@pytest.mark.parametrize("rounds,head", [(None, "(C1)"), (SIMULTANEOUS, "(P1)")])
@pytest.mark.parametrize("G,s", [([0.5, 3.5], 2), ([0.2, 2.5], 1)])
def test_reason_names_the_overshooting_agent(rounds, head, G, s):
    """B's own map (I - Gamma_B H_B)^s has radius 6.25 (3.5, two steps) or 1.5 (2.5, one step); A's 0.25 or 0.8."""
    H = [np.eye(2).tolist(), np.diag([1.0, 0.5]).tolist()]
    rho, reasons = _reason(_raw(H, G, rounds, steps=[s, s]))
    assert rho > 1
    for text in reasons:
        assert text.startswith("contraction rate rho = ") and head in text and " > 1: " in text, text
        assert abs(_number(r"rho = ([0-9.e+-]+) > 1", text) - rho) <= SIX_DIGITS * rho
        assert "agent B's own per-turn map M_B has an eigenvalue of modulus" in text, text
        assert abs(_number(r"modulus ([0-9.e+-]+) outside", text) - own_radius(H[1], G[1], s)) <= SIX_DIGITS * 7


@pytest.mark.parametrize("rounds", [None, [{"A": {"B": 0.6, "A": 0.6}}, {"B": {"A": 1.0}}]])
def test_reason_names_the_uninformed_direction(rounds):
    H = [[[1.0, 0.0], [0.0, 0.0]], [[0.5, 0.0], [0.0, 0.0]]]  # e_2 is informed by no prompt
    rho, reasons = _reason(_raw(H, [0.5, 0.5], rounds))
    for text in reasons:
        assert "is informed by no prompt" in text, text
        v = np.array([float(x) for x in re.search(r"the direction \[([^\]]*)\]", text).group(1).split(",")])
        assert np.linalg.norm(np.asarray(H) @ v, axis=-1).max() <= 1e-3 and abs(np.linalg.norm(v) - 1) <= 1e-2
        if rounds is None:
            assert "is 1 to within" in text and "listening weights" not in text  # rho = 1: e_2 is kept
        else:
            assert "(P1)" in text
            rate = _number(r"of spectral radius ([0-9.e+-]+)", text)
            assert abs(rate - weights_rate(rounds, ["A", "B"])) <= SIX_DIGITS * rate


@pytest.mark.parametrize("rounds,head", [(None, "(C6)"), (SIMULTANEOUS, "(P1)")])
def test_reason_names_the_coupling(rounds, head):
    H = [np.eye(2).tolist(), np.eye(2).tolist()]
    rho, reasons = _reason(_raw(H, NON_NORMAL, rounds))
    assert rho > 1
    for text in reasons:
        assert "coupling itself is unstable" in text and text.endswith(head), text
        radii = [float(x) for x in re.search(r"spectral radii ([^)]*)\)", text).group(1).split(", ")]
        assert np.allclose(radii, [own_radius(h, g) for h, g in zip(H, NON_NORMAL)], atol=THREE_DIGITS)
        assert "amplify" not in text and "no prompt" not in text


@pytest.mark.parametrize("rounds,gammas", [([{"A": {"B": 5.0}}, {"B": {"A": 1.0}}], [0.5, 0.5]),
                                           ([{"A": {"B": 1.5}}, {"B": {"A": 1.0}}], NON_NORMAL)])
def test_reason_names_amplifying_weights(rounds, gammas):
    H = [np.eye(2).tolist(), np.eye(2).tolist()]
    rho, reasons = _reason(_raw(H, gammas, rounds))
    for text in reasons:
        assert "coupling itself is unstable" in text and "(P1)" in text, text
        rate = _number(r"the round map has rho ([0-9.e+-]+)", text)
        assert abs(rate - weights_rate(rounds, ["A", "B"])) <= SIX_DIGITS * rate


def test_reason_names_the_direction_no_prompt_informs_for_prompt_agents():
    """Agents given by prompts (H = X^T X / N) whose rows all lie along (1, 2): (2, -1)/sqrt(5) is informed by
    no prompt, in float64 and in ``--precision`` read as the CLI reads the config."""
    raw = _raw([[[1.0, 0.0], [0.0, 1.0]]] * 2, [0.05, 0.05], [{"A": {"B": 0.6, "A": 0.6}}, {"B": {"A": 1.0}}])
    for k, X in enumerate([[[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0]], [[0.5, 1.0], [1.5, 3.0]]]):
        del raw["agents"][k]["geometry"], raw["agents"][k]["target"]
        raw["agents"][k]["prompt"] = {"X": X, "y": [0.3] * len(X)}
    rho, reasons = _reason(raw)
    exact = prediction.predict(config.parse_exact(jsonio.loads(json.dumps(raw))), DIGITS)  # as the CLI reads it
    n = np.array([2.0, -1.0]) / np.sqrt(5.0)
    for text in reasons + [exact["reason"]]:
        v = np.array([float(x) for x in re.search(r"the direction \[([^\]]*)\]", text).group(1).split(",")])
        assert "is informed by no prompt" in text, text
        assert min(np.linalg.norm(v - n), np.linalg.norm(v + n)) <= 5e-4 * np.sqrt(2), text


def test_reason_prints_the_uninformed_direction_to_three_decimals():
    """A null direction off the axes, (2, -1)/sqrt(5): the printed vector (3 decimals, rounding error <= 5e-4 per
    entry) is a null vector of every H_i to within that rounding, and a unit vector to within it."""
    n = np.array([2.0, -1.0]) / np.sqrt(5.0)
    u = np.array([1.0, 2.0]) / np.sqrt(5.0)
    H = [np.outer(u, u).tolist(), (2.0 * np.outer(u, u)).tolist()]
    rho, reasons = _reason(_raw(H, [0.5, 0.5], [{"A": {"B": 0.6, "A": 0.6}}, {"B": {"A": 1.0}}]))
    for text in reasons:
        v = np.array([float(x) for x in re.search(r"the direction \[([^\]]*)\]", text).group(1).split(",")])
        rounding = 5e-4 * np.sqrt(2)  # the largest norm of a 2-vector's rounding to 3 decimals
        assert min(np.linalg.norm(v - n), np.linalg.norm(v + n)) <= rounding, text


@pytest.mark.parametrize("w", [1 + 5e-13, 1.000000000001])
def test_reason_weights_within_the_margin_do_not_amplify(w):
    """Listening weights of rate ``w`` within CONVERGENCE_MARGIN above 1 (or exactly at 1 + 1e-12) are not
    reported as amplifying: the coupling of two contracting non-normal maps is the cause."""
    rounds = [{"A": {"B": w}}, {"B": {"A": 1.0}}]
    assert abs(weights_rate(rounds, ["A", "B"]) - w) <= 1e-15
    rho, reasons = _reason(_raw([np.eye(2).tolist(), np.eye(2).tolist()], NON_NORMAL, rounds))
    for text in reasons:
        assert "coupling itself is unstable" in text and "amplify" not in text, text


def test_a_rate_exactly_1_minus_the_margin_has_no_fixed_point():
    """A hears itself with weight 1 and Gamma_A = 1e-12 (H = 1): in float64 the round's rate is the float
    1 - 1e-12, exactly 1 - CONVERGENCE_MARGIN, which does not converge (the band is closed). (``--precision``
    reads the decimal 1e-12 exactly, a rate just below that float, so only the float64 document is checked.)"""
    system = config.parse(_raw([[[1.0]], [[1.0]]], [1e-12, 0.5], [{"A": {"A": 1.0}}, {"B": {"A": 1.0}}]))
    assert oracle_rate(system) == 1 - 1e-12
    doc = prediction.predict(system)
    assert doc["converges"] is False and "is 1 to within" in doc["reason"], doc


@pytest.mark.parametrize("rounds", [None, SIMULTANEOUS])
def test_a_rate_within_the_margin_below_1_has_no_fixed_point(rounds):
    """Gamma = 2.5e-13 (H = 1, d = 1): each own map is 1 - 2.5e-13 and the round's rate about 1 - 5e-13,
    within CONVERGENCE_MARGIN (1e-12) of 1: no fixed point is printed (float64 would lose it), and the
    reason says the rate is 1 to within the margin."""
    rho, reasons = _reason(_raw([[[1.0]], [[1.0]]], [2.5e-13, 2.5e-13], rounds))
    assert 1 - 1e-12 < rho < 1
    for text in reasons:
        assert "is 1 to within" in text, text


@pytest.mark.parametrize("rounds", [None, SIMULTANEOUS])
@pytest.mark.parametrize("gamma,d", [(2.0 + 4e-13, 2), (2.000000000001, 1)])
def test_reason_an_eigenvalue_within_the_margin_is_on_the_circle(rounds, gamma, d):
    """Gamma H = gamma I: each own map has modulus gamma - 1, within CONVERGENCE_MARGIN (1e-12) of the unit
    circle (1 + 4e-13), or exactly at it (d = 1: 1 - 2.000000000001 is the float -(1 + 1e-12); the band
    is closed, as ``converges`` counts rho = 1 - 1e-12 as not converging), so the cause is an eigenvalue
    on the circle, not an overshoot outside it."""
    H = [np.eye(d).tolist(), np.eye(d).tolist()]
    rho, reasons = _reason(_raw(H, [gamma, gamma], rounds))
    for text in reasons:
        assert "on the unit circle" in text and "outside" not in text, text


def test_reason_an_own_radius_exactly_1_minus_the_margin_is_on_the_circle():
    """Gamma = 1e-12, H = 1: each own map is the float 1 - 1e-12, exactly 1 - CONVERGENCE_MARGIN (the closed
    band); listening weights of rate 1.5 make the protocol diverge; the cause named is the own map on the circle."""
    rho, reasons = _reason(_raw([[[1.0]], [[1.0]]], [1e-12, 1e-12], [{"A": {"B": 1.5}}, {"B": {"A": 1.0}}]))
    for text in reasons:
        assert "on the unit circle" in text and "coupling" not in text, text


def test_reason_uninformed_is_relative_to_the_largest_singular_value():
    """H = diag(1000, 1e-10): the smallest singular value of the stacked H_i, ~1.4e-10, is below 1e-12 times the
    largest (~1.4e3), so e_2 counts as informed by no prompt (relative, not absolute, to max(s_max, 1))."""
    H = [np.diag([1000.0, 1e-10]).tolist(), np.diag([1000.0, 1e-10]).tolist()]
    rho, reasons = _reason(_raw(H, [1e-3, 1e-3], [{"A": {"B": 1.5}}, {"B": {"A": 1.0}}]))
    for text in reasons:
        assert "is informed by no prompt" in text, text


def test_reason_a_weakly_informed_direction_is_informed():
    """The smallest singular value of the stacked H_i is 1.7e-12, above UNINFORMED_REL_TOL (1e-12) times
    max(s_max, 1) = 1: that direction is informed (weakly), so the divergence, caused by listening weights of
    rate 1.5, is not blamed on an uninformed direction."""
    H = [np.diag([0.5, 1.2e-12]).tolist(), np.diag([0.5, 1.2e-12]).tolist()]
    rho, reasons = _reason(_raw(H, [1.0, 1.0], [{"A": {"B": 1.5}}, {"B": {"A": 1.0}}]))
    for text in reasons:
        assert "no prompt" not in text and "coupling itself is unstable" in text and "amplify" in text, text


@pytest.mark.parametrize("rounds,head", [(None, "no unique attracting fixed point; cause"),
                                         (SIMULTANEOUS, "fixed point of the protocol's round map (P1)")])
def test_reason_on_the_unit_circle(rounds, head):
    """Both agents with M = -I (Gamma H = 2 I): rho is exactly 1, the 'is 1 to within' head, and an own map
    with an eigenvalue on the unit circle as the cause."""
    H = [np.eye(2).tolist(), np.eye(2).tolist()]
    rho, reasons = _reason(_raw(H, [2.0, 2.0], rounds))
    assert abs(rho - 1) <= 1e-12
    for text in reasons:
        assert "is 1 to within" in text and head in text and "on the unit circle" in text, text
        assert abs(_number(r"modulus ([0-9.e+-]+) on the unit circle", text) - 1) <= SIX_DIGITS


def test_is_round_robin_means_the_list_order_cycle():
    """``is_round_robin`` (what a config without ``protocol`` means; the fit and ``a2ad check`` read it):
    true for the written-out round robin only, not for another speaking order or a non-cycle."""
    assert engine.is_round_robin(SYSTEMS["written_out"].protocol)
    assert engine.is_round_robin(engine.of(SYSTEMS["round_robin"]))
    for name in ("permuted_cycle", "one_agent_phases", "damped_cycle", "simultaneous"):
        assert not engine.is_round_robin(SYSTEMS[name].protocol), name
    # any number of agents (300: beyond CPython's small-int cache, so counts compared by identity differ)
    # read from a file, a float weight keeps its decimal text ("1.0", "10e-1"): still exactly 1
    for w in ("1.0", "1.000", "1e0", "10e-1"):
        text = json.dumps(_raw([np.eye(1).tolist()] * 3, [0.5] * 3,
                               [{"A": {"C": 0}}, {"B": {"A": 0}}, {"C": {"B": 0}}])).replace(": 0}", f": {w}}}")
        written = config.parse(jsonio.loads(text))
        assert getattr(written.protocol.phases[0][0][1][0][1], "text", None) == w
        assert engine.is_round_robin(written.protocol), w
    names = [f"a{k}" for k in range(300)]
    big = spec.round_robin(names, np.zeros(1))
    assert engine.cycle(big) == tuple(range(300)) and engine.is_round_robin(big)


# ---- the simulate document ----------------------------------------------------------------------

def reference_run(system, turns: int) -> np.ndarray:
    """The protocol's rounds written out here: in each phase every listener hears ``sum_j W_ij m_j`` of
    the messages at the start of the phase and answers with its GD steps; all listeners write at once."""
    protocol = engine.of(system)
    m = np.array(protocol.initial, dtype=float)
    out = []
    for _ in range(turns):
        for phase in protocol.phases:
            answers = {i: system.agents[i].respond(sum(float(w) * m[j] for j, w in row)) for i, row in phase}
            for i, a in answers.items():
                m[i] = a
        out.append(m.copy())
    return np.array(out)


@pytest.mark.parametrize("name", ["random0", "random2", "random5", "permuted_cycle", "one_agent_phases",
                                  "round_robin", "simultaneous"])
def test_simulate_document_is_the_rounds_of_the_protocol(name):
    system, turns = SYSTEMS[name], 7
    doc = prediction.simulate_doc(system, turns)
    ref = reference_run(system, turns)
    assert doc["turns"] == turns and list(doc["agents"]) == system.names
    for i, agent in enumerate(system.agents):
        entry = doc["agents"][system.names[i]]
        np.testing.assert_allclose(entry["messages"], ref[:, i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(entry["residual_norms"], np.linalg.norm(ref[:, i] - agent.w_star, axis=-1),
                                   rtol=1e-12, atol=1e-12)


# ---- the stationary covariance (the fit's spread under a protocol) -------------------------------

def oracle_covariance(system, S: np.ndarray) -> np.ndarray:
    """Each agent's stationary end-of-round covariance for independent noise of covariance ``S_i`` added
    to agent i's message each time it speaks: each phase's linear map probed on the simulator (a protocol
    of that phase alone, one round), the round's noise ``Q`` accumulated phase by phase, and
    ``Sigma = sum_k Phi^k Q (Phi^k)^T`` summed until the terms vanish (no Lyapunov solver)."""
    protocol = engine.of(system)
    K, d = len(system.agents), system.d

    def linear_part(p):
        sub = dataclasses.replace(system, protocol=dataclasses.replace(protocol, phases=p))
        return probe(sub)[0]

    Q = np.zeros((K * d, K * d))
    for phase in protocol.phases:
        P = linear_part((phase,))
        D = np.zeros((K * d, K * d))
        for i, _ in phase:
            D[i * d:(i + 1) * d, i * d:(i + 1) * d] = S[i]
        Q = P @ Q @ P.T + D
    Phi = linear_part(protocol.phases)
    Sigma, term = Q.copy(), Q.copy()
    for _ in range(2000):
        term = Phi @ term @ Phi.T
        Sigma += term
        if np.abs(term).max() < 1e-17 * np.abs(Sigma).max():
            break
    return np.stack([Sigma[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(K)])


@pytest.mark.parametrize("name", ["random1", "random3", "permuted_cycle", "one_agent_phases", "damped_cycle",
                                  "round_robin", "simultaneous"])
def test_stationary_covariance_under_a_protocol(name):
    system = SYSTEMS[name]
    rng = np.random.default_rng(7)
    A = rng.standard_normal((len(system.agents), system.d, system.d))
    S = A @ np.swapaxes(A, -1, -2) / system.d + 0.1 * np.eye(system.d)
    M, _ = system.stacked()
    got = engine.stationary_covariance(M, S, engine.of(system))
    want = oracle_covariance(system, S)
    np.testing.assert_allclose(got, want, rtol=0, atol=FLOAT_RTOL * np.abs(want).max())
