"""``a2ad derive --protocol CONFIG.json``: the derived theory of the config's own protocol.

The config's protocol (or, without one, its round robin) is compiled by theory.protocol.compiler,
every derived object is proved (V1) before it is printed, and the result is written as
LaTeX (default ``protocol.tex``), macros (``a2ad-protocol.tex``), text or JSON (stdout
unless ``--out``). Macro names start with ``--prefix`` (default: from the config's file name,
:func:`theory.protocol.report.default_macro_prefix`: ``protocol_ring.json`` -> ``aadProtocolRing``).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

DEFAULT_OUT = {"latex": "protocol.tex", "macros": "a2ad-protocol.tex"}


def macros(derived, config: str, prefix: str | None) -> str:
    """The macros file: header (fingerprint, provenance, hypotheses, version), names from ``prefix``."""
    from proofs_check import __version__
    from proofs_check.statements import provenance
    from theory.protocol.report import default_macro_prefix

    prov = provenance.of("P1")
    return derived.to_macros(prefix or default_macro_prefix(Path(config).stem), source=Path(config).name,
                             version=__version__, provenance=f"{prov.kind}: {prov.citation}")


def run(args) -> int:
    from numerics import api
    from numerics.io import outputs

    # --prefix was checked by proofs_check.cli.derive.run, the only caller
    out = args.out or DEFAULT_OUT.get(args.format)
    # checked before any work
    path = outputs.check_path("--out", out, inputs=[args.protocol], force=args.force) if out else None
    if getattr(api.load_config(args.protocol), "random", None) is not None:
        return run_random(args, path)
    derived = api.derive_protocol(args.protocol)  # a step that does not verify: DerivationRefused
    if args.format == "latex":
        text = derived.to_latex(f"Derived theory of the protocol of {Path(args.protocol).name}")
    elif args.format == "macros":
        text = macros(derived, args.protocol, args.prefix)
    elif args.format == "json":
        text = derived.to_json() + "\n"
    else:
        text = derived.to_text() + "\n"
    if path is None:
        sys.stdout.write(text)
        return 0
    outputs.write_text(path, text)
    n = len(derived.checks)
    print(f"{path}: derived theory of {len(derived.agents)} agents, {len(derived.phases)} phases; "
          f"{n} identities, every one proved (V1)")
    return 0


def run_random(args, path) -> int:
    """A config with ``protocol.random`` (R1-R3): theory.protocol.random_report, every formula proved (V1)."""
    from numerics import api
    from numerics.io import outputs
    from numerics.io.errors import InputError
    from numerics.protocol.symbol_names import check_symbol_names
    from proofs_check import __version__
    from theory.protocol import random_report as RR
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.random_description import from_numeric_random
    from theory.protocol.report import Unverified

    system = api.load_config(args.protocol)
    check_symbol_names([a.name for a in system.agents])
    rp = system.random
    rs = from_numeric_random(rp)
    # agents with ``noise`` add N_k to the second moment, as predict's covariance does
    noisy = tuple(a.name for a, S in zip(system.agents, system.noise) if S is not None)
    try:
        doc = RR.derived_random(compile_random(dataclasses.replace(rs, noisy=noisy)))
    except Unverified as exc:
        raise InputError("protocol.random", Path(args.protocol).name, f"derivation refused: {exc}") from None
    name = Path(args.protocol).name
    if args.format == "latex":
        text = RR.as_latex(doc, f"Derived theory of the random protocol of {name}")
    elif args.format == "macros":
        from theory.protocol.report import default_macro_prefix
        text = RR.as_macros(doc, args.prefix or default_macro_prefix(Path(args.protocol).stem), name, __version__)
    elif args.format == "json":
        text = RR.as_json(doc) + "\n"
    else:
        text = RR.as_text(doc) + "\n"
    if path is None:
        sys.stdout.write(text)
        return 0
    outputs.write_text(path, text)
    print(f"{path}: derived theory of a random protocol ({len(doc['agents'])} agents, "
          f"{len(doc['alternatives'])} alternatives); {len(doc['checks'])} identities, every one proved (V1)")
    return 0
