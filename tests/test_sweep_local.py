"""``a2ad sweep`` with the local backend: batched numbers, files, resume, figures."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import prediction, simulate
from numerics.sweep import measures as sweep_measures, run as sweep_run, spec as sweep_spec
from proofs_check.cli import main as cli

# Batched and per-point evaluations differ only by float64 round-off in products of a few 2x2-4x4
# matrices and one well-conditioned solve (rho <= 0.95 below): 1e-9 relative leaves a wide margin.
AGREE_RTOL = 1e-9
# 600 turns at rho <= 0.95 shrink the transient by 0.95^600 ~ 4e-14.
SIM_ATOL = 1e-10

BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1, 0.0], [0.1, 0.5, 0.0], [0.0, 0.0, 0.3]], "target": [1.0, 0.0, 0.5],
     "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2, 0.0], [0.2, 1.0, 0.1], [0.0, 0.1, 0.4]], "target": [0.0, 1.0, -0.5],
     "preconditioner": [[0.8, 0.0, 0.0], [0.0, 0.5, 0.1], [0.0, 0.1, 0.9]], "steps_per_turn": 2},
], "initial_message": [0.3, -0.2, 0.1]}

MIXED_AXES = {"agents.0.preconditioner": {"linspace": [0.2, 2.6, 5]}, "agents.1.target.0": [-1.0, 2.0],
              "agents.0.steps_per_turn": [1, 3], "agents.1.preconditioner.1.2": [0.0, 0.3],
              "agents.0.geometry.0.1": [0.0, 0.2], "initial_message.2": [0.0, 1.0]}
GAP_AXES = {"gap_angle": {"linspace": [0.0, 3.0, 4]}, "gap_scale": [0.0, 0.5, 1.0, 2.0],
            "agents.1.preconditioner.0.0": [0.4, 4.0]}


def make(axes, measure=("predict",), **extra):
    return sweep_spec.parse({"base": BASE, "axes": axes, "measure": list(measure), **extra})


def whole(spec):
    parts = [sweep_measures.compute_chunk(spec, c) for c in range(spec.n_chunks)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def per_point_reference(spec, turns=None):
    """Each point through config.parse, prediction.predict and simulate.run (no batching)."""
    rows = []
    values = spec.axis_values(np.arange(spec.n_points))
    for p in range(spec.n_points):
        system = spec.point_system({k: v[p] for k, v in values.items()})
        doc = prediction.predict(system)
        row = {"contraction_rate": doc["contraction_rate"], "converges": doc["converges"]}
        for name, entry in doc["agents"].items():
            row[f"residual_norm_{name}"] = np.nan if entry["residual_norm"] is None else entry["residual_norm"]
        if turns:
            last = simulate.run(system.agents, system.initial_message, turns)[-1]
            for i, a in enumerate(system.agents):
                row[f"sim_residual_norm_{a.name}"] = np.linalg.norm(last[i] - a.w_star)
        rows.append(row)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def mismatch(got, ref) -> float:
    worst = 0.0
    for k, want in ref.items():
        if want.dtype == bool:
            worst = max(worst, float(np.sum(got[k] != want)))
            continue
        if not np.array_equal(np.isnan(got[k]), np.isnan(want)):  # NaN exactly where no fixed point
            return np.inf
        ok = ~np.isnan(want)
        worst = max(worst, float(np.max(np.abs(got[k][ok] - want[ok]) / np.maximum(1.0, np.abs(want[ok])))))
    return worst


@pytest.mark.parametrize("axes", [MIXED_AXES, GAP_AXES], ids=["paths", "gap"])
def test_batched_equals_per_point(axes):
    spec = make(axes, measure=[{"simulate": {"turns": 60}}], chunk_size=37)
    got = whole(spec)
    ref = per_point_reference(spec, turns=60)
    assert got["converges"].any() and (~got["converges"]).any()  # both regimes are exercised
    assert mismatch(got, ref) < AGREE_RTOL


def test_batched_catches_planted_errors(monkeypatch):
    spec = make(MIXED_AXES)
    ref = per_point_reference(spec)
    real = sweep_measures.transfers
    monkeypatch.setattr(sweep_measures, "transfers", lambda G, H, w, steps: real(G, H, w, np.ones_like(steps)))
    assert mismatch(whole(spec), ref) > 1e-3  # steps per turn dropped (C7)
    monkeypatch.setattr(sweep_measures, "transfers", real)
    real_arrays = sweep_measures.system_arrays

    def unsymmetric(spec, values, n):  # only one triangle of the geometry set
        H, G, b, w, steps, v0 = real_arrays(spec, values, n)
        H[:, 0, 1, 0] = BASE["agents"][0]["geometry"][1][0]
        return H, G, b, w, steps, v0
    monkeypatch.setattr(sweep_measures, "system_arrays", unsymmetric)
    assert mismatch(whole(spec), ref) > 1e-3


def test_plateau_linear_in_gap_scale():
    """C3/C4: the residuals are linear in Delta, so residual(s) = s residual(1), and 0 at s = 0."""
    spec = make({"gap_angle": [0.0, 1.1], "gap_scale": [0.0, 0.5, 1.0, 3.0]}, measure=[{"simulate": {"turns": 600}}])
    cols = whole(spec)
    assert cols["converges"].all() and cols["contraction_rate"].max() < 0.95
    r = cols["residual_norm_A"].reshape(2, 4)
    np.testing.assert_allclose(r, r[:, 2:3] * np.array([0.0, 0.5, 1.0, 3.0]), rtol=1e-10, atol=1e-14)
    assert r[0, 2] != pytest.approx(r[1, 2], rel=1e-3)  # the angle matters for this geometry
    # the real iteration lands on the predicted fixed point
    assert max(np.max(cols[f"sim_fixed_point_distance_{n}"]) for n in "AB") < SIM_ATOL
    np.testing.assert_allclose(cols["sim_residual_norm_B"], cols["residual_norm_B"], atol=SIM_ATOL)


def test_sim_fixed_point_distance_detects_a_wrong_closed_form(monkeypatch):
    spec = make({"gap_scale": [1.0, 2.0]}, measure=[{"simulate": {"turns": 600}}])
    real = closed_forms.fixed_points
    monkeypatch.setattr(closed_forms, "fixed_points", lambda M, c, check=True: real(M, -c, check))  # flipped sign
    assert np.min(whole(spec)["sim_fixed_point_distance_A"]) > 1e-2


def test_divergent_points_have_no_residual():
    spec = make({"agents.0.preconditioner": [0.5, 5.0]})
    cols = whole(spec)
    assert cols["converges"].tolist() == [True, False] and cols["contraction_rate"][1] > 1
    assert np.isfinite(cols["residual_norm_A"][0]) and np.isnan(cols["residual_norm_A"][1])


def test_process_pool_equals_in_process(tmp_path):
    spec = make(GAP_AXES, measure=[{"simulate": {"turns": 50}}], chunk_size=5)
    sweep_run.run(spec, tmp_path / "one", workers=1, plot=False)
    sweep_run.run(spec, tmp_path / "two", workers=2, plot=False)
    a, b = sweep_run.read_results(tmp_path / "one"), sweep_run.read_results(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_files_resume_force_and_refusal(tmp_path, capsys):
    raw = {"base": BASE, "axes": {"agents.0.preconditioner": {"linspace": [0.2, 1.5, 7]},
                                  "agents.1.preconditioner.0.0": [0.4, 0.8, 1.2]},
           "measure": ["predict"], "chunk_size": 4}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--no-progress"]) == 0
    assert "21 points in 6 chunks: 6 computed" in capsys.readouterr().out
    files = sorted((out / "results").iterdir())
    assert [f.name for f in files] == [f"chunk-{c:06d}.parquet" for c in range(6)]  # no temporary files left
    df = pd.read_parquet(out / "results").sort_values("point")  # one table, as a user reads it
    assert len(df) == 21 and df["point"].tolist() == list(range(21))
    assert {"agents.0.preconditioner", "agents.1.preconditioner.0.0", "contraction_rate", "converges",
            "residual_norm_A", "residual_norm_B", "seed"} <= set(df.columns)
    meta = json.loads((out / "spec.json").read_text())
    assert meta["spec"] == raw and meta["package_version"] == "0.1.0" and meta["n_chunks"] == 6
    assert (out / "phase.png").stat().st_size > 10_000

    # a rerun is refused without --resume/--force, and nothing changes
    stamp = {f.name: f.stat().st_mtime_ns for f in files}
    assert cli.main(["sweep", str(spec_path), "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    # --resume recomputes only what is missing
    (out / "results" / "chunk-000003.parquet").unlink()
    (out / "results" / ".chunk-000004.parquet.tmp-999").write_bytes(b"half a file")  # a killed run's leftover
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "1 computed, 5 already done" in capsys.readouterr().out
    after = {f.name: f.stat().st_mtime_ns for f in (out / "results").iterdir()}
    assert set(after) == set(stamp)
    assert all(after[n] == stamp[n] for n in stamp if n != "chunk-000003.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results").sort_values("point").reset_index(drop=True),
                                  df.reset_index(drop=True))
    # --resume with another spec is refused; --force starts over
    raw["axes"]["agents.0.preconditioner"]["linspace"][2] = 8
    spec_path.write_text(json.dumps(raw))
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--resume"]) == 2
    assert "different spec" in capsys.readouterr().err
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--force", "--no-progress"]) == 0
    assert "24 points in 6 chunks: 6 computed, 0 already done" in capsys.readouterr().out


def test_spec_inside_out_dir_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    spec_path = out / "spec.json"
    spec_path.write_text(json.dumps({"base": BASE, "axes": {"gap_scale": [1.0]}, "measure": "predict"}))
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--force"]) == 2
    assert "contains the spec file" in capsys.readouterr().err
    assert spec_path.exists()


@pytest.mark.parametrize("axes, drawn", [
    ({"gap_scale": {"linspace": [0, 2, 9]}}, True),
    ({"gap_scale": [0.5, 1.0], "gap_angle": [0.0, 1.0], "seed": [0, 1]}, True),
    ({"gap_scale": [0.5, 1.0], "gap_angle": [0.0, 1.0], "agents.0.preconditioner": [0.2, 0.4]}, False),
])
def test_phase_figure(tmp_path, axes, drawn):
    spec = make(axes, measure=[{"simulate": {"turns": 30}}])
    outcome = sweep_run.run(spec, tmp_path / "o")
    assert (outcome.phase is not None) == drawn == (tmp_path / "o" / "phase.png").exists()
    if not drawn:
        assert "two axes" in outcome.phase_note


def test_exact_prompt_has_the_geometry():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    H, w = A @ A.T / 4, rng.standard_normal(4)
    X, y = sweep_measures.exact_prompt(H, w)
    np.testing.assert_allclose(X.T @ X / 4, H, atol=1e-12)
    np.testing.assert_allclose(X.T @ y / 4, H @ w, atol=1e-12)


def test_train_lsa_measure_reproducible_and_consistent():
    """Sparse LSA agents are exactly affine (L1b): their real forward passes land on C3 from Gamma_eff."""
    spec = make({"seed": [0, 1], "gap_scale": [1.0]},
                measure=[{"train-lsa": {"steps": 40, "batch": 32, "turns": 300}}])
    a, b = whole(spec), whole(spec)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # each point's seed fixes its result
    assert a["lsa_gamma_rel_error_A"][0] != a["lsa_gamma_rel_error_A"][1]  # and seeds differ
    assert np.all(a["lsa_contraction_rate"] < 1) and np.all(np.isfinite(a["lsa_gamma_rel_error_B"]))
    assert np.max(a["lsa_residual_rel_error_A"]) < 1e-8 and np.max(a["lsa_residual_rel_error_B"]) < 1e-8
    assert np.all(a["lsa_residual_norm_A"] > 1e-3)


def test_train_lsa_needs_definite_geometry(tmp_path, capsys):
    """The error raised in a worker process reaches the user as the same one line."""
    base = json.loads(json.dumps(BASE))
    base["agents"][0]["geometry"] = [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]
    raw = {"base": base, "axes": {"seed": [0, 1]}, "measure": [{"train-lsa": {"steps": 5}}]}
    with pytest.raises(InputError, match="A.geometry"):
        whole(sweep_spec.parse(raw))
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(raw))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "A.geometry" in err[0] and "positive definite" in err[0]


def test_example_specs_parse():
    here = os.path.join(os.path.dirname(__file__), "..", "examples")
    names = [n for n in os.listdir(here) if n.startswith("sweep_")]
    assert len(names) >= 2
    for n in names:
        sweep_spec.load(os.path.join(here, n))


PROTOCOL_BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1], [0.1, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.6},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.7}],
    "protocol": {"rounds": [{"A": {"A": 0.5, "B": 1.0}}, {"B": {"A": 1.0}}]}}


def test_protocol_sweep_follows_the_protocol_not_the_round_robin():
    """An anchoring weight swept as a protocol path: every point equals predict of that point's own
    protocol config, the simulated protocol reaches it, and the numbers differ from the round robin."""
    spec = sweep_spec.parse({"base": PROTOCOL_BASE, "axes": {"protocol.rounds.0.A.A": [0.0, 0.3, 0.6, 0.9]},
                             "measure": [{"simulate": {"turns": 400}}]})
    got = whole(spec)
    ref = per_point_reference(spec)
    assert mismatch({k: got[k] for k in ref}, ref) < AGREE_RTOL
    assert max(np.max(got[f"sim_fixed_point_distance_{n}"]) for n in "AB") < SIM_ATOL
    plain = dict(PROTOCOL_BASE)
    plain.pop("protocol")
    rr = whole(sweep_spec.parse({"base": plain, "axes": {"agents.0.preconditioner": [0.6]}, "measure": ["predict"]}))
    # weight 0 on A's own message is the round robin; weight 0.9 is not
    assert abs(got["residual_norm_A"][0] - rr["residual_norm_A"][0]) < AGREE_RTOL
    assert abs(got["residual_norm_A"][-1] - rr["residual_norm_A"][0]) > 0.1


def test_protocol_sweep_over_a_batched_axis_still_follows_the_protocol():
    spec = sweep_spec.parse({"base": PROTOCOL_BASE, "axes": {"agents.0.preconditioner": [0.3, 0.6, 0.9]},
                             "measure": ["predict"]})
    ref = per_point_reference(spec)
    assert mismatch(whole(spec), ref) < AGREE_RTOL


def test_protocol_sweep_refuses_trained_agents():
    with pytest.raises(InputError, match="round robin only"):
        sweep_spec.parse({"base": PROTOCOL_BASE, "axes": {"seed": [0]}, "measure": ["train-lsa"]})
