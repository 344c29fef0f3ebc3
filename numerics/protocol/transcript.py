"""Transcripts of protocol runs: the schedule of messages, and its replay with checks.

Under a protocol (:mod:`numerics.protocol.spec`) a round runs the phases in order; in phase p
every listed agent i hears ``sum_j W_ij m_j`` of the messages as they stood at the start
of the phase, and all listed agents write at once. :class:`Schedule` walks that order one
message at a time (who speaks next, what it hears), so the LLM runner and the transcript
replay share one definition of it. :func:`replay` rebuilds every agent's input from a
transcript's *outgoing* messages and the protocol (the inputs the fit uses), and checks
that the transcript follows the schedule and that each recorded ``incoming`` is that input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.io.errors import InputError
from numerics.protocol import simulate
from numerics.protocol.spec import Protocol

# A recorded input may differ from the rebuilt ``sum_j W_ij m_j`` by float64 rounding of a
# sum in another order (the runner's own sum is bitwise equal); anything larger means the
# transcript was not recorded under this protocol.
INCOMING_RTOL = 1e-9


class Schedule:
    """The protocol's messages in order, with the state they are computed from.

    ``next()`` gives ``(turn, phase, agent index)`` of the next message, ``heard()`` that
    agent's input, ``write(message)`` records its answer (visible to others only when the
    phase ends). ``rounds`` collects every agent's message at the end of each round.
    """

    def __init__(self, protocol: Protocol):
        self.protocol = protocol
        self.m = np.array(protocol.initial, dtype=float)  # the messages at the start of the phase
        self._new = self.m.copy()
        self.turn = self.phase = self.slot = 0
        self.rounds: list[np.ndarray] = []

    def next(self) -> tuple[int, int, int]:
        return self.turn, self.phase, self.protocol.phases[self.phase][self.slot][0]

    def heard(self) -> np.ndarray:
        """``sum_j W_ij m_j`` for the next speaker i, summed as the simulator does (bit for bit)."""
        return simulate.heard(self.m, self.protocol.phases[self.phase][self.slot][1])

    def write(self, message) -> None:
        i = self.protocol.phases[self.phase][self.slot][0]
        self._new[i] = message
        self.slot += 1
        if self.slot == len(self.protocol.phases[self.phase]):  # the phase ends: everyone writes at once
            self.m, self._new = self._new, self._new.copy()
            self.slot, self.phase = 0, self.phase + 1
            if self.phase == len(self.protocol.phases):
                self.rounds.append(self.m.copy())
                self.phase, self.turn = 0, self.turn + 1


@dataclass(frozen=True)
class Replay:
    """A transcript replayed under its protocol."""

    inputs: tuple[np.ndarray, ...]  # per agent (n_i, d): the rebuilt inputs sum_j W_ij m_j
    outputs: tuple[np.ndarray, ...]  # per agent (n_i, d): its messages
    rounds: np.ndarray  # (complete rounds, K, d): every agent's message at the end of each round
    schedule: Schedule  # positioned after the last message (to continue a run)


def check_record(n: int, rec, d: int, heard: np.ndarray, check_incoming: bool, who: str) -> None:
    """Transcript message ``n`` (0-based): its dimension is the protocol's ``d`` and, with ``check_incoming``,
    its incoming message is the input ``heard`` that ``who`` gets under the protocol (within INCOMING_RTOL)."""
    if rec.outgoing.shape != (d,):
        raise InputError(f"transcript message {n + 1} dimension", rec.outgoing.size,
                         f"differs from the protocol's initial messages (d = {d})")
    if check_incoming:
        gap = float(np.max(np.abs(rec.incoming - heard)))
        if not gap <= INCOMING_RTOL * max(1.0, float(np.max(np.abs(heard)))):
            raise InputError(f"transcript message {n + 1} incoming", rec.incoming,
                             f"differs from the input sum_j W_ij m_j = {np.round(heard, 6).tolist()} of {who} "
                             f"(by {gap:.3g}): the transcript was not recorded under this protocol")


def replay(protocol: Protocol, records, check_incoming: bool = True) -> Replay:
    """Rebuild each agent's inputs from the outgoing messages of ``records`` and ``protocol``.

    InputError when a message is out of the protocol's order (wrong agent, turn or phase), or
    when its recorded ``incoming`` differs from the rebuilt input by more than
    :data:`INCOMING_RTOL` (relative): then the transcript was recorded under another protocol.
    """
    s = Schedule(protocol)
    names = protocol.names
    inputs: list[list[np.ndarray]] = [[] for _ in names]
    outputs: list[list[np.ndarray]] = [[] for _ in names]
    for n, rec in enumerate(records):
        t, p, i = s.next()
        if rec.agent != names[i] or rec.turn != t or (rec.phase is not None and rec.phase != p):
            got = f"{rec.agent} at turn {rec.turn}" + ("" if rec.phase is None else f", phase {rec.phase}")
            raise InputError(f"transcript message {n + 1}", got,
                             f"the protocol's schedule expects {names[i]} at turn {t}, phase {p}")
        heard = s.heard()
        check_record(n, rec, s.m.shape[1], heard, check_incoming, names[i])
        inputs[i].append(heard)
        outputs[i].append(rec.outgoing)
        s.write(rec.outgoing)
    d = s.m.shape[1]
    stack = lambda xs: np.array(xs, dtype=float).reshape(-1, d)  # noqa: E731
    rounds = np.array(s.rounds).reshape(-1, protocol.K, d)
    return Replay(tuple(stack(x) for x in inputs), tuple(stack(y) for y in outputs), rounds, s)


def header(protocol: Protocol) -> dict:
    """The transcript header naming ``protocol`` (see :mod:`numerics.io.transcripts`)."""
    from numerics.io.transcripts import FORMAT_VERSION
    return {"schema_version": FORMAT_VERSION, "agents": list(protocol.names), "protocol": protocol.as_dict()}


def from_header(head: dict, d: int) -> Protocol:
    """The protocol a transcript header names, validated like a config's ``protocol`` (exit 2 on
    errors); an agent missing from ``initial_messages`` starts at 0."""
    from numerics.protocol.spec import parse
    return parse(head["protocol"], head["agents"], d, np.zeros(d))


def same(a: Protocol, b: Protocol) -> bool:
    """Same agents, phases, weights and initial messages."""
    return (a.names == b.names and a.phases == b.phases and a.initial.shape == b.initial.shape
            and bool(np.array_equal(a.initial, b.initial)))


def run(agents, protocol: Protocol, turns: int):
    """Run ``agents`` (anything with ``name`` and ``respond``) under ``protocol`` for ``turns`` rounds,
    message by message; returns the :class:`numerics.io.transcripts.Transcript` (with its protocol header).
    (The LLM runner walks the same :class:`Schedule` with its own deadline and resume handling.)"""
    from numerics.io.transcripts import Transcript, record

    s = Schedule(protocol)
    records = []
    while s.turn < turns:
        t, p, i = s.next()
        heard = s.heard()
        agent = agents[i]
        out = np.asarray(agent.respond(heard), dtype=float)
        records.append(record(agent, t, heard, out, phase=p))
        s.write(out)
    return Transcript(tuple(records), header(protocol))
