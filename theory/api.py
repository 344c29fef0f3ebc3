"""The protocol compiler as a notebook uses it: describe a protocol, compile it, derive its theory (P1).

Thin entry points over :mod:`theory.protocol.compiler` (public names only) and
:mod:`theory.protocol.report`: every derived object is proved (V1) before it is returned.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from theory.protocol import compiler as _compiler

__all__ = ["protocol_spec", "compile_protocol", "derive"]


def protocol_spec(names: Sequence[str], rounds: Sequence[Mapping[str, Mapping[str, Any]]] | None = None
                  ) -> _compiler.Spec:
    """A linear interaction protocol over agents ``names``.

    Parameters
    ----------
    names : sequence of str
        Agent names; agent i's turn is ``T_i(w) = M_i w + c_i`` with ``c_i = K_i w_i*``.
    rounds : sequence of dict, optional
        The phases of one round, each ``{listener: {source: weight}}``: the listed agents update
        at once from the weighted sum of the messages as they stood at the start of the phase.
        Weights are numbers or SymPy expressions. Default: the round robin in list order
        (agent i hears agent i-1; C17).

    Returns
    -------
    theory.protocol.compiler.Spec
        ``names`` and ``phases`` with exact weights.

    Examples
    --------
    >>> protocol_spec(["A", "B"]).phases
    ((('A', (('B', 1),)),), (('B', (('A', 1),)),))
    >>> protocol_spec(["A", "B"], [{"A": {"B": 0.5, "A": 0.5}, "B": {"A": 1}}]).phases
    ((('A', (('B', 1/2), ('A', 1/2))), ('B', (('A', 1),))),)
    """
    return _compiler.round_robin(names) if rounds is None else _compiler.spec(names, rounds)


def compile_protocol(protocol: _compiler.Spec | Sequence[str], noise: bool = True) -> _compiler.Compiled:
    """Compile a protocol: round map, live agents, fixed point, residuals, reduced rate, Lyapunov equation.

    Parameters
    ----------
    protocol : theory.protocol.compiler.Spec or sequence of str
        A :func:`protocol_spec`, or agent names for their round robin.
    noise : bool, optional
        Also derive the stationary covariance equation for agents adding independent noise.

    Returns
    -------
    theory.protocol.compiler.Compiled
        ``Phi``, ``r`` (round map ``z <- Phi z + r``), ``live``, ``fixed_point``, ``residual(i)``,
        ``rate_power`` and ``rate_blocks`` (``rho = max_k rho(block_k)^(1/q)``), in the free
        algebra of noncommutative ``M_i``, ``w_i*`` (any dimension).

    Examples
    --------
    Two agents updating at once from each other: ``rho = rho(M_A M_B)^(1/2)``.

    >>> cp = compile_protocol(protocol_spec(["A", "B"], [{"A": {"B": 1}, "B": {"A": 1}}]))
    >>> cp.rate_power, cp.rate_blocks
    (2, [[[M_A*M_B]]])
    """
    spec = protocol if isinstance(protocol, _compiler.Spec) else protocol_spec(list(protocol))
    return _compiler.compile_protocol(spec, noise=noise)


def derive(protocol: _compiler.Compiled | _compiler.Spec | Sequence[str], steps: dict[str, int] | None = None
           ) -> dict[str, Any]:
    r"""The derived theory of a protocol, every identity proved (V1) first, as LaTeX and text.

    Parameters
    ----------
    protocol : Compiled, Spec or sequence of str
        A compiled protocol, a :func:`protocol_spec`, or agent names (their round robin).
    steps : dict, optional
        ``{name: steps_per_turn}``, recorded in the result (``M_i`` stands for ``M_i^s``, C7).

    Returns
    -------
    dict
        ``fixed_points``, ``residuals`` (in the gaps ``w_j* - w_i*``), ``rate``, ``hypotheses``,
        ``round_map``, ``lyapunov``, ``checks``; the document of ``a2ad derive --protocol --format json``.

    Raises
    ------
    theory.protocol.report.Unverified
        A derived identity did not reduce to 0: nothing is returned.

    Examples
    --------
    >>> doc = derive(["A", "B"])
    >>> doc["residuals"]["A"]["text"]
    'M_A*Q1*K_B*(w_B_star - w_A_star)'
    >>> print(doc["rate"]["latex"])
    \rho = \rho\left(M_{B} M_{A}\right)
    """
    from theory.protocol import report

    cp = protocol if isinstance(protocol, _compiler.Compiled) else compile_protocol(protocol)
    return report.derived_theory(cp, steps=steps)
