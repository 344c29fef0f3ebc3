"""Fitting black-box agents from transcripts (C18) and what a2ad fit shows."""
