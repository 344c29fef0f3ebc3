"""The compiler's named-Schur-block path (theory.protocol.schur) on dense protocols: every local
identity proved, the fixed point and residuals numerically equal to the package's fixed point
and to the real agents simulated, and planted wrong variants (a wrong Schur block, a wrong pivot
inverse, a wrong back substitution, a wrong fixed point or residual, a wrong round-map block)
that V1 must reject."""
import time

import numpy as np
import pytest
import sympy as sp

from numerics.protocol import evaluate as protocol_eval, random_protocols as protocol_random, simulate
from proofs_check.cli import main as cli
from theory.protocol import checks as protocol_checks, compiler as P, report as protocol_report

# Derived expressions evaluated in float64 (a few inverses of well-conditioned d x d blocks)
# vs the package's fixed point: rounding only.
EVAL_REL_TOL = 1e-9
# vs 600 rounds of the real agents (rate <= 0.9): the simulation's own error ~ 0.9^600.
SIM_REL_TOL = 1e-8
# A generous wall-clock bound for one compile + verify of a dense 4-agent, 4-phase protocol on a
# loaded 2-core machine (the benchmark measures the < 5 s target; this only catches a blow-up).
SLOW_SECONDS = 30


def _dense_system(seed, d=3):
    """A random 4-agent protocol (4 phases) that the expanded elimination refuses (named path)."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        s = protocol_random.system(rng, 4, d, rho_max=0.9, max_phases=4)
        if len(s.protocol.phases) < 3:
            continue
        cp = P.compile_protocol(P.from_numeric(s.protocol))
        if cp.named is not None:
            return s, cp
    raise AssertionError("no dense protocol found")


@pytest.fixture(scope="module")
def dense():
    return [_dense_system(seed) for seed in (101, 202)]


def _env(s):
    return {a.name: (a.M, a.w_star) for a in s.agents}


def test_dense_protocols_are_proved_quickly():
    t = time.perf_counter()
    s, cp = _dense_system(7)
    checks = P.verify(cp)
    assert time.perf_counter() - t < SLOW_SECONDS
    failed = [c.label for c in checks if not c.holds]
    assert cp.named is not None and len(checks) > 20 and not failed, failed


def test_named_fixed_point_and_residuals_are_the_numeric_ones(dense):
    for s, cp in dense:
        env = _env(s)
        M, c, W, mask = protocol_eval.system_arrays(s)
        z = protocol_eval.fixed_points(M, c, W, mask)
        zd = np.stack([P.evaluate(cp, e, env)[:, 0] for e in cp.fixed_point])
        assert np.linalg.norm(zd - z) / np.linalg.norm(z) <= EVAL_REL_TOL
        sim = simulate.run_protocol(s.agents, s.protocol, 600)[-1]
        assert np.linalg.norm(zd - sim) / np.linalg.norm(sim) <= SIM_REL_TOL
        for i, a in enumerate(s.agents):
            e = sum((P.evaluate(cp, G, env) @ (s.agents[j].w_star - a.w_star) for j, G in cp.residual_gaps[i].items()),
                    np.zeros(a.w_star.shape))
            if cp.residual_self[i] != 0:
                e = e + P.evaluate(cp, cp.residual_self[i], env) @ a.w_star
            assert np.linalg.norm(e - (z[i] - a.w_star)) <= EVAL_REL_TOL * (1 + np.linalg.norm(z[i]))


def _fails(cp):
    return not all(c.holds for c in P.verify(cp))


def test_planted_wrong_elimination_steps_fail(dense):
    s, cp = dense[0]
    sch = cp.named.schur
    assert not _fails(cp)
    # a wrong Schur block: one term of a step-2 (or step-1) update with its sign flipped
    U = next(U for U in sch.order if len(sch.defs[U]) > 1)
    saved = sch.defs[U]
    w0 = next(iter(saved))
    sch.defs[U] = {**saved, w0: -saved[w0]}
    assert _fails(cp), "wrong Schur block"
    sch.defs[U] = saved
    # a wrong pivot inverse: step 2 uses step 1's
    saved_Q = sch.steps[1].Q
    sch.steps[1].Q = sch.steps[0].Q
    assert _fails(cp), "wrong pivot inverse"
    sch.steps[1].Q = saved_Q
    # a wrong back substitution: one word dropped from X_1
    saved_X = sch.X[0]
    sch.X[0] = dict(list(saved_X.items())[1:])
    assert _fails(cp), "wrong back substitution"
    sch.X[0] = saved_X
    assert not _fails(cp)


def test_planted_wrong_derived_objects_fail(dense):
    s, cp = dense[1]
    wrongs = {
        "fixed point doubled": lambda: cp.fixed_point.__setitem__(0, 2 * cp.fixed_point[0]),
        "term dropped": lambda: cp.fixed_point.__setitem__(1, sp.Add(*sp.Add.make_args(cp.fixed_point[1])[1:])),
        "gap coefficient sign": lambda: cp.residual_gaps[2].__setitem__(
            next(iter(cp.residual_gaps[2])), -next(iter(cp.residual_gaps[2].values()))),
        "round-map block": lambda: cp.Phi[0].__setitem__(1, 2 * cp.Phi[0][1]),
    }
    for name, plant in wrongs.items():
        saved = ([x for x in cp.fixed_point], [dict(g) for g in cp.residual_gaps], [row[:] for row in cp.Phi])
        plant()
        assert _fails(cp), name
        cp.fixed_point[:], cp.residual_gaps[:], cp.Phi[:] = saved
    assert not _fails(cp)


def test_derive_cli_prints_named_blocks(tmp_path, capsys, dense):
    import json
    s, cp = dense[0]
    raw = {"agents": [{"name": a.name, "geometry": np.eye(2).tolist(), "target": [1.0, float(k)],
                       "preconditioner": 0.5} for k, a in enumerate(s.agents)],
           "protocol": {"rounds": [{s.names[i]: {s.names[j]: w for j, w in row} for i, row in ph}
                                   for ph in s.protocol.phases]}}
    cfg = tmp_path / "dense.json"
    cfg.write_text(json.dumps(raw))
    assert cli.main(["derive", "--protocol", str(cfg), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["definitions"] and all(c["holds"] for c in doc["checks"])
    assert any(d["text_name"].startswith("U^") for d in doc["definitions"])
    tex = protocol_report.as_latex(protocol_report.derived_theory(cp))
    assert r"\subsection*{Named blocks" in tex


# A 4-agent protocol whose expanded fixed point (under 300 words) the rewriting does not settle
# (z*_D's identity does not reduce to 0): found by a seeded sweep of random protocols.
UNSETTLED = [{"A": {"B": 1.09}}, {"C": {"D": 0.33, "B": 0.33, "A": 0.33}, "D": {"C": 0.5, "B": 0.5},
                                  "A": {"C": 0.04, "A": 0.96}, "B": {"A": 0.33, "D": 0.33, "C": 0.33}}]


def test_unsettled_expanded_identity_falls_back_to_named_blocks(monkeypatch):
    cp = P.compile_protocol(P.spec("ABCD", UNSETTLED))
    assert cp.named is not None and all(c.holds for c in P.verify(cp))
    small = P.spec(["A", "B", "C"], [{"A": {"C": 1}}, {"B": {"A": 1}, "C": {"A": 0.5, "B": 0.5}}])
    assert P.compile_protocol(small).named is None
    monkeypatch.setattr(protocol_checks, "expanded_checks", lambda cp: [P.Check("planted: not settled", False, "1")])
    cp = P.compile_protocol(small)
    assert cp.named is not None
    monkeypatch.undo()
    assert all(c.holds for c in P.verify(cp))
