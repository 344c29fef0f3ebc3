"""Adaptive helper policies (docs/theory.rst): C12, C13, C14, C14b.

A policy decides the helper's relabelled target ``w_B(t)``; :class:`RelabellingHelper`
is the real helper agent: it relabels its prompt ``y_B(t) = X_B w_B(t)`` and runs its
own GD step(s) on it, so the message is ``v_t = M_B u_t + K_B w_B(t)``. Policies say
which message ``n_t`` they want; the relabelling that produces it,
``w_B(t) = K_B^{-1}(n_t - M_B u_t)``, needs ``K_B`` invertible.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import mpmath as mp
import numpy as np

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_prompt, relabelled
from numerics.fit.fitting import least_squares_map
from numerics.io import validate
from numerics.io.errors import InputError


def check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not np.isfinite(a) or not 0 < a < 2:
        raise InputError("alpha", alpha, "the damping must lie in (0, 2)")
    return a


class RelabellingHelper:
    """Helper agent B: fixed mechanism (``Gamma_B``, ``X_B``, steps), relabelled every turn."""

    def __init__(self, name: str, X_B, Gamma_B, policy, steps: int = 1):
        self.name = name
        self.X = validate.finite_array(f"{name}.X", X_B, ndim=2)
        base = from_prompt(self.X, np.zeros(self.X.shape[0]), name=name)
        self.Gamma = validate.square(f"{name}.preconditioner", Gamma_B, base.d)
        self.steps = validate.positive_int(f"{name}.steps_per_turn", steps)
        self._mechanism = GDAgent(name, base, self.Gamma, self.steps)
        self._H_pinv = np.linalg.pinv(base.H)  # X is fixed: H and H^+ are the same every turn
        K_B = self._mechanism.K
        validate.invertible("K_B", K_B)  # the helper must be able to emit any message
        self.M_B, self.K_B = self._mechanism.M, K_B
        self.policy = policy
        self.targets: list[np.ndarray] = []

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def w_star(self):  # the helper has no fixed objective of its own
        return self.targets[-1] if self.targets else np.zeros(self.d)

    def relabel_for(self, message: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``w_B(t) = K_B^{-1}(n - M_B u)``: the target whose GD output on ``u`` is ``n``."""
        return np.linalg.solve(self.K_B, message - self.M_B @ u)

    def respond(self, u: np.ndarray) -> np.ndarray:
        w_B = self.relabel_for(self.policy.message(u), u)
        self.targets.append(w_B)
        geometry = relabelled(self._mechanism.geometry, self.X @ w_B, self._H_pinv, name=self.name)
        out = replace(self._mechanism, geometry=geometry).respond(u)  # the real GD agent on the relabelled prompt
        self.policy.sent(out)
        return out


@dataclass
class NewtonPolicy:
    """C12 (oracle): ``n_t = u_t - alpha H_A^{-1} grad L_A(u_t)``; C13 with ``Hhat`` in place of ``H_A``."""

    H_A: np.ndarray
    b_A: np.ndarray
    alpha: float = 1.0
    Hhat: np.ndarray | None = None

    def __post_init__(self):
        self.alpha = check_alpha(self.alpha)
        self.H_A = validate.psd("H_A", self.H_A)
        curvature = self.H_A if self.Hhat is None else validate.square("Hhat", self.Hhat, self.H_A.shape[0])
        validate.invertible("H_A" if self.Hhat is None else "Hhat", curvature)
        self._curvature = curvature

    def message(self, u: np.ndarray) -> np.ndarray:
        grad = self.H_A @ u - self.b_A
        return u - self.alpha * np.linalg.solve(self._curvature, grad)

    def sent(self, v: np.ndarray) -> None:
        pass


@dataclass
class IdentificationPolicy:
    """C14: probe with d+1 affinely independent messages, fit ``[M_A | c_A]`` by least squares
    from A's replies, then send ``w_A* = K_A^{-1} c_A``. Sees only messages."""

    probes: np.ndarray  # (d+1, d), probes[0] = the initial message A hears
    replies: list = field(default_factory=list)
    estimate: np.ndarray | None = None

    def __post_init__(self):
        P = validate.finite_array("probes", self.probes, ndim=2)
        V = np.hstack([P, np.ones((P.shape[0], 1))])
        if np.linalg.matrix_rank(V) < P.shape[1] + 1:  # also when fewer than d+1 probes: rank <= rows
            raise InputError("probes", P, f"need d+1 = {P.shape[1] + 1} affinely independent messages (C14)")
        self.probes = P

    def message(self, u: np.ndarray) -> np.ndarray:
        self.replies.append(u)  # reply to the probe sent one round ago
        k = len(self.replies)
        if k < len(self.probes):
            return self.probes[k]
        if self.estimate is None:
            self.estimate = identify(self.probes, np.array(self.replies[: len(self.probes)]))
        return self.estimate

    def sent(self, v):
        pass


def identify(probes: np.ndarray, replies: np.ndarray) -> np.ndarray:
    """Least-squares ``[Mhat | chat]`` from ``reply = M v + c``, then ``w* = (I - Mhat)^{-1} chat``."""
    M_hat, c_hat = least_squares_map(probes, replies)
    K_hat = np.eye(M_hat.shape[0]) - M_hat
    validate.invertible("Khat_A", K_hat)
    return np.linalg.solve(K_hat, c_hat)


class BroydenPolicy:
    """C14b: Broyden's good method on ``F(v) = T_A(v) - v`` from observed replies only.

    Runs in mpmath at ``dps`` digits (exact termination in <= 2d steps is a
    statement about exact arithmetic; float64 shows it only approximately).
    ``B_0 = -I``; ``v_{k+1} = v_k - B_k^{-1} F(v_k)``;
    ``B_{k+1} = B_k + (y - B_k s) s^T / (s^T s)`` with ``s = v_{k+1} - v_k``, ``y = F_{k+1} - F_k``.
    """

    def __init__(self, v0, dps: int):
        self.dps = dps
        with mp.workdps(dps):
            self.v = mp.matrix([mp.mpf(x) for x in np.asarray(v0, dtype=float)])
            self.B = -mp.eye(self.v.rows)
        self.F_prev = None
        self.v_prev = None
        self.iterates = [self.v]

    def observe(self, reply) -> mp.matrix:
        """Given ``T_A(v_k)``, return ``v_{k+1}`` (mp vector)."""
        with mp.workdps(self.dps):
            r = reply if isinstance(reply, mp.matrix) else mp.matrix([mp.mpf(x) for x in reply])
            F = r - self.v
            if self.F_prev is not None:
                s, y = self.v - self.v_prev, F - self.F_prev
                ss = (s.T * s)[0]
                if ss != 0:
                    self.B = self.B + (y - self.B * s) * s.T / ss
            if mp.norm(F) == 0:
                return self.v
            step = mp.lu_solve(self.B, F)
            self.v_prev, self.F_prev = self.v, F
            self.v = self.v - step
            self.iterates.append(self.v)
            return self.v

    def message(self, u):
        return np.array([float(x) for x in self.observe(u)])

    def sent(self, v):
        pass
