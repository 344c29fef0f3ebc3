"""C1-C16 as propositions on the config's first two agents (round robin)."""
from __future__ import annotations

import numpy as np

from proofs_check.check import params as pp
from proofs_check.check.core import (
    MAX_ROUNDS,
    REL_TOL,
    Instance,
    Outcome,
    Param,
    Piece,
    Proposition,
    always,
    close,
    greater_than_one,
    invertible,
    less_than_one,
    nonzero,
    norm,
    not_checkable,
    rho,
    spd,
)
from proofs_check.check.pair import (
    DIVERGENCE_ROUNDS,
    Pair,
    divergence_round,
    fixed_points,
    pair,
    prompt_of,
    rounds_to_settle,
    simulate,
    unstable_projector,
    with_target,
)

# A vector counts as zero in an "iff" when its norm is below this share of ||Delta|| (the other side
# of the iff must then be below it too, up to the conditioning of I - M_A M_B).
ZERO_TOL = 1e-9


def _rate(inst: Instance) -> Outcome:
    P = pair(inst)
    return less_than_one("rho(M_A M_B)", rho(P.J_u))


def _invertible_I_J(inst: Instance) -> Outcome:
    P = pair(inst)
    return invertible("I - M_A M_B", np.eye(P.d) - P.J_u)


def _unsettled(J: np.ndarray) -> Outcome | None:
    """Not checkable when ``rho(J) < 1`` but its transient outlasts the round budget (None: it settles,
    or ``rho(J) >= 1`` and a simulation shows what happens)."""
    if rounds_to_settle(J) is None and rho(J) < 1:
        return Outcome(None, f"rho = {rho(J):.9g}: the transient outlasts {MAX_ROUNDS} rounds, not checkable")
    return None


def _plateau_gap(P: Pair, e_A: np.ndarray) -> tuple[float, float, int]:
    """Simulate until the transient of ``M_A M_B`` has died out; ``(| ||u_T - w_A*|| - ||e_A|| |, scale, T)``."""
    # u_(T+1) - u* = J_u^T (u_1 - u*): T + 1 rounds (T alone leaves u_T - u* = J_u^(T-1) (u_1 - u*), which is
    # u_1 - u* itself when J_u = 0; the falsifier found M_A = 1, M_B = 0, v_0 = 1 printed as a counterexample)
    T = (rounds_to_settle(P.J_u) or DIVERGENCE_ROUNDS) + 1
    us, _ = simulate(P.A, P.B, P.v0, T, stop_above=1e150)
    u = us[-1]
    if not np.all(np.isfinite(u)) or norm(u) > 1e150:
        return np.inf, 1.0, len(us)
    return abs(norm(u - P.w_A) - norm(e_A)), max(1.0, norm(e_A), norm(us[0] - P.w_A)), len(us)


# --- C1 -------------------------------------------------------------------------------------------

def _c1_diverge_rate(inst):
    return greater_than_one("rho(M_B M_A)", rho(pair(inst).J_v))


def _c1_v_star_exists(inst):
    P = pair(inst)
    return invertible("I - M_B M_A", np.eye(P.d) - P.J_v)


def _c1_component(inst):
    P = pair(inst)
    _, v_star = fixed_points(P)
    e0 = P.v0 - v_star
    return nonzero("P_unstable(M_B M_A) (v_0 - v*)", unstable_projector(P.J_v) @ e0, scale=norm(e0) * 1e3)


def _c1_converges(inst):
    P = pair(inst)
    slow = _unsettled(P.J_u)
    if slow is not None:
        return slow
    u_star, _ = fixed_points(P)
    T = (rounds_to_settle(P.J_u) or DIVERGENCE_ROUNDS) + 1  # u_(T+1) - u* = J_u^T (u_1 - u*), see _plateau_gap
    us, _ = simulate(P.A, P.B, P.v0, T, stop_above=1e150)
    err = norm(us[-1] - u_star)
    tol = REL_TOL * max(1.0, norm(us[0] - u_star), norm(u_star))
    return Outcome(bool(err <= tol), f"||u_T - u*|| = {err:.3g} after T = {len(us)} rounds (tolerance {tol:.3g})")


def _c1_diverges(inst):
    P = pair(inst)
    r = rho(P.J_v)
    if not r > 1:  # the sentence needs rho > 1; watching 1e5 rounds for a growth that cannot come costs seconds
        return Outcome(None, f"rho(M_B M_A) = {r:.6g} <= 1: no divergence to watch")
    u_star, v_star = fixed_points(P)
    start_u, start_v = norm(P.M_A @ (P.v0 - v_star)), norm(P.v0 - v_star)
    if start_u == 0 or start_v == 0:
        return Outcome(False, "u_1 = u* or v_0 = v*: no deviation to grow")
    t, ratio = divergence_round(P, start_u, start_v, u_star, v_star)
    if t is None:
        return Outcome(None, f"growth {ratio:.3g} after the round budget: a divergence this slow is not checkable")
    return Outcome(True, f"||u_t - u*|| and ||v_t - v*|| grew by more than 1e6 by round {t}")


C1 = Proposition("C1", "pair", {
    "rate": Piece(_rate),
    "unstable": Piece(_c1_diverge_rate),
    "fixed_point": Piece(_c1_v_star_exists),
    "component": Piece(_c1_component),
}, {
    "converges": Piece(_c1_converges, needs=("rate",)),
    "diverges": Piece(_c1_diverges, needs=("unstable", "fixed_point", "component")),
}, alternatives=True)


# --- C2, C3 -----------------------------------------------------------------------------------------

def _c2_fixed(inst):
    P = pair(inst)
    u, _ = fixed_points(P)
    return close("T_A(T_B(u*)) vs u*", P.A.respond(P.B.respond(u)), u)


def _c2_v_of_u(inst):
    P = pair(inst)
    u, v = fixed_points(P)
    return close("T_B(u*) vs v*", P.B.respond(u), v)


def _c2_u_of_v(inst):
    P = pair(inst)
    u, v = fixed_points(P)
    return close("T_A(v*) vs u*", P.A.respond(v), u)


C2 = Proposition("C2", "pair", {"invertible": Piece(_invertible_I_J)}, {
    "fixed_points": Piece(_c2_fixed), "v_star": Piece(_c2_v_of_u), "u_star": Piece(_c2_u_of_v)})


def _errors(P: Pair) -> tuple[np.ndarray, np.ndarray]:
    """C3's ``e_A = G_A Delta`` and ``e_B = -G_B Delta`` (the bias maps, not the fixed points)."""
    I = np.eye(P.d)
    e_A = np.linalg.solve(I - P.J_u, P.M_A @ P.K_B @ P.Delta)
    e_B = -np.linalg.solve(I - P.J_v, P.M_B @ P.K_A @ P.Delta)
    return e_A, e_B


def _c3_errors(inst):
    P = pair(inst)
    e_A, e_B = _errors(P)
    u, v = fixed_points(P)
    return close("(G_A Delta, -G_B Delta) vs (u* - w_A*, v* - w_B*)", np.r_[e_A, e_B], np.r_[u - P.w_A, v - P.w_B])


def _c3_coupling(inst):
    P = pair(inst)
    e_A, e_B = _errors(P)
    return close("(M_A (e_B + Delta), M_B (e_A - Delta)) vs (e_A, e_B)",
                 np.r_[P.M_A @ (e_B + P.Delta), P.M_B @ (e_A - P.Delta)], np.r_[e_A, e_B])


def _c3_plateau(inst):
    P = pair(inst)
    slow = _unsettled(P.J_u)
    if slow is not None:
        return slow
    e_A, _ = _errors(P)
    gap, scale, T = _plateau_gap(P, e_A)
    return Outcome(bool(gap <= REL_TOL * scale),
                   f"||e_A|| = {norm(e_A):.6g}; | ||u_T - w_A*|| - ||e_A|| | = {gap:.3g} after T = {T} rounds")


C3 = Proposition("C3", "pair", {"rate": Piece(_rate)}, {
    "errors": Piece(_c3_errors), "coupling": Piece(_c3_coupling), "plateau": Piece(_c3_plateau)})


# --- C4 ---------------------------------------------------------------------------------------------

def _e_A_with_gap(P: Pair, gap: np.ndarray) -> np.ndarray:
    """A's plateau when B's target is ``w_A* + gap`` (C2's fixed point of the modified pair)."""
    B = with_target(P.B, P.w_A + gap)
    u, _ = fixed_points(Pair(P.A, B, P.v0))
    return u - P.w_A


def _c4_zero(inst):
    P = pair(inst)
    e = _e_A_with_gap(P, np.zeros(P.d))
    return Outcome(bool(norm(e) <= REL_TOL * max(1.0, norm(P.w_A))), f"||e_A|| at Delta = 0: {norm(e):.3g}")


def _c4_linear(inst):
    P = pair(inst)
    base = norm(_e_A_with_gap(P, P.Delta))
    worst = 0.0
    for s in inst.params["s"]:
        worst = max(worst, abs(norm(_e_A_with_gap(P, s * P.Delta)) - abs(s) * base) / max(1.0, abs(s) * base))
    return Outcome(bool(worst <= REL_TOL), f"max over s of | ||e_A(s Delta)|| - |s| ||e_A|| | (relative) = {worst:.3g}")


def _c4_bounds(inst):
    P = pair(inst)
    G = np.linalg.solve(np.eye(P.d) - P.J_u, P.M_A @ P.K_B)
    sv = np.linalg.svd(G, compute_uv=False)
    e, n = norm(G @ P.Delta), norm(P.Delta)
    slack = REL_TOL * max(1.0, sv[0] * n)
    ok = sv[-1] * n - slack <= e <= sv[0] * n + slack
    return Outcome(bool(ok), f"{sv[-1] * n:.6g} <= ||e_A|| = {e:.6g} <= {sv[0] * n:.6g}")


def _c4_angle(inst):
    P = pair(inst)
    ra, rb = norm(P.w_A), norm(P.w_B)
    if abs(ra - rb) > REL_TOL * max(1.0, ra):
        return Outcome(None, f"targets of unequal norms {ra:.6g}, {rb:.6g}: the angle sentence does not apply")
    if ra == 0:
        return Outcome(True, "both targets 0: Delta = 0")
    theta = float(np.arccos(np.clip(P.w_A @ P.w_B / (ra * rb), -1, 1)))
    return close("||Delta|| vs 2 r sin(theta / 2)", norm(P.Delta), 2 * ra * np.sin(theta / 2))


C4 = Proposition("C4", "pair", {"rate": Piece(_rate)}, {
    "zero_gap": Piece(_c4_zero), "linear": Piece(_c4_linear), "bounds": Piece(_c4_bounds),
    "angle": Piece(_c4_angle)},
    {"s": Param("scale factors of Delta (list of numbers)", [-2.0, 0.5, 3.0], pp.reals)})


# --- C5 ---------------------------------------------------------------------------------------------

_MIX = (np.sqrt(5) - 1) / 2  # an irrational weight: K_A + MIX K_B separates the shared eigenvectors


def _basis(P: Pair):
    lam, V = np.linalg.eig(P.K_A + _MIX * P.K_B)
    Vi = np.linalg.inv(V)
    DA, DB = Vi @ P.K_A @ V, Vi @ P.K_B @ V
    return V, Vi, np.diag(DA), np.diag(DB), DA, DB


def _c5_shared(inst):
    P = pair(inst)
    V, Vi, a, b, DA, DB = _basis(P)
    off = max(norm(DA - np.diag(a)), norm(DB - np.diag(b)))
    cond = float(np.linalg.cond(V))
    scale = max(1.0, norm(P.K_A), norm(P.K_B))
    return Outcome(bool(off <= REL_TOL * scale and cond < 1e8),
                   f"off-diagonal of K_A, K_B in the eigenbasis of K_A + 0.618 K_B: {off:.3g} (cond V = {cond:.3g})")


def _c5_denominators(inst):
    P = pair(inst)
    _, _, a, b, _, _ = _basis(P)
    den = a + b - a * b
    m = float(np.min(np.abs(den)))
    return Outcome(bool(m > 0), f"min_k |a_k + b_k - a_k b_k| = {m:.6g}", boundary=m <= 1e-6)


def _c5_per_direction(inst):
    P = pair(inst)
    _, Vi, a, b, _, _ = _basis(P)
    den = a + b - a * b
    D = Vi @ P.Delta
    e_A, e_B = _errors(P)
    u, v = fixed_points(P)
    pred = np.r_[(1 - a) * b / den * D, -(1 - b) * a / den * D, -a * b / den * D]
    got = np.r_[Vi @ e_A, Vi @ e_B, Vi @ (u - v)]
    err = norm(pred - got) / max(1.0, norm(got))
    return Outcome(bool(err <= REL_TOL * 10), f"per-direction formulas vs C3 in the shared basis: {err:.3g}")


def _c5_rate(inst):
    P = pair(inst)
    _, _, a, b, _, _ = _basis(P)
    return close("max_k |(1 - a_k)(1 - b_k)| vs rho(M_A M_B)", float(np.max(np.abs((1 - a) * (1 - b)))), rho(P.J_u))


def _c5_extremes(inst):
    P = pair(inst)
    _, Vi, a, b, _, _ = _basis(P)
    e_A, _ = _errors(P)
    E, D = Vi @ e_A, Vi @ P.Delta
    seen, bad = 0, 0.0
    for k in range(P.d):
        if abs(a[k] - 1) <= REL_TOL:
            seen, bad = seen + 1, max(bad, abs(E[k]) / max(1.0, abs(D[k])))
        elif abs(a[k]) <= REL_TOL and abs(b[k]) > REL_TOL:
            seen, bad = seen + 1, max(bad, abs(E[k] - D[k]) / max(1.0, abs(D[k])))
    if not seen:
        return Outcome(None, "no direction with a_k = 0 or a_k = 1 on this instance")
    return Outcome(bool(bad <= REL_TOL * 10), f"{seen} extreme direction(s), worst deviation {bad:.3g}")


C5 = Proposition("C5", "pair", {"shared_eigenbasis": Piece(_c5_shared), "denominators": Piece(_c5_denominators)}, {
    "per_direction": Piece(_c5_per_direction), "rate": Piece(_c5_rate), "extremes": Piece(_c5_extremes)})


# --- C6 ---------------------------------------------------------------------------------------------

def _c6_shared(inst):
    P = pair(inst)
    same = norm(P.A.Gamma - P.B.Gamma) <= REL_TOL * max(1.0, norm(P.A.Gamma))
    out = spd("Gamma", P.A.Gamma)
    sym = all(norm(a.geometry.H - a.geometry.H.T) <= REL_TOL * max(1.0, norm(a.geometry.H)) for a in (P.A, P.B))
    return Outcome(bool(same and out.holds and sym), f"Gamma_A = Gamma_B: {same}; {out.value}", boundary=out.boundary)


def _c6_bound(inst):
    P = pair(inst)
    r, ra, rb = rho(P.J_u), rho(P.M_A), rho(P.M_B)
    return Outcome(bool(r <= ra * rb * (1 + REL_TOL) + REL_TOL),
                   f"rho(M_A M_B) = {r:.6g} <= rho(M_A) rho(M_B) = {ra * rb:.6g}")


def _c6_witness(inst):
    P = pair(inst)
    return not_checkable(f"this pair: rho(M_A) = {rho(P.M_A):.4g}, rho(M_B) = {rho(P.M_B):.4g}, "
                         f"rho(M_A M_B) = {rho(P.J_u):.4g}")


C6 = Proposition("C6", "pair", {"shared_gamma": Piece(_c6_shared)}, {
    "unbounded": Piece(_c6_witness, needs=()), "bound": Piece(_c6_bound, needs=("shared_gamma",))})


# --- C7 ---------------------------------------------------------------------------------------------

def _one_step(agent) -> np.ndarray:
    return np.eye(agent.d) - agent.Gamma @ agent.geometry.H


def _c7_rate_single(inst):
    return less_than_one("rho(M_A) (one step)", rho(_one_step(pair(inst).A)))


def _c7_affine(inst):
    P = pair(inst)
    w = np.random.default_rng(0).standard_normal(P.d)
    Ms = np.linalg.matrix_power(_one_step(P.A), P.A.steps)
    return close(f"T_A^s(w) vs M_A^s w + (I - M_A^s) w_A* (s = {P.A.steps})", P.A.respond(w),
                 Ms @ w + (np.eye(P.d) - Ms) @ P.w_A)


def _c7_limit(inst):
    P = pair(inst)
    s = max(inst.params["s"])
    A = type(P.A)(P.A.name, P.A.geometry, P.A.Gamma, s)
    e_A, e_B = _errors(Pair(A, P.B, P.v0))
    return not_checkable(f"at s_A = {s}: ||e_A|| = {norm(e_A):.3g}, ||e_B + M_B Delta|| = "
                         f"{norm(e_B + P.M_B @ P.Delta):.3g}")


C7 = Proposition("C7", "pair", {"rate": Piece(_rate), "rate_one_step": Piece(_c7_rate_single)}, {
    "affine": Piece(_c7_affine, needs=()), "plateau": Piece(_c3_plateau, needs=("rate",)),
    "limit": Piece(_c7_limit, needs=("rate_one_step",))},
    {"s": Param("steps per turn of A reported for the limit s_A -> infinity (list)", [1, 10, 100], pp.steps_list)})


# --- C8 ---------------------------------------------------------------------------------------------

def _is_zero(x, P: Pair, slack: float = 1.0) -> bool:
    return norm(x) <= ZERO_TOL * slack * max(1.0, norm(P.Delta))


def _zero_iff_zero(e, x, P: Pair) -> bool:
    """``e = 0`` iff ``x = 0``, both ways, with a band: a side counts as zero strictly, the other side
    loosely (within the conditioning of ``I - J_u``)."""
    c = _cond(P) * 10
    return (not _is_zero(e, P) or _is_zero(x, P, c)) and (not _is_zero(x, P) or _is_zero(e, P, c))


def _cond(P: Pair) -> float:
    return float(np.linalg.cond(np.eye(P.d) - P.J_u))


def _c8_iff_A(inst):
    P = pair(inst)
    e_A, _ = _errors(P)
    x = P.M_A @ P.K_B @ P.Delta
    return Outcome(_zero_iff_zero(e_A, x, P), f"||e_A|| = {norm(e_A):.3g}, ||M_A K_B Delta|| = {norm(x):.3g}")


def _c8_iff_both(inst):
    P = pair(inst)
    e_A, e_B = _errors(P)
    x = np.r_[P.M_A @ P.K_B @ P.Delta, P.M_B @ P.K_A @ P.Delta]
    e = np.r_[e_A, e_B]
    return Outcome(_zero_iff_zero(e, x, P),
                   f"||(e_A, e_B)|| = {norm(e):.3g}, ||(M_A K_B Delta, M_B K_A Delta)|| = {norm(x):.3g}")


def _c8_loser(inst):
    P = pair(inst)
    e_A, e_B = _errors(P)
    if not _is_zero(e_A, P):
        return Outcome(True, f"e_A != 0 (||e_A|| = {norm(e_A):.3g}): nothing to check")
    return close("e_B vs -M_B Delta", e_B, -P.M_B @ P.Delta, tol=REL_TOL * max(1.0, _cond(P)))


C8 = Proposition("C8", "pair", {"invertible": Piece(_invertible_I_J)}, {
    "iff_A": Piece(_c8_iff_A), "iff_both": Piece(_c8_iff_both), "loser": Piece(_c8_loser)})


# --- C9, C10, C11 -------------------------------------------------------------------------------------

def _gamma_A_spd(inst):
    return spd("Gamma_A", pair(inst).A.Gamma)


def _c9_attacker(inst):
    from numerics.interventions.attacks import full_rank_prompt

    P = pair(inst)
    def make():
        prompt = full_rank_prompt(P.A.Gamma, P.w_A, _c9_size(inst), np.random.default_rng(inst.params["seed"]))
        return prompt.agent(P.A.Gamma)
    return inst.get("c9", make)


def _c9_size(inst) -> int:
    N = inst.params["N"]
    return pair(inst).d if N is None else N


def _c9_N(inst):
    P = pair(inst)
    N = _c9_size(inst)
    return Outcome(N >= P.d, f"N = {N}, d = {P.d}")


def _c9_exact(inst):
    P = pair(inst)
    A = _c9_attacker(inst)
    w = np.random.default_rng(1).standard_normal(P.d) * (1 + norm(P.w_A))
    return close("attacker's reply to a random message vs w_A*", A.respond(w), P.w_A)


def _c9_loser(inst):
    P = pair(inst)
    A = _c9_attacker(inst)
    _, vs = simulate(A, P.B, P.v0, 2)
    return close("v_2 - w_B* vs -M_B Delta", vs[-1] - P.w_B, -P.M_B @ P.Delta)


def _c9_rate(inst):
    P = pair(inst)
    A = _c9_attacker(inst)
    r = rho(A.M @ P.M_B)
    return Outcome(bool(r <= REL_TOL * max(1.0, norm(P.M_B))), f"rho(M_A M_B) with the attacker = {r:.3g}")


C9 = Proposition("C9", "pair", {"gamma_spd": Piece(_gamma_A_spd), "N_ge_d": Piece(_c9_N)}, {
    "exact": Piece(_c9_exact), "loser": Piece(_c9_loser), "rate": Piece(_c9_rate)},
    {"N": Param("number of examples in the attack prompt (default d)", None, pp.positive_int),
     "seed": Param("seed of the orthonormal U", 0, pp.positive_int)})


def _c10_attacker(inst):
    from numerics.interventions.attacks import rank_one_prompt

    P = pair(inst)
    return inst.get("c10", lambda: rank_one_prompt(P.A.Gamma, P.M_B, P.w_A, P.w_B, inst.params["N"]).agent(P.A.Gamma))


def _c10_g(inst):
    P = pair(inst)
    return nonzero("g = K_B Delta", P.K_B @ P.Delta, scale=norm(P.Delta))


def _c10_rate(inst):
    P = pair(inst)
    return less_than_one("rho(M_A M_B) with the attacker", rho(_c10_attacker(inst).M @ P.M_B))


def _c10_Kg(inst):
    P = pair(inst)
    A = _c10_attacker(inst)
    g = P.K_B @ P.Delta
    Kg = g - (A.respond(g) - A.respond(np.zeros(P.d)))  # K g = g - M g, M g read off two GD replies
    return close("K_A g vs g", Kg, g)


def _c10_zero(inst):
    P = pair(inst)
    A = _c10_attacker(inst)
    u, _ = fixed_points(Pair(A, P.B, P.v0))
    e = norm(u - P.w_A)
    # the fixed point is solved from c_B = K_B w_B*: round-off scales with ||K_B|| ||w*|| (VF found K_B = 1e9,
    # s_B = 3, where ||e_A|| = 3.6e-7 was read as a counterexample against a bar of ||Delta||)
    scale = max(1.0, norm(P.Delta), norm(P.K_B) * max(norm(P.w_A), norm(P.w_B)))
    tol = REL_TOL * scale * float(np.linalg.cond(np.eye(P.d) - A.M @ P.M_B))
    return Outcome(bool(e <= tol), f"||e_A|| = {e:.3g} (tolerance {tol:.3g})")


C10 = Proposition("C10", "pair", {"gamma_spd": Piece(_gamma_A_spd), "g_nonzero": Piece(_c10_g),
                                  "rate": Piece(_c10_rate)}, {
    "K_A_g": Piece(_c10_Kg), "e_A_zero": Piece(_c10_zero)},
    {"N": Param("number of (identical) rows of the attack prompt", 1, pp.positive_int)})


def _c11_MA(inst):
    P = pair(inst)
    n = norm(P.M_A)
    return Outcome(bool(n <= 1e-9), f"||M_A|| = {n:.3g} (M_A = 0 within 1e-9)")


def _c11_MB(inst):
    return invertible("M_B", pair(inst).M_B)


def _c11_v_star(inst):
    P = pair(inst)
    _, v = fixed_points(P)
    return close("v* vs M_B w_A* + K_B w_B*", v, P.M_B @ P.w_A + P.K_B @ P.w_B, tol=REL_TOL * 10)


def _c11_steer(inst):
    P = pair(inst)
    p = inst.params["p"]
    p = np.zeros(P.d) if p is None else p
    w = np.linalg.solve(P.M_B, p - P.K_B @ P.w_B)
    _, v = fixed_points(Pair(with_target(P.A, w), P.B, P.v0))
    return close("v* with the target M_B^{-1}(p - K_B w_B*) vs p", v, p, tol=REL_TOL * 10)


C11 = Proposition("C11", "pair", {"M_A_zero": Piece(_c11_MA), "M_B_invertible": Piece(_c11_MB)}, {
    "v_star": Piece(_c11_v_star), "steer": Piece(_c11_steer)},
    {"p": Param("the point p where B's equilibrium is put (default 0)", None, pp.vector, "d")})


# --- C12, C13: the Newton helper -----------------------------------------------------------------

def _helper_run(inst, Hhat, T: int):
    from numerics.interventions.helper_policies import NewtonPolicy, RelabellingHelper

    P = pair(inst)
    X_B, _ = prompt_of(P.B)
    policy = NewtonPolicy(P.A.geometry.H, P.A.geometry.b, inst.params["alpha"], Hhat)
    helper = RelabellingHelper(P.B.name, X_B, P.B.Gamma, policy, P.B.steps)
    us, _ = simulate(P.A, helper, P.v0, T, stop_above=1e150)
    return us


def _K_B_inv(inst):
    return invertible("K_B", pair(inst).K_B)


def _H_A_inv(inst):
    return invertible("H_A", pair(inst).A.geometry.H)


def _alpha_range(inst):
    a = inst.params["alpha"]
    return Outcome(0 < a < 2, f"alpha = {a:g}", boundary=min(abs(a), abs(a - 2)) <= 1e-12)


def _newton_map(inst, Hhat):
    """The error map: C12's ``(1 - alpha) M_A``; C13's ``M_A (I - alpha Hhat^{-1} H_A)``."""
    P = pair(inst)
    a = inst.params["alpha"]
    if Hhat is None:
        return (1 - a) * P.M_A
    return P.M_A @ (np.eye(P.d) - a * np.linalg.solve(Hhat, P.A.geometry.H))


def _hhat(inst):
    return inst.params.get("Hhat")


def _recursion(inst):
    P = pair(inst)
    L = _newton_map(inst, _hhat(inst))
    us = _helper_run(inst, _hhat(inst), 6)
    errs = us - P.w_A
    worst = max(norm(errs[t + 1] - L @ errs[t]) / max(1.0, norm(errs[t])) for t in range(len(errs) - 1))
    return Outcome(bool(worst <= REL_TOL), f"max_t ||(u_(t+1) - w_A*) - L (u_t - w_A*)|| (relative) = {worst:.3g}")


HELPER_ROUNDS = 20_000  # the helper relabels a prompt every turn: its simulations are kept shorter


def _no_plateau(inst):
    P = pair(inst)
    L = _newton_map(inst, _hhat(inst))
    T = rounds_to_settle(L, limit=HELPER_ROUNDS)
    if T is None and rho(L) < 1:
        return Outcome(None, f"rate {rho(L):.9g}: the transient outlasts {HELPER_ROUNDS} rounds, not checkable")
    T = T or DIVERGENCE_ROUNDS
    us = _helper_run(inst, _hhat(inst), T + 1)
    err = norm(us[-1] - P.w_A)
    tol = REL_TOL * max(1.0, norm(us[0] - P.w_A), norm(P.w_A))
    if len(us) < T + 1 or not np.isfinite(err):
        return Outcome(False, f"the messages left every bound by round {len(us)}")
    return Outcome(bool(err <= tol), f"||u_T - w_A*|| = {err:.3g} after T = {T + 1} rounds (rate {rho(L):.6g})")


def _exact_alpha_one(inst):
    P = pair(inst)
    if inst.params["alpha"] != 1:
        return Outcome(None, "alpha != 1: the one-round sentence is about alpha = 1")
    us = _helper_run(inst, None, 2)
    return close("u_2 vs w_A*", us[1], P.w_A)


def _c12_rate(inst):
    P = pair(inst)
    return less_than_one("|1 - alpha| rho(M_A)", abs(1 - inst.params["alpha"]) * rho(P.M_A))


C12 = Proposition("C12", "pair", {"K_B_invertible": Piece(_K_B_inv), "H_A_invertible": Piece(_H_A_inv),
                                  "alpha_range": Piece(_alpha_range), "rate": Piece(_c12_rate)}, {
    "recursion": Piece(_recursion, needs=("K_B_invertible", "H_A_invertible", "alpha_range")),
    "no_plateau": Piece(_no_plateau), "exact_one_round": Piece(_exact_alpha_one)},
    {"alpha": Param("the helper's damping", 1.0, pp.real)})


def _c13_curvature(inst) -> np.ndarray:
    H = inst.params.get("Hhat")
    return pair(inst).A.geometry.H if H is None else H


def _c13_hhat_inv(inst):
    return invertible("Hhat", _c13_curvature(inst))


def _c13_rate(inst):
    return less_than_one("rho(M_A (I - alpha Hhat^{-1} H_A))", rho(_newton_map(inst, _c13_curvature(inst))))


def _parse_hhat(name, value):
    return pp.matrix(name, value)


C13 = Proposition("C13", "pair", {"K_B_invertible": Piece(_K_B_inv), "Hhat_invertible": Piece(_c13_hhat_inv),
                                  "alpha_range": Piece(_alpha_range), "rate": Piece(_c13_rate)}, {
    "recursion": Piece(_recursion, needs=("K_B_invertible", "Hhat_invertible", "alpha_range")),
    "no_plateau": Piece(_no_plateau)},
    {"alpha": Param("the helper's damping", 1.0, pp.real),
     "Hhat": Param("the curvature estimate (d x d matrix; default H_A)", None, _parse_hhat, "d")})


# --- C14, C14b ----------------------------------------------------------------------------------------

def _K_A_inv(inst):
    return invertible("K_A", pair(inst).K_A)


def _probes(P: Pair) -> np.ndarray:
    return np.vstack([P.v0, P.v0 + np.eye(P.d)])


def _c14_exact(inst):
    from numerics.interventions.helper_policies import IdentificationPolicy, RelabellingHelper

    P = pair(inst)
    X_B, _ = prompt_of(P.B)
    helper = RelabellingHelper(P.B.name, X_B, P.B.Gamma, IdentificationPolicy(_probes(P)), P.B.steps)
    us, _ = simulate(P.A, helper, P.v0, P.d + 2)
    tol = REL_TOL * float(np.linalg.cond(P.K_A)) * max(1.0, norm(P.w_A), norm(P.v0) + 1)
    err = norm(us[P.d + 1] - P.w_A)
    return Outcome(bool(err <= tol), f"||u_(d+2) - w_A*|| = {err:.3g} (tolerance {tol:.3g})")


C14 = Proposition("C14", "pair", {"K_A_invertible": Piece(_K_A_inv), "K_B_invertible": Piece(_K_B_inv),
                                  "probes": Piece(lambda i: always("probes v_0, v_0 + e_1, ..., v_0 + e_d")),
                                  "noise_free": Piece(lambda i: always("GD agents reply without noise"))}, {
    "exact": Piece(_c14_exact)})


def _broyden(inst):
    """Broyden's good method on A's map in mpmath at ``dps`` digits: ``(well_defined, steps, error)``."""
    import mpmath as mp

    from numerics.interventions.helper_policies import BroydenPolicy

    def make():
        P = pair(inst)
        dps = inst.params["dps"]
        with mp.workdps(dps):
            M, c = mp.matrix(P.M_A.tolist()), mp.matrix(P.A.c.tolist())
            try:
                w = mp.lu_solve(mp.eye(P.d) - M, c)
            except (ZeroDivisionError, TypeError):  # K_A = I - M_A singular: mpmath's LU fails (TypeError, seen by VF)
                return False, 0, None
            pol = BroydenPolicy(P.v0, dps)
            tol = mp.mpf(10) ** (-(dps // 2)) * max(1, mp.norm(w))
            for k in range(1, 2 * P.d + 1):
                try:
                    v = pol.observe(M * pol.v + c)
                except ZeroDivisionError:
                    return False, k, None
                if mp.norm(v - w) <= tol:
                    return True, k, float(mp.norm(v - w))
            return True, None, float(mp.norm(pol.v - w))
    return inst.get("broyden", make)


def _c14b_defined(inst):
    ok, k, _ = _broyden(inst)
    if k == 0:
        return Outcome(False, "K_A singular: no w_A* for Broyden to reach")
    return Outcome(ok, "every Broyden step solvable" if ok else f"singular Broyden matrix at step {k}")


def _c14b_terminates(inst):
    _, k, err = _broyden(inst)
    d = pair(inst).d
    if k == 0:
        return Outcome(False, "K_A singular: no w_A* for Broyden to reach")
    if k is None:
        return Outcome(False, f"not at w_A* after 2d = {2 * d} Broyden steps (error {err:.3g})")
    return Outcome(True, f"at w_A* after {k} Broyden steps (one reply of A each), 2d = {2 * d}")


C14b = Proposition("C14b", "pair", {"K_A_invertible": Piece(_K_A_inv),
                                    "exact_arithmetic": Piece(lambda i: always(
                                        f"mpmath at {i.params['dps']} digits, termination read at half of them")),
                                    "well_defined": Piece(_c14b_defined)}, {
    "terminates": Piece(_c14b_terminates)},
    {"dps": Param("mpmath digits standing in for exact arithmetic", 60, pp.positive_int)})


# --- C16 ----------------------------------------------------------------------------------------------

def _c16_errors(inst) -> list[tuple[int, float, float]]:
    """``(s, ||e_B(s)||, ||M_B^s||)`` against an exact attacker: A always sends ``w_A*``, so B's plateau is
    its reply with s steps, ``T_B^s(w_A*) - w_B*``."""
    P = pair(inst)
    M1 = _one_step(P.B)
    out = []
    for s in inst.params["s"]:
        B = type(P.B)(P.B.name, P.B.geometry, P.B.Gamma, s)
        out.append((s, norm(B.respond(P.w_A) - P.w_B), norm(np.linalg.matrix_power(M1, s))))
    return out


def _c16_rate(inst):
    return less_than_one("rho(M_B) (one step)", rho(_one_step(pair(inst).B)))


def _c16_bound(inst):
    n = norm(pair(inst).Delta)
    rows = _c16_errors(inst)
    ok = all(e <= m * n * (1 + REL_TOL) + REL_TOL * n for _, e, m in rows)
    return Outcome(ok, "; ".join(f"s={s}: ||e_B|| = {e:.4g} <= {m * n:.4g}" for s, e, m in rows))


def _c16_submult(inst):
    P = pair(inst)
    m1 = norm(_one_step(P.B))
    rows = _c16_errors(inst)
    ok = all(m <= m1 ** s * (1 + REL_TOL) for s, _, m in rows)
    return Outcome(ok, f"||M_B|| = {m1:.4g}; " + "; ".join(f"||M_B^{s}|| = {m:.4g}" for s, _, m in rows))


def _c16_limit(inst):
    rows = _c16_errors(inst)
    return not_checkable("; ".join(f"s={s}: ||e_B|| = {e:.4g}" for s, e, _ in rows))


C16 = Proposition("C16", "pair", {
    "exact_attacker": Piece(lambda i: always("A sends w_A* every turn (M_A = 0)")),
    "rate": Piece(_c16_rate)}, {
    "bound": Piece(_c16_bound, needs=("exact_attacker",)), "bound_decay": Piece(_c16_submult, needs=()),
    "limit": Piece(_c16_limit)},
    {"s": Param("B's steps per turn (list)", [1, 2, 3, 4], pp.steps_list)})


PROPOSITIONS = [C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C14b, C16]
