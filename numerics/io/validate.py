"""Input validation shared by the API and the CLI.

Each function returns a clean float64 array or raises :class:`InputError`
naming the quantity and its value.
"""
from __future__ import annotations

import numpy as np

from numerics.io.errors import InputError

# Symmetry and PSD checks are relative to the matrix scale; 1e-10 tolerates
# float64 round-off in X^T X / N while still catching genuinely indefinite input.
SYMMETRY_RTOL = 1e-10
PSD_RTOL = 1e-10
# An inverse is refused when the condition number exceeds this: past it float64
# solutions carry no correct digits.
MAX_CONDITION = 1e14


_OK = object()


def _non_number(value):
    """The first entry of (nested lists of) ``value`` that is not a number, else ``_OK``.

    Strings (``"1.5"``), booleans, None and objects are not numbers here, even where
    numpy would convert them.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, (bool, np.bool_, str, bytes, dict)) or node is None:
            return node
        elif isinstance(node, np.ndarray) and node.dtype.kind in "bUSV":
            return node
    return _OK


def finite_array(name: str, value, ndim: int | None = None) -> np.ndarray:
    """Convert to a float64 array, requiring finite entries and (optionally) ``ndim``.

    Only numbers count: a string such as ``"1.5"`` or a boolean is refused, never converted.
    """
    bad = _non_number(value)
    if bad is not _OK:
        raise InputError(name, value, f"must hold numbers only; {bad!r} is not a number")
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
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


def positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]`` (a float such as 2.0 counts; booleans and strings do not)."""
    bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(name, value, f"must be an integer {bounds}")
    if value < minimum or (maximum is not None and value > maximum):
        raise InputError(name, value, f"must be an integer {bounds}")
    return int(value)


def preconditioner(name: str, value, d: int) -> np.ndarray:
    """A number (meaning that number times I) or a d x d matrix."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_)):
        g = finite_array(name, value, ndim=0)
        return float(g) * np.eye(d)
    return square(name, value, d)


MAX_SEED = 2**63 - 1


def seed(name: str, value) -> int:
    """A random seed: an integer in [0, 2^63 - 1] (numpy refuses negative seeds)."""
    return positive_int(name, value, minimum=0, maximum=MAX_SEED)


def unknown_keys(where: str, obj: dict, allowed, hint: str = "") -> None:
    """Refuse a key of the JSON object ``obj`` (found at ``where``) that is not in ``allowed``.

    The one unknown-key check of every JSON object the package parses (config, protocol, sweep
    spec, transcripts): the InputError names the first unknown key in sorted order and where
    it was found, e.g. ``agents[0] key = 'gama': is not allowed here; allowed keys: [...]``.
    ``hint`` is appended to the problem.
    """
    extra = sorted(set(obj) - set(allowed))
    if extra:
        more = f" (and {len(extra) - 1} more unknown)" if len(extra) > 1 else ""
        raise InputError(f"{where} key", extra[0], f"is not allowed here{more}; allowed keys: {sorted(allowed)}{hint}")
