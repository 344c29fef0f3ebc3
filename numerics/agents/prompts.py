"""In-context regression prompts and their geometry (docs/theory.rst).

``H = X^T X / N`` (geometry), ``b = X^T y / N`` (moment) and
``w_star = H^+ b`` (minimum-norm least-squares target).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError


@dataclass(frozen=True)
class Geometry:
    """What an agent's prompt contributes to its map: ``H`` (PSD), ``b`` and ``w_star``.

    ``b`` lies in ``range(H)``, so ``H @ w_star == b`` holds exactly (up to round-off).
    """

    H: np.ndarray
    b: np.ndarray
    w_star: np.ndarray
    X: np.ndarray | None = None  # the prompt, when given as one (kept for exact recomputation)
    y: np.ndarray | None = None

    @property
    def d(self) -> int:
        return self.H.shape[0]


def check_prompt(X, y, name: str = "prompt") -> tuple[np.ndarray, np.ndarray]:
    """``X`` (N x d, N, d >= 1) and ``y`` (N) as float64 arrays, finite, numbers only."""
    X = validate.finite_array(f"{name}.X", X, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"{name}.X", X, f"needs N >= 1 examples and d >= 1 columns, got shape {X.shape}")
    return X, _check_labels(X, y, name)


def _check_labels(X: np.ndarray, y, name: str) -> np.ndarray:
    y = validate.vector(f"{name}.y", y)
    if y.shape[0] != X.shape[0]:
        raise InputError(f"{name}.y", y, f"must have one label per row of X ({X.shape[0]}), got {y.shape[0]}")
    return y


def from_prompt(X, y, name: str = "prompt") -> Geometry:
    """Geometry of a prompt of N examples ``X`` (N x d) with labels ``y`` (N)."""
    X, y = check_prompt(X, y, name)
    with np.errstate(over="ignore", invalid="ignore"):
        H = X.T @ X / X.shape[0]
    _finite(f"{name}.X", X, H, "X^T X / N")
    return _labelled(X, y, H, np.linalg.pinv(H), name)


def relabelled(geometry: Geometry, y, H_pinv: np.ndarray, name: str = "prompt") -> Geometry:
    """The geometry of ``geometry``'s own prompt ``X`` with the new labels ``y``.

    ``H = X^T X / N`` is unchanged; ``b = X^T y / N`` and ``w_star = H^+ b``, with ``H_pinv = H^+``
    computed once by the caller: what :func:`from_prompt` returns on ``(X, y)``, without recomputing
    ``H`` and its pseudo-inverse (a relabelling helper, C12-C14, relabels its prompt every turn).
    """
    if geometry.X is None:
        raise InputError(f"{name}.X", None, "a geometry given without its prompt cannot be relabelled")
    return _labelled(geometry.X, _check_labels(geometry.X, y, name), geometry.H, H_pinv, name)


def _labelled(X: np.ndarray, y: np.ndarray, H: np.ndarray, H_pinv: np.ndarray, name: str) -> Geometry:
    """``b = X^T y / N`` and ``w_star = H^+ b`` for checked ``X``, ``y`` (overflow is an InputError)."""
    with np.errstate(over="ignore", invalid="ignore"):
        b = X.T @ y / X.shape[0]
    _finite(f"{name}.y", y, b, "X^T y / N")
    w_star = H_pinv @ b
    _finite(f"{name} target", w_star, w_star, "H^+ b")
    return Geometry(H=H, b=b, w_star=w_star, X=X, y=y)


def _finite(name: str, value, result, what: str) -> None:
    """Overflow is an error naming the input, never an inf/NaN passed on."""
    if not np.all(np.isfinite(result)):
        raise InputError(name, value, f"is too large: {what} overflows float64 (predict --precision computes exactly)")


def from_geometry(H, w_star, name: str = "agent") -> Geometry:
    """Geometry given directly as a PSD ``H`` and a target ``w_star`` (then ``b = H w_star``).

    ``w_star`` is kept as given; its component in ``ker(H)`` is invisible to the
    agent's map but is what the agent's error is measured against.
    """
    H = validate.psd(f"{name}.geometry", H)
    w = validate.vector(f"{name}.target", w_star, H.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        b = H @ w
    _finite(f"{name}.target", w, b, "H w_star")
    return Geometry(H=H, b=b, w_star=w)
