"""V7: trained LSA agents (docs/theory.rst), shared by C3 and L2.

Training runs once per profile and process (it takes seconds); the quick profile
trains briefly, the full one longer. The full parameterisation is used, so the
agents carry the small non-affine terms (p_x, q_yx) a real training leaves.
"""
from __future__ import annotations

from functools import lru_cache

from numerics import trained_pair
from numerics.lsa_training import TARGET_REL_ERROR

from .registry import Outcome, Profile

TRAINING_STEPS = {"quick": 2000, "full": 5000}
# Issue 3: simulated plateaus within 2% of C3 from Gamma_eff. The gap to exact is the
# full parameterisation's off-block weights (|p_x|, |q_yx| ~ 1e-2), which C3 ignores.
PLATEAU_REL_TOL = 0.02


@lru_cache(maxsize=2)
def pair(profile_name: str, seed: int) -> trained_pair.TrainedPair:
    return trained_pair.train_pair(TRAINING_STEPS.get(profile_name, TRAINING_STEPS["quick"]), seed=seed)


def _sizes(tp: trained_pair.TrainedPair) -> str:
    return ", ".join(f"{a.name}: |p_x| = {r.p_x_norm:.1e}, |q_yx| = {r.q_yx_norm:.1e}"
                     for a, r in zip(tp.agents, tp.training))


def v7_plateau(profile: Profile) -> Outcome:
    tp = pair(profile.name, profile.seed)
    errors = tp.plateau_errors()
    return Outcome(max(errors), PLATEAU_REL_TOL, 2,
                   f"two LSA agents trained on different Sigma (d={trained_pair.D}, N={trained_pair.N_CONTEXT}, "
                   f"full parameterisation), real forward passes: plateau vs C3 from Gamma_eff, relative errors "
                   f"{errors[0]:.2e} (A), {errors[1]:.2e} (B); {_sizes(tp)}")


def v7_gamma_star(profile: Profile) -> Outcome:
    tp = pair(profile.name, profile.seed)
    errors = [r.rel_error for r in tp.training]
    seconds = sum(r.seconds for r in tp.training)
    return Outcome(max(errors), TARGET_REL_ERROR, 2,
                   f"||Gamma_eff - Gamma*||_F / ||Gamma*||_F after {tp.training[0].metadata['steps']} Adam steps "
                   f"(anisotropic Sigma in [0.5, 2], d={trained_pair.D}, N={trained_pair.N_CONTEXT}): "
                   f"{errors[0]:.2e}, {errors[1]:.2e}; {seconds:.1f} s of training")
