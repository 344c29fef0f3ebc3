"""VS for the ``predict`` (and ``simulate``) document of a CONVERGENT random protocol (P1's round maps drawn
per round), in float64 and ``--precision``: every field read back against a reference computed here without the package.

The reference probes each alternative's round map ``z <- Phi_k z + psi_k`` from simulated rounds of the
real GD agents (:func:`proofs_check.verification.shipped_reference.probed_round_map`), the end-of-round
noise covariance ``N_k`` from rounds of the agents' probed affine maps with one reply kicked at a time,
and solves the moment equations of docs/protocol.rst ("Random protocols") directly, uncentred, as dense
linear systems: the conditional moments ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)`` and
``Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + Phi_j q_j psi_j^T + psi_j q_j^T Phi_j^T + pi_j (psi_j psi_j^T + N_j))``
(independent draws: every row of P is p), mean ``mu = sum_l q_l``, covariance ``sum_l Q_l - mu mu^T``;
the rates are the spectral radii of the block operators ``P[j,l] Phi_j`` and ``P[j,l] Phi_j (x) Phi_j``
(square root), by LAPACK. :mod:`numerics.protocol.random_moments` is never called.

In every profile ``predict --precision 30`` also runs on a d = 1 instance (:data:`EXACT_RANDOM`) against the
moment equations of the EXACT round maps (rational rounds of the GD agents, solved at 60 digits): every number
to 30 significant digits within PRECISE_REL (a solve with too few working digits fails it).

``a2ad simulate`` on noiseless random protocols (a Markov chain drawn from ``--seed``, independent draws replaying
``--schedule``) is checked against the reference's GD rounds replaying the printed schedule, and a noisy
deterministic config's document has a ``seed`` and no ``schedule``; the printed schedule's law is read by
:mod:`proofs_check.verification.shipped_schedule`.

Checked per predict document: the key sets, ``dimension``, ``converges``, ``precision``, ``schedule`` (kind,
alternatives, stationary law), both rates, and per agent ``target``, ``fixed_point`` (the stationary
mean), ``residual``, ``residual_norm`` and ``covariance``. Package extension (issue 22, item 5).
"""
from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath as mp
import numpy as np

from numerics.io import outputs
from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import AGENT_KEYS, FLOAT_BAR, PREDICT_KEYS, SIMULATE_BAR, Ledger, rel
from proofs_check.verification.shipped_exact import (
    DIGITS,
    ORACLE_DPS,
    PRECISE_REL,
    _agents as exact_agents,
    config_text,
    exact_round,
    significant_digits,
)
from proofs_check.verification.shipped_predict_text import check_predict_text
from proofs_check.verification.shipped_protocol import instance
from proofs_check.verification.shipped_schedule import schedule_law_check, transition_matrix

__all__ = ["random_predict_method", "RANDOM_CONVERGENT", "moments_reference", "PRECISE_DIGITS", "EXACT_RANDOM",
           "exact_random_reference", "exact_random_check", "random_simulate_check"]

# --precision of the noiseless case's document (noisy random protocols are float64 only, docs/config.rst)
PRECISE_DIGITS = 30
# The moments here are solved uncentred (sum Q_l - mu mu^T), the package's centred: with |mu| ~ 1 and a
# covariance ~ 1e-2 the cancellation costs ~2 digits, the solves ~cond(I - T) ~ 1 / (1 - rate^2) < 10;
# FLOAT_BAR (1e-9) leaves a margin of 1e4 over that rounding, and a dropped term (a noise N_k, a cross
# term, the centring) moves a field by >= 1e-3 relative.
RANDOM_BAR = FLOAT_BAR
_H = [[[1.0, 0.2], [0.2, 0.6]], [[0.8, -0.1], [-0.1, 1.1]], [[0.7, 0.0], [0.0, 0.9]]]
_G = [0.6, [[0.5, 0.1], [0.0, 0.7]], 0.8]
# (name, K, protocol["random"], noise per agent, read with --precision too); every case mean-square
# convergent with spread in every agent's covariance (who hears whom changes between alternatives).
RANDOM_CONVERGENT: list[tuple[str, int, list[dict], list, bool]] = [
    ("independent, noisy", 2,
     [{"probability": 0.6, "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]},
      {"probability": 0.4, "rounds": [{"A": {"B": 0.5, "A": 0.3}, "B": {"A": 0.8}}]}],
     [[[0.02, 0.005], [0.005, 0.01]], 0.03], False),
    ("markov, noisy, a silent round", 3,
     [{"name": "A speaks", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"B speaks": 0.7, "C speaks": 0.3}},
      {"name": "B speaks", "rounds": [{"B": {"A": 1.0}}], "next": {"A speaks": 0.5, "C speaks": 0.2, "pause": 0.3}},
      {"name": "C speaks", "rounds": [{"C": {"B": 1.0}}], "next": {"A speaks": 0.9, "B speaks": 0.1}},
      {"name": "pause", "rounds": [], "next": {"A speaks": 0.4, "C speaks": 0.6}}],
     [0.01, None, [[0.02, 0.0], [0.0, 0.005]]], False),
    ("markov, noiseless", 2,
     [{"name": "x", "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}], "next": {"x": 0.3, "y": 0.7}},
      {"name": "y", "rounds": [{"A": {"B": 0.6}, "B": {"A": 0.9, "B": 0.2}}], "next": {"x": 0.8, "y": 0.2}}],
     [None, None], True),
]


def _agent_maps(inst: ref.Instance) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each agent's per-turn affine map ``m <- M_i h + c_i``, probed from its GD steps."""
    Ms, cs = [], []
    for i in range(inst.K):
        c = ref._gd(inst, i, np.zeros(inst.d))
        Ms.append(np.stack([ref._gd(inst, i, e) - c for e in np.eye(inst.d)], axis=1))
        cs.append(c)
    return Ms, cs


def _round_noise(inst: ref.Instance, Ss: list[np.ndarray]) -> np.ndarray:
    """``N_k``: the end-of-round covariance of the replies' noise (a unit kick on each reply, propagated)."""
    Ms, cs = _agent_maps(inst)
    phases = inst.phases()
    K, d = inst.K, inst.d
    zero = np.zeros((K, d))
    r = ref._affine_round(Ms, cs, phases, zero).reshape(K * d)
    N = np.zeros((K * d, K * d))
    for k, (_, i) in enumerate(ref._turns(phases)):
        G = np.stack([ref._affine_round(Ms, cs, phases, zero, {k: e}).reshape(K * d) - r for e in np.eye(d)], axis=1)
        N += G @ Ss[i] @ G.T
    return N


def _law(alts: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(P, pi)``: the transition matrix (rows = p for independent draws) and its stationary law."""
    P, markov = transition_matrix(alts)
    if not markov:
        return P, P[0].copy()
    m = len(P)
    A = np.vstack([P.T - np.eye(m), np.ones((1, m))])
    pi = np.linalg.lstsq(A, np.r_[np.zeros(m), 1.0], rcond=None)[0]
    return P, pi


def moments_reference(K: int, alts: list[dict], noise: list) -> dict:
    """Rates, stationary mean and covariance (joint, K d x K d) of the case, from the moment equations."""
    d = 2
    base = instance(_H[:K], _G[:K])
    Ss = [np.zeros((d, d)) if s is None else (s * np.eye(d) if np.ndim(s) == 0 else np.asarray(s, dtype=float))
          for s in noise]
    Phis, psis, Ns = [], [], []
    for a in alts:
        rounds = tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items()) for ph in a["rounds"])
        inst = ref.Instance(base.names, base.H, base.target, base.Gamma, base.scalar_gamma, base.steps,
                            base.initial, rounds)
        Phi, psi = ref.probed_round_map(inst)
        Phis.append(Phi)
        psis.append(psi)
        Ns.append(_round_noise(inst, Ss))
    P, pi = _law(alts)
    m, n = len(alts), K * d
    A1 = np.zeros((m * n, m * n))
    A2 = np.zeros((m * n * n, m * n * n))
    for lo in range(m):
        for j in range(m):
            A1[lo * n:(lo + 1) * n, j * n:(j + 1) * n] = P[j, lo] * Phis[j]
            A2[lo * n * n:(lo + 1) * n * n, j * n * n:(j + 1) * n * n] = P[j, lo] * np.kron(Phis[j], Phis[j])
    b1 = np.concatenate([sum(P[j, lo] * pi[j] * psis[j] for j in range(m)) for lo in range(m)])
    q = np.linalg.solve(np.eye(m * n) - A1, b1).reshape(m, n)
    b2 = np.concatenate([sum(P[j, lo] * (np.outer(Phis[j] @ q[j], psis[j]) + np.outer(psis[j], Phis[j] @ q[j])
                                         + pi[j] * (np.outer(psis[j], psis[j]) + Ns[j])) for j in range(m)).ravel()
                         for lo in range(m)])
    Q = np.linalg.solve(np.eye(m * n * n) - A2, b2).reshape(m, n, n)
    mu = q.sum(axis=0)
    return {"mean_rate": float(np.max(np.abs(np.linalg.eigvals(A1)))),
            "contraction_rate": float(np.max(np.abs(np.linalg.eigvals(A2)))) ** 0.5,
            "mean": mu.reshape(K, d), "covariance": Q.sum(axis=0) - np.outer(mu, mu), "pi": pi,
            "target": base.target, "names": base.names}


def _config(K: int, alts: list[dict], noise: list) -> dict:
    cfg = instance(_H[:K], _G[:K]).config()
    for a, s in zip(cfg["agents"], noise):
        if s is not None:
            a["noise"] = s
    cfg["protocol"] = {"random": alts}
    return cfg


def _num(x) -> np.ndarray:
    """A printed number, list or matrix (float64 numbers or --precision decimal strings) as floats; NaN if not."""
    def one(v):
        if isinstance(v, list):
            return [one(u) for u in v]
        if isinstance(v, str):
            with mp.workdps(PRECISE_DIGITS + 5):
                return float(mp.mpf(v))
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(v)
        return float(v)
    try:
        return np.array(one(x), dtype=float)
    except (TypeError, ValueError):
        return np.array(math.nan)


def _digits_ok(x, digits: int) -> bool:
    """Every decimal string in ``x`` has ``digits`` significant digits (docs/config.rst)."""
    if isinstance(x, list):
        return all(_digits_ok(v, digits) for v in x)
    if not isinstance(x, str):
        return False
    mant = x.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mant) == digits or (set(x.lstrip("-").split("e")[0]) <= set("0.") and len(x) > 0)


def _check(ledger: Ledger, label: str, doc, want: dict, K: int, alts: list[dict], precise: bool) -> None:
    kind = "markov" if "name" in alts[0] else "independent"
    ledger.require("document", isinstance(doc, dict), f"{label}: not a JSON document")
    if not isinstance(doc, dict):
        return
    ledger.require("keys", set(doc) == PREDICT_KEYS | {"mean_rate", "schedule"}, f"{label}: keys {sorted(doc)}")
    ledger.require("converges", doc.get("converges") is True and "reason" not in doc, f"{label}: {str(doc)[:160]}")
    ledger.require("dimension", doc.get("dimension") == 2, f"{label}: dimension {doc.get('dimension')!r}")
    prec = f"mpmath {PRECISE_DIGITS} digits" if precise else "float64"
    ledger.require("precision", doc.get("precision") == prec, f"{label}: precision {doc.get('precision')!r}")
    raw = doc.get("schedule")
    sched: dict = raw if isinstance(raw, dict) else {}
    names = [a["name"] for a in alts] if kind == "markov" else [str(k) for k in range(len(alts))]
    ledger.require("schedule", sched.get("kind") == kind and sched.get("alternatives") == names,
                   f"{label}: schedule {sched}")
    ledger.add("stationary_law", rel(_num(sched.get("stationary_law")), want["pi"]), RANDOM_BAR)
    for field in ("contraction_rate", "mean_rate"):
        if precise:
            ledger.require("digits", _digits_ok(doc.get(field), PRECISE_DIGITS), f"{label}: {field} {doc.get(field)!r}")
        ledger.add(f"random {field}", rel(_num(doc.get(field)), want[field]), RANDOM_BAR)
    raw = doc.get("agents")
    agents: dict = raw if isinstance(raw, dict) else {}
    ledger.require("agents", list(agents) == list(want["names"]), f"{label}: agents {list(agents)}")
    d = 2
    for i, name in enumerate(want["names"]):
        raw = agents.get(name)
        e: dict = raw if isinstance(raw, dict) else {}
        ledger.require("agent keys", set(e) == AGENT_KEYS | {"covariance"}, f"{label}: {name} keys {sorted(e)}")
        mean, target = want["mean"][i], want["target"][i]
        cov = want["covariance"][i * d:(i + 1) * d, i * d:(i + 1) * d]
        for field, value in (("target", target), ("fixed_point", mean), ("residual", mean - target),
                             ("residual_norm", np.linalg.norm(mean - target)), ("covariance", cov)):
            if precise:
                ledger.require("digits", _digits_ok(e.get(field), PRECISE_DIGITS), f"{label}: {name}.{field}")
            ledger.add(f"random {field}", rel(_num(e.get(field)), value), RANDOM_BAR)


def random_predict_method(profile: Profile) -> Outcome:
    """``a2ad predict`` on every :data:`RANDOM_CONVERGENT` case (and, beyond ``--profile quick``, ``predict
    --precision`` on the noiseless one: ~1 s of mpmath), every field against :func:`moments_reference`."""
    precise = profile.name != "quick"
    ledger = Ledger(instances=len(RANDOM_CONVERGENT))
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, [_config(K, alts, noise) for _, K, alts, noise, _ in RANDOM_CONVERGENT])
        argvs = [["predict", p] for p in paths] + [["predict", p, "--precision", str(PRECISE_DIGITS)]
                                                   for p, case in zip(paths, RANDOM_CONVERGENT)
                                                   if case[4] and precise]
        printed = cli.run_commands(argvs + [["predict", p, "--text"] for p in paths])
    texts = printed[len(argvs):]
    for pr, text in zip(printed, texts):  # the summary of the same config, line by line against its document
        ledger.require("exit status", text.status == 0, f"predict --text exit {text.status}")
        check_predict_text(ledger, text.stdout, pr.json_or_none())
    wants = [moments_reference(K, alts, noise) for _, K, alts, noise, _ in RANDOM_CONVERGENT]
    runs = [(case, want, False) for case, want in zip(RANDOM_CONVERGENT, wants)] + \
        [(case, want, True) for case, want in zip(RANDOM_CONVERGENT, wants) if case[4] and precise]
    for pr, ((name, K, alts, _, _), want, digits) in zip(printed, runs):
        label = f"random {name} {' '.join(pr.argv[2:])}"
        ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
        for rate in ("contraction_rate", "mean_rate"):  # the cases are what they claim to be
            ledger.require("instance", want[rate] < 0.95, f"{name}: reference {rate} {want[rate]}")
        ledger.require("instance", min(np.linalg.eigvalsh(want["covariance"][k:k + 2, k:k + 2])[-1]
                                       for k in range(0, 2 * K, 2)) > 1e-4, f"{name}: an agent without spread")
        _check(ledger, label, pr.json_or_none(), want, K, alts, digits)
    exact_random_check(ledger, profile)
    random_simulate_check(ledger)
    extra = f"; --precision {PRECISE_DIGITS} on the noiseless one" if precise else ""
    return ledger.outcome(f"a2ad predict on {len(RANDOM_CONVERGENT)} convergent random protocols (independent "
                          f"and Markov, noisy and noiseless{extra}): "
                          "rates, stationary law, means, residuals and covariances vs the moment equations "
                          "of the probed round maps; predict --text against each document")


# --- --precision 30 in the quick profile: d = 1, against the moment equations of the EXACT round maps ------
# Two agents with decimal data (exact as written), independent draws of two alternatives, noiseless (a noisy
# random protocol is float64 only). The round maps are probed from exact rational rounds of the GD agents
# (shipped_exact.exact_round), the moment equations solved and the rates' eigenvalues taken in mpmath at
# ORACLE_DPS digits.
EXACT_RANDOM = [{"probability": "0.6", "rounds": [{"A": {"B": "1.0"}}, {"B": {"A": "1.0"}}]},
                {"probability": "0.4", "rounds": [{"A": {"B": "0.5", "A": "0.3"}, "B": {"A": "0.8"}}]}]


def _exact_alternative(raw: dict, rounds: list) -> tuple[list[list[Fraction]], list[Fraction]]:
    """``(Phi, r)`` of one alternative, exact: rounds of the GD agents from the zero and each unit state."""
    alt = {**raw, "protocol": {"rounds": rounds}}
    K, d = len(raw["agents"]), len(raw["agents"][0]["preconditioner"])
    n = K * d

    def F(x):
        return [v for row in exact_round(alt, [x[k * d:(k + 1) * d] for k in range(K)]) for v in row]

    r = F([Fraction(0)] * n)
    cols = [[a - b for a, b in zip(F([Fraction(int(i == j)) for i in range(n)]), r)] for j in range(n)]
    return [[cols[j][i] for j in range(n)] for i in range(n)], r


def exact_random_reference(raw: dict) -> dict[str, Any]:
    """Rates, stationary mean and joint covariance of ``raw``'s random protocol (independent draws, noiseless)
    at ORACLE_DPS digits: ``mu = (I - sum p_k Phi_k)^-1 sum p_k r_k``, ``vec V`` solving
    ``V = sum p_k (Phi_k V Phi_k^T + a_k a_k^T)`` with ``a_k = Phi_k mu + r_k - mu`` (centred: the cross terms
    vanish because E[z - mu] = 0 and the draw is independent of z)."""
    alts = raw["protocol"]["random"]
    maps = [_exact_alternative(raw, a["rounds"]) for a in alts]
    with mp.workdps(ORACLE_DPS):
        p = [mp.mpf(Fraction(a["probability"]).numerator) / Fraction(a["probability"]).denominator for a in alts]
        fr = lambda x: mp.mpf(x.numerator) / x.denominator  # noqa: E731
        Phis = [mp.matrix([[fr(x) for x in row] for row in Phi]) for Phi, _ in maps]
        rs = [mp.matrix([fr(x) for x in r]) for _, r in maps]
        n = Phis[0].rows
        A1 = sum((pk * P for pk, P in zip(p, Phis)), mp.zeros(n, n))
        mu = mp.lu_solve(mp.eye(n) - A1, sum((pk * r for pk, r in zip(p, rs)), mp.zeros(n, 1)))
        A2, C = mp.zeros(n * n, n * n), mp.zeros(n * n, 1)
        for pk, P, r in zip(p, Phis, rs):
            a = P * mu + r - mu
            for i in range(n):
                for j in range(n):
                    C[i * n + j] += pk * a[i] * a[j]
                    for k in range(n):
                        for m in range(n):
                            A2[i * n + j, k * n + m] += pk * P[i, k] * P[j, m]
        v = mp.lu_solve(mp.eye(n * n) - A2, C)
        return {"mean_rate": max(abs(e) for e in mp.eig(A1, left=False, right=False)),
                "contraction_rate": mp.sqrt(max(abs(e) for e in mp.eig(A2, left=False, right=False))),
                "mean": mu, "covariance": mp.matrix([[v[i * n + j] for j in range(n)] for i in range(n)])}


def exact_random_check(ledger: Ledger, profile: Profile) -> None:
    """``a2ad predict --precision 30`` on :data:`EXACT_RANDOM` (d = 1): every number to 30 significant digits and
    within PRECISE_REL of the exact-map reference (absolute: the values here are of order 1)."""
    raw: dict[str, Any] = {"agents": exact_agents(2, 1, 2), "initial_message": ["0.4"],
                           "protocol": {"random": EXACT_RANDOM}}
    with cli.scratch() as tmp:
        path = Path(tmp) / "random_exact.json"
        outputs.write_text(path, config_text(raw), durable=False)
        pr = cli.run_commands([["predict", str(path), "--precision", str(DIGITS)]])[0]
    want = exact_random_reference(raw)
    doc = pr.json_or_none()
    label = "random --precision exact"
    ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
    ok = isinstance(doc, dict) and isinstance(doc.get("agents"), dict) and doc.get("converges") is True
    ledger.require("precise random document", ok and want["contraction_rate"] < 1, f"{label}: {str(doc)[:160]}")
    if not ok:
        return
    assert isinstance(doc, dict)
    with mp.workdps(ORACLE_DPS):
        def near(name: str, text, value, scale=mp.mpf(1)) -> None:
            ledger.require("significant digits", significant_digits(text) == DIGITS, f"{label}: {name} {text!r}")
            try:
                got = mp.mpf(text) if isinstance(text, str) else mp.mpf("nan")
            except (TypeError, ValueError):
                got = mp.mpf("nan")
            err = abs(got - value) / max(mp.mpf(1), scale)
            ledger.add(f"random precise {name}", float(err / PRECISE_REL) if err == err else math.nan, 1.0)

        for rate in ("contraction_rate", "mean_rate"):
            near(rate, doc.get(rate), want[rate])
        names = [a["name"] for a in raw["agents"]]
        ledger.require("agents", list(doc["agents"]) == names, f"{label}: agents {list(doc['agents'])}")
        for k, name in enumerate(names):
            e = doc["agents"].get(name) if isinstance(doc["agents"].get(name), dict) else {}
            mean, target = want["mean"][k], mp.mpf(Fraction(raw["agents"][k]["target"][0]).numerator) / \
                Fraction(raw["agents"][k]["target"][0]).denominator
            cov = want["covariance"][k, k]
            ledger.require("covariance value", cov > mp.mpf("1e-6"), f"{label}: {name} has no spread ({cov})")
            for field, value in (("fixed_point", mean), ("residual", mean - target), ("target", target)):
                got = e.get(field)
                near(field, got[0] if isinstance(got, list) and len(got) == 1 else None, value)
            near("residual_norm", e.get("residual_norm"), abs(mean - target))
            c = e.get("covariance")
            near("covariance", c[0][0] if isinstance(c, list) and len(c) == 1 and isinstance(c[0], list)
                 and len(c[0]) == 1 else None, cov)


# --- simulate on a random protocol: the printed schedule replayed by the reference ----------------------------
SIMULATE_ROUNDS = 6
GIVEN_SCHEDULE = [1, 1, 0, 1, 0, 0]  # replayed with --schedule (independent draws: every alternative can follow)


def _replay(K: int, alts: list[dict], schedule: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every agent's message at the end of each round of ``schedule`` (rounds, K, d), by the reference's GD
    rounds of each alternative's phases, and the agents' targets."""
    base = instance(_H[:K], _G[:K])
    z = np.tile(base.initial, (K, 1))
    out = []
    for k in schedule:
        rounds = tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items()) for ph in alts[k]["rounds"])
        inst = ref.Instance(base.names, base.H, base.target, base.Gamma, base.scalar_gamma, base.steps,
                            base.initial, rounds)
        z = ref._round(inst, z, inst.phases())
        out.append(z)
    return np.array(out), base.target


def random_simulate_check(ledger: Ledger) -> None:
    """``a2ad simulate`` on noiseless random protocols (a Markov chain with a silent round drawn from ``--seed``,
    independent draws replaying ``--schedule``): the document's keys, seed and schedule, and every message and
    residual norm against the reference replaying the printed schedule; and a noisy deterministic config, whose
    document has a ``seed`` but no ``schedule``."""
    chain = RANDOM_CONVERGENT[1]
    indep = RANDOM_CONVERGENT[0]
    noisy_rr = instance(_H[:2], _G[:2]).config()
    noisy_rr["agents"][0]["noise"] = 0.01
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, [_config(chain[1], chain[2], [None] * chain[1]),
                                        _config(indep[1], indep[2], [None] * indep[1]), noisy_rr])
        turns = ["--turns", str(SIMULATE_ROUNDS)]
        printed = cli.run_commands([["simulate", paths[0], *turns, "--seed", "7"],
                                    ["simulate", paths[1], *turns, "--schedule", json.dumps(GIVEN_SCHEDULE)],
                                    ["simulate", paths[2], *turns, "--seed", "3"]])
    for pr, (_, K, alts, _, _), seed, given in zip(printed, (chain, indep), (7, 0), (None, GIVEN_SCHEDULE)):
        label = f"random simulate {' '.join(pr.argv[2:])}"
        ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
        doc = pr.json_or_none()
        ok = isinstance(doc, dict) and set(doc) == {"schema_version", "turns", "seed", "schedule", "agents"}
        ledger.require("random simulate keys", ok, f"{label}: {sorted(doc) if isinstance(doc, dict) else doc}")
        if not ok:
            continue
        assert isinstance(doc, dict)
        sched = doc["schedule"]
        ledger.require("random simulate schedule", doc["seed"] == seed and doc["turns"] == SIMULATE_ROUNDS
                       and isinstance(sched, list) and len(sched) == SIMULATE_ROUNDS
                       and all(isinstance(k, int) and 0 <= k < len(alts) for k in sched)
                       and (given is None or sched == given), f"{label}: seed {doc['seed']}, schedule {sched}")
        if not (isinstance(sched, list) and all(isinstance(k, int) and 0 <= k < len(alts) for k in sched)):
            continue
        want, targets = _replay(K, alts, sched)
        agents: dict = doc["agents"] if isinstance(doc["agents"], dict) else {}
        for i, name in enumerate("ABC"[:K]):
            raw = agents.get(name)
            e: dict = raw if isinstance(raw, dict) else {}
            ledger.add("random simulate messages", rel(_num(e.get("messages")), want[:, i]), SIMULATE_BAR)
            ledger.add("random simulate residual_norms", rel(_num(e.get("residual_norms")),
                                                             np.linalg.norm(want[:, i] - targets[i], axis=-1)),
                       SIMULATE_BAR)
    pr = printed[2]
    doc = pr.json_or_none()
    ledger.require("noisy simulate keys", pr.status == 0 and isinstance(doc, dict) and doc.get("seed") == 3
                   and set(doc) == {"schema_version", "turns", "seed", "agents"},
                   f"noisy round robin simulate: {sorted(doc) if isinstance(doc, dict) else pr.stderr[:120]}")
    noisy_deviation_check(ledger, noisy_rr)
    schedule_law_check(ledger)


# The noisy round robin's deviations: NOISE_ROUNDS rounds give that many draws of A's noise; the sample covariance
# of n draws of N(0, s I_2) is off from s I_2 by about s sqrt(6 / n) in Frobenius norm (the 2 diagonal entries with
# standard error s sqrt(2/n), the 2 off-diagonal with s sqrt(1/n)): 0.033 relative to |s I_2| = 1.41 s here, and
# NOISE_COV_BAR is 4 times that (a noise left out, or drawn with the wrong factor, is off by 1 or more).
NOISE_ROUNDS = 2700
NOISE_COV_BAR = 0.14


def noisy_deviation_check(ledger: Ledger, config: dict) -> None:
    """``a2ad simulate`` on the noisy round robin ``config`` (A noisy with ``S_A = noise I``, B noiseless), read phase
    by phase: each printed message minus the GD answer to what its writer heard (the printed messages before it,
    the initial message first) is the noise the writer added. B's deviations are 0; A's sample covariance over
    :data:`NOISE_ROUNDS` rounds is ``S_A`` within :data:`NOISE_COV_BAR` (docs/config.rst: "the covariance S_i of
    zero-mean Gaussian noise added to every message the agent writes")."""
    inst = instance(_H[:2], _G[:2])
    S_A = float(config["agents"][0]["noise"]) * np.eye(inst.d)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [config])[0]
        pr = cli.run_commands([["simulate", path, "--turns", str(NOISE_ROUNDS), "--seed", "11"]])[0]
    doc = pr.json_or_none()
    agents = doc.get("agents") if isinstance(doc, dict) else None
    msgs = [_num(agents.get(n, {}).get("messages")) if isinstance(agents, dict) else None for n in inst.names]
    shape = (NOISE_ROUNDS, inst.d)
    if pr.status != 0 or any(m is None or np.shape(m) != shape for m in msgs):
        ledger.require("noisy simulate deviations", False, f"noisy round robin, {NOISE_ROUNDS} rounds: exit "
                       f"{pr.status}, messages {[None if m is None else np.shape(m) for m in msgs]}")
        return
    A, B = (np.asarray(m, dtype=float) for m in msgs)
    before_B = np.vstack([inst.initial, B[:-1]])  # A hears B's message of the round before (the initial one first)
    dev_A = A - np.array([ref._gd(inst, 0, b) for b in before_B])
    dev_B = B - np.array([ref._gd(inst, 1, a) for a in A])  # B hears A's message of the same round
    ledger.add("noisy simulate deviations", float(np.abs(dev_B).max() / max(1.0, float(np.abs(B).max()))), FLOAT_BAR)
    cov = dev_A.T @ dev_A / NOISE_ROUNDS
    ledger.add("noisy simulate deviations", rel(cov, S_A), NOISE_COV_BAR)
