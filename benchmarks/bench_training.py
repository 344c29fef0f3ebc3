"""LSA training: wall time to reach 1% of Gamma* (d = 5, N = 20, anisotropic Sigma in [0.5, 2]) and time per step."""
from __future__ import annotations

import numpy as np

from numerics.lsa import settings as ts, training as lsa_training

SEEDS = (0, 1, 2)


def main() -> dict:
    out = {}
    for par in lsa_training.PARAMETERISATIONS:
        runs = [lsa_training.train(5, 20, "anisotropic", 1.0, 0.1, steps=ts.STEPS, batch=ts.BATCH, seed=s,
                                   lr=ts.LR, parameterisation=par, progress=False, check_every=10)
                for s in SEEDS]
        to_target = [r.seconds_per_step * r.steps_to_target for r in runs if r.steps_to_target is not None]
        ms = 1e3 * float(np.median([r.seconds_per_step for r in runs]))
        reached = f"{max(to_target):.2f} s (worst of {len(to_target)}/{len(runs)} seeds that reached it)" \
            if to_target else "not reached"
        print(f"train-lsa {par:6s}: {ms:.2f} ms/step (batch 256 x 16 queries); time to 1% of Gamma*: {reached}; "
              f"final errors {', '.join(f'{r.rel_error:.2e}' for r in runs)} (target < 10 s, aim 3 s)")
        out[par] = {"ms_per_step": ms, "seconds_to_1pct": to_target, "final_rel_errors": [r.rel_error for r in runs]}
    return out


if __name__ == "__main__":
    main()
