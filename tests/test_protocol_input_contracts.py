"""Input contracts of the protocol config modules (numerics/protocol/spec.py, config.py, simulate.py): every
refusal is an InputError naming the quantity, and the limits are inclusive (the largest allowed value is
accepted, the next one refused). The mutation killers of these modules run this file after verify, which
checks mathematics and never feeds bad input (mutation/targets.toml)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, simulate, spec

# The documented limits (docs/cli.rst, the table of bounds): at most 64 phases, steps_per_turn 1 to 10^12,
# turns x agents x d <= 2,000,000 and turns x (sum of steps_per_turn) <= 2,000,000.
DOC_MAX_PHASES = 64
DOC_MAX_STEPS_PER_TURN = 10**12
DOC_MAX_MESSAGE_VALUES = 2_000_000
DOC_MAX_AGENT_STEPS = 2_000_000
NAMES = ["A", "B", "C"]
CYCLE = [{"A": {"C": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}]
BASE = {
    "agents": [
        {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
        {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5},
    ],
}


def refused(quantity: str, fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as err:
        fn(*args, **kwargs)
    assert quantity in str(err.value), str(err.value)
    return str(err.value)


def cfg(**changes):
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return raw


# ---------------------------------------------------------------- spec.py
def test_phase_count_limit_is_inclusive():
    ok = spec.build_phases([{"A": {"B": 1.0}}] * DOC_MAX_PHASES, NAMES)
    assert len(ok) == DOC_MAX_PHASES
    msg = refused("protocol.rounds", spec.build_phases, [{"A": {"B": 1.0}}] * (DOC_MAX_PHASES + 1), NAMES)
    assert f"at most {DOC_MAX_PHASES}" in msg and str(DOC_MAX_PHASES + 1) in msg


@pytest.mark.parametrize("rounds", [[], (), "AB", None, {"A": {"B": 1.0}}])
def test_rounds_must_be_a_non_empty_list(rounds):
    refused("non-empty list of phases", spec.build_phases, rounds, NAMES)


def test_an_empty_round_only_where_allowed():
    assert spec.build_phases([], NAMES, allow_empty=True) == ()
    refused("protocol.rounds[1]", spec.build_phases, [{"A": {"B": 1.0}}, {}], NAMES)
    refused("empty phase", spec.build_phases, [{"A": {"B": 1.0}}, {}], NAMES, allow_empty=True)


@pytest.mark.parametrize("weight,accepted", [(1, True), (0, True), (-2.5, True), (True, False), (False, False),
                                             ("1", False), (None, False), (float("nan"), False),
                                             (float("inf"), False), (-float("inf"), False)])
def test_weights_are_finite_numbers(weight, accepted):
    rounds = [{"A": {"B": weight}}]
    if accepted:
        ((i, ((j, w),)),), = spec.build_phases(rounds, NAMES)
        assert (i, j) == (0, 1) and w == weight and isinstance(w, float)
    else:
        refused("protocol.rounds[0].A.B", spec.build_phases, rounds, NAMES)


def test_phases_and_rows_are_objects_or_pairs():
    assert spec.build_phases([[("A", [("B", 0.5), ("C", 0.5)])]], NAMES) == (((0, ((1, 0.5), (2, 0.5))),),)
    refused("mapping agent names", spec.build_phases, [["A"]], NAMES)
    refused("mapping agent names", spec.build_phases, [{"A": [("B", 1.0, 2.0)]}], NAMES)
    refused("mapping agent names", spec.build_phases, [{"A": 1.0}], NAMES)
    # lists that are not pairs (JSON has no tuples: a phase written as a list of lists)
    for bad in ([[["A"]]], [[["A", {"B": 1.0}, 2]]], [[[]]], [{"A": [["B"]]}], [{"A": [[]]}]):
        refused("mapping agent names", spec.build_phases, bad, NAMES)


def test_unknown_and_repeated_agents():
    assert "agents: A, B, C" in refused("protocol.rounds[0] agent", spec.build_phases, [{"Z": {"A": 1.0}}], NAMES)
    refused("protocol.rounds[0].A source", spec.build_phases, [{"A": {"Z": 1.0}}], NAMES)
    refused("protocol.rounds[0] agent", spec.build_phases, [[(3, {"A": 1.0})]], NAMES)
    refused("listed twice in one phase", spec.build_phases, [[("A", {"B": 1.0}), ("A", {"C": 1.0})]], NAMES)
    refused("protocol.rounds[0].A source", spec.build_phases, [{"A": [("B", 1.0), ("B", 1.0)]}], NAMES)
    # the same agent in two different phases, and the same source in two rows, are fine
    assert len(spec.build_phases([{"A": {"B": 1.0}, "B": {"B": 1.0}}, {"A": {"B": 1.0}}], NAMES)) == 2


def test_every_agent_speaks():
    assert spec.build(CYCLE, NAMES, 2, [0.0, 0.0]).K == 3
    msg = refused("protocol agent", spec.build, CYCLE[:2], NAMES, 2, [0.0, 0.0])
    assert "C" in msg and "never speaks" in msg


def test_initial_messages():
    p = spec.build(CYCLE, NAMES, 2, [1.0, 2.0], {"B": [5.0, 6.0]})
    assert p.initial.tolist() == [[1.0, 2.0], [5.0, 6.0], [1.0, 2.0]]
    refused("protocol.initial_messages agent", spec.build, CYCLE, NAMES, 2, [0.0, 0.0], [("B", [1, 1]), ("B", [2, 2])])
    refused("protocol.initial_messages agent", spec.build, CYCLE, NAMES, 2, [0.0, 0.0], {"Z": [1.0, 1.0]})
    refused("protocol.initial_messages.B", spec.build, CYCLE, NAMES, 2, [0.0, 0.0], {"B": [1.0]})


def test_protocol_object():
    assert spec.parse({"rounds": CYCLE}, NAMES, 2, [0.0, 0.0]).K == 3
    refused("'rounds'", spec.parse, [CYCLE], NAMES, 2, [0.0, 0.0])
    refused("protocol.rounds", spec.parse, {"initial_messages": {}}, NAMES, 2, [0.0, 0.0])
    refused("protocol", spec.parse, {"rounds": CYCLE, "phases": []}, NAMES, 2, [0.0, 0.0])


def test_weights_and_speaking_counts():
    p = spec.build([{"A": {"B": 0.25, "C": 0.5}, "B": {"A": 1.0}}, {"C": {"C": 2.0}, "A": {}}], NAMES, 1, [0.0])
    W, mask = p.weights()
    assert W.shape == (2, 3, 3) and mask.tolist() == [[True, True, False], [True, False, True]]
    assert W[0].tolist() == [[0.0, 0.25, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert W[1].tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]
    assert p.speaks_per_round() == [2, 1, 1]
    assert p.as_dict()["rounds"] == [{"A": {"B": 0.25, "C": 0.5}, "B": {"A": 1.0}}, {"C": {"C": 2.0}, "A": {}}]


# ---------------------------------------------------------------- config.py
def test_agents_list():
    assert len(config.parse(cfg()).agents) == 2
    refused("agents", config.parse, cfg(agents=BASE["agents"][:1]))
    refused("agents", config.parse, cfg(agents={"A": BASE["agents"][0]}))
    refused("config", config.parse, [BASE])
    refused("config", config.parse, cfg(extra=1))
    dup = copy.deepcopy(BASE["agents"])
    dup[1]["name"] = "A"
    refused("agents.name", config.parse, cfg(agents=dup))


@pytest.mark.parametrize("name", ["", 3, None, ["A"]])
def test_agent_name_is_a_non_empty_string(name):
    agents = copy.deepcopy(BASE["agents"])
    agents[0]["name"] = name
    refused("agents[0].name", config.parse, cfg(agents=agents))


def test_default_agent_names():
    agents = copy.deepcopy(BASE["agents"])
    for a in agents:
        del a["name"]
    assert config.parse(cfg(agents=agents)).names == ["A", "B"]
    assert config._agent_spec(26, {"geometry": [[1.0]], "target": [0.0]})[0] == "agent26"
    assert config._agent_spec(25, {"geometry": [[1.0]], "target": [0.0]})[0] == "Z"


def test_prompt_or_geometry():
    a = copy.deepcopy(BASE["agents"][0])
    both = dict(a, prompt={"X": [[1.0, 0.0]], "y": [1.0]})
    refused("give either", config.parse_agent, 0, both)
    neither = {k: v for k, v in a.items() if k not in ("geometry", "target")}
    refused("give either", config.parse_agent, 0, neither)
    refused("A.target", config.parse_agent, 0, {k: v for k, v in a.items() if k != "target"})
    refused("A.geometry", config.parse_agent, 0, {k: v for k, v in a.items() if k != "geometry"})
    prompt = {k: v for k, v in neither.items()}
    refused("needs both 'X' and 'y'", config.parse_agent, 0, dict(prompt, prompt={"X": [[1.0, 0.0]]}))
    refused("A.prompt", config.parse_agent, 0, dict(prompt, prompt=[[1.0, 0.0]]))
    refused("A.prompt", config.parse_agent, 0, dict(prompt, prompt={"X": [[1.0, 0.0]], "y": [1.0], "z": 1}))
    name, geom, g, steps = config.parse_agent(0, dict(prompt, prompt={"X": [[1.0, 0.0], [0.0, 2.0]], "y": [1.0, 2.0]}))
    assert (name, geom.d, g, steps) == ("A", 2, 0.5, 1)
    refused("agents[0]", config.parse_agent, 0, [a])
    refused("agents[0]", config.parse_agent, 0, dict(a, colour=1))


def test_dimensions_agree():
    agents = copy.deepcopy(BASE["agents"])
    agents[1]["geometry"], agents[1]["target"] = [[1.0]], [0.0]
    refused("B dimension", config.parse, cfg(agents=agents))


def test_steps_per_turn_limit_is_inclusive():
    name, spec_ = "A", {"steps_per_turn": DOC_MAX_STEPS_PER_TURN}
    assert config._steps(name, spec_) == DOC_MAX_STEPS_PER_TURN
    refused("A.steps_per_turn", config._steps, name, {"steps_per_turn": DOC_MAX_STEPS_PER_TURN + 1})
    refused("A.steps_per_turn", config._steps, name, {"steps_per_turn": 0})
    assert config._steps(name, {}) == 1


def test_default_preconditioner():
    agents = copy.deepcopy(BASE["agents"])
    agents[0]["geometry"] = [[4.0, 0.0], [0.0, 1.0]]
    del agents[0]["preconditioner"]
    G = config.parse(cfg(agents=agents)).agents[0].Gamma
    assert np.array_equal(G, np.eye(2) / 4.0)
    agents[0]["geometry"] = [[0.0, 0.0], [0.0, 0.0]]
    refused("A.preconditioner", config.parse, cfg(agents=agents))
    agents[0]["preconditioner"] = 0.5  # given: a zero geometry is fine
    assert config.parse(cfg(agents=agents)).agents[0].d == 2


@pytest.mark.parametrize("noise,accepted", [(0, True), (0.25, True), (-0.1, False), (True, False),
                                            (float("nan"), False), (float("inf"), False), ("0.1", False),
                                            ([[1.0, 0.0], [0.0, 1.0]], True), ([[1.0, 2.0], [2.0, 1.0]], False)])
def test_noise(noise, accepted):
    if accepted:
        S = config.parse_noise("A", noise, 2)
        assert S.shape == (2, 2) and np.array_equal(S, noise * np.eye(2) if not isinstance(noise, list) else noise)
    else:
        refused("A.noise", config.parse_noise, "A", noise, 2)


def test_noise_per_agent():
    agents = copy.deepcopy(BASE["agents"])
    agents[1]["noise"] = 0.5
    system = config.parse(cfg(agents=agents))
    assert system.noise[0] is None and np.array_equal(system.noise[1], 0.5 * np.eye(2))
    assert np.array_equal(system.noise_stack(), np.stack([np.zeros((2, 2)), 0.5 * np.eye(2)]))
    assert config.parse(cfg()).noise_stack() is None


def test_protocol_rounds_or_random():
    proto = {"rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]}
    assert config.parse(cfg(protocol=proto)).protocol.K == 2
    assert config.parse(cfg()).protocol is None
    refused("both 'rounds' and 'random'", config.parse, cfg(protocol=dict(proto, random={})))


def test_precision_needs_written_preconditioners():
    agents = copy.deepcopy(BASE["agents"])
    exact = config.parse_exact(cfg(agents=agents))
    assert [a.Gamma for a in exact.agents] == [[[0.5, 0], [0, 0.5]]] * 2 and exact.d == 2
    del agents[1]["preconditioner"]
    refused("B.preconditioner", config.parse_exact, cfg(agents=agents))


# ---------------------------------------------------------------- simulate.py
def test_simulation_size_limits_are_inclusive():
    agents = config.parse(cfg()).agents  # K 2, d 2, one step per turn
    cap = DOC_MAX_MESSAGE_VALUES // 4
    assert simulate.check_size(agents, cap) == cap
    assert f"{(cap + 1) * 4} message entries" in refused("turns", simulate.check_size, agents, cap + 1)
    three = copy.deepcopy(BASE["agents"]) + [dict(BASE["agents"][0], name="C")]
    agents = config.parse(cfg(agents=three)).agents  # K 3, d 2: K x d = 6, not K^d or K + d
    cap = DOC_MAX_MESSAGE_VALUES // 6
    assert simulate.check_size(agents, cap) == cap
    assert f"{(cap + 1) * 6} message entries" in refused("turns", simulate.check_size, agents, cap + 1)
    nine = copy.deepcopy(BASE["agents"])
    nine[1]["steps_per_turn"] = 9
    agents = config.parse(cfg(agents=nine)).agents  # 1 + 9 GD steps a round
    cap = DOC_MAX_AGENT_STEPS // 10
    assert simulate.check_size(agents, cap) == cap  # exactly the limit
    assert f"{(cap + 1) * 10} GD steps" in refused("turns", simulate.check_size, agents, cap + 1)
    cap = DOC_MAX_AGENT_STEPS // 19  # B answers twice a round: 1 + 2 x 9 steps
    assert simulate.check_size(agents, cap, [1, 2]) == cap
    assert f"{(cap + 1) * 19} GD steps" in refused("turns", simulate.check_size, agents, cap + 1, [1, 2])
    refused("turns", simulate.check_size, agents, 0)


def test_overflowing_message_names_the_agent():
    agents = config.parse(cfg()).agents
    messages = np.array([[1.0, 2.0], [np.inf, 0.0]])
    refused("message of B at turn 3", simulate.require_finite, agents, messages, "turn 3")
    simulate.require_finite(agents, np.ones((2, 2)), "turn 0")


def test_text_agents_take_one_step_per_answer():
    """llm-run's agents have no steps_per_turn: each answer counts as one GD step (docs/cli.rst's bound)."""
    from numerics.agents import prompts
    from numerics.llm.text_protocol import TextAgent

    agents = [TextAgent(n, prompts.from_prompt([[1.0]], [1.0], name=n), complete=lambda s: s) for n in "AB"]
    assert not hasattr(agents[0], "steps")
    cap = DOC_MAX_AGENT_STEPS // 2  # K 2, d 1: both limits are reached at the same turn count
    assert simulate.check_size(agents, cap) == cap
    refused("turns", simulate.check_size, agents, cap + 1)
    cap = DOC_MAX_AGENT_STEPS // 3  # A answers twice a round
    assert simulate.check_size(agents, cap, [2, 1]) == cap
    assert f"{(cap + 1) * 3} GD steps" in refused("turns", simulate.check_size, agents, cap + 1, [2, 1])


def test_speaking_counts_beyond_the_small_int_cache():
    """300 agents (indices above CPython's cached small ints): each speaks once a round."""
    names = [f"a{k}" for k in range(300)]
    assert spec.round_robin(names, np.zeros(1)).speaks_per_round() == [1] * 300  # (a protocol key: <= 64 phases)
