"""Numeric layer: prompts, agents, simulation and closed-form evaluation (numpy, mpmath)."""
