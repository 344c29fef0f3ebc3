"""VD: every step of a claim's printed derivation chains proved again (:mod:`theory.derivations`).

``a2ad derive`` and the LaTeX files print a chain ``E_0 = E_1 = ... = E_n`` only when every step holds, so a wrong
chain is refused at print time; VD makes it a failed ``verify`` as well, for every claim that has a chain
(the formulas read off chains, such as C4's, C6's, C10's and C14's, are printed in the macros file as verified).
Each step is proved by its chain's method (V1 in the free algebra, V2 on explicit symbolic matrices, V3 as a
commutative identity), and a wrong control step (``E_0 = 2 E_0``) must fail the same check (for a V1 chain, also
a true step that inverts a factor no hypothesis makes invertible; for a V2 chain, also a step wrong only in a
later entry); each registered formula
read off a chain must be the chain's ends; C16's chain must start from the C3/C7 form it cites. The result is
symbolic, so the proof cache keeps a passed VD (its key covers :mod:`theory.derivations` and every module it
imports, through the lazy import below).

Package extension (issue 22, item 4).
"""
from __future__ import annotations

from typing import Callable

from proofs_check.verification.registry import Outcome, Profile

__all__ = ["CHAIN_CLAIMS", "method"]

# The claims theory.derivations has chains for (tests/test_chain_method.py checks it against CHAINS): listed here so
# that registering VD does not import theory.derivations (about 1 s), which a run whose VD results are all cached
# never needs.
CHAIN_CLAIMS = frozenset({"L1", "L1b", "L2", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11",
                          "C12", "C13", "C14", "C14b", "C15", "C16", "C17", "C18", "P1", "P2", "P3", "P4", "P5",
                          "R1", "R2", "R3", "R4"})


def method(claim: str) -> Callable[[Profile], Outcome]:
    """The VD method of ``claim``: the number of problems, bar 0 (a step of its chains that does not hold or is
    labelled with another method, a registered formula that is not its chain's ends, a negative control that passed,
    a cited start that differs)."""
    def vd(profile: Profile) -> Outcome:
        from theory import derivations

        chains = derivations.chains_for(claim)
        if not chains:
            return Outcome(1.0, 0.0, 0, f"{claim} has no derivation chain (CHAIN_CLAIMS is stale)")
        if any(c.claim != claim for c in chains):  # derive --claims and derivations.tex print these under claim
            others = sorted({c.claim for c in chains} - {claim})
            return Outcome(1.0, 0.0, 0, f"{claim}'s derivations include {others}'s")
        bad = (_steps(derivations, chains) + _formula_ends(derivations, claim) + _controls(derivations, chains)
               + _cited_starts(derivations, claim))
        steps = sum(len(c.steps) - 1 for c in chains)
        what = ", ".join(f"'{c.title}' ({c.method}, {len(c.steps) - 1} steps)" for c in chains)
        detail = "; ".join(bad) if bad else f"every step of {what} holds"
        return Outcome(float(len(bad)), 0.0, steps, detail,
                       power="a step with a dropped term, a flipped sign or a swapped factor leaves a nonzero "
                             "residual: one failed step")
    vd.__doc__ = (f"VD: every step of {claim}'s derivation chains proved again (theory.derivations.check) and "
                  "labelled with its method, a wrong control step refused, and each registered formula read off a "
                  "chain equal to that chain's ends.")
    return vd


def _steps(derivations, chains) -> list[str]:
    """Each step that does not hold (and a check for each step, 1 to n), and each step whose printed method label
    (derivations.tex's ``[V1]``, the macros file's "proved step by step by ...") is not its chain's method: ``V2``
    names the dimensions it was checked in."""
    bad = []
    for chain in chains:
        dims = ", ".join(map(str, chain.dims))
        label = f"V2, d = {dims}" if chain.method == "V2" else chain.method
        checks = derivations.check(chain)
        if [c.index for c in checks] != list(range(1, len(chain.steps))):
            bad.append(f"derivation '{chain.title}': checks of steps {[c.index for c in checks]}, "
                       f"not 1..{len(chain.steps) - 1}")
        for c in checks:
            if not c.holds:
                bad.append(f"derivation '{chain.title}' step {c.index}: {c.residual}")
            if c.method != label:
                bad.append(f"derivation '{chain.title}' step {c.index}: labelled {c.method!r}, checked by {label}")
    return bad


def _controls(derivations, chains) -> list[str]:
    """Negative controls per chain (:func:`_control_cases`), each checked by the chain's own method, definitions and
    checker, each of which must be refused (a checker that cannot fail would pass every chain)."""
    bad = []
    for chain in chains:
        for what, control, refused in _control_cases(chain):
            try:
                checks = derivations.check(control)
            except Exception as exc:  # noqa: BLE001 - a checker that breaks on a wrong step is reported, not raised
                bad.append(f"derivation '{chain.title}': {what} raised {type(exc).__name__}: {exc}")
                continue
            if not refused(checks):
                bad.append(f"derivation '{chain.title}': {what} passed its {chain.method} check "
                           f"({[(c.holds, c.residual[:60]) for c in checks]})")
    return bad


def _control_cases(chain) -> list[tuple[str, object, Callable[[list], bool]]]:
    """``(what, control chain, refused)`` for ``chain``: every chain's first expression followed by twice itself; a V1
    chain's true step ``E_0 = (I + Z)^{-1} (I + Z) E_0``, ``Z`` a letter no hypothesis names, which must be refused
    as not justified; a V2 chain's step wrong only in the last entry of explicit 2 x 2 matrices (``Y = Y + E``), which
    a check reading one entry would pass."""
    from dataclasses import replace

    import sympy as sp

    first = chain.steps[0][0]
    cases = [("a wrong control step (E_0 = 2 E_0)",
              replace(chain, title=chain.title + " (control)", steps=(chain.steps[0], (2 * first, "control"))),
              lambda checks: not all(c.holds is True for c in checks))]
    if chain.method == "V1":
        first = sp.block_collapse(first) if first.has(sp.BlockMatrix) else first  # as check() multiplies blocks out
        X = sp.Identity(first.shape[0]) + sp.MatrixSymbol("Z_control", first.shape[0], first.shape[0])
        step = sp.MatMul(sp.Inverse(X), X, first, evaluate=False)  # unevaluated: SymPy would cancel X^-1 X
        cases.append(("a step inverting I + Z_control, which no hypothesis makes invertible,",
                      replace(chain, title=chain.title + " (unjustified control)",
                              steps=((first, chain.steps[0][1]), (step, "control"))),
                      lambda checks: all(c.holds is False and c.residual.startswith("not justified") for c in checks)))
    if chain.method == "V2":
        Y, E = sp.MatrixSymbol("Y_control", 2, 2), sp.MatrixSymbol("E_control", 2, 2)
        explicit = {Y.name: sp.Matrix([[1, 2], [3, 4]]), E.name: sp.Matrix([[0, 0], [0, 1]])}
        cases.append(("a V2 step wrong only in its last entry (Y = Y + E)",
                      replace(chain, title=chain.title + " (later-entry control)", steps=((Y, ""), (Y + E, "control")),
                              explicit=lambda dim: (explicit, {}), dims=(2,)),
                      lambda checks: all(c.holds is False for c in checks)))
    return cases


def _cited_starts(derivations, claim: str) -> list[str]:
    """A chain whose first expression cites another claim's formula under definitions that hide part of it: C16's
    starts from C3's ``e_B`` with C7's ``M_B^{s_B}`` for ``M_B``, but its definitions (the exact attacker, ``M_A = 0``)
    make the proof independent of the factor ``(I - M_B^{s_B} M_A)^{-1}``, so VD checks the cited form itself."""
    if claim != "C16":
        return []
    from theory.round_robin import two_agents as ta

    first = derivations.chains_for("C16")[0].steps[0][0]
    cited = ta.e_B.xreplace({ta.B.M: derivations.S_B_steps})
    return [] if first == cited else [f"C16's derivation starts from {first}, not C3's e_B with M_B^(s_B): {cited}"]


def _formula_ends(derivations, claim: str) -> list[str]:
    """The registered formulas read off ``claim``'s chains (``theory.derivations.FORMULAS``) whose right side is not the
    chain's last expression, or whose left side is neither its first expression nor a bare symbol naming it: the
    macros file prints such a formula as read by VD, so VD reads the registered object itself."""
    import sympy as sp

    bad = []
    read: dict[str, str] = {}  # chain title -> the formula read off it
    for f in derivations.FORMULAS:
        chain = derivations.chain_of(f.id)
        if chain is None or f.claim != claim:
            continue
        first, last = chain.steps[0][0], chain.steps[-1][0]
        if f.rhs != last or not (f.lhs == first or isinstance(f.lhs, (sp.Symbol, sp.MatrixSymbol))):
            bad.append(f"registered {f.id} is not the ends of its derivation '{chain.title}'")
        # each chain proves one formula: two read off one chain means one of them is another chain's (C4 has two)
        if chain.title in read:
            bad.append(f"registered {f.id} and {read[chain.title]} are both read off '{chain.title}'")
        read[chain.title] = f.id
        if getattr(f.lhs, "shape", ()) != getattr(f.rhs, "shape", ()):  # a scalar equal to a matrix
            bad.append(f"registered {f.id}: its sides have shapes {getattr(f.lhs, 'shape', ())} and "
                       f"{getattr(f.rhs, 'shape', ())}")
    return bad
