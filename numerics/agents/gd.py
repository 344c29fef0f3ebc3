"""Gradient-descent agents: one preconditioned GD step per call (docs/theory.rst).

``T(w) = w - Gamma (H w - b)``, applied ``steps`` times per turn. Any object
with ``name``, ``d`` and ``respond(w) -> w'`` can take part in a simulation
(LSA agents and helpers use the same protocol).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from numerics.agents.prompts import Geometry
from numerics.io import validate


class Agent(Protocol):
    """What a simulation needs of an agent (GD, LSA, text, noisy, helper): its name, dimension and map."""

    @property
    def name(self) -> str: ...

    @property
    def d(self) -> int: ...

    def respond(self, w: np.ndarray) -> np.ndarray: ...


class AffineDescription:
    """The affine description ``T(w) = M w + c`` of an agent with ``Gamma``, ``geometry`` and ``steps``
    (used by closed forms, never by simulation)."""

    if TYPE_CHECKING:  # what a subclass provides (dataclass fields, attributes or properties); no runtime effect
        @property
        def geometry(self) -> Geometry: ...

        @property
        def Gamma(self) -> np.ndarray: ...

        steps: int

    @property
    def d(self) -> int:
        return self.geometry.d

    @property
    def w_star(self) -> np.ndarray:
        return self.geometry.w_star

    @property
    def M(self) -> np.ndarray:
        """Transfer per turn, ``M^s = (I - Gamma H)^s``."""
        return np.linalg.matrix_power(np.eye(self.d) - self.Gamma @ self.geometry.H, self.steps)

    @property
    def K(self) -> np.ndarray:
        """Effective step per turn, ``K = I - M^s``."""
        return np.eye(self.d) - self.M

    @property
    def c(self) -> np.ndarray:
        """Offset per turn, ``c = K w_star``."""
        return self.K @ self.w_star


@dataclass(frozen=True)
class GDAgent(AffineDescription):
    """An agent running ``steps`` preconditioned GD steps on its prompt per turn."""

    name: str
    geometry: Geometry
    Gamma: np.ndarray
    steps: int = 1

    def __post_init__(self):
        validate.square(f"{self.name}.preconditioner", self.Gamma, self.geometry.d)
        validate.positive_int(f"{self.name}.steps_per_turn", self.steps)

    def respond(self, w: np.ndarray) -> np.ndarray:
        """Iterate the GD step itself (no closed form): ``w <- w - Gamma (H w - b)``."""
        H_dot, b, Gamma_dot = self.geometry.H.dot, self.geometry.b, self.Gamma.dot  # bound: called every turn
        for _ in range(self.steps):
            w = w - Gamma_dot(H_dot(w) - b)
        return w
