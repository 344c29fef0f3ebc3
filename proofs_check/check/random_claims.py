"""R1-R4 (random protocols) as propositions for ``a2ad check``: a config with ``protocol.random``.

The derived objects come from theory.protocol.random_compiler (evaluated by
theory.protocol.random_evaluation); they are compared with the moments propagated round by round
(exact first- and second-moment recursions, conditional on the alternative for a chain, iterated
here, never solved) until the rate to the power of the rounds is below :data:`ITERATION_TOL`.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from proofs_check.check.core import (
    BOUNDARY_TOL,
    REL_TOL,
    Instance,
    NotApplicable,
    Outcome,
    Piece,
    Proposition,
    always,
    close,
    invertible,
    less_than_one,
    not_checkable,
)

__all__ = ["PROPOSITIONS", "R1", "R2", "R3", "R4", "rates"]

# The propagated moments are compared once the rate to the power of the rounds is below this.
ITERATION_TOL = 1e-13
# A rate that needs more rounds than this (above ~0.9985) is too close to 1 to propagate here: the
# comparison is not checkable (it was compared unconverged and printed a false counterexample).
MAX_ITERATIONS = 20_000


def _random(inst: Instance):
    rp = getattr(inst.system, "random", None)
    if rp is None:
        raise NotApplicable("the claim is about a random protocol; the config has no protocol.random")
    return rp


def _derived(inst: Instance):
    """``(rc, Numeric, RandomMoments)`` of the config's random protocol (noise included)."""
    def make():
        from theory.protocol.random_compiler import compile_random
        from theory.protocol.random_description import from_numeric_random
        from theory.protocol.random_evaluation import moments, numeric

        rp = _random(inst)
        rs = from_numeric_random(rp)
        S = inst.system.noise_stack()
        noisy = {} if S is None else {a.name: S[k] for k, a in enumerate(inst.system.agents) if np.any(S[k])}
        rs = dataclasses.replace(rs, noisy=tuple(noisy))
        rc = compile_random(rs, derive_mean=False)  # the numbers need only the maps (fast, any size)
        nu = numeric(rc, {a.name: (a.M, a.w_star) for a in inst.system.agents}, noise=noisy)
        return rc, nu, moments(nu)
    return inst.get("random", make)


def rates(inst: Instance) -> tuple[float, float]:
    """The derived mean-square and mean rates of the config's random protocol (cached on ``inst``)."""
    _, _, m = _derived(inst)
    return m.contraction_rate, m.mean_rate


def _rounds(rate: float) -> int:
    """Rounds after which ``rate^T < ITERATION_TOL`` (plus a margin of 5)."""
    return 1 if rate <= 0 else int(np.ceil(np.log(ITERATION_TOL) / np.log(rate))) + 5


def _too_slow(rate: float) -> Outcome | None:
    T = _rounds(rate)
    if T <= MAX_ITERATIONS:
        return None
    return not_checkable(f"rate {rate:.6g} needs {T} propagated rounds (more than {MAX_ITERATIONS})")


def _propagated(inst: Instance, rate: float, second: bool = True):
    """Mean and covariance after enough rounds of the exact moment recursions, from the config's start
    (callers check :func:`_too_slow` first), or None when they still move after MAX_ITERATIONS rounds.

    At least :func:`_rounds` rounds, then until a round changes them (the mean only, unless ``second``:
    the second moment may diverge where the mean converges) by at most ITERATION_TOL (relative):
    ``rate^T`` alone does not bound a non-normal transient (a nilpotent round map has rate
    0 and moves the moments for as many rounds as its index)."""
    _, nu, _ = _derived(inst)
    rp = _random(inst)
    n = nu.Phi.shape[0]
    P = nu.P if nu.P is not None else np.tile(nu.law, (n, 1))
    z0 = np.asarray(rp.initial, dtype=float).reshape(-1)
    # w: the law of the alternative about to run (the config's first-round law: "initial" for a chain,
    # else stationary), propagated with the moments, so a chain started anywhere is checked from there
    w = np.asarray(rp.initial_law, dtype=float)
    q = np.array([w[l] * z0 for l in range(n)])
    Q = np.array([w[l] * np.outer(z0, z0) for l in range(n)])
    T = _rounds(rate)
    for t in range(1, MAX_ITERATIONS + 1):
        a = np.einsum("jab,jb->ja", nu.Phi, q) + w[:, None] * nu.psi
        B = (np.einsum("jab,jbc,jdc->jad", nu.Phi, Q, nu.Phi)
             + np.einsum("ja,jb->jab", np.einsum("jab,jb->ja", nu.Phi, q), nu.psi)
             + np.einsum("ja,jb->jab", nu.psi, np.einsum("jab,jb->ja", nu.Phi, q))
             + w[:, None, None] * (np.einsum("ja,jb->jab", nu.psi, nu.psi) + nu.N))
        q_new, Q_new = np.einsum("jl,ja->la", P, a), np.einsum("jl,jab->lab", P, B)
        w = P.T @ w
        moved = np.linalg.norm(q_new - q) / max(1.0, float(np.linalg.norm(q_new)))
        if second:
            moved += np.linalg.norm(Q_new - Q) / max(1.0, float(np.linalg.norm(Q_new)))
        q, Q = q_new, Q_new
        if t >= T and moved <= ITERATION_TOL:
            break
    else:
        return None
    mu = q.sum(axis=0)
    return mu, Q.sum(axis=0) - np.outer(mu, mu)


# --- R1 ------------------------------------------------------------------------------------------------
def _law(inst):
    rp = _random(inst)
    return always(f"{'Markov chain' if rp.markov else 'independent draws'} over {len(rp.alternatives)} "
                  "alternatives, laws validated by the parser")


def _mean_invertible(inst):
    _, nu, _ = _derived(inst)
    n, D = nu.Phi.shape[0], nu.Phi.shape[1]
    if nu.P is None:
        return invertible("I - E[Phi]", np.eye(D) - np.einsum("k,kij->ij", nu.law, nu.Phi))
    A = np.zeros((n * D, n * D))
    for l in range(n):
        for j in range(n):
            A[l * D:(l + 1) * D, j * D:(j + 1) * D] = nu.P[j, l] * nu.Phi[j]
    return invertible("I - [P_jl Phi_j]", np.eye(n * D) - A)


def _r1_mean_square(inst):
    _, _, m = _derived(inst)
    if not m.converges:
        return not_checkable(f"mean-square rate {m.contraction_rate:.6g} >= 1: the second moment diverges")
    slow = _too_slow(m.contraction_rate)
    if slow is not None:
        return slow
    got = _propagated(inst, m.contraction_rate)
    if got is None:
        return not_checkable(f"the propagated moments still move after {MAX_ITERATIONS} rounds")
    mu, C = got
    # C is E[z z^T] - mu mu^T: its round-off is relative to ||mu||^2, not to ||C|| (a large mean with a
    # tiny spread cancels ~16 digits); the difference is measured against the larger of the two.
    s = max(1.0, float(np.linalg.norm(mu)) ** 2)
    return close(f"propagated covariance vs the derived Stein solution (rate {m.contraction_rate:.4g}), in "
                 f"units of max(1, ||mu||^2) = {s:.3g}", C / s, m.covariance / s)


def _r1_mean(inst):
    _, _, m = _derived(inst)
    if not m.mean_converges:
        return not_checkable(f"mean rate {m.mean_rate:.6g} >= 1")
    slow = _too_slow(m.mean_rate)
    if slow is not None:
        return slow
    got = _propagated(inst, m.mean_rate, second=False)
    if got is None:
        return not_checkable(f"the propagated mean still moves after {MAX_ITERATIONS} rounds")
    mu = got[0]
    extra = "" if m.converges else f" (mean-square rate {m.contraction_rate:.4g} >= 1: only the mean converges)"
    return close(f"propagated mean vs the derived stationary mean{extra}", mu, m.mean)


R1 = Proposition("R1", "random", {"law": Piece(_law), "invertible": Piece(_mean_invertible)}, {
    "mean_square": Piece(_r1_mean_square, needs=("law",)), "mean": Piece(_r1_mean)})


# --- R2, R3 --------------------------------------------------------------------------------------------
def _ms_rate(inst):
    _, _, m = _derived(inst)
    return less_than_one("mean-square rate", m.contraction_rate)


def _noiseless(inst):
    S = inst.system.noise_stack()
    return Outcome(S is None or not np.any(S), "no agent adds noise" if S is None else "some agent adds noise")


def _deviations(inst) -> np.ndarray:
    """``||d_k|| = ||Phi_k mu + psi_k - mu||`` for the alternatives that can occur."""
    _, nu, m = _derived(inst)
    d = nu.Phi @ m.mean + nu.psi - m.mean
    return np.array([np.linalg.norm(x) for x, p in zip(d, nu.law) if p > 0])


def _no_moments(m, need_covariance: bool = True) -> Outcome | None:
    """Not checkable where the stationary covariance (or mean) does not exist: a rate >= 1, an instance
    outside the rate hypothesis (a2ad check still evaluates the conclusions there; no traceback)."""
    if m.mean is None:
        return not_checkable(f"mean rate {m.mean_rate:.6g} >= 1: no stationary mean")
    if need_covariance and m.covariance is None:
        return not_checkable(f"mean-square rate {m.contraction_rate:.6g} >= 1: no stationary covariance")
    return None


def _r2_invariance(inst):
    _, _, m = _derived(inst)
    missing = _no_moments(m)
    if missing is not None:
        return missing
    scale = max(1.0, float(np.abs(m.mean).max()))
    dev = float(_deviations(inst).max())
    tr = float(np.trace(m.covariance))
    zero_d, zero_c = dev <= REL_TOL * scale, tr <= REL_TOL * scale ** 2
    return Outcome(zero_d == zero_c, f"max_k ||d_k|| = {dev:.3g}, trace C = {tr:.3g}")


def _r2_same_average(inst):
    """Each alternative one phase with one listener, who hears the same row whenever it speaks."""
    from numerics.protocol.evaluate import fixed_points
    rp = _random(inst)
    rows: dict = {}
    for alt in rp.alternatives:
        if len(alt.phases) != 1 or len(alt.phases[0]) != 1:
            return not_checkable("an alternative is not one speaker")
        (i, row), = alt.phases[0]
        if rows.setdefault(i, tuple(row)) != tuple(row):
            return not_checkable(f"agent {rp.names[i]} hears different averages in different alternatives")
    if len(rows) != len(rp.names):
        return not_checkable("not every agent speaks")
    _, _, m = _derived(inst)
    missing = _no_moments(m, need_covariance=False)
    if missing is not None:
        return missing
    from numerics.protocol import spec as nproto
    phase = {rp.names[i]: {rp.names[j]: float(w) for j, w in row} for i, row in rows.items()}
    d = inst.system.d
    proto = nproto.build([phase], list(rp.names), d, np.zeros(d))
    M = np.stack([a.M for a in inst.system.agents])
    c = np.stack([a.c for a in inst.system.agents])
    W, mask = proto.weights()
    # the simultaneous protocol's fixed point solves (I - Phi) z = r; it need not attract (the random
    # speaker can contract in mean square where all speaking at once does not): no contraction check
    return close("stationary mean vs the simultaneous protocol's fixed point", m.mean,
                 fixed_points(M, c, W, mask, check=False).reshape(-1))


R2 = Proposition("R2", "random", {"rate": Piece(_ms_rate), "noiseless": Piece(_noiseless)}, {
    "invariance": Piece(_r2_invariance), "same_average": Piece(_r2_same_average)})


def _independent(inst):
    rp = _random(inst)
    return Outcome(not rp.markov, "a Markov chain over the alternatives" if rp.markov else "independent draws")


def _moved(inst):
    """``max_k ||d_k||`` over the alternatives that can occur (no stationary mean: the hypothesis fails)."""
    _, _, m = _derived(inst)
    if m.mean is None:
        return Outcome(False, f"mean rate {m.mean_rate:.6g} >= 1: no stationary mean")
    top = float(np.max(_deviations(inst), initial=0.0))
    return Outcome(top > BOUNDARY_TOL, f"max_k ||d_k|| = {top:.6g}", boundary=0 < top <= BOUNDARY_TOL)


def _r3_spread(inst):
    if _random(inst).markov:
        return not_checkable("the lower bound C >= sum_k p_k d_k d_k^T is stated for independent draws")
    _, nu, m = _derived(inst)
    missing = _no_moments(m)
    if missing is not None:
        return missing
    d = nu.Phi @ m.mean + nu.psi - m.mean
    lower = float(sum(p * x @ x for p, x in zip(nu.law, d)))
    tr = float(np.trace(m.covariance))
    ok = tr >= lower * (1 - REL_TOL) - REL_TOL and (lower <= REL_TOL or tr > 0)
    return Outcome(ok, f"trace C = {tr:.6g} >= sum_k p_k ||d_k||^2 = {lower:.6g}")


R3 = Proposition("R3", "random", {"rate": Piece(_ms_rate), "independent": Piece(_independent),
                                  "moved": Piece(_moved)}, {
    "spread": Piece(_r3_spread)})


# --- R4 ------------------------------------------------------------------------------------------------
def _two(inst):
    rp = _random(inst)
    shapes = sorted((alt.phases[0][0][0], tuple(alt.phases[0][0][1])) for alt in rp.alternatives
                    if len(alt.phases) == 1 and len(alt.phases[0]) == 1)
    ok = (len(rp.names) == 2 and len(rp.alternatives) == 2 and not rp.markov
          and shapes == [(0, ((1, 1.0),)), (1, ((0, 1.0),))])
    return Outcome(ok, "two alternatives: A hears B, B hears A (independent draws)" if ok else
                   "not the two-speaker random protocol")


def _rr_rate(inst) -> float:
    M = [a.M for a in inst.system.agents]
    return float(np.max(np.abs(np.linalg.eigvals(M[1] @ M[0]))))


def _stable(inst):
    r = _rr_rate(inst)
    return Outcome(r <= 1, f"rho(M_B M_A) = {r:.6g}", boundary=abs(r - 1) <= BOUNDARY_TOL)


def _r4_proved(inst):
    _, _, m = _derived(inst)
    rr = _rr_rate(inst) ** 0.5
    return Outcome(m.contraction_rate >= rr * (1 - REL_TOL),
                   f"random mean-square rate per turn {m.contraction_rate:.6g} >= round robin per turn {rr:.6g}")


R4 = Proposition("R4", "random", {"two_agents": Piece(_two), "stable": Piece(_stable)}, {
    "proved": Piece(_r4_proved),
    "refuted": Piece(lambda i: not_checkable("an existence (M_A = 9/10, M_B = -9/10, p = 1/2)"), needs=()),
    "conjecture": Piece(lambda i: not_checkable("a conjecture"), needs=())})

PROPOSITIONS = [R1, R2, R3, R4]
