"""VS, R1: what ``a2ad check`` evaluates for a random protocol, against numerics' independent moments.

``a2ad check R1 CONFIG.json`` (and R2, R3) on a config with ``protocol.random`` evaluates the derived maps at
the config's agents (:func:`theory.protocol.random_evaluation.numeric`) and their moments
(:func:`~theory.protocol.random_evaluation.moments`), then compares them with moments propagated round by
round *from the same evaluated maps*: an evaluated map that is wrong, or a solve that the propagation shares,
is invisible there. Each case here is built through ``a2ad check``'s own instance
(:func:`proofs_check.check.run.build_instance`, then the instance's cached ``random_claims._derived``, which
the printed report reads), and checked against references that share nothing with the compiler:

- the evaluated maps ``Phi_k``, ``psi_k``, ``N_k``, the law and the chain against
  :mod:`numerics.protocol.random_moments` (``alternative_maps``, ``noise_injection``: the round maps of the
  predict path, built from the agents' GD rounds, phase by phase);
- the rates, the stationary mean and covariance and whether each converges against
  :func:`numerics.protocol.random_moments.moments` (the predict path's solve);
- a chain's conditional moments ``q_l``, ``Q_l`` (fields ``cond_mean``, ``cond_second``) against the
  moment recursion iterated here from numerics' maps until it stops moving (never solved);
- :func:`~theory.protocol.random_evaluation.stein_residual` (the printed equations ``Q_l = ...`` evaluated
  at those moments) near zero, and its refusals (independent draws; a chain that is not mean-square stable);
- the report ``a2ad check`` prints: every piece's verdict as the reference rates imply it (a conclusion
  ``not checkable`` exactly where its moment does not exist) and each printed rate equal to the reference's
  to the printed digits.

The cases (:data:`CASES`) are small hand-written configs, d = 2 (a block index ``a d`` against ``a + d`` or
``a ** d`` differs only when d > 1), two agents, for each law (a chain of three alternatives, one of them
silent; independent draws of three): both moments converge (noisy agents); the mean converges and the second
moment does not; neither; and the boundary, exactly in float64: both rates 1.0 (agents that keep their
message answering themselves), and the mean-square rate 1.0 under a contracting mean (agents with
``M_i = -I`` answering themselves, or a silent round), where ``< 1`` and ``<= 1`` differ.
The symbolic stationary mean (:func:`~theory.protocol.random_evaluation.derived_mean`, the protocol compiled
with its mean) is checked against the reference mean wherever the mean exists.
Cost: 0.15-0.25 s CPU (10 cases, at a load of 14 on 2 cores).
"""
from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger

__all__ = ["CASES", "rev_outcome"]

# Two float64 solves of the same small, well-conditioned linear systems (sizes <= 24, every I - operator
# here has condition number below 1e3): they agree to ~1e-13 relative; 1e-9 leaves four orders of margin and
# is far below what a wrong term changes (a dropped or mis-placed block moves a moment by 1e-2 or more).
REF_TOL = 1e-9
# The conditional moments iterated here stop when a round moves them by less than this (relative); the rates
# are at most 0.8 here, so ~150 rounds.
ITER_TOL = 1e-15
MAX_ITER = 5000
# stein_residual: the printed equations at the solved moments, relative to max(1, max |Q|): round-off only.
STEIN_TOL = 1e-10
# a2ad check prints rates with 6 significant digits (f"{x:.6g}"): half a unit of the sixth digit, relative.
PRINTED_TOL = 5e-6

_GEO_A = [[2.0, 0.5], [0.5, 1.0]]
_GEO_B = [[1.0, -0.3], [-0.3, 1.5]]


def _agent(name: str, H, Gamma, w, noise=None) -> dict:
    a = {"name": name, "geometry": H, "target": w, "preconditioner": Gamma, "steps_per_turn": 1}
    return a if noise is None else {**a, "noise": noise}


def _config(agents: list, random: list) -> dict:
    return {"schema_version": 1, "agents": agents, "initial_message": [0.3, -0.2],
            "protocol": {"random": random}}


# The targets put max |Q| of the noisy chain at 1.69, inside (1, 2): stein_residual's normalisation max(1, max |Q|)
# is then neither 1 nor 2 (a residual multiplied instead of divided, or floored at 2, changes it).
def _agents(gamma_a: float, gamma_b: float, noisy: bool) -> list:
    return [_agent("Ann", _GEO_A, gamma_a, [2.0, -1.2], [[0.2, 0.05], [0.05, 0.1]] if noisy else None),
            _agent("Bo", _GEO_B, gamma_b, [-1.0, 2.0], 0.15 if noisy else None)]


_A_HEARS_B = [{"Ann": {"Bo": 1.0}}]
_B_HEARS_A = [{"Bo": {"Ann": 0.7, "Bo": 0.3}}]
_BOTH = [{"Ann": {"Bo": 0.5, "Ann": 0.5}, "Bo": {"Ann": 1.0}}]


def _chain(P: list[list[float]]) -> list:
    alts = [("ab", _A_HEARS_B), ("ba", _B_HEARS_A), ("quiet", [])]
    return [{"name": name, "rounds": rounds, "next": {alts[l][0]: p for l, p in enumerate(row) if p}}
            for (name, rounds), row in zip(alts, P)]


def _independent(p: list[float]) -> list:
    return [{"probability": x, "rounds": r} for x, r in zip(p, (_A_HEARS_B, _B_HEARS_A, _BOTH))]


_ZERO = [[0.0, 0.0], [0.0, 0.0]]
_KEEPERS = [_agent("Ann", _ZERO, 0.5, [1.0, -0.5]), _agent("Bo", _ZERO, 0.5, [-0.4, 0.8])]
_SELF = [{"Ann": {"Ann": 1.0}, "Bo": {"Bo": 1.0}}]
_I = [[1.0, 0.0], [0.0, 1.0]]
_FLIPPERS = [_agent("Ann", _I, 2.0, [1.0, -0.5]), _agent("Bo", _I, 2.0, [-0.4, 0.8])]  # M_i = I - 2 I = -I
_P = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.5, 0.4, 0.1]]
# (label, config, expected regime): "both" (mean and covariance), "mean" (only the mean), "none", "one" (none,
# both rates exactly 1), "mean1" (only the mean, the mean-square rate exactly 1).
CASES = [
    ("chain, noisy, mean-square stable", _config(_agents(0.3, 0.4, True), _chain(_P)), "both"),
    ("chain, mean only (an overshooting agent)", _config(_agents(2.5, 0.4, False), _chain(_P)), "mean"),
    ("chain, no moment", _config(_agents(3.0, 2.5, False), _chain(_P)), "none"),
    ("independent, noisy, mean-square stable", _config(_agents(0.3, 0.4, True), _independent([0.3, 0.5, 0.2])),
     "both"),
    ("independent, mean only", _config(_agents(2.5, 0.4, False), _independent([0.3, 0.5, 0.2])), "mean"),
    ("independent, no moment", _config(_agents(3.0, 2.5, False), _independent([0.3, 0.5, 0.2])), "none"),
    # agents that keep their message (H = 0, M_i = I) answering themselves: every Phi_k = I, and both rates are
    # exactly 1.0 in float64 (the boundary itself: neither moment converges; the case checks the 1.0)
    ("chain, every round the identity", _config(_KEEPERS, [
        {"name": "x", "rounds": _SELF, "next": {"x": 0.2, "y": 0.8}},
        {"name": "y", "rounds": [{"Ann": {"Ann": 1.0}}, {"Bo": {"Bo": 1.0}}], "next": {"x": 0.6, "y": 0.4}}]), "one"),
    ("independent, every round the identity", _config(_KEEPERS, [
        {"probability": 0.4, "rounds": _SELF}, {"probability": 0.6, "rounds": [{"Bo": {"Bo": 1.0}}]}]), "one"),
    # M_i = -I answering themselves, or a silent round: Phi_k = -I or I, so the mean contracts (rate < 1) while
    # every Phi_k (x) Phi_k = I: the mean-square rate is exactly 1.0 (the mean only, at the boundary)
    ("chain, mean-square rate exactly 1", _config(_FLIPPERS, [
        {"name": "x", "rounds": _SELF, "next": {"x": 0.2, "y": 0.8}},
        {"name": "y", "rounds": [], "next": {"x": 0.6, "y": 0.4}}]), "mean1"),
    ("independent, mean-square rate exactly 1", _config(_FLIPPERS, [
        {"probability": 0.4, "rounds": _SELF}, {"probability": 0.6, "rounds": []}]), "mean1"),
]


def _iterate(Phi, psi, N, P, pi, second: bool):
    """The conditional moments ``q_l`` (and ``Q_l``) by the moment recursion from the stationary start,
    iterated until a round moves them by less than ITER_TOL: ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)``,
    ``Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + Phi_j q_j psi_j^T + psi_j q_j^T Phi_j^T + pi_j (psi_j psi_j^T
    + N_j))``."""
    n, D = psi.shape
    q, Q = np.zeros((n, D)), np.zeros((n, D, D))
    for _ in range(MAX_ITER):
        a = np.array([Phi[j] @ q[j] + pi[j] * psi[j] for j in range(n)])
        q_new = np.array([sum(P[j, l] * a[j] for j in range(n)) for l in range(n)])
        Q_new = Q
        if second:
            B = np.array([Phi[j] @ Q[j] @ Phi[j].T + np.outer(Phi[j] @ q[j], psi[j]) + np.outer(psi[j], Phi[j] @ q[j])
                          + pi[j] * (np.outer(psi[j], psi[j]) + N[j]) for j in range(n)])
            Q_new = np.array([sum(P[j, l] * B[j] for j in range(n)) for l in range(n)])
        moved = np.abs(q_new - q).max() + np.abs(Q_new - Q).max()
        q, Q = q_new, Q_new
        if moved <= ITER_TOL * max(1.0, float(np.abs(Q).max()), float(np.abs(q).max())):
            return q, Q
    return None, None


def _err(a, b) -> float:
    """``max |a - b|`` relative to ``max(1, max |b|)``; inf on a shape mismatch or a missing side."""
    if a is None or b is None:
        return math.inf
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return math.inf
    return float(np.abs(a - b).max() / max(1.0, float(np.abs(b).max()))) if b.size else 0.0


def _printed_rate(pieces: list[dict], name: str, pattern: str) -> float | None:
    for p in pieces:
        if p.get("name") == name:
            m = re.search(pattern, str(p.get("value", "")))
            return float(m.group(1)) if m else None
    return None


def _verdicts(pieces: list[dict]) -> dict:
    return {p.get("name"): p.get("holds") for p in pieces}


def _check_case(ledger: Ledger, label: str, raw: dict, regime: str) -> None:
    from numerics.protocol import random_moments as RM
    from proofs_check.check import random_claims as RC
    from proofs_check.check.core import evaluate
    from proofs_check.check.run import build_instance
    from proofs_check.statements import statements
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.random_evaluation import derived_mean, stein_residual

    inst = build_instance("R1", raw, [])
    rc, nu, m = RC._derived(inst)
    system, rp = inst.system, inst.system.random
    M = np.stack([a.M for a in system.agents])
    c = np.stack([a.c for a in system.agents])
    S = system.noise_stack()
    Phi, psi = RM.alternative_maps(M, c, rp)
    N = RM.noise_injection(M, S, rp) if S is not None else np.zeros_like(Phi)
    ref = RM.moments(M, c, rp, S)
    pi = rp.stationary()
    ledger.instances += 1
    ledger.add("evaluated maps Phi_k, psi_k, N_k", max(_err(nu.Phi, Phi), _err(nu.psi, psi), _err(nu.N, N)), REF_TOL)
    ledger.add("law and chain", max(_err(nu.law, pi), _err(nu.P, rp.P) if rp.markov else float(nu.P is not None)
                                    * math.inf), REF_TOL)
    ledger.require("d", nu.d == system.d, f"{label}: d = {nu.d}, the config's {system.d}")
    ledger.add("rates", max(abs(m.mean_rate - ref.mean_rate), abs(m.contraction_rate - ref.contraction_rate)), REF_TOL)
    want = {"both": (True, True), "mean": (False, True), "none": (False, False), "one": (False, False),
            "mean1": (False, True)}[regime]
    ledger.require("regime", (ref.converges, ref.mean_converges) == want
                   and (regime != "one" or (m.mean_rate, m.contraction_rate) == (1.0, 1.0))
                   and (regime != "mean1" or m.contraction_rate == 1.0),
                   f"{label}: the reference's regime is {(ref.converges, ref.mean_converges)}, the case's {want}")
    ledger.require("converges", (m.converges, m.mean_converges) == (ref.converges, ref.mean_converges)
                   and type(m.converges) is bool and type(m.mean_converges) is bool,
                   f"{label}: converges, mean_converges {m.converges!r}, {m.mean_converges!r}; reference "
                   f"{ref.converges}, {ref.mean_converges}")
    ledger.require("missing moments", (m.mean is None) == (ref.mean is None)
                   and (m.covariance is None) == (ref.joint_covariance is None),
                   f"{label}: mean {m.mean is not None}, covariance {m.covariance is not None}; reference "
                   f"{ref.mean is not None}, {ref.joint_covariance is not None}")
    if ref.mean is not None:
        ledger.add("stationary mean", _err(m.mean, ref.mean.reshape(-1)), REF_TOL)
    if ref.joint_covariance is not None:
        ledger.add("stationary covariance", _err(m.covariance, ref.joint_covariance), REF_TOL)
        ledger.require("covariance symmetric", m.covariance is not None
                       and bool(np.array_equal(m.covariance, m.covariance.T)), f"{label}: covariance not symmetric")
    # a chain's conditional moments, iterated from numerics' maps (independent draws: none)
    if rp.markov and ref.mean is not None:
        q, Q = _iterate(Phi, psi, N, rp.P, pi, second=ref.converges)
        ledger.add("conditional first moments q_l", _err(m.cond_mean, q), REF_TOL)
        if ref.converges:
            ledger.add("conditional second moments Q_l", _err(m.cond_second, Q), REF_TOL)
        else:
            ledger.require("no Q_l", m.cond_second is None, f"{label}: Q_l given without mean-square stability")
    else:
        ledger.require("no conditional moments", m.cond_mean is None and m.cond_second is None,
                       f"{label}: conditional moments without a chain's mean")
    agents = {a.name: (a.M, a.w_star) for a in system.agents}
    noise = {} if S is None else {a.name: S[k] for k, a in enumerate(system.agents) if np.any(S[k])}
    if rp.markov and ref.converges:
        ledger.add("stein_residual", stein_residual(rc, agents, noise), STEIN_TOL)
        # and it sees a wrong equation: Q_l's (a, b) block with its right side doubled leaves the residual
        # max |Q_l,ab| / max(1, max |Q|) (Q from the iteration above)
        d = system.d
        (l, a, b), _ = max(rc.second_moment.items(),
                           key=lambda kv: np.abs(Q[kv[0][0]][kv[0][1] * d:(kv[0][1] + 1) * d,
                                                              kv[0][2] * d:(kv[0][2] + 1) * d]).max())
        block = Q[l][a * d:(a + 1) * d, b * d:(b + 1) * d]
        doubled = dataclasses.replace(rc, second_moment={**rc.second_moment, (l, a, b): {
            w: 2 * x for w, x in rc.second_moment[(l, a, b)].items()}})
        residual = float(np.abs(block).max()) / max(1.0, float(np.abs(Q).max()))
        doubled_residual = stein_residual(doubled, agents, noise)
        ledger.add("stein_residual of a doubled equation", abs(doubled_residual - residual) / residual, REF_TOL)
    else:
        try:
            stein_residual(rc, agents, noise)
            ledger.require("stein_residual refuses", False, f"{label}: stein_residual did not refuse")
        except ValueError as exc:
            ok = (("independent" in str(exc)) if not rp.markov else
                  f"contraction_rate = {ref.contraction_rate:.6g}" in str(exc))
            ledger.require("stein_residual refuses", ok, f"{label}: stein_residual's refusal {exc}")
    # the symbolic stationary mean (the compiler's, with the mean derived) evaluated at the agents
    if ref.mean is not None:
        ledger.add("derived_mean", _err(derived_mean(compile_random(rc.rspec), agents), ref.mean.reshape(-1)),
                   REF_TOL)
    # the printed report: verdicts as the reference implies, and the printed rates
    r1 = evaluate(RC.R1, statements.of("R1").texts(), inst)  # check_config("R1", raw, []) on this instance
    hyp, con = _verdicts(r1.hypotheses), _verdicts(r1.conclusions)
    ms_ok, mean_ok = ref.converges, ref.mean_converges
    ledger.require("R1 verdicts", hyp.get("law") is True and (hyp.get("invertible") is True or not mean_ok)
                   and con.get("mean") is (True if mean_ok else None)
                   and con.get("mean_square") is (True if ms_ok else None),
                   f"{label}: R1 hypotheses {hyp}, conclusions {con}")
    pieces = r1.hypotheses + r1.conclusions
    if not ms_ok:
        got = _printed_rate(pieces, "mean_square", r"mean-square rate ([0-9.e+-]+) >= 1")
        ledger.add("printed mean-square rate", math.inf if got is None else
                   abs(got - ref.contraction_rate) / ref.contraction_rate, PRINTED_TOL)
    if not mean_ok:
        got = _printed_rate(pieces, "mean", r"mean rate ([0-9.e+-]+) >= 1")
        ledger.add("printed mean rate", math.inf if got is None else abs(got - ref.mean_rate) / ref.mean_rate,
                   PRINTED_TOL)
    r2 = evaluate(RC.R2, statements.of("R2").texts(), inst)
    got = _printed_rate(r2.hypotheses, "rate", r"mean-square rate = ([0-9.e+-]+)")
    ledger.add("printed R2 rate", math.inf if got is None else abs(got - ref.contraction_rate) / ref.contraction_rate,
               PRINTED_TOL)
    ledger.require("R2 rate verdict", _verdicts(r2.hypotheses).get("rate") is ms_ok,
                   f"{label}: R2 rate {_verdicts(r2.hypotheses).get('rate')} at {ref.contraction_rate:.6g}")


def rev_outcome(profile: Profile) -> Outcome:
    """Every case of :data:`CASES` through ``a2ad check``'s instance against numerics' moments."""
    ledger = Ledger()
    for label, raw, regime in CASES:
        _check_case(ledger, label, raw, regime)
    return ledger.outcome(f"{len(CASES)} random configs through a2ad check's evaluation (chains and independent "
                          "draws; both moments, the mean only, neither) vs numerics.protocol.random_moments")
