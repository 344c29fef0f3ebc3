"""L1, L1b: the LSA forward pass is a preconditioned GD step (and what general weights do).

V1 collapses the token sums blockwise and proves the read-out identities in the free
algebra, with the registered formulas (what the docs render) as right-hand sides, and checks
every step of the claim's printed derivation (theory.derivations); V2 sums the tokens one by
one with fully symbolic entries (d = 2, N = 3);
V4 runs the numpy forward pass on random prompts and weights.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_prompt
from numerics.lsa import agent as nlsa
from proofs_check.statements.provenance import cite
from proofs_check.verification.methods import FLOAT_REL_TOL, explicit_zero, free_proofs, worst
from proofs_check.verification.registry import Claim, Outcome, Profile
from theory.core import algebra
from theory.core.formulas import all_formulas
from theory.lsa import agent as lsa

EXPLICIT_N, EXPLICIT_D = 3, 2


def with_registered(out: Outcome, fid: str, claim: str) -> Outcome:
    """``out`` failed as well when the registered formula ``fid`` is ill-typed (its left side's shape
    differs from its right side's) or a step of the claim's printed derivation does not hold."""
    from theory import derivations

    f = all_formulas()[fid]
    problems = [] if f.lhs.shape == f.rhs.shape else [f"registered {fid}: {f.lhs.shape} = {f.rhs.shape}"]
    problems += derivations.failed_steps(claim)
    if not problems:
        return Outcome(out.worst_error, out.tolerance, out.instances, out.detail + f"; registered {fid} is "
                       f"the proved form; every step of the printed derivation of {claim} holds", power=out.power)
    return Outcome(max(1.0, out.worst_error), out.tolerance, out.instances, "; ".join(problems), power=out.power)


def l1_v1(profile: Profile) -> Outcome:
    return with_registered(free_proofs([
        ("[Gamma, 0] C (0, 1) / N = registered L1.gd_readout (Gamma (b - H w)), r = y - X w",
         algebra.prove(lsa.gd_readout, all_formulas()["L1.gd_readout"].rhs, (), lsa.DEFINITIONS, {}))]),
        "L1.gd_readout", "L1")


def l1_v2(profile: Profile) -> Outcome:
    Xs, ys, ws, G, _, _ = lsa.explicit_symbols(EXPLICIT_N, EXPLICIT_D)
    p, Q = lsa.gd_weights(G)
    H, bb = Xs.T * Xs / EXPLICIT_N, Xs.T * ys / EXPLICIT_N
    T = ws - G * (H * ws - bb)
    return explicit_zero([(f"token sums = T(w) (d={EXPLICIT_D}, N={EXPLICIT_N})",
                           lsa.token_message(Xs, ys, ws, p, Q) - T)])


def l1_v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 1001)
    errors = []
    for _ in range(profile.instances):
        d, n = int(rng.integers(1, 9)), int(rng.integers(1, 30))
        X, y, w = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
        G = rng.standard_normal((d, d))
        out = nlsa.forward(nlsa.gd_weights(G), X, y, w)
        ref = GDAgent("A", from_prompt(X, y), G).respond(w)
        errors.append(np.linalg.norm(out - ref) / max(1.0, float(np.linalg.norm(ref))))
    return worst(errors, FLOAT_REL_TOL, "numpy LSA forward pass with GD weights vs the GD step, random prompts "
                                        "(N = 1..29 includes N < d), any Gamma")


def l1b_v1(profile: Profile) -> Outcome:
    return with_registered(free_proofs([
        ("Q[:, :d]^T C p / N = registered L1b.general_map (p_y Q_xx^T (b - Hw) + Q_xx^T H p_x + q_yx[...])",
         algebra.prove(lsa.general_readout, all_formulas()["L1b.general_map"].rhs, (), lsa.DEFINITIONS, {}))]),
        "L1b.general_map", "L1b")


def l1b_v2(profile: Profile) -> Outcome:
    """Token sums with general symbolic weights equal the expansion; the map's Hessian in w
    vanishes when p_y q_yx = 0 (at q_yx = 0 and at p_y = 0: affine) and not otherwise (generic H)."""
    Xs, ys, ws, _, p, Q = lsa.explicit_symbols(EXPLICIT_N, EXPLICIT_D)
    dd, n = EXPLICIT_D, EXPLICIT_N
    H, bb = Xs.T * Xs / n, Xs.T * ys / n
    rs = ys - Xs * ws
    p_x, p_y = p[:dd, :], p[dd]
    Q_xx, q_yx = Q[:dd, :dd], Q[dd, :dd].T
    g = bb - H * ws
    expansion = ws + p_y * Q_xx.T * g + Q_xx.T * H * p_x + q_yx * ((g.T * p_x)[0] + p_y * (rs.T * rs)[0] / n)
    message = lsa.token_message(Xs, ys, ws, p, Q)
    hessians = [sp.hessian(message[k], list(ws)) for k in range(dd)]
    at_q0 = [h.subs({q: 0 for q in q_yx}) for h in hessians]
    at_py0 = [h.subs(p_y, 0) for h in hessians]
    nonzero = sum(1 for h in hessians if sp.expand(h) != sp.zeros(dd, dd))
    cases = [("token sums = L1b expansion", message - expansion)] + \
            [(f"Hessian of w'_{k} in w at q_yx = 0", h) for k, h in enumerate(at_q0)] + \
            [(f"Hessian of w'_{k} in w at p_y = 0", h) for k, h in enumerate(at_py0)]
    out = explicit_zero(cases)
    if nonzero != dd:  # the converse: with p_y q_yx != 0 the map is not affine
        return Outcome(1.0, out.tolerance, out.instances,
                       f"only {nonzero}/{dd} components non-affine for p_y q_yx != 0")
    return Outcome(out.worst_error, out.tolerance, out.instances, power=out.power,
                   detail=out.detail + f" (d={dd}, N={n}); with p_y q_yx != 0 every component has a nonzero "
                                       "Hessian in w")


def l1b_v4(profile: Profile) -> Outcome:
    """The readout (Gamma_eff = p_y Q_xx^T + q_yx p_x^T, drift, p_x, q_yx) reproduces the forward pass
    when p_y q_yx = 0: instances alternate q_yx = 0 and p_y = 0 (where q_yx p_x^T is the whole step)."""
    rng = np.random.default_rng(profile.seed + 1002)
    errors: list[float] = []
    for _ in range(profile.instances):
        d, n = int(rng.integers(1, 7)), int(rng.integers(2, 20))
        X, y, w = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
        W = nlsa.LSAWeights(rng.standard_normal((d + 1, d + 1)), rng.standard_normal((d + 1, d + 1)))
        if len(errors) % 2:
            W.W_PV[d, d] = 0.0  # p_y = 0, q_yx != 0: affine, Gamma_eff = q_yx p_x^T
        else:
            W.W_KQ[d, :d] = 0.0  # q_yx = 0: affine, Gamma_eff = p_y Q_xx^T
        ro = nlsa.read_weights(W)
        geom = from_prompt(X, y)
        affine = w + ro.Gamma_eff @ (geom.b - geom.H @ w) + ro.drift(geom.H)
        out = nlsa.forward(W, X, y, w)
        errors.append(float(np.linalg.norm(out - affine)) / max(1.0, float(np.linalg.norm(out))))
    return worst(errors, FLOAT_REL_TOL, "forward pass vs w + Gamma_eff (b - H w) + Q_xx^T H p_x for random "
                                        "weights with q_yx = 0 or p_y = 0")


CLAIMS = [
    Claim("L1", "An LSA layer is one preconditioned GD step", ("any prompt, any w, any N and d",),
          cite("L1"), "equal", {"V1": l1_v1, "V2": l1_v2, "V4": l1_v4},
          formulas=("L1.gd_readout",)),
    Claim("L1b", "General LSA weights", ("tokens (x_j, r_j), query (x_q, 0)",),
          cite("L1b"), "equal", {"V1": l1b_v1, "V2": l1b_v2, "V4": l1b_v4},
          formulas=("L1b.general_map",)),
]
