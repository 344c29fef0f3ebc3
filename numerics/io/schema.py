"""The schema version every JSON document of the package carries, inputs and outputs alike.

``CONFIG.json`` and ``SPEC.json`` may give ``schema_version`` (default 1); every document the
CLI prints or writes (``predict``, ``simulate``, ``attack``, ``fit --json``, ``derive --format
json``, ``verify``'s report, a sweep's ``spec.json``, a protocol transcript's header, the
metadata of ``train-lsa``'s weights) opens with ``"schema_version": 1``. The names inside
follow one vocabulary, ``predict``'s (``contraction_rate``, ``fixed_point``, ``residual``,
``residual_norm``, ``converges``, ``reason``, ``target``); docs/config.rst lists every key.
"""
from __future__ import annotations

from numerics.io.errors import InputError

SCHEMA_VERSION = 1


def check_version(obj: dict) -> None:
    """An input's optional ``schema_version`` must be the integer :data:`SCHEMA_VERSION` (InputError otherwise)."""
    version = obj.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
        raise InputError("schema_version", version,
                         f"must be the integer {SCHEMA_VERSION} (the only supported schema version)")


def versioned(doc: dict) -> dict:
    """``doc`` with ``schema_version`` as its first key (a new dict; ``doc`` is not changed)."""
    return {"schema_version": SCHEMA_VERSION, **{k: v for k, v in doc.items() if k != "schema_version"}}
