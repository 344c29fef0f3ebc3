"""Noise and estimation: noisy agents (C15) and fitting an agent's affine map from a transcript (C18)."""
