"""``a2ad llm-run CONFIG.json --turns T --out TRANSCRIPT.jsonl``: two (or more) text agents talk.

Each agent's prompt (``X``, ``y`` from CONFIG.json) is written as a text task; the reply's
vector is its message. ``--backend http`` asks an OpenAI-compatible chat-completions service
(``--endpoint``/``--model`` or A2AD_LLM_ENDPOINT/A2AD_LLM_MODEL; the key only from the
environment variable named by ``--api-key-env``). ``--backend local`` uses the built-in
deterministic text agent (a GD step written with ``--decimals``), which needs no network.
"""
from __future__ import annotations

import os

import numpy as np

from numerics import config, llm_client, simulate, text_protocol, transcripts
from numerics.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("llm-run", help="run text (LLM) agents on the config's prompts; write a JSONL transcript")
    p.add_argument("config", help="CONFIG.json; every agent needs a 'prompt' {X, y} (its preconditioner is unused)")
    p.add_argument("--turns", type=int, required=True, help="rounds (each agent speaks once per round)")
    p.add_argument("--out", required=True, help="transcript path (JSONL)")
    p.add_argument("--backend", choices=["http", "local"], default="http",
                   help="http: a chat-completions service; local: the built-in deterministic text agent")
    p.add_argument("--endpoint", default=None, help=f"base URL, e.g. https://api.openai.com/v1 (or {llm_client.ENV_ENDPOINT})")
    p.add_argument("--model", default=None, help=f"model name (or {llm_client.ENV_MODEL})")
    p.add_argument("--api-key-env", default=llm_client.ENV_KEY,
                   help=f"environment variable holding the API key (default {llm_client.ENV_KEY}); never logged")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (at most 600)")
    p.add_argument("--retries", type=int, default=2, help="retries per request on network errors, 429 and 5xx")
    p.add_argument("--max-reasks", type=int, default=text_protocol.MAX_REASKS,
                   help="re-asks after an unreadable reply")
    p.add_argument("--decimals", type=int, default=text_protocol.DEFAULT_DECIMALS, help="decimals in the prompt text")
    p.add_argument("--local-step", type=float, default=0.5, help="local backend: GD step size")
    p.add_argument("--local-noise", type=float, default=0.0, help="local backend: output noise std")
    p.add_argument("--seed", type=int, default=0, help="local backend: noise seed")
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


def run(args) -> int:
    if args.backend == "local":
        if not np.isfinite(args.local_step) or args.local_noise < 0 or not np.isfinite(args.local_noise):
            raise InputError("--local-step/--local-noise", (args.local_step, args.local_noise),
                             "must be finite, the noise >= 0")
        meta = {"backend": "local", "step": args.local_step, "noise": args.local_noise, "seed": args.seed}
        def complete_for(i):
            return text_protocol.gd_text_agent(args.local_step, args.decimals, args.local_noise, args.seed + i)
    else:
        client = llm_client.from_options(args.endpoint, args.model, os.environ.get(args.api_key_env, ""),
                                         timeout=args.timeout, retries=args.retries)
        meta = {"backend": "http", "endpoint": client.endpoint, "model": client.model}
        def complete_for(i):
            return client
    agents, v0 = text_agents(config.read_json(args.config), complete_for, args.decimals, args.max_reasks)
    messages = simulate.run(agents, v0, args.turns)
    tr = transcripts.from_run(agents, v0, messages, meta)
    path = tr.write(args.out)
    reasks = sum(a.reasks for a in agents)
    print(f"{path}: {len(tr.records)} messages from {len(agents)} agents over {args.turns} rounds"
          + (f" ({reasks} unreadable replies re-asked)" if reasks else ""))
    return 0

