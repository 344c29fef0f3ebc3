"""Input validation shared by the API and the CLI.

Each function returns a clean float64 array or raises :class:`InputError`
naming the quantity and its value.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError

# Symmetry and PSD checks are relative to the matrix scale; 1e-10 tolerates
# float64 round-off in X^T X / N while still catching genuinely indefinite input.
SYMMETRY_RTOL = 1e-10
PSD_RTOL = 1e-10
# An inverse is refused when the condition number exceeds this: past it float64
# solutions carry no correct digits.
MAX_CONDITION = 1e14


def finite_array(name: str, value, ndim: int | None = None) -> np.ndarray:
    """Convert to a float64 array, requiring finite entries and (optionally) ``ndim``."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(name, value, "is not a numeric array") from None
    if ndim is not None and arr.ndim != ndim:
        raise InputError(name, value, f"must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(name, arr, "contains NaN or inf")
    return arr


def vector(name: str, value, d: int | None = None) -> np.ndarray:
    v = finite_array(name, value, ndim=1)
    if v.size == 0:
        raise InputError(name, v, "must not be empty")
    if d is not None and v.shape[0] != d:
        raise InputError(name, v, f"must have length {d} (the dimension), got {v.shape[0]}")
    return v


def square(name: str, value, d: int | None = None) -> np.ndarray:
    m = finite_array(name, value, ndim=2)
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InputError(name, m, f"must be a non-empty square matrix, got shape {m.shape}")
    if d is not None and m.shape[0] != d:
        raise InputError(name, m, f"must be {d} x {d} (the dimension), got {m.shape}")
    return m


def symmetric(name: str, value, d: int | None = None) -> np.ndarray:
    m = square(name, value, d)
    scale = max(1.0, float(np.max(np.abs(m))))
    if np.max(np.abs(m - m.T)) > SYMMETRY_RTOL * scale:
        raise InputError(name, m, "must be symmetric")
    return (m + m.T) / 2


def psd(name: str, value, d: int | None = None) -> np.ndarray:
    """A symmetric positive semidefinite matrix (a prompt geometry)."""
    m = symmetric(name, value, d)
    eig = np.linalg.eigvalsh(m)
    scale = max(1.0, float(np.max(np.abs(eig))))
    if eig[0] < -PSD_RTOL * scale:
        raise InputError(name, m, f"must be positive semidefinite (smallest eigenvalue {eig[0]:.3g})")
    return m


def spd(name: str, value, d: int | None = None) -> np.ndarray:
    """A symmetric positive definite matrix."""
    m = symmetric(name, value, d)
    eig = np.linalg.eigvalsh(m)
    if eig[0] <= PSD_RTOL * max(1.0, float(eig[-1])):
        raise InputError(name, m, f"must be positive definite (smallest eigenvalue {eig[0]:.3g})")
    return m


def invertible(name: str, value) -> np.ndarray:
    """A square matrix that will be inverted; refuses singular or hopelessly ill-conditioned ones."""
    m = square(name, value)
    cond = np.linalg.cond(m)
    if not np.isfinite(cond) or cond > MAX_CONDITION:
        raise InputError(name, m, f"is singular (condition number {cond:.3g}); it must be inverted")
    return m


def positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(name, value, f"must be an integer >= {minimum}")
    if value < minimum:
        raise InputError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def preconditioner(name: str, value, d: int) -> np.ndarray:
    """A number (meaning that number times I) or a d x d matrix."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        g = finite_array(name, value, ndim=0)
        return float(g) * np.eye(d)
    return square(name, value, d)
