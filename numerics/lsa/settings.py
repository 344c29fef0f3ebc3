"""The LSA training settings the package's own runs use and the CLI and sweeps offer as defaults.

``lsa_training.train`` has no defaults (each caller passes every option); this is the one place
the usual choice is written down, so the CLI, the sweeps, the experiments and V7 cannot drift apart.
"""
STEPS = 1500
BATCH = 256  # tasks per step
LR = 0.02  # Adam step size, cosine decay to 0
CHECK_EVERY = 50  # steps between comparisons of Gamma_eff with Gamma* (steps_to_target's resolution)
