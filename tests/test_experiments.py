"""Each experiment command writes its CSV and PNG, and its data shows what the claims say."""
import csv

import numpy as np
import pytest

from proofs_check.cli import main as cli

PLATEAU_TOL = 1e-8  # relative: quick runs stop after 400 turns at rho <= 0.9
PNG_MAGIC = b"\x89PNG"


def run_experiment(tmp_path, capsys, name):
    out = tmp_path / name
    assert cli.main(["experiment", name, "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    for path in printed:
        assert open(path, "rb").read(4) == PNG_MAGIC or path.endswith((".csv", ".jsonl"))
    with open(out / f"{name}.csv") as fh:
        return list(csv.DictReader(fh))


def test_misalignment_points_on_prediction(tmp_path, capsys):
    rows = run_experiment(tmp_path, capsys, "misalignment")
    assert {r["geometry_A"] for r in rows} == {"isotropic", "anisotropic", "rank-deficient"}
    for r in rows:
        p, s = float(r["residual_norm"]), float(r["sim_residual_norm"])
        assert abs(p - s) <= PLATEAU_TOL * max(1.0, p)


def test_geometry_better_informed_agent_keeps_its_target(tmp_path, capsys):
    rows = run_experiment(tmp_path, capsys, "geometry")
    for r in rows:
        assert float(r["simulated_share_A"]) == pytest.approx(float(r["predicted_share_A"]), abs=1e-8)
        if float(r["gain_A"]) > float(r["gain_B"]):
            assert float(r["simulated_share_A"]) < float(r["simulated_share_B"])


def test_adversarial_attacker_wins(tmp_path, capsys):
    rows = run_experiment(tmp_path, capsys, "adversarial")
    full = [r for r in rows if r["attack"] == "full"]
    assert float(full[-1]["attacker_sim_residual_norm"]) < 1e-12
    assert float(full[-1]["victim_sim_residual_norm"]) == pytest.approx(float(full[-1]["victim_reference"]), rel=1e-10)
    rank_one = [r for r in rows if r["attack"] == "rank-one"]
    assert float(rank_one[-1]["attacker_sim_residual_norm"]) < float(rank_one[0]["attacker_sim_residual_norm"])
    for r in (r for r in rows if r["attack"] == "defence"):
        assert float(r["victim_sim_residual_norm"]) <= float(r["victim_reference"]) * (1 + 1e-12)


def test_helper_orders_of_convergence(tmp_path, capsys):
    rows = run_experiment(tmp_path, capsys, "helper")
    err = {}
    for r in rows:
        err.setdefault(r["helper"], []).append(float(r["main_sim_residual_norm"]))
    assert err["Newton alpha=1"][1] <= 1e-12 * max(1.0, err["Newton alpha=1"][0])
    d = 4
    assert err["identification"][d + 1] < 1e-9  # round d+2
    assert err["fixed, misaligned"][-1] > 0.1  # the plateau stays
    assert np.all(np.diff(err["Newton alpha=0.5"][:20]) < 0)


def test_unknown_experiment_and_agents(capsys):
    assert cli.main(["experiment", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_trained_lsa_plateaus_match_c3(tmp_path, capsys):
    out = tmp_path / "tl"
    assert cli.main(["experiment", "trained-lsa", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    with open(out / "trained_lsa.csv") as fh:
        rows = list(csv.DictReader(fh))
    for agent in "AB":
        last = [r for r in rows if r["agent"] == agent][-1]
        assert float(last["sim_residual_norm"]) == pytest.approx(float(last["residual_norm"]), rel=0.02)
    assert (out / "trained_lsa.png").read_bytes()[:4] == PNG_MAGIC


def test_helper_with_lsa_main_agent(tmp_path, capsys):
    out = tmp_path / "h"
    assert cli.main(["experiment", "helper", "--agents", "lsa", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    with open(out / "helper.csv") as fh:
        err = [float(r["main_sim_residual_norm"]) for r in csv.DictReader(fh) if r["helper"] == "Newton alpha=1"]
    assert err[1] <= 1e-12 * max(1.0, err[0])  # C12 holds for the LSA main agent too


def test_blackbox_prediction_matches_the_tail(tmp_path, capsys):
    rows = run_experiment(tmp_path, capsys, "blackbox")
    assert (tmp_path / "blackbox" / "transcript.jsonl").exists()
    for r in rows:  # the predicted and observed plateau intervals overlap; the spreads agree within 30%
        assert float(r["fixed_point_low"]) <= float(r["observed_tail_mean_high"])
        assert float(r["observed_tail_mean_low"]) <= float(r["fixed_point_high"])
        assert float(r["predicted_std"]) == pytest.approx(float(r["observed_std"]), rel=0.3)
