"""Agents speaking in turn (the paper's protocol): two agents (C1-C5), steps per turn (C7) and K agents (C17)."""
