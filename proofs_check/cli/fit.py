"""``a2ad fit TRANSCRIPT.jsonl [--config CONFIG.json]``: fit each agent's affine map and compare the
predicted plateau and spread with the transcript's tail (C18).

A transcript recorded under a protocol (its header line, or ``--config`` with a ``protocol``)
is fitted from the inputs the protocol gives each agent, and predicted with the protocol's
round map (:mod:`numerics.protocol.fit`); without either, the round robin exactly as before."""
from __future__ import annotations

import sys
from pathlib import Path

from numerics.fit import fitting, output as fit_output
from numerics.io import outputs, transcripts, validate
from numerics.io.errors import InputError

MAX_BOOTSTRAP = 10**4  # each resample refits every agent's map
FIGURE_FORMATS = (".png", ".pdf", ".svg")


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit each agent's affine map from a JSONL transcript (C18, any protocol); text, JSON, figure")
    p.add_argument("transcript", help="TRANSCRIPT.jsonl (format in the README and docs)")
    p.add_argument("--tail", type=float, default=0.5, help="fraction of rounds treated as the tail (default 0.5)")
    p.add_argument("--bootstrap", type=int, default=200,
                   help=f"bootstrap resamples for the intervals (default 200; 0 to {MAX_BOOTSTRAP:,})")
    p.add_argument("--level", type=float, default=fitting.CONFIDENCE, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (>= 0)")
    p.add_argument("--figure", default=None, help="figure path, .png/.pdf/.svg "
                                                  "(default: TRANSCRIPT-fit.png beside the transcript)")
    p.add_argument("--force", action="store_true", help="overwrite an existing figure")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--config", default=None,
                   help="CONFIG.json whose protocol (or round robin) the transcript was recorded under "
                        "(default: the transcript's protocol header, else the round robin)")
    p.set_defaults(func=run)


def run(args) -> int:
    validate.positive_int("--bootstrap", args.bootstrap, minimum=0, maximum=MAX_BOOTSTRAP)
    seed = validate.seed("--seed", args.seed)
    src = Path(args.transcript)
    figure = Path(args.figure) if args.figure else src.with_name(src.stem + "-fit.png")
    if figure.suffix.lower() not in FIGURE_FORMATS:
        raise InputError("--figure", str(figure), f"must end in one of {', '.join(FIGURE_FORMATS)}")
    outputs.check_path("--figure", figure, inputs=[src], force=args.force)
    tr = transcripts.read(src)
    protocol = None
    if args.config is not None or tr.header is not None:
        from numerics.protocol import fit as protocol_fit
        protocol = protocol_fit.transcript_protocol(tr, args.config)
    if protocol is None:
        report = fitting.fit_transcript(tr, tail_fraction=args.tail, bootstrap=args.bootstrap, seed=seed,
                                        level=args.level)
    else:
        report = protocol_fit.fit(tr, protocol, tail_fraction=args.tail, bootstrap=args.bootstrap, seed=seed,
                                  level=args.level)
    doc = fit_output.report_doc(report)
    text = outputs.dumps(doc, "fit") if args.json else fit_output.report_text(report)
    figure = fit_output.fit_figure(report, tr, figure)
    if args.json:
        doc["figure"] = str(figure)
        outputs.dump_json(doc, "fit")
    else:
        print(text)
        print(f"figure: {figure}")
    for w in report.warnings:
        print(f"a2ad fit: warning: {w}", file=sys.stderr)
    return 0
