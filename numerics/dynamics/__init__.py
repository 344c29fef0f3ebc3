"""The model evaluated: closed forms (float64 and mpmath), the predict document, simulation of the real maps, noise and Lyapunov covariances."""
