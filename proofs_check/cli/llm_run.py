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
Under a random protocol (``protocol.random``) each round's alternative is drawn from ``--seed``
and recorded in every message (``alternative``, ``label``); ``--resume`` continues the chain from
the last recorded alternative, drawing exactly what an uninterrupted run with that seed draws.
"""
from __future__ import annotations

import os
import time

import numpy as np

from numerics.io import outputs, validate
from numerics.io.errors import InputError
from numerics.llm import client as llm_client, conversation, text_protocol
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
    p.add_argument("--seed", type=int, default=0,
                   help="seed (>= 0) of a random protocol's schedule (resume with the same one) and of the local "
                        "backend's noise")
    p.set_defaults(func=run)


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
    agents, v0 = conversation.text_agents(raw_config, complete_for, args.decimals, args.max_reasks)
    done = conversation.run(raw_config, agents, v0, turns, out, meta=meta, resume=args.resume, deadline=deadline,
                            deadline_option=args.deadline, seed=seed)
    print(done.summary(args.resume))
    return 0
