"""``a2ad verify``: run the claim registry and report."""
from __future__ import annotations

import json
import sys

from rich.console import Console

from .. import artifacts, registry, report, runner


def register(sub) -> None:
    p = sub.add_parser("verify", help="run every registered claim's verification methods")
    p.add_argument("--claims", help="comma-separated claim IDs (default: all), e.g. C2,C3")
    p.add_argument("--profile", default="quick", choices=sorted(registry.PROFILES))
    p.add_argument("--out", help="directory for report.json, report.md, derivations and figures")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(func=run)


def run(args) -> int:
    ids = [c.strip() for c in args.claims.split(",") if c.strip()] if args.claims else None
    claims = registry.select(ids)
    profile = registry.Profile.named(args.profile)
    err = Console(stderr=True)
    on_method = None if args.json else (lambda c, m: err.print(f"  {c.id} {m['method']}: {m['status']} ({m['seconds']:.2f} s)", highlight=False))
    rep = runner.run(claims, profile, on_method=on_method)
    if args.out:
        for path in artifacts.write_all(rep, claims, args.out):
            err.print(f"wrote {path}", highlight=False)
    if args.json:
        json.dump(rep, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        report.print_table(rep)
    return 0 if rep["summary"]["failed"] == 0 else 1
