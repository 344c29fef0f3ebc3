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
  ``BACKSUB_WEIGHT``).

:func:`elimination_words` is that estimate and :func:`check` refuses (:class:`TooLarge`,
naming the estimate and the limit) a protocol above ``MAX_ELIMINATION_WORDS``. The compiler's
run-time bound (``MAX_POLY_WORDS``, :class:`TooLarge` raised mid-run) stays as the backstop.
"""
from __future__ import annotations

from theory.core.algebra import TooLarge
from theory.protocol.description import Spec

# Measured (`a2ad derive --protocol`, dense protocols where every agent hears every agent, random
# weights, d = 2, 2 shared cores under load; n live agents, w = K^(P-1) words per block of Phi):
#   n, P:          2,6   3,4   3,5    4,3   4,4    5,1   5,2   5,3    6,1    7,1
#   estimate/1e3:  4.6   8.1   61     8.6   71     12.9  13.6  29     37     100
#   seconds:       5.6   8.0   43.7   5.0   46.7   12.7  12.1  15.9   14.9   >80 (timeout)
# Time ~ 2 s + 0.7 ms per estimated word (0.4-1.2 ms/word over the table); the dense 5-agent,
# 5-phase protocol is ~10^7 words (hours), and peak memory stayed under 150 MB up to 7e4 words.
# The limit is ~37 s by that fit: a margin of 1.6x under 60 s for slower machines and loads.
MAX_ELIMINATION_WORDS = 50_000
C_WORDS = 2  # c_i = w_i* - M_i w_i*
# A back-substitution word costs ~16 first-pivot words (fit of the one-phase rows above, w = 1).
BACKSUB_WEIGHT = 16


def hearing_counts(s: Spec) -> tuple[list[list[int]], list[int]]:
    """``(N, n_r)`` on integers: ``N = A_P ... A_1``, so ``N[a][b]`` bounds the words of block
    ``(a, b)`` of ``Phi``, and ``n_r[a]`` bounds the words of ``r_a`` (each speaker adds its ``c_i``,
    carried on like a message)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    N = [[int(i == j) for j in range(K)] for i in range(K)]
    n_r = [0] * K
    for phase in s.phases:
        rows, r_new = list(N), list(n_r)
        for listener, row in phase:
            heard, heard_r = [0] * K, C_WORDS  # its own c_i
            for src, w in row:
                if w != 0:  # a zero weight adds no word (a symbolic weight may be nonzero)
                    heard = [h + x for h, x in zip(heard, N[idx[src]])]
                    heard_r += n_r[idx[src]]
            rows[idx[listener]], r_new[idx[listener]] = heard, heard_r
        N, n_r = rows, r_new
    return N, n_r


def elimination_words(s: Spec) -> tuple[int, int]:
    """``(estimate, n)``: the a-priori words of the derivation (module text) and the live agents n."""
    N, n_r = hearing_counts(s)
    K = s.K
    R = [j for j in range(K) if any(N[i][j] for i in range(K))]
    n = len(R)
    # words of the blocks of I - Phi_RR (the identity adds a word on the diagonal)
    A = [[N[i][j] + int(i == j) for j in R] for i in R]
    pivot = max((sum(A[i][k] for i in range(n)) * sum(A[k]) for k in range(n)), default=0)
    round_map = sum(map(sum, N)) + sum(n_r)
    return pivot + BACKSUB_WEIGHT * n * n * 2 ** n + round_map, n


def check(s: Spec, limit: int = MAX_ELIMINATION_WORDS) -> int:
    """Refuse (:class:`TooLarge`) a protocol whose :func:`elimination_words` exceeds ``limit``; else the estimate."""
    words, n = elimination_words(s)
    if words > limit:
        size = f"{words:.3g}" if words >= 10**6 else f"{words:,}"
        raise TooLarge(f"an estimated {size} words of block elimination over {n} live agents of {s.K}, "
                       f"{len(s.phases)} phases; the limit is {limit:,}, what derives within 60 s")
    return words
