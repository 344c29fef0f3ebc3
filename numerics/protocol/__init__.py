"""Interaction protocols numerically: the config's protocol key, batched and precise evaluation, simulation transcripts, fitting and attacks under a protocol."""
