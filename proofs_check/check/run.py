"""Load a config and the ``--param`` values, evaluate one claim: the path of ``a2ad check``."""
from __future__ import annotations

import numpy as np

from numerics.io.errors import InputError
from proofs_check.check import PROPOSITIONS, params as pp
from proofs_check.check.core import Instance, NotApplicable, Report, evaluate


def parse_params(claim: str, items: list[str]) -> dict:
    """The claim's parameters: defaults, overridden by ``NAME=VALUE`` items (unknown names refused)."""
    prop = PROPOSITIONS[claim]
    values = {name: p.default for name, p in prop.params.items()}
    for item in items:
        name, raw = pp.decode(item)
        if name not in prop.params:
            known = ", ".join(prop.params) or "none"
            raise InputError("--param", name, f"is not a parameter of {claim} (its parameters: {known})")
        values[name] = prop.params[name].parse(name, raw)
    return values


def _check_sizes(claim: str, values: dict, d: int) -> None:
    """Vectors of length d (or d + 1) and square matrices of that order, as the claim's parameters need."""
    for name, p in PROPOSITIONS[claim].params.items():
        v = values[name]
        if p.size is None or v is None:
            continue
        n = d + 1 if p.size == "d+1" else d
        if np.shape(v)[0] != n:
            raise InputError(name, np.asarray(v).tolist(), f"must have order {p.size} = {n} (d = {d} in the config)")


def _shape(claim: str, system) -> None:
    shape = PROPOSITIONS[claim].shape
    if shape == "protocol" and system.protocol is None and claim != "P1":
        raise NotApplicable("the claim is about a protocol; the config has none (the round robin)")
    if shape == "random" and getattr(system, "random", None) is None:
        raise NotApplicable("the claim is about a random protocol; the config has no protocol.random")


def not_applicable(claim: str, reason: str) -> Report:
    return Report(claim, False, None, reason, [], [])


def check(claim: str, config_path, items: list[str]) -> Report:
    """:func:`proofs_check.check.core.evaluate` of ``claim`` on the config at ``config_path``."""
    from numerics.protocol import config

    return check_config(claim, config.read_json(config_path), items)


def check_config(claim: str, raw, items: list[str]) -> Report:
    """:func:`check` on a decoded config object ``raw`` (validated here, as ``predict`` does)."""
    from proofs_check.statements import statements

    try:
        inst = build_instance(claim, raw, items)
        return evaluate(PROPOSITIONS[claim], statements.of(claim).texts(), inst)
    except NotApplicable as exc:
        return not_applicable(claim, str(exc))


def build_instance(claim: str, raw, items: list[str]) -> Instance:
    """The instance ``a2ad check`` evaluates: the validated config and the claim's parameters.

    Raises InputError on bad input and NotApplicable on a config of the wrong shape for the claim;
    the falsifiers (proofs_check.verification.falsifiers) build their instances here too.
    """
    from numerics.protocol import config

    if claim not in PROPOSITIONS:
        raise InputError("claim", claim, "is not a claim (see a2ad check --help)")
    values = parse_params(claim, items)
    system = config.parse(raw)
    _check_sizes(claim, values, system.d)
    _shape(claim, system)
    return Instance(system, values)
