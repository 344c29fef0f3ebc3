"""Interaction protocols numerically: configs (agents under a protocol), the protocol key, the one
simulator, the one engine, the predict and simulate documents, batched and precise evaluation and
transcripts. Fitting and attacks under a protocol sit above, in :mod:`numerics.fit` and
:mod:`numerics.interventions`."""
