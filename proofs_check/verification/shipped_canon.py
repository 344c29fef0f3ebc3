"""VS for the canonical form that ``a2ad derive --protocol`` prints (theory/protocol/canonical.py; issue 22 item 5).

shipped_derive.py evaluates every printed expression at an instance's matrices, so a coefficient written in
another but equal form passes it. docs/protocol.rst ("The LaTeX states each result in canonical form")
specifies the form; :func:`check_canonical` checks it on the JSON document from its printed text alone (no
call into theory.protocol), with exact rational coefficients:

1. each residual (``canonical_text``) is ``sum_{j != i} C_ij (w_j* - w_i*)``, one term per gap of the
   compiler's residual, plus ``D_i w_i*`` exactly when the listener's weights do not sum to 1; each coefficient
   a number times a product of single letters (``M``'s, ``K``'s, ``Q_k``'s, ``S_k``'s; on the named-block path
   the named blocks), each ``C_ij`` ending in ``K_j`` on the expanded path (``C_ij = X_ij K_j``);
2. each named factor ``S_k`` is a sum of such products, used, defined in terms of smaller-numbered ones only
   (inner sums are named first), divided by its identity's coefficient (else its shortest word's: that
   coefficient is 1); the ones the residuals use have the smallest numbers; no two are equal up to a number
   (evaluated at the instance); none is ``I + a W Q_k V`` with ``Q_k``'s pivot ``I - a V W`` (step 5: that sum is
   the inverse ``(I - a W V)^{-1}``); none shown as a sum keeps a common leading or trailing letter (step 3), and
   none is shown as ``I + c S_m`` (its other terms did not factor: it is shown as the sum);
3. every ``Q_k`` is stated invertible;
4. the V1 chain lists, held, each displayed coefficient's proof (``X_ij`` and ``D_i``; on the named-block path
   ``C_ij``, ``Z_ij`` and ``D_i``), naming exactly the named factors it uses ("by its definition", "by their
   definitions"), and each named factor's own;
5. two agents in round robin or answering simultaneously: C3's residuals
   ``e_A = (I - M_A M_B)^{-1} M_A K_B (w_B* - w_A*)`` and ``e_B = (I - M_B M_A)^{-1} M_B K_A (w_A* - w_B*)``.
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


def _c3_pair(inst) -> tuple[str, str] | None:
    """``(a, b)`` when the config is two agents each hearing only the other with weight 1, in one phase
    (simultaneous) or two (round robin); else None."""
    rounds = inst.rounds or ()
    if len(inst.names) != 2:
        return None
    heard = [(lst, tuple(sorted(row))) for ph in rounds for lst, row in ph]
    a, b = inst.names
    want = sorted([(a, ((b, 1.0),)), (b, ((a, 1.0),))])
    if sorted(heard) != want or len(rounds) not in (1, 2):
        return None
    return a, b


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
        terms = parse_sum(text)
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

    # 5. C3's residuals
    pair = _c3_pair(inst)
    if pair is not None:
        first, second = pair
        inv_of = {e["text"]: e["text_name"] for e in doc.get("inverses", [])}
        qa, qb = inv_of.get(f"Id - M_{first}*M_{second}"), inv_of.get(f"Id - M_{second}*M_{first}")
        got = (agents[first]["residual"].get("canonical_text"), agents[second]["residual"].get("canonical_text"))
        want = (f"{qa}*M_{first}*K_{second}*(w_{second}_star - w_{first}_star)",
                f"{qb}*M_{second}*K_{first}*(w_{first}_star - w_{second}_star)")
        ledger.require("C3's residuals", None not in (qa, qb) and got == want, f"two agents print {got}, C3 {want}")
