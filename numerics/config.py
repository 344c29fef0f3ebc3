"""CONFIG.json (schema version 1): parsing with validation, no eval.

See README.md. Each agent gives ``prompt`` {X, y} or ``geometry`` + ``target``,
a ``preconditioner`` (number or d x d matrix) and optional ``steps_per_turn``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import prompts, validate
from .agents import GDAgent
from .errors import InputError

TOP_KEYS = {"agents", "initial_message", "schema_version", "protocol"}
AGENT_KEYS = {"name", "prompt", "geometry", "target", "preconditioner", "steps_per_turn"}
PROMPT_KEYS = {"X", "y"}


@dataclass(frozen=True)
class System:
    """K >= 2 agents in speaking order and the first agent's incoming message."""

    agents: tuple[GDAgent, ...]
    initial_message: np.ndarray
    protocol: object = None  # numerics.protocol.Protocol, or None for the round robin

    @property
    def d(self) -> int:
        return self.agents[0].d

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    def stacked(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-turn transfers ``M_i^{s_i}`` (K, d, d) and offsets ``c_i`` (K, d)."""
        return np.stack([a.M for a in self.agents]), np.stack([a.c for a in self.agents])


def _unknown_keys(where: str, obj: dict, allowed: set[str]) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise InputError(f"{where} key", extra[0], f"is not allowed here; allowed keys: {sorted(allowed)}")


def _object(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise InputError(where, value, "must be a JSON object")
    return value


def parse_agent(index: int, raw) -> tuple[str, prompts.Geometry, object, int]:
    spec = _object(f"agents[{index}]", raw)
    _unknown_keys(f"agents[{index}]", spec, AGENT_KEYS)
    name = spec.get("name", chr(ord("A") + index) if index < 26 else f"agent{index}")
    if not isinstance(name, str) or not name:
        raise InputError(f"agents[{index}].name", name, "must be a non-empty string")
    has_prompt = "prompt" in spec
    has_geometry = "geometry" in spec or "target" in spec
    if has_prompt == has_geometry:
        raise InputError(f"{name}", sorted(spec), "give either 'prompt' (X, y) or 'geometry' plus 'target'")
    if has_prompt:
        p = _object(f"{name}.prompt", spec["prompt"])
        _unknown_keys(f"{name}.prompt", p, PROMPT_KEYS)
        if set(p) != PROMPT_KEYS:
            raise InputError(f"{name}.prompt", sorted(p), "needs both 'X' and 'y'")
        geom = prompts.from_prompt(p["X"], p["y"], name=f"{name}.prompt")
    else:
        for key in ("geometry", "target"):
            if key not in spec:
                raise InputError(f"{name}.{key}", None, "is missing ('geometry' and 'target' go together)")
        geom = prompts.from_geometry(spec["geometry"], spec["target"], name=name)
    steps = validate.positive_int(f"{name}.steps_per_turn", spec.get("steps_per_turn", 1))
    return name, geom, spec.get("preconditioner"), steps


def parse_agents(raw) -> tuple[list[tuple[str, prompts.Geometry, object, int]], np.ndarray]:
    """The validated agent entries ``(name, geometry, preconditioner or None, steps)`` and ``v_0``."""
    top = _object("config", raw)
    _unknown_keys("config", top, TOP_KEYS)
    if top.get("schema_version", 1) != 1:
        raise InputError("schema_version", top["schema_version"], "only schema version 1 is supported")
    agents_raw = top.get("agents")
    if not isinstance(agents_raw, list) or len(agents_raw) < 2:
        raise InputError("agents", agents_raw if not isinstance(agents_raw, list) else len(agents_raw),
                         "must be a list of at least 2 agents")
    parsed = [parse_agent(i, a) for i, a in enumerate(agents_raw)]
    names = [p[0] for p in parsed]
    if len(set(names)) != len(names):
        raise InputError("agents.name", names, "agent names must be distinct")
    d = parsed[0][1].d
    for name, geom, _, _ in parsed:
        if geom.d != d:
            raise InputError(f"{name} dimension", geom.d, f"differs from the first agent's dimension {d}")
    return parsed, validate.vector("initial_message", top.get("initial_message", [0.0] * d), d)


def parse(raw) -> System:
    """Validate a decoded CONFIG.json object and build the system."""
    parsed, v0 = parse_agents(raw)
    for name, _, g, _ in parsed:
        if g is None:
            raise InputError(f"{name}.preconditioner", None, "is missing")
    d = v0.shape[0]
    agents = tuple(
        GDAgent(name, geom, validate.preconditioner(f"{name}.preconditioner", g, d), steps)
        for name, geom, g, steps in parsed)
    proto = None
    if "protocol" in raw:  # optional; without it the round robin, unchanged
        from .protocol import parse as parse_protocol
        proto = parse_protocol(raw["protocol"], [a.name for a in agents], d, v0)
    return System(agents=agents, initial_message=v0, protocol=proto)


def load(path) -> System:
    """Read and parse a CONFIG.json file."""
    return parse(read_json(path))


def read_json(path) -> object:
    """The decoded JSON of a config file (not yet validated: see :func:`parse`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError("config file", str(path), f"cannot be read ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("config file", str(path), f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return raw
