"""Protocols under the input/output contract: bounded and overflow-checked simulation, exact
``--precision`` weights, and ``derive --protocol`` output paths (checked before any work, never
clobbered without ``--force``)."""
import copy
import json

import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, prediction, simulate
from proofs_check.cli import main as cli

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
