"""Input contracts of numerics/protocol/config.py that its mutation session found unchecked (issue 22,
item 5): default names past Z, the refusal of a missing or malformed agent list, agent counts and
dimensions beyond CPython's cached small ints (ints compared by identity), a later agent of larger
dimension, the default preconditioner (refused for a zero geometry, I / lambda_max for lambda_max in
(0, 1]), and the exact (``--precision``) parser's own PSD check, ``g I`` preconditioner and default
initial message. Each test fails on the mutants named in its docstring; the mutation killer of
config.py runs this file after verify (mutation/targets.toml)."""
from __future__ import annotations

import copy
import string

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config

# Past CPython's cache of small ints (-5..256): two equal ints computed apart are distinct objects,
# so a comparison written with ``is`` instead of ``==`` fails from here on.
BEYOND_SMALL_INTS = 258


def geometry_agent(d: int, name: str | None = None, g: float | None = 0.5) -> dict:
    agent: dict = {"geometry": np.eye(d).tolist(), "target": [0.0] * d}
    if name is not None:
        agent["name"] = name
    if g is not None:
        agent["preconditioner"] = g
    return agent


def two_agents(d: int = 2) -> dict:
    return {"agents": [geometry_agent(d, "A"), geometry_agent(d, "B")]}


def refusal(fn, *args) -> InputError:
    with pytest.raises(InputError) as err:
        fn(*args)
    return err.value


def test_default_names_past_z():
    """Unnamed agents are A..Z, then agent26, agent27, ... (``index < 26`` to ``index != 26`` named the
    28th agent chr(ord('A') + 27) = '\\')."""
    raw = {"agents": [geometry_agent(1) for _ in range(28)]}
    expected = list(string.ascii_uppercase) + ["agent26", "agent27"]
    assert config.parse(raw).names == expected
    assert [a.name for a in config.parse_exact(raw).agents] == expected


def test_agents_missing_or_not_a_list():
    """A missing or non-list ``agents`` is an InputError holding the value given, a too-short list one
    holding its length (the swapped condition took ``len`` of None: a TypeError, not an InputError)."""
    for bad in (None, 5, "AB"):
        raw = {} if bad is None else {"agents": bad}
        err = refusal(config.parse, raw)
        assert err.quantity == "agents" and err.value == bad
    err = refusal(config.parse, {"agents": [geometry_agent(1, "A")]})
    assert err.quantity == "agents" and err.value == 1


def test_many_agents_beyond_the_small_int_cache():
    """300 distinct names are distinct (``len(set(names)) is not len(names)`` refused them)."""
    raw = {"agents": [geometry_agent(1, f"a{k}") for k in range(300)]}
    assert len(config.parse(raw).agents) == 300
    assert len(config.parse_exact(raw).agents) == 300


def test_dimension_beyond_the_small_int_cache():
    """Two agents of the same d = 258 agree (``geom.d is not d`` refused them), and a number
    preconditioner g reads as g I in the exact parser at every d (``i is j`` left the diagonal entries
    past 256 at 0). Prompt agents of one example: the exact parser only checks them (no float64
    eigensolver of a 258 x 258 matrix)."""
    d = BEYOND_SMALL_INTS
    agents = [{"name": n, "prompt": {"X": [[1.0] * d], "y": [1.0]}, "preconditioner": 0.5} for n in "AB"]
    exact = config.parse_exact({"agents": agents})
    assert exact.d == d
    for agent in exact.agents:
        assert np.array_equal(np.array(agent.Gamma, dtype=float), 0.5 * np.eye(d))


def zero_geometry_refused(agent: dict) -> None:
    raw = {"agents": [agent, geometry_agent(len(agent.get("target", [0.0, 0.0])), "B")]}
    err = refusal(config.parse, raw)
    # the preconditioner is reported missing (value None), not an inf Gamma = I / 0 refused later
    assert err.quantity == "A.preconditioner" and err.value is None, str(err)


def test_default_preconditioner_needs_a_nonzero_geometry():
    """No preconditioner and H = 0 (or H a tiny negative number the PSD check accepts as round-off):
    the default I / lambda_max(H) does not exist. ``lam < 0``, ``lam <= -1`` and ``or`` to ``and`` let
    H = 0 through to a Gamma of inf (refused later, as a bad value); ``lam == 0`` accepted the
    negative lambda_max, giving Gamma = -1e11 I."""
    zero_geometry_refused({"name": "A", "geometry": [[0.0, 0.0], [0.0, 0.0]], "target": [1.0, 0.0]})
    zero_geometry_refused({"name": "A", "prompt": {"X": [[0.0, 0.0], [0.0, 0.0]], "y": [1.0, 2.0]}})
    # within the PSD check's round-off tolerance (1e-10 relative to a scale of at least 1)
    tiny_negative = {"name": "A", "geometry": [[-1e-11, 0.0], [0.0, -1e-11]], "target": [1.0, 0.0]}
    accepted = dict(tiny_negative, preconditioner=0.5)
    assert config.parse({"agents": [accepted, geometry_agent(2, "B")]}).d == 2
    zero_geometry_refused(tiny_negative)


def test_exact_geometry_psd_check():
    """The exact parser refuses an indefinite geometry (``H / scale`` to ``H + scale`` accepted
    [[1, 0], [0, -1/4]]: adding 1 to every entry makes it positive definite) and accepts a PSD one too
    large to square in float64 (``H * scale`` overflowed 1e200 * 1e200 to inf and refused it)."""
    raw = two_agents()
    raw["agents"][0]["geometry"] = [[1.0, 0.0], [0.0, -0.25]]
    err = refusal(config.parse_exact, raw)
    assert err.quantity == "A.geometry"
    raw["agents"][0]["geometry"] = [[1e200, 0.0], [0.0, 1e200]]
    exact = config.parse_exact(copy.deepcopy(raw))
    assert exact.agents[0].geometry.H == [[1e200, 0.0], [0.0, 1e200]]


def test_default_preconditioner_for_small_curvature():
    """lambda_max(H) in (0, 1] is a valid default step, Gamma = I / lambda_max (``lam <= 0`` to
    ``lam <= 1`` refused it): lambda_max 1 gives I, 1/2 gives 2 I."""
    for H, Gamma in (([[1.0, 0.0], [0.0, 0.25]], np.eye(2)), ([[0.5, 0.0], [0.0, 0.25]], 2.0 * np.eye(2))):
        agent = {"name": "A", "geometry": H, "target": [1.0, 0.0]}
        assert np.array_equal(config.parse({"agents": [agent, geometry_agent(2, "B")]}).agents[0].Gamma, Gamma)


def test_exact_initial_message_defaults_to_zeros():
    """docs/config.rst: ``initial_message`` defaults to zeros, also in the exact parser, with or without a
    protocol (``[0] * d`` to ``[-1] * d`` or ``[1] * d`` changed the exact system's start)."""
    exact = config.parse_exact(two_agents())
    assert exact.initial_message == [0, 0]
    raw = dict(two_agents(), protocol={"rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]})
    exact = config.parse_exact(raw)
    assert exact.initial_message == [0, 0]
    assert exact.protocol is not None and np.array_equal(exact.protocol.initial, np.zeros((2, 2)))


def test_later_agent_of_larger_dimension_refused():
    """An agent of larger d than the first is refused like a smaller one (``geom.d != d`` to
    ``geom.d < d`` let B of d = 3 join A of d = 2)."""
    err = refusal(config.parse, {"agents": [geometry_agent(2, "A"), geometry_agent(3, "B")]})
    assert err.quantity == "B dimension" and err.value == 3
    err = refusal(config.parse_exact, {"agents": [geometry_agent(2, "A"), geometry_agent(3, "B")]})
    assert err.quantity == "B dimension" and err.value == 3
