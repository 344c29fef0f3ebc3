"""Conversation transcripts as JSONL (format version 1), written and read with validation.

One JSON object per line, one line per message, in speaking order::

    {"turn": 0, "agent": "A", "incoming": [0.0, 0.0], "outgoing": [0.41, -0.12],
     "prompt": {"X": [[...], ...], "y": [...]}, "meta": {"reply": "w = [0.41, -0.12]"}}

- ``turn`` (integer >= 0): the round; every agent speaks once per round.
- ``agent`` (non-empty string): who spoke.
- ``incoming`` / ``outgoing`` (lists of d finite numbers): the message the agent heard
  and the one it sent. All lines share one dimension d.
- ``prompt`` (optional): the agent's in-context examples ``X`` (N x d) and labels ``y`` (N).
- ``meta`` (optional): any JSON object (model name, raw reply, ...). Never an API key.

Blank lines are ignored. :func:`read` checks every line and reports every bad one by
line number; nothing is evaluated, and NaN or infinity is rejected.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InputError

FORMAT_VERSION = 1
REQUIRED = ("turn", "agent", "incoming", "outgoing")
OPTIONAL = ("prompt", "meta")
MAX_REPORTED = 20  # bad lines listed in one error message


@dataclass(frozen=True)
class Record:
    turn: int
    agent: str
    incoming: np.ndarray
    outgoing: np.ndarray
    prompt: dict | None = None
    meta: dict = field(default_factory=dict)

    def to_json(self) -> str:
        out = {"turn": self.turn, "agent": self.agent, "incoming": self.incoming.tolist(),
               "outgoing": self.outgoing.tolist()}
        if self.prompt is not None:
            out["prompt"] = {"X": np.asarray(self.prompt["X"]).tolist(), "y": np.asarray(self.prompt["y"]).tolist()}
        if self.meta:
            out["meta"] = self.meta
        return json.dumps(out, allow_nan=False)


@dataclass(frozen=True)
class Transcript:
    records: tuple[Record, ...]

    @property
    def d(self) -> int:
        return self.records[0].incoming.shape[0]

    @property
    def agents(self) -> list[str]:
        """Agent names in speaking order (order of first appearance)."""
        return list(dict.fromkeys(r.agent for r in self.records))

    def pairs(self, agent: str) -> tuple[np.ndarray, np.ndarray]:
        """``(incoming, outgoing)`` of one agent, each (n, d), in turn order."""
        rs = [r for r in self.records if r.agent == agent]
        return np.array([r.incoming for r in rs]), np.array([r.outgoing for r in rs])

    def write(self, path) -> Path:
        path = Path(path)
        path.write_text("".join(r.to_json() + "\n" for r in self.records))
        return path


def from_run(agents: Sequence, initial_message, messages: np.ndarray, meta: dict | None = None) -> Transcript:
    """The transcript of a round-robin run (``simulate.run`` output, shape (turns, K, d)).

    Works for any agent (GD, LSA, helper, noisy, text): agent i at round t heard the
    message before its own. Prompts are included when the agent has ``geometry.X``, and
    a text agent's raw reply behind each message as ``meta["reply"]``.
    """
    records, w = [], np.asarray(initial_message, dtype=float)
    for t in range(messages.shape[0]):
        for i, agent in enumerate(agents):
            geometry = getattr(getattr(agent, "agent", agent), "geometry", None)  # noisy wrappers delegate
            X = getattr(geometry, "X", None)
            prompt = None if X is None else {"X": X, "y": geometry.y}
            extra = {"reply": agent.replies[t]} if hasattr(agent, "replies") else {}
            records.append(Record(t, agent.name, w, messages[t, i], prompt,
                                  {"kind": type(agent).__name__, **(meta or {}), **extra}))
            w = messages[t, i]
    return Transcript(tuple(records))


def _no_constants(token: str):
    raise ValueError(f"non-finite number {token} (only finite numbers are allowed)")


def _vector(value, key: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise ValueError(f"'{key}' must be a non-empty list of numbers")
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"'{key}' has a non-finite or non-numeric entry {x!r}")
    return np.array(value, dtype=float)


def parse_line(text: str) -> Record:
    """One validated record; raises ValueError with the reason."""
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("must be a JSON object")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(repr(k) for k in missing)}")
    extra = sorted(set(obj) - set(REQUIRED) - set(OPTIONAL))
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(repr(k) for k in extra)}; allowed: {REQUIRED + OPTIONAL}")
    turn = obj["turn"]
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        raise ValueError(f"'turn' must be an integer >= 0, got {turn!r}")
    if not isinstance(obj["agent"], str) or not obj["agent"]:
        raise ValueError(f"'agent' must be a non-empty string, got {obj['agent']!r}")
    incoming, outgoing = _vector(obj["incoming"], "incoming"), _vector(obj["outgoing"], "outgoing")
    if incoming.shape != outgoing.shape:
        raise ValueError(f"'incoming' has {incoming.size} entries but 'outgoing' has {outgoing.size}")
    prompt = obj.get("prompt")
    if prompt is not None:
        if not isinstance(prompt, dict) or set(prompt) != {"X", "y"}:
            raise ValueError("'prompt' must be an object with exactly 'X' and 'y'")
        if not isinstance(prompt["X"], list) or not prompt["X"]:
            raise ValueError("'prompt.X' must be a non-empty list of rows")
        if not all(isinstance(r, list) and len(r) == incoming.size for r in prompt["X"]):
            raise ValueError(f"'prompt.X' rows must each have d = {incoming.size} numbers")
        X = np.array([_vector(row, "prompt.X row") for row in prompt["X"]])
        y = _vector(prompt["y"], "prompt.y")
        if y.size != X.shape[0]:
            raise ValueError(f"'prompt.y' has {y.size} labels for {X.shape[0]} rows of X")
        prompt = {"X": X, "y": y}
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError("'meta' must be a JSON object")
    return Record(turn, obj["agent"], incoming, outgoing, prompt, meta)


def parse(lines: Sequence[str], source: str = "transcript") -> Transcript:
    """Validate every line; one InputError lists all bad lines (by 1-based line number)."""
    records, bad, d = [], [], None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            rec = parse_line(text)
            if d is None:
                d = rec.incoming.size
            elif rec.incoming.size != d:
                raise ValueError(f"dimension {rec.incoming.size} differs from the first message's dimension {d}")
            records.append(rec)
        except ValueError as exc:
            bad.append(f"line {number}: {exc}")
    if bad:
        shown = bad[:MAX_REPORTED] + ([f"... and {len(bad) - MAX_REPORTED} more"] if len(bad) > MAX_REPORTED else [])
        raise InputError(source, f"{len(bad)} bad line(s)", "\n  " + "\n  ".join(shown))
    if not records:
        raise InputError(source, "no messages", "a transcript needs at least one JSON line")
    return Transcript(tuple(records))


def read(path) -> Transcript:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("transcript file", str(path), f"cannot be read ({exc})") from None
    return parse(text.splitlines(), source=f"transcript {path}")
