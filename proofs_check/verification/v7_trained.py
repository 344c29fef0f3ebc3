"""V7: trained LSA agents (docs/theory.rst), shared by C3 and L2.

Training runs once per profile and process (the runner keeps the V7 methods in one
worker); the quick profile trains briefly, the full one longer. Both agents of a
pair train in one batched run (``lsa_training.train_together``). The full
parameterisation is used, so the agents carry the small non-affine terms (p_x,
q_yx) a real training leaves.

L2 instances: the main pair (d = 5, N = 20, label noise sigma = 0.1, where
the sigma^2/tau^2 term of Gamma* is ~0.2% of the diagonal) and a label-noise agent
(d = 2, N = 5, sigma = tau = 0.5) where that term moves Gamma* by ~15%, so a
Gamma* without it fails the 1% bar by an order of magnitude (the power line
states the measured factor). sigma = tau != 1 also gives power on the term's
exponents: sigma^1/tau^2 or sigma^2/tau^1 put Gamma* ~14% or ~7% away (trained
agent at ~0.35%).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from numerics.lsa import settings as ts, trained_pair, training as lsa_training
from numerics.lsa.training import TARGET_REL_ERROR
from proofs_check.verification.methods import default_power, finite_max
from proofs_check.verification.registry import Outcome, Profile

TRAINING_STEPS = {"quick": 2000, "full": 5000}
# Issue 3: simulated plateaus within 2% of C3 from Gamma_eff. The gap to exact is the
# full parameterisation's off-block weights (|p_x|, |q_yx| ~ 1e-2), which C3 ignores.
PLATEAU_REL_TOL = 0.02
# Label-noise instance: sigma/tau = 1 and N = 5 make sigma^2/(N tau^2) = 0.2 comparable
# (sigma = tau = 0.5, not 1, so that a wrong power of sigma or tau changes Gamma*)
# to the rest of Gamma*^{-1}. Its gradients are noisier, hence the larger batch.
NOISE_D, NOISE_N, NOISE_TAU, NOISE_SIGMA = 2, 5, 0.5, 0.5
NOISE_SIGMA_X = np.array([0.5, 2.0])
NOISE_BATCH = 2048
NOISE_STEPS = {"quick": 1000, "full": 2000}


@lru_cache(maxsize=2)
def pair(profile_name: str, seed: int) -> trained_pair.TrainedPair:
    return trained_pair.train_pair(TRAINING_STEPS.get(profile_name, TRAINING_STEPS["quick"]), seed=seed)


@lru_cache(maxsize=2)
def noise_agent(profile_name: str, seed: int) -> list[lsa_training.TrainingResult]:
    return lsa_training.train_together(NOISE_D, NOISE_N, (NOISE_SIGMA_X,), NOISE_TAU,
                                       NOISE_SIGMA, steps=NOISE_STEPS.get(profile_name, NOISE_STEPS["quick"]),
                                       batch=NOISE_BATCH, seed=seed + 7, lr=ts.LR, parameterisation="full",
                                       check_every=ts.CHECK_EVERY)


def _sizes(tp: trained_pair.TrainedPair) -> str:
    return ", ".join(f"{a.name}: |p_x| = {r.p_x_norm:.1e}, |q_yx| = {r.q_yx_norm:.1e}"
                     for a, r in zip(tp.agents, tp.training))


def v7_plateau(profile: Profile) -> Outcome:
    tp = pair(profile.name, profile.seed)
    errors = tp.plateau_errors()
    return Outcome(finite_max(errors), PLATEAU_REL_TOL, 2,
                   f"two LSA agents trained on different Sigma (d={trained_pair.D}, N={trained_pair.N_CONTEXT}, "
                   f"full parameterisation), real forward passes: plateau vs C3 from Gamma_eff, relative errors "
                   f"{errors[0]:.2e} (A), {errors[1]:.2e} (B); {_sizes(tp)}", power=default_power(PLATEAU_REL_TOL))


def gamma_errors(results, with_noise_term: bool = True) -> list[float]:
    """``||Gamma_eff - Gamma*||_F / ||Gamma*||_F`` with Gamma* (L2) evaluated now from each run's metadata."""
    out = []
    for r in results:
        m = r.metadata
        G = lsa_training.gamma_star(np.asarray(m["Sigma"]), m["N"], m["tau"], m["sigma"] if with_noise_term else 0.0)
        out.append(float(np.linalg.norm(r.Gamma_eff - G) / np.linalg.norm(G)))
    return out


def v7_gamma_star(profile: Profile) -> Outcome:
    tp = pair(profile.name, profile.seed)
    noisy = noise_agent(profile.name, profile.seed)
    main, label = gamma_errors(tp.training), gamma_errors(noisy)
    without = min(gamma_errors(noisy, with_noise_term=False))
    errors = main + label
    return Outcome(finite_max(errors), TARGET_REL_ERROR, len(errors),
                   f"||Gamma_eff - Gamma*||_F / ||Gamma*||_F after Adam training: "
                   f"{tp.training[0].metadata['steps']} steps, d={trained_pair.D}, N={trained_pair.N_CONTEXT}, "
                   f"sigma/tau=0.1, Sigma in [0.5, 2]: {main[0]:.2e}, {main[1]:.2e}; label-noise agent "
                   f"({noisy[0].metadata['steps']} steps, d={NOISE_D}, N={NOISE_N}, "
                   f"sigma/tau={NOISE_SIGMA / NOISE_TAU:g}): "
                   f"{label[0]:.2e}",
                   power=f"a Gamma* without sigma^2/tau^2 would be {without:.1e} away from the label-noise agent, "
                         f"{without / TARGET_REL_ERROR:.0f}x the bar")
