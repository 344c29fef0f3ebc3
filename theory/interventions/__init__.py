"""Agents that act on another: the adversarial regime (C8-C11, C16) and the Newton-like helper (C12, C13)."""
