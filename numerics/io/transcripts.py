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

A transcript recorded under an interaction protocol (the ``protocol`` key of CONFIG.json)
starts with one header line naming it, and each message also gives its ``phase``::

    {"schema_version": 1, "agents": ["A", "B", "C"], "protocol": {"rounds": [...], "initial_messages": {...}}}
    {"turn": 0, "agent": "A", "phase": 0, "incoming": [...], "outgoing": [...]}

There ``turn`` is the round, ``phase`` the index of the phase in ``rounds``, and ``incoming``
the agent's input ``sum_j W_ij m_j`` (the messages as they stood at the start of the phase);
messages follow the protocol's schedule (:mod:`numerics.protocol.transcript` replays and checks it).
Under a random protocol (``protocol.random``: each round one alternative is drawn) each message
also gives the round's drawn ``alternative`` (its 0-based index in ``random``) and its ``label``
(the alternative's ``name``, else its index as text); ``phase`` then indexes that alternative's
phases. A round whose alternative is empty (nobody speaks) leaves no line: its turn is skipped.
Headers written before schema version 1 name the version ``format`` instead of
``schema_version``; they are still read.

Blank lines are ignored. :func:`read` checks every line and reports every bad one by
line number; nothing is evaluated, and NaN or infinity is rejected. Reading is bounded
(:data:`MAX_TRANSCRIPT_BYTES`, :data:`MAX_DIM`), lines are decoded strictly (duplicate keys,
integers beyond float64 refused) and the file must be UTF-8.

:class:`Appender` writes a transcript one record at a time, flushed and synced after each,
so an interrupted run keeps every finished message (``a2ad llm-run --resume`` continues it).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from numerics.io import jsonio, validate
from numerics.io.errors import InputError
from numerics.io.schema import SCHEMA_VERSION

FORMAT_VERSION = SCHEMA_VERSION  # the header's schema_version (every document's: numerics.io.schema)
LEGACY_VERSION_KEY = "format"  # the header's version key before schema version 1
REQUIRED = ("turn", "agent", "incoming", "outgoing")
OPTIONAL = ("prompt", "meta")
PROTOCOL_KEYS = ("phase", "alternative", "label")  # message keys under a protocol header
HEADER_KEYS = ("schema_version", "agents", "protocol")  # the first line of a transcript recorded under a protocol
MAX_REPORTED = 10  # bad lines listed in one error message (one line)
MAX_TRANSCRIPT_BYTES = 64 * 2**20  # ~10^5 messages with their prompts
MAX_DIM = 200  # message dimension: the fit solves (d+1) x (d+1) systems per bootstrap resample


@dataclass(frozen=True)
class Record:
    turn: int
    agent: str
    incoming: np.ndarray
    outgoing: np.ndarray
    prompt: dict | None = None
    meta: dict = field(default_factory=dict)
    phase: int | None = None  # index of the protocol phase (transcripts with a protocol header only)
    alternative: int | None = None  # the round's drawn alternative (random protocols only)
    label: str | None = None  # that alternative's name

    def to_json(self) -> str:
        out = {"turn": self.turn, "agent": self.agent}
        if self.phase is not None:
            out["phase"] = self.phase
        if self.alternative is not None:
            out.update(alternative=self.alternative, label=self.label)
        out.update(incoming=self.incoming.tolist(), outgoing=self.outgoing.tolist())
        if self.prompt is not None:
            out["prompt"] = {"X": np.asarray(self.prompt["X"]).tolist(), "y": np.asarray(self.prompt["y"]).tolist()}
        if self.meta:
            out["meta"] = self.meta
        return json.dumps(out, allow_nan=False)


@dataclass(frozen=True)
class Transcript:
    records: tuple[Record, ...]
    header: dict | None = None  # {"schema_version": 1, "agents": [...], "protocol": {...}} of a protocol run

    @property
    def d(self) -> int:
        return self.records[0].incoming.shape[0]

    @property
    def agents(self) -> list[str]:
        """Agent names: the header's list under a protocol, else in speaking order (order of first appearance)."""
        if self.header is not None:
            return list(self.header["agents"])
        return list(dict.fromkeys(r.agent for r in self.records))

    def pairs(self, agent: str) -> tuple[np.ndarray, np.ndarray]:
        """``(incoming, outgoing)`` of one agent, each (n, d), in turn order."""
        rs = [r for r in self.records if r.agent == agent]
        return np.array([r.incoming for r in rs]), np.array([r.outgoing for r in rs])

    def write(self, path) -> Path:
        """Write the whole transcript atomically (temporary file, then rename)."""
        from numerics.io.outputs import write_text

        head = "" if self.header is None else header_line(self.header)
        return write_text(path, head + "".join(r.to_json() + "\n" for r in self.records))


def header_line(header: dict) -> str:
    """The JSON line that opens a transcript recorded under a protocol."""
    return json.dumps({k: header[k] for k in HEADER_KEYS}, allow_nan=False) + "\n"


def record(agent, turn: int, incoming, outgoing, meta: dict | None = None, reply: str | None = None,
           phase: int | None = None, alternative: int | None = None, label: str | None = None) -> Record:
    """The record of one message: prompts when the agent has ``geometry.X``, the raw reply as ``meta["reply"]``."""
    geometry = getattr(getattr(agent, "agent", agent), "geometry", None)  # noisy wrappers delegate
    X = getattr(geometry, "X", None)
    prompt = None if geometry is None or X is None else {"X": X, "y": geometry.y}
    extra = {} if reply is None else {"reply": reply}
    return Record(turn, agent.name, np.asarray(incoming, dtype=float), np.asarray(outgoing, dtype=float), prompt,
                  {"kind": type(agent).__name__, **(meta or {}), **extra}, phase, alternative, label)


class Appender:
    """Append records to a JSONL file as they happen (each line flushed and fsynced).

    ``fresh``: the file is first created, or replaced, atomically (empty, or holding the protocol
    header line) by :func:`numerics.io.outputs.write_text`; otherwise (a resumed run) lines are
    appended to the file as it is. Concurrent runs on one transcript are kept apart by the
    caller's lock (``a2ad llm-run`` holds :func:`numerics.io.locks.hold` on ``--out``).
    """

    def __init__(self, path, fresh: bool, header: dict | None = None):
        from numerics.io.outputs import make_dirs, write_text

        self.path = Path(path)
        if fresh:  # a protocol run: the header line first
            write_text(self.path, "" if header is None else header_line(header))
        make_dirs(self.path.parent)
        try:
            self._fh = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise InputError("--out", str(path), f"cannot be written ({exc.strerror or exc})") from None

    def _write(self, line: str) -> None:
        self._fh.write(line)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, rec: Record) -> None:
        self._write(rec.to_json() + "\n")

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def from_run(agents: Sequence, initial_message, messages: np.ndarray, meta: dict | None = None) -> Transcript:
    """The transcript of a round-robin run (``simulate.run`` output, shape (turns, K, d)).

    Works for any agent (GD, LSA, helper, noisy, text): agent i at round t heard the
    message before its own. Prompts are included when the agent has ``geometry.X``, and
    a text agent's raw reply behind each message as ``meta["reply"]``. The records are those
    of :func:`record`, with each agent's prompt and kind looked up once, not once per message.
    """
    messages = np.asarray(messages, dtype=float)
    per_agent = []
    for agent in agents:
        first = record(agent, 0, messages[0, 0], messages[0, 0], meta)  # the agent's prompt and meta
        per_agent.append((agent.name, first.prompt, first.meta, getattr(agent, "replies", None)))
    records, w = [], np.asarray(initial_message, dtype=float)
    for t in range(messages.shape[0]):
        row = messages[t]
        for i, (name, prompt, base, replies) in enumerate(per_agent):
            reply = replies[t] if replies is not None else None
            records.append(Record(t, name, w, row[i], None if prompt is None else dict(prompt),
                                  dict(base) if reply is None else {**base, "reply": reply}))
            w = row[i]
    return Transcript(tuple(records))


def _vector(value, key: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise ValueError(f"'{key}' must be a non-empty list of numbers")
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"'{key}' has a non-finite or non-numeric entry {x!r}")
    return np.array(value, dtype=float)


def _decode(text: str):
    try:
        obj = jsonio.decode_strict(text, constants=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError("must be a JSON object")
    return obj


def parse_header(obj: dict) -> dict:
    """The header of a protocol transcript (its structure; the protocol itself is checked on use).

    A header written before schema version 1 (``format`` in place of ``schema_version``) is read as one."""
    if LEGACY_VERSION_KEY in obj and "schema_version" not in obj:
        obj = {("schema_version" if k == LEGACY_VERSION_KEY else k): v for k, v in obj.items()}
    validate.unknown_keys("protocol header", obj, HEADER_KEYS)
    missing = [k for k in HEADER_KEYS if k not in obj]
    if missing:
        raise ValueError(f"a protocol header needs exactly the fields {list(HEADER_KEYS)}; missing {missing}")
    if isinstance(obj["schema_version"], bool) or obj["schema_version"] != FORMAT_VERSION:
        raise ValueError(f"'schema_version' must be {FORMAT_VERSION}, got {obj['schema_version']!r}")
    names = obj["agents"]
    if not isinstance(names, list) or len(names) < 2 or \
            not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError("'agents' must be a list of at least 2 distinct non-empty names")
    if not isinstance(obj["protocol"], dict):
        raise ValueError("'protocol' must be a JSON object with 'rounds' (and 'initial_messages')")
    return obj


def parse_line(text: str, protocol: bool = False) -> Record:
    """One validated record; raises ValueError (an InputError for an unknown key) with the reason
    (``phase`` only under a ``protocol`` header)."""
    obj = _decode(text)
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(repr(k) for k in missing)}")
    allowed = REQUIRED + OPTIONAL + (PROTOCOL_KEYS if protocol else ())
    present = [repr(k) for k in PROTOCOL_KEYS if k in obj]
    hint = (f"; {' and '.join(present)} need{'s' if len(present) == 1 else ''} a protocol header line first"
            if present and not protocol else "")
    validate.unknown_keys("message", obj, allowed, hint)
    turn = obj["turn"]
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        raise ValueError(f"'turn' must be an integer >= 0, got {turn!r}")
    phase = obj.get("phase")
    if phase is not None and (isinstance(phase, bool) or not isinstance(phase, int) or phase < 0):
        raise ValueError(f"'phase' must be an integer >= 0, got {phase!r}")
    alternative, label = obj.get("alternative"), obj.get("label")
    if alternative is not None and (isinstance(alternative, bool) or not isinstance(alternative, int)
                                    or alternative < 0):
        raise ValueError(f"'alternative' must be an integer >= 0, got {alternative!r}")
    if (alternative is None) != (label is None):
        raise ValueError("'alternative' and 'label' go together (the drawn alternative's index and name)")
    if label is not None and (not isinstance(label, str) or not label):
        raise ValueError(f"'label' must be a non-empty string, got {label!r}")
    if not isinstance(obj["agent"], str) or not obj["agent"]:
        raise ValueError(f"'agent' must be a non-empty string, got {obj['agent']!r}")
    incoming, outgoing = _vector(obj["incoming"], "incoming"), _vector(obj["outgoing"], "outgoing")
    if incoming.size > MAX_DIM:
        raise ValueError(f"'incoming' has {incoming.size} entries; at most {MAX_DIM} are supported")
    if incoming.shape != outgoing.shape:
        raise ValueError(f"'incoming' has {incoming.size} entries but 'outgoing' has {outgoing.size}")
    prompt = obj.get("prompt")
    if prompt is not None:
        if not isinstance(prompt, dict):
            raise ValueError("'prompt' must be an object with exactly 'X' and 'y'")
        validate.unknown_keys("prompt", prompt, ("X", "y"))
        if set(prompt) != {"X", "y"}:
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
    return Record(turn, obj["agent"], incoming, outgoing, prompt, meta, phase, alternative, label)


def parse(lines: Sequence[str], source: str = "transcript") -> Transcript:
    """Validate every line; one InputError lists all bad lines (by 1-based line number)."""
    records, bad, d, header, first = [], [], None, None, True
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            if first:
                first = False
                obj = _decode(text)
                if "protocol" in obj and "turn" not in obj:
                    header = parse_header(obj)
                    continue
            rec = parse_line(text, protocol=header is not None)
            if d is None:
                d = rec.incoming.size
            elif rec.incoming.size != d:
                raise ValueError(f"dimension {rec.incoming.size} differs from the first message's dimension {d}")
            records.append(rec)
        except ValueError as exc:
            bad.append(f"line {number}: {exc}")
    if bad:
        shown = bad[:MAX_REPORTED] + ([f"... and {len(bad) - MAX_REPORTED} more"] if len(bad) > MAX_REPORTED else [])
        raise InputError(source, f"{len(bad)} bad line(s)", "; ".join(shown))  # one line for the CLI
    if not records:
        raise InputError(source, "no messages", "a transcript needs at least one JSON line")
    return Transcript(tuple(records), header)


def read(path) -> Transcript:
    """Read and validate a JSONL transcript (bounded size, UTF-8)."""
    text = jsonio.read_text(path, "transcript file", MAX_TRANSCRIPT_BYTES)
    return parse(text.splitlines(), source=f"transcript {path}")
