"""Random protocols, theory side (R1-R4): the compiler's V1 checks, planted wrong variants that must
fail, the derived moments against numerics' independent implementation, and the claim helpers."""
import dataclasses

import numpy as np
import pytest
import sympy as sp

from proofs_check.claims import r_random as R
from theory.core.algebra import letter, padd
from theory.protocol import random_gallery as RG
from theory.protocol.random_checks import verify
from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import independent, markov, stationary_law
from theory.protocol.random_evaluation import derived_mean, moments, numeric

# Two computations of the same float64 quantity on well-conditioned instances (rates <= 0.9).
FLOAT_TOL = 1e-9


@pytest.fixture(scope="module")
def gossip():
    return compile_random(RG.gossip_ring())


def test_gallery_checks_hold(gossip):
    for rc in (gossip, compile_random(RG.wake_ups(sp.Rational(3, 5))), compile_random(RG.group_chat())):
        checks = verify(rc)
        assert checks and all(c.holds for c in checks), [c.label for c in checks if not c.holds]


def test_planted_wrong_mean_fails(gossip):
    bad = dataclasses.replace(gossip, mean=[padd(gossip.mean[0], letter(sp.Symbol("w^*_B", commutative=False)))]
                              + gossip.mean[1:])
    failed = [c.label for c in verify(bad) if not c.holds]
    assert any("first-moment" in x for x in failed)


def test_planted_flipped_sign_in_second_moment_fails(gossip):
    sm = dict(gossip.second_moment)
    sm[(0, 1)] = {w: -c for w, c in sm[(0, 1)].items()}
    bad = dataclasses.replace(gossip, second_moment=sm)
    assert not [c for c in verify(bad) if "Stein" in c.label][0].holds


def test_planted_wrong_offset_fails_round_map(gossip):
    psi = [list(p) for p in gossip.psi]
    psi[1][1] = {}  # drop B's offset in edge BC
    bad = dataclasses.replace(gossip, psi=psi)
    assert not all(c.holds for c in verify(bad) if "phases composed" in c.label)


def test_moments_match_numerics_independent_implementation():
    from numerics.protocol.random_moments import moments as nmoments
    rng = np.random.default_rng(3)
    for key in ("gossip_ring", "group_chat", "dropped_links"):
        rc = R.gallery(key)
        ag = R.agents(rng, rc.names, 2)
        th = R.theory_moments(rc, ag)
        M = np.stack([ag[n]["M"] for n in rc.names])
        c = np.stack([(np.eye(2) - ag[n]["M"]) @ ag[n]["w"] for n in rc.names])
        ref = nmoments(M, c, R._rp(rc.rspec, 2))
        assert abs(th.contraction_rate - ref.contraction_rate) < FLOAT_TOL
        assert abs(th.mean_rate - ref.mean_rate) < FLOAT_TOL
        assert np.allclose(th.mean, ref.mean.reshape(-1), atol=FLOAT_TOL)
        assert np.allclose(th.covariance, ref.joint_covariance, atol=FLOAT_TOL)


def test_derived_symbolic_mean_evaluates_to_the_solved_mean(gossip):
    rng = np.random.default_rng(4)
    ag = {n: (np.diag(rng.uniform(0.2, 0.8, 2)), rng.standard_normal(2)) for n in gossip.names}
    m = moments(numeric(gossip, ag))
    assert np.allclose(derived_mean(gossip, ag), m.mean, atol=FLOAT_TOL)


def test_enumeration_catches_a_wrong_operator():
    rng = np.random.default_rng(5)
    rc = R.gallery("wake_ups")
    ag = R.agents(rng, rc.names, 1)
    assert R.enumeration_error(rc, ag) < R.PRECISE_TOL
    Phi = [list(map(list, F)) for F in rc.Phi]
    Phi[1][0][0] = {(): 1}  # 'A wakes' planted as 'A keeps its message'
    bad = dataclasses.replace(rc, Phi=Phi)
    assert R.enumeration_error(bad, dict(ag)) > 1e-6


def test_invariance_holds_only_where_it_should():
    assert all(ok for _, ok in R._invariance_checks("wake_ups", R.INVARIANT[1][2]))
    rng = np.random.default_rng(6)
    rc = R.gallery("gossip_ring")
    th = R.theory_moments(rc, R.agents(rng, rc.names, 1))
    assert np.trace(th.covariance) > 1e-6  # the schedule alone creates spread


def test_mc_zscore_rejects_a_scaled_covariance():
    rng = np.random.default_rng(8)
    rc = R.gallery("gossip_ring")
    ag = R.agents(rng, rc.names, 1)
    th = R.theory_moments(rc, ag)
    s = R.mc_samples(rc.rspec, ag, seed=1, runs=2000, rounds=200)
    assert max(R.mc_zscores(s, th.mean, th.covariance)) < R.MC_Z_BAR
    assert max(R.mc_zscores(s, th.mean, 1.5 * th.covariance)) > R.MC_Z_BAR  # a wrong spread is caught
    assert max(R.mc_zscores(s, th.mean + 0.05, th.covariance)) > R.MC_Z_BAR  # a shifted mean is caught


def test_overshoot_only_the_mean_converges():
    mean_op, ms_op = R.overshoot_rates(R.OVERSHOOT_M, R.OVERSHOOT_Q)
    assert abs(mean_op) < 1 < ms_op


def test_markov_law_and_bad_input():
    rs = RG.group_chat()
    assert stationary_law(rs) == tuple([sp.Rational(1, 6)] * 6)
    with pytest.raises(ValueError, match="sum to 5/6"):
        independent(["A"], [[], [{"A": {"A": 1}}]], [sp.Rational(1, 2), sp.Rational(1, 3)])
    with pytest.raises(ValueError, match="row 0"):
        markov(["A"], [[], [{"A": {"A": 1}}]], [[1, 1], [0, 1]])


def test_derive_cli_on_a_random_config(tmp_path, capsys):
    import json
    from pathlib import Path

    from proofs_check.cli import main as cli
    example = Path(__file__).resolve().parent.parent / "examples" / "random_wake_ups.json"
    out = tmp_path / "d.json"
    assert cli.main(["derive", "--protocol", str(example), "--format", "json", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1 and doc["law"] == "independent" and len(doc["alternatives"]) == 4
    assert all(c["holds"] for c in doc["checks"]) and set(doc["residuals"]) == {"A", "B"}
    assert cli.main(["derive", "--protocol", str(example), "--format", "latex", "--out", str(tmp_path / "d.tex")]) == 0
    assert "\\begin{document}" in (tmp_path / "d.tex").read_text()
    capsys.readouterr()


def test_report_refuses_an_unverified_derivation(monkeypatch):
    from theory.protocol import random_report as RR
    from theory.protocol.report import Unverified
    from theory.protocol.result import Check
    rc = compile_random(RG.wake_ups(sp.Rational(1, 2)))
    assert RR.derived_random(rc)["schema_version"] == 1
    monkeypatch.setattr(RR, "verify", lambda rc: [Check("planted", False, "x")])
    with pytest.raises(Unverified, match="planted"):
        RR.derived_random(rc)


def _check(claim, raw):
    from proofs_check.check.run import check_config
    return check_config(claim, raw, [])


def _two_speaker_cfg():
    return {"agents": [{"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.3]], "target": [1.0, 0.0], "preconditioner": 0.8},
                       {"name": "B", "geometry": [[0.4, 0.1], [0.1, 1.0]], "target": [0.0, 1.0],
                        "preconditioner": 0.7}],
            "initial_message": [0.0, 0.0],
            "protocol": {"random": [{"probability": 0.3, "rounds": [{"A": {"B": 1.0}}]},
                                    {"probability": 0.7, "rounds": [{"B": {"A": 1.0}}]}]}}


def test_check_random_claims_on_a_config():
    import json
    from pathlib import Path
    raw = json.loads((Path(__file__).resolve().parent.parent / "examples" / "random_gossip_ring.json").read_text())
    for claim in ("R1", "R2", "R3"):
        assert _check(claim, raw).exit_status == 0, claim
    assert _check("R4", _two_speaker_cfg()).exit_status == 0
    assert _check("R4", raw).exit_status == 3  # not the two-speaker protocol


def test_check_catches_a_planted_wrong_covariance(monkeypatch):
    from proofs_check.check import random_claims as RC
    real = RC._derived

    def planted(inst):
        rc, nu, m = real(inst)
        return rc, nu, dataclasses.replace(m, covariance=1.1 * m.covariance)
    monkeypatch.setattr(RC, "_derived", planted)
    import json
    from pathlib import Path
    raw = json.loads((Path(__file__).resolve().parent.parent / "examples" / "random_gossip_ring.json").read_text())
    assert _check("R1", raw).exit_status == 1  # the gossip ring has spread: 1.1 C is caught
    assert _check("R2", _two_speaker_cfg()).exit_status == 0  # two speakers hearing each other: no spread


def test_noise_enters_where_the_noisy_agent_writes():
    """Noisy A (S_A) in the dropped-links protocol: derived covariance vs numerics' independent one."""
    from numerics.protocol.random_moments import moments as nmoments
    rs = dataclasses.replace(RG.dropped_links(sp.Rational(1, 5)), noisy=("A",))
    rc = compile_random(rs, derive_mean=False)
    rng = np.random.default_rng(9)
    ag = R.agents(rng, rs.names, 2)
    S_A = np.array([[0.3, 0.1], [0.1, 0.2]])
    th = moments(numeric(rc, {n: (a["M"], a["w"]) for n, a in ag.items()}, noise={"A": S_A}))
    M = np.stack([ag[n]["M"] for n in rs.names])
    c = np.stack([(np.eye(2) - ag[n]["M"]) @ ag[n]["w"] for n in rs.names])
    ref = nmoments(M, c, R._rp(rs, 2), np.stack([S_A, np.zeros((2, 2))]))
    assert np.allclose(th.covariance, ref.joint_covariance, atol=FLOAT_TOL)
    assert np.trace(th.covariance) > 1e-3  # the noise spreads the plateau (the noiseless spread is 0 here)
    quiet = compile_random(RG.dropped_links(sp.Rational(1, 5)), derive_mean=False)
    noiseless = moments(numeric(quiet, {n: (a["M"], a["w"]) for n, a in ag.items()}))
    assert np.trace(noiseless.covariance) < FLOAT_TOL


# ---------------------------------------------------------------- Markov chains: the mean in closed form
HALF = sp.Rational(1, 2)
# A chain over four alternatives of two agents (A averages, both average, B hears mostly A, B keeps its
# message): its written messages need named Schur blocks (the expanded elimination does not settle).
NAMED_ALTS = [[{"A": {"A": HALF, "B": HALF}}], [{"A": {"A": HALF, "B": HALF}, "B": {"A": HALF, "B": HALF}}],
              [{"B": {"A": sp.Rational(3, 5), "B": sp.Rational(2, 5)}}], [{"B": {"B": 1}}]]
NAMED_P = [[sp.Rational(4, 11), sp.Rational(1, 11), sp.Rational(3, 11), sp.Rational(3, 11)],
           [sp.Rational(1, 6), sp.Rational(1, 4), sp.Rational(1, 3), sp.Rational(1, 4)],
           [0, 0, HALF, HALF], [sp.Rational(1, 3), sp.Rational(1, 3), sp.Rational(2, 9), sp.Rational(1, 9)]]


@pytest.fixture(scope="module")
def named():
    return compile_random(markov(["A", "B"], NAMED_ALTS, NAMED_P))


def _agents(rng, names, d=2):
    """Non-symmetric contractions (a wrong word order shows) and targets."""
    return {n: (np.diag(rng.uniform(0.2, 0.7, d)) + 0.1 * rng.standard_normal((d, d)), rng.standard_normal(d))
            for n in names}


def _failed(rc) -> list[str]:
    return [c.label for c in verify(rc) if not c.holds]


def test_group_chat_mean_is_derived_proved_and_evaluates_to_the_solved_mean():
    """Issue 26 item 1: the group chat's conditional first moments used to be left to their equations."""
    rc = compile_random(RG.group_chat())
    assert rc.mean is not None and not rc.notes and rc.residual_gaps
    assert not _failed(rc)
    ag = _agents(np.random.default_rng(11), rc.names)
    assert np.allclose(derived_mean(rc, ag), moments(numeric(rc, ag)).mean, atol=FLOAT_TOL)


def test_attack_example_mean_evaluates_to_the_solved_mean():
    from pathlib import Path

    from numerics import api
    from theory.protocol.random_description import from_numeric_random
    path = Path(__file__).resolve().parent.parent / "examples" / "random_attack.json"
    rc = compile_random(from_numeric_random(api.load_config(str(path)).random))
    assert rc.mean is not None and not _failed(rc)
    ag = _agents(np.random.default_rng(12), rc.names)
    assert np.allclose(derived_mean(rc, ag), moments(numeric(rc, ag)).mean, atol=FLOAT_TOL)


def test_named_markov_mean_is_proved_and_evaluates_to_the_solved_mean(named):
    assert named.named is not None and named.mean is not None and len(named.alg.named_letters()) > 0
    assert not _failed(named)
    ag = _agents(np.random.default_rng(13), named.names)
    assert np.allclose(derived_mean(named, ag), moments(numeric(named, ag)).mean, atol=FLOAT_TOL)


def test_named_markov_mean_planted_wrong_variants_fail(named):
    """Each planted error fails its own identity: a wrong mean, residual, T, operator, Schur block."""
    wB = letter(sp.Symbol("w^*_B", commutative=False))
    bad = dataclasses.replace(named, mean=[padd(named.mean[0], wB)] + named.mean[1:])
    assert any(x.startswith("mu_A = sum_j G") for x in _failed(bad))
    gaps = [dict(g) for g in named.residual_gaps]
    j = next(iter(gaps[0]))
    gaps[0][j] = {w: -c for w, c in gaps[0][j].items()}  # flipped sign of one gap's coefficient
    assert any("mean residual of A" in x for x in _failed(dataclasses.replace(named, residual_gaps=gaps)))
    T = named.named.T.copy()
    T[0, 0] += sp.Rational(1, 7)
    failed = _failed(dataclasses.replace(named, named=dataclasses.replace(named.named, T=T)))
    assert any(x.startswith("T (I - S) = I") for x in failed)
    B = [row[:] for row in named.mean_map]
    u, v = next((u, v) for u in range(len(B)) for v in range(len(B)) if B[u][v] and () not in B[u][v])
    B[u][v] = {w: 2 * c for w, c in B[u][v].items()}  # a doubled transition probability in the operator
    assert any(x.startswith("B = S + E F") for x in _failed(dataclasses.replace(named, mean_map=B)))
    sch = named.named.schur
    L = sch.order[0]
    defs = dict(sch.defs)
    defs[L] = {w: -c for w, c in defs[L].items()}  # a Schur block with the wrong sign
    bad_sch = dataclasses.replace(sch, defs=defs)
    failed = _failed(dataclasses.replace(named, named=dataclasses.replace(named.named, schur=bad_sch)))
    assert any(x.startswith("elimination step") for x in failed)


def _random_chain(seed: int):
    """A random Markov chain over K <= 3 agents and <= 6 alternatives with at most 6 written messages:
    random speakers hearing weighted subsets (possibly themselves) and gossip pairs."""
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 4))
    n = int(rng.integers(K, 7))  # at least one alternative per agent, so every agent can be made to write
    names = [chr(65 + k) for k in range(K)]
    alts, budget = [], 6
    for k in range(n):
        if budget - 2 >= n - k - 1 and rng.random() < 1 / 3:
            x, y = (str(v) for v in rng.choice(names, 2, replace=False))
            alts.append([{x: {x: HALF, y: HALF}, y: {x: HALF, y: HALF}}])
            budget -= 2
        else:
            x = str(rng.choice(names))
            src = rng.choice(names, size=int(rng.integers(1, K + 1)), replace=False)
            w = rng.integers(1, 5, len(src))
            alts.append([{x: {str(y): sp.Rational(int(c), int(w.sum())) for y, c in zip(src, w)}}])
            budget -= 1
    for i, x in enumerate(names):  # every agent writes: agent i speaks in alternative i if it is silent
        if not any(x in ph for a in alts for ph in a):
            alts[i] = [{x: {names[(i + 1) % K]: 1}}]
    rows = [[sp.Integer(int(v)) for v in rng.integers(0, 4, n)] for _ in range(n)]
    for j, r in enumerate(rows):
        r[(j + 1) % n] += 1  # a cycle through every alternative: irreducible
    rows[0][0] += 1  # aperiodic
    return markov(names, alts, [[v / sum(r) for v in r] for r in rows])


# Seeds of _random_chain whose derivation stays under a second or two on this machine (both paths).
CHAIN_SEEDS = (6, 7, 8, 11, 18)


def test_small_random_markov_chains_get_a_proved_closed_form_mean():
    from theory.protocol.random_evaluation import stein_residual
    paths = set()
    for seed in CHAIN_SEEDS:
        rs = _random_chain(seed)
        rc = compile_random(rs)
        assert rc.mean is not None, (seed, rc.notes)
        assert not _failed(rc), seed
        paths.add("named" if rc.named is not None else "expanded")
        ag = _agents(np.random.default_rng(seed), rs.names)
        assert np.allclose(derived_mean(rc, ag), moments(numeric(rc, ag)).mean, atol=FLOAT_TOL), seed
        assert stein_residual(rc, ag) < FLOAT_TOL, seed  # the displayed Q_l equations at the numeric solve
    assert paths == {"named", "expanded"}


def test_a_dense_chain_is_left_to_its_equations_quickly():
    """Past MAX_UNKNOWNS written messages the mean is not attempted: a note, no hang; the rest is proved."""
    import time

    from theory.protocol.random_markov import MAX_UNKNOWNS
    n = MAX_UNKNOWNS // 3 + 1  # alternatives in which all three agents write
    alts = [[{"A": {"B": HALF, "C": HALF}, "B": {"A": HALF, "C": HALF}, "C": {"A": HALF, "B": HALF}}]] * n
    t0 = time.perf_counter()
    rc = compile_random(markov(["A", "B", "C"], alts, [[sp.Rational(1, n)] * n] * n))
    assert time.perf_counter() - t0 < 5.0
    assert rc.mean is None and f"{3 * n} written messages to solve for (limit {MAX_UNKNOWNS})" in rc.notes[0]
    assert not _failed(rc)


# ---------------------------------------------------------------- Markov chains: the second moment
def _noisy_group_chat():
    return compile_random(dataclasses.replace(RG.group_chat(), noisy=("A", "C")), derive_mean=False)


def test_markov_second_moment_equations_rederived_from_the_phases():
    from theory.protocol.random_checks import second_moment_checks
    rc = _noisy_group_chat()
    checks = second_moment_checks(rc)
    assert len(checks) == rc.rspec.n and all(c.holds for c in checks)
    sm = dict(rc.second_moment)
    sm[(2, 0, 1)] = {w: -c for w, c in sm[(2, 0, 1)].items()}  # flipped sign
    assert not second_moment_checks(dataclasses.replace(rc, second_moment=sm))[2].holds
    noise = [[[{} for _ in row] for row in N] for N in rc.noise]  # the noise dropped from the equations
    quiet = compile_random(dataclasses.replace(RG.group_chat(), noisy=("A", "C")), derive_mean=False)
    from theory.protocol.random_compiler import second_moment_equations
    dropped = second_moment_equations(quiet.rspec, quiet.Phi, quiet.psi, noise, quiet.law, quiet.deviation)
    assert not all(c.holds for c in second_moment_checks(dataclasses.replace(rc, second_moment=dropped)))


def test_markov_second_moment_equations_hold_at_the_numeric_solve():
    from theory.protocol.random_evaluation import stein_residual
    rc = _noisy_group_chat()
    ag = _agents(np.random.default_rng(14), rc.names)
    S = {"A": np.array([[0.3, 0.1], [0.1, 0.2]]), "C": 0.05 * np.eye(2)}
    assert stein_residual(rc, ag, S) < FLOAT_TOL
    sm = dict(rc.second_moment)
    sm[(0, 0, 0)] = padd(sm[(0, 0, 0)], {w: c / 10 for w, c in sm[(0, 0, 0)].items()})  # a 10 % error in one block
    assert stein_residual(dataclasses.replace(rc, second_moment=sm), ag, S) > 1e-4


def test_named_markov_latex_compiles_with_no_overfull_box(tmp_path, named):
    import re
    import subprocess

    from test_latex import need_pdflatex
    from theory.protocol import random_report as RR
    need_pdflatex()
    doc = RR.derived_random(named)
    assert doc["definitions"] and "Named blocks" in RR.as_latex(doc)
    (tmp_path / "doc.tex").write_text(RR.as_latex(doc))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)[:5]
    assert "U" in RR.as_text(doc) and ":=" in RR.as_text(doc)
