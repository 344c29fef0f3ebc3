"""``a2ad derive [--claims ...] [--format latex|macros|text|json] [--out FILE] [--force]``.

``--claims`` restricts every format to those claims' derivations and formulas. ``--out`` is
checked before any work and an existing file is replaced only with ``--force``. ``--prefix``
(macros only, letters only) starts every macro name the file defines, so that files with
different prefixes can be ``\\input`` into one paper.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter

DEFAULT_OUT = {"latex": "derivations.tex", "macros": "a2ad-formulas.tex"}


def register(sub) -> None:
    p = sub.add_parser("derive", help="derivations as LaTeX (every step verified), formula macros, text or JSON")
    p.add_argument("--claims", default=None, help="comma-separated claim IDs (default: all)")
    p.add_argument("--format", default="latex", choices=["latex", "macros", "text", "json"],
                   help="latex: derivations.tex; macros: a2ad-formulas.tex (\\newcommand per formula); "
                        "text: Python/SymPy syntax (sympy.parse_expr reads it); json: LaTeX, text with its symbols "
                        "table, fingerprint and provenance per formula; every format in registry order")
    p.add_argument("--protocol", default=None, metavar="CONFIG.json",
                   help="derive the theory of this config's own protocol instead of the registered claims")
    p.add_argument("--out", default=None, help="output file (default derivations.tex / a2ad-formulas.tex; "
                                               "text and json go to stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--prefix", default=None, metavar="NAME",
                   help="--format macros: letters that start every macro name (default aad; with --protocol, "
                        "aad + the config's file name, e.g. protocol_ring.json -> aadProtocolRing)")
    p.set_defaults(func=run)


def check_prefix(args) -> None:
    """``--prefix`` is letters only (a LaTeX command name) and only for ``--format macros``."""
    from numerics.io.errors import InputError

    if args.prefix is None:
        return
    if args.format != "macros":
        raise InputError("--prefix", args.prefix, "applies only to --format macros")
    if not re.fullmatch(r"[A-Za-z]+", args.prefix):
        raise InputError("--prefix", args.prefix, "must be letters only (A-Z, a-z), as LaTeX command names require")


def set_hypothesis_home(directory: str | None) -> None:
    """Where Hypothesis keeps its files (``None``: its default, ``./.hypothesis``)."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # without Hypothesis its methods are skipped and nothing is written
        return
    set_hypothesis_home_dir(directory)


def verified_statuses(claims) -> dict[str, str]:
    """Run the quick profile on ``claims`` and say so; Hypothesis writes nothing in the working directory.

    Its example database is off (properties.py) and its other storage (the constants cache) goes to a
    temporary folder removed afterwards, so the user's folder gets only the file asked for.
    """
    import tempfile

    from proofs_check.verification import registry, runner

    print(f"verifying {len(claims)} claims with the quick profile ({', '.join(c.id for c in claims)}) "
          "for the macros' verification comments", flush=True)
    with tempfile.TemporaryDirectory(prefix="a2ad-hypothesis-") as tmp:
        set_hypothesis_home(tmp)
        try:
            rep = runner.run(claims, registry.Profile.named("quick"))
        finally:
            set_hypothesis_home(None)
    return {c["id"]: f"{c['status']} by {', '.join(m['method'] for m in c['methods'])} (quick profile)"
            for c in rep["claims"]}


def run(args) -> int:
    check_prefix(args)
    if args.protocol:
        from proofs_check.cli import derive_protocol as protocol_derive
        return protocol_derive.run(args)
    from numerics.io import outputs
    from numerics.io.schema import versioned
    from proofs_check.claims import select
    from proofs_check.cli.verify import claim_ids

    claims = select(claim_ids(args.claims))
    out = args.out or DEFAULT_OUT.get(args.format)
    path = outputs.check_path("--out", out, force=args.force) if out else None  # before any work

    from proofs_check.report import formula_list, latex
    from proofs_check.statements import statements

    formulas = formula_list.ordered(c.id for c in claims)  # one order for every format
    # a step that does not verify raises DerivationRefused: the CLI prints "refused" and exits 2
    if args.format == "latex":
        doc, steps = latex.derivations_tex(claims)
        outputs.write_text(path, doc)
        methods = Counter(m.split(",")[0] for s in steps.values() for v in s.values() for m in v)
        by = ", ".join(f"{n} by {m}" for m, n in sorted(methods.items()))
        print(f"{path}: {len(claims)} claims, {sum(methods.values())} derivation steps, every one proved ({by})")
    elif args.format == "macros":
        statuses = verified_statuses([c for c in claims if c.id in {f.claim for f in formulas}])
        outputs.write_text(path, latex.macros_tex(statuses, formulas=formulas, prefix=args.prefix or "aad"))
        print(f"{path}: {len(formulas)} formulas")
    else:
        provs = {c.id: c.provenance for c in claims if c.provenance is not None}  # all: all_claims checks
        rows = [formula_list.row(f, provs[f.claim].kind, statements.to_text(f.description)) for f in formulas]
        text = json.dumps(versioned({"formulas": rows}), indent=2) if args.format == "json" else \
            "\n".join(f"{r['id']} [{r['fingerprint']}]  ({r['provenance']})\n    {r['text']}" for r in rows)
        (outputs.write_text(path, text + "\n") if path else sys.stdout.write(text + "\n"))
    return 0
