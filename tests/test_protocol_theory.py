"""The symbolic protocol compiler: derived objects proved (V1), tied to the numeric round map,
known answers P1-P5, the re-derivations of the registered claims, derive --protocol, the gallery,
and planted wrong variants that every check must reject."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from numerics.protocol import config, evaluate as protocol_eval, prediction, random_protocols as protocol_random
from proofs_check.claims import p_protocol as pp, select
from proofs_check.cli import main as cli
from proofs_check.verification import registry, runner
from theory.core import model
from theory.protocol import checks as protocol_checks, compiler as P, gallery as G
from theory.round_robin import two_agents as ta

ROOT = Path(__file__).parent.parent
# Numeric evaluation of a derived expression vs the numeric round map: float64 rounding of
# a few inverses of well-conditioned d x d matrices.
EVAL_REL_TOL = 1e-10


@pytest.mark.parametrize("key", [e.key for e in G.entries()])
def test_gallery_protocol_compiles_and_every_object_is_proved(key):
    cp = pp.gallery_compiled(key)
    checks = P.verify(cp)
    assert checks and all(c.holds for c in checks), [c.label for c in checks if not c.holds]


def test_verify_rejects_planted_wrong_objects():
    cp = P.compile_protocol(P.spec(["A", "B", "C"], [{"A": {"C": 1}}, {"B": {"A": 1}, "C": {"A": 0.5, "B": 0.5}}]))
    assert all(c.holds for c in P.verify(cp))
    wrongs = {
        "fixed point doubled": lambda: cp.fixed_point.__setitem__(0, 2 * cp.fixed_point[0]),
        "term dropped": lambda: cp.fixed_point.__setitem__(1, sp.Add(*sp.Add.make_args(cp.fixed_point[1])[1:])),
        "gap coefficient sign": lambda: cp.residual_gaps[2].__setitem__(0, -cp.residual_gaps[2][0]),
        "swapped factors": lambda: cp.Phi[1].__setitem__(2, P.normal(cp.Phi[1][2]).subs(
            P.M("B") * P.M("A"), P.M("A") * P.M("B"))),
    }
    for name, plant in wrongs.items():
        saved = ([x for x in cp.fixed_point], [dict(g) for g in cp.residual_gaps], [row[:] for row in cp.Phi])
        plant()
        assert not all(c.holds for c in P.verify(cp)), name
        cp.fixed_point[:], cp.residual_gaps[:], cp.Phi[:] = saved


def _random_numeric_case(seed, K, d):
    rng = np.random.default_rng(seed)
    s = protocol_random.system(rng, K, d)
    return s, P.compile_protocol(P.from_numeric(s.protocol), noise=False)


@pytest.mark.parametrize("seed,K,d", [(1, 2, 3), (2, 3, 2), (3, 3, 4), (4, 4, 2)])
def test_numeric_round_map_and_fixed_point_are_the_derived_objects(seed, K, d):
    """numerics.protocol.evaluate evaluates exactly what the compiler derived (Phi, r, z*)."""
    s, cp = _random_numeric_case(seed, K, d)
    env = {a.name: (a.M, a.w_star) for a in s.agents}
    M, c, W, mask = protocol_eval.system_arrays(s)
    Phi, r = protocol_eval.round_map(M, c, W, mask)
    for i in range(K):
        for j in range(K):
            block = P.evaluate(cp, cp.Phi[i][j], env) if cp.Phi[i][j] != 0 else np.zeros((d, d))
            np.testing.assert_allclose(block, Phi[i * d:(i + 1) * d, j * d:(j + 1) * d], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(P.evaluate(cp, cp.r[i], env)[:, 0], r[i * d:(i + 1) * d], rtol=1e-12, atol=1e-13)
    z = protocol_eval.fixed_points(M, c, W, mask)
    zd = np.stack([P.evaluate(cp, cp.fixed_point[i], env)[:, 0] for i in range(K)])
    assert np.linalg.norm(zd - z) / np.linalg.norm(z) <= EVAL_REL_TOL
    assert [s.names[k] for k in cp.live] == [s.names[k] for k in np.flatnonzero(protocol_eval.live_agents(W, mask))]


@pytest.mark.parametrize("key", [e.key for e in G.entries() if e.key != "anchored"])
def test_reduced_rate_equals_spectral_radius_of_the_round_matrix(key):
    e = G.entry(key)
    cp = pp.gallery_compiled(key)
    s = pp.gallery_system(e, np.random.default_rng(5), 3)
    env = {a.name: (a.M, a.w_star) for a in s.agents}
    M, c, W, mask = protocol_eval.system_arrays(s)
    Phi, _ = protocol_eval.round_map(M, c, W, mask)
    rho = np.max(np.abs(np.linalg.eigvals(Phi)))
    derived = max(np.max(np.abs(np.linalg.eigvals(np.block([[P.evaluate(cp, x, env) if x != 0 else np.zeros((3, 3))
                                                              for x in row] for row in b])))) for b in cp.rate_blocks)
    assert derived ** (1 / cp.rate_power) == pytest.approx(rho, rel=1e-9)
    # power: a wrong root (q - 1 or q + 1) does not match (rho is not 0 or 1 here)
    for q in {cp.rate_power + 1, max(cp.rate_power - 1, 1)} - {cp.rate_power}:
        assert derived ** (1 / q) != pytest.approx(rho, rel=1e-6)


def test_known_answers():
    sim = pp.gallery_compiled("simultaneous")
    assert sim.rate_power == 2 and sim.rate_blocks == [[[P.M("A") * P.M("B")]]]
    rr = pp.gallery_compiled("round_robin")
    assert rr.rate_power == 1 and rr.rate_blocks == [[[P.M("B") * P.M("A")]]] and rr.live == (1,)
    ring = pp.gallery_compiled("ring")
    assert ring.rate_power == 4 and len(ring.rate_blocks) == 1
    star = pp.gallery_compiled("star")
    third = sp.Rational(1, 3)
    assert star.rate_power == 2 and P.normal(star.rate_blocks[0][0][0] - third * P.M("A") * (
        P.M("B") + P.M("C") + P.M("D"))) == 0


def test_rederivations_are_proved_and_can_fail(monkeypatch):
    results = pp.rederivations()
    labels = " ".join(label for label, _ in results)
    for cid in ("C1", "C2", "C3", "C7", "C12", "C13", "C15", "C17"):
        assert cid in labels
    assert all(ok for _, ok in results), [label for label, ok in results if not ok]
    # planted wrong registered forms: swapped product order in C2, dropped noise term in C15
    monkeypatch.setattr(ta, "v_star", sp.Inverse(model.I - ta.A.M * ta.B.M) * (ta.B.M * ta.A.c + ta.B.c))
    from theory.stochastic import noisy
    monkeypatch.setattr(noisy, "lyapunov_rhs_B", ta.J_B * noisy.P_B * ta.J_B.T + noisy.S_B)
    bad = [label for label, ok in pp.rederivations() if not ok]
    assert any("C2: v*" in b for b in bad) and any("C15" in b for b in bad)


def test_anchored_identity_rejects_wrong_variants():
    from theory.protocol.chains import anchored_identity
    cp = pp.gallery_compiled("anchored")
    lhs, rhs = anchored_identity(cp)
    assert cp.reduce(lhs - rhs) == 0
    assert cp.reduce(lhs + rhs) != 0
    assert cp.reduce(lhs - rhs.subs(G.omega, 1 - G.omega)) != 0


@pytest.mark.parametrize("cid", ["P1", "P2", "P3", "P4", "P5"])
def test_protocol_claims_pass_quick(cid):
    rep = runner.run(select([cid]), registry.PROFILES["quick"])
    failed = [m for m in rep["claims"][0]["methods"] if m["status"] != "passed"]
    assert not failed, failed


def test_witnesses_fail_on_planted_wrong_numerics(monkeypatch):
    q = registry.PROFILES["quick"]
    real = protocol_eval.fixed_points
    monkeypatch.setattr(protocol_eval, "fixed_points", lambda *a, **k: real(*a, **k) * (1 + 1e-6))
    for method in (pp.p1_v4, pp.p1_v6, pp.p5_v4):
        out = method(q)
        assert not out.worst_error <= out.tolerance, method.__name__
    monkeypatch.setattr(protocol_eval, "fixed_points", real)
    real_map = protocol_eval.precise_round_map
    monkeypatch.setattr(protocol_eval, "precise_round_map",
                        lambda Ms, cs, p: (lambda Phi, r: (Phi, 2 * r))(*real_map(Ms, cs, p)))
    out = pp.p1_v5(q)
    assert not out.worst_error <= out.tolerance


# ------------------------------------------------------------ derive --protocol and the gallery
def test_derive_protocol_text_json_and_refusal(tmp_path, capsys, monkeypatch):
    ex = str(ROOT / "examples" / "protocol_simultaneous.json")
    assert cli.main(["derive", "--protocol", ex, "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "rate: rho = spectral_radius(M_A*M_B)**(1/2)\n" in out and "FAILED" not in out and "[V1 proved]" in out
    assert "^" not in out.split("[V1")[0].replace("M_i^s_i", "")  # Python/SymPy syntax: ** for powers
    assert cli.main(["derive", "--protocol", ex, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["contraction_rate"]["power"] == 2
    assert all(c["holds"] for c in doc["checks"])
    assert list(doc["agents"]) == ["A", "B"]
    assert set(doc["agents"]["A"]) == {"steps_per_turn", "fixed_point", "residual"}
    assert doc["agents"]["B"]["fixed_point"]["text"] and not {"rate", "fixed_points", "residuals"} & set(doc)
    # a failing check refuses to print anything
    monkeypatch.setattr(protocol_checks, "verify", lambda cp: [P.Check("planted", False, "x")])
    assert cli.main(["derive", "--protocol", ex, "--format", "text"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "refused" in cap.err



@pytest.mark.parametrize("key", [e.key for e in G.entries()])
def test_gallery_latex_compiles(tmp_path, capsys, key):
    if shutil.which("pdflatex") is None:
        import os
        if os.environ.get("A2AD_REQUIRE_LATEX") == "1":
            pytest.fail("A2AD_REQUIRE_LATEX=1 but pdflatex is not installed")
        pytest.skip("pdflatex is not installed (set A2AD_REQUIRE_LATEX=1 to make this a failure; .ci/run does)")
    tex = tmp_path / f"{key}.tex"
    assert cli.main(["derive", "--protocol", str(ROOT / "examples" / f"protocol_{key}.json"), "--out", str(tex)]) == 0
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / f"{key}.pdf").read_bytes()[:4] == b"%PDF"


def test_gallery_pages_match_the_examples():
    rows = json.loads((ROOT / "docs" / "protocols" / "gallery.json").read_text())
    assert [r["key"] for r in rows] == [e.key for e in G.entries()]
    index = (ROOT / "docs" / "protocols" / "index.rst").read_text()
    for r in rows:
        page = ROOT / "docs" / "protocols" / f"{r['key']}.rst"
        assert page.exists() and (ROOT / "docs" / "protocols" / f"{r['key']}.png").exists()
        assert "What changes compared with the paper's protocol" in page.read_text() and r["key"] in index
        doc = prediction.predict(config.load(ROOT / "examples" / f"protocol_{r['key']}.json"))
        assert doc["contraction_rate"] == pytest.approx(r["contraction_rate"], rel=1e-12)
        for n, v in r["agents"].items():
            assert doc["agents"][n]["residual_norm"] == pytest.approx(v["residual_norm"], rel=1e-12)


def test_float_weights_are_read_as_the_simplest_fraction_with_the_same_double():
    assert P.weight(0.3333333333333333) == sp.Rational(1, 3)  # what a JSON config holds for 1/3
    assert P.weight(0.1) == sp.Rational(1, 10) and P.weight(1.0) == 1 and P.weight(-0.25) == sp.Rational(-1, 4)
    w = 0.123456789012  # no fraction with denominator <= 10^6 has this double: its exact decimal
    assert P.weight(w) == sp.Rational(123456789012, 10**12)
    rng = np.random.default_rng(7)
    for w in rng.uniform(-2, 2, 200).tolist() + [1 / 7, 2 / 3, 1e-7]:
        assert float(P.weight(w)) == w  # never another number than the float the numerics use
    cp = P.compile_protocol(P.spec(["A", "B", "C"], [{"A": {"B": 1 / 3, "C": 2 / 3}}, {"B": {"A": 1.0}},
                                                     {"C": {"A": 1.0}}]))
    assert all(v == 0 for v in cp.residual_self)  # 1/3 + 2/3 = 1 exactly: w_A* drops out of e_A


# ------------------------------------------------------------ structure: one algebra, no import cycle
def _import_graph(root: Path) -> dict:
    """``{module: modules of theory/ it imports}``, imports inside functions included."""
    import ast
    mods = {".".join(f.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): f
            for f in root.rglob("*.py")}
    graph = {}
    for m, f in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                         for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[m] = {d for d in deps if d in mods and d != m}
    return graph


def _cycle(graph: dict) -> list:
    """One import cycle of ``graph`` (a list of modules), or [] (depth-first search)."""
    state, path = {}, []

    def visit(v):
        state[v] = "open"
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == "open":
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        state[v] = "done"
        path.pop()
        return []
    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return []


def test_no_import_cycle_inside_theory():
    graph = _import_graph(ROOT / "theory")
    assert "theory.protocol.compiler" in graph["theory.protocol.chains"]  # the graph sees imports
    assert _cycle(graph) == []
    # the detector's power: schur importing compiler back (the cycle before the split) is found
    planted = {**graph, "theory.protocol.schur": graph["theory.protocol.schur"] | {"theory.protocol.compiler"}}
    assert "theory.protocol.schur" in _cycle(planted)


def test_the_compiler_uses_the_one_free_algebra():
    from theory.core.algebra import FreeAlgebra
    cp = P.compile_protocol(P.round_robin(["A", "B"]), noise=False)
    assert type(cp.alg) is FreeAlgebra and len(cp.alg.inverted) == 1
