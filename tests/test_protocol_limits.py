"""Protocols under the input/output contract: bounded and overflow-checked simulation, exact
``--precision`` weights, and ``derive --protocol`` output paths (checked before any work, never
clobbered without ``--force``); hostile protocols: an agent repeated in ``initial_messages``, sizes
refused before the work starts (``derive --protocol``, ``predict --precision``), and a steering
point that overflows."""
import copy
import json
import time
from pathlib import Path

import numpy as np
import pytest

from numerics.dynamics import precise
from numerics.io.errors import InputError
from numerics.protocol import config, engine, prediction, simulate
from proofs_check.cli import main as cli
from theory.core.algebra import TooLarge
from theory.protocol import compiler as P, cost, gallery

BASE = {
    "agents": [
        {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
        {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5},
    ],
    "protocol": {"rounds": [{"A": {"B": 0.1}, "B": {"A": 0.9}}]},
}


def _write(tmp_path, raw, name="cfg.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def test_divergent_protocol_simulation_is_an_error_not_nan():
    raw = copy.deepcopy(BASE)
    raw["protocol"]["rounds"] = [{"A": {"B": 1e30}, "B": {"A": 1e30}}]  # |weights| >> 1: blows up
    with pytest.raises(InputError, match="overflows float64"):
        prediction.simulate_doc(config.parse(raw), 200)


def test_protocol_simulation_counts_repeated_speakers_in_the_step_bound():
    raw = copy.deepcopy(BASE)
    raw["agents"][0]["steps_per_turn"] = 10**5
    raw["protocol"]["rounds"] = [{"A": {"B": 1.0}}, {"A": {"A": 1.0}}, {"B": {"A": 1.0}}]
    # 2 x 10^5 steps of A per round: 11 rounds exceed the bound, 9 do not.
    turns_ok = simulate.MAX_AGENT_STEPS // (2 * 10**5 + 1)
    with pytest.raises(InputError, match="GD steps exceed"):
        prediction.simulate_doc(config.parse(raw), turns_ok + 1)


def test_precise_protocol_reads_weights_from_their_decimal_text(tmp_path, capsys):
    raw = copy.deepcopy(BASE)
    raw["protocol"]["rounds"] = [{"A": {"B": 0.1}, "B": {"A": 1.0}}]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(raw))
    assert cli.main(["predict", str(path), "--precision", "40"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # A hears 0.1 m_B: u = (I/2) 0.1 v + (1/2) e1, v = u/2 + e2/2 (B reads A with weight 1).
    # coordinate 0: u0 = 0.05 v0 + 0.5, v0 = 0.5 u0  -> u0 = 0.5 / (1 - 0.025) = 20/39
    u0 = doc["agents"]["A"]["fixed_point"][0]
    assert u0.startswith("0.5128205128205128205128205128205128205128")  # 20/39 to 40 digits, not 0.1's binary value


def test_derive_protocol_refuses_existing_output_and_its_input(tmp_path, capsys):
    cfg = _write(tmp_path, BASE)
    out = tmp_path / "protocol.tex"
    out.write_text("keep me")
    assert cli.main(["derive", "--protocol", str(cfg), "--out", str(out)]) == 2
    assert out.read_text() == "keep me"
    assert cli.main(["derive", "--protocol", str(cfg), "--out", str(cfg), "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("--out" in line for line in err)
    assert cli.main(["derive", "--protocol", str(cfg), "--out", str(out), "--force"]) == 0
    assert "\\begin" in out.read_text()


# --- hostile protocols: duplicates, sizes checked before the work, overflowing steering points ---

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# A refused size must be refused at once: Python start-up and config parsing only (a few seconds
# on a loaded 2-core machine), far below the minutes or unbounded memory of running the derivation.
REFUSAL_SECONDS = 20


def dense(K: int, phases: int, d: int = 2) -> dict:
    """K agents (d dims), ``phases`` phases in which every agent hears every agent (weights 1/K)."""
    names = [f"a{k}" for k in range(K)]
    agents = [{"name": n, "geometry": np.eye(d).tolist(), "target": [float(k % 2)] * d, "preconditioner": 0.5}
              for k, n in enumerate(names)]
    rounds = [{a: {b: 1.0 / K for b in names} for a in names} for _ in range(phases)]
    return {"agents": agents, "protocol": {"rounds": rounds}}


def _line(capsys, args) -> str:
    code = cli.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_initial_messages_list_form_refuses_a_repeated_agent(tmp_path, capsys):
    raw = copy.deepcopy(BASE)
    raw["protocol"]["initial_messages"] = [["A", [5.0, 0.0]], ["B", [0.0, 1.0]], ["A", [7.0, 0.0]]]
    line = _line(capsys, ["simulate", str(_write(tmp_path, raw)), "--turns", "1"])
    assert "initial_messages" in line and "'A'" in line and "twice" in line
    raw["protocol"]["initial_messages"] = raw["protocol"]["initial_messages"][:2]  # each agent once: accepted
    assert config.parse(raw).protocol.initial[0].tolist() == [5.0, 0.0]


def test_initial_messages_object_form_refuses_a_duplicate_key(tmp_path, capsys):
    path = tmp_path / "cfg.json"
    text = json.dumps(BASE)[:-2] + ', "initial_messages": {"A": [1.0, 0.0], "A": [2.0, 0.0]}}}'
    path.write_text(text)
    assert "duplicate key 'A'" in _line(capsys, ["predict", str(path)])


def _word_counts(s) -> tuple[list, list]:
    """Independent of the estimate: the words of the round map actually composed (P1)."""
    Phi, r = P.compose_poly(s)
    return [[len(x) for x in row] for row in Phi], [len(x) for x in r]


def _specs():
    out = [e.spec for e in gallery.entries()]
    out.append(P.from_numeric(engine.of(config.parse(dense(3, 3)))))
    out.append(P.from_numeric(engine.of(config.parse(json.loads((EXAMPLES / "dense_protocol.json").read_text())))))
    return out


def test_word_estimate_bounds_the_composed_round_map_and_is_exact_when_dense():
    for s in _specs():
        N, n_r = cost.hearing_counts(s)
        words, words_r = _word_counts(s)
        assert all(n >= w for rn, rw in zip(N, words) for n, w in zip(rn, rw)), s
        assert all(n >= w for n, w in zip(n_r, words_r)), s
    N, _ = cost.hearing_counts(_specs()[-2])  # dense, generic weights: every path is its own word
    assert N == _word_counts(_specs()[-2])[0]  # (r's words can merge: M_a c_a meets M_a w_a* of c_a)
    assert N == [[3 ** 2] * 3] * 3  # K^(P-1) paths per block


def test_word_estimate_check_has_power():
    """A counter that forgets that non-listeners keep their message (a dropped identity) undercounts."""
    def forgetful(s):
        N, n_r = cost.hearing_counts(s)
        return [[0 if x == 1 and i == j else x for j, x in enumerate(row)] for i, row in enumerate(N)], n_r
    caught = [s for s in _specs() if any(n < w for rn, rw in zip(forgetful(s)[0], _word_counts(s)[0])
                                         for n, w in zip(rn, rw))]
    assert caught


def round_robin_config(K: int) -> dict:
    """K one-dimensional agents and no protocol key: the round robin (its words grow to K letters)."""
    return {"agents": [{"name": f"a{k}", "geometry": [[1.0]], "target": [float(k % 2)], "preconditioner": 0.5}
                       for k in range(K)]}


# before the limit: 5 x 5 dense took over 2 minutes, 12 x 64 grew memory without bound, a round
# robin of 30 agents took 130 s
@pytest.mark.parametrize("raw, live, phases", [(dense(5, 5), 5, 5), (dense(12, 64), 12, 64),
                                               (round_robin_config(30), 1, 30)], ids=["5x5", "12x64", "rr30"])
def test_derive_refuses_a_large_protocol_before_starting(tmp_path, capsys, raw, live, phases):
    path = _write(tmp_path, raw)
    t = time.perf_counter()
    line = _line(capsys, ["derive", "--protocol", str(path), "--format", "json"])
    assert time.perf_counter() - t < REFUSAL_SECONDS
    assert f"{cost.MAX_ELIMINATION_WORDS:,}" in line and f"{live} live agents" in line and f"{phases} phases" in line
    with pytest.raises(TooLarge):  # the theory layer refuses it too, before composing a polynomial
        P.compile_protocol(P.from_numeric(engine.of(config.parse(raw))))


def test_gallery_and_example_protocols_stay_under_the_limit(tmp_path, capsys):
    for s in _specs():
        assert cost.check(s) <= cost.MAX_ELIMINATION_WORDS
    for path in sorted(EXAMPLES.glob("protocol_*.json")) + [EXAMPLES / "dense_protocol.json"]:
        s = P.from_numeric(engine.of(config.parse(json.loads(path.read_text()))))
        assert cost.elimination_words(s)[0] <= cost.MAX_ELIMINATION_WORDS, path
    out = tmp_path / "dense.json"
    assert cli.main(["derive", "--protocol", str(EXAMPLES / "dense_protocol.json"), "--format", "json",
                     "--out", str(out)]) == 0  # the largest example derives in full
    assert json.loads(out.read_text())["agents"]


def test_precision_refuses_a_large_protocol_before_starting(tmp_path, capsys):
    path = _write(tmp_path, dense(12, 64))
    t = time.perf_counter()
    line = _line(capsys, ["predict", str(path), "--precision", "1000"])
    assert time.perf_counter() - t < REFUSAL_SECONDS
    assert "--precision" in line and f"{precise.MAX_PRECISE_SECONDS:g} s" in line and "24 x 24" in line


def test_precision_estimate_grows_as_measured():
    """The model's shape (not its constants): cubic in n d, digits^1.6 per operation, linear in phases."""
    base = dict(d=4, live=8, phase_ops=0, steps=[1], rows=[0], digits=16)
    t = precise.evaluation_seconds(**base)
    assert precise.evaluation_seconds(**{**base, "live": 16}) == pytest.approx(8 * t, rel=0.01)
    big = precise.evaluation_seconds(**{**base, "digits": 10**4})
    assert big / t == pytest.approx((1 + precise.DIGITS_COST * 1e4 ** 1.6) / (1 + precise.DIGITS_COST * 16 ** 1.6))
    one = precise.phase_operations(4, 2, [4])
    assert precise.phase_operations(4, 2, [4] * 64) == 64 * one


def test_precision_examples_stay_under_the_limit(capsys):
    for path in sorted(EXAMPLES.glob("protocol_*.json")) + [EXAMPLES / "dense_protocol.json"]:
        assert cli.main(["predict", str(path), "--precision", "200"]) == 0, path
    capsys.readouterr()


@pytest.mark.parametrize("example, victim", [("protocol_debate.json", "B"), ("protocol_star.json", "B"),
                                             ("two_agents.json", None)])
def test_steer_to_an_overflowing_point_names_the_target(capsys, example, victim):
    args = ["attack", str(EXAMPLES / example), "--kind", "steer", "--point", "[1e308, 1e308]"]
    line = _line(capsys, args + (["--victim", victim] if victim else []))
    assert "w_A*" in line and "transfer" not in line
