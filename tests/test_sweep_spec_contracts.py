"""SPEC.json contracts of ``numerics.sweep.spec`` (docs/sweeps.rst): every bound reached exactly and
exceeded by one, the refusals' messages (the field and its first offending value), the grid's values
and order, the chunks, each point's config and seed, the defaults. Parsing and grids only: no sweep runs.
Expected values are computed here, with numpy's linspace/geomspace and itertools.product."""
import copy
import dataclasses
import itertools
import json
import math

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.sweep import spec as sweep_spec
from tests.test_sweep_spec import BASE, PROMPT_BASE

PROTOCOL_BASE = {"agents": BASE["agents"], "protocol": {"rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]}}
# Independent draws where alternatives 0 and 1 each let every agent speak (so either alone is a valid law).
RANDOM_BASE = {"agents": BASE["agents"], "protocol": {"random": [
    {"probability": 0.5, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]},
    {"probability": 0.3, "rounds": [{"A": {"A": 0.5, "B": 0.5}, "B": {"A": 1.0}}]},
    {"probability": 0.2, "rounds": [{"B": {"A": 0.5, "B": 0.5}}]}]}}
MARKOV_BASE = {"agents": BASE["agents"], "protocol": {"random": [
    {"name": "a", "rounds": [{"A": {"B": 1.0}}], "next": {"a": 0.2, "b": 0.8}},
    {"name": "b", "rounds": [{"B": {"A": 1.0}}], "next": {"a": 0.5, "b": 0.5}}],
    "initial": {"a": 0.5, "b": 0.5}}}
P0 = "protocol.random.0.probability"


def raw_spec(axes, base=BASE, measure=("predict",), **extra):
    return {"base": copy.deepcopy(base), "axes": axes, "measure": list(measure), **extra}


def parse(axes, base=BASE, measure=("predict",), **extra):
    return sweep_spec.parse(raw_spec(axes, base, measure, **extra))


def refusal(axes, base=BASE, measure=("predict",), **extra) -> InputError:
    with pytest.raises(InputError) as info:
        parse(axes, base, measure, **extra)
    return info.value


def refused(message, axes, base=BASE, measure=("predict",), **extra):
    assert str(refusal(axes, base, measure, **extra)) == message


# --- values of an axis ---------------------------------------------------------------------------------------

def test_linspace_geomspace_and_lists_are_the_values():
    spec = parse({"agents.0.preconditioner": {"linspace": [0.05, 2.0, 7]},
                  "agents.1.target.0": {"geomspace": [-0.01, -3.0, 5]},
                  "agents.1.target.1": [0.3, -1.0, 0.3, 2]})
    np.testing.assert_array_equal(spec.axes[0].values, np.linspace(0.05, 2.0, 7))
    np.testing.assert_array_equal(spec.axes[1].values, np.geomspace(-0.01, -3.0, 5))  # one sign: negative too
    np.testing.assert_array_equal(spec.axes[2].values, [0.3, -1.0, 0.3, 2.0])  # as given: order, repeats
    assert all(a.values.dtype == np.float64 for a in spec.axes)
    assert parse({"agents.0.preconditioner": {"linspace": [0.7, 2.0, 1]}}).axes[0].values.tolist() == [0.7]
    refused("axes.agents.0.preconditioner.geomspace = [-1, 1, 3]: start and stop must be nonzero and of one sign",
            {"agents.0.preconditioner": {"geomspace": [-1, 1, 3]}})


def test_axis_values_bound_both_sides():
    n = sweep_spec.MAX_AXIS_VALUES
    assert n == 10**6
    spec = parse({"agents.0.preconditioner": {"linspace": [0.1, 1.0, n]}})
    assert spec.shape == (n,) and spec.axes[0].values[-1] == 1.0
    refused(f"axes.agents.0.preconditioner.linspace n = {n + 1}: must be at most {n}",
            {"agents.0.preconditioner": {"linspace": [0.1, 1.0, n + 1]}})
    refused(f"axes.agents.0.preconditioner.geomspace n = {n + 1}: must be at most {n}",
            {"agents.0.preconditioner": {"geomspace": [0.1, 1.0, n + 1]}})
    assert parse({"agents.0.preconditioner": [0.5] * n}).shape == (n,)  # a list of exactly n values too
    refused(f"axes.agents.0.preconditioner = {n + 1}: has more than {n} values",
            {"agents.0.preconditioner": [0.5] * (n + 1)})


def test_axis_key_must_be_a_non_empty_string():
    refused("axes key = '': must be a non-empty string", {"": [1.0]})
    refused("axes key = 5: must be a non-empty string", {5: [1.0]})  # a Python dict through the API


# --- integer axes: seed and steps_per_turn --------------------------------------------------------------------

def test_seed_axis_bounds_and_first_bad_value():
    top = 2**31 - 1
    spec = parse({"seed": [0, top, 7]})
    assert spec.axes[0].kind == "seed" and spec.axes[0].values.dtype == np.int64
    assert spec.axes[0].values.tolist() == [0, top, 7]
    for bad in (top + 1, -1, 2.5, 2.7):  # 2.7 rounds up: any fraction is refused, not truncated
        err = refusal({"seed": [3, bad]})
        assert err.quantity == "axes.seed" and err.value == bad
        assert err.problem == f"must be integers in [0, {top}]"
        # the value as the user wrote it: an int when integral (not np.float64(-1.0)), else the float
        assert type(err.value) is (float if bad in (2.5, 2.7) else int)
        assert str(err) == f"axes.seed = {bad}: must be integers in [0, {top}]"
    err = refusal({"seed": [3, -1, 5, top + 1]})  # the first offending value, in the axis's order
    assert err.value == -1


def test_steps_per_turn_axis_bounds():
    spec = parse({"agents.0.steps_per_turn": [1, 1000]})
    assert spec.axes[0].kind == "steps" and spec.axes[0].values.tolist() == [1, 1000]
    assert spec.point_config({"agents.0.steps_per_turn": spec.axes[0].values[1]})["agents"][0]["steps_per_turn"] \
        == 1000
    for bad in (0, 1001):
        err = refusal({"agents.0.steps_per_turn": [2, bad]})
        assert (err.quantity, err.value, err.problem) == ("axes.agents.0.steps_per_turn", bad,
                                                          "must be integers in [1, 1000]")
        assert type(err.value) is int and f"= {bad}:" in str(err)
    assert refusal({"agents.0.steps_per_turn": [2, 1001, 0]}).value == 1001


# --- the spec's seed, the measures, chunk_size -----------------------------------------------------------------

def test_spec_seed_bound_and_default():
    assert parse({"agents.0.preconditioner": [0.5]}).seed == 0
    assert parse({"agents.0.preconditioner": [0.5]}, seed=2**31 - 1).seed == 2**31 - 1
    refused("seed = 2147483648: must be at most 2^31 - 1", {"agents.0.preconditioner": [0.5]}, seed=2**31)
    refused("seed = -1: must be an integer >= 0", {"agents.0.preconditioner": [0.5]}, seed=-1)


def test_predict_takes_no_options_and_a_measure_entry_has_one_key():
    spec = parse({"agents.0.preconditioner": [0.5]}, measure=["predict"])
    assert spec.measures == {"predict": {}}
    assert parse({"agents.0.preconditioner": [0.5]}, measure=[{"predict": {}}]).measures == {"predict": {}}
    refused("measure.predict key = 'N': is not allowed here; allowed keys: []",
            {"agents.0.preconditioner": [0.5]}, measure=[{"predict": {"N": 5}}])
    for entry in ({"predict": {}, "simulate": {"turns": 3}}, {}, 5):  # one key exactly (not none), or a name
        refused(f"measure entry = {entry!r}: must be a name or {{name: {{options}}}}",
                {"agents.0.preconditioner": [0.5]}, measure=[entry])
    # simulate alone: predict is added (always computed)
    assert parse({"agents.0.preconditioner": [0.5]}, measure=[{"simulate": {"turns": 3}}]).measures == \
        {"simulate": {"turns": 3}, "predict": {}}


@pytest.mark.parametrize("measure", [[], {"simulate": {"turns": 3}}, 5, None])
def test_measure_is_a_non_empty_list(measure):
    """``measure`` is a non-empty list (or one name): an empty list, a bare object or a number is refused."""
    raw = {**raw_spec({"agents.0.preconditioner": [0.5]}), "measure": measure}
    with pytest.raises(InputError) as info:
        sweep_spec.parse(raw)
    assert str(info.value) == f"measure = {measure!r}: must be a non-empty list of ['predict', 'simulate', " \
        "'train-lsa'] (or objects with options)"


def test_simulate_turns_bound():
    assert parse({"seed": [0]}, measure=[{"simulate": {"turns": 100_000}}]).measures["simulate"] == {"turns": 100_000}
    refused("measure.simulate.turns = 100001: must be at most 100000", {"seed": [0]},
            measure=[{"simulate": {"turns": 100_001}}])


@pytest.mark.parametrize("key, top", [("N", 10_000), ("steps", 100_000), ("batch", 100_000), ("turns", 100_000)])
def test_train_lsa_integer_bounds(key, top):
    assert parse({"seed": [0]}, measure=[{"train-lsa": {key: top}}]).measures["train-lsa"][key] == top
    refused(f"measure.train-lsa.{key} = {top + 1}: must be at most {top}", {"seed": [0]},
            measure=[{"train-lsa": {key: top + 1}}])


def test_train_lsa_rates_positive_sigma_may_be_zero():
    spec = parse({"seed": [0]}, measure=[{"train-lsa": {"sigma": 0}}])
    assert spec.measures["train-lsa"] == {**sweep_spec.TRAIN_DEFAULTS, "sigma": 0.0}
    for key in ("tau", "lr"):
        refused(f"measure.train-lsa.{key} = 0: must be a finite positive number (sigma may be 0)", {"seed": [0]},
                measure=[{"train-lsa": {key: 0}}])
        assert parse({"seed": [0]}, measure=[{"train-lsa": {key: 1e-9}}]).measures["train-lsa"][key] == 1e-9
    refused("measure.train-lsa.sigma = -0.1: must be a finite positive number (sigma may be 0)", {"seed": [0]},
            measure=[{"train-lsa": {"sigma": -0.1}}])


def test_train_lsa_refused_on_every_protocol():
    for base in (PROTOCOL_BASE, RANDOM_BASE, MARKOV_BASE):
        refused("measure = 'train-lsa': runs trained agents in the round robin only; remove base.protocol or "
                "measure predict/simulate", {"seed": [0]}, base=base, measure=["train-lsa"])


def test_chunk_size_bound():
    top = sweep_spec.MAX_CHUNK
    assert top == 10**6
    assert parse({"agents.0.preconditioner": [0.5]}, chunk_size=top).chunk_size == top
    refused(f"chunk_size = {top + 1}: must be at most {top}", {"agents.0.preconditioner": [0.5]}, chunk_size=top + 1)


@pytest.mark.parametrize("axes, base, measure, chunk, generic", [
    ({"agents.0.preconditioner": [0.5]}, BASE, ["predict"], 100_000, False),
    ({"agents.0.target.0": [0.5], "agents.0.steps_per_turn": [2]}, BASE, ["predict"], 100_000, False),
    ({"agents.0.preconditioner": [0.5]}, PROMPT_BASE, ["predict"], 100_000, False),
    ({"agents.0.preconditioner": [0.5]}, BASE, [{"simulate": {"turns": 5}}], 256, False),
    ({"agents.0.prompt.y.1": [0.5]}, PROMPT_BASE, ["predict"], 256, True),
    ({"agents.0.preconditioner": [0.5]}, PROTOCOL_BASE, ["predict"], 256, True),
    ({"agents.0.preconditioner": [0.5]}, RANDOM_BASE, ["predict"], 256, True),
    ({P0: [0.5]}, RANDOM_BASE, ["predict"], 256, True),
    ({"agents.0.preconditioner": [0.5]}, BASE, ["train-lsa"], 1, False),
], ids=["closed form", "target and steps on a scalar preconditioner", "prompt agent's preconditioner", "simulate",
        "prompt path", "protocol", "random protocol", "probability axis", "train-lsa"])
def test_default_chunk_size_and_batched_kinds(axes, base, measure, chunk, generic):
    """Default chunk_size: 1 with train-lsa, 256 for the 10^5-point bound, else 100000. ``generic``: every
    point is built through config.parse (a protocol, or an axis without a batched setter)."""
    spec = parse(axes, base, measure)
    assert spec.chunk_size == chunk
    assert spec.generic is generic
    assert spec.expensive is (generic or "train-lsa" in measure)


def test_batched_kinds_of_paths():
    """Paths with a batched setter keep it whatever the agent's other fields (only target and geometry of a
    prompt agent, and paths without a setter, go through config.parse)."""
    spec = parse({"agents.0.target.0": [0.5], "agents.0.steps_per_turn": [2], "agents.0.geometry.0.1": [0.1],
                  "initial_message.1": [0.2], "agents.1.preconditioner.0.1": [0.1]})
    assert [a.kind for a in spec.axes] == ["target", "steps", "geometry", "initial", "preconditioner_entry"]
    assert [a.index for a in spec.axes] == [(0, 0), (0,), (0, 0, 1), (1,), (1, 0, 1)]
    prompt = parse({"agents.0.preconditioner": [0.5], "agents.0.steps_per_turn": [2]}, base=PROMPT_BASE)
    assert [a.kind for a in prompt.axes] == ["preconditioner", "steps"] and not prompt.generic
    assert parse({"agents.0.prompt.y.1": [0.5]}, base=PROMPT_BASE).axes[0].kind == "generic"


# --- the grid's size ---------------------------------------------------------------------------------------------

def test_closed_form_grid_bound():
    assert sweep_spec.MAX_POINTS == 10**7
    spec = parse({"agents.0.preconditioner": {"linspace": [0.1, 1, 10]},
                  "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 10**6]}})
    assert spec.n_points == 10**7
    refused("grid size = 10000001: must be at most 10000000 points for these measures and axes",
            {"agents.0.preconditioner": {"linspace": [0.1, 1, 11]},
             "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 909_091]}})  # 11 x 909091 = 10^7 + 1


@pytest.mark.parametrize("first, base, measure", [
    ("agents.0.preconditioner", BASE, [{"simulate": {"turns": 5}}]),
    ("agents.0.preconditioner", BASE, ["train-lsa"]),
    ("agents.0.prompt.y.1", PROMPT_BASE, ["predict"]),
    ("agents.0.preconditioner", PROTOCOL_BASE, ["predict"]),
])
def test_expensive_grid_bound(first, base, measure):
    assert sweep_spec.MAX_EXPENSIVE_POINTS == 10**5
    spec = parse({first: {"linspace": [0.2, 1, 10]}, "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 10**4]}},
                 base, measure)
    assert spec.n_points == 10**5
    refused("grid size = 100001: must be at most 100000 points for these measures and axes",
            {first: {"linspace": [0.2, 1, 11]}, "agents.1.preconditioner.0.0": {"linspace": [0.1, 1, 9091]}},
            base, measure)


# --- order, chunks, seeds -------------------------------------------------------------------------------------

def test_grid_is_the_product_first_axis_slowest_and_chunks_cover_it_once():
    axes = {"agents.0.preconditioner": {"linspace": [0.2, 1.0, 3]}, "seed": [5, 9],
            "agents.1.target.0": {"geomspace": [0.5, 2.0, 4]}}
    spec = parse(axes, chunk_size=7)
    want = list(itertools.product(np.linspace(0.2, 1.0, 3), [5, 9], np.geomspace(0.5, 2.0, 4)))
    assert spec.shape == (3, 2, 4) and spec.n_points == len(want) == 24 and spec.n_chunks == 4
    got = spec.axis_values(np.arange(spec.n_points))
    assert list(zip(*(got[name].tolist() for name in axes))) == [tuple(float(x) for x in w) for w in want]
    for c, (lo, hi) in enumerate([(0, 7), (7, 14), (14, 21), (21, 24)]):
        assert spec.chunk_points(c).tolist() == list(range(lo, hi))
    assert parse(axes, chunk_size=24).n_chunks == 1 and parse(axes, chunk_size=25).n_chunks == 1
    assert parse(axes, chunk_size=23).n_chunks == 2 and parse(axes, chunk_size=1).n_chunks == 24
    two = parse(axes, chunk_size=2)
    assert [two.chunk_points(c).tolist() for c in range(two.n_chunks)] == [[p, p + 1] for p in range(0, 24, 2)]


def test_seeds_of_points():
    spec = parse({"agents.0.preconditioner": [0.1, 0.2], "seed": [4, 11, 2]}, seed=3)
    values = spec.axis_values(np.arange(6))
    seeds = spec.seeds(values, 6)
    assert seeds.dtype == np.int64 and seeds.tolist() == [4, 11, 2, 4, 11, 2]
    plain = parse({"agents.0.preconditioner": [0.1, 0.2]}, seed=3)
    s = plain.seeds(plain.axis_values(np.arange(2)), 2)
    assert s.dtype == np.int64 and s.tolist() == [3, 3]


# --- each point's config ----------------------------------------------------------------------------------------

def test_point_config_sets_each_path_and_nothing_else():
    spec = parse({"agents.0.preconditioner": [0.1, 0.7], "agents.0.geometry.0.1": [0.0, 0.2],
                  "agents.1.steps_per_turn": [1, 3], "initial_message.1": [0.0, -0.4], "seed": [1, 2]})
    p = spec.n_points - 1
    v = {k: x[0] for k, x in spec.axis_values(np.array([p])).items()}
    cfg = spec.point_config(v)
    want = copy.deepcopy(BASE)
    want["agents"][0]["preconditioner"] = 0.7
    want["agents"][0]["geometry"][0][1] = want["agents"][0]["geometry"][1][0] = 0.2
    want["agents"][1]["steps_per_turn"] = 3
    want["initial_message"] = [0.0, -0.4]
    assert cfg == want and type(cfg["agents"][1]["steps_per_turn"]) is int
    assert spec.base == {**BASE, "initial_message": [0.0, 0.0]}  # the base itself is untouched


def test_gap_axes_place_agent_1s_target():
    """``w_1* = w_0* + s ||Delta_0|| (cos(theta) e + sin(theta) q)``, q the coordinate axis most orthogonal
    to e (here e_2, unambiguous), made orthogonal to e; s defaults to 1 and theta to 0."""
    base = {"agents": [
        {"name": "A", "geometry": np.eye(3).tolist(), "target": [1.0, 0.0, 0.0], "preconditioner": 0.5},
        {"name": "B", "geometry": np.eye(3).tolist(), "target": [0.0, 2.0, 0.5], "preconditioner": 0.5}]}
    w0, w1 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.5])
    delta0 = w1 - w0
    e = delta0 / np.linalg.norm(delta0)
    q = np.array([0.0, 0.0, 1.0]) - e[2] * e
    q /= np.linalg.norm(q)

    def want(theta, s):
        return w0 + s * np.linalg.norm(delta0) * (np.cos(theta) * e + np.sin(theta) * q)

    both = parse({"gap_angle": [0.0, 1.0, -2.0], "gap_scale": [0.5, 3.0]}, base=base)
    for theta in (0.0, 1.0, -2.0, math.pi / 2):
        for s in (0.5, 3.0):
            got = both.point_config({"gap_angle": theta, "gap_scale": s})["agents"][1]["target"]
            np.testing.assert_allclose(got, want(theta, s), rtol=1e-13, atol=1e-15)
    angle = parse({"gap_angle": [0.0, 1.0]}, base=base)
    np.testing.assert_allclose(angle.point_config({"gap_angle": 1.0})["agents"][1]["target"], want(1.0, 1.0),
                               rtol=1e-13)
    scale = parse({"gap_scale": [0.5, 2.0]}, base=base)
    np.testing.assert_allclose(scale.point_config({"gap_scale": 2.0})["agents"][1]["target"], want(0.0, 2.0),
                               rtol=1e-13)


# --- every point's config is checked before any work ---------------------------------------------------------

def test_first_and_last_value_of_a_batched_axis_are_checked():
    """Base gap (-2, 1): a gap_scale of 1e308 puts agent 1's target at -inf. Refused whether it is the
    first or the last value of the axis (the config's field named, with no probability note)."""
    base = {"agents": [BASE["agents"][0], {**BASE["agents"][1], "target": [-1.0, 1.0]}]}
    for scale in ([1.0, 1e308], [1e308, 1.0]):
        err = refusal({"gap_scale": scale}, base=base)
        assert err.quantity == "B.target" and err.problem == "contains NaN or inf", str(err)
    assert parse({"gap_scale": [1.0, 1e300]}, base=base).n_points == 2


def test_a_probability_axis_refusal_names_the_point():
    err = refusal({"protocol.random.0.next.a": [0.5, 1.0]}, base=MARKOV_BASE)  # a absorbing: reducible
    assert str(err).startswith("protocol.random next = ")
    assert str(err).endswith("(at protocol.random.0.next.a = 1, the others of its law rescaled)")
    err = refusal({P0: [0.0, 0.5]}, base={**RANDOM_BASE, "protocol": {"random": [
        {**a, "probability": p} for a, p in zip(RANDOM_BASE["protocol"]["random"], (0.5, 0.0, 0.5))]}})
    assert str(err) == ("protocol agent = 'A': never speaks: every agent must speak in at least one alternative that "
                        "can occur (at protocol.random.0.probability = 0, the others of its law rescaled)")


# --- probability axes -----------------------------------------------------------------------------------------

def test_probability_values_in_the_closed_unit_interval():
    spec = parse({P0: [0.0, 1.0]}, base=RANDOM_BASE)
    laws = [[a["probability"] for a in spec.point_config({P0: v})["protocol"]["random"]] for v in (0.0, 1.0)]
    assert laws == [[0.0, 0.6, 0.4], [1.0, 0.0, 0.0]]
    for bad in (np.nextafter(1.0, 2.0), np.nextafter(0.0, -1.0)):
        refused(f"axes.{P0} = {float(bad)!r}: must be a probability in [0, 1]", {P0: [0.5, float(bad)]},
                base=RANDOM_BASE)
    refused(f"axes.{P0} = 1.5: must be a probability in [0, 1]", {P0: [0.5, 1.5, -1.0, 2.0]}, base=RANDOM_BASE)


def test_a_law_whose_others_are_zero_takes_exactly_one():
    base = copy.deepcopy(RANDOM_BASE)
    for a, p in zip(base["protocol"]["random"], (1.0, 0.0, 0.0)):
        a["probability"] = p
    spec = parse({P0: [1.0]}, base=base)
    assert [a["probability"] for a in spec.point_config({P0: 1.0})["protocol"]["random"]] == [1.0, 0.0, 0.0]
    err = refusal({P0: [float(np.nextafter(1.0, 0.0)), 1.0]}, base=base)
    assert err.quantity == f"axes.{P0}" and err.value == np.nextafter(1.0, 0.0)
    assert err.problem.startswith("cannot be set below 1: the other probabilities of its law are all 0")


def test_probability_axes_name_an_existing_law():
    assert parse({"protocol.random.2.probability": [0.5]}, base=RANDOM_BASE).axes[0].kind == "probability"
    refused("axis = 'protocol.random.3.probability': names no alternative with a 'probability' (independent draws) "
            "in the base", {"protocol.random.3.probability": [0.5]}, base=RANDOM_BASE)
    assert parse({"protocol.random.1.next.b": [0.5]}, base=MARKOV_BASE).axes[0].kind == "probability"
    refused("axis = 'protocol.random.2.next.b': names no alternative with a 'next' row (a Markov chain) in the base",
            {"protocol.random.2.next.b": [0.5]}, base=MARKOV_BASE)
    spec = parse({"protocol.initial.b": [0.25]}, base=MARKOV_BASE)
    assert spec.point_config({"protocol.initial.b": 0.25})["protocol"]["initial"] == {"a": 0.75, "b": 0.25}
    no_initial = copy.deepcopy(MARKOV_BASE)
    del no_initial["protocol"]["initial"]
    refused("axis = 'protocol.initial.b': needs the base to give protocol.initial (the law of the first "
            "alternative)", {"protocol.initial.b": [0.25]}, base=no_initial)


def test_one_axis_per_law():
    refused("axes = 'protocol.random probability': has two axes on one law: each rescales the others, so give at "
            "most one axis per law", {P0: [0.5], "protocol.random.1.probability": [0.3]}, base=RANDOM_BASE)
    refused("axes = 'protocol.random.0.next': has two axes on one law: each rescales the others, so give at most "
            "one axis per law", {"protocol.random.0.next.a": [0.5], "protocol.random.0.next.b": [0.3]},
            base=MARKOV_BASE)
    spec = parse({"protocol.random.0.next.b": [0.5], "protocol.random.1.next.a": [0.4], "protocol.initial.a": [0.3]},
                 base=MARKOV_BASE)  # three laws, one axis each
    assert spec.shape == (1, 1, 1)


# --- the spec's objects ---------------------------------------------------------------------------------------

def test_axes_are_frozen_and_canonical_is_key_order_free():
    spec = parse({"agents.0.preconditioner": [0.5]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.axes[0].name = "agents.0.target.0"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.chunk_size = 3  # type: ignore[misc]
    raw = raw_spec({"agents.0.preconditioner": [0.5]}, seed=2)
    reordered = dict(reversed(list(raw.items())))
    assert sweep_spec.canonical(reordered) == sweep_spec.canonical(raw) == json.dumps(raw, sort_keys=True, indent=2)
    nested = '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}'
    assert sweep_spec.canonical({"b": 1, "a": {"d": 2, "c": 3}}) == nested


# --- refusals of malformed values and paths (each one line naming the field, never a traceback) ----------------

@pytest.mark.parametrize("values", [{}, {"linspace": [0.1, 1.0, 3], "geomspace": [0.1, 1.0, 3]},
                                    {"arange": [0.1, 1.0, 3]}])
def test_an_axis_object_is_one_linspace_or_geomspace(values):
    """An axis object has exactly one key, linspace or geomspace (the empty object too is refused)."""
    refused(f"axes.agents.0.preconditioner = {values!r}: must be a list of numbers, {{\"linspace\": [a, b, n]}} or "
            "{\"geomspace\": [a, b, n]}", {"agents.0.preconditioner": values})


@pytest.mark.parametrize("values", [[], 5, "0.5", None])
def test_an_axis_list_is_a_non_empty_list(values):
    """An axis that is not an object is a non-empty list (an empty one would make an empty grid)."""
    refused(f"axes.agents.0.preconditioner = {values!r}: must be a non-empty list of numbers (or linspace/geomspace)",
            {"agents.0.preconditioner": values})


@pytest.mark.parametrize("args", [[0.1, 1.0], [0.1, 1.0, 3, 4], 3])
def test_linspace_takes_exactly_start_stop_n(args):
    """linspace / geomspace take exactly [start, stop, n] (a fourth entry is refused, not ignored)."""
    for kind in ("linspace", "geomspace"):
        refused(f"axes.agents.0.preconditioner.{kind} = {args!r}: must be [start, stop, n]",
                {"agents.0.preconditioner": {kind: args}})


def test_a_path_index_one_past_the_end_is_refused():
    """A list index of a path is below the list's length (the length itself names no entry)."""
    refused("axis = 'agents.2.preconditioner': '2' is not an index of a list of length 2 in the base (list indices "
            "are ASCII digits 0-9)", {"agents.2.preconditioner": [0.5]})
    refused("axis = 'agents.0.target.2': '2' is not an index of a list of length 2 in the base (list indices "
            "are ASCII digits 0-9)", {"agents.0.target.2": [0.5]})


@pytest.mark.parametrize("name", ["zzz", "steps_per_turn", "seeds"])
def test_an_unknown_top_level_axis_is_refused_by_the_config(name):
    """Only ``seed``, ``gap_angle`` and ``gap_scale`` are derived: another name that is no key of the base
    (even one sorting after "seed") is put in the config, which refuses it."""
    refused(f"config key = '{name}': is not allowed here; allowed keys: ['agents', 'initial_message', 'protocol', "
            "'schema_version']", {name: [1]})


@pytest.mark.parametrize("args", [[1.0, 0.0, 3], [0.0, 1.0, 3], [0.0, 0.0, 3], [2.0, -1.0, 3]])
def test_geomspace_refuses_a_zero_start_or_stop(args):
    """geomspace's start and stop must be nonzero and of one sign (a zero stop too: no division by it)."""
    refused(f"axes.agents.0.preconditioner.geomspace = {args!r}: start and stop must be nonzero and of one sign",
            {"agents.0.preconditioner": {"geomspace": args}})


@pytest.mark.parametrize("key, value", [("tau", math.inf), ("lr", math.nan), ("sigma", -math.inf),
                                        ("tau", "1.0"), ("sigma", "0.1"), ("lr", None), ("sigma", True)])
def test_train_lsa_rates_are_finite_numbers(key, value):
    """tau, sigma and lr are finite JSON numbers (inf and NaN, which Python's json reads, and strings refused)."""
    err = refusal({"seed": [0]}, measure=[{"train-lsa": {key: value}}])
    assert err.quantity == f"measure.train-lsa.{key}" and err.problem == \
        "must be a finite positive number (sigma may be 0)"
    assert err.value is value or (value != value and err.value != err.value)  # NaN names itself


def test_train_lsa_defaults_are_those_of_a2ad_train_lsa():
    """docs/sweeps.rst: train-lsa's options default as ``a2ad train-lsa`` (its parser's defaults), turns to 400."""
    import argparse

    from proofs_check.cli import train_lsa

    parser = argparse.ArgumentParser()
    train_lsa.register(parser.add_subparsers())
    cli = vars(parser.parse_args(["train-lsa"]))
    got = parse({"seed": [0]}, measure=["train-lsa"]).measures["train-lsa"]
    assert got == {**{k: cli[k] for k in ("N", "tau", "sigma", "steps", "batch", "lr", "parameterisation")},
                   "turns": 400}


def test_measures_read_from_a_spec_file(tmp_path):
    """Measure names from a SPEC.json file (strings json makes, not the literals of a test) are recognised."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(raw_spec({"agents.0.preconditioner": [0.5]},
                                        measure=["predict", {"simulate": {"turns": 3}}])))
    assert sweep_spec.load(path).measures == {"predict": {}, "simulate": {"turns": 3}}
    path.write_text(json.dumps(raw_spec({"agents.0.preconditioner": [0.5]}, measure=[{"predict": {}}])))
    assert sweep_spec.load(path).measures == {"predict": {}}


def test_a_pickled_spec_builds_the_same_points():
    """A spec is pickled to workers: there too steps_per_turn is set as an int and a geometry entry symmetrically."""
    import pickle

    spec = parse({"agents.0.steps_per_turn": [1, 3], "agents.1.geometry.0.1": [0.0, 0.3]})
    point = {"agents.0.steps_per_turn": spec.axes[0].values[1], "agents.1.geometry.0.1": spec.axes[1].values[1]}
    cfg = pickle.loads(pickle.dumps(spec)).point_config(point)
    want = copy.deepcopy(BASE)
    want["agents"][0]["steps_per_turn"] = 3
    want["agents"][1]["geometry"][0][1] = want["agents"][1]["geometry"][1][0] = 0.3
    want["initial_message"] = [0.0, 0.0]  # the base's default, set by parse
    assert cfg == want and type(cfg["agents"][0]["steps_per_turn"]) is int
    # a probability axis rescales the others of its law there too: 0.3 and 0.2 share 1 - 0.2 = 0.8 as 3 : 2
    law = [a["probability"] for a in pickle.loads(pickle.dumps(parse({P0: [0.2]}, base=RANDOM_BASE)))
           .point_config({P0: 0.2})["protocol"]["random"]]
    assert law == pytest.approx([0.2, 0.48, 0.32], rel=RESCALE_RTOL)


def test_gap_axes_need_both_agents_given_by_geometry_and_target():
    """gap_angle / gap_scale refuse a base whose agent 0 or agent 1 is given by a prompt, naming that agent."""
    agent_1_prompt = {"agents": [BASE["agents"][0], {**PROMPT_BASE["agents"][0], "name": "B"}]}
    for i, base in ((0, PROMPT_BASE), (1, agent_1_prompt)):
        for name in ("gap_angle", "gap_scale"):
            refused(f"axes.{name} = '{name}': needs agents 0 and 1 given by geometry + target (agent {i} is given "
                    "by a prompt)", {name: [0.5]}, base=base)


def test_target_and_geometry_of_an_explicit_agent_stay_batched_beside_a_prompt_agent():
    """Only a prompt agent's own target and geometry go through config.parse: agent 1's keep their setters."""
    spec = parse({"agents.1.target.0": [0.5], "agents.1.geometry.1.0": [0.1]}, base=PROMPT_BASE)
    assert [(a.kind, a.index) for a in spec.axes] == [("target", (1, 0)), ("geometry", (1, 1, 0))]
    assert not spec.generic and spec.chunk_size == 100_000


def test_probability_axis_kinds_match_the_base_law():
    """An independent-draw axis on a Markov base, or a row K beyond the alternatives, is refused by name."""
    refused(f"axis = '{P0}': names no alternative with a 'probability' (independent draws) in the base",
            {P0: [0.5]}, base=MARKOV_BASE)
    for k in (2, 5):
        refused(f"axis = 'protocol.random.{k}.next.b': names no alternative with a 'next' row (a Markov chain) in "
                "the base", {f"protocol.random.{k}.next.b": [0.5]}, base=MARKOV_BASE)


# The rescaled probabilities are a product and a quotient of three floats: a few ulps from the exact ratio.
RESCALE_RTOL = 1e-15


def test_equal_alternatives_are_rescaled_each():
    """Two alternatives with equal content are two entries of the law: setting the first to 0.5 rescales the
    second and third by (1 - 0.5) / (0.4 + 0.2) (0.4 -> 1/3, 0.2 -> 1/6)."""
    same = {"rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]}
    base = {"agents": BASE["agents"], "protocol": {"random": [
        {"probability": 0.4, **same}, {"probability": 0.4, **copy.deepcopy(same)},
        {"probability": 0.2, "rounds": [{"B": {"A": 0.5, "B": 0.5}}]}]}}
    spec = parse({P0: [0.5]}, base=base)
    law = [a["probability"] for a in spec.point_config({P0: 0.5})["protocol"]["random"]]
    assert law == pytest.approx([0.5, 1 / 3, 1 / 6], rel=RESCALE_RTOL)


@pytest.mark.parametrize("first", ["agents.0.target.0", "seed", "agents.0.steps_per_turn", "gap_scale",
                                   "agents.0.preconditioner"])
def test_a_refusal_while_checking_another_axis_is_raised_as_it_is(first):
    """Only a probability axis's refusal is amended with the point: an invalid geometry found while checking
    an earlier axis (of any kind) is refused as config.parse words it."""
    err = refusal({first: [1], "agents.0.geometry.0.1": [5.0]})
    assert err.quantity == "A.geometry" and err.problem.startswith("must be positive semidefinite")
    assert "rescaled" not in str(err)


def test_the_point_of_every_first_value_is_checked():
    """The other axes sit at their FIRST value while one axis is checked: the grid's point 0 (geometry
    [[0.3, 0.6], [0.6, 0.5]], not PSD) is refused although each value is valid beside the others' last."""
    err = refusal({"agents.0.geometry.0.0": [0.3, 1.0], "agents.0.geometry.0.1": [0.6, 0.0]})
    assert err.quantity == "A.geometry" and err.problem.startswith("must be positive semidefinite")
