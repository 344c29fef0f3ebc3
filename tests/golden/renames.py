"""The rename map from the recorded golden outputs to schema version 1 (one vocabulary, ``predict``'s).

The golden files were recorded by the CLI before every document carried ``schema_version`` and
before the other documents took ``predict``'s names. Rather than re-recording them (which would
check today's CLI against itself), each test applies this documented map to the *recorded*
document and compares the result with today's output, so every recorded value is still checked:

- ``rename``: a key changes its name, in place (same position, same value);
- ``key_by``: a list of per-agent objects becomes an object keyed by agent name (the ``name``
  field becomes the key);
- ``add``: a new key whose value is computed here from the *recorded* values (never read from
  today's output), inserted first or after a named key.

Each step refuses to apply when its key is missing or its new name already exists, so a stale or
colliding map fails loudly instead of hiding a value (tests/test_cli_golden.py plants both).
The same table, as old key -> new key, is in docs/config.rst.
"""
from __future__ import annotations

import json

import numpy as np

SCHEMA_VERSION = 1  # written here, not imported: the golden's expectation is independent of the code


class StaleMap(ValueError):
    """A step of the map does not fit the recorded document (missing key or name collision)."""


def _objects(doc, path: tuple):
    """The objects at ``path`` (``"*"`` matches every value of an object or list)."""
    if not path:
        yield doc
        return
    head, rest = path[0], path[1:]
    if head == "*":
        values = doc.values() if isinstance(doc, dict) else doc
        for v in values:
            yield from _objects(v, rest)
    else:
        if not isinstance(doc, dict) or head not in doc:
            raise StaleMap(f"no key {head!r} on the path")
        yield from _objects(doc[head], rest)


def _insert(obj: dict, key: str, value, after: str | None) -> dict:
    if key in obj:
        raise StaleMap(f"key {key!r} exists already")
    if after is not None and after not in obj:
        raise StaleMap(f"no key {after!r} to insert {key!r} after")
    items = list(obj.items())
    at = 0 if after is None else [k for k, _ in items].index(after) + 1
    items.insert(at, (key, value))
    obj.clear()
    obj.update(items)
    return obj


def rename(doc, path: tuple, old: str, new: str):
    for obj in list(_objects(doc, path)):
        if old not in obj:
            raise StaleMap(f"no key {old!r} to rename")
        if new in obj:
            raise StaleMap(f"renaming {old!r} onto the existing key {new!r}")
        items = [((new if k == old else k), v) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
    return doc


def key_by(doc, path: tuple, key: str, field: str):
    """``obj[key]``, a list of objects, becomes an object keyed by each one's ``field`` (dropped)."""
    for obj in list(_objects(doc, path)):
        entries = obj.get(key)
        if not isinstance(entries, list):
            raise StaleMap(f"{key!r} is not a list")
        names = [e[field] for e in entries]
        if len(set(names)) != len(names):
            raise StaleMap(f"{field!r} values repeat: {names}")
        obj[key] = {e[field]: {k: v for k, v in e.items() if k != field} for e in entries}
    return doc


def add(doc, path: tuple, key: str, value, after: str | None = None):
    """Insert ``key``; ``value`` is a constant or a function of the object (recorded values)."""
    for obj in list(_objects(doc, path)):
        _insert(obj, key, value(obj) if callable(value) else value, after)
    return doc


def _residual(entry):
    fp, target = entry["fixed_point"], entry["target"]
    return None if fp is None or target is None else (np.array(fp) - np.array(target)).tolist()


def _residual_norm(entry):
    r = entry["residual"]
    return None if r is None else float(np.linalg.norm(r))


def _versioned(doc):
    return add(doc, (), "schema_version", SCHEMA_VERSION)


def predict(doc):
    return _versioned(doc)


def simulate(doc):
    return rename(_versioned(doc), ("agents", "*"), "errors", "residual_norms")


def attack(doc):
    return rename(_versioned(doc), (), "unreachable_residual", "unreachable_residual_norm")


def fit(doc):
    _versioned(doc)
    rename(doc, (), "rate", "contraction_rate")
    add(doc, (), "converges", lambda d: all(a["predicted_plateau"] is not None for a in d["agents"]),
        after="contraction_rate")
    key_by(doc, (), "agents", "name")
    for old, new in (("messages", "message_count"), ("implied_target", "target"),
                     ("predicted_plateau", "fixed_point"), ("predicted_plateau_interval", "fixed_point_interval")):
        rename(doc, ("agents", "*"), old, new)
    add(doc, ("agents", "*"), "residual", _residual, after="fixed_point_interval")
    add(doc, ("agents", "*"), "residual_norm", _residual_norm, after="residual")
    return doc


# Prose outputs: (recorded text, today's text). Wording only: no entry holds a digit.
FIT_TEXT = (
    ("fitted round rate rho(Mhat) = ", "fitted contraction rate rho(Mhat) = "),
    ("  predicted plateau = ", "  predicted fixed point = "),
    ("      interval      = ", "      interval          = "),  # aligned under the longer label
)

# golden file -> (transform of the parsed JSON, indent it was printed with); None: text, FIT_TEXT
JSON_DOCUMENTS = {
    "predict": (predict, 2), "predict_p40": (predict, 2), "simulate_t7": (simulate, None),
    "attack_full": (attack, 2), "attack_rank_one": (attack, 2), "attack_steer": (attack, 2),
    "fit_json": (fit, None),
}


def kind(filename: str) -> str:
    """``two_agents.predict_p40.out`` -> ``predict_p40``."""
    return filename.split(".")[1]


def replace_text(data: bytes, table=FIT_TEXT) -> bytes:
    text = data.decode()
    for old, new in table:
        if old not in text:
            raise StaleMap(f"{old!r} is not in the recorded text")
        text = text.replace(old, new)
    return text.encode()


def expected(filename: str, recorded: bytes) -> bytes:
    """Today's output as the rename map predicts it from the recorded one (bytes as the CLI prints)."""
    k = kind(filename)
    if k == "fit_text":
        return replace_text(recorded)
    if k not in JSON_DOCUMENTS:
        return recorded  # unchanged (the llm-run summary line and the transcript)
    transform, indent = JSON_DOCUMENTS[k]
    return (json.dumps(transform(json.loads(recorded)), indent=indent, allow_nan=False) + "\n").encode()
