"""One module per claim family; each defines ``CLAIMS``. Discovered by
:func:`proofs_check.verification.registry.all_claims`."""
