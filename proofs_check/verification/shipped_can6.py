"""VS checks of the canonical form with a symbolic weight (theory/protocol/canonical.py; issue 22 item 5, mutation
round 6): ``a2ad derive --protocol`` reads numbers only, so a symbolic weight reaches the canonical form through the
documented API, :func:`theory.api.derive` ("the document of ``a2ad derive --protocol --format json``"), on a
protocol spec with SymPy weights (as the gallery's anchored entry, P4, has ``omega``).

With P2's document (the gallery's two agents answering simultaneously), the same protocol with a symbolic weight,
each agent reading ``omega`` times the other's message at once, is compiled and derived by the API
(:func:`theory.api.compile_protocol` without the noise equation, then :func:`theory.api.derive`) and its printed
canonical form compared, exactly, with the form derived by hand below (:data:`SYMBOLIC`): its inverses and named
factors (found by their pivots and definitions), both residuals and both fixed points. The printed texts (and the
fixed points' LaTeX terms, turned into the same text) are read as noncommutative SymPy expressions (``omega`` a
number) and compared by expansion, each inverse, named factor and letter opaque: the product form itself is
compared, not its value. Cost: about 0.25 s of CPU warm (the symbolic canonical form itself takes most of it).

By hand (docs/protocol.rst's steps; ``w = omega``, ``a = w_A*``, ``b = w_B*``)::

    z_A = w M_A z_B + K_A a,    z_B = w M_B z_A + K_B b.

Eliminating z_B: ``(I - w^2 M_A M_B) z_A = K_A a + w M_A K_B b``; with ``Qa = (I - w^2 M_A M_B)^{-1}``::

    z_A = Qa K_A a + w Qa M_A K_B b,
    z_B = w M_B Qa K_A a + (I + w^2 M_B Qa M_A) K_B b = w Qb M_B K_A a + Qb K_B b

with ``Qb = (I - w^2 M_B M_A)^{-1}`` (step 2: ``M_B Qa = Qb M_B``; step 5: ``I + w^2 Qb M_B M_A = Qb``). The weights do
not sum to 1 (a symbol), so each residual has its ``D_i w_i*`` term: ``e_A = z_A - a = w Qa M_A K_B (b - a) + D_A a``
with ``D_A = Qa K_A + w Qa M_A K_B - I = Qa (K_A + w M_A K_B - Qa^{-1}) = Qa M_A ((w - 1) I + w (w - 1) M_B)
= (w - 1) Qa M_A Sa``, ``Sa = I + w M_B`` (the sum named, divided by its identity's coefficient); likewise
``e_B = w Qb M_B K_A (a - b) + (w - 1) Qb M_B Sb b``, ``Sb = I + w M_A``.

With P2's document also :data:`EXTRA6`, two three-agent one-phase protocols with a listener nobody hears, each
derived by ``a2ad derive --protocol --format json`` and checked by shipped_canon's and shipped_can's checks and,
exactly, against its canonical form derived by hand (:data:`HAND6`, in shipped_can's format; derivations beside each
entry): ``dead listener`` (step 5 recognises an inverse in ``X_BB`` and, after the common ``M_A``, in ``X_AB``;
step 2 pushes ``M_B Qc`` through), ``dead reader`` (step 5 recognises an inverse after an inverse,
``X_AA = Qa Qy``) and ``unsettled`` (two agents, four phases: a product of ``B``'s does not settle and falls back to
the eliminated sum, while ``A``'s settled ``D_A`` keeps its product form). The three cost about 0.3 s of CPU together.

With P4's document: the chain proves the displayed pivot that step 4 rewrote (V1 step 5: "each displayed pivot
equals the compiler's"); the compiler's pivots by hand are at :data:`P4_PIVOTS`. Cost: nothing derived.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = ["EXTRA6", "HAND6", "P2_ROUNDS", "P4_PIVOTS", "P4_ROUNDS", "SYMBOLIC", "check_can6"]

# The gallery's P2 as ``ref.Instance.rounds`` (shipped_derive.GALLERY["P2"]): its document runs the symbolic check.
P2_ROUNDS = ((("A", (("B", 1.0),)), ("B", (("A", 1.0),))),)
# The canonical form by hand (module text): placeholders Qa, Qb, Sa, Sb for the inverses and named factors.
SYMBOLIC: dict[str, Any] = {
    "pivots": [("Qa", "Id - omega**2*M_A*M_B"), ("Qb", "Id - omega**2*M_B*M_A")],
    "named": [("Sa", "Id + omega*M_B"), ("Sb", "Id + omega*M_A")],
    "e": {"A": "omega*Qa*M_A*K_B*(w_B_star - w_A_star) + (omega - 1)*Qa*M_A*Sa*w_A_star",
          "B": "omega*Qb*M_B*K_A*(w_A_star - w_B_star) + (omega - 1)*Qb*M_B*Sb*w_B_star"},
    "z": {"A": "Qa*K_A*w_A_star + omega*Qa*M_A*K_B*w_B_star",
          "B": "omega*Qb*M_B*K_A*w_A_star + Qb*K_B*w_B_star"},
}
# The gallery's P4 (shipped_derive.GALLERY["P4"]: A reads 3/10 m_A + 7/10 m_B, then B reads m_A). By hand, the
# elimination in the agents' order has pivots F_1 = I - Phi_AA = I - 3/10 M_A and F_2 = I - Phi_BB - Phi_BA Q1 Phi_AB
# = I - 7/10 M_B M_A - 21/100 M_B M_A Q1 M_A (Phi_AA = 3/10 M_A, Phi_AB = 7/10 M_A, Phi_BA = 3/10 M_B M_A,
# Phi_BB = 7/10 M_B M_A); step 4 displays F_2 as I - 7/10 M_B Q1 M_A (I + 3/10 M_A Q1 = Q1), with two words where
# the compiler's has three, so V1 step 5 must prove that display equal to the compiler's pivot.
P4_ROUNDS = ((("A", (("A", 0.3), ("B", 0.7))),), (("B", (("A", 1.0),)),))
P4_PIVOTS = [("Qa", "Id - 3/10*M_A"), ("Qb", "Id - 7/10*M_B*Qa*M_A")]
P4_REWRITTEN = "Qb"  # the pivot whose display is not the compiler's
_F = Fraction
# Cheap protocols beyond the gallery, as ``a2ad derive --protocol`` configs take them (run with P2's document).
EXTRA6 = {
    "dead listener": [{"C": {"B": 0.5}, "B": {"C": 1.0}, "A": {"B": 1.0}}],
    "dead reader": [{"C": {"A": 1.0}, "B": {"A": 0.3}, "A": {"C": 0.6, "A": 0.3}}],
    "unsettled": [{"B": {"A": 0.6}, "A": {"B": 1.0}}, {"A": {"B": -0.2}}, {"B": {"A": 1.0}},
                  {"A": {"B": 1.0}, "B": {"A": 0.5}}],
}
HAND6: dict[str, dict] = {
    # dead listener: z_A = M_A z_B + c_A, z_B = M_B z_C + c_B, z_C = 1/2 M_C z_B + c_C (c_j = K_j w_j*); A is heard by
    # nobody (not live). Eliminating B then C: z_C = Qc (1/2 M_C c_B + c_C), Qc = (I - 1/2 M_C M_B)^{-1}, and
    # z_B = (I + 1/2 M_B Qc M_C) c_B + M_B Qc c_C: step 5 recognises X_BB = Qb = (I - 1/2 M_B M_C)^{-1}, step 2 writes
    # X_BC = M_B Qc as Qb M_B. z_A = M_A z_B + c_A: X_AB = M_A (I + 1/2 M_B Qc M_C) = M_A Qb (common M_A, then step 5),
    # X_AC = M_A M_B Qc (no push-through: Qc's pivot does not end in M_A M_B). No listener's weights sum to 1:
    # D_C = 1/2 Qc M_C K_B + Qc K_C - I = Qc (I - 1/2 M_C M_B) - 1/2 Qc M_C - I = -1/2 Qc M_C; D_B = X_BB K_B + X_BC K_C
    # - I = -M_B + M_B Qc (I - 1/2 M_C M_B) - 1/2 M_B Qc M_C = -1/2 Qb M_B M_C (as Qc (I - 1/2 M_C M_B) = I, then step
    # 2); D_A = M_A (X_BB K_B + X_BC K_C) - M_A = -1/2 M_A M_B Qc M_C (M_A times D_B's sum before step 2).
    "dead listener": {
        "pivots": [("Qc", {(): _F(1), ("M_C", "M_B"): _F(-1, 2)}), ("Qb", {(): _F(1), ("M_B", "M_C"): _F(-1, 2)})],
        "recognised": ["Qb"],
        "e": {"A": [(_F(1), ("M_A", "Qb", "K_B"), ("gap", "B", "A")),
                    (_F(1), ("M_A", "M_B", "Qc", "K_C"), ("gap", "C", "A")),
                    (_F(-1, 2), ("M_A", "M_B", "Qc", "M_C"), ("w", "A"))],
              "B": [(_F(1), ("Qb", "M_B", "K_C"), ("gap", "C", "B")), (_F(-1, 2), ("Qb", "M_B", "M_C"), ("w", "B"))],
              "C": [(_F(1, 2), ("Qc", "M_C", "K_B"), ("gap", "B", "C")), (_F(-1, 2), ("Qc", "M_C"), ("w", "C"))]},
        "z": {"A": [(_F(1), ("K_A",), ("w", "A")), (_F(1), ("M_A", "Qb", "K_B"), ("w", "B")),
                    (_F(1), ("M_A", "M_B", "Qc", "K_C"), ("w", "C"))],
              "B": [(_F(1), ("Qb", "K_B"), ("w", "B")), (_F(1), ("Qb", "M_B", "K_C"), ("w", "C"))],
              "C": [(_F(1, 2), ("Qc", "M_C", "K_B"), ("w", "B")), (_F(1), ("Qc", "K_C"), ("w", "C"))]},
    },
    # dead reader: z_A = M_A (3/10 z_A + 3/5 z_C) + c_A, z_B = 3/10 M_B z_A + c_B, z_C = M_C z_A + c_C; B is heard by
    # nobody. Eliminating A then C: z_A = Qa (3/5 M_A z_C + c_A), Qa = (I - 3/10 M_A)^{-1}; z_C = Qx (M_C Qa c_A + c_C),
    # Qx = (I - 3/5 M_C Qa M_A)^{-1}; z_A = Qa (I + 3/5 M_A Qx M_C Qa) c_A + 3/5 Qa M_A Qx c_C, and step 5 recognises
    # I + 3/5 M_A Qx M_C Qa (Qx's pivot is I - 3/5 (M_C Qa)(M_A)) as Qy = (I - 3/5 M_A M_C Qa)^{-1}: X_AA = Qa Qy;
    # X_BA = 3/10 M_B X_AA, X_BC = 3/10 M_B X_AC (the terms with a named factor, D_B and D_C, not derived here).
    "dead reader": {
        "pivots": [("Qa", {(): _F(1), ("M_A",): _F(-3, 10)}), ("Qx", {(): _F(1), ("M_C", "Qa", "M_A"): _F(-3, 5)}),
                   ("Qy", {(): _F(1), ("M_A", "M_C", "Qa"): _F(-3, 5)})],
        "recognised": ["Qy"],
        "e": {"A": [(_F(3, 5), ("Qa", "M_A", "Qx", "K_C"), ("gap", "C", "A"))],
              "B": [(_F(3, 10), ("M_B", "Qa", "Qy", "K_A"), ("gap", "A", "B")),
                    (_F(9, 50), ("M_B", "Qa", "M_A", "Qx", "K_C"), ("gap", "C", "B"))],
              "C": [(_F(1), ("Qx", "M_C", "Qa", "K_A"), ("gap", "A", "C"))]},
        "z": {"A": [(_F(1), ("Qa", "Qy", "K_A"), ("w", "A")), (_F(3, 5), ("Qa", "M_A", "Qx", "K_C"), ("w", "C"))],
              "B": [(_F(3, 10), ("M_B", "Qa", "Qy", "K_A"), ("w", "A")), (_F(1), ("K_B",), ("w", "B")),
                    (_F(9, 50), ("M_B", "Qa", "M_A", "Qx", "K_C"), ("w", "C"))],
              "C": [(_F(1), ("Qx", "M_C", "Qa", "K_A"), ("w", "A")), (_F(1), ("Qx", "K_C"), ("w", "C"))]},
    },
    # unsettled: phase by phase A1 = M_A B + c_A, B1 = 3/5 M_B A + c_B; A2 = -1/5 M_A B1 + c_A; B3 = M_B A2 + c_B; then
    # A = M_A B3 + c_A and B = 1/2 M_B A2 + c_B at once. So A = M_A M_B A2 + M_A c_B + c_A with A2 = -3/25 M_A M_B A
    # - 1/5 M_A c_B + c_A: (I + 3/25 M_A M_B M_A M_B) A = (I + M_A M_B) c_A + M_A (I - 1/5 M_B M_A) c_B, Qa its pivot's
    # inverse: X_AA = Qa Sc, X_AB = Qa M_A Sa (Sc = I + M_A M_B, Sa = I - 1/5 M_B M_A: sums whose terms share no
    # letter), and D_A = X_AA K_A + X_AB K_B - I = Qa (-6/5 M_A M_B M_A + 2/25 M_A M_B M_A M_B)
    # = -6/5 Qa M_A M_B M_A Sb, Sb = I - 1/15 M_B. Some product of B's does not settle (B's forms fall back to the
    # eliminated sums, not derived here): A's settled D_A keeps its product form.
    "unsettled": {
        "pivots": [("Qa", {(): _F(1), ("M_A", "M_B", "M_A", "M_B"): _F(3, 25)})],
        "named": [("Sa", {(): _F(1), ("M_B", "M_A"): _F(-1, 5)}), ("Sb", {(): _F(1), ("M_B",): _F(-1, 15)}),
                  ("Sc", {(): _F(1), ("M_A", "M_B"): _F(1)})],
        "recognised": [],
        "e": {"A": [(_F(1), ("Qa", "M_A", "Sa", "K_B"), ("gap", "B", "A")),
                    (_F(-6, 5), ("Qa", "M_A", "M_B", "M_A", "Sb"), ("w", "A"))]},
        "z": {"A": [(_F(1), ("Qa", "Sc", "K_A"), ("w", "A")), (_F(1), ("Qa", "M_A", "Sa", "K_B"), ("w", "B"))]},
    },
}
NUMBERS = {"omega": sp.Symbol("omega")}  # the weight: commutative


def _expr(text: str, names: dict) -> sp.Expr:
    """A printed (or hand) text as a SymPy expression: the weights numbers, every other name a noncommutative letter
    (``names``: the placeholders' printed letters)."""
    local = dict(NUMBERS)
    for x in set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)) - set(NUMBERS):
        local[x] = names.get(x) or sp.Symbol(x, commutative=False)
    try:
        return sp.parse_expr(text, local_dict=local, evaluate=True)
    except (SyntaxError, TypeError, ValueError, sp.SympifyError):  # not a product form of these letters
        return sp.Symbol(f"<unreadable: {text[:60]}>", commutative=False)


def tex_text(tex: str) -> str:
    """A fixed-point LaTeX term of the forms printed here (``+ \\omega \\mathcal{Q}_{2} M_{A} K_{B} w^*_{B}``) as text
    (``+ omega*Q2*M_A*K_B*w_B_star``)."""
    t = re.sub(r"\\mathcal\{([A-Z])\}_\{(\d+)\}", r"\1\2", tex)
    t = re.sub(r"w\^\*_\{(\w+)\}", r"w_\1_star", t)
    t = re.sub(r"([MK])_\{(\w+)\}", r"\1_\2", t)
    t = t.replace("\\left(", "(").replace("\\right)", ")").replace("\\omega", "omega")
    return re.sub(r"(?<=[\w)])\s+(?=[\w(])", "*", t.strip())


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.expand(a - b) == 0


def _letters_by_hand(ledger, what: str, printed_list: list, hand: list, letters: dict, kind: str) -> None:
    """``letters[placeholder]``: the printed letter whose definition is the hand one (each exactly once)."""
    printed = {e["text_name"]: _expr(e["text"], {}) for e in printed_list}
    for ph, text in hand:
        want = _expr(text, letters)
        got = [q for q, P in printed.items() if _same(P, want)]
        ledger.require(f"{kind} by hand", len(got) == 1, f"{what}: none printed is {text} "
                       f"(printed {[e['text_name'] + ' = ' + e['text'] for e in printed_list][:3]})")
        letters[ph] = sp.Symbol(got[0] if len(got) == 1 else f"missing_{ph}", commutative=False)


def _extra6(ledger, inst, ev) -> None:
    """:data:`EXTRA6` derived by the command and checked as shipped_can's extra protocols, against :data:`HAND6`."""
    from proofs_check.verification import shipped_can as can

    can.derive_extra(ledger, inst, ev, EXTRA6, HAND6, 2206)


def check_can6(ledger, inst, doc: dict, ev=None) -> None:
    """With P2's ``derive --protocol`` document: P2's protocol with a symbolic weight; with P4's: the proof of its
    rewritten pivot (module text)."""
    if inst.rounds == P4_ROUNDS:
        letters: dict = {}
        _letters_by_hand(ledger, "P4", doc.get("inverses", []), P4_PIVOTS, letters, "P4 pivots")
        k = str(letters[P4_REWRITTEN])[1:]
        checks = {c["label"]: c["holds"] for c in doc.get("checks", [])}
        ledger.require("P4: displayed pivot proved", checks.get(f"displayed pivot {k} equals the compiler's") is True,
                       f"P4: the chain has no held 'displayed pivot {k} equals the compiler's' (pivot {k} is displayed "
                       "by step 4, not as eliminated)")
        return
    if inst.rounds != P2_ROUNDS:
        return
    if ev is not None:
        _extra6(ledger, inst, ev)
    from theory import api

    w = NUMBERS["omega"]
    cp = api.compile_protocol(api.protocol_spec(["A", "B"], [{"A": {"B": w}, "B": {"A": w}}]), noise=False)
    sym = api.derive(cp)
    what = "P2 with weight omega"
    letters = {}
    for key, kind in (("pivots", "inverses"), ("named", "named_factors")):
        _letters_by_hand(ledger, what, sym.get(kind, []), SYMBOLIC[key], letters, f"symbolic weights: {kind}")
        ledger.require(f"symbolic weights: {kind} by hand", len(sym.get(kind, [])) == len(SYMBOLIC[key]),
                       f"{what}: {len(sym.get(kind, []))} {kind} printed, by hand {len(SYMBOLIC[key])}")
    named = ", ".join(f"{k} = {x}" for k, x in letters.items())
    for n, want in SYMBOLIC["e"].items():
        text = sym["residuals"][n].get("canonical_text")
        ok = text is not None and _same(_expr(text, {}), _expr(want, letters))
        ledger.require("symbolic weights: residuals by hand", ok, f"{what}: e_{n} prints {text!r}, by hand {want} "
                       f"({named})")
    for n, want in SYMBOLIC["z"].items():
        terms = sym["fixed_points"][n].get("terms") or []
        text = " ".join(tex_text(t) for t in terms)
        ok = bool(terms) and _same(_expr(text, {}), _expr(want, letters))
        ledger.require("symbolic weights: fixed points by hand", ok, f"{what}: z*_{n} prints {text!r}, by hand {want} "
                       f"({named})")
