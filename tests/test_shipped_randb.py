"""R1's VS on a small Markov chain that takes the named-elimination path (proofs_check/verification/shipped_randb.py):
it passes on the package and FAILS on wrong variants planted in theory/protocol/named_elimination.py (the proof
silenced, so that only the numeric reference can see them) and in the printed document."""
from __future__ import annotations

import inspect
import math
import re

import pytest

from proofs_check.verification import shipped_randb as SR
from proofs_check.verification.registry import PROFILES
from theory.protocol import named_elimination as NE

QUICK = PROFILES["quick"]


def field(out, name: str) -> float:
    """The worst error of one ledger field, in units of its bar."""
    mt = re.search(rf"{re.escape(name)} (\S+) \(bar (\S+)\)", out.detail)
    assert mt is not None, out.detail
    return float(mt.group(1)) / float(mt.group(2))


def passes(out) -> bool:
    return (not math.isnan(out.worst_error)) and out.worst_error <= out.tolerance


def test_passes_on_the_package_and_takes_the_named_path():
    out = SR.named_small_outcome(QUICK)
    assert passes(out), out.detail
    for name in ("named path taken", "written messages y", "stationary mean", "fixed_points weights G",
                 "checks proved"):
        assert field(out, name) <= 1.0


def test_r1_vs_runs_the_small_chain():
    from proofs_check.claims.r_random import CLAIMS

    r1 = next(c for c in CLAIMS if c.id == "R1")
    assert "NAMED_SMALL" in (r1.methods["VS"].__doc__ or "")


def _replace_in(monkeypatch, name: str, old: str, new: str) -> None:
    """Redefine ``named_elimination.<name>`` from its source with ``old`` replaced by ``new`` (restored after)."""
    src = inspect.getsource(getattr(NE, name))
    assert src.count(old) == 1
    space: dict = {}
    exec(compile(src.replace(old, new), NE.__file__, "exec"), NE.__dict__ | space, space)
    monkeypatch.setattr(NE, name, space[name])


@pytest.mark.parametrize("name, old, new", [
    # the back substitution's later unknowns added instead of subtracted
    ("solve", "signs=[1] + [-1] * len(later)", "signs=[1] + [1] * len(later)"),
    # the right side's multiplier A_ik Q_k and a Schur block's multiplier taken in the wrong order
    ("solve", "pmul(A[i][k], el.Q[k], h[k])", "pmul(el.Q[k], A[i][k], h[k])"),
    ("eliminate", "pmul(A[i][k], Qk)", "pmul(Qk, A[i][k])"),
    # a Schur block's update added
    ("eliminate", "pmul(L, A[k][j]), signs=(1, -1)", "pmul(L, A[k][j]), signs=(1, 1)"),
])
def test_wrong_elimination_with_the_proof_silenced_fails(monkeypatch, name, old, new):
    _replace_in(monkeypatch, name, old, new)
    monkeypatch.setattr(NE, "checks", lambda alg, el: [])  # the derivation's own proof would refuse it
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert field(out, "written messages y") > 1.0 or field(out, "stationary mean") > 1.0


def test_a_wrong_printed_message_fails(monkeypatch):
    """One back-substituted message's printed definition doubled: the y field fails."""
    from proofs_check.verification import shipped_cli as cli

    real = cli.run_commands

    def swapped(argvs):
        out = real(argvs)
        doc = out[0].json()
        y = next(e for e in doc["definitions"] if e["text_name"].startswith("y_"))
        y["text"] = f"2*({y['text']})"
        import dataclasses
        import json
        return [dataclasses.replace(out[0], stdout=json.dumps(doc))]

    monkeypatch.setattr(SR.cli, "run_commands", swapped)
    out = SR.named_small_outcome(QUICK)
    assert field(out, "written messages y") > 1.0


def test_the_named_path_is_required(monkeypatch):
    """A document without back-substituted messages (e.g. the expanded path) fails "named path taken"."""
    from proofs_check.verification import shipped_cli as cli

    real = cli.run_commands

    def dropped(argvs):
        out = real(argvs)
        doc = out[0].json()
        doc["definitions"] = [e for e in doc["definitions"] if not e["text_name"].startswith("y_")]
        import dataclasses
        import json
        return [dataclasses.replace(out[0], stdout=json.dumps(doc))]

    monkeypatch.setattr(SR.cli, "run_commands", dropped)
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert field(out, "named path taken") > 1.0
