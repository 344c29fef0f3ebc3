"""A-priori size of a protocol's derivation (P1), checked before the compiler starts.

The compiler's cost is set by how many free-algebra words it manipulates and prints, and
that is known from the phases alone, before any polynomial is built:

- the round map ``Phi = Phi_P ... Phi_1``: block ``(a, b)`` has at most ``N_ab`` words, with
  ``N = A_P ... A_1`` the product of the phases' 0/1 hearing patterns (a listener's row lists
  its sources, any other agent keeps its own message). ``N`` is computed on Python integers,
  so a pattern whose words would not fit in memory (12 dense agents over 64 phases: 12^65
  words) is measured in microseconds. Equality holds for generic weights; ``r`` likewise, as a bound.
- the first pivot of block elimination over the n live agents forms ``A_ik Q_k A_kj`` for every
  i, j: ``col_k x row_k`` words, with ``col_k``/``row_k`` the words of block column/row k of
  ``I - Phi_RR``;
- back substitution with named Schur blocks doubles the terms of the solution per eliminated
  agent: ``n^2 2^n`` words over the n residuals, each dearer to prove and print (weight
  ``BACKSUB_WEIGHT``);
- long words are dear to expand: the squared lengths of the words of ``Phi`` and ``r``
  (weight ``LETTER_WEIGHT``).

:func:`elimination_words` is that estimate and :func:`check` refuses (:class:`TooLarge`,
naming the estimate and the limit) a protocol above ``MAX_ELIMINATION_WORDS``. The compiler's
run-time bound (``MAX_POLY_WORDS``, :class:`TooLarge` raised mid-run) stays as the backstop.
"""
from __future__ import annotations

from theory.core.algebra import TooLarge
from theory.protocol.description import Spec

# Measured (`a2ad derive --protocol`, d = 2, 2 shared cores under load): dense protocols where every
# agent hears every agent (n live agents, P phases, random weights) and rounds robin of K agents.
#   case:            n,P=2,6  3,4  3,5   4,3  4,4   5,1   5,2   5,3   6,1   7,1   rr8  rr12 rr16 rr20 rr30
#   estimate/1e3:    31       24   136   17   129   13    15    48    37    101   3.2  12.6 35   77   348
#   seconds:         5.6      8.0  43.7  5.0  46.7  12.7  12.1  15.9  14.9  >80   2.5  4.5  20   18   130
# A least-squares fit gives ~1 s + 0.33 ms per estimated word (residuals within 8 s); the dense 5-agent,
# 5-phase protocol is ~1.2e7 words (over an hour), and peak memory stayed under 150 MB up to 1.3e5 words.
# The limit is ~30 s by that fit: a margin of 2x under 60 s for the fit's scatter, slower machines and loads.
MAX_ELIMINATION_WORDS = 90_000
# Long words (a long round robin: r_a holds words of up to K letters) are dear in SymPy's expansion, about
# quadratically in their length: the fit above gives 0.73 ms per squared letter of the words of Phi and
# r, ~2 estimate words.
LETTER_WEIGHT = 2
# A back-substitution word costs ~16 first-pivot words (fit of the one-phase rows above, w = 1).
BACKSUB_WEIGHT = 16


# A word polynomial's statistics: (words, total letters, total squared letters) of its words.
_ZERO, _ONE = (0, 0, 0), (1, 0, 0)
_C = (2, 3, 5)  # c_i = w_i* - M_i w_i*: words of 1 and 2 letters


def _add(x: tuple, y: tuple) -> tuple:
    return (x[0] + y[0], x[1] + y[1], x[2] + y[2])


def _prepend(x: tuple) -> tuple:
    """The statistics after one more letter (the listener's ``M_i``) on every word: (l+1)^2 = l^2 + 2l + 1."""
    return (x[0], x[1] + x[0], x[2] + 2 * x[1] + x[0])


def _round_map_stats(s: Spec) -> tuple[list[list[tuple]], list[tuple]]:
    """Word statistics of every block of ``Phi`` and of ``r``, phase by phase, on integers (no polynomial)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Phi = [[_ONE if i == j else _ZERO for j in range(K)] for i in range(K)]
    r = [_ZERO] * K
    for phase in s.phases:
        rows, r_new = list(Phi), list(r)
        for listener, row in phase:
            heard, heard_r = [_ZERO] * K, _ZERO
            for src, w in row:
                if w != 0:  # a zero weight adds no word (a symbolic weight may be nonzero)
                    heard = [_add(h, x) for h, x in zip(heard, Phi[idx[src]])]
                    heard_r = _add(heard_r, r[idx[src]])
            i = idx[listener]
            rows[i] = [_prepend(h) for h in heard]
            r_new[i] = _add(_prepend(heard_r), _C)  # M_i (what it heard) + c_i
        Phi, r = rows, r_new
    return Phi, r


def hearing_counts(s: Spec) -> tuple[list[list[int]], list[int]]:
    """``(N, n_r)``: ``N[a][b]`` bounds the words of block ``(a, b)`` of ``Phi`` (the paths from b to a
    through the phases: ``N = A_P ... A_1`` with ``A_p`` the 0/1 hearing pattern, a non-listener
    keeping its message) and ``n_r[a]`` the words of ``r_a`` (each speaker adds its ``c_i``)."""
    Phi, r = _round_map_stats(s)
    return [[x[0] for x in row] for row in Phi], [x[0] for x in r]


def elimination_words(s: Spec) -> tuple[int, int]:
    """``(estimate, n)``: the a-priori words of the derivation (module text) and the live agents n."""
    Phi, r = _round_map_stats(s)
    N = [[x[0] for x in row] for row in Phi]
    K = s.K
    R = [j for j in range(K) if any(N[i][j] for i in range(K))]
    n = len(R)
    # words of the blocks of I - Phi_RR (the identity adds a word on the diagonal)
    A = [[N[i][j] + int(i == j) for j in R] for i in R]
    pivot = max((sum(A[i][k] for i in range(n)) * sum(A[k]) for k in range(n)), default=0)
    stats = [x for row in Phi for x in row] + r
    words = sum(x[0] for x in stats)
    squared_letters = sum(x[2] for x in stats)
    return pivot + BACKSUB_WEIGHT * n * n * 2 ** n + words + LETTER_WEIGHT * squared_letters, n


def check(s: Spec, limit: int = MAX_ELIMINATION_WORDS) -> int:
    """Refuse (:class:`TooLarge`) a protocol whose :func:`elimination_words` exceeds ``limit``; else the estimate."""
    words, n = elimination_words(s)
    if words > limit:
        size = f"{words:.3g}" if words >= 10**6 else f"{words:,}"
        raise TooLarge(f"an estimated {size} words of block elimination over {n} live agents of {s.K}, "
                       f"{len(s.phases)} phases; the limit is {limit:,}, what derives within 60 s")
    return words
