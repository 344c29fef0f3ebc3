"""Issue 15: parallel runner, proof cache, cheaper V7 without looser bars, instant CLI,
80-column table with units, default preconditioner and the rho >= 1 cause."""
import json
import subprocess
import sys

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.lsa import training as lsa_training
from numerics.protocol import config, prediction
from proofs_check.claims import select
from proofs_check.cli import main as cli
from proofs_check.report import writers as report
from proofs_check.statements import statements
from proofs_check.verification import proof_cache, runner
from proofs_check.verification.registry import PROFILES, Claim, Outcome

QUICK = PROFILES["quick"]
Z_TOL = 6.0  # Monte Carlo agreement in standard errors (a correct sampler fails with p ~ 2e-9 per entry)


def _strip(rep):
    """The report without timings (what must not depend on workers or the cache)."""
    return [(c["id"], c["status"], [(m["method"], m["status"], m["worst_error"], m["tolerance"], m["instances"],
                                     m["detail"]) for m in c["methods"]]) for c in rep["claims"]]


def test_pool_report_equals_serial_and_keeps_registry_order():
    claims = select(["C5", "C2", "L1"])  # select() keeps the caller's order
    serial = runner.run(claims, QUICK, workers=1)
    pooled = runner.run(claims, QUICK, workers=2)
    assert _strip(pooled) == _strip(serial)
    assert [c["id"] for c in pooled["claims"]] == ["C5", "C2", "L1"]


def test_v7_methods_share_one_job():
    claims = select(["C3", "L2"])
    jobs = runner.jobs(claims)
    v7 = [job for job in jobs if any(m == "V7" for _, m in job)]
    assert len(v7) == 1 and len(v7[0]) == 2 and jobs[0] == v7[0]  # one job, scheduled first


def _claim(methods):
    return Claim("X1", "test", (), "none", "equal", methods)


def test_cache_reads_back_passed_symbolic_results_only(tmp_path, monkeypatch):
    calls = []

    def sym(p):
        calls.append("V2")
        return Outcome(0.0, 0.0, 3, "3 explicit identities cancel to 0")

    def num(p):
        calls.append("V4")
        return Outcome(1e-16, 1e-9, 5, "float64")
    cache = proof_cache.ProofCache(tmp_path)
    claim = _claim({"V2": sym, "V4": num})
    first = runner.run([claim], QUICK, cache=cache)
    second = runner.run([claim], QUICK, cache=cache)
    assert calls == ["V2", "V4", "V4"]  # the numeric method reran, the proof did not
    assert _strip(first) == _strip(second) and second["claims"][0]["methods"][0]["cached"]
    monkeypatch.setitem(statements.STATEMENTS, "X1", statements.Statement("changed", ()))
    runner.run([_claim({"V2": sym, "V4": num})], QUICK, cache=cache)
    assert calls[-2:] == ["V2", "V4"]  # what was proved (its typeset statement) changed: proved again


def test_cache_never_stores_failures_and_ignores_bad_entries(tmp_path):
    calls = []

    def failing(p):
        calls.append(1)
        return Outcome(1.0, 0.0, 1, "nonzero: x")
    cache = proof_cache.ProofCache(tmp_path)
    claim = _claim({"V1": failing})
    for _ in range(2):
        assert runner.run([claim], QUICK, cache=cache)["claims"][0]["status"] == "failed"
    assert len(calls) == 2
    ok = _claim({"V1": lambda p: Outcome(0.0, 0.0, 1, "ok")})
    runner.run([ok], QUICK, cache=cache)
    (entry,) = (tmp_path / "proofs").iterdir()
    for bad in ("not json", json.dumps({"status": "passed"}), json.dumps({"worst_error": 1.0})):
        entry.write_text(bad)
        assert cache.get(ok, "V1", QUICK) is None


def test_cache_key_follows_the_provers_source(monkeypatch):
    claim = select(["C2"])[0]
    closure = dict(proof_cache.source_closure(claim.methods["V1"].__module__))
    assert {"proofs_check.claims.c2_fixed_point", "proofs_check.verification.methods",
            "theory.core.algebra"} <= set(closure)
    before = proof_cache.key(claim, "V1", QUICK)
    planted = tuple((m, "0" * 64 if m == "theory.core.algebra" else h) for m, h in closure.items())
    monkeypatch.setattr(proof_cache, "source_closure", lambda module: planted)  # an edit to theory/core/algebra.py
    assert proof_cache.key(claim, "V1", QUICK) != before
    assert not proof_cache.ProofCache.cacheable("V4") and not proof_cache.ProofCache.cacheable("V5")


def test_verify_cli_uses_the_cache_and_no_cache_bypasses_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(proof_cache.ENV_DIR, str(tmp_path))
    assert cli.main(["verify", "--claims", "C5", "--json", "--workers", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["verify", "--claims", "C5", "--json", "--workers", "1"]) == 0
    warm = json.loads(capsys.readouterr().out)
    assert all(m.get("cached") for m in warm["claims"][0]["methods"] if m["method"] in ("V2", "V3"))
    assert cli.main(["verify", "--claims", "C5", "--json", "--no-cache"]) == 0
    cold = json.loads(capsys.readouterr().out)
    assert not any(m.get("cached") for m in cold["claims"][0]["methods"])
    assert _strip(cold) == _strip(warm)


# ---- V7: cheaper training, same bars ------------------------------------------------------

def test_bartlett_contexts_have_the_law_of_explicit_samples():
    """C from sample_contexts (Bartlett) vs Z^T Z / N from explicit Gaussian rows, same w:
    mean and second moments of every entry agree in standard errors; a wrong chi^2 degree fails."""
    rng = np.random.default_rng(3)
    d, N, n, sigma = 2, 5, 40_000, 0.7
    S = np.array([[1.0, 0.3], [0.3, 0.5]])
    L = np.linalg.cholesky(S)[None]

    def explicit(w):
        X = rng.standard_normal((n, N, d)) @ L[0].T
        y = X @ w + sigma * rng.standard_normal((n, N))
        Z = np.concatenate([X, y[..., None]], axis=-1)
        return np.swapaxes(Z, -1, -2) @ Z / N

    def z_scores(C1, C2):
        out = []
        for f in (lambda C: C, lambda C: C * C):
            a, b = f(C1).reshape(n, -1), f(C2).reshape(n, -1)
            out.append(np.abs(a.mean(0) - b.mean(0)) / np.sqrt(a.var(0) / n + b.var(0) / n + 1e-300))
        return np.max(out)

    C_b, _ = lsa_training.sample_contexts(rng, n, N, L, 1e-300, sigma)  # tau ~ 0: w ~ 0 for every task
    assert z_scores(C_b[0], explicit(np.zeros(d))) <= Z_TOL

    class WrongDegrees:  # planted: chi^2(N) on every diagonal instead of chi^2(N - i)
        def __init__(self, gen):
            self.gen = gen

        def standard_normal(self, *args, **kwargs):
            return self.gen.standard_normal(*args, **kwargs)

        def chisquare(self, df, size):
            return self.gen.chisquare(N, size=size)
    C_bad, _ = lsa_training.sample_contexts(WrongDegrees(rng), n, N, L, 1e-300, sigma)
    assert z_scores(C_bad[0], explicit(np.zeros(d))) > Z_TOL


def test_bartlett_contexts_carry_the_task():
    """With a fixed task w (tau -> scale), E[C_xy] = Sigma w and E[C_yy] = w^T Sigma w + sigma^2."""
    rng = np.random.default_rng(5)
    S = np.diag([0.5, 2.0])
    C, w = lsa_training.sample_contexts(rng, 50_000, 5, np.linalg.cholesky(S)[None], 1.0, 1.0)
    Sw = (w[0] @ S)  # per task Sigma w
    resid = C[0, :, :2, 2] - Sw
    assert np.all(np.abs(resid.mean(0)) <= Z_TOL * resid.std(0) / np.sqrt(len(resid)))
    yy = C[0, :, 2, 2] - (np.einsum("bi,ij,bj->b", w[0], S, w[0]) + 1.0)
    assert abs(yy.mean()) <= Z_TOL * yy.std() / np.sqrt(len(yy))


def test_expected_query_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    S = np.stack([np.diag([0.5, 2.0]), np.diag([2.0, 0.5])])
    batch = lsa_training.sample_contexts(rng, 4, 3, np.linalg.cholesky(S), 1.0, 0.3)
    p, Q = rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 3))
    _, gp, gQ = lsa_training.expected_query_loss_and_grad(p, Q, batch, S)
    h = 1e-6
    for x, g in ((p, gp), (Q, gQ)):
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + h
            up = lsa_training.expected_query_loss_and_grad(p, Q, batch, S)[0].sum()
            x[idx] = old - h
            down = lsa_training.expected_query_loss_and_grad(p, Q, batch, S)[0].sum()
            x[idx] = old
            assert abs((up - down) / (2 * h) - g[idx]) <= 1e-6 * max(1.0, abs(g[idx]))


def test_expected_query_loss_is_the_query_average():
    """r^T Sigma r equals the Monte Carlo mean over sampled queries of (yhat - <w, x_q>)^2."""
    rng = np.random.default_rng(7)
    S = np.diag([0.5, 2.0])[None]
    C, w = lsa_training.sample_contexts(rng, 1, 4, np.linalg.cholesky(S), 1.0, 0.2)
    p, Q = rng.standard_normal((1, 3)), rng.standard_normal((1, 3, 3))
    loss = lsa_training.expected_query_loss_and_grad(p, Q, (C, w), S)[0][0]
    xq = rng.standard_normal((200_000, 2)) @ np.sqrt(S[0])
    zq = np.concatenate([xq, np.zeros((len(xq), 1))], axis=1)
    sq = (zq @ Q[0].T @ (C[0, 0] @ p[0]) - xq @ w[0, 0]) ** 2
    assert abs(sq.mean() - loss) <= Z_TOL * sq.std() / np.sqrt(len(sq))


def test_l2_v7_fails_for_a_gamma_star_without_the_label_noise_term(monkeypatch):
    from proofs_check.verification import v7_trained

    good = v7_trained.v7_gamma_star(QUICK)
    assert good.worst_error <= good.tolerance
    true_gamma = lsa_training.gamma_star
    monkeypatch.setattr(lsa_training, "gamma_star", lambda S, N, tau, sigma: true_gamma(S, N, tau, 0.0))
    bad = v7_trained.v7_gamma_star(QUICK)
    assert bad.worst_error > 10 * bad.tolerance  # fails by an order of magnitude, not by a hair


# ---- instant CLI ---------------------------------------------------------------------------

HEAVY = ("sympy", "matplotlib", "scipy", "theory", "numerics.experiments.plotting", "rich", "mpmath")
# The lazy-export shells numerics' own __init__ uses (no SymPy behind them): the only theory modules allowed.
LIGHT_THEORY = ("theory", "theory.lazy")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["predict", "examples/two_agents.json"]])
def test_cli_start_up_imports_nothing_heavy(argv):
    code = ("import sys\nfrom proofs_check.cli import main as cli\n"
            "try:\n    cli.main(%r)\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in sys.modules if (m.split('.')[0] in %r or m in %r) and m not in %r))"
            ) % (argv, HEAVY, HEAVY, LIGHT_THEORY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.rsplit("LOADED", 1)[1]
    assert loaded.strip() == "[]", loaded


# `import numerics` / `import theory` (and touching the light public names) must not load what a
# light command does not need; the heavy names load their engines on first use (PEP 562).
LIBRARIES = ("sympy", "matplotlib", "scipy", "numba", "mpmath", "pandas", "pyarrow")


def _loaded_after(code: str, watch=LIBRARIES) -> list[str]:
    probe = code + ("\nimport json, sys\nprint('LOADED', json.dumps(sorted(m for m in sys.modules "
                    "if m.split('.')[0] in %r)))" % (watch,))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.rsplit("LOADED", 1)[1])


@pytest.mark.parametrize("code", [
    "import numerics",
    "import theory",
    "import numerics, theory; numerics.__all__, theory.__all__, dir(numerics), dir(theory)",
    "import numerics; numerics.Prediction, numerics.InputError, numerics.load_config",
    "import numerics; numerics.predict('examples/two_agents.json').to_json()",
])
def test_package_import_loads_nothing_heavy(code):
    assert _loaded_after(code) == []


def test_the_import_probe_sees_a_heavy_name():
    """Power: touching a symbolic name does load SymPy, and the probe reports it."""
    assert "sympy" in _loaded_after("import theory; theory.all_formulas")


# ---- readable output ---------------------------------------------------------------------

def test_table_fits_80_columns_and_names_units():
    rep = runner.run(select(["L2", "C2", "C15"]), QUICK, workers=2)
    rep["claims"][0]["title"] = "x" * 200  # a long title is cut, never wrapped
    lines = report.lines(rep)
    assert max(len(line) for line in lines) <= report.WIDTH
    units = {report.unit(c["id"], m) for c in rep["claims"] for m in c["methods"]}
    assert {"exact", "std errors", "digits", "rel. error"} <= units
    assert any("std errors" in line and "V4" in line for line in lines)


def test_verify_table_off_a_terminal_is_80_columns(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(proof_cache.ENV_DIR, str(tmp_path))
    assert cli.main(["verify", "--claims", "C5,C6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out and max(len(line) for line in out) <= 80


# ---- config friction ---------------------------------------------------------------------

def test_default_preconditioner_is_the_non_overshooting_step():
    doc = prediction.predict(config.load("examples/text_agents.json"))
    assert doc["converges"]
    raw = json.loads(open("examples/text_agents.json").read())
    system = config.parse(raw)
    for agent in system.agents:
        lam = np.linalg.eigvalsh(agent.geometry.H)
        assert np.allclose(agent.Gamma, np.eye(system.d) / lam.max())
        m = np.linalg.eigvals(agent.M)
        assert np.all(m.real >= -1e-12) and np.all(np.abs(m) < 1)  # eigenvalues of M in [0, 1)
    zero = {"agents": [{"geometry": [[0.0, 0.0], [0.0, 0.0]], "target": [0, 0]},
                       {"geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1, 0]}]}
    with pytest.raises(InputError, match="preconditioner"):
        config.parse(zero)


def _pair(HA, GA, HB, GB):
    return config.parse({"agents": [{"name": "A", "geometry": HA, "target": [1, 0], "preconditioner": GA},
                                    {"name": "B", "geometry": HB, "target": [0, 1], "preconditioner": GB}]})


@pytest.mark.parametrize("system,cause", [
    (_pair([[1, 0], [0, 1]], 3.0, [[1, 0], [0, 1]], 0.5), "M_A has an eigenvalue of modulus 2 outside"),
    (_pair([[1, 0], [0, 0]], 0.5, [[1, 0], [0, 0]], 0.5), "informed by no prompt"),
    (_pair([[1, 0], [0, 1]], 2.0, [[1, 0], [0, 1]], 2.0), "on the unit circle"),
])
def test_rho_reason_names_the_cause(system, cause):
    doc = prediction.predict(system)
    assert not doc["converges"] and cause in doc["reason"], doc["reason"]


def test_rho_reason_names_the_coupling_when_each_agent_contracts():
    # C6: with H = I, M_i = I - Gamma_i; two non-normal maps of spectral radius 0.5 whose product has ~9.5
    system = _pair([[1, 0], [0, 1]], [[0.5, -3.0], [0.0, 0.5]], [[1, 0], [0, 1]], [[0.5, 0.0], [-3.0, 0.5]])
    M, _ = system.stacked()
    assert max(abs(np.linalg.eigvals(M[0]))) < 1 and max(abs(np.linalg.eigvals(M[1]))) < 1
    doc = prediction.predict(system)
    assert not doc["converges"] and "coupling itself" in doc["reason"], doc["reason"]


# ---- progress bars -------------------------------------------------------------------------

def test_progress_bar_is_off_off_a_terminal(capsys):
    from numerics.io import progress

    assert not progress.enabled()  # pytest captures stderr: not a terminal
    with progress.bar(3, "x") as advance:
        for _ in range(3):
            advance(text="step")
    assert capsys.readouterr().err == ""


def test_progress_bar_draws_on_a_terminal(monkeypatch):
    import io

    from numerics.io import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    fake = Tty()
    monkeypatch.setattr("sys.stderr", fake)
    monkeypatch.delenv(progress.ENV_OFF, raising=False)
    assert progress.enabled()
    with progress.bar(2, "drawing") as advance:
        advance()
        advance()
    assert "drawing" in fake.getvalue()
    monkeypatch.setenv(progress.ENV_OFF, "1")
    assert not progress.enabled()


def test_c15_v4_with_the_shorter_burn_in_still_catches_a_dropped_noise_term(monkeypatch):
    """Power of C15 V4 after the burn-in cut (300 -> 120 turns): the correct Lyapunov covariance
    passes, one with the first agent's noise S_A dropped fails."""
    from numerics.dynamics import lyapunov
    from proofs_check.claims import c15_noisy

    assert c15_noisy.BURN_IN * 2 * np.log10(1 / c15_noisy.RHO_MAX) >= 10  # rho^(2T) <= 1e-10
    good = c15_noisy.v4(QUICK)
    assert good.worst_error <= good.tolerance
    true = lyapunov.stationary_covariances

    def dropped(M, S):
        S = np.array(S, copy=True)
        S[0] = 0.0
        return true(M, S)
    monkeypatch.setattr(lyapunov, "stationary_covariances", dropped)
    bad = c15_noisy.v4(QUICK)
    assert bad.worst_error > bad.tolerance



# ---- issue 15 follow-up: cheaper cache keys, V7 products, CLI start-up ------------------------

def _closure_by_full_walk(module):
    """Reference: the closure found with ast.walk over every node (the slower original algorithm)."""
    import ast
    import hashlib
    from pathlib import Path

    seen, stack = {}, [module]
    while stack:
        name = stack.pop()
        path = proof_cache._module_file(name)
        if name in seen or path is None:
            continue
        seen[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1]) + (f".{node.module}" if node.module else "")
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        for mod in found:
            parts = mod.split(".")
            if parts[0] in proof_cache.FIRST_PARTY:
                stack.extend(m for m in (".".join(parts[:k]) for k in range(1, len(parts) + 1))
                             if proof_cache._module_file(m) and m not in seen)
    return tuple(sorted(seen.items()))


@pytest.mark.parametrize("module", ["proofs_check.claims.c2_fixed_point", "proofs_check.claims.l2_gamma_star",
                                    "proofs_check.cli.verify"])
def test_source_closure_equals_the_full_ast_walk(module):
    # imports inside functions, try/except and if blocks (e.g. verify.run's) are found by the statement walk
    assert proof_cache.source_closure(module) == _closure_by_full_walk(module)


def test_statement_walk_finds_nested_imports():
    import ast

    tree = ast.parse("def f():\n    try:\n        import theory.lsa.agent\n    except ImportError:\n        pass\n"
                     "    else:\n        from numerics import fitting\n"
                     "    finally:\n        import numerics.interventions.attacks\n"
                     "class C:\n    if True:\n        from proofs_check import runner\n    else:\n        import x\n")
    names = [a.name for n in proof_cache._statements(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
             for a in n.names]
    assert sorted(names) == ["fitting", "numerics.interventions.attacks", "runner", "theory.lsa.agent", "x"]


def test_formula_fingerprints_are_read_back_and_follow_the_theory_source(tmp_path, monkeypatch):
    fresh = proof_cache._formula_fingerprints()
    cache = proof_cache.ProofCache(tmp_path)
    assert cache.fingerprints() == fresh
    (stored,) = tmp_path.glob("fingerprints-*.json")
    assert json.loads(stored.read_text()) == fresh
    # read back: a second cache object does not rebuild the formulas
    monkeypatch.setattr(proof_cache, "_formula_fingerprints", lambda: pytest.fail("formulas rebuilt"))
    assert proof_cache.ProofCache(tmp_path).fingerprints() == fresh
    stored.write_text("not json")  # a damaged file is a miss (rebuilt), never trusted
    monkeypatch.setattr(proof_cache, "_formula_fingerprints", lambda: {"X.f": "rebuilt"})
    assert proof_cache.ProofCache(tmp_path).fingerprints() == {"X.f": "rebuilt"}
    # an edit to any theory module (here planted in theory/lsa/agent.py's hash) changes the file's name
    before = proof_cache.theory_sources()
    real = proof_cache.source_closure
    monkeypatch.setattr(proof_cache, "source_closure",
                        lambda m: tuple((n, "0" * 64 if n == "theory.lsa.agent" else h) for n, h in real(m)))
    assert proof_cache.theory_sources() != before


def test_import_index_is_saved_and_spares_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(proof_cache, "_NAMED_BY_SOURCE", {})
    monkeypatch.setattr(proof_cache, "_PARSED_HERE", set())
    proof_cache._module_info.cache_clear()
    proof_cache.source_closure.cache_clear()
    try:
        closure = proof_cache.source_closure("proofs_check.claims.c5_per_direction")
        proof_cache.ProofCache(tmp_path).save_import_index()
        saved = json.loads((tmp_path / "imports.json").read_text())
        assert {h for _, h in closure} <= set(saved)
        proof_cache._NAMED_BY_SOURCE.clear()
        proof_cache._module_info.cache_clear()
        proof_cache.source_closure.cache_clear()
        proof_cache.ProofCache(tmp_path)  # loads the index
        monkeypatch.setattr(proof_cache, "_named_modules", lambda *a: pytest.fail("parsed again"))
        assert proof_cache.source_closure("proofs_check.claims.c5_per_direction") == closure
    finally:
        proof_cache._module_info.cache_clear()
        proof_cache.source_closure.cache_clear()


def test_batched_query_gradient_equals_the_per_task_products():
    """The stacked matrix-vector products of expected_query_loss_and_grad against an explicit loop over
    agents and tasks (C_b p, r_b, sum_b C_b Q_x g_b). grad_p uses C_b = C_b^T (u^T C = C u), so the
    test also checks that every C_b from sample_contexts is symmetric."""
    rng = np.random.default_rng(11)
    S = np.stack([np.diag([0.5, 1.0, 2.0]), np.diag([2.0, 1.0, 0.5])])
    C, w = lsa_training.sample_contexts(rng, 7, 5, np.linalg.cholesky(S), 1.0, 0.3)
    assert np.allclose(C, np.swapaxes(C, -1, -2), rtol=0, atol=1e-13)
    p, Q = rng.standard_normal((2, 4)), rng.standard_normal((2, 4, 4))
    losses, gp, gQ = lsa_training.expected_query_loss_and_grad(p, Q, (C, w), S)
    A, B, d = w.shape
    for a in range(A):
        loss, grad_p, grad_Q = 0.0, np.zeros(d + 1), np.zeros((d + 1, d + 1))
        for b in range(B):
            Cp = C[a, b] @ p[a]
            r = Q[a, :, :d].T @ Cp - w[a, b]
            loss += r @ S[a] @ r / B
            g = 2 * S[a] @ r / B
            grad_p += C[a, b] @ (Q[a, :, :d] @ g)
            grad_Q[:, :d] += np.outer(Cp, g)
        assert np.isclose(losses[a], loss, rtol=1e-12)
        assert np.allclose(gp[a], grad_p, rtol=1e-12, atol=1e-14)
        assert np.allclose(gQ[a], grad_Q, rtol=1e-12, atol=1e-14)


def test_map_interval_t_quantile_is_scipy_stats():
    from scipy import special, stats

    for dof in (1, 3, 17, 300, 1597):
        for level in (0.9, 0.95, 0.99):
            assert special.stdtrit(dof, 0.5 + level / 2) == stats.t.ppf(0.5 + level / 2, dof)


def test_predict_imports_neither_other_commands_nor_tempfile():
    code = ("import sys\nfrom proofs_check.cli import main as cli\ncli.main(['predict', 'examples/two_agents.json'])\n"
            "print('LOADED', sorted(m for m in sys.modules if m in ('tempfile', 'numerics.experiments', "
            "'proofs_check.cli.experiment', 'proofs_check.cli.verify')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.rsplit("LOADED", 1)[1].strip() == "[]"


def test_help_still_lists_the_experiments(capsys):
    assert cli.main(["--help"]) == 0
    assert "trained-lsa" in capsys.readouterr().out


def test_a_run_without_timings_starts_with_the_long_jobs():
    claims = select(["C1", "C17", "L2", "C3"])
    order = [" ".join(f"{claims[i].id} {m}" for i, m in job) for job in runner.jobs(claims, {})]
    assert order[0] == "L2 V7 C3 V7"
    assert order.index("C17 V1") < order.index("C1 V1") and order.index("L2 V2") < order.index("C3 V4")
    # measured timings override the defaults
    assert runner.jobs(claims, {"C1 V1": 99.0})[0] == [(0, "V1")]


def test_verify_without_out_does_not_load_matplotlib(tmp_path):
    """The figures module (matplotlib, ~0.5 s) is imported only when --out asks for figures."""
    code = ("import sys\nfrom proofs_check.cli import main as cli\n"
            "rc = cli.main(['verify', '--claims', 'C5', '--json', '--workers', '1'])\n"
            "print('LOADED', rc, 'matplotlib' in sys.modules, 'proofs_check.report.artifacts' in sys.modules)")
    env = dict(__import__("os").environ, A2AD_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.rsplit("LOADED", 1)[1].split() == ["0", "False", "False"]


def test_noisy_agent_block_draws_equal_one_draw_per_turn():
    """NoisyAgent draws its noise NOISE_BLOCK turns at a time: the messages equal those of one draw
    per turn from a generator with the same seed (past a block boundary too)."""
    from numerics.dynamics import noisy
    from proofs_check.verification.instances import random_gd_agent

    rng = np.random.default_rng(4)
    agent = random_gd_agent(rng, 3, "A")
    S = 0.01 * np.array([[1.0, 0.2, 0.0], [0.2, 1.0, 0.0], [0.0, 0.0, 0.5]])
    wrapped, L, gen = noisy.NoisyAgent(agent, S, 9), noisy.noise_factor("S", S), np.random.default_rng(9)
    w = v = np.zeros(3)
    for _ in range(noisy.NOISE_BLOCK + 20):
        w, v = wrapped.respond(w), agent.respond(v) + L @ gen.standard_normal(3)
        assert np.allclose(w, v, rtol=1e-14, atol=1e-15)


def test_from_run_equals_one_record_per_message():
    from numerics.dynamics import noisy
    from numerics.io import transcripts
    from numerics.protocol import simulate
    from proofs_check.verification.instances import random_gd_agent

    rng = np.random.default_rng(2)
    a, b = random_gd_agent(rng, 2, "A"), random_gd_agent(rng, 2, "B")
    pair = [noisy.NoisyAgent(a, 0.01 * np.eye(2), 1), b]
    b_replies = type("Text", (), {"name": "B", "d": 2, "replies": ["r0", None, "r2"]})()  # reply texts
    messages = simulate.run(pair, np.ones(2), 3)
    tr = transcripts.from_run([pair[0], b_replies], np.ones(2), messages, meta={"model": "m"})
    w, expected = np.ones(2), []
    for t in range(3):
        for i, agent in enumerate([pair[0], b_replies]):
            expected.append(transcripts.record(agent, t, w, messages[t, i], {"model": "m"},
                                               agent.replies[t] if hasattr(agent, "replies") else None))
            w = messages[t, i]
    assert [r.to_json() for r in tr.records] == [r.to_json() for r in expected]
    assert tr.records[0].meta is not tr.records[2].meta  # each record owns its meta
