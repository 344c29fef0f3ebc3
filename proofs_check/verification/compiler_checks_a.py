"""Exact checks of the protocol compiler's building blocks that the gallery does not reach (P1's V1).

The gallery and the re-derived claims exercise the compiler through whole protocols; some parts of its
letters and of its size estimate are never read there: the transposition of covariance letters (the
compiler transposes only transfers), the statistics the a-priori cost estimate is built from, etc.
Each check here states a defining property from the module text (``theory/protocol/*.py``) and reads
it on small exact instances; the references are written from the definitions, never by calling the
function under test on the other side. Each check costs milliseconds.
"""
from __future__ import annotations

import dataclasses

import sympy as sp

from theory.protocol import symbols as S


def _nc(name: str) -> sp.Symbol:
    """A noncommutative letter by its printed name (the notation of theory.protocol.symbols' text)."""
    return sp.Symbol(name, commutative=False)


def transposition_checks() -> list[tuple[str, bool]]:
    """``X^T`` of every kind of letter: transfers are not symmetric and ``(X^T)^T = X``; ``S_i`` and the
    diagonal covariance blocks ``V_i`` are symmetric; ``V_{i,j}^T = V_{j,i}``; every letter stays
    noncommutative; transposing a product reverses it. Names of one and of several characters."""
    out = []
    for a, b in (("A", "B"), ("A1", "Bob")):
        Ma, Mb = _nc(f"M_{a}"), _nc(f"M_{b}")
        Vab, Vba, Va = _nc(f"V_{{{a},{b}}}"), _nc(f"V_{{{b},{a}}}"), _nc(f"V_{a}")
        Sa = _nc(f"S_{a}")
        for X in (Ma, _nc(f"w^*_{a}"), _nc(f"Phi_{{{a},{b}}}")):
            XT = S.transpose_letter(X)
            out.append((f"{X}^T is another noncommutative letter and (X^T)^T = X",
                        XT != X and not XT.is_commutative and S.transpose_letter(XT) == X
                        and not S.transpose_letter(XT).is_commutative))
        out.append((f"S_{a}^T = S_{a}", S.transpose_letter(Sa) == Sa))
        out.append((f"V_{a}^T = V_{a}", S.transpose_letter(Va) == Va))
        Vaa = _nc(f"V_{{{a},{a}}}")  # a diagonal block written with two indices is symmetric too
        out.append((f"V_{{{a},{a}}}^T = V_{{{a},{a}}}", S.transpose_letter(Vaa) == Vaa))
        out.append((f"V_{{{a},{b}}}^T = V_{{{b},{a}}} and back",
                    S.transpose_letter(Vab) == Vba and S.transpose_letter(Vba) == Vab))
        # cov_block(i, i) is the diagonal block for equal names (not only the same string object)
        out.append((f"cov_block({a}, {a}) = V_{a}, cov_block({a}, {b}) = V_{{{a},{b}}}",
                    S.cov_block(a, "".join(list(a))) == Va and S.cov_block(a, b) == Vab))
        MaT, MbT = S.transpose_letter(Ma), S.transpose_letter(Mb)
        out.append((f"(M_{a} V_{{{a},{b}}} M_{b}^2 S_{a})^T = S_{a} M_{b}^T^2 V_{{{b},{a}}} M_{a}^T",
                    sp.expand(S.transpose(2 * Ma * Vab * Mb ** 2 * Sa - Va)
                              - (2 * Sa * MbT * MbT * Vba * MaT - Va)) == 0))
        out.append((f"ptranspose reverses words: (M_{a} V_{{{a},{b}}} S_{a})^T",
                    S.ptranspose({(Ma, Vab, Sa): 3}) == {(Sa, Vba, MaT): 3}))
    return out


def _planted(cp, plant) -> list:
    """``verify`` on a copy of ``cp`` with one derived object replaced by ``plant(copy)`` (cp is not touched)."""
    from theory.protocol import compiler as P

    bad = dataclasses.replace(cp, Phi=[row[:] for row in cp.Phi], r=cp.r[:], fixed_point=cp.fixed_point[:],
                              residual_self=cp.residual_self[:], residual_gaps=[dict(g) for g in cp.residual_gaps],
                              rate_blocks=[[row[:] for row in b] for b in cp.rate_blocks], polys={})
    plant(bad)
    return [c.label for c in P.verify(bad) if not c.holds]


def verify_power_checks() -> list[tuple[str, bool]]:
    """``verify`` (theory.protocol.checks) rejects planted wrong objects: each identity it proves can fail.

    On a three-agent protocol with an averaging listener (C hears A and B with 1/2 each; weights summing
    to 1, so ``D_i = 0``) and on the simultaneous pair (rate ``rho(M_A M_B)^(1/2)``): a doubled fixed
    point, a dropped term, a wrong offset, a gap coefficient of the wrong sign, a nonzero ``D_i``, swapped
    factors in a block of ``Phi`` (the noisy round must see it), and wrong reduced rate blocks."""
    from theory.protocol import compiler as P

    cp = P.compile_protocol(P.spec(["A", "B", "C"], [{"A": {"C": 1}}, {"B": {"A": 1}, "C": {"A": 0.5, "B": 0.5}}]))
    out = [("the three-agent protocol passes verify", all(c.holds for c in P.verify(cp)))]
    MA, MB = P.M("A"), P.M("B")

    def setter(attr, i, f):
        return lambda b: getattr(b, attr).__setitem__(i, f(getattr(b, attr)[i]))
    plants = {
        "fixed point of A doubled": (setter("fixed_point", 0, lambda x: 2 * x), ("z*_A", "e_A")),
        "a term of z*_B dropped": (setter("fixed_point", 1, lambda x: sp.Add(*sp.Add.make_args(sp.expand(x))[1:])),
                                   ("z*_B",)),
        "offset r_C doubled": (setter("r", 2, lambda x: 2 * x), ("z*_C",)),
        "gap coefficient of e_C negated": (lambda b: b.residual_gaps[2].__setitem__(0, -b.residual_gaps[2][0]),
                                           ("e_C",)),
        "D_B = 1 in place of 0": (setter("residual_self", 1, lambda x: x + 1), ("e_B",)),
        "M_B M_A swapped in Phi_BC": (lambda b: b.Phi[1].__setitem__(2, P.normal(b.Phi[1][2]).subs(MB * MA, MA * MB)),
                                      ("z*_B", "noisy round")),
    }
    for what, (plant, labels) in plants.items():
        failed = _planted(cp, plant)
        out.append((f"verify rejects: {what}", all(any(lb in f for f in failed) for lb in labels)))
    sim = P.compile_protocol(P.spec(["A", "B"], [{"A": {"B": 1}, "B": {"A": 1}}]), noise=False)
    for what, blocks in (("M_A alone", [[[MA]]]), ("2 M_A M_B", [[[2 * MA * MB]]])):
        failed = _planted(sim, lambda b: b.rate_blocks.__setitem__(slice(None), blocks))
        out.append((f"verify rejects the rate block {what} for the simultaneous pair",
                    any("rate block" in f for f in failed)))
    return out


def checks() -> list[tuple[str, bool]]:
    """Every check of this module, as (label, holds)."""
    return transposition_checks() + verify_power_checks()
