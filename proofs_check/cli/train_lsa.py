"""``a2ad train-lsa``: train one LSA agent and compare its Gamma_eff with Gamma* (L2)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.io import jsonio, outputs, validate
from numerics.io.errors import InputError
from numerics.lsa import settings as ts, training as lsa_training

# Size bounds (README "Limits"): one step costs ~ batch x N x d^2.
LIMITS = {"--d": 64, "--N": 10**4, "--steps": 10**6, "--batch": 10**5}


def register(sub) -> None:
    p = sub.add_parser("train-lsa", help="train an LSA agent on in-context regression; report Gamma_eff vs Gamma*")
    p.add_argument("--d", type=int, default=5, help="dimension (default 5)")
    p.add_argument("--N", type=int, default=20, help="context examples per prompt (default 20)")
    p.add_argument("--sigma-x", dest="Sigma", default="anisotropic",
                   help="input covariance: a preset (" + ", ".join(sorted(lsa_training.SIGMA_PRESETS)) +
                        ") or a JSON list of variances, e.g. '[0.5, 1, 2]' (default anisotropic: [0.5, 2])")
    p.add_argument("--tau", type=float, default=1.0, help="task scale: w ~ N(0, tau^2 I), in (1e-6, 1e6]")
    p.add_argument("--sigma", type=float, default=0.1, help="label noise standard deviation, in [0, 1e6]")
    p.add_argument("--steps", type=int, default=ts.STEPS)
    p.add_argument("--batch", type=int, default=ts.BATCH, help="tasks per step")
    p.add_argument("--lr", type=float, default=ts.LR,
                   help="Adam learning rate (cosine decay to 0), in (0, 10]; a run whose step needs over 3 GiB "
                        "is refused")
    p.add_argument("--parameterisation", default="sparse", choices=lsa_training.PARAMETERISATIONS,
                   help="sparse: p_y and Q_xx only (Ahn et al.); full: all of p and W_KQ")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="build/lsa/weights.npz", help="where to save weights + metadata (.npz)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_sigma(text: str):
    if text in lsa_training.SIGMA_PRESETS:
        return text
    try:
        value = jsonio.decode_strict(text)
    except (ValueError, RecursionError):
        raise InputError("--sigma-x", text, f"must be a preset {sorted(lsa_training.SIGMA_PRESETS)} "
                                            "or a JSON list of variances") from None
    if not isinstance(value, list):
        raise InputError("--sigma-x", text, "must be a JSON list of variances (the diagonal of Sigma)")
    return value


def run(args) -> int:
    from numerics.io import progress

    for option, limit in LIMITS.items():
        validate.positive_int(option, getattr(args, option.lstrip("-")), maximum=limit)
    validate.seed("--seed", args.seed)
    if not str(args.out).endswith(".npz"):
        raise InputError("--out", args.out, "must end in .npz")
    outputs.check_path("--out", args.out, force=args.force)  # before training
    result = lsa_training.train(args.d, args.N, parse_sigma(args.Sigma), args.tau, args.sigma, steps=args.steps,
                                batch=args.batch, seed=args.seed, lr=args.lr,
                                parameterisation=args.parameterisation,
                                progress=not args.no_progress and progress.enabled(), check_every=ts.CHECK_EVERY)
    path = lsa_training.save(result, Path(args.out))
    with np.printoptions(precision=4, suppress=True, linewidth=120):
        print(f"Gamma_eff =\n{result.Gamma_eff}\nGamma* =\n{result.Gamma_star}")
    print(result.report())
    print(f"weights: {path}")
    return 0
