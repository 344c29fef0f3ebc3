"""Configs and transcripts without a ``protocol`` give byte-identical ``llm-run``, ``fit`` and ``attack``
output (and the same transcript bytes) as the CLI before these commands accepted protocols (golden files
recorded by tests/golden/record_cli.py with the CLI of commit 516526c)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record_cli  # noqa: E402


def test_outputs_without_protocol_are_byte_identical(tmp_path):
    got = record_cli.run_all([sys.executable, "-m", "proofs_check.cli"], tmp_path)
    for filename, data in got.items():
        assert data == (record_cli.HERE / filename).read_bytes(), filename


def test_golden_comparison_can_fail():
    """Power: one changed digit in a recorded output is a different byte string."""
    golden = (record_cli.HERE / "text_agents.fit_json.out").read_bytes()
    assert golden.replace(b"0.", b"1.", 1) != golden
