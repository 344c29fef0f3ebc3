"""``a2ad llm-run CONFIG.json --turns T --out TRANSCRIPT.jsonl``: two (or more) text agents talk.

Each agent's prompt (``X``, ``y`` from CONFIG.json) is written as a text task; the reply's
vector is its message. ``--backend http`` asks an OpenAI-compatible chat-completions service
(``--endpoint``/``--model`` or A2AD_LLM_ENDPOINT/A2AD_LLM_MODEL; the key only from the
environment variable named by ``--api-key-env``). ``--backend local`` uses the built-in
deterministic text agent (a GD step written with ``--decimals``), which needs no network.

Every message is appended to the transcript as soon as it is answered (flushed and synced),
so an interrupted or failed run keeps every finished reply; ``--resume`` continues such a
transcript from its last message. ``--out`` is checked before the first request.

With a ``protocol`` in the config the agents follow its phases: in each phase every listed
agent is asked with its input ``sum_j W_ij m_j`` (the messages at the start of the phase) as
the proposal, and all listed agents write at once. The transcript then opens with a header
line naming the protocol and each message gives its phase, so ``a2ad fit`` reads it back.
"""
from __future__ import annotations

import os
import time

import numpy as np

from numerics.io import locks, outputs, transcripts, validate
from numerics.io.errors import InputError, ServiceError
from numerics.llm import client as llm_client, text_protocol
from numerics.protocol import config, simulate

MAX_DEADLINE = 7 * 24 * 3600.0  # seconds: a week


def register(sub) -> None:
    p = sub.add_parser("llm-run", help="run text (LLM) agents on the config's prompts; write a JSONL transcript")
    p.add_argument("config", help="CONFIG.json; every agent needs a 'prompt' {X, y} (its preconditioner is unused)")
    p.add_argument("--turns", type=int, required=True,
                   help=f"rounds (each agent speaks once per round, or as often as the config's protocol lists it); "
                        f"turns x agents x d at most {simulate.MAX_MESSAGE_VALUES:,}")
    p.add_argument("--out", required=True, help="transcript path (JSONL), written one message at a time")
    p.add_argument("--force", action="store_true", help="replace an existing --out transcript")
    p.add_argument("--resume", action="store_true",
                   help="continue the --out transcript of an interrupted run (same config) up to --turns rounds")
    p.add_argument("--backend", choices=["http", "local"], default="http",
                   help="http: a chat-completions service; local: the built-in deterministic text agent")
    p.add_argument("--endpoint", default=None,
                   help=f"base URL, e.g. https://api.openai.com/v1 (or {llm_client.ENV_ENDPOINT})")
    p.add_argument("--model", default=None, help=f"model name (or {llm_client.ENV_MODEL})")
    p.add_argument("--api-key-env", default=llm_client.ENV_KEY,
                   help=f"environment variable holding the API key (default {llm_client.ENV_KEY}); never logged")
    p.add_argument("--timeout", type=float, default=60.0,
                   help=f"seconds per request, in total (slow responses included; at most {llm_client.MAX_TIMEOUT:g})")
    p.add_argument("--deadline", type=float, default=None,
                   help="seconds for the whole run (every request, retry and back-off); finished messages are kept")
    p.add_argument("--retries", type=int, default=2,
                   help=f"retries per request on network errors, 429 and 5xx (0 to {llm_client.MAX_RETRIES})")
    p.add_argument("--max-reasks", type=int, default=text_protocol.MAX_REASKS,
                   help=f"re-asks after an unreadable reply (0 to {text_protocol.MAX_REASKS_LIMIT})")
    p.add_argument("--decimals", type=int, default=text_protocol.DEFAULT_DECIMALS,
                   help=f"decimals in the prompt text (1 to {text_protocol.MAX_DECIMALS})")
    p.add_argument("--local-step", type=float, default=0.5, help="local backend: GD step size")
    p.add_argument("--local-noise", type=float, default=0.0, help="local backend: output noise std")
    p.add_argument("--seed", type=int, default=0, help="local backend: noise seed (>= 0)")
    p.set_defaults(func=run)


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
    from pathlib import Path

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


def _resume_protocol(path, agents, proto):
    """``(messages already in the transcript, Schedule positioned after them)``, or ``(0, None)``
    when the transcript is missing or empty (then the header is still to be written)."""
    from pathlib import Path

    from numerics.protocol import transcript as pt

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0, None
    if not path.read_bytes().endswith(b"\n"):
        raise InputError("--resume", str(path), "the transcript's last line is incomplete; remove it and resume")
    try:
        tr = transcripts.read(path)
    except InputError as exc:
        if exc.value == "no messages" and path.read_text(encoding="utf-8").strip() == \
                transcripts.header_line(pt.header(proto)).strip():
            return 0, pt.Schedule(proto)  # only the header was written
        raise
    if tr.header is None or not pt.same(pt.from_header(tr.header, tr.d), proto):
        raise InputError("--resume", str(path), "was not recorded under this config's protocol")
    rep = pt.replay(proto, tr.records)  # schedule and inputs checked message by message
    for n, rec in enumerate(tr.records):
        _check_prompt(rec, agents[proto.names.index(rec.agent)], n, path)
    return len(tr.records), rep.schedule


def _run_protocol(args, raw_config, agents, v0, turns, out, meta, deadline) -> int:
    """llm-run under the config's protocol (message by message along its schedule)."""
    from numerics.protocol import spec as protocol_mod, transcript as pt

    proto = protocol_mod.parse(raw_config["protocol"], [a.name for a in agents], v0.shape[0], v0)
    speaks = proto.speaks_per_round()
    simulate.check_size(agents, turns, speaks)
    done, schedule = _resume_protocol(out, agents, proto) if args.resume else (0, None)
    fresh = schedule is None
    schedule = schedule or pt.Schedule(proto)
    total, written = turns * sum(speaks), 0
    with transcripts.Appender(out, fresh=not args.resume or fresh, header=pt.header(proto)) as sink:
        while schedule.turn < turns:
            n = done + written
            if deadline is not None and time.monotonic() >= deadline:
                raise InputError("--deadline", args.deadline, f"reached after {n} of {total} messages; "
                                                              f"{out} keeps them (continue with --resume)")
            t, p, i = schedule.next()
            heard, agent = schedule.heard(), agents[i]
            try:
                w_next = agent.respond(heard)
            except (InputError, ServiceError) as exc:  # a bad reply or a failed service: the transcript is kept
                raise exc.amended(f" (after {n} of {total} messages; {out} keeps them: continue with --resume)"
                                  ) from None
            sink.append(transcripts.record(agent, t, heard, w_next, meta, agent.replies[-1], phase=p))
            schedule.write(w_next)
            written += 1
    reasks = sum(a.reasks for a in agents)
    print(f"{out}: {done + written} messages from {len(agents)} agents over {turns} rounds of "
          f"{len(proto.phases)} phase(s)" + (f" ({written} new)" if args.resume else "")
          + (f" ({reasks} unreadable replies re-asked)" if reasks else ""))
    return 0


def run(args) -> int:
    turns = validate.positive_int("--turns", args.turns)
    validate.positive_int("--max-reasks", args.max_reasks, minimum=0, maximum=text_protocol.MAX_REASKS_LIMIT)
    validate.positive_int("--decimals", args.decimals, maximum=text_protocol.MAX_DECIMALS)
    seed = validate.seed("--seed", args.seed)
    deadline = None
    if args.deadline is not None:
        if not 0 < args.deadline <= MAX_DEADLINE:
            raise InputError("--deadline", args.deadline, f"must be in (0, {MAX_DEADLINE:g}] seconds")
        deadline = time.monotonic() + args.deadline
    if args.resume and args.force:
        raise InputError("--resume/--force", True, "choose one: continue the transcript, or replace it")
    out = outputs.check_path("--out", args.out, inputs=[args.config], force=args.force or args.resume)
    raw_config = config.read_json(args.config)
    if args.backend == "local":
        if not np.isfinite(args.local_step) or args.local_noise < 0 or not np.isfinite(args.local_noise):
            raise InputError("--local-step/--local-noise", (args.local_step, args.local_noise),
                             "must be finite, the noise >= 0")
        meta = {"backend": "local", "step": args.local_step, "noise": args.local_noise, "seed": seed}

        def complete_for(i):
            return text_protocol.gd_text_agent(args.local_step, args.decimals, args.local_noise, seed + i)
    else:
        client = llm_client.from_options(args.endpoint, args.model, os.environ.get(args.api_key_env, ""),
                                         timeout=args.timeout, retries=args.retries)
        client.deadline = deadline
        meta = {"backend": "http", "endpoint": client.redact(client.endpoint), "model": client.model}

        def complete_for(i):
            return client
    agents, v0 = text_agents(raw_config, complete_for, args.decimals, args.max_reasks)
    with locks.hold(out):  # one run per transcript: a second llm-run on --out is refused before it reads or writes
        if "protocol" in raw_config:
            return _run_protocol(args, raw_config, agents, v0, turns, out, meta, deadline)
        return _run_round_robin(args, agents, v0, turns, out, meta, deadline)


def _run_round_robin(args, agents, v0, turns, out, meta, deadline) -> int:
    """llm-run without a protocol: the agents speak in turn, each hearing the previous message."""
    simulate.check_size(agents, turns)
    done, w = _resume_point(out, agents, v0) if args.resume else (0, v0)
    K = len(agents)
    written = 0
    with transcripts.Appender(out, fresh=not args.resume) as sink:
        for n in range(done, turns * K):
            if deadline is not None and time.monotonic() >= deadline:
                raise InputError("--deadline", args.deadline, f"reached after {n} of {turns * K} messages; "
                                                              f"{out} keeps them (continue with --resume)")
            t, agent = n // K, agents[n % K]
            try:
                w_next = agent.respond(w)
            except (InputError, ServiceError) as exc:  # a bad reply or a failed service: the transcript is kept
                raise exc.amended(f" (after {n} of {turns * K} messages; {out} keeps them: continue with --resume)"
                                  ) from None
            sink.append(transcripts.record(agent, t, w, w_next, meta, agent.replies[-1]))
            w, written = w_next, written + 1
    reasks = sum(a.reasks for a in agents)
    print(f"{out}: {done + written} messages from {K} agents over {turns} rounds"
          + (f" ({written} new)" if args.resume else "")
          + (f" ({reasks} unreadable replies re-asked)" if reasks else ""))
    return 0
