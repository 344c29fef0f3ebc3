"""The model's closed forms (float64 and mpmath), noisy agents and Lyapunov covariances.

Below :mod:`numerics.protocol`, whose engine evaluates every config with them."""
