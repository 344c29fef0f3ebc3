"""Two agents in round robin (C1-C16): the quantities every evaluator reads, computed once.

The agents are the config's first two, in list order; their per-turn maps include their
``steps_per_turn``. Simulations use the agents' own GD steps (``respond``), never the closed
forms they are compared with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.agents.gd import GDAgent
from proofs_check.check.core import DIVERGENCE_FACTOR, MAX_ROUNDS, TRANSIENT_TOL, Instance, NotApplicable, norm


@dataclass(frozen=True)
class Pair:
    A: GDAgent
    B: GDAgent
    v0: np.ndarray

    @property
    def d(self) -> int:
        return self.A.d

    @property
    def M_A(self) -> np.ndarray:
        return self.A.M

    @property
    def M_B(self) -> np.ndarray:
        return self.B.M

    @property
    def K_A(self) -> np.ndarray:
        return self.A.K

    @property
    def K_B(self) -> np.ndarray:
        return self.B.K

    @property
    def w_A(self) -> np.ndarray:
        return self.A.w_star

    @property
    def w_B(self) -> np.ndarray:
        return self.B.w_star

    @property
    def Delta(self) -> np.ndarray:
        return self.w_B - self.w_A

    @property
    def J_u(self) -> np.ndarray:
        return self.M_A @ self.M_B

    @property
    def J_v(self) -> np.ndarray:
        return self.M_B @ self.M_A


def pair(inst: Instance) -> Pair:
    """The first two agents of a round-robin config (exit 3 for a protocol that is not one)."""
    def make():
        system = inst.system
        if system.protocol is not None:
            from numerics.protocol.engine import is_round_robin
            if not is_round_robin(system.protocol):
                raise NotApplicable("the claim is about the round robin; the config has another protocol")
        return Pair(system.agents[0], system.agents[1], system.initial_message)
    return inst.get("pair", make)


def fixed_points(P: Pair) -> tuple[np.ndarray, np.ndarray]:
    """C2's ``u* = (I - M_A M_B)^{-1}(M_A c_B + c_A)`` and ``v* = (I - M_B M_A)^{-1}(M_B c_A + c_B)``."""
    I = np.eye(P.d)
    u = np.linalg.solve(I - P.J_u, P.M_A @ P.B.c + P.A.c)
    v = np.linalg.solve(I - P.J_v, P.M_B @ P.A.c + P.B.c)
    return u, v


def rounds_to_settle(J: np.ndarray, tol: float = TRANSIENT_TOL, limit: int = MAX_ROUNDS) -> int | None:
    """The first ``T`` with ``||J^T||_2 <= tol``, or None when that takes more than ``limit`` rounds
    (a rate too close to 1 for the budget, or ``rho(J) >= 1``)."""
    if J.size and not np.max(np.abs(np.linalg.eigvals(J))) < 1:
        return None  # ||J^T|| >= rho(J)^T >= 1 for every T: never settles (and looping to the limit costs seconds)
    P = np.eye(J.shape[0])
    screen = tol * np.sqrt(J.shape[0])  # ||P||_2 >= ||P||_F / sqrt(d): above this, no SVD is needed
    for t in range(1, limit + 1):
        P = P @ J
        frobenius = float(np.linalg.norm(P))
        if np.isfinite(frobenius) and frobenius > screen:
            continue
        n = norm(P)
        if n <= tol:
            return t
        if not np.isfinite(n):
            return None
    return None


# Rounds simulated to show a divergence when the transient never settles (rho >= 1).
DIVERGENCE_ROUNDS = 2000


def simulate(A, B, v0: np.ndarray, T: int, stop_above: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """``u_t = A(v_{t-1})``, ``v_t = B(u_t)`` for t = 1..T with the agents' own ``respond``; stops early
    once a message leaves ``stop_above`` in norm or stops being finite."""
    us, vs, v = [], [], np.asarray(v0, dtype=float)
    for _ in range(T):
        u = A.respond(v)
        v = B.respond(u)
        us.append(u)
        vs.append(v)
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(u))) or norm(u) > stop_above:
            break
    return np.array(us), np.array(vs)


def unstable_projector(J: np.ndarray) -> np.ndarray:
    """The spectral projector of ``J`` onto its eigenvalues of modulus > 1 (along the others)."""
    lam, V = np.linalg.eig(J)
    out = np.abs(lam) > 1
    Vinv = np.linalg.inv(V)
    return np.real(V[:, out] @ Vinv[out, :])


def divergence_round(P: Pair, start_u: float, start_v: float, u_star, v_star) -> tuple[int | None, float]:
    """The first round at which both deviations ``||u_t - u*||``, ``||v_t - v*||`` exceed
    :data:`DIVERGENCE_FACTOR` times their start (None if not within :data:`MAX_ROUNDS`), and the
    last ratio seen."""
    v = np.asarray(P.v0, dtype=float)
    ratio = 0.0
    for t in range(1, MAX_ROUNDS + 1):
        u = P.A.respond(v)
        v = P.B.respond(u)
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            return t, np.inf
        ratio = min(norm(u - u_star) / start_u, norm(v - v_star) / start_v)
        if ratio > DIVERGENCE_FACTOR:
            return t, ratio
    return None, ratio


def with_target(agent, w_star: np.ndarray, name: str | None = None) -> GDAgent:
    """``agent`` with its target replaced (same H, Gamma, steps): ``b = H w_star``."""
    from numerics.agents.prompts import Geometry

    H = agent.geometry.H
    return GDAgent(name or agent.name, Geometry(H=H, b=H @ w_star, w_star=np.asarray(w_star, float)),
                   agent.Gamma, agent.steps)


def prompt_of(agent) -> tuple[np.ndarray, np.ndarray]:
    """The agent's prompt ``(X, y)``, or one with its geometry: ``X = sqrt(d) H^{1/2}``, ``y = X w*``
    (then ``X^T X / d = H`` and ``X^T y / d = H w* = b``)."""
    g = agent.geometry
    if g.X is not None:
        return g.X, g.y
    lam, U = np.linalg.eigh(g.H)
    X = np.sqrt(g.d) * (U * np.sqrt(np.clip(lam, 0, None))) @ U.T
    return X, X @ g.w_star
