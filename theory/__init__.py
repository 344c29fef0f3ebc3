"""Symbolic layer (SymPy): derived closed forms and their LaTeX. Imports nothing from numerics/ or proofs_check/."""
