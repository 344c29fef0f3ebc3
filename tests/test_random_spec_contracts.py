"""Contracts of a config's ``protocol.random`` (``numerics.protocol.random_spec``; docs/protocol.rst, "Random
protocols"), each the only difference of a surviving mutant of that module:

* at most 16 alternatives: 16 accepted, 17 refused, for both laws;
* a probability above 1 + 1e-9 is refused by its own name (before the law's sum is looked at), in a
  ``probability``, a ``next`` row and ``initial``; the sum tolerance 1e-9 on both sides;
* the stationary law (the first round's law of a chain without ``initial``) is a probability vector: an entry
  below 1e-15 is set to 0 (never left negative), one above it is kept;
* ``can_occur``: p > 0 for independent draws, every alternative of a chain;
* the JSON form (``as_dict``, the transcript header): every probability of independent draws (also of a single
  alternative), a chain's positive probabilities only, ``initial`` only where the config gives it;
* a chain is primitive: accepted up to Wielandt's bound (exponent (n-1)^2 + 1), a cycle refused;
* names are non-empty strings, unique, and differ from the 0-based indices that label unnamed alternatives;
* an alternative left out of a ``next`` row or of ``initial`` has probability 0, also in the probabilities as
  written (``P_raw``, ``initial_raw``: what ``--precision`` reads).

The documented numbers are read from the docs, not from the code; expected laws are computed here (closed form
or an eigenvector of ``P^T``). Parsing only: every test calls ``random_spec.parse`` on a dict.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import random_spec
from tests.test_documented_formats import documented

NAMES = ["A", "B"]
ROUNDS = [{"A": {"B": 1.0}, "B": {"A": 1.0}}]  # both agents speak in every alternative

MAX_ALTERNATIVES = int(documented("protocol.rst", r"at most (\d+) alternatives").group(1))
LAW_TOL = float(documented("protocol.rst", r"each law sums to 1 within (\d+(?:\.\d+)?e-?\d+)").group(1))
PROBABILITY_MAX = 1 + float(documented("protocol.rst", r"one above 1 \+ (\d+(?:\.\d+)?e-?\d+) is refused by its "
                                                       r"own name").group(1))
ZERO_BELOW = float(documented("protocol.rst", r"an entry below (\d+(?:\.\d+)?e-?\d+) \(rounding").group(1))

# The stationary law from a least-squares solve of an O(1) system: its absolute error is a few float64 ulps of 1
# (measured ~1e-16); 1e-15 bounds it with room and is still 10 times below the kept entry 10 * ZERO_BELOW.
STATIONARY_ABS_TOL = 1e-15
ULP_1 = 2.0 ** -52  # the spacing of float64 numbers in [1, 2)


def parse(protocol):
    return random_spec.parse(protocol, NAMES, 1, [0.0])


def refusal(protocol) -> str:
    with pytest.raises(InputError) as exc:
        parse(protocol)
    return str(exc.value)


def independent(*ps):
    return {"random": [{"probability": p, "rounds": ROUNDS} for p in ps]}


def chain(rows: dict, **extra):
    """``rows``: {name: next row}, in order."""
    return {"random": [{"name": n, "rounds": ROUNDS, "next": row} for n, row in rows.items()], **extra}


def reference_stationary(P) -> np.ndarray:
    """pi P = pi, sum pi = 1: the eigenvector of P^T for the eigenvalue nearest 1."""
    w, v = np.linalg.eig(np.asarray(P, dtype=float).T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    return pi / pi.sum()


# ------------------------------------------------------------------ at most 16 alternatives

def test_the_documented_limits():
    assert (MAX_ALTERNATIVES, LAW_TOL, PROBABILITY_MAX, ZERO_BELOW) == (16, 1e-9, 1 + 1e-9, 1e-15)


@pytest.mark.parametrize("n", [MAX_ALTERNATIVES, MAX_ALTERNATIVES + 1])
def test_at_most_16_independent_alternatives(n):
    protocol = independent(*([1 / n] * n))
    if n > MAX_ALTERNATIVES:
        assert refusal(protocol) == (f"protocol.random = '{n} alternatives': must have at most {MAX_ALTERNATIVES} "
                                     "alternatives")
        return
    rp = parse(protocol)
    assert rp.n_alt == n and not rp.markov and rp.labels == tuple(str(k) for k in range(n))
    assert np.array_equal(rp.P, np.full((n, n), 1 / n)) and np.array_equal(rp.initial_law, np.full(n, 1 / n))


@pytest.mark.parametrize("n", [MAX_ALTERNATIVES, MAX_ALTERNATIVES + 1])
def test_at_most_16_chain_alternatives(n):
    """A cycle with a self-loop at every alternative (primitive): stay or move on, 1/2 each."""
    labels = [f"s{k}" for k in range(n)]
    protocol = chain({labels[k]: {labels[k]: 0.5, labels[(k + 1) % n]: 0.5} for k in range(n)})
    if n > MAX_ALTERNATIVES:
        assert refusal(protocol) == (f"protocol.random = '{n} alternatives': must have at most {MAX_ALTERNATIVES} "
                                     "alternatives")
        return
    rp = parse(protocol)
    expected = 0.5 * (np.eye(n) + np.roll(np.eye(n), 1, axis=1))
    assert rp.markov and rp.labels == tuple(labels) and np.array_equal(rp.P, expected)
    # doubly stochastic: the stationary law is uniform
    assert np.max(np.abs(rp.initial_law - 1 / n)) <= STATIONARY_ABS_TOL


# ------------------------------------------------------------------ a probability is at most 1 (+ LAW_TOL)

def _next(x):
    return math.nextafter(x, math.inf)


# (protocol built from one probability value x, the name of x, the name of its law's sum, x read back)
WHERE = [
    (lambda x: independent(x), "protocol.random[0].probability", "protocol.random probability",
     lambda rp: rp.P[0, 0]),
    (lambda x: chain({"x": {"x": 0.5, "y": 0.5}, "y": {"x": x}}), "protocol.random[1].next.x",
     "protocol.random[1].next", lambda rp: rp.P[1, 0]),
    (lambda x: chain({"x": {"x": 0.5, "y": 0.5}, "y": {"x": 1.0}}, initial={"y": x}), "protocol.initial.y",
     "protocol.initial", lambda rp: rp.initial_law[1]),
]


@pytest.mark.parametrize("build, name, law, read", WHERE, ids=["probability", "next", "initial"])
def test_a_probability_above_one_is_refused_by_name(build, name, law, read):
    for x in (1.5, 2.5, _next(PROBABILITY_MAX)):
        assert refusal(build(x)) == f"{name} = {x!r}: must be a probability in [0, 1]"
    # 1 + 1e-9 itself is a probability; the law holding it is then refused by its sum, 1 + 1e-9 + ~1e-16
    total = 1.0 + (PROBABILITY_MAX - 1.0)
    assert refusal(build(PROBABILITY_MAX)) == (f"{law} = {total!r}: the probabilities must sum to 1 "
                                               f"(within {LAW_TOL:g})")


@pytest.mark.parametrize("build, name, law, read", WHERE, ids=["probability", "next", "initial"])
def test_a_law_sums_to_one_within_law_tol(build, name, law, read):
    """The largest float64 x with x - 1 <= 1e-9 is accepted as the whole law; the next float is not."""
    largest = 1.0 + math.floor(LAW_TOL / ULP_1) * ULP_1
    assert largest - 1.0 <= LAW_TOL < _next(largest) - 1.0
    assert read(parse(build(largest))) == largest
    assert refusal(build(_next(largest))) == (f"{law} = {_next(largest)!r}: the probabilities must sum to 1 "
                                              f"(within {LAW_TOL:g})")


# ------------------------------------------------------------------ the stationary law's tiny entries

def _tiny_chain(e):
    """x always moves to y; y moves to x with probability e (1 - e rounds to 1 below 1e-16): pi_x = e / (1 + e)."""
    return chain({"x": {"y": 1.0}, "y": {"x": e, "y": 1.0 - e}})


@pytest.mark.parametrize("e", [ZERO_BELOW / 10, 1e-20, 0.5e-300])
def test_a_stationary_entry_below_the_cutoff_is_zero(e):
    rp = parse(_tiny_chain(e))
    assert e / (1 + e) < ZERO_BELOW
    assert rp.initial_law[0] == 0.0 and np.all(rp.initial_law >= 0)
    assert abs(rp.initial_law.sum() - 1.0) <= STATIONARY_ABS_TOL
    assert np.array_equal(rp.stationary(), rp.initial_law)
    assert rp.initial_raw is None


def test_a_stationary_entry_above_the_cutoff_is_kept():
    e = 10 * ZERO_BELOW
    rp = parse(_tiny_chain(e))
    assert rp.initial_law[0] > 0
    assert abs(rp.initial_law[0] - e / (1 + e)) <= STATIONARY_ABS_TOL
    assert abs(rp.initial_law[1] - 1 / (1 + e)) <= STATIONARY_ABS_TOL


def test_the_stationary_law_of_the_docs_chain():
    rows = {"A speaks": {"B speaks": 0.7, "C speaks": 0.3}, "B speaks": {"A speaks": 0.5, "C speaks": 0.5},
            "C speaks": {"A speaks": 0.9, "B speaks": 0.1}}
    P = [[0.0, 0.7, 0.3], [0.5, 0.0, 0.5], [0.9, 0.1, 0.0]]
    rp = parse(chain(rows))
    assert np.array_equal(rp.P, P)
    assert np.max(np.abs(rp.initial_law - reference_stationary(P))) <= STATIONARY_ABS_TOL


# ------------------------------------------------------------------ names and the default index labels

def test_a_name_may_not_repeat_a_later_index():
    protocol = {"random": [{"name": "1", "probability": 0.5, "rounds": ROUNDS},
                           {"probability": 0.5, "rounds": ROUNDS}]}
    assert refusal(protocol) == ("protocol.random name = ['1', '1']: names must be unique (and differ from the "
                                 "indices)")


def test_a_name_may_not_repeat_an_earlier_index():
    protocol = {"random": [{"probability": 0.5, "rounds": ROUNDS},
                           {"name": "0", "probability": 0.5, "rounds": ROUNDS}]}
    assert refusal(protocol) == "protocol.random[1].name = '0': is used twice: names must be unique"


def test_names_and_indices_label_independent_alternatives():
    protocol = {"random": [{"name": "5", "probability": 0.25, "rounds": ROUNDS},
                           {"probability": 0.75, "rounds": ROUNDS}]}
    rp = parse(protocol)
    assert rp.labels == ("5", "1") and np.array_equal(rp.P[0], [0.25, 0.75])


def test_chain_names_are_unique():
    protocol = {"random": [{"name": "x", "rounds": ROUNDS, "next": {"x": 1.0}},
                           {"name": "x", "rounds": ROUNDS, "next": {"x": 1.0}}]}
    assert refusal(protocol) == "protocol.random[1].name = 'x': is used twice: names must be unique"


# ------------------------------------------------------------------ left out: probability 0, also as written

def test_an_alternative_left_out_has_probability_zero_as_written():
    rp = parse(chain({"x": {"x": 0.5, "y": 0.5}, "y": {"x": 1.0}}, initial={"y": 1.0}))
    assert np.array_equal(rp.P, [[0.5, 0.5], [1.0, 0.0]]) and np.array_equal(rp.initial_law, [0.0, 1.0])
    assert rp.P_raw == ((0.5, 0.5), (1.0, 0)) and rp.initial_raw == (0, 1.0)
    assert all(float(rp.P_raw[j][l]) == rp.P[j, l] for j in range(2) for l in range(2))


# ------------------------------------------------------------------ which alternatives can occur

def test_can_occur_is_a_positive_probability_or_any_alternative_of_a_chain():
    """``RandomProtocol.can_occur``: drawn with positive probability in the long run (docs/protocol.rst: every agent
    speaks in one that can occur). Independent draws: p > 0; an irreducible chain visits every alternative, also
    one its first round or some row never draws."""
    rp = parse(independent(0.75, 0.25, 0.0))
    assert rp.can_occur().tolist() == [True, True, False]
    rp = parse(chain({"x": {"y": 1.0}, "y": {"x": 0.5, "y": 0.5}}, initial={"y": 1.0}))
    assert rp.can_occur().tolist() == [True, True]


def test_the_json_form_lists_a_chains_positive_probabilities():
    """docs/config.rst (protocol transcript header): a chain's ``next`` rows and ``initial`` list only their positive
    probabilities; written back it parses to the same law."""
    documented("config.rst", re.escape("a chain's ``next`` rows and ``initial`` list only their positive "
                                       "probabilities"))
    rp = parse(chain({"x": {"x": 0.5, "y": 0.5}, "y": {"x": 1.0, "y": 0.0}}, initial={"x": 0.0, "y": 1.0}))
    out = rp.as_dict()
    assert [(a["name"], a["next"]) for a in out["random"]] == [("x", {"x": 0.5, "y": 0.5}), ("y", {"x": 1.0})]
    assert out["initial"] == {"y": 1.0}
    again = parse(out)
    assert np.array_equal(again.P, rp.P) and np.array_equal(again.initial_law, rp.initial_law)


@pytest.mark.parametrize("ps", [(1.0,), (0.75, 0.25, 0.0)], ids=["one alternative", "three"])
def test_the_json_form_of_independent_draws(ps):
    """Every alternative with its ``probability`` (zero ones too: the list is the law), also a single one."""
    rp = parse(independent(*ps))
    out = rp.as_dict()
    assert out == {"random": [{"probability": p, "rounds": ROUNDS} for p in ps],
                   "initial_messages": {"A": [0.0], "B": [0.0]}}
    again = parse(out)
    assert np.array_equal(again.P, rp.P) and np.array_equal(again.initial_law, rp.initial_law)


def test_the_json_form_has_initial_only_where_the_config_gives_it():
    """docs/config.rst (protocol transcript header): ``initial`` if the config gives it; without it the law read back
    is again the stationary one, solved, not a written law (``initial_raw`` is None: ``--precision`` solves it)."""
    documented("config.rst", re.escape("``initial`` if the config gives it, else the first round is drawn from the "
                                       "stationary law"))
    rows = {"x": {"x": 0.5, "y": 0.5}, "y": {"x": 1.0}}
    out = parse(chain(rows)).as_dict()
    assert "initial" not in out and parse(out).initial_raw is None
    assert parse(chain(rows, initial={"x": 0.25, "y": 0.75})).as_dict()["initial"] == {"x": 0.25, "y": 0.75}
    assert "initial" not in parse(independent(0.5, 0.5)).as_dict()


# ------------------------------------------------------------------ primitive: up to Wielandt's bound

def _wielandt(n):
    """s0 -> s1 -> ... -> s(n-1) -> s0 or s1: primitive with exponent (n-1)^2 + 1, the largest possible (Wielandt);
    without the chord s(n-1) -> s1 it is a cycle of period n."""
    rows = {f"s{k}": {f"s{k + 1}": 1.0} for k in range(n - 1)}
    rows[f"s{n - 1}"] = {"s0": 0.5, "s1": 0.5}
    return rows


def _exponent(P) -> int | None:
    """The least m with P^m > 0 (None if none up to (n-1)^2 + 1), by repeated multiplication."""
    A = (np.asarray(P) > 0).astype(np.int64)
    R = A.copy()
    for m in range(1, (len(A) - 1) ** 2 + 2):
        if np.all(R > 0):
            return m
        R = ((R @ A) > 0).astype(np.int64)
    return None


@pytest.mark.parametrize("n", [3, 4, 5, 9, MAX_ALTERNATIVES])
def test_a_chain_primitive_only_at_wielandts_bound_is_accepted(n):
    rp = parse(chain(_wielandt(n)))
    assert _exponent(rp.P) == (n - 1) ** 2 + 1
    expected = np.zeros((n, n))
    for k in range(n - 1):
        expected[k, k + 1] = 1.0
    expected[n - 1, :2] = 0.5
    assert np.array_equal(rp.P, expected)
    assert np.max(np.abs(rp.initial_law - reference_stationary(expected))) <= STATIONARY_ABS_TOL


@pytest.mark.parametrize("n", [3, 4, MAX_ALTERNATIVES])
def test_a_cycle_is_periodic_and_refused(n):
    rows = {f"s{k}": {f"s{(k + 1) % n}": 1.0} for k in range(n)}
    message = refusal(chain(rows))
    assert message.startswith("protocol.random next = [[0.0, 1.0, ") and message.endswith(
        "the chain must be irreducible and aperiodic (every alternative reachable from every other, with no "
        "periodic cycle)")


@pytest.mark.parametrize("name", ["", 5, None, ["x"]])
@pytest.mark.parametrize("markov", [False, True], ids=["independent", "chain"])
def test_a_name_is_a_non_empty_string(name, markov):
    first = {"name": name, "rounds": ROUNDS, **({"next": {"y": 1.0}} if markov else {"probability": 0.5})}
    second = {"name": "y", "rounds": ROUNDS, **({"next": {"y": 0.5}} if markov else {"probability": 0.5})}
    assert refusal({"random": [first, second]}) == f"protocol.random[0].name = {name!r}: must be a non-empty string"


def test_one_alternative_drawn_for_sure_can_occur_and_is_its_own_law():
    """Independent draws of a single alternative (probability 1): it can occur, and its stationary law is [1]."""
    rp = parse(independent(1.0))
    assert rp.can_occur().tolist() == [True]
    assert rp.stationary().tolist() == [1.0]


def test_a_parsed_random_protocol_cannot_be_changed():
    import dataclasses

    rp = parse(independent(0.5, 0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rp.markov = True  # type: ignore[misc]


@pytest.mark.parametrize("row", [{}, [], ["x"], "x", 1.0, None])
def test_a_next_row_is_a_non_empty_object(row):
    """docs/protocol.rst: a chain's ``next`` is a JSON object {alternative name: probability}, not empty."""
    assert "must be a non-empty JSON object {alternative name: probability}" in refusal(chain({"x": row}))
