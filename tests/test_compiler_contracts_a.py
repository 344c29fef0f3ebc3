"""Contracts of the protocol compiler's building blocks (theory/protocol, stream A of the mutation round)
that no verify method reads: what the objects promise their callers, not mathematics."""
import dataclasses

import pytest

from theory.protocol.result import Check


def test_a_check_is_immutable_and_hashable():
    """A V1 check's verdict cannot be changed after it was computed (``frozen``), and checks can be
    collected in sets and dict keys."""
    c = Check("z*_A is fixed by the round map", True, "0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(c, "holds", False)
    assert {c, Check("z*_A is fixed by the round map", True, "0")} == {c}
