"""The random-protocol compiler's limits and fallbacks (theory.protocol.random_compiler), each at its boundary:

- a chain of exactly ``random_markov.MAX_UNKNOWNS`` written messages is solved; one more is left to its
  equations ("past MAX_UNKNOWNS written messages", the module text);
- a chain whose expanded conditional moments exceed the solving algebra's word bound
  (``random_markov.NAMED_MAX_WORDS``) falls back to named blocks (the expanded attempt's TooLarge is not the
  chain's answer);
- an elimination order that fails (TooLarge past the word bound, ValueError when a block column vanishes) is
  abandoned: the stationary mean is then given by its equation, with the note, not an exception.

The limits are lowered with ``monkeypatch`` so that a small protocol sits at each boundary (the real ones need
chains whose derivation takes minutes). The mutation killer of random_compiler.py runs this file
(mutation/targets.toml)."""
import sympy as sp

from theory.protocol import random_compiler as RC, random_markov as RM
from theory.protocol.random_description import independent, markov

NAMES = ["A", "B"]
HALF, THIRD = sp.Rational(1, 2), sp.Rational(1, 3)
# A hears B, B hears A, both in turn: 1 + 1 + 2 = 4 written messages (an agent writing in an alternative).
THREE = [[{"A": {"B": 1}}], [{"B": {"A": 1}}], [{"A": {"B": 1}}, {"B": {"A": 1}}]]
# Two alternatives, each agent replying in both: 4 written messages, solved expanded; its expanded conditional
# first moments have 29 and 9 words, the named path's polynomials far fewer (each definition is one step).
BOTH = [[{"A": {"B": 1}}, {"B": {"A": 1}}], [{"B": {"A": 1}}, {"A": {"B": 1}}]]
# A word bound below the expanded moments of BOTH (29 words) and above every named definition of it.
SMALL_BOUND = 8


def test_chain_at_the_unknowns_limit(monkeypatch):
    rs = markov(NAMES, THREE, [[THIRD] * 3] * 3)
    writers = len(RM.reduce_system(*_pieces(rs)).writers)
    assert writers == 4
    monkeypatch.setattr(RM, "MAX_UNKNOWNS", writers)  # exactly at the limit: solved
    rc = RC.compile_random(rs)
    assert rc.mean is not None and not any("given by their equations" in x for x in rc.notes)
    monkeypatch.setattr(RM, "MAX_UNKNOWNS", writers - 1)  # one past it: left to the equations, said in the note
    rc = RC.compile_random(rs)
    assert rc.mean is None and rc.named is None
    assert rc.notes == [f"the conditional first moments: given by their equations ({writers} written messages to "
                        f"solve for (limit {writers - 1}))"]


def _pieces(rs):
    rc = RC.compile_random(rs, derive_mean=False)
    return rc.Phi, rs.P, rc.mean_map


def test_expanded_moments_past_the_word_bound_fall_back_to_named_blocks(monkeypatch):
    rs = markov(NAMES, BOTH, [[HALF, HALF], [HALF, HALF]])
    expanded = RC.compile_random(rs)
    assert expanded.named is None and max(len(p) for row in expanded.cond_mean for p in row) > SMALL_BOUND
    monkeypatch.setattr(RM, "NAMED_MAX_WORDS", SMALL_BOUND)
    rc = RC.compile_random(rs)
    assert rc.named is not None and rc.mean is not None and len(rc.notes) == 1 and "named blocks" in rc.notes[0]
    assert all(len(p) <= SMALL_BOUND for p in rc.alg.named_letters().values())


def test_an_order_past_the_word_bound_is_abandoned(monkeypatch):
    rs = independent(NAMES, THREE, [THIRD] * 3)
    assert max(len(p) for p in RC.compile_random(rs).mean) > 3
    monkeypatch.setattr(RC, "EXPANDED_MAX_WORDS", 3)  # every order's elimination raises TooLarge
    rc = RC.compile_random(rs)
    assert rc.mean is None and rc.notes == ["the stationary mean: no elimination order gave a form that reduces "
                                            "to 0 (or it exceeds 3 words): given by its equation"]
    assert rc.second_moment  # the moment equations are still derived


def test_an_order_with_a_vanishing_column_is_abandoned():
    """A never writes and B copies A: the mean's system ``x_A = x_A`` has a vanishing block column (the
    elimination's ValueError) in every order: the mean is left to its equation."""
    rs = independent(NAMES, [[{"B": {"A": 1}}], [{"B": {"A": 0.5, "B": 0.5}}]], [HALF, HALF])
    rc = RC.compile_random(rs)
    bound = RC.EXPANDED_MAX_WORDS
    assert rc.mean is None and rc.notes == ["the stationary mean: no elimination order gave a form that reduces "
                                            f"to 0 (or it exceeds {bound} words): given by its equation"]


def test_the_next_order_is_tried_after_one_past_the_word_bound(monkeypatch):
    """With B listed first, the first order's elimination of THREE needs more words than the second's: under a
    bound between the two the first raises TooLarge and the second gives the mean."""
    rs = independent(["B", "A"], THREE, [THIRD] * 3)
    monkeypatch.setattr(RC, "EXPANDED_MAX_WORDS", 5)
    rc = RC.compile_random(rs)
    assert rc.mean is not None and rc.notes == []
    assert RC._solve(*_independent_system(rs), orders=1) is None  # the first order alone fails


def _independent_system(rs):
    rc = RC.compile_random(rs, derive_mean=False)
    return rc.mean_map, rc.mean_offset
