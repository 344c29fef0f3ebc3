"""Configs and transcripts without a ``protocol`` give the same ``llm-run``, ``fit`` and ``attack``
output (and the same transcript bytes) as the CLI before these commands accepted protocols (golden files
recorded by tests/golden/record_cli.py with the CLI of commit 516526c), once the documented rename map of
schema version 1 (tests/golden/renames.py) is applied to the recording: every recorded value is still compared.

Every byte that is not part of a number must match; numbers must match to NUMBER_RTOL (and NUMBER_ATOL), because the
least-squares fits go through LAPACK, whose builds (numpy wheels of different versions) differ in the
last bits of a float64 result."""
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record_cli  # noqa: E402
import renames  # noqa: E402

NUMBER_RTOL = 1e-11  # last-bit LAPACK differences (seen: 6e-13), never a changed digit a reader sees
NUMBER_ATOL = 1e-14  # cancellation residues of O(1) quantities (an exact 0 printed as 1e-17)
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def same_output(got: bytes, want: bytes) -> bool:
    """Equal outside numbers, and every number within NUMBER_RTOL of the recorded one."""
    if NUMBER.sub(b"#", got) != NUMBER.sub(b"#", want):
        return False
    for a, b in zip(NUMBER.findall(got), NUMBER.findall(want)):
        x, y = float(a), float(b)
        if abs(x - y) > NUMBER_RTOL * max(abs(x), abs(y)) + NUMBER_ATOL:
            return False
    return True


def test_outputs_without_protocol_are_the_recorded_ones(tmp_path):
    got = record_cli.run_all([sys.executable, "-m", "proofs_check.cli"], tmp_path)
    for filename, data in got.items():
        assert same_output(data, renames.expected(filename, (record_cli.HERE / filename).read_bytes())), filename


def test_golden_comparison_can_fail():
    """Power: a changed digit, a changed word or a dropped number is a different output."""
    golden = (record_cli.HERE / "text_agents.fit_json.out").read_bytes()
    assert same_output(golden, golden)
    assert not same_output(golden.replace(b"0.", b"1.", 1), golden)
    assert not same_output(golden.replace(b"0.41117707368311324", b"0.41117707468311324", 1), golden)
    assert not same_output(golden.replace(b'"rate"', b'"rat"', 1), golden)
    assert not same_output(golden.replace(b", ", b"", 1), golden)


def _fit_expected():
    return renames.expected("text_agents.fit_json.out", (record_cli.HERE / "text_agents.fit_json.out").read_bytes())


def test_rename_map_keeps_every_recorded_value():
    """The map only renames, re-keys and adds: with no step it reproduces the recording byte for byte, and
    the renamed keys carry the recorded values (the rate, A's fixed point, B's target)."""
    recorded = (record_cli.HERE / "text_agents.fit_json.out").read_bytes()
    assert (json.dumps(json.loads(recorded)) + "\n").encode() == recorded
    old, new = json.loads(recorded), json.loads(_fit_expected())
    assert new["schema_version"] == 1 and new["contraction_rate"] == old["rate"] and new["converges"] is True
    assert new["agents"]["A"]["fixed_point"] == old["agents"][0]["predicted_plateau"]
    assert new["agents"]["B"]["target"] == old["agents"][1]["implied_target"]
    # every recorded number is still there (the map adds numbers, never drops or changes one)
    assert not Counter(NUMBER.findall(recorded)) - Counter(NUMBER.findall(_fit_expected()))


def test_rename_map_cannot_hide_a_changed_value():
    """Power of the map: today's output with a value changed under a renamed or an added key no longer matches
    the transformed recording, and a stale or colliding map step refuses to apply."""
    want = _fit_expected()
    doc = json.loads(want)
    assert same_output(want, want)
    for path, value in ((("contraction_rate",), 0.41117707468311324), (("agents", "A", "fixed_point", 0), 0.46),
                        (("agents", "B", "target", 1), 0.3158), (("agents", "A", "residual_norm"), 1.0),
                        (("agents", "B", "residual", 0), 0.0), (("agents", "A", "message_count"), 39),
                        (("converges",), False)):
        planted = json.loads(want)
        obj = planted
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        assert not same_output((json.dumps(planted) + "\n").encode(), want), path
    attack = renames.expected("two_agents.attack_steer.out",
                              (record_cli.HERE / "two_agents.attack_steer.out").read_bytes())
    planted = attack.replace(b'"unreachable_residual_norm": 2.482534153247273e-16',
                             b'"unreachable_residual_norm": 2.482534153247273e-06')  # above NUMBER_ATOL
    assert planted != attack and not same_output(planted, attack)
    with pytest.raises(renames.StaleMap):
        renames.rename(json.loads(want), (), "rate", "contraction_rate")  # the old key is gone
    with pytest.raises(renames.StaleMap):
        renames.rename(doc, (), "claim", "contraction_rate")  # would overwrite a recorded value
    with pytest.raises(renames.StaleMap):
        renames.replace_text(b"no such wording")
    assert not any(ch.isdigit() for pair in renames.FIT_TEXT for text in pair for ch in text)
