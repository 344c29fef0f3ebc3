"""Printed number formats that the user docs state (session 6: each was a surviving mutant's only difference):

* docs/cli.rst, ``derive --protocol``'s limit: "The refusal states the estimate in full below 1,000,000 words and
  to 3 significant digits from 1,000,000 on" (``theory.protocol.cost.check``);
* docs/config.rst: ``compile_seconds`` is "the compile's wall time in seconds, rounded to 3 decimals";
* docs/protocol.rst, the random report's hypotheses: a pivot narrower than 40 units is written out, else pointed at
  (ninth round: random_report.py's survivors ``< 39``, ``<= 40``, ``< 41``).

The documented numbers are read from the docs, not from the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from theory import api
from theory.protocol import cost, report

ROOT = Path(__file__).resolve().parent.parent


def documented(page: str, pattern: str) -> re.Match:
    """The match of ``pattern`` in ``docs/<page>`` (its whitespace folded to single spaces); fails if the page no
    longer states it. Other test files read their documented numbers through it."""
    m = re.search(pattern, " ".join((ROOT / "docs" / page).read_text().split()))
    assert m is not None, f"docs/{page} no longer states {pattern!r}"
    return m


def _refusal(monkeypatch, words: int) -> str:
    s = api.protocol_spec(["A", "B"], [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}])
    monkeypatch.setattr(cost, "elimination_words", lambda spec: (words, 2))
    with pytest.raises(cost.TooLarge) as exc:
        cost.check(s, limit=0)
    return str(exc.value)


def test_refusal_states_the_estimate_as_documented(monkeypatch):
    m = documented("cli.rst",
                   r"The refusal states the estimate in full below ([\d,]+) words and to (\d) significant digits")
    switch, digits = int(m.group(1).replace(",", "")), int(m.group(2))
    # around the switch and around every power of ten a moved switch would pick
    for words in (99_999, 100_000, 531_441, 600_000, switch - 1, switch, switch + 1, 1_500_000, 1_771_561,
                  2_000_000, 9_999_999, 10_000_000, 12_345_678):
        msg = _refusal(monkeypatch, words)
        if words < switch:
            assert f"an estimated {words:,} words" in msg, (words, msg)
        else:
            m = re.search(r"an estimated (\S+) words", msg)
            assert m is not None, msg
            shown = m.group(1)
            assert "," not in shown and float(shown) == float(f"{words:.{digits}g}"), (words, shown)
            assert len(re.sub(r"e[+-]\d+$", "", shown).replace(".", "").lstrip("0")) <= digits, shown


def test_compile_seconds_rounded_as_documented():
    places = int(documented("config.rst", r"``compile_seconds`` \(the compile's wall time in seconds, "
                                    r"rounded to (\d) decimals\)").group(1))
    cp = api.compile_protocol(api.protocol_spec(["A", "B"], [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]), noise=False)
    for seconds in (0.123456, 1.98765, 0.0004999):
        cp.seconds = seconds
        assert report.derived_theory(cp)["compile_seconds"] == round(seconds, places)


def test_random_hypotheses_write_a_pivot_out_as_documented(monkeypatch):
    """docs/protocol.rst: "a hypothesis writes a pivot out (``$...$ is invertible``) when the pivot is narrower than 40
    units, else points at its display" (the random report's LaTeX; the widths' own rules are tested in
    tests/test_protocol_latex.py)."""
    from theory.protocol import random_report

    units = float(documented("protocol.rst", r"a hypothesis writes a pivot out \(``\$\.\.\.\$ is invertible``\) "
                                             r"when the pivot is narrower than (\d+) units").group(1))
    doc = {"inverses": [{"latex": "P", "name": r"\mathcal{Q}_{1}"}], "hypotheses": []}
    for width, written in ((units - 0.5, True), (units, False), (units + 0.5, False)):
        monkeypatch.setattr(random_report.typeset, "width", lambda tex, w=width: w)
        (shown,) = random_report._hypotheses_tex(doc)
        assert shown == (r"$P$ is invertible (its inverse is $\mathcal{Q}_{1}$)" if written
                         else r"the pivot $\mathcal{Q}_{1}^{-1}$ above is invertible"), (width, shown)
