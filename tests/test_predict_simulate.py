"""`a2ad predict` vs long `a2ad simulate` runs on random configs."""
import json

import numpy as np
import pytest

from numerics.protocol import config, prediction
from proofs_check.cli import main as cli

# docs/theory.rst, V4: closed form vs simulation to 1e-9 relative error at rho <= 0.9.
REL_TOL = 1e-9
# float64 vs 50-digit mpmath on well-conditioned configs (cond <= 1e2, rho <= 0.9).
PRECISION_TOL = 1e-12


def random_config(rng, K: int, d: int, rank_deficient: bool = False, max_steps: int = 1) -> dict:
    """K agents; prompts with N < d when rank_deficient (their union still spans R^d)."""
    while True:
        agents = []
        for k in range(K):
            spec = {"name": f"agent{k}", "steps_per_turn": int(rng.integers(1, max_steps + 1))}
            if rank_deficient or k % 2 == 0:
                N = int(rng.integers(max(1, d - 2), d)) if rank_deficient else int(rng.integers(d, 3 * d))
                X = rng.standard_normal((N, d))
                y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(N)
                spec["prompt"] = {"X": X.tolist(), "y": y.tolist()}
                H = X.T @ X / N
            else:
                Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
                H = (Q * rng.uniform(0.1, 1.0, d)) @ Q.T
                spec["geometry"] = H.tolist()
                spec["target"] = rng.standard_normal(d).tolist()
            eta = rng.uniform(0.3, 1.5) / np.max(np.linalg.eigvalsh(H))
            spec["preconditioner"] = (float(eta) if rng.random() < 0.5
                                      else (eta * np.diag(rng.uniform(0.7, 1.0, d))).tolist())
            agents.append(spec)
        raw = {"agents": agents, "initial_message": rng.standard_normal(d).tolist()}
        doc = prediction.predict(config.parse(raw))
        if doc["converges"] and doc["contraction_rate"] <= 0.9:
            return raw


def run_cli(capsys, args):
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CASES = [(2, 3, False, 1), (2, 5, False, 3), (3, 4, False, 1), (4, 3, False, 2), (3, 5, True, 1), (4, 6, True, 2)]


@pytest.mark.parametrize("K, d, rank_deficient, max_steps", CASES)
def test_predict_matches_long_simulation(tmp_path, capsys, K, d, rank_deficient, max_steps):
    rng = np.random.default_rng(100 * K + d)
    raw = random_config(rng, K, d, rank_deficient, max_steps)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    code, out, err = run_cli(capsys, ["predict", str(path)])
    assert code == 0, err
    pred = json.loads(out)
    assert pred["precision"] == "float64" and pred["dimension"] == d
    turns = int(np.ceil(np.log(1e-14) / np.log(max(pred["contraction_rate"], 1e-3)))) + 10
    code, out, err = run_cli(capsys, ["simulate", str(path), "--turns", str(turns)])
    assert code == 0, err
    sim = json.loads(out)
    assert sim["turns"] == turns
    for name, entry in pred["agents"].items():
        last = np.array(sim["agents"][name]["messages"][-1])
        u = np.array(entry["fixed_point"])
        assert np.linalg.norm(u - last) <= REL_TOL * np.linalg.norm(u)
        assert np.allclose(entry["residual"], u - np.array(entry["target"]), atol=1e-15)
        assert sim["agents"][name]["residual_norms"][-1] == pytest.approx(entry["residual_norm"], rel=1e-8, abs=1e-12)


def test_precision_agrees_with_float64(tmp_path, capsys):
    rng = np.random.default_rng(5)
    raw = random_config(rng, 3, 3, max_steps=2)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(raw))
    fast = json.loads(run_cli(capsys, ["predict", str(path)])[1])
    code, out, _ = run_cli(capsys, ["predict", str(path), "--precision", "50"])
    slow = json.loads(out)
    assert code == 0 and slow["precision"] == "mpmath 50 digits"
    assert isinstance(slow["contraction_rate"], str) and len(slow["contraction_rate"].lstrip("-0.")) >= 45
    for name in fast["agents"]:
        a = np.array(fast["agents"][name]["fixed_point"])
        b = np.array([float(x) for x in slow["agents"][name]["fixed_point"]])
        assert np.linalg.norm(a - b) <= PRECISION_TOL * np.linalg.norm(b)


def divergent_config() -> dict:
    return {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 3.5},
                       {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]}


@pytest.mark.parametrize("precision", [None, "30"])
def test_divergent_pair_predicts_no_fixed_point(tmp_path, capsys, precision):
    path = tmp_path / "div.json"
    path.write_text(json.dumps(divergent_config()))
    args = ["predict", str(path)] + (["--precision", precision] if precision else [])
    code, out, _ = run_cli(capsys, args)
    doc = json.loads(out)
    assert code == 0 and doc["converges"] is False and "diverge" in doc["reason"]
    assert float(doc["contraction_rate"]) == pytest.approx(1.25)  # |1 - 3.5| * |1 - 0.5|
    assert all(a["fixed_point"] is None and a["residual"] is None for a in doc["agents"].values())


def test_shared_null_direction_is_not_convergent():
    raw = {"agents": [{"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.0]], "target": [1.0, 0.0], "preconditioner": 1.0},
                      {"name": "B", "geometry": [[0.5, 0.0], [0.0, 0.0]], "target": [0.0, 0.0], "preconditioner": 1.0}]}
    doc = prediction.predict(config.parse(raw))
    assert doc["converges"] is False and doc["contraction_rate"] == pytest.approx(1.0)
