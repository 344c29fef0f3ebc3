"""R1's VS part on a chain whose reduced system has blocks in its corners (proofs_check/verification/shipped_ne6.py):
it passes on the package and FAILS on the wrong variants of theory/protocol/named_elimination.py that survived the
first mutation session (session 5) against NAMED_SMALL: a wrap-around index that lists the named blocks out of the
elimination's order, and one that subtracts the last unknown twice in the first back substitution."""
from __future__ import annotations

import inspect
import math
import re

import pytest

from proofs_check.verification import shipped_ne6 as S6
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


def _replace_in(monkeypatch, name: str, old: str, new: str) -> None:
    """Redefine ``NE.<name>`` from its source with ``old`` replaced by ``new`` (restored after)."""
    src = inspect.getsource(getattr(NE, name))
    assert src.count(old) == 1
    space: dict = {}
    exec(compile(src.replace(old, new), NE.__file__, "exec"), NE.__dict__ | space, space)
    monkeypatch.setattr(NE, name, space[name])


def test_passes_on_the_package():
    out = S6.ne6_outcome(QUICK)
    assert passes(out), out.detail
    assert field(out, "definitions in the elimination's order") == 0.0


@pytest.mark.parametrize("old, new", [
    ("for i in range(k + 1, n):\n            new[i][k] = {}", "for i in range(k - 1, n):\n            new[i][k] = {}"),
    ("for j in range(k + 1, n):\n                val", "for j in range(k - 1, n):\n                val"),
])
def test_named_blocks_out_of_the_elimination_order_fail(monkeypatch, old, new):
    """At k = 0 the index -1 is the last row (column): its blocks are named first; the same set, another order."""
    _replace_in(monkeypatch, "eliminate", old, new)
    out = S6.ne6_outcome(QUICK)
    assert not passes(out)
    assert field(out, "definitions in the elimination's order") > 1.0
    assert field(out, "named blocks U") <= 1.0  # the same blocks: only the order tells


def test_the_last_unknown_subtracted_twice_fails(monkeypatch):
    """``range(k - 1, n)`` in the back substitution: at k = 0 the index -1 adds the last unknown's term again
    (row 1Ann has a block in column 4Bo); the derivation's own proof refuses the document."""
    _replace_in(monkeypatch, "solve", "for j in range(k + 1, n) if A[k][j] and x[j]",
                "for j in range(k - 1, n) if A[k][j] and x[j]")
    out = S6.ne6_outcome(QUICK)
    assert not passes(out)
    assert field(out, "document printed") > 1.0
