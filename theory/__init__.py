"""Symbolic layer (SymPy): derived closed forms and their LaTeX. Imports nothing from numerics/ or proofs_check/.

The public API (``__all__``): the protocol compiler (:func:`protocol_spec`, :func:`compile_protocol`,
:func:`derive`), the formula registry (:func:`all_formulas`, :class:`Formula`), the free-algebra
prover (:class:`FreeAlgebra`, :func:`prove`), the symbolic agents (:func:`agent`, the modules
:mod:`~theory.round_robin.two_agents` and :mod:`~theory.round_robin.k_agents`), ``Gamma*``
(:func:`gamma_star`) and the paper's LaTeX (:func:`latex`). Names are imported on first use
(PEP 562): ``import theory`` alone loads no SymPy.

Examples
--------
>>> import theory
>>> theory.all_formulas()["C2.fixed_point_A"].text()
'u_star = (Id - M_A*M_B)**(-1)*(M_A*K_B*w_B_star + K_A*w_A_star)'
"""

from theory.lazy import exports

# Exported name -> module that defines it; a module name maps to itself (imported on first use).
_EXPORTS = {
    "protocol_spec": "theory.api",
    "compile_protocol": "theory.api",
    "derive": "theory.api",
    "all_formulas": "theory.core.formulas",
    "Formula": "theory.core.formulas",
    "FreeAlgebra": "theory.core.algebra",
    "prove": "theory.core.algebra",
    "agent": "theory.core.model",
    "two_agents": "theory.round_robin.two_agents",
    "k_agents": "theory.round_robin.k_agents",
    "gamma_star": "theory.lsa.agent",
    "latex": "theory.core.notation",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = exports("theory", _EXPORTS, globals())
