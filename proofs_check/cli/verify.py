"""``a2ad verify``: run the claim registry and report."""
from __future__ import annotations

import sys

from numerics.io.errors import InputError
from proofs_check.claims import select
from proofs_check.cli.options import add_figure_format
from proofs_check.verification import registry

# What --out DIR receives (refused without --force when any of them exists); the figure in --figure-format.
OUT_FILES = ("report.json", "report.md", "derivations.tex", "derivations.pdf", "figures/verification_margins.png")


def out_files(figure_format: str = "png") -> tuple[str, ...]:
    """OUT_FILES with the figure in ``figure_format``."""
    return tuple(f.replace(".png", "." + figure_format) if f.startswith("figures/") else f for f in OUT_FILES)


def register(sub) -> None:
    p = sub.add_parser("verify", help="run every registered claim's verification methods")
    p.add_argument("--claims", help="comma-separated claim IDs (default: all), e.g. C2,C3")
    p.add_argument("--profile", default="quick", choices=sorted(registry.PROFILES))
    p.add_argument("--out", help="directory for report.json, report.md, derivations and figures")
    p.add_argument("--force", action="store_true", help="overwrite the report files in an existing --out directory")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    add_figure_format(p, what="figure in --out")
    p.add_argument("--no-cache", action="store_true",
                   help="rerun every symbolic proof instead of reading passed ones back from the proof cache "
                        "(~/.cache/a2ad, or $A2AD_CACHE_DIR)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes to run the methods in (default: one per core; 1 = serial)")
    p.set_defaults(func=run)


def claim_ids(text: str | None) -> list[str] | None:
    """``None`` (every claim) when the option is absent; an empty selection is an error, not 'all'."""
    if text is None:
        return None
    ids = [c.strip() for c in text.split(",") if c.strip()]
    if not ids:
        raise InputError("--claims", text, "names no claim; give comma-separated IDs such as C2,C3 or omit it")
    return ids


def run(args) -> int:
    import contextlib

    from numerics.io import locks, outputs, progress
    from proofs_check.report import writers as report
    from proofs_check.verification import runner
    from proofs_check.verification.proof_cache import ProofCache

    claims = select(claim_ids(args.claims))
    profile = registry.Profile.named(args.profile)
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", args.workers, "must be at least 1")
    if args.out:  # before the run: a bad --out must not cost a whole verification (a probe file, each file's slot)
        outputs.check_writable_dir("--out", args.out, out_files(args.figure_format))
    # --out DIR is locked for the whole run: a second `verify --out DIR` is refused at once, not at the end
    with locks.hold(args.out, directory=True) if args.out else contextlib.nullcontext():
        if args.out:
            outputs.check_files_in("--out", args.out, out_files(args.figure_format), force=args.force)
        workers = runner.default_workers() if args.workers is None else args.workers
        cache = None if args.no_cache else ProofCache()
        total = sum(len(c.methods) for c in claims)
        with progress.bar(total, f"verify ({profile.name})") as advance:
            rep = runner.run(claims, profile, workers=workers, cache=cache,
                             on_method=lambda c, m: advance(text=f"{c.id} {m['method']} {m['status']}"))
        if args.out:
            from proofs_check.report import artifacts  # loads matplotlib (~0.5 s): only when figures are written

            paths = artifacts.write_all(rep, claims, args.out, figure_format=args.figure_format, cache=cache)
            print("\n".join(f"wrote {p}" for p in paths), file=sys.stderr)
    if args.json:
        from numerics.io.schema import versioned

        outputs.dump_json(versioned(rep), "verify report", indent=2)  # report.json's shape
    else:
        report.print_table(rep)
    return 0 if rep["summary"]["failed"] == 0 else 1
