"""Contracts of the result documents (numerics.results, docs/api.rst "Results"): the printed layout
(two-space indent or one line), the keys of a result built in Python, ``with_value``'s order, the
ragged-list rule of ``as_array``, ``repr`` without bookkeeping, identity comparison, keyword-only
bookkeeping, ``SweepResult.summary``'s lines, ``Simulation.to_pandas``' table and the module's light imports.

Every expected value is written here by hand or computed with ``json.dumps``; nothing is copied
from the code under test. Small documents only (a few seconds). Every number is a short binary fraction
(0.25, 0.75, ...) that JSON and float64 carry exactly, so values are compared exactly: no tolerance.
"""
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numerics import results
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
TWO = str(ROOT / "examples" / "two_agents.json")

AGENT = {"target": [1.0], "fixed_point": [0.75], "residual": [-0.25], "residual_norm": 0.25}
PREDICT = {"schema_version": 1, "dimension": 1, "contraction_rate": 0.25, "converges": True,
           "precision": "float64", "agents": {"A": AGENT}}
ATTACK = {"schema_version": 1, "kind": "full", "attacker": "A", "victim": "B", "agent_entry": {"name": "A"},
          "contraction_rate": 0.0, "unreachable_residual_norm": None, "predicted": {"converges": True, "agents": {}}}
SWEEP = {"out_dir": "build/s", "n_points": 4, "chunks": 2, "computed": 1, "skipped": 1, "phase": None,
         "phase_note": "no plot requested"}
RUN = {"messages": [[0.5, 1.0], [0.75, 1.0]], "residual_norms": [0.5, 0.25]}
SIMULATE = {"schema_version": 1, "turns": 2, "agents": {"A": RUN}}
FIT = {"schema_version": 1, "claim": "C18", "contraction_rate": 0.5, "converges": True, "agents": {"A": {"r2": 0.99}},
       "warnings": []}
DERIVED = {"agents": ["A"], "steps_per_turn": {"A": 1}, "fixed_points": {"A": {"latex": "u", "text": "u"}},
           "residuals": {"A": {"latex": "e", "text": "e"}}, "rate": {"power": 1}, "checks": [{"holds": True}]}

# (class, document) for every result class
EVERY = [(results.AgentPrediction, AGENT), (results.Prediction, PREDICT), (results.AgentRun, RUN),
         (results.Simulation, SIMULATE), (results.FitResult, FIT), (results.AttackResult, ATTACK),
         (results.SweepResult, SWEEP), (results.DerivedProtocol, DERIVED)]
IDS = [cls.__name__ for cls, _ in EVERY]
# (class, document, to_json's indentation as docs/api.rst states it)
LAYOUT = [(results.Prediction, PREDICT, 2), (results.AttackResult, ATTACK, 2), (results.SweepResult, SWEEP, 2),
          (results.Simulation, SIMULATE, None), (results.FitResult, FIT, None)]


def _cli(capsys, argv) -> str:
    assert cli.main(argv) == 0
    return capsys.readouterr().out


# ---- the printed layout -----------------------------------------------------------------------

@pytest.mark.parametrize("cls,doc,indent", LAYOUT, ids=["predict", "attack", "sweep", "simulate", "fit"])
def test_to_json_is_indented_as_the_docs_state(cls, doc, indent):
    result = cls.from_json(doc)
    assert result.to_json() == json.dumps(doc, indent=indent)
    assert result.to_json(indent=None) == json.dumps(doc)


@pytest.mark.parametrize("argv,indent", [(["predict", TWO], 2), (["attack", TWO, "--kind", "full"], 2),
                                         (["simulate", TWO, "--turns", "2"], None)],
                         ids=["predict", "attack", "simulate"])
def test_the_cli_prints_the_stated_layout(capsys, argv, indent):
    out = _cli(capsys, argv)
    assert out == json.dumps(json.loads(out), indent=indent) + "\n"


@pytest.mark.parametrize("cls,doc", [(results.Prediction, PREDICT), (results.DerivedProtocol, DERIVED)],
                         ids=["predict", "derive"])
def test_any_string_equal_to_command_is_the_command_layout(cls, doc):
    command = "".join(["com", "mand"])  # equal to "command", built at run time (not the interned literal)
    result = cls(**doc) if cls is results.DerivedProtocol else cls.from_json(doc)
    text = result.to_json()
    assert text == json.dumps(json.loads(text), indent=2)
    assert result.to_json(indent=command) == text
    assert result.to_json(indent=None) == json.dumps(json.loads(text))  # any other indent: json.dumps'
    assert result.to_json(indent=4) == json.dumps(json.loads(text), indent=4)


# ---- keys: a result built in Python, with_value ------------------------------------------------

def test_a_result_built_in_python_leaves_out_only_unset_optional_keys():
    set_ = results.Prediction(dimension=1, contraction_rate=0.5, converges=True, precision="float64", mean_rate=0.25)
    assert list(set_.to_dict()) == ["dimension", "contraction_rate", "converges", "precision", "agents", "mean_rate"]
    bare = results.Prediction(dimension=1)  # unset keys that are not optional are written as null
    assert bare.to_dict() == {"dimension": 1, "contraction_rate": None, "converges": None, "precision": None,
                              "agents": {}}
    assert bare.to_json(indent=None) == ('{"dimension": 1, "contraction_rate": null, "converges": null, '
                                         '"precision": null, "agents": {}}')
    agent = results.AgentPrediction(target=np.array([1.0]), covariance=np.array([[0.01]]))
    assert agent.to_dict() == {"target": [1.0], "fixed_point": None, "residual": None, "residual_norm": None,
                               "covariance": [[0.01]]}


def test_with_value_keeps_a_key_in_place_and_appends_a_new_one():
    r = results.FitResult.from_json({"claim": "C18", "rate": 0.5, "agents": {}})
    changed = r.with_value("rate", 0.25)
    assert changed.keys == ("claim", "rate", "agents") and changed.contraction_rate == 0.25
    assert changed.to_json(indent=None) == '{"claim": "C18", "rate": 0.25, "agents": {}}'
    drawn = r.with_value("figure", "f.png").with_value("note", "kept")
    assert drawn.keys == ("claim", "rate", "agents", "figure", "note")
    assert drawn.to_json(indent=None) == ('{"claim": "C18", "rate": 0.5, "agents": {}, "figure": "f.png", '
                                          '"note": "kept"}')
    assert r.to_json(indent=None) == '{"claim": "C18", "rate": 0.5, "agents": {}}'  # r itself unchanged
    built = results.SweepResult(out_dir="o").with_value("phase", "o/phase.png")
    assert built.keys == ("out_dir", "n_points", "chunks", "computed", "skipped", "phase", "phase_note")


def test_a_field_given_twice_keeps_both_values():
    """An old and a new spelling of one key: the first fills the field, both are written back."""
    r = results.FitResult.from_json('{"rate": 0.5, "contraction_rate": 0.25, "claim": "C18"}')
    assert r.contraction_rate == 0.5 and r.extra == {"contraction_rate": 0.25}
    assert r.to_json() == '{"rate": 0.5, "contraction_rate": 0.25, "claim": "C18"}'


# ---- predict's text ---------------------------------------------------------------------------

def test_to_text_writes_floats_to_six_digits_and_decimal_strings_as_given():
    floats = {"dimension": 1, "contraction_rate": 2 / 3, "converges": True, "precision": "float64",
              "agents": {"A": {"target": [1.0], "fixed_point": [0.123456789], "residual": [-0.876543211],
                               "residual_norm": 0.876543211}}}
    assert results.Prediction.from_json(floats).to_text().splitlines() == [
        "contraction rate: 0.666667", "converges: yes (float64)", "A: fixed point [0.123457]  residual norm 0.876543"]
    digits = {"dimension": 1, "contraction_rate": "0.666666666666666666666666666667", "converges": True,
              "precision": "mpmath 30 digits", "agents": {"A": {"target": ["1.0"], "fixed_point": ["0.123456789"],
                                                                "residual": ["-0.876543211"],
                                                                "residual_norm": "0.876543211"}}}
    assert results.Prediction.from_json(digits).to_text().splitlines() == [
        "contraction rate: 0.666666666666666666666666666667", "converges: yes (mpmath 30 digits)",
        "A: fixed point [0.123456789]  residual norm 0.876543211"]


# ---- arrays -----------------------------------------------------------------------------------

def test_a_ragged_list_stays_as_given():
    ragged = [[1.0], [2.0, 3.0]]
    assert results.as_array(ragged) is ragged
    assert results.AgentRun.from_json({"messages": ragged}).messages == [[1.0], [2.0, 3.0]]
    square = results.as_array([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(square, np.ndarray) and square.dtype == np.float64 and square.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert results.as_array([1, 2.0]) == [1, 2.0]  # an integer leaf: not a float vector


# ---- repr, equality, construction -------------------------------------------------------------

class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<{self.name}>"


def test_repr_shows_the_document_fields_only():
    run = results.AgentRun.from_json({"messages": [[0.5]], "residual_norms": [0.25], "note": "kept"})
    assert repr(run) == f"AgentRun(messages={np.array([[0.5]])!r}, residual_norms={np.array([0.25])!r})"
    fit = results.FitResult(claim="C18", report=_Marker("REPORT"), transcript=_Marker("TRANSCRIPT"))
    text = repr(fit)
    assert text.startswith("FitResult(claim='C18', ") and "REPORT" not in text and "TRANSCRIPT" not in text


@pytest.mark.parametrize("cls,doc", EVERY, ids=IDS)
def test_results_compare_and_hash_by_identity(cls, doc):
    a, b = cls.from_json(doc), cls.from_json(doc)
    assert hash(a) == hash(a) and len({a, b}) == 2  # hashable (a set member, a dict key)
    assert a == a and a != b and not (a == b)
    assert a.to_dict() == b.to_dict()  # equal documents: compare to_dict()


@pytest.mark.parametrize("cls,doc", EVERY, ids=IDS)
def test_bookkeeping_is_keyword_only(cls, doc):
    params = inspect.signature(cls).parameters
    assert params["extra"].kind is params["keys"].kind is inspect.Parameter.KEYWORD_ONLY
    first = next(iter(params.values()))
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and first.name not in ("extra", "keys")


def test_fields_are_positional_in_the_documented_order():
    p = results.Prediction(1, 0.5, True, "float64")
    assert p.to_json(indent=None) == ('{"dimension": 1, "contraction_rate": 0.5, "converges": true, '
                                      '"precision": "float64", "agents": {}}')
    s = results.SweepResult("o", 4, 2, 1, 1)
    assert (s.out_dir, s.n_points, s.chunks, s.computed, s.skipped) == ("o", 4, 2, 1, 1)


# ---- tables -----------------------------------------------------------------------------------

def test_simulation_table_is_one_frame_indexed_row_by_row():
    pytest.importorskip("pandas")
    b = {"messages": [[0.0, 2.0], [0.25, 1.5]], "residual_norms": [1.0, 0.75]}
    table = results.Simulation.from_json(dict(SIMULATE, agents={"A": RUN, "B": b})).to_pandas()
    assert list(table.columns) == ["agent", "turn", "residual_norm", "message_1", "message_2"]
    assert table.values.tolist() == [["A", 1, 0.5, 0.5, 1.0], ["A", 2, 0.25, 0.75, 1.0],
                                     ["B", 1, 1.0, 0.0, 2.0], ["B", 2, 0.75, 0.25, 1.5]]
    assert table.index.tolist() == [0, 1, 2, 3]


def test_to_pandas_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(ImportError, match=re.escape("pip install 'a2a-dynamics[pandas]'")) as info:
        results.Simulation.from_json(SIMULATE).to_pandas()
    assert "to_pandas() needs pandas" in str(info.value) and info.value.__suppress_context__


# ---- sweep's summary --------------------------------------------------------------------------

def test_sweep_summary_names_the_figure_then_its_note():
    drawn = results.SweepResult(out_dir="o", n_points=4, chunks=2, computed=1, skipped=1, phase="o/phase.png",
                        phase_note="contraction rate over the grid")
    first = f"4 points in 2 chunks: 1 computed, 1 already done -> {os.path.join('o', 'results')}"
    assert drawn.summary().splitlines() == [first, "phase: o/phase.png", "  contraction rate over the grid"]
    none = results.SweepResult(out_dir="o", n_points=4, chunks=2, computed=1, skipped=1, phase_note="no plot requested")
    assert none.summary().splitlines() == [first, "no plot requested"]
    assert results.SweepResult(out_dir="o", n_points=4, chunks=2, computed=1, skipped=1).summary() == first + "\n"


# ---- light imports ----------------------------------------------------------------------------

def test_the_results_module_imports_no_engine():
    """Module docstring: numpy, the standard library and the JSON writer only (the fitting engine and
    the transcripts are named for type checking)."""
    code = ("import sys, numerics.results\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numerics', 'scipy', 'sympy', 'matplotlib', 'pandas', 'numba', 'mpmath')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = out.rsplit("LOADED", 1)[1].strip()
    assert loaded == str(sorted(["numerics", "numerics.io", "numerics.io.errors", "numerics.io.outputs",
                                 "numerics.results"]))
