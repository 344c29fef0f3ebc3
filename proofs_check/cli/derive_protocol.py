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
# theory.protocol.report's keys -> the document's (predict's vocabulary; docs/config.rst)
PER_AGENT = {"steps_per_turn": "steps_per_turn", "fixed_points": "fixed_point", "residuals": "residual"}


def json_document(doc: dict) -> dict:
    """The ``--format json`` document of a derived theory: ``schema_version`` first, ``contraction_rate``
    for the symbolic rate, and one entry per agent keyed by name (``steps_per_turn``, ``fixed_point``
    and ``residual = fixed_point - target``, each as LaTeX, LaTeX terms and text) as ``predict`` has."""
    from numerics.io.schema import versioned

    agents = {name: {new: doc[old][name] for old, new in PER_AGENT.items() if name in doc[old]}
              for name in doc["agents"]}
    rest = {k: v for k, v in doc.items() if k not in PER_AGENT and k not in ("agents", "rate")}
    return versioned({"agents": agents, "contraction_rate": doc["rate"], **rest})


def run(args) -> int:
    from numerics.io import config, outputs
    from numerics.protocol import spec as nproto
    from theory.protocol import compiler as P
    from theory.protocol import report

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
    except report.Unverified as exc:  # theory/ raises its own class (it imports nothing from numerics)
        from numerics.io.errors import DerivationRefused
        raise DerivationRefused(str(exc)) from None
    if args.format == "latex":
        text = report.as_latex(doc, f"Derived theory of the protocol of {Path(args.protocol).name}")
    elif args.format == "macros":
        text = report.as_macros(doc)
    elif args.format == "json":
        text = report.as_json(json_document(doc)) + "\n"
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
