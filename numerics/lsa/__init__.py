"""LSA agents in numpy: the forward pass (L1, L1b), training (L2) and trained pairs (V7)."""
