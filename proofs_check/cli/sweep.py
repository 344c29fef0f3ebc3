"""``a2ad sweep SPEC.json --out DIR``: a grid of configs -> Parquet in DIR/results/ and DIR/phase.png."""
from __future__ import annotations

from proofs_check.cli.options import add_figure_format


def register(sub) -> None:
    p = sub.add_parser("sweep", help="evaluate a grid of configs (closed forms, simulation, trained LSA) -> Parquet "
                                     "+ phase.png")
    p.add_argument("spec", help="SPEC.json: base config, axes, measures (see README)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (DIR/results/*.parquet, DIR/spec.json, "
                                                               "DIR/phase.png)")
    p.add_argument("--backend", default="local", choices=("local", "dask"),
                   help="local (default): batched numpy, then a process pool; dask: a Dask cluster")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="join an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (default: start a LocalCluster)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local processes or LocalCluster workers (default: every core)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="dask only: give up (exit 2) when connecting, or any stretch with no finished chunk, takes "
                        "longer (default 120)")
    p.add_argument("--resume", action="store_true", help="compute only the chunks missing in DIR")
    p.add_argument("--force", action="store_true", help="delete DIR's previous results and start over")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_figure_format(p, what="phase figure (DIR/phase.png, .pdf or .svg)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run :func:`numerics.api.run_sweep` and print its summary."""
    from numerics import api

    result = api.run_sweep(args.spec, args.out, backend=args.backend, scheduler=args.scheduler, workers=args.workers,
                           resume=args.resume, force=args.force, progress=not args.no_progress,
                           timeout=args.timeout, figure_format=args.figure_format)
    print(result.summary())
    return 0
