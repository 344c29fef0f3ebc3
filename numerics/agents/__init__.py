"""Prompts, gradient-descent agents and seeded random instances."""
