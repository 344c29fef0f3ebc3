"""Every kind of bad input: a clear one-line error naming the quantity, exit 2 from the CLI,
InputError from the API, never a traceback."""
import copy
import json

import numpy as np
import pytest

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import config, prediction, simulate
from proofs_check.cli import main as cli

GOOD = {
    "agents": [
        {"name": "A", "prompt": {"X": [[1.0, 0.0], [0.0, 2.0]], "y": [1.0, 3.0]}, "preconditioner": 0.5},
        {"name": "B", "geometry": [[1.0, 0.2], [0.2, 1.0]], "target": [0.0, 1.0],
         "preconditioner": [[0.8, 0.0], [0.0, 0.5]]},
    ],
    "initial_message": [0.0, 0.0],
}
NAN = float("nan")


def edit(path, value):
    """GOOD with the entry at ``path`` (list of keys) replaced (or deleted when value is DELETE)."""
    raw = copy.deepcopy(GOOD)
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


DELETE = object()


def _without_preconditioner_zero_prompt():
    raw = edit(["agents", 0, "prompt", "X"], [[0.0, 0.0], [0.0, 0.0]])
    del raw["agents"][0]["preconditioner"]
    return raw

# (case, config, quantity the message must name)
CONFIG_CASES = [
    ("NaN in X", edit(["agents", 0, "prompt", "X"], [[NAN, 0.0], [0.0, 2.0]]), "A.prompt.X"),
    ("inf in y", edit(["agents", 0, "prompt", "y"], [1.0, float("inf")]), "A.prompt.y"),
    ("NaN in geometry", edit(["agents", 1, "geometry"], [[1.0, NAN], [NAN, 1.0]]), "B.geometry"),
    ("NaN in target", edit(["agents", 1, "target"], [NAN, 1.0]), "B.target"),
    ("NaN preconditioner", edit(["agents", 0, "preconditioner"], NAN), "A.preconditioner"),
    ("NaN initial message", edit(["initial_message"], [NAN, 0.0]), "initial_message"),
    ("X and y lengths differ", edit(["agents", 0, "prompt", "y"], [1.0, 2.0, 3.0]), "A.prompt.y"),
    ("target length", edit(["agents", 1, "target"], [0.0, 1.0, 2.0]), "B.target"),
    ("non-square geometry", edit(["agents", 1, "geometry"], [[1.0, 0.2, 0.0], [0.2, 1.0, 0.0]]), "B.geometry"),
    ("preconditioner size", edit(["agents", 1, "preconditioner"], [[1.0]]), "B.preconditioner"),
    ("initial message length", edit(["initial_message"], [0.0]), "initial_message"),
    ("non-PSD geometry", edit(["agents", 1, "geometry"], [[1.0, 2.0], [2.0, 1.0]]), "B.geometry"),
    ("non-symmetric geometry", edit(["agents", 1, "geometry"], [[1.0, 0.5], [0.0, 1.0]]), "B.geometry"),
    ("unknown top-level key", {**GOOD, "agnets": []}, "config key"),
    ("unknown agent key", edit(["agents", 0, "gamma"], 1.0), "agents[0] key"),
    ("unknown prompt key", edit(["agents", 0, "prompt", "Z"], [1.0]), "A.prompt key"),
    ("fewer than 2 agents", edit(["agents"], GOOD["agents"][:1]), "agents"),
    ("agents not a list", edit(["agents"], {"A": 1}), "agents"),
    ("mixed dimensions",
     edit(["agents", 1], {"name": "B", "geometry": [[1.0]], "target": [1.0], "preconditioner": 1.0}),
     "B dimension"),
    ("negative steps", edit(["agents", 0, "steps_per_turn"], -1), "A.steps_per_turn"),
    ("zero steps", edit(["agents", 0, "steps_per_turn"], 0), "A.steps_per_turn"),
    ("fractional steps", edit(["agents", 0, "steps_per_turn"], 1.5), "A.steps_per_turn"),
    ("string steps", edit(["agents", 0, "steps_per_turn"], "2"), "A.steps_per_turn"),
    # a missing preconditioner defaults to I / lambda_max(H); with X = 0 (H = 0) there is none
    ("missing preconditioner, H = 0", _without_preconditioner_zero_prompt(), "A.preconditioner"),
    ("prompt and geometry", edit(["agents", 0, "geometry"], [[1.0, 0.0], [0.0, 1.0]]), "A"),
    ("geometry without target", edit(["agents", 1, "target"], DELETE), "B.target"),
    ("duplicate names", edit(["agents", 1, "name"], "A"), "agents.name"),
    ("empty name", edit(["agents", 1, "name"], ""), "agents[1].name"),
    ("prompt missing y", edit(["agents", 0, "prompt", "y"], DELETE), "A.prompt"),
    ("non-numeric X", edit(["agents", 0, "prompt", "X"], [["a", 0.0], [0.0, 2.0]]), "A.prompt.X"),
    ("config not an object", [1, 2], "config"),
    ("schema version", {**GOOD, "schema_version": 2}, "schema_version"),
]


def cli_error(capsys, args) -> str:
    code = cli.main(args)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("case, raw, quantity", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_api(case, raw, quantity):
    with pytest.raises(InputError) as info:
        config.parse(raw)
    assert quantity in str(info.value)


@pytest.mark.parametrize("command", [["predict"], ["predict", "--precision", "30"], ["simulate", "--turns", "5"]])
@pytest.mark.parametrize("case, raw, quantity", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_cli(tmp_path, capsys, command, case, raw, quantity):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))  # NaN is written as the JSON extension NaN, which json.loads accepts
    line = cli_error(capsys, [command[0], str(path), *command[1:]])
    assert quantity in line


@pytest.mark.parametrize("text, expected", [("{not json", "not valid JSON"), ("", "not valid JSON")])
def test_malformed_json(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=expected):
        config.load(path)
    assert expected in cli_error(capsys, ["predict", str(path)])


def test_unreadable_file(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError, match="cannot be read"):
        config.load(missing)
    assert "config file" in cli_error(capsys, ["simulate", str(missing), "--turns", "3"])


@pytest.fixture
def good_path(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(GOOD))
    return path


@pytest.mark.parametrize("turns", ["0", "-3"])
def test_bad_turns(capsys, good_path, turns):
    with pytest.raises(InputError, match="turns"):
        simulate.run(config.load(good_path).agents, np.zeros(2), int(turns))
    assert "turns" in cli_error(capsys, ["simulate", str(good_path), "--turns", turns])


@pytest.mark.parametrize("digits", ["5", "0", "100000"])
def test_bad_precision(capsys, good_path, digits):
    with pytest.raises(InputError, match="--precision"):
        prediction.predict_precise(config.load(good_path), int(digits))
    assert "--precision" in cli_error(capsys, ["predict", str(good_path), "--precision", digits])


def test_non_integer_cli_arguments(capsys, good_path):
    assert "--turns" in cli_error(capsys, ["simulate", str(good_path), "--turns", "2.5"])
    assert "--precision" in cli_error(capsys, ["predict", str(good_path), "--precision", "many"])


def test_fixed_point_of_divergent_or_singular_pair_api():
    # rho >= 1: I - M_A M_B singular (M = I) and a divergent pair (rho = 4)
    for M in (np.stack([np.eye(2), np.eye(2)]), np.stack([2 * np.eye(2), 2 * np.eye(2)])):
        with pytest.raises(InputError, match="contraction rate rho"):
            closed_forms.fixed_points(M, np.ones((2, 2)))


def test_singular_pair_predict_reports_reason(tmp_path, capsys):
    raw = edit(["agents", 1], {"name": "B", "geometry": [[0.0, 0.0], [0.0, 0.0]], "target": [0.0, 0.0],
                               "preconditioner": 1.0})
    raw["agents"][0] = {"name": "A", "geometry": [[0.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 1.0}
    path = tmp_path / "sing.json"
    path.write_text(json.dumps(raw))
    assert cli.main(["predict", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["converges"] is False and "rho" in doc["reason"]


def test_unknown_claim_and_profile(capsys):
    assert "C42" in cli_error(capsys, ["verify", "--claims", "C42"])
    assert "--profile" in cli_error(capsys, ["verify", "--profile", "slow"])


def test_unknown_command(capsys):
    assert "invalid choice" in cli_error(capsys, ["frobnicate"])
