"""More VS checks of the canonical form that ``a2ad derive --protocol`` prints (theory/protocol/canonical.py; issue
22 item 5, mutation round 5), beside :mod:`proofs_check.verification.shipped_canon`'s, read from the printed JSON alone
(no call into theory.protocol):

1. the V1 chain's labels say what was done: a coefficient's proof is labelled ", recognised inverses as their sums"
   only when that route can have been needed, i.e. when the displayed coefficient (named factors by their displayed
   definitions, in turn) or the compiler's own expression of it uses a recognised inverse (were none there, writing
   the recognised inverses as their sums would change neither side, so the direct proof would have settled); a
   check "displayed pivot k equals the compiler's" names an existing pivot whose display holds an inverse letter
   (step 4 rewrites inverse letters only: a pivot with none is displayed as the compiler's);
2. with the gallery's P2 document (the cheapest), :data:`EXTRA` protocols that reach paths the gallery does not,
   each derived by ``a2ad derive --protocol --format json`` and checked by shipped_canon's checks, item 1 and, where
   derived by hand (:data:`HAND`), its residuals and fixed points exactly:

   * ``fallback``: two agents, four phases, whose ``X_AB`` product form the free algebra's reduction does not settle,
     so it is printed as the eliminated sum (one named factor), as docs/protocol.rst says;
   * ``twice``: two agents, ``A`` answering twice a round, ``B`` hearing itself: ``z_B``'s coefficient of ``w_B*`` is
     an inverse times a recognised one, proved only with the recognised inverse written as its sum (the chain's second
     route), and ``z_A``'s own coefficient is peeled on the right;
   * ``four phases``: two agents, four phases, long rational coefficients (a product that does not settle, too);
   * ``right peel``: two agents, three phases, whose ``D_A`` is peeled on the right (its words end in an inverse).

   Each costs 0.04-0.09 s of CPU (the four together about 0.25 s), in the quick profile;
3. the chain lists each check once;
4. a named factor that is a sum of ``M``'s alone (no inverse, no other named factor), ``I`` plus at least two terms
   sharing a leading (or trailing) letter, is displayed as ``I +`` a product (step 5): common letters factor such a sum
   exactly, so its proof cannot fail and the sum is never kept.
"""
from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

import numpy as np

from proofs_check.verification import shipped_cli as cli
from proofs_check.verification.shipped_canon import _tex_terms, check_canonical, parse_sum

__all__ = ["EXTRA", "HAND", "check_can"]

ROUTE_LABEL = ", recognised inverses as their sums"
# The gallery's P2 (two agents answering simultaneously) as ``ref.Instance.rounds``: its document also runs EXTRA.
P2_ROUNDS = ((("A", (("B", 1.0),)), ("B", (("A", 1.0),))),)
EXTRA = {
    "fallback": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}, "A": {"B": 0.5, "A": 0.5}}, {"A": {"B": 1.0}},
                 {"A": {"B": 0.5, "A": 0.5}, "B": {"A": 1.0}}],
    "twice": [{"A": {"B": 1.0}, "B": {"A": 0.5, "B": 0.5}}, {"A": {"B": 1.0}}],
    "four phases": [{"B": {"A": 0.6}, "A": {"B": -0.2}}, {"A": {"B": 0.3}}, {"B": {"A": 0.6}}, {"A": {"B": 1.0}}],
    "right peel": [{"A": {"B": -0.2}, "B": {"A": 1.0}}, {"B": {"A": 1.0}, "A": {"B": 0.3}}, {"A": {"B": 1.0}}],
}
_F = Fraction
# Canonical forms derived by hand (placeholders ``Qa``, ``Sa``, ... for inverses and named factors, found by their
# pivots and definitions):
HAND: dict[str, dict] = {
    # twice: the round map is z_A <- 1/2 M_A M_B (z_A + z_B) + M_A K_B w_B + K_A w_A,
    # z_B <- 1/2 M_B (z_A + z_B) + K_B w_B.
    # Eliminating z_A: Qa = (I - 1/2 M_A M_B)^{-1}; z_B's pivot I - 1/2 M_B - 1/4 M_B Qa M_A M_B = I - 1/2 M_B Qa (as
    # Qa = I + 1/2 Qa M_A M_B), Qb its inverse: z_B = Qb (1/2 M_B Qa K_A w_A + (I + 1/2 M_B Qa M_A) K_B w_B), and step 5
    # recognises I + 1/2 M_B Qa M_A as Qc = (I - 1/2 M_B M_A)^{-1}. z_A's own coefficient Qa (I + 1/4 M_A M_B Qb M_B Qa)
    # is I - Qb + Qa Qb (as 1/2 Qa M_A M_B = Qa - I and 1/2 Qb M_B Qa = Qb - I); peeled on the right by Qb (times
    # I - 1/2 M_B Qa it is Qa - 1/2 M_B Qa: fewer words), then the common Qa: Sa Qa Qb with Sa = I - 1/2 M_B (B's
    # weights sum to 1: no D_B; z_A's w_B term and D_A are not derived here).
    "twice": {
        "pivots": [("Qa", {(): _F(1), ("M_A", "M_B"): _F(-1, 2)}), ("Qb", {(): _F(1), ("M_B", "Qa"): _F(-1, 2)}),
                   ("Qc", {(): _F(1), ("M_B", "M_A"): _F(-1, 2)})],
        "named": [("Sa", {(): _F(1), ("M_B",): _F(-1, 2)})],
        "recognised": ["Qc"],
        "e": {"B": [(_F(1, 2), ("Qb", "M_B", "Qa", "K_A"), ("gap", "A", "B"))]},
        "z": {"A": [(_F(1), ("Sa", "Qa", "Qb", "K_A"), ("w", "A"))],
              "B": [(_F(1, 2), ("Qb", "M_B", "Qa", "K_A"), ("w", "A")), (_F(1), ("Qb", "Qc", "K_B"), ("w", "B"))]},
    },
    # right peel: the phases compose to z_A <- -1/5 M_A M_B M_A z_B + M_A M_B K_A w_A + M_A K_B w_B + K_A w_A and
    # z_B <- -1/5 M_B M_A z_B + M_B K_A w_A + K_B w_B, so z_B = Qx (M_B K_A w_A + K_B w_B), Qx = (I + 1/5 M_B M_A)^{-1};
    # X_AB = M_A - 1/5 M_A M_B M_A Qx = M_A Qx, pushed through: Qy M_A, Qy = (I + 1/5 M_A M_B)^{-1}; D_A = X_AA K_A +
    # X_AB K_B - I = M_A M_B M_A (-I + 1/5 Qx M_B M_A - 1/5 Qx) = -6/5 M_A M_B M_A Qx (as 1/5 Qx M_B M_A = I - Qx): its
    # words end in Qx, and times I + 1/5 M_B M_A on the right it is one word (step 1 peels Qx on the right; no
    # push-through: Qx's pivot does not end in M_A M_B M_A); D_B = Qx (I - M_B M_A) - I = -6/5 Qx M_B M_A (no
    # listener's weights sum to 1: both agents have a D_i).
    "right peel": {
        "pivots": [("Qx", {(): _F(1), ("M_B", "M_A"): _F(1, 5)}), ("Qy", {(): _F(1), ("M_A", "M_B"): _F(1, 5)})],
        "recognised": [],
        "e": {"A": [(_F(1), ("Qy", "M_A", "K_B"), ("gap", "B", "A")),
                    (_F(-6, 5), ("M_A", "M_B", "M_A", "Qx"), ("w", "A"))],
              "B": [(_F(1), ("Qx", "M_B", "K_A"), ("gap", "A", "B")), (_F(-6, 5), ("Qx", "M_B", "M_A"), ("w", "B"))]},
        "z": {"B": [(_F(1), ("Qx", "M_B", "K_A"), ("w", "A")), (_F(1), ("Qx", "K_B"), ("w", "B"))]},
    },
}
# The extra protocols' named factors are evaluated (shipped_canon's "named once") at generic matrices of this
# spectral norm: small enough that every pivot I - (products of them) is invertible.
GENERIC_NORM = 0.4


def _letters(text: str) -> set[str]:
    """The inverses ``Q_k`` and named factors ``S_k`` of a printed text."""
    return set(re.findall(r"\b[QS]\d+\b", text))


def check_can(ledger, inst, doc: dict, ev) -> None:
    """Item 1 of the module text on one ``derive --protocol --format json`` document."""
    checks = {c["label"]: c["holds"] for c in doc.get("checks", [])}
    listed = [c["label"] for c in doc.get("checks", [])]
    ledger.require("chain lists each check once", len(listed) == len(checks),
                   f"listed twice: {sorted({lbl for lbl in listed if listed.count(lbl) > 1})[:2]}")
    inverses = {e["text_name"]: e["text"] for e in doc.get("inverses", [])}
    named = {e["text_name"]: e["text"] for e in doc.get("named_factors", [])}
    recognised = {f"Q{m}" for lbl in checks for m in re.findall(r"^Q(\d+) recognised in a coefficient", lbl)}

    def expanded(letters: set[str]) -> set[str]:  # named factors by their displayed definitions, in turn
        out, todo = set(letters), [x for x in letters if x in named]
        while todo:
            new = _letters(named[todo.pop()]) - out
            out |= new
            todo += [x for x in new if x in named]
        return out

    agents = doc["agents"]
    for lbl in (lbl for lbl in checks if lbl.endswith(ROUTE_LABEL)):
        hit = [(kind, i, j) for kind in "XZCD" for i in agents for j in agents
               if lbl.startswith(f"{kind}_{i}{j if kind != 'D' else ''} as displayed") and (kind != "D" or i == j)]
        if len(hit) != 1:
            ledger.require("route label names a coefficient", False, f"{lbl!r}")
            continue
        kind, i, j = hit[0]
        e = agents[i]
        if kind in "CD":  # a residual's term: C_ij (w_j* - w_i*) or D_i w_i*
            want = ("w", i) if kind == "D" else ("gap", j, i)
            terms = parse_sum(e["residual"].get("canonical_text") or "0")
            shown = None if terms is None else [w for _, w, v in terms if v == want]
            raw = e["residual"]["text"]
        else:  # a fixed point's term X_ij K_j w_j* (Z_ij w_j* on the named-block path)
            tex = _tex_terms(e["fixed_point"]["terms"])
            shown = None if tex is None else [w for _, w, v in tex if v == ("w", j)]
            raw = e["fixed_point"]["text"]
        if shown is None:
            continue  # (a term of named blocks: not read here)
        uses = expanded({x for w in shown for x in w}) | _letters(raw)
        ledger.require("route label only where a recognised inverse is used", bool(uses & recognised),
                       f"{lbl!r}: neither the displayed coefficient nor the compiler's uses a recognised inverse "
                       f"{sorted(recognised)}")
    for lbl in checks:
        m = re.match(r"^displayed pivot (-?\d+) equals the compiler's$", lbl)
        if m is not None:
            text = inverses.get(f"Q{m.group(1)}")
            ledger.require("displayed pivot label", text is not None and bool(re.search(r"\bQ\d+\b", text)),
                           f"{lbl!r}: pivot {m.group(1)} is {text!r}, which step 4 does not rewrite")
    for S, text in named.items():  # a sum of M's alone, I + terms sharing a letter: shown as I + a product
        terms = parse_sum(text) or []
        rest = [w for _, w, _ in terms if w]
        if (len(terms) >= 3 and len(rest) == len(terms) - 1 and all(x.startswith("M_") for w in rest for x in w)
                and (len({w[0] for w in rest}) == 1 or len({w[-1] for w in rest}) == 1)):
            ledger.require("named factor of M's factored", False, f"{S} = {text[:80]!r}: its terms other than I "
                           "share a letter, and a sum of M's alone factors exactly (step 5: a I + a product)")
    if inst.rounds == P2_ROUNDS:
        derive_extra(ledger, inst, ev)


def _instance(inst, rounds: list[dict]):
    """``inst``'s agents (the last one repeated for a third name) under ``rounds``."""
    names = tuple(sorted({n for ph in rounds for lst, row in ph.items() for n in (lst, *row)}))
    extra = len(names) - len(inst.names)
    pad = lambda a: np.concatenate([a] + [a[-1:]] * extra) if extra > 0 else a[:len(names)]  # noqa: E731
    return dataclasses.replace(
        inst, names=names, H=pad(inst.H), target=pad(inst.target), Gamma=pad(inst.Gamma),
        scalar_gamma=tuple(pad(np.array(inst.scalar_gamma))), steps=tuple(int(s) for s in pad(np.array(inst.steps))),
        rounds=tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items()) for ph in rounds))


def derive_extra(ledger, inst, ev, protocols: dict | None = None, hand: dict | None = None, seed: int = 2205) -> None:
    """``protocols`` (default :data:`EXTRA`) derived by the command at ``inst``'s agents, each checked by the canonical
    form's checks at generic transfers (``seed``) and, where ``hand`` (default :data:`HAND`) has it, against its
    hand derivation."""
    protocols, hand = (EXTRA, HAND) if protocols is None else (protocols, hand or {})
    rng = np.random.default_rng(seed)
    with cli.scratch() as tmp:
        cases = {key: _instance(inst, rounds) for key, rounds in protocols.items()}
        paths = cli.write_configs(tmp, [c.config() for c in cases.values()])
        printed = cli.run_commands([["derive", "--protocol", p, "--format", "json"] for p in paths])
    for (key, case), pr in zip(cases.items(), printed):
        doc = pr.json_or_none() if pr.status == 0 else None
        ledger.require("extra protocols derived", doc is not None, f"derive --protocol ({key}): exit {pr.status} "
                       f"{pr.stderr[-120:]}")
        if doc is None:
            continue
        d = ev.d
        env = {}
        for n in case.names:
            A = rng.standard_normal((d, d))
            env[f"M_{n}"] = GENERIC_NORM * A / np.linalg.norm(A, 2)
            env[f"K_{n}"] = np.eye(d) - env[f"M_{n}"]
        texts = {e["text_name"]: e["text"] for e in doc.get("inverses", []) + doc.get("named_factors", [])}
        gev = type(ev)(d, env, texts, {e["text_name"] for e in doc.get("inverses", [])})
        check_canonical(ledger, case, doc, gev)
        check_can(ledger, case, doc, gev)
        if key in hand:
            _by_hand(ledger, key, doc, hand[key])


def _by_hand(ledger, key: str, doc: dict, hand: dict) -> None:
    pivots = {}
    for e in doc.get("inverses", []):
        p = parse_sum(e["text"])
        pivots[e["text_name"]] = {w: c for c, w, _ in p} if p is not None else None
    name: dict[str, str] = {}
    for ph, F in hand["pivots"]:
        got = [q for q, P in pivots.items() if P == {tuple(name.get(x, x) for x in w): c for w, c in F.items()}]
        name[ph] = got[0] if len(got) == 1 else f"<no inverse {ph}>"
    for ph, F in hand.get("named", []):
        got = [e["text_name"] for e in doc.get("named_factors", [])
               if {w: c for c, w, _ in parse_sum(e["text"]) or []} == F]
        name[ph] = got[0] if len(got) == 1 else f"<no named factor {ph}>"
    checks = {c["label"]: c["holds"] for c in doc.get("checks", [])}
    for ph in hand["recognised"]:
        num = name[ph][1:]
        ledger.require("extra protocol: recognised inverse proved", checks.get(
            f"Q{num} recognised in a coefficient: pivot {num} times the sum it inverts is the identity") is True,
            f"{key}: no proof that {name[ph]} is the sum it replaces")
    resolve = lambda terms: sorted((c, tuple(name.get(x, x) for x in w), v) for c, w, v in terms)  # noqa: E731
    agents = doc["agents"]
    for n, want in hand["e"].items():  # every term of e_n (partial forms: the terms of the vectors derived)
        vectors = {v for _, _, v in want}
        got = sorted(t for t in parse_sum(agents[n]["residual"].get("canonical_text") or "0") or [] if t[2] in vectors)
        ledger.require("extra protocol residuals by hand", got == resolve(want), f"{key}: e_{n} prints "
                       f"{agents[n]['residual'].get('canonical_text')!r}, by hand {resolve(want)}")
    for n, want in hand["z"].items():
        vectors = {v for _, _, v in want}
        got = sorted(t for t in _tex_terms(agents[n]["fixed_point"]["terms"]) or [] if t[2] in vectors)
        ledger.require("extra protocol fixed points by hand", got == resolve(want),
                       f"{key}: z*_{n} prints {agents[n]['fixed_point']['latex']!r}, by hand {resolve(want)}")

