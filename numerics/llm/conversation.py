"""A conversation of text agents written to a transcript, message by message, and resumed.

:func:`run` is what ``a2ad llm-run`` does after parsing its options: the agents of a config
answer in turn (its round robin) or along its protocol's phases; every answer is appended to
the transcript as soon as it is read (flushed and synced), so an interrupted or failed run keeps
every finished reply, and ``resume=True`` continues such a transcript from its last message after
checking that it is a prefix of this config's run (same agents, prompts and schedule).

Under a random protocol (``protocol.random``) each round's alternative is drawn from ``seed``
(:mod:`numerics.protocol.random_transcript`) and recorded in every message with the seed
(``meta.schedule_seed``); a resumed run continues the chain from the last recorded alternative and
draws exactly what an uninterrupted run with the same seed draws.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numerics.io import locks, transcripts
from numerics.io.errors import InputError, ServiceError
from numerics.llm import text_protocol
from numerics.protocol import config, simulate

__all__ = ["Conversation", "run", "text_agents"]


@dataclass(frozen=True)
class Conversation:
    """What a run wrote: ``messages`` in the transcript at ``path`` (``new`` of them by this run)."""

    path: Path
    messages: int
    new: int
    agents: int
    rounds: int
    phases: int | None  # None: the round robin (no protocol header), or a random protocol
    reasks: int
    alternatives: int | None = None  # a random protocol: how many alternatives it draws from

    def summary(self, resumed: bool) -> str:
        """The line ``a2ad llm-run`` prints."""
        shape = f" of {self.phases} phase(s)" if self.phases is not None else ""
        if self.alternatives is not None:
            shape = f", each drawn from {self.alternatives} alternatives"
        return (f"{self.path}: {self.messages} messages from {self.agents} agents over {self.rounds} rounds{shape}"
                + (f" ({self.new} new)" if resumed else "")
                + (f" ({self.reasks} unreadable replies re-asked)" if self.reasks else ""))


def run(raw_config: dict, agents: list, v0: np.ndarray, turns: int, out, *, meta: dict, resume: bool = False,
        deadline: float | None = None, deadline_option=None, seed: int = 0) -> Conversation:
    """Run the conversation of ``agents`` (from :func:`text_agents`) for ``turns`` rounds into ``out``.

    Parameters
    ----------
    raw_config : dict
        The decoded CONFIG.json (its ``protocol``, if any, gives the schedule).
    agents, v0 : list of TextAgent, numpy.ndarray
        The text agents and the first incoming message (:func:`text_agents`).
    turns : int
        Rounds; every agent speaks once per round (or as often as the protocol lists it).
    out : path
        The transcript (JSONL); held under a lock for the whole run.
    meta : dict
        Backend description recorded with every message.
    resume : bool
        Continue the transcript at ``out`` (checked to be a prefix of this run).
    deadline : float or None
        ``time.monotonic()`` by which the run stops (finished messages are kept);
        ``deadline_option`` is the value the error names.
    seed : int
        Seed of a random protocol's schedule (unused otherwise).

    Returns
    -------
    Conversation
    """
    with locks.hold(out):  # one run per transcript: a second run on it is refused before it reads or writes
        if resume:
            _continue_noise(agents, out)
        if isinstance(raw_config.get("protocol"), dict) and "random" in raw_config["protocol"]:
            return _run_random(raw_config, agents, v0, turns, out, meta, resume, deadline, deadline_option, seed)
        if "protocol" in raw_config:
            return _run_protocol(raw_config, agents, v0, turns, out, meta, resume, deadline, deadline_option)
        return _run_round_robin(agents, v0, turns, out, meta, resume, deadline, deadline_option)


def _continue_noise(agents, path) -> None:
    """Move each local text agent's noise past the answers it already gave in the transcript at ``path``,
    so a resumed run draws what an uninterrupted one draws (an unreadable transcript is left to the
    resume checks, which name the problem)."""
    try:
        tr = transcripts.read(path)
    except (InputError, OSError):
        return
    for agent in agents:
        skip = getattr(agent.complete, "skip", None)
        if skip is not None:
            skip(sum(1 for r in tr.records if r.agent == agent.name), agent.d)


def _check_deadline(deadline, option, n: int, total, out) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise InputError("--deadline", option, f"reached after {n} of {total} messages; "
                                               f"{out} keeps them (continue with --resume)")


def _answer(agent, heard, n: int, total, out):
    try:
        return agent.respond(heard)
    except (InputError, ServiceError) as exc:  # a bad reply or a failed service: the transcript is kept
        raise exc.amended(f" (after {n} of {total} messages; {out} keeps them: continue with --resume)") from None


def text_agents(raw_config, complete_for, decimals: int, max_reasks: int):
    """TextAgents for every configured agent (``complete_for(index)`` gives its text callable)."""
    parsed, v0 = config.parse_agents(raw_config)
    agents = []
    for i, (name, geom, _, steps) in enumerate(parsed):
        if geom.X is None:
            raise InputError(f"{name}.prompt", None, "llm-run needs every agent's examples as 'prompt' {X, y}")
        if steps != 1:
            raise InputError(f"{name}.steps_per_turn", steps, "a text agent answers once per turn (use 1)")
        agents.append(text_protocol.TextAgent(name, geom, complete_for(i), decimals, max_reasks))
    return agents, v0


def _check_prompt(rec, agent, n: int, path) -> None:
    prompt = rec.prompt or {}
    same = all(key in prompt and np.array_equal(prompt[key], getattr(agent.geometry, key)) for key in ("X", "y"))
    if not same:
        raise InputError("--resume", str(path), f"message {n + 1}: {agent.name}'s prompt differs from the config's")


def _resume_point(path, agents, v0) -> tuple[int, np.ndarray]:
    """How many messages the transcript at ``path`` already holds, and the last one (the next incoming).

    The transcript must be a prefix of this config's run: same agents in the same order, same
    prompts, each message heard from the previous one.
    """
    if not Path(path).exists():
        return 0, v0
    if Path(path).stat().st_size and not Path(path).read_bytes().endswith(b"\n"):
        raise InputError("--resume", str(path), "the transcript's last line is incomplete; remove it and resume")
    try:
        tr = transcripts.read(path)
    except InputError as exc:
        if exc.value == "no messages":
            if Path(path).read_text(encoding="utf-8").strip():  # a protocol header and nothing else
                raise InputError("--resume", str(path), "was started under a protocol; this config has none") from None
            return 0, v0
        raise
    if tr.header is not None:
        raise InputError("--resume", str(path), "was recorded under a protocol; this config has none")
    records = tr.records
    K, w = len(agents), v0
    for n, rec in enumerate(records):
        agent = agents[n % K]
        if rec.turn != n // K or rec.agent != agent.name:
            raise InputError("--resume", str(path), f"message {n + 1} is from {rec.agent} at turn {rec.turn}; "
                                                    f"this config expects {agent.name} at turn {n // K}")
        if rec.incoming.shape != w.shape or not np.array_equal(rec.incoming, w):
            raise InputError("--resume", str(path), f"message {n + 1} did not hear the previous message")
        _check_prompt(rec, agent, n, path)
        w = rec.outgoing
    return len(records), w


HEADER_ONLY = "header only"


def _read_for_resume(path: Path, header: dict):
    """The transcript to resume: ``None`` when missing or empty, :data:`HEADER_ONLY` when only this
    protocol's header line was written, else the parsed transcript (an incomplete last line is an error)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    if not path.read_bytes().endswith(b"\n"):
        raise InputError("--resume", str(path), "the transcript's last line is incomplete; remove it and resume")
    try:
        return transcripts.read(path)
    except InputError as exc:
        if exc.value == "no messages" and path.read_text(encoding="utf-8").strip() == \
                transcripts.header_line(header).strip():
            return HEADER_ONLY
        raise


def _resume_protocol(path, agents, proto):
    """``(messages already in the transcript, Schedule positioned after them)``, or ``(0, None)``
    when the transcript is missing or empty (then the header is still to be written)."""
    from numerics.protocol import transcript as pt

    path = Path(path)
    tr = _read_for_resume(path, pt.header(proto))
    if tr is None:
        return 0, None
    if tr == HEADER_ONLY:
        return 0, pt.Schedule(proto)  # only the header was written
    if tr.header is not None and "random" in tr.header["protocol"]:
        raise InputError("--resume", str(path), "was recorded under a random protocol; this config's is deterministic")
    if tr.header is None or not pt.same(pt.from_header(tr.header, tr.d), proto):
        raise InputError("--resume", str(path), "was not recorded under this config's protocol")
    rep = pt.replay(proto, tr.records)  # schedule and inputs checked message by message
    for n, rec in enumerate(tr.records):
        _check_prompt(rec, agents[proto.names.index(rec.agent)], n, path)
    return len(tr.records), rep.schedule


def _run_protocol(raw_config, agents, v0, turns, out, meta, resume, deadline, option) -> Conversation:
    """llm-run under the config's protocol (message by message along its schedule)."""
    from numerics.protocol import spec as protocol_mod, transcript as pt

    proto = protocol_mod.parse(raw_config["protocol"], [a.name for a in agents], v0.shape[0], v0)
    speaks = proto.speaks_per_round()
    simulate.check_size(agents, turns, speaks)
    done, schedule = _resume_protocol(out, agents, proto) if resume else (0, None)
    fresh = schedule is None
    schedule = schedule or pt.Schedule(proto)
    total, written = turns * sum(speaks), 0
    with transcripts.Appender(out, fresh=not resume or fresh, header=pt.header(proto)) as sink:
        while schedule.turn < turns:
            n = done + written
            _check_deadline(deadline, option, n, total, out)
            t, p, i = schedule.next()
            heard, agent = schedule.heard(), agents[i]
            w_next = _answer(agent, heard, n, total, out)
            sink.append(transcripts.record(agent, t, heard, w_next, meta, agent.replies[-1], phase=p))
            schedule.write(w_next)
            written += 1
    return Conversation(Path(out), done + written, written, len(agents), turns, len(proto.phases),
                        sum(a.reasks for a in agents))


def _resume_random(path, agents, rp, seed: int):
    """``(messages already in the transcript, RandomSchedule positioned after them)``, or ``(0, None)``
    when the transcript is missing or empty. The transcript must have been drawn with ``seed``."""
    from numerics.protocol import random_transcript as rt

    path = Path(path)
    tr = _read_for_resume(path, rt.header(rp))
    if tr is None:
        return 0, None
    if tr == HEADER_ONLY:
        return 0, rt.RandomSchedule(rp, lambda t, prev: 0)  # only the header was written
    if tr.header is None or "random" not in tr.header["protocol"] or not rt.same(rt.from_header(tr.header, tr.d), rp):
        raise InputError("--resume", str(path), "was not recorded under this config's protocol")
    seeds = sorted({repr(r.meta.get("schedule_seed")) for r in tr.records})
    if seeds != [repr(seed)]:
        raise InputError("--seed", seed, f"differs from the schedule seed the transcript was drawn with "
                                         f"({', '.join(seeds)}): resume with that --seed")
    rep = rt.replay(rp, tr.records)  # alternatives, schedule and inputs checked message by message
    for n, rec in enumerate(tr.records):
        _check_prompt(rec, agents[rp.names.index(rec.agent)], n, path)
    return len(tr.records), rep.schedule


def _run_random(raw_config, agents, v0, turns, out, meta, resume, deadline, option, seed: int) -> Conversation:
    """llm-run under the config's random protocol: each round's alternative drawn from ``seed``."""
    from numerics.protocol import random_transcript as rt

    _, rp = config.parse_any_protocol(raw_config["protocol"], [a.name for a in agents], v0.shape[0], v0)
    assert rp is not None
    simulate.check_size(agents, turns, rt.messages_per_round(rp))
    done, schedule = _resume_random(out, agents, rp, seed) if resume else (0, None)
    fresh = schedule is None
    schedule = schedule or rt.RandomSchedule(rp, lambda t, prev: 0)
    schedule.draw = rt.uniform_drawer(rp, rt.uniforms(seed, turns))  # the seed's draws from here on
    meta = {**meta, "schedule_seed": seed}
    written = 0
    with transcripts.Appender(out, fresh=not resume or fresh, header=rt.header(rp)) as sink:
        while schedule.pending(turns):
            n = done + written
            _check_deadline(deadline, option, n, f"{turns} rounds'", out)
            t, p, i, k = schedule.next()
            heard, agent = schedule.heard(), agents[i]
            w_next = _answer(agent, heard, n, f"{turns} rounds'", out)
            sink.append(transcripts.record(agent, t, heard, w_next, meta, agent.replies[-1], phase=p,
                                           alternative=k, label=rp.labels[k]))
            schedule.write(w_next)
            written += 1
    return Conversation(Path(out), done + written, written, len(agents), turns, None,
                        sum(a.reasks for a in agents), rp.n_alt)


def _run_round_robin(agents, v0, turns, out, meta, resume, deadline, option) -> Conversation:
    """llm-run without a protocol: the agents speak in turn, each hearing the previous message."""
    simulate.check_size(agents, turns)
    done, w = _resume_point(out, agents, v0) if resume else (0, v0)
    K = len(agents)
    written = 0
    with transcripts.Appender(out, fresh=not resume) as sink:
        for n in range(done, turns * K):
            _check_deadline(deadline, option, n, turns * K, out)
            t, agent = n // K, agents[n % K]
            w_next = _answer(agent, w, n, turns * K, out)
            sink.append(transcripts.record(agent, t, w, w_next, meta, agent.replies[-1]))
            w, written = w_next, written + 1
    return Conversation(Path(out), done + written, written, K, turns, None, sum(a.reasks for a in agents))
