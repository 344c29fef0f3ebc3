"""Configs and transcripts without a ``protocol`` give the same ``llm-run``, ``fit`` and ``attack``
output (and the same transcript bytes) as the CLI before these commands accepted protocols (golden files
recorded by tests/golden/record_cli.py with the CLI of commit 516526c).

Every byte that is not part of a number must match; numbers must match to NUMBER_RTOL (and NUMBER_ATOL), because the
least-squares fits go through LAPACK, whose builds (numpy wheels of different versions) differ in the
last bits of a float64 result."""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record_cli  # noqa: E402

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
        assert same_output(data, (record_cli.HERE / filename).read_bytes()), filename


def test_golden_comparison_can_fail():
    """Power: a changed digit, a changed word or a dropped number is a different output."""
    golden = (record_cli.HERE / "text_agents.fit_json.out").read_bytes()
    assert same_output(golden, golden)
    assert not same_output(golden.replace(b"0.", b"1.", 1), golden)
    assert not same_output(golden.replace(b"0.41117707368311324", b"0.41117707468311324", 1), golden)
    assert not same_output(golden.replace(b'"rate"', b'"rat"', 1), golden)
    assert not same_output(golden.replace(b", ", b"", 1), golden)
