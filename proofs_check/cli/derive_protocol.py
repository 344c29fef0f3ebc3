"""``a2ad derive --protocol CONFIG.json``: the derived theory of the config's own protocol.

The config's protocol (or, without one, its round robin) is compiled by theory.protocol.compiler,
every derived object is proved (V1) before it is printed, and the result is written as
LaTeX (default ``protocol.tex``), macros (``a2ad-protocol.tex``), text or JSON (stdout
unless ``--out``). Macro names start with ``--prefix`` (default: from the config's file name,
:func:`theory.protocol.report.default_macro_prefix`: ``protocol_ring.json`` -> ``aadProtocolRing``).
"""
from __future__ import annotations

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
