"""Derivation chains for P1-P5: each starts from the compiler's derived object (as a matrix
expression) and ends at the stated form; every step is proved by theory.derivations.check.

Built lazily by :func:`chains` (called from theory.derivations) so the compiler runs once.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.core.model import I, definitions
from theory.protocol import gallery as G
from theory.protocol.compiler import compile_protocol
from theory.protocol.description import round_robin
from theory.protocol.printing import to_matrix_expr
from theory.protocol.result import Compiled
from theory.protocol.symbols import M, gap, w_star
from theory.round_robin import k_agents as ka, two_agents as ta


@lru_cache(maxsize=None)
def compiled(key: str) -> Compiled:
    """A gallery protocol compiled once per process."""
    return compile_protocol(G.entry(key).spec, noise=False)


@lru_cache(maxsize=None)
def compiled_round_robin(K: int) -> Compiled:
    return compile_protocol(round_robin([str(k + 1) for k in range(K)]), noise=False)


def anchored_identity(cp: Compiled, omega=G.omega):
    """P4: ``(I - omega M_A - (1 - omega) M_A M_B) e_A`` and ``(1 - omega) M_A K_B Delta`` (nc symbols)."""
    MA, MB = M("A"), M("B")
    Delta = gap("B", "A")
    lhs = (1 - omega * MA - (1 - omega) * MA * MB) * cp.residual(0)
    rhs = (1 - omega) * MA * (1 - MB) * Delta
    return lhs, rhs


def chains(Chain) -> list:
    A, B = ta.A, ta.B
    D = ta.DEFINITIONS
    rr3 = compiled_round_robin(3)
    z3 = sp.MatrixSymbol("z^*_3", A.w_star.shape[0], 1)
    # the messages are m_i, as in P5's statement (x means examples)
    mB, mC = (sp.Symbol(f"m_{n}", commutative=False) for n in "BC")
    vB, vC = (sp.MatrixSymbol(f"m_{n}", A.w_star.shape[0], 1) for n in "BC")
    sim, rep, deb = compiled("simultaneous"), compiled("repeated"), compiled("debate")
    A2 = sp.MatPow(A.M, 2)
    v_star_2 = sp.Inverse(I - B.M * A2) * (B.M * (I - A2) * A.w_star + B.c)
    out = [
        Chain("P1", "The compiler re-derives C17: agent 3's fixed point, three agents round robin", (
            (z3, r"$z_3^*$ from block elimination of $(I - \Phi_{RR})\, z_R = r_R$ with $R = \{3\}$"),
            (ka.fixed_point(3, 2), r"C17: $(I - J_3)^{-1} \sum_j P_{3,j} c_j$"),
        ), {**ka.defs(3), "z^*_3": to_matrix_expr(rr3, rr3.fixed_point[2])}),
        Chain("P2", "Simultaneous pair: the fixed point is the round robin's", (
            (to_matrix_expr(sim, sim.fixed_point[1]), r"block elimination on $R = \{A, B\}$"),
            (ta.v_star, r"C2: $v^* = (I - M_B M_A)^{-1}(M_B c_A + c_B)$"),
        ), D),
        Chain("P3", "Schedule A, A, B is two steps per turn for A", (
            (to_matrix_expr(rep, rep.fixed_point[1]), r"block elimination on $R = \{B\}$"),
            (v_star_2, r"C2 with $M_A \to M_A^2$ and $K_A \to I - M_A^2$ (C7 with $s_A = 2$)"),
        ), D),
        Chain("P5", "Averaging debate: the row of A in the derived round map", (
            (to_matrix_expr(deb, deb.Phi[0][1] * mB + deb.Phi[0][2] * mC + deb.r[0]),
             r"block row $A$ of the compiled round map applied to the messages $m_B, m_C$"),
            (A.M * (sp.Rational(1, 2) * (vB + vC)) + A.K * A.w_star, "A answers the mean of the messages of B and C"),
        ), D),
    ]
    # the chain is shown at omega = 1/2 (as before theory.core.algebra collected terms by word, which
    # symbolic omega needed); the symbolic-omega identity is proved by P4's V1 method.
    anc = compiled_anchored(sp.Rational(1, 2))
    e_A = sp.MatrixSymbol("e_A", A.w_star.shape[0], 1)
    half = sp.Rational(1, 2)
    derived_e_A = to_matrix_expr(anc, anc.residual(0).subs(gap("B", "A"), w_star("B") - w_star("A")))
    out.append(Chain("P4", r"Anchored agent: the plateau equation of A at $\omega = 1/2$", (
        ((I - half * A.M - half * A.M * B.M) * e_A,
         r"$(I - \omega M_A - (1 - \omega) M_A M_B)\, e_A$ with $e_A$ the compiler's residual"),
        (half * A.M * B.K * ta.Delta, r"equals $(1 - \omega) M_A K_B \aadDelta$"),
    ), {**D, **definitions(A, B), "e_A": derived_e_A}))
    return out


@lru_cache(maxsize=None)
def compiled_anchored(omega) -> Compiled:
    """P4's protocol compiled at the anchoring weight ``omega`` (a number or a symbol)."""
    return compile_protocol(G.anchored(omega), noise=False)
