"""``a2ad derive [--claims ...] [--format latex|macros|text|json] [--out FILE] [--force]``.

``--claims`` restricts every format to those claims' derivations and formulas. ``--out`` is
checked before any work and an existing file is replaced only with ``--force``.
"""
from __future__ import annotations

import json
import sys
from collections import Counter

DEFAULT_OUT = {"latex": "derivations.tex", "macros": "a2ad-formulas.tex"}


def register(sub) -> None:
    p = sub.add_parser("derive", help="derivations as LaTeX (every step verified), formula macros, text or JSON")
    p.add_argument("--claims", default=None, help="comma-separated claim IDs (default: all)")
    p.add_argument("--format", default="latex", choices=["latex", "macros", "text", "json"],
                   help="latex: derivations.tex; macros: a2ad-formulas.tex (\\newcommand per formula); "
                        "text: plain text; json: LaTeX, text, fingerprint and provenance per formula")
    p.add_argument("--protocol", default=None, metavar="CONFIG.json",
                   help="derive the theory of this config's own protocol instead of the registered claims")
    p.add_argument("--out", default=None, help="output file (default derivations.tex / a2ad-formulas.tex; "
                                               "text and json go to stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.protocol:
        from proofs_check.cli import derive_protocol as protocol_derive
        return protocol_derive.run(args)
    from numerics.io import outputs
    from numerics.io.schema import versioned
    from proofs_check.claims import select
    from proofs_check.cli.verify import claim_ids
    from proofs_check.verification import registry

    claims = select(claim_ids(args.claims))
    out = args.out or DEFAULT_OUT.get(args.format)
    path = outputs.check_path("--out", out, force=args.force) if out else None  # before any work

    from proofs_check.report import latex
    from proofs_check.statements import statements
    from proofs_check.verification import runner
    from theory.core.formulas import all_formulas

    ids = {c.id for c in claims}
    formulas = [f for f in all_formulas().values() if f.claim in ids]
    # a step that does not verify raises DerivationRefused: the CLI prints "refused" and exits 2
    if args.format == "latex":
        doc, steps = latex.derivations_tex(claims)
        outputs.write_text(path, doc)
        methods = Counter(m.split(",")[0] for s in steps.values() for v in s.values() for m in v)
        by = ", ".join(f"{n} by {m}" for m, n in sorted(methods.items()))
        print(f"{path}: {len(claims)} claims, {sum(methods.values())} derivation steps, every one proved ({by})")
    elif args.format == "macros":
        with_formulas = [c for c in claims if c.id in {f.claim for f in formulas}]
        rep = runner.run(with_formulas, registry.Profile.named("quick"))
        statuses = {c["id"]: f"{c['status']} ({', '.join(m['method'] for m in c['methods'])}; quick profile)"
                    for c in rep["claims"]}
        outputs.write_text(path, latex.macros_tex(statuses, claims=ids))
        print(f"{path}: {len(formulas)} formulas")
    else:
        provs = {c.id: c.provenance for c in claims if c.provenance is not None}  # all: all_claims checks
        rows = [{"id": f.id, "claim": f.claim, "latex": f.latex(), "text": f.text(), "fingerprint": f.fingerprint,
                 "macro": f.macro, "description": statements.to_text(f.description),
                 "provenance": provs[f.claim].kind} for f in formulas]
        text = json.dumps(versioned({"formulas": rows}), indent=2) if args.format == "json" else \
            "\n".join(f"{r['id']} [{r['fingerprint']}]  ({r['provenance']})\n    {r['text']}" for r in rows)
        (outputs.write_text(path, text + "\n") if path else sys.stdout.write(text + "\n"))
    return 0
