"""``a2ad fit TRANSCRIPT.jsonl [--config CONFIG.json]``: fit each agent's affine map and compare the
predicted plateau and spread with the transcript's tail (C18).

A transcript recorded under a protocol (its header line, or ``--config`` with a ``protocol``)
is fitted from the inputs the protocol gives each agent, and predicted with the protocol's
round map (:mod:`numerics.fit.protocol_fit`); without either, the round robin exactly as before."""
from __future__ import annotations

import sys
from pathlib import Path

from numerics import api
from numerics.fit import fitting
from numerics.io import outputs
from numerics.io.errors import InputError
from proofs_check.cli.options import add_figure_format

MAX_BOOTSTRAP = api.MAX_BOOTSTRAP


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit each agent's affine map from a JSONL transcript (C18, any protocol); "
                                   "text, JSON, figure")
    p.add_argument("transcript", help="TRANSCRIPT.jsonl (format in the README and docs)")
    p.add_argument("--tail", type=float, default=0.5, help="fraction of rounds treated as the tail (default 0.5)")
    p.add_argument("--bootstrap", type=int, default=200,
                   help=f"bootstrap resamples for the intervals (default 200; 0 to {MAX_BOOTSTRAP:,})")
    p.add_argument("--level", type=float, default=fitting.CONFIDENCE, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (>= 0)")
    p.add_argument("--figure", default=None, help="figure path, .png/.pdf/.svg "
                                                  "(default: TRANSCRIPT-fit.png beside the transcript)")
    add_figure_format(p, default=None, what="figure")
    p.add_argument("--force", action="store_true", help="overwrite an existing figure")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--config", default=None,
                   help="CONFIG.json whose protocol (or round robin) the transcript was recorded under "
                        "(default: the transcript's protocol header, else the round robin)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Fit through :func:`numerics.api.fit_transcript` and print its result (text, or ``to_json()``)."""
    seed = api.check_fit_options(args.bootstrap, args.seed)  # every option before any work
    src = Path(args.transcript)
    figure = figure_path(src, args.figure, args.figure_format)
    outputs.check_path("--figure", figure, inputs=[src], force=args.force)
    result = api.fit_transcript(src, tail=args.tail, bootstrap=args.bootstrap, level=args.level, seed=seed,
                                config=args.config)
    text = result.to_json() if args.json else result.to_text()  # a non-finite number fails before the figure
    result = result.save_figure(figure)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        print(text)
        print(f"figure: {result.figure}")
    for w in result.warnings:
        print(f"a2ad fit: warning: {w}", file=sys.stderr)
    return 0


def figure_path(transcript: Path, figure: str | None, fmt: str | None) -> Path:
    """``--figure`` (its extension is its format), else TRANSCRIPT-fit.FMT (``--figure-format``, default png)."""
    if figure is None:
        return transcript.with_name(transcript.stem + "-fit." + (fmt or "png"))
    path = Path(figure)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in outputs.FIGURE_FORMATS:
        raise InputError("--figure", str(path), f"must end in one of .{', .'.join(outputs.FIGURE_FORMATS)}")
    if fmt is not None and fmt != suffix:
        raise InputError("--figure-format", fmt, f"contradicts the extension of --figure {path}")
    return path
