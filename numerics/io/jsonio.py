"""Strict, bounded JSON input for configs and transcripts (no eval, no surprises).

- Files are read in binary with a size cap (:data:`MAX_CONFIG_BYTES`), so ``/dev/zero``
  or a huge file is refused after reading at most the cap, and decoded as UTF-8
  (a BOM is allowed; UTF-16 or other bytes are a one-line error).
- :func:`loads` rejects duplicate object keys, integers outside the float64 range,
  number literals that overflow float64 (``1e400``) and nesting deeper than
  :data:`MAX_DEPTH`. ``NaN``/``Infinity`` literals decode to float NaN/inf so the
  validators can name the quantity that holds them.
- Every float keeps its decimal text (:class:`ExactFloat`), so ``--precision`` reads
  ``1e-300`` as exactly 10^-300, not as the nearest binary64.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from numerics.io.errors import InputError

MAX_CONFIG_BYTES = 16 * 2**20  # a config is a few kB; 16 MiB leaves room for large prompts
MAX_DEPTH = 64  # configs nest 5 deep (config > agents > agent > prompt > X > row)
MAX_INT_DIGITS = 309  # |n| < 10^309 may still round to a finite float64; checked exactly below
FLOAT64_MAX = 1.7976931348623157e308


class ExactFloat(float):
    """A float decoded from JSON that remembers its decimal text (``.text``)."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str):
        self = super().__new__(cls, text)
        self.text = text
        return self


class JSONInputError(ValueError):
    """Raised inside decoding hooks; becomes one InputError line."""


def _parse_float(text: str) -> ExactFloat:
    value = ExactFloat(text)
    if not math.isfinite(value):
        raise JSONInputError(f"number {text[:40]} is too large for float64")
    return value


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise JSONInputError(f"integer of {len(digits)} digits is too large for float64")
    value = int(text)
    if abs(value) > FLOAT64_MAX:
        raise JSONInputError(f"integer {text[:40]}... is too large for float64")
    return value


def _pairs(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise JSONInputError(f"duplicate key {key[:60]!r} in one object")
        seen.add(key)
    return dict(pairs)


def _depth_ok(obj) -> bool:
    """Iterative depth check (no recursion, whatever the input)."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def _no_constants(token: str):
    raise JSONInputError(f"non-finite number {token} (only finite numbers are allowed)")


def decode_strict(text: str, constants: bool = True):
    """``json.loads`` with the strict hooks; raises ValueError (JSONDecodeError, JSONInputError) or
    RecursionError. With ``constants=False``, NaN/Infinity literals are refused too."""
    kwargs: dict[str, Any] = {} if constants else {"parse_constant": _no_constants}
    return json.loads(text, parse_float=_parse_float, parse_int=_parse_int, object_pairs_hook=_pairs, **kwargs)


def loads(text: str, what: str = "JSON", where: str = "text"):
    """Decode ``text`` strictly; any problem is one :class:`InputError` naming ``what`` (at ``where``)."""
    try:
        obj = decode_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(what, where, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except JSONInputError as exc:
        raise InputError(what, where, f"is refused: {exc}") from None
    except RecursionError:
        raise InputError(what, where, f"is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not _depth_ok(obj):
        raise InputError(what, where, f"is nested too deeply (at most {MAX_DEPTH} levels)")
    return obj


def read_bytes(path, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; a longer file (or stream such as /dev/zero) is refused."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(what, str(path), f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(what, str(path), f"is larger than the limit of {limit} bytes")
    return data


def decode(data: bytes, what: str, path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(what, str(path), f"is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def read_text(path, what: str, limit: int = MAX_CONFIG_BYTES) -> str:
    """Bounded read + strict UTF-8 decoding."""
    return decode(read_bytes(path, what, limit), what, path)


def load(path, what: str = "config file", limit: int = MAX_CONFIG_BYTES):
    """Read and strictly decode one JSON document from a file."""
    return loads(read_text(path, what, limit), what, str(path))
