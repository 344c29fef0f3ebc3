"""Numeric layer: prompts, agents, simulation and closed-form evaluation (numpy, mpmath).

The public API (``__all__``) is what a notebook needs: load a config, predict, simulate, derive
a protocol's theory, read and fit a transcript, attack, sweep, the stationary covariance of
noisy agents and LSA training, with typed results whose ``to_json()`` is the ``a2ad`` output.
Names are imported on first use (PEP 562), so ``import numerics`` loads no SymPy, SciPy,
matplotlib or numba.

Examples
--------
>>> import numerics
>>> system = numerics.load_config("examples/two_agents.json")
>>> prediction = numerics.predict(system)
>>> prediction.converges, sorted(prediction.agents)
(True, ['A', 'B'])
"""

from theory.lazy import exports

# Exported name -> module that defines it (imported when the name is first used).
_EXPORTS = {
    "load_config": "numerics.api",
    "predict": "numerics.api",
    "simulate": "numerics.api",
    "derive_protocol": "numerics.api",
    "read_transcript": "numerics.api",
    "fit_transcript": "numerics.api",
    "attack": "numerics.api",
    "run_sweep": "numerics.api",
    "stationary_covariance": "numerics.api",
    "train_lsa": "numerics.api",
    "run_conversation": "numerics.api",
    "InputError": "numerics.io.errors",
    "Prediction": "numerics.results",
    "AgentPrediction": "numerics.results",
    "Simulation": "numerics.results",
    "FitResult": "numerics.results",
    "AttackResult": "numerics.results",
    "SweepResult": "numerics.results",
    "DerivedProtocol": "numerics.results",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = exports("numerics", _EXPORTS, globals())
