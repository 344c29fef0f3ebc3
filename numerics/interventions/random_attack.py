"""Attacks under a random protocol (``protocol.random``; issue 26, package extension of C9 and C11).

What carries over from :mod:`numerics.interventions.protocol_attack`, and why:

- ``full`` (C9): the attacker's full-rank prompt gives ``M_A = 0``, so every message it writes is its
  target ``w_A*`` whatever it hears; under a random schedule its message is exact from the end of
  the first round in which it speaks on (it keeps its last message in the rounds it does not speak
  in), in every realisation, not only in mean. The outcome is the random protocol's ``predict``
  document (stationary mean, covariance, mean-square and mean rates).
- ``steer`` (C11 generalised to the stationary mean): with ``M_A`` fixed, the first-moment equations
  (:mod:`numerics.protocol.random_moments`) are linear in the offsets ``psi_k``, which are linear in
  ``c_A = (I - M_A) w_A*``; so the victim's stationary mean is affine, ``mu_V(w_A*) = g + G w_A*``
  with ``G = F (I - M_A)``, ``g`` and ``F`` read off the stationary mean at ``c_A = 0`` and at the
  unit vectors. ``w_A* = G^{-1} (p - g)`` puts the victim's *mean* at ``p``; its messages still
  spread around p (the covariance in ``predicted``), unless every alternative leaves the mean in
  place (schedule invariance). Hypothesis: the attacked protocol converges in mean square.
- ``rank-one`` (C10) is derived for two agents speaking in turn, a deterministic schedule: refused.
"""
from __future__ import annotations

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import Geometry
from numerics.interventions import attacks
from numerics.io import validate
from numerics.io.errors import InputError
from numerics.protocol import random_moments
from numerics.protocol.config import System
from numerics.protocol.evaluate import stacked_finite
from numerics.protocol.prediction import predict
from numerics.protocol.random_spec import RandomProtocol

__all__ = ["random_attack_doc", "mean_victim_map", "mean_steering_target"]


def mean_victim_map(M: np.ndarray, c: np.ndarray, rp: RandomProtocol, attacker: int,
                    victim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(F, g)`` with the victim's stationary mean ``mu_V = g + F c_A`` (mean-square convergence assumed).

    Exact by linearity of the first-moment equations in the offsets: the stationary mean at
    ``c_A = 0`` and at ``c_A = e_k`` for k = 1..d.
    """
    d = c.shape[-1]
    means = []
    for cA in np.vstack([np.zeros(d), np.eye(d)]):
        cb = c.copy()
        cb[attacker] = cA
        mo = random_moments.moments(M, cb, rp)
        assert mo.mean is not None
        means.append(mo.mean[victim])
    z = np.array(means)
    return (z[1:] - z[0]).T, z[0]


def mean_steering_target(M, c, rp: RandomProtocol, attacker: int, victim: int, point, names
                         ) -> tuple[np.ndarray, float]:
    """``w_A* = G^{-1}(p - g)`` placing the victim's stationary mean at ``p``, and cond(G).

    ``M``/``c`` hold the attacked system (the attacker's row: its new ``M_A``). InputError when the
    attacked protocol does not converge in mean square or ``G`` is singular.
    """
    d = M.shape[-1]
    mo = random_moments.moments(M, c, rp)
    if not mo.converges:
        raise InputError("mean-square rate of the attacked random protocol", mo.contraction_rate,
                         "the attacker's new map makes the protocol diverge in mean square: no stationary mean "
                         "to steer")
    F, g = mean_victim_map(M, c, rp, attacker, victim)
    G = F @ (np.eye(d) - M[attacker])
    s = np.linalg.svd(G, compute_uv=False)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    limit = attacks.MAX_SENSITIVITY_COND
    if not cond <= limit:
        raise InputError(f"G = d mu_{names[victim]} / d w_{names[attacker]}* (smallest singular value)",
                         float(s[-1]), f"is singular (condition {cond:.3g} > {limit:g}): no target of "
                                       f"{names[attacker]} places {names[victim]}'s stationary mean at --point")
    p = validate.vector("--point", point, d)
    with np.errstate(all="ignore"):
        w_A = np.linalg.solve(G, p - g)
    if not np.all(np.isfinite(w_A)):
        raise InputError(f"w_{names[attacker]}* (the steering target for --point {p.tolist()})", w_A.tolist(),
                         "overflows float64; choose a point of smaller magnitude")
    return w_A, cond


def _attacked(system: System, attacker: int, X: np.ndarray, w_A: np.ndarray, Gamma_A: np.ndarray) -> System:
    H = X.T @ X / len(X)
    agents = list(system.agents)
    agents[attacker] = GDAgent(system.agents[attacker].name, Geometry(H=H, b=H @ w_A, w_star=w_A), Gamma_A)
    return System(tuple(agents), system.initial_message, None, system.random, system.noise)


def random_attack_doc(system: System, kind: str, point, N: int | None, seed: int, attacker: int,
                      victim: str | None = None) -> dict:
    """The ``attack`` document under a random protocol (see the module docstring)."""
    rp, names = system.random, system.names
    assert rp is not None
    if kind not in attacks.KINDS:
        raise InputError("--kind", kind, f"must be one of {list(attacks.KINDS)}")
    if kind == "rank-one":
        raise InputError("--kind", kind, "the rank-one attack (C10) is derived for two agents speaking in turn, a "
                                         "fixed schedule; under a random protocol use --kind full (C9) or --kind steer "
                                         "(the victim's stationary mean)")
    v = attacks.victim_index(names, attacker, victim, required=kind == "steer")
    a = system.agents[attacker]
    d, rng = a.d, np.random.default_rng(seed)
    Gamma_A = validate.spd(f"{a.name}.preconditioner (Gamma_A)", a.Gamma)
    extra: dict = {}
    if kind == "full":
        prompt = attacks.full_rank_prompt(Gamma_A, a.w_star, d if N is None else N, rng)
        X, w_A = prompt.X, prompt.w_A
    else:
        if point is None:
            raise InputError("--point", None, "is required for --kind steer (the mean to impose on the victim)")
        assert v is not None
        X = attacks.full_rank_prompt(Gamma_A, np.zeros(d), d if N is None else N, rng).X
        M, c = stacked_finite(system)
        M = M.copy()
        M[attacker] = np.eye(d) - Gamma_A @ (X.T @ X / len(X))
        w_A, cond = mean_steering_target(M, c, rp, attacker, v, point, names)
        with np.errstate(all="ignore"):
            if not np.all(np.isfinite(X @ w_A)):
                raise InputError(f"y = X w_{a.name}* (the attack prompt for --point)", w_A.tolist(),
                                 "overflows float64; choose a point of smaller magnitude")
        extra = {"point": np.asarray(point, dtype=float).tolist(), "sensitivity_condition": cond}
    outcome = predict(_attacked(system, attacker, X, w_A, Gamma_A))
    residual = None
    if kind == "steer":
        assert v is not None
        fixed = outcome["agents"][names[v]]["fixed_point"]
        residual = None if fixed is None else float(np.linalg.norm(np.asarray(fixed) - extra["point"]))
        extra["victim_fixed_point"] = fixed
    entry = {"name": a.name, "prompt": {"X": X.tolist(), "y": (X @ w_A).tolist()},
             "preconditioner": Gamma_A.tolist(), "steps_per_turn": 1}
    claim = {"full": "C9 (any protocol; random: exact from the attacker's first round on)",
             "steer": "C11 generalised: target derived from the random protocol's stationary mean"}[kind]
    return {"kind": kind, "claim": claim, "attacker": a.name, "victim": None if v is None else names[v],
            "agent_entry": entry, "contraction_rate": outcome["contraction_rate"],
            "unreachable_residual_norm": residual, **extra, "predicted": outcome}
