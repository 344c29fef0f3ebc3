"""Where each claim comes from: data, printed in the report, the docs and the LaTeX.

Three kinds, and nothing in between:

- ``paper abstract``: the abstract of arXiv:2511.08710 states the result in words (only the
  abstract is public; no section or theorem number of the paper is cited). The formula is this
  package's formalisation of that sentence.
- ``standard result``: known before the paper; the citation says where.
- ``extension in this package``: this package's own statement and proof (a construction, a
  generalisation or a tool), verified here; the paper is not its source.

``citation`` is the text the claim's ``reference`` field carries; ``justification`` says in one
sentence why the claim has that kind (text with ``$...$`` math, see :mod:`proofs_check.statements.statements`).
BibTeX keys refer to paper.bib.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("paper abstract", "standard result", "extension in this package")
PAPER = "Cosentino, Shekkizhar and Earle, arXiv:2511.08710, abstract"


@dataclass(frozen=True)
class Provenance:
    kind: str
    citation: str
    justification: str
    bibtex: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"provenance kind {self.kind!r} not in {KINDS}")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "citation": self.citation, "justification": self.justification,
                "bibtex": list(self.bibtex)}


def _abstract(why: str) -> Provenance:
    return Provenance("paper abstract", PAPER, why, ("cosentino2025convergence",))


def _extension(why: str) -> Provenance:
    return Provenance("extension in this package", "a2a-dynamics (this package)", why)


PROVENANCE: dict[str, Provenance] = {
    "L1": Provenance(
        "standard result", "von Oswald et al. (2023); Ahn et al. (2023)",
        "One linear self-attention layer with these weights performs one preconditioned gradient step; the "
        "paper's abstract uses this for its agents ('trained to implement gradient-descent-like updates').",
        ("vonoswald2023transformers", "ahn2023transformers")),
    "L1b": _extension("The expansion for arbitrary weights, with the drift term and the residual-dependent "
                      r"$q_{yx}$ terms, is this package's computation."),
    "L2": Provenance(
        "standard result", "Ahn et al. (2023); Zhang, Frei and Bartlett (2024); Mahankali et al. (2023)",
        "The risk-optimal single-layer LSA preconditioner for Gaussian data; the label-noise term "
        r"$\sigma^2/\tau^2$ is this package's addition and vanishes for $\sigma = 0$.",
        ("ahn2023transformers", "zhang2024trained", "mahankali2023one")),
    "C1": Provenance(
        "standard result", "Horn and Johnson (2013), Matrix Analysis",
        r"An affine iteration $x \mapsto J x + c$ converges for every start iff $\rho(J) < 1$ (Gelfand's "
        r"formula); applied here to the round map $M_A M_B$.", ("horn2013matrix",)),
    "C2": Provenance(
        "standard result", "Horn and Johnson (2013), Matrix Analysis",
        r"The unique fixed point of an affine contraction solves $(I - J) x = c$; applied here to the round maps.",
        ("horn2013matrix",)),
    "C3": _abstract("The abstract states that misalignment leads to a biased equilibrium where neither agent "
                    "reaches its target, with residual errors predictable from the objective gap and the prompt "
                    r"geometry; $e_A = G_A \aadDelta$ is this package's formula for it."),
    "C4": _extension("The abstract ties the residual errors to the objective gap but does not state linearity, "
                     "growth with the gap's scale or the singular-value bounds; those are this package's statements."),
    "C5": _abstract("The abstract states that the residual errors are predictable from the prompt-induced "
                    "geometry; the per-eigendirection formulas are this package's formalisation."),
    "C6": _extension(r"The destabilising $2 \times 2$ witnesses and the shared-preconditioner bound are this "
                     "package's."),
    "C7": _extension(r"Several gradient steps per turn ($M_i \to M_i^s$) and the $s \to \infty$ limit are this "
                     "package's extension of the one-step protocol."),
    "C8": _abstract("The abstract states an adversarial regime with asymmetric convergence: one agent reaches "
                    r"its objective exactly while the other keeps a bias ($-M_B \aadDelta$, nonzero unless "
                    r"$M_B \aadDelta = 0$); the condition "
                    r"$M_A K_B \aadDelta = 0$ is this package's formalisation."),
    "C9": _extension(r"The full-rank attack prompt $X_A = \sqrt{N}\, U \Gamma_A^{-1/2}$ is this package's "
                     "construction."),
    "C10": _extension("The rank-one attack prompt is this package's construction."),
    "C11": _extension("Steering the victim's equilibrium to a chosen point is this package's construction."),
    "C12": _abstract("The abstract states that a helper agent updating a turn-based objective implements a "
                     "Newton-like step for the main agent, eliminating the plateau and accelerating convergence; "
                     "the error recursion is this package's formalisation."),
    "C13": _extension("The inexact-curvature helper is this package's extension of the Newton-like helper."),
    "C14": _extension(r"The black-box identification helper ($d + 1$ probes, least squares) is this package's."),
    "C14b": Provenance(
        "standard result", "Gay (1979)",
        r"Broyden's good method terminates in at most $2d$ steps on a linear system in exact arithmetic; applied "
        r"here to $F(v) = T_A(v) - v$, which is linear.", ("gay1979some",)),
    "C15": Provenance(
        "extension in this package", "a2a-dynamics (this package); Anderson and Moore (1979)",
        "Noisy agents are this package's extension; the stationary covariance uses the standard discrete "
        "Lyapunov equation of a stable linear system driven by white noise.", ("anderson1979optimal",)),
    "C16": _extension(r"The victim's bound $\|e_B\| \le \|M_B^{s_B}\| \, \|\aadDelta\|$ is this package's."),
    "C17": _extension(r"$K$ agents in round robin and the telescoping identity are this package's extension of "
                      "the two-agent analysis."),
    "C18": _extension("Fitting black-box agents' affine maps from transcripts is this package's tool."),
    "P1": _extension("The joint-state protocol compiler is this package's."),
    "P2": _extension("The simultaneous pair is this package's protocol variant."),
    "P3": _extension("The repeated-speaker schedule is this package's protocol variant."),
    "P4": _extension("The anchored agent is this package's protocol variant."),
    "P5": _extension("The averaging debate is this package's protocol variant."),
    "R1": Provenance(
        "extension in this package", "a2a-dynamics (this package); Costa, Fragoso and Marques (2005)",
        "Random protocols are this package's extension (the paper's abstract says nothing about random schedules); "
        "mean-square stability through the Kronecker second-moment operator is the standard result for Markov "
        "jump linear systems.", ("costa2005discrete",)),
    "R2": _extension("Schedule invariance of random protocols is this package's extension (the paper's abstract "
                     "says nothing about random schedules)."),
    "R3": Provenance(
        "extension in this package", "a2a-dynamics (this package); Boyd, Ghosh, Prabhakar and Shah (2006)",
        "The spread a random schedule creates for agents with their own targets is this package's extension; "
        "randomized gossip is analysed through second moments in the cited work.", ("boyd2006randomized",)),
    "R4": _extension("The comparison of a random speaker with the round robin per turn is this package's "
                     "extension (the paper's abstract says nothing about random schedules)."),
}

# Bibliography of the citations above (also in paper.bib).
REFERENCES = {
    "cosentino2025convergence": "R. Cosentino, S. Shekkizhar, A. Earle. Convergence dynamics of Agent-to-Agent "
                                "Interactions with Misaligned objectives. arXiv:2511.08710, 2025.",
    "vonoswald2023transformers": "J. von Oswald, E. Niklasson, E. Randazzo, J. Sacramento, A. Mordvintsev, "
                                 "A. Zhmoginov, M. Vladymyrov. Transformers learn in-context by gradient descent. "
                                 "ICML 2023.",
    "ahn2023transformers": "K. Ahn, X. Cheng, H. Daneshmand, S. Sra. Transformers learn to implement "
                           "preconditioned gradient descent for in-context learning. NeurIPS 2023.",
    "zhang2024trained": "R. Zhang, S. Frei, P. L. Bartlett. Trained transformers learn linear models in-context. "
                        "Journal of Machine Learning Research 25, 2024.",
    "mahankali2023one": "A. Mahankali, T. B. Hashimoto, T. Ma. One step of gradient descent is provably the "
                        "optimal in-context learner with one layer of linear self-attention. arXiv:2307.03576, "
                        "2023 (ICLR 2024).",
    "gay1979some": "D. M. Gay. Some convergence properties of Broyden's method. SIAM Journal on Numerical "
                   "Analysis 16(4), 1979.",
    "horn2013matrix": "R. A. Horn, C. R. Johnson. Matrix Analysis, 2nd edition. Cambridge University Press, 2013.",
    "anderson1979optimal": "B. D. O. Anderson, J. B. Moore. Optimal Filtering. Prentice-Hall, 1979.",
    "costa2005discrete": "O. L. V. Costa, M. D. Fragoso, R. P. Marques. Discrete-Time Markov Jump Linear Systems. "
                         "Springer, 2005.",
    "boyd2006randomized": "S. Boyd, A. Ghosh, B. Prabhakar, D. Shah. Randomized gossip algorithms. IEEE "
                          "Transactions on Information Theory 52(6), 2006.",
}


def of(claim_id: str) -> Provenance:
    """The provenance of ``claim_id``; a claim without one is an error, never a silent blank."""
    if claim_id not in PROVENANCE:
        raise KeyError(f"claim {claim_id} has no provenance entry in proofs_check/statements/provenance.py")
    return PROVENANCE[claim_id]


def cite(claim_id: str) -> str:
    """The citation text for a claim's ``reference`` field."""
    return of(claim_id).citation
