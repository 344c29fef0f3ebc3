"""``a2ad experiment NAME``: rerun one of the paper's experiments (CSV data + figures, png, pdf or svg).

``--out DIR`` is held with :func:`numerics.io.locks.hold` while the run writes (as ``sweep`` does).
"""
from __future__ import annotations

from numerics.experiments import all_experiments, names as experiment_names
from numerics.io import locks, outputs, validate
from numerics.io.errors import InputError
from proofs_check.cli.options import add_figure_format


def register(sub) -> None:
    names = experiment_names()  # read from the sources: importing the experiments loads matplotlib
    p = sub.add_parser("experiment", help="run one of the paper's experiments: " + ", ".join(names))
    p.add_argument("name", help="one of: " + ", ".join(names))
    p.add_argument("--out", default=None, help="output directory (default: build/experiments/NAME)")
    p.add_argument("--agents", default="gd", choices=["gd", "lsa"], help="GD agents (default) or trained LSA agents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="smaller run (used by the tests)")
    p.add_argument("--force", action="store_true", help="write into an --out directory that already holds files")
    add_figure_format(p)
    p.set_defaults(func=run)


def run(args) -> int:
    experiments = all_experiments()
    if args.name not in experiments:
        raise InputError("experiment", args.name, f"is unknown; choose one of {sorted(experiments)}")
    from numerics.io import progress

    validate.seed("--seed", args.seed)
    out = outputs.check_path("--out", args.out or f"build/experiments/{args.name}", directory=True)
    # Locked as sweep does: a second run on DIR is refused at once (exit 2) instead of mixing its files in.
    with locks.hold(out, directory=True):
        if any(p.name != locks.DIR_LOCK for p in out.iterdir()) and not args.force:
            raise InputError("--out", str(out), "already holds files; pass --force to overwrite them")
        with progress.bar(1, f"experiment {args.name}") as advance:  # elapsed time while it runs
            paths = experiments[args.name].run(out, agents=args.agents, seed=args.seed, quick=args.quick,
                                               figure_format=args.figure_format)
            advance()
    for path in paths:
        print(path)
    return 0
