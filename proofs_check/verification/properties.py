"""Method V6: Hypothesis property checks run inside ``a2ad verify``.

``run_property(check, strategy, profile, tolerance)`` draws ``profile.examples``
examples (derandomised, so reruns are reproducible), records the worst error
``check(example)`` returns, and fails on the first example beyond tolerance,
reporting the shrunk counterexample.
"""
from __future__ import annotations

from proofs_check.verification.methods import default_power, finite_max
from proofs_check.verification.registry import Outcome, Profile


def run_property(check, strategy, profile: Profile, tolerance: float, what: str) -> Outcome:
    try:
        from hypothesis import HealthCheck, given, settings
    except ImportError:
        return Outcome.skip("hypothesis is not installed (a dependency of a2a-dynamics: pip install a2a-dynamics)")
    errors: list[float] = []

    @settings(max_examples=profile.examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def prop(example):
        err = float(check(example))
        errors.append(err)
        # written so that NaN fails too (nan <= tol is False)
        assert err <= tolerance, f"error {err:.3g} > {tolerance:.3g}"

    try:
        prop()
    except AssertionError as exc:
        # A counterexample always fails, whatever the other examples gave: report the shrunk
        # (last) failing error; NaN stays NaN and fails centrally in Outcome.
        shrunk = errors[-1] if errors and not errors[-1] <= tolerance else float("inf")
        return Outcome(shrunk, tolerance, len(errors), f"{what}: counterexample found ({exc})",
                       power=default_power(tolerance))
    return Outcome(finite_max(errors), tolerance, len(errors), what, power=default_power(tolerance))
