"""VS for the canonical form that ``a2ad derive --protocol`` prints (theory/protocol/canonical.py; issue 22 item 5).

shipped_derive.py evaluates every printed expression at an instance's matrices, so a coefficient written in
another but equal form passes it. docs/protocol.rst ("The LaTeX states each result in canonical form")
specifies the form; :func:`check_canonical` checks it on the JSON document from its printed text alone (no
call into theory.protocol), with exact rational coefficients:

1. each residual (``canonical_text``) is ``sum_{j != i} C_ij (w_j* - w_i*)``, one term per gap of the
   compiler's residual, plus ``D_i w_i*`` exactly when the listener's weights do not sum to 1; each coefficient
   a number times a product of single letters (``M``'s, ``K``'s, ``Q_k``'s, ``S_k``'s; on the named-block path
   the named blocks), each ``C_ij`` ending in ``K_j`` on the expanded path (``C_ij = X_ij K_j``), and none starting
   ``W Q_k`` (``W`` a word of ``M``'s) with ``Q_k``'s pivot ``I - V W`` unless ``I - W V`` is the same (step 2 writes it
   ``(I - W V)^{-1} W``);
2. each named factor ``S_k`` is a sum of such products, used, defined in terms of smaller-numbered ones only
   (inner sums are named first), divided by its identity's coefficient (else its shortest word's: that
   coefficient is 1); the ones the residuals use have the smallest numbers; no two are equal up to a number
   (evaluated at the instance); none is ``I + a W Q_k V`` with ``Q_k``'s pivot ``I - a V W`` (step 5: that sum is
   the inverse ``(I - a W V)^{-1}``); none shown as a sum keeps a common leading or trailing letter (step 3; except
   one that is a whole coefficient, which may be the eliminated sum of a product whose proof did not settle), and
   none is shown as ``I + c S_m`` (its other terms did not factor: it is shown as the sum);
3. every ``Q_k`` is stated invertible;
4. the V1 chain lists, held, each displayed coefficient's proof (``X_ij`` and ``D_i``; on the named-block path
   ``C_ij``, ``Z_ij`` and ``D_i``), naming exactly the named factors it uses ("by its definition", "by their
   definitions"), and each named factor's own; every ``Q_k``, ``S_k`` a check's label names is defined;
5. three two-agent protocols whose canonical form is derived by hand (:func:`_hand_forms`): round robin and
   simultaneous answers (C3's ``e_A = (I - M_A M_B)^{-1} M_A K_B (w_B* - w_A*)``), the repeated speaker and the
   anchored agent: their residuals and fixed points exactly.
"""
from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

__all__ = ["check_canonical", "parse_sum"]

# Two named factors are "equal up to a number" when, at the instance's matrices (d >= 2, entries of size ~1),
# one is that multiple of the other to within rounding: float64 products of a few dozen d x d matrices lose at
# most ~1e-12 relative; two different sums differ by O(1) relative at a random instance.
PROPORTIONAL_RTOL = 1e-8

_TOK = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/()]))")
_W = re.compile(r"w_(\w+?)_star$")


def _tokens(text: str) -> list[tuple[str, str]] | None:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOK.match(text, pos)
        if m is None or m.end() == pos:
            return None
        kind = str(m.lastgroup)
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_sum(text: str) -> list[tuple[Fraction, tuple[str, ...], tuple]] | None:
    """``text`` (printed plain text) as terms ``(number, letters, vector)``: ``vector`` is ``("gap", j, i)`` for a
    factor ``(w_j_star - w_i_star)``, ``("w", i)`` for ``w_i_star``, ``()`` for none; ``Id`` is the empty product.
    None when some term is not a number times a product of single letters (a sum in parentheses, a division by
    a letter, a letter after its vector)."""
    toks = _tokens(text)
    if not toks:
        return None
    out, pos = [], 0
    while pos < len(toks):
        sign = 1
        while pos < len(toks) and toks[pos][1] in "+-":
            sign, pos = (-sign if toks[pos][1] == "-" else sign), pos + 1
        num, letters, op = Fraction(sign), [], "*"
        vector: tuple = ()
        while True:
            if pos >= len(toks):
                return None
            kind, val = toks[pos]
            if kind == "num":
                num = num * Fraction(val) if op == "*" else num / Fraction(val)
                pos += 1
            elif kind == "name" and op == "*":
                pos += 1
                power = 1
                if pos + 1 < len(toks) and toks[pos][1] == "**" and toks[pos + 1][0] == "num":
                    power, pos = int(toks[pos + 1][1]), pos + 2
                w = _W.match(val)
                if w is not None:
                    if vector or power != 1:
                        return None
                    vector = ("w", w.group(1))
                elif val != "Id":
                    if vector:
                        return None
                    letters += [val] * power
                elif power != 1:
                    return None
            elif val == "(" and op == "*" and not vector:
                body = [t[1] for t in toks[pos + 1:pos + 5]]
                if len(body) < 4 or body[1] != "-" or body[3] != ")":
                    return None
                a, b = _W.match(body[0]), _W.match(body[2])
                if a is None or b is None:
                    return None
                vector, pos = ("gap", a.group(1), b.group(1)), pos + 5
            else:
                return None
            if pos < len(toks) and toks[pos][1] in "*/":
                op, pos = toks[pos][1], pos + 1
                continue
            break
        if pos < len(toks) and toks[pos][1] not in "+-":
            return None
        out.append((num, tuple(letters), vector))
    return out


def _plain(name: str) -> str:
    """``Phi_{A,B}`` -> ``Phi_A_B``, ``U^{(1)}_{C,D}`` -> ``U_1_C_D`` (the plain text's spelling)."""
    return re.sub(r"\^\{\((\d+)\)\}", r"_\1", name).replace("_{", "_").replace(",", "_").replace("}", "")


def _s_numbers(text: str) -> set[int]:
    return {int(k) for k in re.findall(r"\bS(\d+)\b", text)}


def _tex_s_numbers(tex: str) -> set[int]:
    return {int(k) for k in re.findall(r"\\mathcal\{S\}_\{(\d+)\}", tex)}


def _hand_forms(inst):
    """The canonical form of three two-agent protocols, derived by hand (Gaussian elimination in the agents'
    order, each pivot's inverse a letter, then steps 2 and 5): ``(pivots, named factors, residual terms, fixed-point
    terms, the inverses step 5 recognises)`` with placeholder letters ``Qa, Qb, ...``, ``Sa`` (each pivot or definition
    a ``{word: number}``, terms as :func:`parse_sum` gives them); None for any other protocol.

    * Round robin (``a`` hears ``b``, then ``b`` hears ``a``) or simultaneous answers: ``z_a = Qa (K_a w_a + M_a K_b
      w_b)``, ``Qa = (I - M_a M_b)^{-1}``, and C3's ``e_a = Qa M_a K_b (w_b* - w_a*)`` (``a`` and ``b`` swapped alike).
      Eliminating ``z_a`` first leaves the pivot ``I - M_b M_a`` (``Qb``) and ``z_a``'s own coefficient ``I + M_a Qb
      M_b``, which step 5 recognises as ``Qa``.
    * Repeated speaker (``a`` hears ``b``, ``a`` hears itself, ``b`` hears ``a``): ``z_a = M_a^2 z_b + (I + M_a) K_a
      w_a``, ``z_b = M_b z_a + K_b w_b``, so ``z_b = Qb (M_b Sa K_a w_a + K_b w_b)`` with ``Qb = (I - M_b M_a^2)^{-1}``,
      ``Sa = I + M_a`` (a sum that stays), ``e_b = Qb M_b Sa K_a (w_a* - w_b*)`` (as ``-Qb M_b (I - M_a^2) w_b* = -Qb
      M_b Sa K_a w_b*``) and, pushed through, ``e_a = Qa M_a^2 K_b (w_b* - w_a*)`` with ``Qa = (I - M_a^2 M_b)^{-1}``.
    * Anchored (``a`` hears itself with ``o`` and ``b`` with ``1 - o``, then ``b`` hears ``a``): ``z_a = Qa (p M_a z_b
      + K_a w_a)`` with ``Qa = (I - o M_a)^{-1}``, ``p = 1 - o``; ``z_b = Qb (M_b Qa K_a w_a + K_b w_b)`` with ``Qb = (I
      - p M_b Qa M_a)^{-1}``; so ``e_b = Qb M_b Qa K_a (w_a* - w_b*)``, ``e_a = p Qa M_a Qb K_b (w_b* - w_a*)``, and
      ``z_a``'s own term ``Qa (I + p M_a Qb M_b Qa) K_a w_a = Qa Qc K_a w_a`` with ``Qc = (I - p M_a M_b Qa)^{-1}``
      (step 5: ``I + p W Qb V`` with ``Qb = (I - p V W)^{-1}``, ``W = M_a``, ``V = M_b Qa``).
    """
    rounds = inst.rounds or ()
    if len(inst.names) != 2:
        return None
    a, b = inst.names
    heard = [(lst, tuple(sorted((src, Fraction(str(w))) for src, w in row))) for ph in rounds for lst, row in ph]
    Ma, Mb, Ka, Kb, one = f"M_{a}", f"M_{b}", f"K_{a}", f"K_{b}", Fraction(1)
    if heard in ([(a, ((b, one),)), (b, ((a, one),))], [(b, ((a, one),)), (a, ((b, one),))]) and len(rounds) in (1, 2):
        if len(rounds) == 2 and heard[0][0] != a:
            a, b = b, a  # the round robin's first listener is a
            Ma, Mb, Ka, Kb = Mb, Ma, Kb, Ka
        piv = [("Qa", {(): one, (Ma, Mb): -one}), ("Qb", {(): one, (Mb, Ma): -one})]
        e = {a: [(one, ("Qa", Ma, Kb), ("gap", b, a))], b: [(one, ("Qb", Mb, Ka), ("gap", a, b))]}
        z = {a: [(one, ("Qa", Ka), ("w", a)), (one, ("Qa", Ma, Kb), ("w", b))],
             b: [(one, ("Qb", Mb, Ka), ("w", a)), (one, ("Qb", Kb), ("w", b))]}
        return piv, [], e, z, ["Qa"]
    if heard == [(a, ((b, one),)), (a, ((a, one),)), (b, ((a, one),))]:
        piv = [("Qa", {(): one, (Ma, Ma, Mb): -one}), ("Qb", {(): one, (Mb, Ma, Ma): -one})]
        e = {a: [(one, ("Qa", Ma, Ma, Kb), ("gap", b, a))], b: [(one, ("Qb", Mb, "Sa", Ka), ("gap", a, b))]}
        z = {b: [(one, ("Qb", Mb, "Sa", Ka), ("w", a)), (one, ("Qb", Kb), ("w", b))]}
        return piv, [("Sa", {(): one, (Ma,): one})], e, z, []
    if len(heard) == 2 and heard[1] == (b, ((a, one),)) and heard[0][0] == a and [s for s, _ in heard[0][1]] == [a, b]:
        o, p = heard[0][1][0][1], heard[0][1][1][1]
        if o + p != 1 or o == 0 or p == 0:
            return None
        piv = [("Qa", {(): one, (Ma,): -o}), ("Qb", {(): one, (Mb, "Qa", Ma): -p}),
               ("Qc", {(): one, (Ma, Mb, "Qa"): -p})]
        e = {a: [(p, ("Qa", Ma, "Qb", Kb), ("gap", b, a))], b: [(one, ("Qb", Mb, "Qa", Ka), ("gap", a, b))]}
        z = {a: [(one, ("Qa", "Qc", Ka), ("w", a)), (p, ("Qa", Ma, "Qb", Kb), ("w", b))],
             b: [(one, ("Qb", Mb, "Qa", Ka), ("w", a)), (one, ("Qb", Kb), ("w", b))]}
        return piv, [], e, z, ["Qc"]
    return None


_TEX_TOK = re.compile(r"\s*(?:\\frac\{(?P<p>\d+)\}\{(?P<q>\d+)\}|(?P<num>\d+)|\\mathcal\{(?P<cal>[QS])\}_\{(?P<k>\d+)\}"
                      r"|(?P<let>[MK])_\{(?P<ag>\w+)\}(?:\^\{(?P<pow>\d+)\})?|w\^\*_\{(?P<w>\w+)\}|(?P<sign>[-+]))")


def _tex_terms(terms: list[str]) -> list | None:
    """LaTeX fixed-point terms (``\\frac{7}{10} \\mathcal{Q}_{1} M_{A} K_{B} w^*_{B}``) as :func:`parse_sum` terms; None
    when a term is anything else."""
    out = []
    for t in terms:
        num, letters, pos = Fraction(1), [], 0
        vector: tuple = ()
        t = t.strip()
        while pos < len(t):
            m = _TEX_TOK.match(t, pos)
            if m is None or m.end() == pos:
                return None
            pos = m.end()
            if m.group("sign"):
                num = -num if m.group("sign") == "-" else num
            elif m.group("p"):
                num *= Fraction(int(m.group("p")), int(m.group("q")))
            elif m.group("num"):
                num *= int(m.group("num"))
            elif m.group("cal"):
                letters.append(f"{m.group('cal')}{m.group('k')}")
            elif m.group("let"):
                letters += [f"{m.group('let')}_{m.group('ag')}"] * int(m.group("pow") or 1)
            else:
                vector = ("w", m.group("w"))
        out.append((num, tuple(letters), vector))
    return out


def check_canonical(ledger, inst, doc: dict, ev) -> None:
    """Items 1-5 of the module text on one ``derive --protocol --format json`` document; ``ev`` evaluates its
    names at the instance (shipped_derive.Evaluator)."""
    names = list(inst.names)
    dense = bool(doc.get("definitions"))
    inverses = [e["text_name"] for e in doc.get("inverses", [])]
    named = [e["text_name"] for e in doc.get("named_factors", [])]
    letters = {f"M_{n}" for n in names} | {f"K_{n}" for n in names} | set(inverses) | set(named)
    letters |= {_plain(e["text_name"]) for e in doc.get("definitions", [])}
    agents = doc["agents"]

    pivots = {}
    for e in doc.get("inverses", []):
        p = parse_sum(e["text"])
        pivots[e["text_name"]] = {w: c for c, w, _ in p} if p is not None and not any(v for _, _, v in p) else None

    # 1. the residuals' shape
    in_residuals: set[int] = set()
    for n, e in agents.items():
        text = e["residual"].get("canonical_text")
        if text is None:
            ledger.require("canonical residual", False, f"e_{n} has no canonical form")
            continue
        in_residuals |= _s_numbers(text)
        terms = [] if text == "0" else parse_sum(text)  # a residual 0 is the empty sum (no gap, no w_i*)
        if terms is None:
            ledger.require("canonical residual", False, f"e_{n} = {text[:80]!r} is not a sum of products")
            continue
        gaps = [v[1] for _, _, v in terms if v[:1] == ("gap",)]
        compiler = set(re.findall(rf"\(w_(\w+?)_star - w_{n}_star\)", e["residual"]["text"]))
        ok = (all(v and v[-1] == n for _, _, v in terms) and len(gaps) == len(set(gaps)) and set(gaps) == compiler
              and n not in gaps and sum(v == ("w", n) for _, _, v in terms) == (0 if e["residual"].get(
                  "weights_sum_to_one") else 1))
        ledger.require("canonical residual terms", ok, f"e_{n} = {text[:80]!r}: not one term per gap "
                       f"{sorted(compiler)} (and w_{n}* iff the weights do not sum to 1)")
        bad = [w for _, w, _ in terms if not set(w) <= letters]
        ledger.require("canonical letters", not bad, f"e_{n}: unknown letters in {bad[:1]}")
        if not dense:
            bad_k = [(w, v) for _, w, v in terms if v[:1] == ("gap",) and (not w or w[-1] != f"K_{v[1]}")]
            ledger.require("canonical C_ij ends in K_j", not bad_k, f"e_{n}: {bad_k[:1]} does not end in K_j")
            for _, w, _ in terms:
                k = next((p for p, x in enumerate(w) if not x.startswith("M_")), len(w))
                F = pivots.get(w[k]) if 0 < k < len(w) else None
                W = w[:k]
                if F and F.get(()) == 1 and all(not u or u[-len(W):] == W for u in F):
                    F2 = {(W + u[:-len(W)] if u else ()): c for u, c in F.items()}
                    ledger.require("canonical push-through", F2 == F, f"e_{n}: {'*'.join(w)} is W (I - V W)^-1 ...: "
                                   f"written (I - W V)^-1 W ... (step 2)")

    # 2. the named factors
    alone = set()  # named factors that are a whole coefficient (times a number, and K_j)
    for e in agents.values():
        for _, w, _ in parse_sum(e["residual"].get("canonical_text") or "0") or []:
            core = [x for x in w if not x.startswith("K_")]
            if len(core) == 1 and re.fullmatch(r"S\d+", core[0]):
                alone.add(int(core[0][1:]))
        for t in e["fixed_point"]["terms"]:
            core = re.findall(r"\\mathcal\{[QS]\}_\{\d+\}|\b[MUr]_\{|\\Phi_\{", t)
            if len(core) == 1 and core[0].startswith(r"\mathcal{S}"):
                alone |= _tex_s_numbers(t)
    defs: dict[int, list] = {}
    for k, e in enumerate(doc.get("named_factors", []), 1):
        ledger.require("named factor numbering", e["text_name"] == f"S{k}", f"named factor {k} is {e['text_name']}")
        terms = parse_sum(e["text"])
        if terms is None or len(terms) < 2 or any(v for _, _, v in terms):
            ledger.require("named factor is a sum of products", False, f"S{k} = {e['text'][:80]!r}")
            continue
        defs[k] = terms
        inner = _s_numbers(e["text"])
        ledger.require("named factor inner sums named first", all(m < k for m in inner),
                       f"S{k} = {e['text'][:60]!r} uses S{max(inner, default=0)}")
        ledger.require("named factor letters", all(set(w) <= letters for _, w, _ in terms), f"S{k}: unknown letters")
        one = [c for c, w, _ in terms if not w]
        if not one and k not in alone:  # a sum shown as such: no common leading or trailing letter (step 3); a
            # coefficient that is one named factor alone may be the eliminated sum itself (a product whose proof
            # did not settle is printed so, docs/protocol.rst), factored or not
            common = {w[0] for _, w, _ in terms} if all(w for _, w, _ in terms) else set()
            common_end = {w[-1] for _, w, _ in terms} if all(w for _, w, _ in terms) else set()
            ledger.require("named factor has no common letters", len(common) != 1 and len(common_end) != 1,
                           f"S{k} = {e['text'][:80]!r}: a common leading or trailing letter (step 3)")
        if one and len(terms) == 2:  # a I + c S_m: the rest did not factor, so the definition is the sum itself
            (rest,) = (w for _, w, _ in terms if w)
            ledger.require("named factor shown as a sum when the rest does not factor",
                           not (len(rest) == 1 and re.fullmatch(r"S\d+", rest[0])), f"S{k} = {e['text'][:80]!r}")
        short = min(len(w) for _, w, _ in terms)
        unit = one == [1] if one else any(c == 1 for c, w, _ in terms if len(w) == short)
        ledger.require("named factor divided by its unit", unit,
                       f"S{k} = {e['text'][:80]!r}: its identity's (or shortest word's) coefficient is not 1")
    used = set(in_residuals)
    for e in agents.values():
        used |= _tex_s_numbers(e["fixed_point"]["latex"])
    for e in doc.get("named_factors", []):
        used |= _s_numbers(e["text"])
    ledger.require("named factors used", used == set(range(1, len(named) + 1)),
                   f"named factors used {sorted(used)}, defined {len(named)}")
    closure = set(in_residuals)
    for k in range(len(named), 0, -1):  # definitions use smaller numbers only (checked): one descending pass
        if k in closure:
            closure |= _s_numbers(doc["named_factors"][k - 1]["text"])
    ledger.require("named factors of the residuals first", closure == set(range(1, len(closure) + 1)),
                   f"the residuals' named factors (with their inner ones) are {sorted(closure)}")
    values = {}
    for k in defs if ev.d >= 2 else ():  # (in one dimension every sum is a number times any other)
        try:
            values[k] = np.asarray(ev._mat(ev.value(f"S{k}")), dtype=float).ravel()
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError):
            ledger.require("named factor evaluates", False, f"S{k} cannot be evaluated")
    for a in values:
        for b in values:
            if a < b:
                va, vb = values[a], values[b]
                ratio = float(va @ vb) / max(float(vb @ vb), 1e-300)
                same = np.linalg.norm(va - ratio * vb) <= PROPORTIONAL_RTOL * max(float(np.linalg.norm(va)), 1e-300)
                ledger.require("named factors named once", not same, f"S{a} is {ratio:.3g} S{b}")
    for k, terms in defs.items():
        t = {w: c for c, w, _ in terms}
        if len(t) != 2 or t.get(()) != 1:
            continue
        (u, coef), = ((w, c) for w, c in t.items() if w)
        for at, q in enumerate(u):
            piv = pivots.get(q)
            W, V = u[:at], u[at + 1:]
            if piv is not None and V + W and piv == {(): 1, V + W: -coef}:
                ledger.require("named factor is no recognisable inverse", False,
                               f"S{k} = I + a W {q} V with {q} = (I - a V W)^-1: the inverse (I - a W V)^-1 (step 5)")

    # 3. every inverse is a hypothesis
    hyps = set(doc.get("hypotheses", []))
    ledger.require("inverses are hypotheses", all(f"{q} invertible" in hyps for q in inverses),
                   f"hypotheses {sorted(hyps)[:4]} for inverses {inverses}")

    # 4. the chain of proofs names each displayed coefficient
    checks = {c["label"]: c["holds"] for c in doc.get("checks", [])}
    ledger.require("canonical chain holds", all(checks.values()), "a listed V1 check does not hold")

    def proved(prefix: str, uses: set[int]) -> bool:
        hit = [lbl for lbl in checks if lbl.startswith(prefix)]
        if len(hit) != 1 or _s_numbers(hit[0].split(prefix, 1)[1]) != uses:
            return False
        said = re.search(r", with (S\d+(?: and S\d+)*) by (its definition|their definitions)\b", hit[0])
        return not uses or (said is not None and (said.group(2) == "its definition") == (len(uses) == 1))

    fixed_terms: dict[tuple[str, str], set[int]] = {}
    for n, e in agents.items():
        for t in e["fixed_point"]["terms"]:
            m = re.search(r"w\^\*_\{(\w+)\}$", t)
            if m is not None:  # (a product too wide for a line is printed term by term)
                fixed_terms[(n, m.group(1))] = fixed_terms.get((n, m.group(1)), set()) | _tex_s_numbers(t)
    missing = []
    for (n, j), uses in fixed_terms.items():
        label = f"Z_{n}{j} as displayed" if dense else f"X_{n}{j} as displayed is X_{n}{j} as eliminated"
        if not proved(label, uses):
            missing.append(label)
    for n, e in agents.items():
        for _, w, v in parse_sum(e["residual"].get("canonical_text") or "0") or []:
            uses = {int(x[1:]) for x in w if re.fullmatch(r"S\d+", x)}
            if v == ("w", n) and not proved(f"D_{n} as displayed is the compiler's D_{n}", uses):
                missing.append(f"D_{n}")
            if dense and v[:1] == ("gap",) and not proved(f"C_{n}{v[1]} as displayed", uses):
                missing.append(f"C_{n}{v[1]}")
        if not dense:
            missing += [lbl for lbl in (f"r_{n} in the c_j is the round map's r_{n}",
                                        f"z*_{n} in the c_j is fixed by the round map") if lbl not in checks]
    missing += [f"S{k}" for k in range(1, len(named) + 1) if f"S{k} as displayed is the sum it names" not in checks]
    ledger.require("canonical chain lists every coefficient", not missing, f"no proof listed for {missing[:3]}")
    unknown = sorted({x for lbl in checks for x in re.findall(r"\b[QS]\d+\b", lbl)} - set(inverses) - set(named))
    ledger.require("canonical chain names known letters", not unknown, f"the V1 checks name undefined {unknown[:3]}")

    # 5. two-agent protocols whose canonical form is derived by hand (module text)
    hand = _hand_forms(inst)
    if hand is not None:
        piv, fac, want_e, want_z, recognised = hand
        name: dict[str, str] = {}
        for key, F in piv:  # each inverse by its pivot (later pivots name earlier inverses)
            got_q = [q for q, P in pivots.items() if P == {tuple(name.get(x, x) for x in w): c for w, c in F.items()}]
            name[key] = got_q[0] if len(got_q) == 1 else f"<no inverse {key}>"
        for key, F in fac:
            got_s = [f"S{k}" for k, t in defs.items() if {w: c for c, w, _ in t} == F]
            name[key] = got_s[0] if len(got_s) == 1 else f"<no named factor {key}>"
        resolve = lambda terms: sorted((c, tuple(name.get(x, x) for x in w), v) for c, w, v in terms)  # noqa: E731
        for key in recognised:  # its identity is proved in the chain, under its own number
            num = name[key][1:]
            ledger.require("recognised inverse proved", checks.get(
                f"Q{num} recognised in a coefficient: pivot {num} times the sum it inverts is the identity") is True,
                f"no proof that {name[key]} (recognised, step 5) is the sum it replaces")
        for n in names:
            got = sorted(parse_sum(agents[n]["residual"].get("canonical_text") or "0") or [])
            ledger.require("two-agent residuals by hand", got == resolve(want_e[n]), f"e_{n} prints "
                           f"{agents[n]['residual'].get('canonical_text')!r}, by hand {resolve(want_e[n])}")
            if n in want_z:
                got_z = sorted(_tex_terms(agents[n]["fixed_point"]["terms"]) or [])
                ledger.require("two-agent fixed points by hand", got_z == resolve(want_z[n]),
                               f"z*_{n} prints {agents[n]['fixed_point']['latex']!r}, by hand {resolve(want_z[n])}")
