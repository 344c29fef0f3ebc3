"""The LSA agent in SymPy: the forward pass as a preconditioned GD step (L1, L1b) and the risk-optimal
preconditioner (L2)."""
