"""``a2ad derive --protocol CONFIG.json``: the derived theory of the config's own protocol.

The config's protocol (or, without one, its round robin) is compiled by theory.protocol.compiler,
every derived object is proved (V1) before it is printed, and the result is written as
LaTeX (default ``protocol.tex``), macros (``a2ad-protocol.tex``), text or JSON (stdout
unless ``--out``).
"""
from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_OUT = {"latex": "protocol.tex", "macros": "a2ad-protocol.tex"}


def run(args) -> int:
    from numerics.io import config, outputs
    from numerics.protocol import spec as nproto
    from theory.protocol import compiler as P, report

    out = args.out or DEFAULT_OUT.get(args.format)
    path = outputs.check_path("--out", out, inputs=[args.protocol], force=args.force) if out else None  # before any work
    system = config.load(args.protocol)
    proto = system.protocol or nproto.round_robin(system.names, system.initial_message)
    try:
        cp = P.compile_protocol(P.from_numeric(proto))
    except P.TooLarge as exc:
        from numerics.io.errors import InputError
        raise InputError("protocol", args.protocol, f"is too dense for symbolic elimination ({exc}); "
                                                    "predict and simulate still work") from None
    try:
        doc = report.derived_theory(cp, steps={a.name: a.steps for a in system.agents})
    except report.Unverified as exc:
        print(f"a2ad derive: refused: {exc}", file=sys.stderr)
        return 1
    if args.format == "latex":
        text = report.as_latex(doc, f"Derived theory of the protocol of {Path(args.protocol).name}")
    elif args.format == "macros":
        text = report.as_macros(doc)
    elif args.format == "json":
        text = report.as_json(doc) + "\n"
    else:
        text = report.as_text(doc) + "\n"
    if path is None:
        sys.stdout.write(text)
        return 0
    outputs.write_text(path, text)
    n = len(doc["checks"])
    print(f"{path}: derived theory of {len(doc['agents'])} agents, {len(doc['phases'])} phases; "
          f"{n} identities, every one proved (V1)")
    return 0
