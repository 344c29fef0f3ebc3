"""The random protocol's document (theory.protocol.random_report.derived_random) for a chain with symbolic
transition probabilities, which only the Python API builds: each alternative's ``next`` lists the transitions of
nonzero probability with their probabilities as written (no order comparison of a symbol with 0, which has no
truth value), and every check holds. The mutation killer of random_report.py runs this file
(mutation/targets.toml)."""
import sympy as sp

from theory.protocol import random_report as RR
from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import markov

s = sp.Symbol("s")


def test_symbolic_chain_document():
    rs = markov(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]], [[1 - s, s], [1, 0]], labels=("x", "y"))
    doc = RR.derived_random(compile_random(rs, derive_mean=False))
    assert [a["next"] for a in doc["alternatives"]] == [{"x": "1 - s", "y": "s"}, {"x": "1"}]
    assert all(c["holds"] for c in doc["checks"]) and doc["law"] == "markov"


def test_compile_seconds_as_the_deterministic_document_gives_them():
    """``compile_seconds``: the compiler's time rounded as the deterministic document (theory.protocol.report)
    rounds the same field, so both documents of ``derive --protocol`` state it to the same precision."""
    from theory.protocol.compiler import compile_protocol
    from theory.protocol.description import spec
    from theory.protocol.random_description import independent
    from theory.protocol.report import derived_theory

    phases = [{"A": {"B": 1}}, {"B": {"A": 1}}]
    cp = compile_protocol(spec(["A", "B"], phases))
    rc = compile_random(independent(["A", "B"], [phases], [1]))
    for seconds in (1.23456, 0.0071):  # each with a third decimal (a coarser rounding would show)
        cp.seconds = rc.seconds = seconds
        assert RR.derived_random(rc)["compile_seconds"] == derived_theory(cp)["compile_seconds"] != round(seconds, 2)
