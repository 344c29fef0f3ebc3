"""What a claim is: :class:`Claim`, the :class:`Profile` it is verified at and the :class:`Outcome` of a method.

Claim modules live in ``proofs_check/claims/``; each defines ``CLAIMS``, a list of Claim objects,
found by :func:`proofs_check.claims.all_claims` (above this module: claims use it). A method is a
function ``(profile) -> Outcome``: it returns the theoretical object's
worst disagreement with its witness, the tolerance (with its reason) and the
number of instances. The runner times it and decides the status.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from proofs_check.statements.provenance import Provenance

RELATIONS = ("equal", "upper", "lower")
# VS: the shipped path (verification/shipped*.py); VF: falsifier (a Hypothesis search for a counterexample
# inside the statement's hypotheses); VN: necessity witnesses (proofs_check.verification.falsifiers, .necessity);
# VD: the claim's derivation chains, every step proved again (proofs_check.verification.chain_method).
METHODS = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "VS", "VD", "VF", "VN")


@dataclass(frozen=True)
class Profile:
    """How hard to look: ``quick`` for CI and everyday use, ``full`` for a release."""

    name: str
    instances: int  # random instances for float64 witnesses (V4, V8)
    precise_instances: int  # instances at high precision (V5)
    examples: int  # Hypothesis examples (V6)
    seed: int = 20251111  # arXiv month of the paper; any fixed seed works

    @staticmethod
    def named(name: str) -> "Profile":
        if name not in PROFILES:
            from numerics.io.errors import InputError
            raise InputError("profile", name, f"must be one of {sorted(PROFILES)}")
        return PROFILES[name]


PROFILES = {
    "quick": Profile("quick", instances=64, precise_instances=3, examples=25),
    "full": Profile("full", instances=1000, precise_instances=20, examples=300),
}


@dataclass(frozen=True)
class Outcome:
    """What a method measured.

    ``worst_error`` is compared with ``tolerance`` by the runner
    (``passed`` iff ``worst_error <= tolerance``). ``skipped`` carries the reason a
    method could not run (it is then never counted as passed).
    """

    worst_error: float
    tolerance: float
    instances: int
    detail: str
    skipped: str | None = None
    # What a wrong answer would look like against the bar (e.g. "a flipped sign gives 2 ||e||,
    # 1e9 times the bar"); shown in the report so the reader can judge the method's strength.
    power: str = ""

    def __post_init__(self):
        # Central rule: a non-finite error or bar can never pass. NaN is what the runner fails
        # (``nan <= tol`` is False) and reports as null; -inf would otherwise pass.
        if self.skipped is None and not (math.isfinite(self.worst_error) and math.isfinite(self.tolerance)):
            object.__setattr__(self, "worst_error", float("nan"))
            if not self.detail.startswith("NON-FINITE"):
                object.__setattr__(self, "detail", f"NON-FINITE error or bar (fails): {self.detail}")

    @staticmethod
    def skip(reason: str) -> "Outcome":
        return Outcome(float("nan"), float("nan"), 0, reason, skipped=reason)


@dataclass(frozen=True)
class Claim:
    """A registered claim (docs/theory.rst states every one).

    ``formulas``: names of ``theory.core.formulas`` entries that state the claim
    (rendered to LaTeX from the verified SymPy objects). ``reference`` is the citation
    text and ``provenance`` its kind and justification, both from :mod:`proofs_check.statements.provenance`
    (filled in from the claim ID when not given).
    """

    id: str
    title: str
    hypotheses: tuple[str, ...]
    reference: str
    relation: str
    methods: dict[str, Callable[[Profile], Outcome]]
    formulas: tuple[str, ...] = field(default_factory=tuple)
    provenance: "Provenance | None" = None

    def __post_init__(self):
        from proofs_check.statements.provenance import PROVENANCE

        if self.provenance is None and self.id in PROVENANCE:
            object.__setattr__(self, "provenance", PROVENANCE[self.id])
        if self.provenance is not None and self.reference != self.provenance.citation:
            raise ValueError(f"claim {self.id}: reference {self.reference!r} differs from its provenance "
                             f"citation {self.provenance.citation!r}")
        if self.relation not in RELATIONS:
            raise ValueError(f"claim {self.id}: relation {self.relation!r} not in {RELATIONS}")
        for m in self.methods:
            if m not in METHODS:
                raise ValueError(f"claim {self.id}: unknown method {m!r}")
