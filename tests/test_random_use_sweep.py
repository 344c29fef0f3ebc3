"""``sweep`` on random protocols (issue 26): axes over probabilities rescale the rest of their law,
the columns (mean-square rate, mean rate, stationary mean's residuals, spreads) agree with the
alternatives' maps taken from the real agents, phase.png shows the mean-square rate, bad axes exit 2
with one line, and planted wrong variants fail."""
import copy
import json

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, random_moments, random_simulate
from numerics.sweep import run as sweep_run, spec as sweep_spec
from proofs_check.cli import main as cli

# The rates and the mean from the alternatives' maps (taken from the real agents, one round at a time)
# against the sweep's columns: float64 rounding of a (K d)^2 = 36-unknown solve and an eigenvalue.
SAME_TOL = 1e-9
# The law's rescaling: a ratio of two floats, each rescaled once.
RATIO_TOL = 1e-12

# A updates from its own message and B's (so repeated A-rounds iterate M_A: a large step diverges), B
# hears C, C hears A and B; C writes with noise.
BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.8},
    {"name": "B", "geometry": [[0.6, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.8},
    {"name": "C", "geometry": [[0.8, 0.0], [0.0, 0.8]], "target": [-1.0, 0.5], "preconditioner": 0.8,
     "noise": 0.01}],
    "protocol": {"random": [
        {"probability": 0.4, "rounds": [{"A": {"A": 0.8, "B": 0.2}}]},
        {"probability": 0.35, "rounds": [{"B": {"C": 1.0}}]},
        {"probability": 0.25, "rounds": [{"C": {"A": 0.5, "B": 0.5}}]}]}}
MARKOV_BASE = {"agents": BASE["agents"], "protocol": {"random": [
    {"name": "a", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"b": 0.6, "c": 0.4}},
    {"name": "b", "rounds": [{"B": {"A": 1.0}}], "next": {"a": 0.5, "c": 0.5}},
    {"name": "c", "rounds": [{"C": {"B": 1.0}}], "next": {"a": 1.0}}],
    "initial": {"a": 0.5, "b": 0.5}}}


def _spec(axes, base=BASE, measure=("predict",)):
    return {"base": copy.deepcopy(base), "axes": axes, "measure": list(measure)}


def _alternative_maps(system):
    """``Phi_k, psi_k`` of each alternative from the real agents: one round of the simulator from 0 and
    from each unit joint state (never the package's round maps)."""
    rp, K, d = system.random, len(system.agents), system.d
    Phis, psis = [], []
    for k in range(rp.n_alt):
        def one_round(z):
            proto = type(rp)(rp.names, rp.alternatives, rp.labels, rp.P, rp.initial_law, rp.markov,
                             z.reshape(K, d))
            return random_simulate.run_random(system.agents, proto, 1, np.array([k]))[1].ravel()
        psi = one_round(np.zeros(K * d))
        Phis.append(np.stack([one_round(e) - psi for e in np.eye(K * d)], axis=1))
        psis.append(psi)
    return np.array(Phis), np.array(psis)


def test_probability_axis_rescales_the_rest_of_its_law():
    spec = sweep_spec.parse(_spec({"protocol.random.1.probability": [0.1, 0.5, 0.9]}))
    for v in (0.1, 0.5, 0.9):
        alts = spec.point_config({"protocol.random.1.probability": v})["protocol"]["random"]
        p = [a["probability"] for a in alts]
        assert p[1] == v and abs(sum(p) - 1) < RATIO_TOL
        assert abs(p[0] / p[2] - 0.4 / 0.25) < RATIO_TOL  # the others keep their ratio
    # a Markov row and the initial law
    spec = sweep_spec.parse(_spec({"protocol.random.0.next.c": [0.2, 0.7], "protocol.initial.b": [0.3, 0.9]},
                                  base=MARKOV_BASE))
    cfg = spec.point_config({"protocol.random.0.next.c": 0.7, "protocol.initial.b": 0.9})
    assert cfg["protocol"]["random"][0]["next"] == pytest.approx({"b": 0.3, "c": 0.7}, abs=RATIO_TOL)
    assert cfg["protocol"]["initial"] == pytest.approx({"a": 0.1, "b": 0.9}, abs=RATIO_TOL)
    # an entry the base leaves out (probability 0) joins the law
    spec = sweep_spec.parse(_spec({"protocol.random.2.next.b": [0.25]}, base=MARKOV_BASE))
    assert spec.point_config({"protocol.random.2.next.b": 0.25})["protocol"]["random"][2]["next"] == \
        pytest.approx({"a": 0.75, "b": 0.25}, abs=RATIO_TOL)


def test_planted_equal_split_breaks_the_ratio(monkeypatch):
    """Power: a rescale that splits 1 - p equally over the others (not proportionally) is caught."""
    def equal_split(cfg, name, value):
        alts = cfg["protocol"]["random"]
        k = int(name.split(".")[2])
        for j, a in enumerate(alts):
            a["probability"] = value if j == k else (1 - value) / (len(alts) - 1)

    monkeypatch.setattr(sweep_spec, "set_probability", equal_split)
    spec = sweep_spec.parse(_spec({"protocol.random.1.probability": [0.5]}))
    p = [a["probability"] for a in spec.point_config({"protocol.random.1.probability": 0.5})["protocol"]["random"]]
    assert abs(p[0] / p[2] - 0.4 / 0.25) > RATIO_TOL


def test_sweep_columns_agree_with_the_agents_maps(tmp_path, capsys):
    axes = {"protocol.random.0.probability": {"linspace": [0.1, 0.9, 5]},
            "agents.0.preconditioner": [0.5, 2.2, 2.8, 3.4]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_spec(axes)))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--no-progress", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "mean-square rate = 1 and mean rate = 1 boundaries" in text and (out / "phase.png").stat().st_size > 0
    cols = sweep_run.read_results(out)
    spec = sweep_spec.load(path)
    assert np.any(cols["converges"]) and not np.all(cols["converges"])  # the boundary crosses the grid
    between = (cols["mean_rate"] < 1) & ~cols["converges"]
    assert np.any(between)  # the mean converges, the second moment does not
    for n in range(len(cols["point"])):
        values = {a.name: cols[a.name][n] for a in spec.axes}
        system = spec.point_system(values)
        p = system.random.P[0]
        Phi, psi = _alternative_maps(system)
        second = sum(pk * np.kron(F, F) for pk, F in zip(p, Phi))
        mean_op = sum(pk * F for pk, F in zip(p, Phi))
        assert abs(cols["contraction_rate"][n] - np.sqrt(max(abs(np.linalg.eigvals(second))))) < SAME_TOL
        assert abs(cols["mean_rate"][n] - max(abs(np.linalg.eigvals(mean_op)))) < SAME_TOL
        if cols["converges"][n]:
            mu = np.linalg.solve(np.eye(len(mean_op)) - mean_op, sum(pk * f for pk, f in zip(p, psi))).reshape(3, 2)
            for i, a in enumerate(system.agents):
                assert abs(cols[f"residual_norm_{a.name}"][n] - np.linalg.norm(mu[i] - a.w_star)) < SAME_TOL
            mo = random_moments.moments(np.stack([a.M for a in system.agents]), np.stack([a.c for a in system.agents]),
                                        system.random, system.noise_stack())
            assert cols["spread_C"][n] == pytest.approx(np.sqrt(np.trace(mo.covariance[2])), rel=SAME_TOL)
            assert cols["spread_C"][n] > 0
        else:
            assert np.isnan(cols["residual_norm_A"][n]) and np.isnan(cols["spread_A"][n])


def test_simulate_measure_runs_the_drawn_schedule(tmp_path):
    spec = sweep_spec.parse(_spec({"protocol.random.0.probability": [0.3, 0.6], "seed": [1, 2]},
                                  measure=("predict", {"simulate": {"turns": 40}})))
    from numerics.sweep import measures

    cols = measures.compute_chunk(spec, 0)
    for n in range(len(cols["point"])):
        system = spec.point_system({"protocol.random.0.probability": cols["protocol.random.0.probability"][n]})
        rng = np.random.default_rng(int(cols["seed"][n]))
        schedule = random_simulate.draw_schedule(system.random, 40, rng)
        last = random_simulate.run_random(system.agents, system.random, 40, schedule, rng, system.noise)[-1]
        assert cols["sim_residual_norm_B"][n] == pytest.approx(np.linalg.norm(last[1] - system.agents[1].w_star),
                                                               rel=SAME_TOL)
    assert cols["sim_residual_norm_A"][0] != cols["sim_residual_norm_A"][1]  # the seeds draw other schedules


@pytest.mark.parametrize("axes, base, match", [
    ({"protocol.random.0.probability": [0.2, 1.5]}, BASE, "must be a probability in [0, 1]"),
    ({"protocol.random.0.probability": [-0.1]}, BASE, "must be a probability in [0, 1]"),
    ({"protocol.random.0.probability": [0.2], "protocol.random.1.probability": [0.3]}, BASE, "two axes on one law"),
    ({"protocol.random.2.next.a": [0.5]}, MARKOV_BASE, "law with one entry"),
    ({"protocol.random.5.probability": [0.5]}, BASE, "names no alternative"),
    ({"protocol.random.0.next.b": [0.5]}, BASE, "no alternative with a 'next' row"),
    ({"protocol.initial.a": [0.5]}, BASE, "protocol.initial"),
    ({"protocol.random.1.next.a": [1.0]}, MARKOV_BASE, "at protocol.random.1.next.a = 1"),  # period 2
    ({"protocol.random.0.probability": [0.5]}, {"agents": BASE["agents"]}, "no protocol.random"),
])
def test_bad_probability_axes_exit_2(tmp_path, capsys, axes, base, match):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_spec(axes, base=base)))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and match in err, err


def test_a_law_whose_other_entries_are_zero_cannot_go_below_one():
    base = copy.deepcopy(BASE)
    for a, p in zip(base["protocol"]["random"], (1.0, 0.0, 0.0)):
        a["probability"] = p
    base["protocol"]["random"][0]["rounds"] = [{"A": {"B": 1.0}, "B": {"C": 1.0}, "C": {"A": 1.0}}]
    with pytest.raises(InputError, match="other probabilities of its law are all 0"):
        sweep_spec.parse(_spec({"protocol.random.0.probability": [0.5, 1.0]}, base=base))


def test_deterministic_base_with_agent_noise_is_accepted(tmp_path, capsys):
    base = {"agents": BASE["agents"], "protocol": {"rounds": [{"A": {"B": 1.0}}, {"B": {"C": 1.0}}, {"C": {"A": 1.0}}]}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_spec({"agents.0.preconditioner": [0.5, 1.0]}, base=base)))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--no-progress", "--workers", "1"]) == 0
    cols = sweep_run.read_results(tmp_path / "o")
    assert "mean_rate" not in cols and np.all(cols["converges"])
    assert config.parse(base).noise[2] is not None


def test_markov_sweep_rates_agree_with_the_block_operators():
    """A Markov base: the rates against the block operators with blocks ``P[j, l] Phi_j (x) Phi_j`` and
    ``P[j, l] Phi_j`` built from the agents' maps (Costa, Fragoso, Marques 2005)."""
    from numerics.sweep import measures

    spec = sweep_spec.parse(_spec({"protocol.random.0.next.c": [0.1, 0.5, 0.9]}, base=MARKOV_BASE))
    cols = measures.compute_chunk(spec, 0)
    for n, v in enumerate(cols["protocol.random.0.next.c"]):
        system = spec.point_system({"protocol.random.0.next.c": v})
        P, (Phi, _) = system.random.P, _alternative_maps(system)
        m = len(P)
        second = np.block([[P[j, l] * np.kron(Phi[j], Phi[j]) for j in range(m)] for l in range(m)])
        first = np.block([[P[j, l] * Phi[j] for j in range(m)] for l in range(m)])
        assert abs(cols["contraction_rate"][n] - np.sqrt(max(abs(np.linalg.eigvals(second))))) < SAME_TOL
        assert abs(cols["mean_rate"][n] - max(abs(np.linalg.eigvals(first)))) < SAME_TOL
