"""Configs without a ``protocol`` print byte-identical ``predict``/``simulate`` output to the CLI
before the protocol compiler (golden files recorded by tests/golden/record.py with the CLI of commit 9f30c68, the last
one before the protocol compiler; that commit made `--precision` read JSON decimals exactly), once the documented
rename map of schema version 1 (tests/golden/renames.py: ``schema_version`` added, simulate's ``errors`` ->
``residual_norms``) is applied to the recording; and an explicit round-robin protocol reproduces the implicit one."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numerics.protocol import config, prediction, spec as protocol

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record  # noqa: E402
import renames  # noqa: E402

CASES = list(record.cases())
ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("filename,args", CASES, ids=[c[0] for c in CASES])
def test_output_without_protocol_is_byte_identical(filename, args):
    out = subprocess.run([sys.executable, "-m", "proofs_check.cli", *args], check=True, capture_output=True,
                         cwd=ROOT).stdout
    assert out == renames.expected(filename, (record.HERE / filename).read_bytes())


def test_golden_comparison_can_fail():
    """Power: a one-digit change in the recorded bytes is detected (the test compares bytes, not numbers),
    also through the rename map, also in a renamed key's value."""
    golden = (record.HERE / "two_agents.predict.out").read_bytes()
    assert golden.replace(b"0.", b"1.", 1) != golden
    name = "two_agents.simulate_t7.out"
    recorded = (record.HERE / name).read_bytes()
    want = renames.expected(name, recorded)
    assert renames.expected(name, recorded.replace(b"0.7725", b"0.7726", 1)) != want
    assert b'"residual_norms": [0.75, 0.7725' in want  # the renamed key carries the recorded values


@pytest.mark.parametrize("name", ["two_agents", "three_agents"])
def test_explicit_round_robin_protocol_reproduces_the_implicit_one(name):
    raw = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    plain = config.parse(raw)
    names = plain.names
    raw["protocol"] = {"rounds": [{names[i]: {names[i - 1]: 1}} for i in range(len(names))]}
    explicit = config.parse(raw)
    assert explicit.protocol is not None
    a, b = prediction.predict(plain), prediction.predict(explicit)
    assert a["contraction_rate"] == pytest.approx(b["contraction_rate"], rel=1e-12)
    for n in names:
        np.testing.assert_allclose(a["agents"][n]["fixed_point"], b["agents"][n]["fixed_point"], rtol=1e-12, atol=1e-14)
    # The protocol simulator reproduces the round robin bit for bit (every agent speaks once per round).
    sa, sb = prediction.simulate_doc(plain, 9), prediction.simulate_doc(explicit, 9)
    assert sa == sb
    rr = protocol.round_robin(names, plain.initial_message)
    assert rr.phases == explicit.protocol.phases
