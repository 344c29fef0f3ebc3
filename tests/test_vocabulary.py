"""One vocabulary (``predict``'s) across every document the CLI prints or writes, ``schema_version``
first in each, per-agent results keyed by agent name, and every key of the tabled documents
documented in docs/config.rst."""
import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import Geometry
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.protocol import simulate
from numerics.sweep import run as sweep_run, spec as sweep_spec
from proofs_check.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIG_RST = (ROOT / "docs" / "config.rst").read_text()
# Names a quantity had before schema version 1 (docs/config.rst, "Renamed"): no document may use them.
FORMER = {"rate", "rho", "errors", "plateau", "plateaus", "predicted_plateau", "predicted_plateau_interval",
          "implied_target", "unreachable_residual", "rel_error", "format", "fixed_points", "residuals", "lsa_rho"}
FIT_EXACT_TOL = 1e-9  # noise-free GD transcripts: least squares recovers the maps to rounding


def _cli_json(capsys, argv) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def keys(doc, skip=()):
    """Every key of a JSON document, recursively, except below the keys in ``skip``."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            if k not in skip:
                yield from keys(v, skip)
    elif isinstance(doc, list):
        for v in doc:
            yield from keys(v, skip)


def former_names(doc) -> set:
    # below these the keys are data (agent names, listeners, formula text), not vocabulary
    return FORMER & set(keys(doc, skip=("agent_entry", "phases", "phases_latex", "protocol", "spec", "lyapunov")))


def documented(doc: dict) -> list[str]:
    """The top-level and per-agent keys of ``doc`` that docs/config.rst does not list."""
    def listed(key, prefix=""):
        return re.search(rf"``{re.escape(prefix + key)}``", CONFIG_RST) is not None
    missing = [k for k in doc if not listed(k)]
    agents = doc.get("agents")
    if isinstance(agents, dict):
        missing += [f"agents.<n>.{k}" for entry in agents.values() for k in entry if not listed(k, "agents.<n>.")]
    return missing


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """Every JSON document of the CLI (printed or written) on the examples, by name."""
    tmp = tmp_path_factory.mktemp("docs")
    out = {}

    def run(name, argv):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert cli.main(argv) == 0, name
        out[name] = json.loads(buf.getvalue())

    two, three, proto = (str(EXAMPLES / f) for f in ("two_agents.json", "three_agents.json", "text_protocol.json"))
    run("predict", ["predict", three])
    run("predict_precise", ["predict", two, "--precision", "20"])
    run("simulate", ["simulate", two, "--turns", "5"])
    run("attack", ["attack", two, "--kind", "steer", "--point", "[0.5, -0.5]"])
    run("attack_protocol", ["attack", str(EXAMPLES / "protocol_simultaneous.json"), "--kind", "steer", "--point",
                            "[0.5, -0.5]"])
    tr = tmp / "t.jsonl"
    assert cli.main(["llm-run", proto, "--turns", "30", "--out", str(tr), "--backend", "local",
                     "--local-noise", "0.01"]) == 0
    out["transcript_header"] = json.loads(tr.read_text().splitlines()[0])
    run("fit_protocol", ["fit", str(tr), "--json", "--bootstrap", "5", "--figure", str(tmp / "f.png")])
    rr = tmp / "rr.jsonl"
    assert cli.main(["llm-run", str(EXAMPLES / "text_agents.json"), "--turns", "30", "--out", str(rr), "--backend",
                     "local", "--local-noise", "0.01"]) == 0
    run("fit", ["fit", str(rr), "--json", "--bootstrap", "5", "--figure", str(tmp / "g.png")])
    run("derive", ["derive", "--format", "json", "--claims", "C2"])
    run("derive_protocol", ["derive", "--protocol", str(EXAMPLES / "protocol_simultaneous.json"), "--format", "json"])
    spec = sweep_spec.parse({"base": json.loads(Path(two).read_text()), "axes": {"agents.0.preconditioner": [0.3, 0.5]},
                             "measure": ["predict"]})
    sweep_run.run(spec, tmp / "sweep", plot=False)
    out["sweep_manifest"] = json.loads((tmp / "sweep" / "spec.json").read_text())
    return out


def test_every_document_opens_with_schema_version_1(documents):
    for name, doc in documents.items():
        assert next(iter(doc)) == "schema_version" and doc["schema_version"] == 1, name
        assert type(doc["schema_version"]) is int, name


def test_no_document_uses_a_former_name(documents):
    for name, doc in documents.items():
        assert not former_names(doc), (name, former_names(doc))


def test_former_name_check_can_fail(documents):
    """Power: a former name planted deep in a document, or at its top, is found."""
    planted = json.loads(json.dumps(documents["fit"]))
    planted["agents"]["A"]["map_interval"]["rate"] = 1.0
    assert former_names(planted) == {"rate"}
    assert former_names({**documents["simulate"], "plateau": 0.1}) == {"plateau"}


def test_per_agent_results_are_keyed_by_name_in_speaking_order(documents):
    three = json.loads((EXAMPLES / "three_agents.json").read_text())
    assert list(documents["predict"]["agents"]) == [a["name"] for a in three["agents"]]
    for name in ("simulate", "fit", "fit_protocol", "derive_protocol"):
        agents = documents[name]["agents"]
        assert isinstance(agents, dict) and all(isinstance(v, dict) for v in agents.values()), name
        assert not any("name" in v for v in agents.values()), name
    assert list(documents["fit_protocol"]["agents"]) == documents["fit_protocol"]["protocol"]["agents"]


def test_fit_entries_use_predicts_names_with_predicts_meaning(documents):
    """fit's target, fixed_point, residual and residual_norm relate as predict's do (checked here by numpy,
    independently of the document builder); converges agrees with the rate."""
    for name in ("fit", "fit_protocol"):
        doc = documents[name]
        assert doc["converges"] == (doc["contraction_rate"] < 1) and "reason" not in doc
        for entry in doc["agents"].values():
            assert {"target", "fixed_point", "residual", "residual_norm"} <= set(entry)
            r = np.array(entry["fixed_point"]) - np.array(entry["target"])
            np.testing.assert_allclose(entry["residual"], r, rtol=0, atol=1e-15)
            assert entry["residual_norm"] == pytest.approx(np.linalg.norm(r), rel=1e-14)


def test_fit_of_a_diverging_conversation_says_why(tmp_path, capsys):
    """Overshooting GD agents (Gamma = 3 I: each M_i has an eigenvalue below -1): the fitted maps diverge; no
    fixed point, converges false with a reason, as predict reports it."""
    pair = [GDAgent(n, Geometry(H=H, b=H @ w, w_star=w), 3.0 * np.eye(2))
            for n, H, w in (("A", np.array([[1.0, 0.3], [0.3, 0.6]]), np.array([1.0, 0.0])),
                            ("B", np.array([[0.7, -0.2], [-0.2, 1.0]]), np.array([0.0, 1.0])))]
    rho = max(abs(np.linalg.eigvals(pair[0].M @ pair[1].M)))  # 1.99
    v0 = np.array([0.3, -0.2])
    path = transcripts.from_run(pair, v0, simulate.run(pair, v0, 20)).write(tmp_path / "div.jsonl")
    doc = _cli_json(capsys, ["fit", str(path), "--json", "--bootstrap", "0", "--figure", str(tmp_path / "d.png")])
    assert doc["contraction_rate"] == pytest.approx(rho, rel=FIT_EXACT_TOL) and rho > 1
    assert doc["converges"] is False and "no attracting fixed point" in doc["reason"]
    for entry in doc["agents"].values():
        assert entry["fixed_point"] is None and entry["residual"] is None and entry["residual_norm"] is None
        assert entry["target"] == pytest.approx(pair[0].w_star if entry is doc["agents"]["A"] else pair[1].w_star,
                                                abs=FIT_EXACT_TOL)


@pytest.mark.parametrize("name", ["predict", "predict_precise", "simulate", "attack", "attack_protocol", "fit",
                                  "fit_protocol"])
def test_every_key_is_documented(documents, name):
    assert documented(documents[name]) == []


def test_documentation_check_can_fail(documents):
    """Power: an undocumented top-level or per-agent key is reported."""
    assert documented({**documents["predict"], "spectral_gap": 0.1}) == ["spectral_gap"]
    doc = json.loads(json.dumps(documents["simulate"]))
    doc["agents"]["A"]["error_bars"] = []
    assert documented(doc) == ["agents.<n>.error_bars"]


def test_verify_report_is_versioned(tmp_path, capsys, monkeypatch):
    """Both the printed report (--json) and report.json carry the schema version (the run itself is stubbed:
    the report's content is tested elsewhere)."""
    from proofs_check.report import writers
    from proofs_check.verification import runner

    report = {"package_version": "x", "profile": "quick", "claims": [],
              "summary": {"passed": 0, "failed": 0, "skipped": 0, "seconds": 0.0}}
    monkeypatch.setattr(runner, "run", lambda *a, **k: report)
    doc = _cli_json(capsys, ["verify", "--claims", "C2", "--json", "--workers", "1", "--no-cache"])
    assert doc == {"schema_version": 1, **report} and next(iter(doc)) == "schema_version"
    writers.write(report, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text()) == doc and "schema_version" not in report


def test_train_lsa_metadata_is_versioned(tmp_path):
    from numerics.lsa import training

    res = training.train(2, 8, "anisotropic", 1.0, 0.0, steps=20, batch=16, seed=0, lr=0.02,
                         parameterisation="sparse", progress=False, check_every=10)
    _, meta = training.load(training.save(res, tmp_path / "w.npz"))
    assert next(iter(meta)) == "schema_version" and meta["schema_version"] == 1
    assert meta["gamma_rel_error"] == res.rel_error and not former_names(meta)


def test_spec_and_config_accept_only_schema_version_1():
    base = json.loads((EXAMPLES / "two_agents.json").read_text())
    raw = {"base": base, "axes": {"agents.0.preconditioner": [0.3]}, "measure": ["predict"]}
    assert sweep_spec.parse({**raw, "schema_version": 1}).n_points == 1
    for bad in (2, True, "1"):
        with pytest.raises(InputError, match="schema_version"):
            sweep_spec.parse({**raw, "schema_version": bad})


def test_former_plot_quantity_names_the_new_column(tmp_path):
    base = json.loads((EXAMPLES / "two_agents.json").read_text())
    for old, new in (("rho", "contraction_rate"), ("residual_A", "residual_norm_A"),
                     ("sim_gap_B", "sim_fixed_point_distance_B")):
        spec = sweep_spec.parse({"base": base, "axes": {"agents.0.preconditioner": [0.3]},
                                 "measure": [{"simulate": {"turns": 3}}], "plot": {"quantity": old}})
        with pytest.raises(InputError, match=f"renamed to '{new}'"):
            sweep_run.run(spec, tmp_path / old, plot=False)
    spec = sweep_spec.parse({"base": base, "axes": {"agents.0.preconditioner": [0.3]}, "measure": ["predict"],
                             "plot": {"quantity": "residual_Z"}})
    with pytest.raises(InputError, match="is not a result column"):
        sweep_run.run(spec, tmp_path / "z", plot=False)


def test_resume_refuses_results_with_former_columns(tmp_path):
    base = json.loads((EXAMPLES / "two_agents.json").read_text())
    spec = sweep_spec.parse({"base": base, "axes": {"agents.0.preconditioner": [0.3, 0.5]}, "measure": ["predict"],
                             "chunk_size": 1})
    out = tmp_path / "s"
    sweep_run.run(spec, out, plot=False)
    manifest = json.loads((out / "spec.json").read_text())
    assert sweep_run.run(spec, out, resume=True, plot=False).computed == 0  # today's columns: resumed
    manifest["columns"] = [{"contraction_rate": "rho"}.get(c, c) for c in manifest["columns"]]
    (out / "spec.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="other result columns"):
        sweep_run.run(spec, out, resume=True, plot=False)


def test_transcript_header_written_before_schema_version_1_is_read(documents, tmp_path):
    header = documents["transcript_header"]
    old = {"format": 1, **{k: v for k, v in header.items() if k != "schema_version"}}
    assert transcripts.parse_header(dict(old)) == header
    with pytest.raises(ValueError, match="'schema_version' must be 1"):
        transcripts.parse_header({**old, "format": 2})
