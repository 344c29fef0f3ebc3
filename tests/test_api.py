"""The public Python API (numerics.__all__, theory.__all__): typed results whose to_json() is the
command's output byte for byte, doctests on every exported name, bad input as InputError, docs."""
import doctest
import importlib
import importlib.util
import inspect
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import numerics
import theory
from numerics import api, results
from numerics.io import outputs
from numerics.io.errors import InputError
from numerics.protocol.config import System
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
TWO = str(ROOT / "examples" / "two_agents.json")
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Fixed point of a 2 x 2 linear solve compared with numpy's: a few ulps of the O(1) entries.
SOLVE_TOL = 1e-12
API_MODULES = ("numerics", "numerics.api", "numerics.results", "theory", "theory.api")


def _cli(capsys, argv) -> tuple[int, str, str]:
    rc = cli.main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _exported():
    for package in (numerics, theory):
        for name in package.__all__:
            yield f"{package.__name__}.{name}", getattr(package, name)


# ---- doctests ----------------------------------------------------------------------------

def _run_doctests(obj, name, recurse, monkeypatch) -> int:
    monkeypatch.chdir(ROOT)  # examples/ paths in the docstrings
    finder = doctest.DocTestFinder(recurse=recurse, exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    tests = [t for t in finder.find(obj, name) if t.examples]
    module = inspect.getmodule(obj)
    for t in tests:
        if not recurse and module is not None:
            t.globs = dict(vars(module))  # the defining module's names, as --doctest-modules gives them
        runner.run(t)
    assert runner.failures == 0, f"{runner.failures} doctest failure(s) in {name} (see the output above)"
    return sum(len(t.examples) for t in tests)


@pytest.mark.parametrize("qualname,obj", list(_exported()), ids=[q for q, _ in _exported()])
def test_every_exported_name_has_a_passing_doctest(qualname, obj, monkeypatch):
    assert _run_doctests(obj, qualname, recurse=False, monkeypatch=monkeypatch) >= 1, f"{qualname}: no example"


@pytest.mark.parametrize("module", API_MODULES)
def test_api_modules_doctests_pass(module, monkeypatch):
    assert _run_doctests(importlib.import_module(module), module, recurse=True, monkeypatch=monkeypatch) >= 1


def _docs_conf():
    spec = importlib.util.spec_from_file_location("docs_conf", ROOT / "docs" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exported_docstrings_are_numpydoc_so_the_docs_render_their_sections():
    """docs/conf.py hands numpydoc docstrings to napoleon and escapes the others as plain text."""
    conf = _docs_conf()
    not_numpydoc = [q for q, obj in _exported() if not conf.is_numpydoc(obj.__doc__)]
    assert not not_numpydoc, not_numpydoc
    assert not conf.is_numpydoc("Plain text: ||u_t - w_A*|| shrinks.\n    e = G Delta\n")  # power: escaped


def test_the_doctest_runner_fails_a_wrong_example(monkeypatch):
    """Power: an example whose expected output is wrong (a flipped sign) fails the runner."""
    def wrong():
        """
        >>> -1 * 2
        2
        """
    with pytest.raises(AssertionError, match="1 doctest failure"):
        _run_doctests(wrong, "wrong", recurse=False, monkeypatch=monkeypatch)


def test_all_names_exist_and_dir_lists_them():
    for package in (numerics, theory):
        assert len(set(package.__all__)) == len(package.__all__)
        assert set(package.__all__) <= set(dir(package))
        with pytest.raises(AttributeError):
            package.no_such_name  # noqa: B018


def _documented_as(qualname, obj) -> set:
    """The autodoc targets that document an exported name: its public path, or a module's own name."""
    return {qualname, obj.__name__} if inspect.ismodule(obj) else {qualname}


def test_every_exported_name_is_documented_in_api_rst():
    text = (ROOT / "docs" / "api.rst").read_text()
    documented = set(re.findall(r"^\.\. auto(?:function|class|exception|module|data):: ([\w.]+)", text, re.M))
    missing = [q for q, obj in _exported() if not _documented_as(q, obj) & documented]
    assert not missing, f"not in docs/api.rst: {missing}"


def test_the_api_rst_check_sees_a_missing_name(monkeypatch):
    """Power: a name added to __all__ without its autodoc entry is reported."""
    monkeypatch.setattr(numerics, "__all__", numerics.__all__ + ["undocumented"])
    monkeypatch.setattr(numerics, "undocumented", lambda: None, raising=False)
    with pytest.raises(AssertionError, match="numerics.undocumented"):
        test_every_exported_name_is_documented_in_api_rst()


# ---- one code path: the CLI prints the API's result ----------------------------------------

@pytest.mark.parametrize("argv,call", [
    (["predict", TWO], lambda: api.predict(TWO)),
    (["predict", TWO, "--precision", "30"], lambda: api.predict(TWO, precision=30)),
    (["predict", str(ROOT / "examples" / "protocol_ring.json")],
     lambda: api.predict(str(ROOT / "examples" / "protocol_ring.json"))),
    (["simulate", str(ROOT / "examples" / "three_agents.json"), "--turns", "6"],
     lambda: api.simulate(str(ROOT / "examples" / "three_agents.json"), 6)),
    (["attack", TWO, "--kind", "steer", "--point", "[0.5, 0.5]"], lambda: api.attack(TWO, "steer", point=[0.5, 0.5])),
    (["attack", TWO, "--kind", "rank-one"], lambda: api.attack(TWO, "rank-one")),
])
def test_cli_prints_the_api_result_byte_for_byte(capsys, argv, call):
    rc, out, _ = _cli(capsys, argv)
    assert rc == 0 and out == call().to_json() + "\n"


def test_fit_cli_json_is_the_api_result_with_its_figure(capsys, tmp_path):
    src = tmp_path / "t.jsonl"
    shutil.copy(ROOT / "tests" / "golden" / "text_agents.local.jsonl", src)
    rc, out, _ = _cli(capsys, ["fit", str(src), "--json", "--bootstrap", "20", "--seed", "3"])
    result = api.fit_transcript(src, bootstrap=20, seed=3)
    assert rc == 0 and result.figure is None
    assert out == result.with_value("figure", str(tmp_path / "t-fit.png")).to_json() + "\n"
    drawn = result.save_figure(tmp_path / "again.png")
    assert (tmp_path / "again.png").stat().st_size > 0 and drawn.figure == str(tmp_path / "again.png")
    rc, text, _ = _cli(capsys, ["fit", str(src), "--bootstrap", "20", "--seed", "3", "--force"])
    assert text == result.to_text() + f"\nfigure: {tmp_path / 't-fit.png'}\n"


def test_derive_protocol_cli_json_is_the_api_document(capsys):
    path = str(ROOT / "examples" / "protocol_simultaneous.json")
    rc, out, _ = _cli(capsys, ["derive", "--protocol", path, "--format", "json"])
    api_doc = json.loads(api.derive_protocol(path).to_json())
    cli_doc = json.loads(out)
    for doc in (api_doc, cli_doc):
        doc.pop("compile_seconds")  # a timing: the only key that differs between two runs
    assert rc == 0 and cli_doc == api_doc


def test_sweep_cli_prints_the_result_summary(capsys, tmp_path):
    spec = {"base": json.loads(Path(TWO).read_text()), "axes": {"agents.0.preconditioner": [0.25, 0.5]},
            "measure": ["predict"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    rc, out, _ = _cli(capsys, ["sweep", str(tmp_path / "spec.json"), "--out", str(tmp_path / "cli"), "--no-progress"])
    result = api.run_sweep(spec, tmp_path / "cli", resume=True)  # same folder, every chunk already there
    assert rc == 0 and result.computed == 0 and result.skipped == result.chunks
    assert out.splitlines()[1:] == result.summary().splitlines()[1:]  # first line: this run's counts
    table = result.to_pandas()
    assert len(table) == result.n_points == 2 and table["agents.0.preconditioner"].tolist() == [0.25, 0.5]
    for gamma, conv in zip(table["agents.0.preconditioner"], table["converges"]):
        raw = json.loads(Path(TWO).read_text())
        raw["agents"][0]["preconditioner"] = gamma
        assert bool(conv) == api.predict(raw).converges


# ---- the documents: round trip, renamed and unknown keys -------------------------------------

def _docs():
    return {
        "predict": (results.Prediction, api.predict(TWO).to_dict()),
        "predict_digits": (results.Prediction, api.predict(TWO, precision=25).to_dict()),
        "simulate": (results.Simulation, api.simulate(TWO, 4).to_dict()),
        "attack": (results.AttackResult, api.attack(TWO, "full").to_dict()),
    }


@pytest.mark.parametrize("key", ["predict", "predict_digits", "simulate", "attack"])
def test_from_json_to_json_is_the_identity(key):
    cls, doc = _docs()[key]
    for indent in (None, 2):
        assert cls.from_json(doc).to_json(indent) == outputs.dumps(doc, key, indent)
    assert cls.from_json(json.dumps(doc)).to_dict() == doc


def test_renamed_and_unknown_keys_survive_in_place():
    doc = {"claim": "C18", "rate": 0.5, "tail_start_round": 3, "new_key": [1, 2], "agents": [], "warnings": []}
    r = results.FitResult.from_json(doc)
    assert r.contraction_rate == 0.5 and r.extra == {"new_key": [1, 2]}
    assert list(r.to_dict()) == list(doc) and r.to_json() == json.dumps(doc)
    renamed = dict(doc, contraction_rate=doc["rate"])
    del renamed["rate"]
    assert results.FitResult.from_json(renamed).contraction_rate == 0.5


def test_the_round_trip_check_sees_a_changed_number():
    """Power: a result whose residual has a flipped sign no longer prints the engine's document."""
    doc = api.predict(TWO).to_dict()
    r = results.Prediction.from_json(doc)
    flipped = r.agents["A"].residual * -1
    bad = results.Prediction.from_json(dict(doc, agents={**doc["agents"], "A": {**doc["agents"]["A"],
                                                                               "residual": flipped.tolist()}}))
    assert bad.to_json() != outputs.dumps(doc, "predict", 2)


def test_prediction_matches_an_independent_solve():
    """README example: ``u_A* = (I - M_A M_B)^{-1}(M_A c_B + c_A)`` from the config's numbers by hand."""
    raw = json.loads(Path(TWO).read_text())
    A, B = raw["agents"]
    X, y = np.array(A["prompt"]["X"]), np.array(A["prompt"]["y"])
    H_A, b_A = X.T @ X / len(X), X.T @ y / len(X)
    M_A, c_A = np.eye(2) - A["preconditioner"] * H_A, A["preconditioner"] * b_A
    G_B, H_B = np.array(B["preconditioner"]), np.array(B["geometry"])
    M_B, c_B = np.eye(2) - G_B @ H_B, G_B @ H_B @ np.array(B["target"])
    u = np.linalg.solve(np.eye(2) - M_A @ M_B, M_A @ c_B + c_A)
    p = numerics.predict(numerics.load_config(TWO))
    assert np.max(np.abs(p.agents["A"].fixed_point - u)) <= SOLVE_TOL
    assert abs(p.contraction_rate - max(abs(np.linalg.eigvals(M_A @ M_B)))) <= SOLVE_TOL
    w_A = np.linalg.lstsq(H_A, b_A, rcond=None)[0]
    assert np.max(np.abs(p.agents["A"].residual - (u - w_A))) <= SOLVE_TOL


def test_simulation_table_has_one_row_per_agent_and_turn():
    s = api.simulate(str(ROOT / "examples" / "three_agents.json"), 5)
    table = s.to_pandas()
    assert len(table) == 3 * 5 and list(table["turn"][:5]) == [1, 2, 3, 4, 5]
    for name, run in s.agents.items():
        rows = table[table["agent"] == name]
        msgs = rows[[c for c in table.columns if c.startswith("message_")]].to_numpy()
        assert np.array_equal(msgs, run.messages)
        assert np.array_equal(rows["residual_norm"].to_numpy(), run.residual_norms)


def test_fit_table_has_one_row_per_agent():
    r = api.fit_transcript(ROOT / "tests" / "golden" / "text_agents.local.jsonl", bootstrap=0)
    table = r.to_pandas()
    assert table["agent"].tolist() == list(r.agents) and "M_hat" in table.columns


# ---- the API's own computations --------------------------------------------------------------

def _scalar_pair(protocol=None):
    """Two 1-D agents with M_A = 0.5, M_B = 0.2 (H = 1, Gamma = 1 - M)."""
    raw = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                      {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.8}]}
    if protocol:
        raw["protocol"] = protocol
    return raw


@pytest.mark.parametrize("protocol", [None, {"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}])
def test_stationary_covariance_matches_the_scalar_formula(protocol):
    """By hand (round robin, and the simultaneous pair): A's deviation after a round is
    ``m_A (m_B d + eta_B) + eta_A``, so ``Var_A = (S_A + m_A^2 S_B) / (1 - m_A^2 m_B^2)``."""
    mA, mB, SA, SB = 0.5, 0.2, 0.3, 0.7
    P = api.stationary_covariance(_scalar_pair(protocol), {"A": [[SA]], "B": [[SB]]})
    assert abs(P["A"][0, 0] - (SA + mA**2 * SB) / (1 - mA**2 * mB**2)) <= SOLVE_TOL
    assert abs(P["B"][0, 0] - (SB + mB**2 * SA) / (1 - mA**2 * mB**2)) <= SOLVE_TOL


def test_stationary_covariance_check_sees_a_dropped_noise(monkeypatch):
    """Power: the engine with agent A's noise dropped fails the scalar formula above."""
    from numerics.dynamics import lyapunov

    true = lyapunov.stationary_covariances
    monkeypatch.setattr(lyapunov, "stationary_covariances", lambda M, S: true(M, np.stack([0 * S[0], S[1]])))
    P = api.stationary_covariance(_scalar_pair(), [[[0.3]], [[0.7]]])
    assert abs(P["A"][0, 0] - (0.3 + 0.25 * 0.7) / (1 - 0.25 * 0.04)) > 1e-3


def test_predict_precision_reads_a_dict_as_written(capsys, tmp_path):
    """0.8 in a dict is 8/10 (rho = 0.5 x 0.2 = 0.1 exactly), as in a file: the CLI prints the same."""
    raw = _scalar_pair()
    system = api.load_config(raw)
    raw["agents"][0]["preconditioner"] = 0.1  # the caller's dict changes later: the System kept its own copy
    digits = api.predict(system, precision=30)
    assert digits.contraction_rate == "0.1" + "0" * 29
    (tmp_path / "c.json").write_text(json.dumps(_scalar_pair()))
    rc, out, _ = _cli(capsys, ["predict", str(tmp_path / "c.json"), "--precision", "30"])
    assert rc == 0 and out == digits.to_json() + "\n" == api.predict(_scalar_pair(), precision=30).to_json() + "\n"


# ---- bad input through the API ---------------------------------------------------------------

@pytest.mark.parametrize("call,quantity", [
    (lambda: api.load_config({"agents": [{"name": "A"}]}), "agents"),
    (lambda: api.predict(_scalar_pair(), precision=3), "--precision"),
    (lambda: api.predict(System(*_built()), precision=20), "config"),
    (lambda: api.simulate(_scalar_pair(), 0), "turns"),
    (lambda: api.attack(_scalar_pair(), "full", attacker="Z"), "--attacker"),
    (lambda: api.attack(_scalar_pair(), "full", seed=-1), "--seed"),
    (lambda: api.stationary_covariance(_scalar_pair(), {"A": [[1.0]]}), "noise"),
    (lambda: api.stationary_covariance(_scalar_pair(), [[[1.0]], [[-1.0]]]), "noise covariance"),
    (lambda: api.stationary_covariance(_scalar_pair(), [[[1.0, 0.0]], [[1.0, 0.0]]]), "noise covariances S"),
    (lambda: api.fit_transcript(ROOT / "tests" / "golden" / "text_agents.local.jsonl", bootstrap=-1), "--bootstrap"),
    (lambda: api.read_transcript(ROOT / "no-such.jsonl"), "transcript"),
])
def test_bad_input_raises_input_error_naming_the_quantity(call, quantity):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.quantity.startswith(quantity), info.value


def _built():
    """The fields of a System built in Python (no CONFIG.json text behind it)."""
    s = api.load_config(_scalar_pair())
    return s.agents, s.initial_message, s.protocol


@pytest.mark.parametrize("protocol", [None, {"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}])
def test_stationary_covariance_refuses_a_diverging_system(protocol):
    raw = _scalar_pair(protocol)
    for agent in raw["agents"]:
        agent["preconditioner"] = 3.0  # M = -2 for both: rho = 4 (round robin), 2 (simultaneous)
    with pytest.raises(InputError) as info:
        api.stationary_covariance(raw, [[[1.0]], [[1.0]]])
    assert info.value.quantity == "contraction rate rho"
