"""The single-layer linear self-attention (LSA) agent (docs/theory.rst: L1, L1b).

Tokens: context ``z_j = (x_j, r_j)`` with residual ``r_j = y_j - <w, x_j>`` against the
incoming message ``w``; query ``z_q = (x_q, 0)``. The read-out is
``yhat(x_q) = (1/N) sum_j (p^T z_j)(z_j^T Q z_q)`` with ``p`` the last row of ``W_PV``
and ``Q = W_KQ``, both (d+1)-dimensional. The message is ``w' = w + yhat(e_1..e_d)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.agents.gd import AffineDescription
from numerics.agents.prompts import Geometry, from_prompt
from numerics.io import validate
from numerics.io.errors import InputError


@dataclass(frozen=True)
class LSAWeights:
    """Full weights: ``W_PV`` and ``W_KQ``, each (d+1) x (d+1). Only ``p = W_PV[-1]`` reaches the read-out."""

    W_PV: np.ndarray
    W_KQ: np.ndarray

    def __post_init__(self):
        W_PV = validate.square("W_PV", self.W_PV)
        W_KQ = validate.square("W_KQ", self.W_KQ, W_PV.shape[0])
        if W_PV.shape[0] < 2:
            raise InputError("W_PV", W_PV, "must be (d+1) x (d+1) with d >= 1")
        object.__setattr__(self, "W_PV", W_PV)
        object.__setattr__(self, "W_KQ", W_KQ)

    @property
    def d(self) -> int:
        return self.W_PV.shape[0] - 1

    @property
    def p(self) -> np.ndarray:
        return self.W_PV[-1]

    @staticmethod
    def from_pQ(p, Q) -> "LSAWeights":
        p = validate.vector("p", p)
        W_PV = np.zeros((p.size, p.size))
        W_PV[-1] = p
        return LSAWeights(W_PV, Q)


def gd_weights(Gamma) -> LSAWeights:
    """L1: ``p = (0, ..., 0, 1)``, ``Q = [[Gamma^T, 0], [0, 0]]`` make the LSA one GD step with ``Gamma``."""
    G = validate.square("Gamma", Gamma)
    d = G.shape[0]
    Q = np.zeros((d + 1, d + 1))
    Q[:d, :d] = G.T
    p = np.zeros(d + 1)
    p[-1] = 1.0
    return LSAWeights.from_pQ(p, Q)


def tokens(X, y, w) -> np.ndarray:
    """Context tokens ``z_j = (x_j, y_j - <w, x_j>)``, shape (N, d+1)."""
    X = validate.finite_array("X", X, ndim=2)
    N, d = X.shape
    if N == 0:
        raise InputError("N", N, "the prompt needs at least one example")
    y = validate.vector("y", y, N)
    w = validate.vector("w", w, d)
    return np.hstack([X, (y - X @ w)[:, None]])


def readout(weights: LSAWeights, Z: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``yhat(x_q) = (1/N) sum_j (p^T z_j)(z_j^T Q z_q)`` for each row ``x_q`` of ``queries`` (k, d)."""
    Z = validate.finite_array("tokens", Z, ndim=2)
    d = weights.d
    if Z.shape[1] != d + 1:
        raise InputError("tokens", Z.shape, f"must have d+1 = {d + 1} columns for these weights")
    zq = np.hstack([queries, np.zeros((len(queries), 1))])  # query tokens (x_q, 0)
    return (Z @ weights.p) @ (Z @ weights.W_KQ @ zq.T) / Z.shape[0]


def forward(weights: LSAWeights, X, y, w) -> np.ndarray:
    """The LSA agent's outgoing message ``w' = w + (yhat(e_1), ..., yhat(e_d))``."""
    Z = tokens(X, y, w)
    if Z.shape[1] != weights.d + 1:
        raise InputError("prompt dimension", Z.shape[1] - 1, f"does not match the weights' d = {weights.d}")
    return np.asarray(w, dtype=float) + readout(weights, Z, np.eye(weights.d))


@dataclass(frozen=True)
class Readout:
    """L1b: ``w' = w + (p_y Q_xx^T + q_yx p_x^T)(b - H w) + Q_xx^T H p_x + p_y q_yx r^T r / N``.

    The map is affine for every prompt iff ``p_y q_yx = 0`` (the last term is quadratic in ``w``
    unless ``H = 0``); then ``Gamma_eff = p_y Q_xx^T + q_yx p_x^T`` and the drift is ``Q_xx^T H p_x``.
    Otherwise ``Gamma_eff`` is the linear part of a non-affine map.
    """

    p_x: np.ndarray
    p_y: float
    Q_xx: np.ndarray
    q_yx: np.ndarray

    @property
    def Gamma_eff(self) -> np.ndarray:
        return self.p_y * self.Q_xx.T + np.outer(self.q_yx, self.p_x)

    @property
    def p_x_norm(self) -> float:
        return float(np.linalg.norm(self.p_x))

    @property
    def q_yx_norm(self) -> float:
        return float(np.linalg.norm(self.q_yx))

    @property
    def affine(self) -> bool:
        return not np.any(self.p_y * self.q_yx)

    def drift(self, H: np.ndarray) -> np.ndarray:
        return self.Q_xx.T @ H @ self.p_x


def read_weights(weights: LSAWeights) -> Readout:
    """Split ``p = (p_x, p_y)`` and the first d columns of ``Q`` into ``Q_xx`` and ``q_yx`` (L1b)."""
    d, p, Q = weights.d, weights.p, weights.W_KQ
    return Readout(p_x=p[:d].copy(), p_y=float(p[d]), Q_xx=Q[:d, :d].copy(), q_yx=Q[d, :d].copy())


class LSAAgent(AffineDescription):
    """An LSA agent on its prompt ``(X, y)``: plays in any simulation in place of a GD agent.

    ``M``, ``K``, ``c`` (:class:`AffineDescription`) use ``Gamma_eff`` read off the weights (L1b, exact when
    ``p_y q_yx = 0`` and the drift ``Q_xx^T H p_x`` is 0, e.g. ``p_x = 0``);
    ``respond`` always runs the real forward pass.
    """

    def __init__(self, name: str, weights: LSAWeights, X, y, steps: int = 1):
        self.name = name
        self.weights = weights
        self.geometry: Geometry = from_prompt(X, y, name=f"{name}.prompt")
        if self.geometry.d != weights.d:
            raise InputError(f"{name}.prompt dimension", self.geometry.d,
                             f"does not match the weights' d = {weights.d}")
        self.steps = validate.positive_int(f"{name}.steps_per_turn", steps)
        self.readout = read_weights(weights)

    @property
    def Gamma(self) -> np.ndarray:
        return self.readout.Gamma_eff

    def respond(self, w: np.ndarray) -> np.ndarray:
        for _ in range(self.steps):
            w = forward(self.weights, self.geometry.X, self.geometry.y, w)
        return w
