"""R4's V4 reads the rates its statement prints and fails when one is not the computed rate rounded."""
import pytest

from proofs_check.claims import r_random as R
from proofs_check.verification.registry import Profile

QUICK = Profile("quick", 2, 1, 3, 0)


def passed(out) -> bool:
    return out.worst_error <= out.tolerance


def test_r4_printed_rates_are_the_computed_ones():
    assert passed(R.r4_v4(QUICK))


@pytest.mark.parametrize("old, new", [("0.744", "0.745"), ("0.854", "0.853"), ("0.673", "0.674"),
                                      ("< 0.9$", "< 0.8$"), ("rates 0.744", "rates about 0.744")])
def test_a_wrong_printed_rate_fails(monkeypatch, old, new):
    sentence = R._refuted_sentence()
    assert old in sentence
    monkeypatch.setattr(R, "_refuted_sentence", lambda: sentence.replace(old, new))
    assert not passed(R.r4_v4(QUICK))
