"""The ``protocol`` key: validation (exit 2), the simulator, the derived round map (float64 and
mpmath), predict vs long simulation on unseen random protocols, and planted wrong variants."""
import copy
import json

import mpmath as mp
import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import (
    config,
    evaluate as protocol_eval,
    prediction,
    random_protocols as protocol_random,
    simulate,
    spec as protocol,
)
from proofs_check.cli import main as cli

BASE = {
    "agents": [
        {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.3]], "target": [1.0, 0.0], "preconditioner": 0.8},
        {"name": "B", "geometry": [[0.4, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.7,
         "steps_per_turn": 2},
        {"name": "C", "geometry": [[0.6, -0.2], [-0.2, 0.5]], "target": [-1.0, 0.5], "preconditioner": 1.0},
    ],
    "initial_message": [0.5, -0.5],
    "protocol": {"rounds": [{"A": {"B": 0.5, "C": 0.5}, "B": {"A": 1.0}}, {"C": {"C": 0.3, "B": 0.7}}],
                 "initial_messages": {"C": [1.0, 1.0]}},
}
# predict vs a long simulation on random protocols (the Done-when criterion): 1e-8 relative.
AGREEMENT_REL_TOL = 1e-8
# simulate vs the derived round map iterated from the same start: equal up to float64 rounding
# of a few dozen matrix products.
ROUNDING_TOL = 1e-12


def with_protocol(proto):
    raw = copy.deepcopy(BASE)
    raw["protocol"] = proto
    return raw


BAD = [
    ("unknown agent", {"rounds": [{"A": {"Z": 1.0}}, {"B": {"A": 1}, "C": {"B": 1}}]}, "source"),
    ("unknown listener", {"rounds": [{"Z": {"A": 1.0}}, {"A": {"B": 1}, "B": {"A": 1}, "C": {"B": 1}}]}, "agent"),
    ("never speaks", {"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}, "protocol agent"),
    ("empty phase", {"rounds": [{"A": {"B": 1.0}, "B": {"A": 1}, "C": {"A": 1}}, {}]}, "protocol.rounds[1]"),
    ("non-finite weight", {"rounds": [{"A": {"B": float("nan")}, "B": {"A": 1}, "C": {"A": 1}}]},
     "protocol.rounds[0].A.B"),
    ("infinite weight", {"rounds": [{"A": {"B": float("inf")}, "B": {"A": 1}, "C": {"A": 1}}]},
     "protocol.rounds[0].A.B"),
    ("text weight", {"rounds": [{"A": {"B": "1"}, "B": {"A": 1}, "C": {"A": 1}}]}, "protocol.rounds[0].A.B"),
    ("no rounds", {"initial_messages": {}}, "protocol.rounds"),
    ("empty rounds", {"rounds": []}, "protocol.rounds"),
    ("unknown key", {"rounds": [{"A": {"B": 1}, "B": {"A": 1}, "C": {"A": 1}}], "phases": []}, "protocol key"),
    ("bad initial message", {"rounds": [{"A": {"B": 1}, "B": {"A": 1}, "C": {"A": 1}}],
                             "initial_messages": {"A": [1.0]}}, "protocol.initial_messages.A"),
    ("not an object", [1, 2], "protocol"),
]


@pytest.mark.parametrize("case,proto,quantity", BAD, ids=[b[0] for b in BAD])
def test_bad_protocol_api(case, proto, quantity):
    with pytest.raises(InputError) as err:
        config.parse(with_protocol(proto))
    assert quantity in str(err.value)


@pytest.mark.parametrize("command", [["predict"], ["simulate", "--turns", "3"], ["derive", "--format", "text"]])
@pytest.mark.parametrize("case,proto,quantity", BAD[:5], ids=[b[0] for b in BAD[:5]])
def test_bad_protocol_cli(tmp_path, capsys, command, case, proto, quantity):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(with_protocol(proto)))
    args = ([command[0], str(path), *command[1:]] if command[0] != "derive"
            else ["derive", "--protocol", str(path), *command[1:]])
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and quantity in err and "Traceback" not in err


def test_agent_listed_twice_in_a_phase_api():
    """JSON objects cannot repeat a key once parsed; phases built from pairs can, and are refused."""
    names = ["A", "B"]
    with pytest.raises(InputError, match="listed twice"):
        protocol.build([[("A", {"B": 1.0}), ("A", {"B": 0.5})], [("B", {"A": 1.0})]], names, 2, [0.0, 0.0])
    with pytest.raises(InputError, match="listed twice"):
        protocol.build([[("A", [("B", 1.0), ("B", 0.5)])], [("B", {"A": 1.0})]], names, 2, [0.0, 0.0])


def test_simulate_reports_end_of_round_messages():
    s = config.parse(BASE)
    doc = prediction.simulate_doc(s, 4)
    # Independent hand iteration of the phase semantics: start-of-phase reads, simultaneous writes.
    m = {"A": np.array([0.5, -0.5]), "B": np.array([0.5, -0.5]), "C": np.array([1.0, 1.0])}
    ag = {a.name: a for a in s.agents}
    for t in range(4):
        a, b = ag["A"].respond(0.5 * m["B"] + 0.5 * m["C"]), ag["B"].respond(m["A"])
        m["A"], m["B"] = a, b
        m["C"] = ag["C"].respond(0.3 * m["C"] + 0.7 * m["B"])
        for n in "ABC":
            np.testing.assert_array_equal(doc["agents"][n]["messages"][t], m[n])


def _derived_iterate(s, rounds):
    M, c, W, mask = protocol_eval.system_arrays(s)
    Phi, r = protocol_eval.round_map(M, c, W, mask)
    z = s.protocol.initial.reshape(-1)
    out = []
    for _ in range(rounds):
        z = Phi @ z + r
        out.append(z.reshape(len(s.agents), -1))
    return np.stack(out)


def unseen_systems(n=12):
    rng = np.random.default_rng(987654321)  # a seed no claim or other test uses
    return [protocol_random.system(rng, int(rng.integers(2, 6)), int(rng.integers(1, 7))) for _ in range(n)]


def test_predict_agrees_with_long_simulation_and_simulate_is_exact():
    for s in unseen_systems():
        doc = prediction.predict(s)
        assert doc["converges"]
        z = np.array([doc["agents"][a.name]["fixed_point"] for a in s.agents])
        sim = simulate.run_protocol(s.agents, s.protocol, 400)
        assert np.linalg.norm(z - sim[-1]) / np.linalg.norm(sim[-1]) <= AGREEMENT_REL_TOL
        short = simulate.run_protocol(s.agents, s.protocol, 25)
        ref = _derived_iterate(s, 25)
        assert np.max(np.abs(short - ref)) <= ROUNDING_TOL * max(1.0, np.max(np.abs(ref)))


def test_rate_is_spectral_radius_of_the_whole_round_matrix():
    """The live-agent reduction gives rho of the full K d x K d round matrix."""
    for s in unseen_systems(6):
        M, c, W, mask = protocol_eval.system_arrays(s)
        Phi, _ = protocol_eval.round_map(M, c, W, mask)
        full = np.max(np.abs(np.linalg.eigvals(Phi)))
        assert prediction.predict(s)["contraction_rate"] == pytest.approx(full, rel=1e-9, abs=1e-12)


def test_precise_matches_float64_and_simulation():
    s = config.parse(BASE)
    f = prediction.predict(s)
    p = prediction.predict_precise(s, 50)
    assert p["precision"] == "mpmath 50 digits"
    assert float(p["contraction_rate"]) == pytest.approx(f["contraction_rate"], rel=1e-12)
    sim = simulate.run_protocol(s.agents, s.protocol, 600)[-1]
    for i, a in enumerate(s.agents):
        got = np.array([float(x) for x in p["agents"][a.name]["fixed_point"]])
        np.testing.assert_allclose(got, f["agents"][a.name]["fixed_point"], rtol=1e-12)
        np.testing.assert_allclose(got, sim[i], rtol=1e-10)
    # the 50-digit fixed point solves (I - Phi) z = r to ~50 digits
    with mp.workdps(60):
        from numerics.dynamics import precise
        Ms, cs, _ = zip(*(precise.agent_transfer(a.Gamma, a.geometry, a.steps) for a in s.agents))
        Phi, r = protocol_eval.precise_round_map(Ms, cs, s.protocol)
        z = mp.matrix([mp.mpf(x) for a in s.agents for x in p["agents"][a.name]["fixed_point"]])
        assert mp.norm(z - Phi * z - r) < mp.mpf(10) ** -45


def test_cli_predict_and_simulate_with_protocol(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(BASE))
    assert cli.main(["predict", str(path)]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert cli.main(["simulate", str(path), "--turns", "500"]) == 0
    sim = json.loads(capsys.readouterr().out)
    for n in "ABC":
        np.testing.assert_allclose(sim["agents"][n]["messages"][-1], pred["agents"][n]["fixed_point"], rtol=1e-9)
    assert cli.main(["predict", str(path), "--precision", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"] == "mpmath 30 digits"


def test_divergent_protocol_reports_reason():
    raw = with_protocol({"rounds": [{"A": {"B": 3.0}, "B": {"A": 3.0}, "C": {"A": 3.0}}]})
    doc = prediction.predict(config.parse(raw))
    assert doc["converges"] is False and "reason" in doc and doc["agents"]["A"]["fixed_point"] is None
    with pytest.raises(InputError, match="contraction rate"):
        s = config.parse(raw)
        protocol_eval.fixed_points(*protocol_eval.system_arrays(s))


# ------------------------------------------------------------ planted wrong variants
def _worst_disagreement(systems):
    worst = 0.0
    for s in systems:
        M, c, W, mask = protocol_eval.system_arrays(s)
        try:
            z = protocol_eval.fixed_points(M, c, W, mask, check=False)
        except InputError:  # a round map that is not finite is refused: the worst disagreement
            return np.inf
        sim = simulate.run_protocol(s.agents, s.protocol, 400)[-1]
        err = np.linalg.norm(z - sim) / np.linalg.norm(sim)
        worst = max(worst, err if np.isfinite(err) else np.inf)
    return worst


def test_agreement_check_catches_planted_wrong_round_maps(monkeypatch):
    systems = unseen_systems(6)
    assert _worst_disagreement(systems) <= AGREEMENT_REL_TOL
    real_round_map, real_live = protocol_eval.round_map, protocol_eval.live_agents
    variants = {
        "transposed weights": lambda M, c, W, mask: real_round_map(M, c, np.swapaxes(W, -1, -2), mask),
        "phases in reverse order": lambda M, c, W, mask: real_round_map(M, c, W[..., ::-1, :, :], mask[..., ::-1, :]),
        "offset dropped": lambda M, c, W, mask: real_round_map(M, 0 * c, W, mask),
        "NaN in the map": lambda M, c, W, mask: tuple(x * np.nan for x in real_round_map(M, c, W, mask)),
    }
    for name, wrong in variants.items():
        monkeypatch.setattr(protocol_eval, "round_map", wrong)
        assert not _worst_disagreement(systems) <= AGREEMENT_REL_TOL, name
    monkeypatch.setattr(protocol_eval, "round_map", real_round_map)

    def one_live_agent_dropped(W, mask):
        live = real_live(W, mask).copy()
        live[np.flatnonzero(live)[0]] = False if live.sum() > 1 else True
        return live
    monkeypatch.setattr(protocol_eval, "live_agents", one_live_agent_dropped)
    several_live = [s for s in systems if real_live(*s.protocol.weights()).sum() > 1]
    assert not _worst_disagreement(several_live) <= AGREEMENT_REL_TOL


def test_simulator_semantics_matter():
    """A simulator that let agents read messages written earlier in the same phase (sequential,
    not simultaneous) has the same fixed point but not the same messages: the exactness check
    (simulate vs the derived round map iterated) catches it."""
    s = config.parse(with_protocol({"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}, "C": {"B": 1.0}}]}))
    ref = _derived_iterate(s, 5)
    m = s.protocol.initial.copy()
    seq = []
    for _ in range(5):
        for i, row in s.protocol.phases[0]:
            m[i] = s.agents[i].respond(sum(w * m[j] for j, w in row))  # in place: sequential
        seq.append(m.copy())
    assert np.max(np.abs(np.array(seq) - ref)) > 1e-3
    assert np.max(np.abs(simulate.run_protocol(s.agents, s.protocol, 5) - ref)) <= ROUNDING_TOL
