"""The derive VS check of the printed rate's root: with several blocks and power p > 1 the statement is
``max{rho(B_1)^{1/p}, rho(B_2)^{1/p}}``, which ends in the brace, not in the root. The check once read only
the end and failed this correct statement; it now requires one root per block and still fails a dropped one."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_derive as SD
from proofs_check.verification.shipped import Ledger, _instances


def _derived(inst):
    with tempfile.TemporaryDirectory() as tmp:
        path = cli.write_configs(tmp, [inst.config()])[0]
        printed = dict(zip(("json", "text"), cli.run_commands(
            [["derive", "--protocol", path, "--format", f] for f in ("json", "text")])))
        return printed, Path(path).stem


def _outcome(inst, rho, printed, stem):
    ledger = Ledger(instances=1)
    SD.check_derivation(ledger, inst, rho, printed, {}, stem)
    return ledger.outcome("rate root")


def test_two_blocks_with_a_root_pass_and_a_dropped_root_fails():
    inst, rho = _instances(np.random.default_rng(13), 30, (2, 4), True)[24]
    printed, stem = _derived(inst)
    rate = printed["json"].json()["contraction_rate"]
    assert rate["power"] == 2 and len(rate["blocks"]) == 2  # the case this test is about
    assert _outcome(inst, rho, printed, stem).worst_error <= 1.0
    doc = printed["json"].json()
    statement = doc["contraction_rate"]["latex"]
    doc["contraction_rate"]["latex"] = statement.replace("^{1/2}", "", 1)  # one block loses its root
    assert doc["contraction_rate"]["latex"] != statement
    printed["json"] = cli.Printed(printed["json"].argv, 0, json.dumps(doc), "")
    bad = _outcome(inst, rho, printed, stem)
    assert bad.worst_error > 1.0 and "rate statement root" in bad.detail
