"""What each claim says and where it comes from: data, below the verification and the report.

:mod:`~proofs_check.statements.statements` types the model, the notation and every claim's
statement; :mod:`~proofs_check.statements.provenance` gives each claim's source. Both import
nothing from the rest of proofs_check, so the registry, the proof cache and the report can read them.
"""
