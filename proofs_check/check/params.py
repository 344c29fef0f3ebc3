"""``--param NAME=VALUE`` values: decoded strictly as JSON (numerics.io.jsonio), never evaluated."""
from __future__ import annotations

import numpy as np

from numerics.io import jsonio, validate
from numerics.io.errors import InputError

MAX_STEPS = 10_000  # a list of steps per turn is simulated: a bound keeps a check cheap


def decode(item: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (NAME, decoded JSON VALUE)."""
    name, sep, text = item.partition("=")
    if not sep or not name:
        raise InputError("--param", item, "must be NAME=VALUE with VALUE a JSON literal")
    return name, jsonio.loads(text, what=f"--param {name}", where="its value")


def real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(name, value, "must be a number")
    x = float(value)
    if not np.isfinite(x):
        raise InputError(name, value, "must be finite")
    return x


def nonnegative(name: str, value) -> float:
    x = real(name, value)
    if x < 0:
        raise InputError(name, value, "must be >= 0")
    return x


def positive_int(name: str, value) -> int:
    return validate.positive_int(name, value, maximum=10**6)


def steps_list(name: str, value) -> list[int]:
    if not isinstance(value, list) or not value:
        raise InputError(name, value, "must be a non-empty JSON list of positive integers")
    return [validate.positive_int(f"{name}[{k}]", s, maximum=MAX_STEPS) for k, s in enumerate(value)]


def reals(name: str, value) -> list[float]:
    if not isinstance(value, list) or not value:
        raise InputError(name, value, "must be a non-empty JSON list of numbers")
    return [real(f"{name}[{k}]", s) for k, s in enumerate(value)]


def vector(name: str, value) -> np.ndarray:
    return validate.vector(name, value)


def matrix(name: str, value) -> np.ndarray:
    return validate.square(name, value)


def psd(name: str, value) -> np.ndarray:
    return validate.psd(name, value)
