"""Agent names that ``derive --protocol`` can print.

The derivation writes each agent name as a subscript of its letters (``M_A``, ``w^*_A``,
``\\Phi_{A,B}``, ``V_{A,B}``) and, in the text format, inside Python identifiers (``M_A``,
``w_A_star``, ``U_1_A_B``). A name with a comma, a space, an underscore or a brace makes
those symbols ambiguous: ``a,b`` and ``C`` give ``\\Phi_{a,b,C}``, and ``xy`` and ``x y`` both
print as ``M_xy``. ``predict``, ``simulate`` and the other commands use names only as labels
and accept any name.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from numerics.io.errors import InputError

__all__ = ["SYMBOL_NAME", "check_symbol_names"]

SYMBOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")  # ASCII letters and digits, a letter first


def check_symbol_names(names: Sequence[str]) -> None:
    """Refuse an agent name that cannot be printed as an unambiguous subscript.

    Parameters
    ----------
    names : sequence of str
        The agents' names, in config order (distinct: the config parser checked that).

    Raises
    ------
    InputError
        ``agents[i].name``: not ASCII letters and digits starting with a letter.

    Examples
    --------
    >>> check_symbol_names(["A", "helper2"])
    >>> check_symbol_names(["A", "x y"])
    Traceback (most recent call last):
    ...
    numerics.io.errors.InputError: agents[1].name = 'x y': derive --protocol writes agent names as \
subscripts (M_A, w^*_A, Phi_{A,B}): use ASCII letters and digits, starting with a letter (predict and \
simulate accept any name)
    """
    for i, name in enumerate(names):
        if not SYMBOL_NAME.match(name):
            raise InputError(f"agents[{i}].name", name,
                             "derive --protocol writes agent names as subscripts (M_A, w^*_A, Phi_{A,B}): use "
                             "ASCII letters and digits, starting with a letter (predict and simulate accept any name)")
