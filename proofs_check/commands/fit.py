"""``a2ad fit TRANSCRIPT.jsonl``: fit each agent's affine map and compare the predicted plateau
and spread with the transcript's tail (C18)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from numerics import fit_output, fitting, transcripts


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit each agent's affine map from a JSONL transcript (C18); text, JSON, figure")
    p.add_argument("transcript", help="TRANSCRIPT.jsonl (format in the README and docs)")
    p.add_argument("--tail", type=float, default=0.5, help="fraction of rounds treated as the tail (default 0.5)")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the intervals (default 200)")
    p.add_argument("--level", type=float, default=fitting.CONFIDENCE, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--figure", default=None, help="PNG path (default: TRANSCRIPT-fit.png beside the transcript)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    tr = transcripts.read(args.transcript)
    report = fitting.fit_transcript(tr, tail_fraction=args.tail, bootstrap=args.bootstrap, seed=args.seed,
                                    level=args.level)
    src = Path(args.transcript)
    figure = fit_output.fit_figure(report, tr, args.figure or src.with_name(src.stem + "-fit.png"))
    if args.json:
        doc = fit_output.report_doc(report)
        doc["figure"] = str(figure)
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(fit_output.report_text(report))
        print(f"figure: {figure}")
    for w in report.warnings:
        print(f"a2ad fit: warning: {w}", file=sys.stderr)
    return 0
