"""VS for the registered formulas: each formula the macros file and the docs print, read from the registry
(:func:`theory.core.formulas.all_formulas`, the object that is typeset), evaluated numerically and compared
with an independent reference that never evaluates a closed form (issue 22, item 5).

References: the agents' affine maps ``T_i(w) = M_i w + K_i w_i*`` iterated (one round, s steps, rounds until
settled), bias maps probed column by column from simulated plateaus, least squares by LAPACK (``lstsq``),
an implied target as the point a fitted map settles at. A wrong registered formula (a swapped factor, a
dropped term, a flipped sign) is an O(1) error against the bar :data:`BAR`. Package extension.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy as sp

from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger

__all__ = ["BAR", "REFERENCES", "formulas_method"]

# Formulas evaluated in float64 against simulations settled to rho^t < 1e-15 at rho <= RHO_MAX: agreement
# ~1e-13 (conditioning of I - M_A M_B <= 1 / (1 - RHO_MAX) = 5); 1e-9 (the V4 bar) leaves headroom.
BAR = 1e-9
RHO_MAX = 0.8
SETTLE = 200  # 0.8^200 < 1e-19
LIMIT_STEPS = 400  # A's steps per turn standing in for s_A -> infinity: rho(M_A)^400 <= 0.8^400 < 1e-38


def _registered(fid: str):
    from theory.core.formulas import all_formulas

    return all_formulas()[fid]


def _eval(fid: str, env: dict, scalars: dict | None = None) -> np.ndarray:
    """The registered formula's right-hand side at concrete matrices ``env`` (by symbol name)."""
    from theory.core import model

    rhs = _registered(fid).rhs
    if scalars:
        rhs = rhs.subs({sp.Symbol(k): v for k, v in scalars.items()})
    return np.asarray(model.evaluate(rhs, env, model.numpy_ops()), dtype=float)


def _pair(rng: np.random.Generator, d: int):
    """A random GD pair (SPD H, preconditioners I / lambda_max scaled) with rho(M_A M_B), rho(M_A) <= RHO_MAX."""
    for _ in range(1000):
        Ms, Ks = [], []
        for _ in range(2):
            X = rng.standard_normal((d, d))
            H = X @ X.T / d + 0.2 * np.eye(d)
            G = rng.uniform(0.3, 1.5) / np.max(np.linalg.eigvalsh(H)) * (np.eye(d) + 0.2 * rng.standard_normal((d, d)))
            Ms.append(np.eye(d) - G @ H)
            Ks.append(G @ H)
        rad = lambda X: float(np.max(np.abs(np.linalg.eigvals(X))))  # noqa: E731
        if rad(Ms[0] @ Ms[1]) <= RHO_MAX and rad(Ms[0]) <= RHO_MAX:
            w = rng.standard_normal((2, d))
            return Ms, Ks, w
    raise RuntimeError("no stable pair drawn")


def _T(M, K, w_star, steps: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """The agent's turn: its map iterated ``steps`` times, composed once into ``w -> M_s w + c_s``
    (the iteration applied to the matrix and the offset, so a turn of many steps costs one product)."""
    M_s, c_s = np.eye(M.shape[0]), np.zeros(M.shape[0])
    for _ in range(steps):
        M_s, c_s = M @ M_s, M @ c_s + K @ w_star
    return lambda w: M_s @ w + c_s


def _plateau(Ms, Ks, w, steps=(1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """(u*, v*) where the round robin settles: B hears A's message, A hears B's; rounds start at A."""
    TA, TB = _T(Ms[0], Ks[0], w[0], steps[0]), _T(Ms[1], Ks[1], w[1], steps[1])
    u = np.zeros(w.shape[1])
    for _ in range(SETTLE):
        v = TB(u)
        u = TA(v)
    return u, TB(u)


def _env(Ms, Ks, w) -> dict:
    col = lambda x: x.reshape(-1, 1)  # noqa: E731
    return {"M_A": Ms[0], "M_B": Ms[1], "K_A": Ks[0], "K_B": Ks[1], "w^*_A": col(w[0]), "w^*_B": col(w[1])}


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-300)) if a.shape == b.shape else math.inf


def _round_maps(rng, d) -> dict[str, float]:
    Ms, Ks, w = _pair(rng, d)
    env, x = _env(Ms, Ks, w), rng.standard_normal(d)
    TA, TB = _T(Ms[0], Ks[0], w[0]), _T(Ms[1], Ks[1], w[1])
    return {"C1.round_map_A": _rel(_eval("C1.round_map_A", {**env, "u_t": x[:, None]}), TA(TB(x))),
            "C1.round_map_B": _rel(_eval("C1.round_map_B", {**env, "v_{t-1}": x[:, None]}), TB(TA(x)))}


def _rate(rng, d) -> dict[str, float]:
    """C1's registered rate ``spectral_radius(X)``: its matrix ``X`` evaluated, against the spectral radius (LAPACK)
    of A's round map ``u -> T_A(T_B(u))`` probed column by column from simulated turns."""
    from theory.core import model

    Ms, Ks, w = _pair(rng, d)
    rhs = _registered("C1.contraction_rate").rhs
    if getattr(rhs.func, "__name__", "") != "spectral_radius":
        return {"C1.contraction_rate": math.inf}
    X = np.asarray(model.evaluate(rhs.args[0], _env(Ms, Ks, w), model.numpy_ops()), dtype=float)
    TA, TB = _T(Ms[0], Ks[0], w[0]), _T(Ms[1], Ks[1], w[1])
    zero = TA(TB(np.zeros(d)))
    Phi = np.stack([TA(TB(e)) - zero for e in np.eye(d)], axis=1)
    want = float(np.max(np.abs(np.linalg.eigvals(Phi))))
    got = float(np.max(np.abs(np.linalg.eigvals(X))))
    return {"C1.contraction_rate": abs(got - want) / max(want, 1e-300)}


def _fixed_points(rng, d) -> dict[str, float]:
    Ms, Ks, w = _pair(rng, d)
    env = _env(Ms, Ks, w)
    u, v = _plateau(Ms, Ks, w)
    out = {"C2.fixed_point_A": _rel(_eval("C2.fixed_point_A", env), u),
           "C2.fixed_point_B": _rel(_eval("C2.fixed_point_B", env), v),
           "C3.residual_A": _rel(_eval("C3.residual_A", env), u - w[0]),
           "C3.residual_B": _rel(_eval("C3.residual_B", env), v - w[1])}
    # bias maps probed: w_A* = 0, w_B* = e_k (Delta = e_k) gives column k of G_A and of -G_B
    GA, GB = np.empty((d, d)), np.empty((d, d))
    for k in range(d):
        wk = np.zeros((2, d))
        wk[1, k] = 1.0
        uk, vk = _plateau(Ms, Ks, wk)
        GA[:, k], GB[:, k] = uk, -(vk - wk[1])
    out["C3.bias_map_A"] = _rel(_eval("C3.bias_map_A", env), GA)
    out["C3.bias_map_B"] = _rel(_eval("C3.bias_map_B", env), GB)
    return out


def _steps(rng, d) -> dict[str, float]:
    Ms, Ks, w = _pair(rng, d)
    env, x = _env(Ms, Ks, w), rng.standard_normal(d)
    errs = [_rel(_eval("C7.s_steps", {**env, "w": x[:, None]}, {"s": s}), _T(Ms[0], Ks[0], w[0], s)(x))
            for s in (1, 2, 3, 5)]
    u, v = _plateau(Ms, Ks, w, steps=(LIMIT_STEPS, 1))
    return {"C7.s_steps": max(errs), "C7.limit_residual_B": _rel(_eval("C7.limit_residual_B", env), v - w[1])}


def _steering(rng, d) -> dict[str, float]:
    Ms, Ks, w = _pair(rng, d)
    p = rng.standard_normal(d)
    wA = _eval("C11.steering_target", {**_env(Ms, Ks, w), "p": p[:, None]})[:, 0]
    # C11's hypothesis M_A = 0: an exact attacker (K_A = I) with the target plugged in; B must settle at p
    exact = [np.zeros((d, d)), Ms[1]], [np.eye(d), Ks[1]]
    _, v = _plateau(*exact, np.stack([wA, w[1]]))
    return {"C11.steering_target": _rel(v, p)}


def _fitting(rng, d) -> dict[str, float]:
    n = d + 1 + int(rng.integers(0, 6))
    Z = np.vstack([rng.standard_normal((d, n)), np.ones((1, n))])
    Y = rng.standard_normal((d, n))
    theta = np.linalg.lstsq(Z.T, Y.T, rcond=None)[0].T  # LAPACK least squares, no normal equations
    M = rng.standard_normal((d, d))
    M *= 0.7 / np.linalg.norm(M, 2)
    c = rng.standard_normal(d)
    w = np.zeros(d)
    for _ in range(SETTLE):  # where the fitted map settles: its implied target
        w = M @ w + c
    return {"C18.least_squares_map": _rel(_eval("C18.least_squares_map", {"Y": Y, "Z": Z}), theta),
            "C18.implied_target": _rel(_eval("C18.implied_target", {"Mhat": M, "chat": c[:, None]}), w)}


def _helpers(rng, d) -> dict[str, float]:
    """C12/C13: the helper B relabelled by the registered target must emit the message (B's GD step iterated
    with that target), and A's reply to the (oracle or inexact) Newton message gives the registered error."""
    def gd_agent():
        X = rng.standard_normal((d, d))
        H = X @ X.T / d + 0.2 * np.eye(d)
        return H, rng.uniform(0.3, 1.5) / np.max(np.linalg.eigvalsh(H)) * np.eye(d)

    (H_A, G_A), (H_B, G_B) = gd_agent(), gd_agent()
    w_A, u = rng.standard_normal(d), rng.standard_normal(d)
    alpha = float(rng.choice([rng.uniform(0.2, 0.9), rng.uniform(1.1, 1.8)]))  # 1 - alpha away from 0 (relative error)
    E = rng.standard_normal((d, d))
    Hhat = H_A + 0.1 * (E + E.T)
    step = lambda H, G, target: (lambda w: w - G @ (H @ w - H @ target))  # noqa: E731 - one GD step
    col = lambda x: x.reshape(-1, 1)  # noqa: E731
    n = u - alpha * (u - w_A)  # the oracle Newton message (C12's definition)
    n_inexact = u - alpha * np.linalg.solve(Hhat, H_A @ (u - w_A))  # C13's
    env = {"M_A": np.eye(d) - G_A @ H_A, "M_B": np.eye(d) - G_B @ H_B, "K_B": G_B @ H_B, "u_t": col(u),
           "w^*_A": col(w_A), "n_t": col(n), "Hhat": Hhat, "H_A": H_A}
    w_B = _eval("C12.helper_relabel", env)[:, 0]
    return {"C12.helper_relabel": _rel(step(H_B, G_B, w_B)(u), n),
            "C12.newton_error": _rel(_eval("C12.newton_error", env, {"alpha": alpha}), step(H_A, G_A, w_A)(n) - w_A),
            "C13.inexact_newton_error": _rel(_eval("C13.inexact_newton_error", env, {"alpha": alpha}),
                                             step(H_A, G_A, w_A)(n_inexact) - w_A)}


# formula ID -> the reference that checks it (several IDs share one reference run)
REFERENCES: dict[str, Callable] = {
    "C1.round_map_A": _round_maps, "C1.round_map_B": _round_maps, "C1.contraction_rate": _rate,
    "C2.fixed_point_A": _fixed_points, "C2.fixed_point_B": _fixed_points,
    "C3.residual_A": _fixed_points, "C3.residual_B": _fixed_points,
    "C3.bias_map_A": _fixed_points, "C3.bias_map_B": _fixed_points,
    "C7.s_steps": _steps, "C7.limit_residual_B": _steps,
    "C11.steering_target": _steering,
    "C18.least_squares_map": _fitting, "C18.implied_target": _fitting,
    "C12.helper_relabel": _helpers, "C12.newton_error": _helpers, "C13.inexact_newton_error": _helpers,
}


def formulas_method(ids: tuple[str, ...]):
    """VS: the registered formulas ``ids`` evaluated on random instances (d 1..4) against their references."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + 9000 + sum(map(ord, "".join(ids))))
        ledger = Ledger()
        for _ in range(max(4, min(profile.instances // 16, 40))):
            d = int(rng.integers(1, 5))
            for ref in dict.fromkeys(REFERENCES[i] for i in ids):
                for fid, err in ref(rng, d).items():
                    if fid in ids:
                        ledger.add(fid, err, BAR)
            ledger.instances += 1
        return ledger.outcome(f"registered {', '.join(ids)} (as typeset) evaluated vs simulated rounds / steps, "
                              "probed bias maps, LAPACK least squares, d 1..4")
    return method
