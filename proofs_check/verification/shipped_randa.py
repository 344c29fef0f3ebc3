"""More of what ``a2ad derive --protocol`` prints for a random protocol, read by R1's and R3's VS in every profile
(:func:`proofs_check.verification.shipped_derive_random.check_random_derivation` calls :func:`check_more`).

- The text and macros formats: beyond ``--profile quick`` the VS runs them through the command; in quick they are
  rendered from the JSON document the command printed (``random_report.as_text`` / ``as_macros``, what the command
  writes for those formats; no second compilation) and read by the VS's own text and macros checks.
- The macros' NAMES, each with its body: ``\\<prefix>MeanSquareRate``, ``Stein``, ``Block<k>Definition``,
  ``Q<k>Definition``, ``Mean<agent>``, ``MeanResidual<agent>`` (k counted from one, digits spelt out), and the
  comment header (the source, the version, the hypotheses).
- Each text line ``[k] label (p = ...; stationary ...): phases ...`` against the JSON; the notes: none when the
  stationary mean is printed expanded, the named blocks' one when it is printed with named blocks (a note that the
  mean is "given by its equation" beside a printed mean would contradict it).
- A small config run under a timer (:func:`check_small`, with R3's independent draws; its LaTeX rendered from the
  printed JSON document): its probabilities sum to 1 only within the config's tolerance (``0.3``, ``0.2`` and
  ``0.5000000005``), so the printed law must be the config's renormalised exactly
  (the exact fractions sum to 1, each within float round-off of ``p_k / sum p``); ``compile_seconds`` must lie
  between 0 and the command's wall time; and the LaTeX round maps, whose coefficients here include a sum (bracketed)
  and the identity, must be each nonzero coefficient before its message (bare when one product, in
  ``\\left( \\right)`` when a sum), joined by ``+``, then the offset.
"""
from __future__ import annotations

import re
import time
from fractions import Fraction

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.shipped import Ledger

__all__ = ["check_more", "check_small", "gallery_checks", "round_map_line", "round_map_section", "SMALL_PROBABILITIES"]

# Spelt-out digits of a macro name (the documented names: \aadRandomQOneDefinition, ...).
DIGITS = dict(zip("0123456789", ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]))
# The small config's law: sums to 1 + 5e-10, inside the config's tolerance (numerics' LAW_TOL = 1e-9), not exactly.
SMALL_PROBABILITIES = (0.3, 0.2, 0.5000000005)
# Each printed probability (an exact fraction) against p_k / sum p in float64: a few ulps.
LAW_ROUNDOFF = 1e-15
# compile_seconds is printed rounded to 3 decimals: it may exceed the true time by half a millisecond.
SECONDS_ROUNDING = 5e-4


def _words(k: int) -> str:
    return "".join(DIGITS[c] for c in str(k))


def check_more(ledger: Ledger, label: str, doc: dict, want: dict, base: ref.Instance, fenv: dict, evaluate,
               printed: dict, files: dict, ms: str, stein: str, rng: np.random.Generator, kit: tuple) -> None:
    """The text and macros formats in quick (rendered from the JSON document), the macros' names and header, the
    text format's alternative lines, and the small config (:func:`check_small`, on a child of ``rng``: the
    method's own draws are unchanged). ``kit``: the caller's ``(_check_text, Formula, _plain_formula)``
    (:mod:`shipped_derive_random`, passed in: importing it here would close an import cycle)."""
    from theory.protocol import random_report as RR

    _check_text, Formula, _plain_formula = kit

    # rendered from the document as a reader of the JSON holds it (as_text and as_macros take any such document)
    mem = doc
    text = printed["text"].stdout if "text" in printed else RR.as_text(mem) + "\n"
    if "text" not in printed:
        _check_text(ledger, label, text, doc, want, base, fenv, evaluate)
    lines = text.splitlines()
    head = f"random protocol ({doc['law']} draws) over agents {', '.join(doc['agents'])}"
    ledger.require("text header", lines[:1] == [head], f"{label}: text header {lines[:1]}")
    for k, a in enumerate(doc["alternatives"]):
        law = (f"p = {a['probability']['text']}" if "probability" in a
               else "next: " + ", ".join(f"{x} {p}" for x, p in a["next"].items()))
        line = f"[{k}] {a['label']} ({law}; stationary {a['stationary_probability']['text']}): phases {a['phases']}"
        ledger.require("text alternative lines", line in lines, f"{label}: text lacks {line[:60]!r}")

    # the text's rate sentence states the JSON's formulas (the same operators, not only the same values: for
    # independent draws the chain's block form has the same radius, but P_jl is not defined there)
    rate = [ln[len("mean-square rate: "):] for ln in lines if ln.startswith("mean-square rate: ")]
    fm = Formula({}, 1)
    try:
        said = [fm.parse(f"x = {st}")[1] for part in (rate[0].partition("; mean rate: ")[0::2] if rate else [])
                for st in _plain_formula(part)]
        want_f = [fm.parse(st)[1] for st in _plain_formula(ms)]
    except (ValueError, IndexError) as exc:
        said, want_f = [exc], []
    ledger.require("text rate sentence is the JSON's", len(rate) == 1 and said == want_f,
                   f"{label}: the text's rate sentence is not the JSON's formulas: {rate[:1]}")
    prefix, source, version = "aadRandomCheck", "config.json", "0.0"
    body = files["macros"] if "macros" in files else RR.as_macros(mem, prefix, source, version)
    if "macros" in files:  # the command's own prefix (from the config's file name) and version
        names = re.findall(r"^\\newcommand\{\\(\w+?)MeanSquareRate\}", body, re.M)
        prefix = names[0] if names else "?"
    if "macros" not in files:
        bodies = set(re.findall(r"^\\newcommand\{\\\w+\}\{(.*)\}$", body, re.M))
        expect_bodies = [ms, stein] + [f"{e['name']} = {e['latex']}" for e in doc.get("definitions", [])] + \
            [f"{e['name']} = \\left({e['latex']}\\right)^{{-1}}" for e in doc.get("inverses", [])] + \
            [e["latex"] for e in doc.get("fixed_points", {}).values()] + \
            [e["latex"] for e in doc.get("residuals", {}).values()]
        ledger.require("macros state the JSON's formulas", bodies == set(expect_bodies),
                       f"{label}: macro bodies differ from the JSON's formulas")
    got = dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", body, re.M))
    want_m = {f"{prefix}MeanSquareRate": ms, f"{prefix}Stein": stein}
    for k, e in enumerate(doc.get("definitions", [])):
        want_m[f"{prefix}Block{_words(k + 1)}Definition"] = f"{e['name']} = {e['latex']}"
    for k, e in enumerate(doc.get("inverses", [])):
        want_m[f"{prefix}Q{_words(k + 1)}Definition"] = f"{e['name']} = \\left({e['latex']}\\right)^{{-1}}"
    for x in doc["agents"]:
        if "fixed_points" in doc:
            want_m[f"{prefix}Mean{x}"] = doc["fixed_points"][x]["latex"]
            want_m[f"{prefix}MeanResidual{x}"] = doc["residuals"][x]["latex"]
    ledger.require("macro names", got == want_m, f"{label}: macros {sorted(set(got) ^ set(want_m))[:4]} differ")
    comments = [ln for ln in body.splitlines() if ln.startswith("%")]
    hyp = "% hypotheses: " + "; ".join(doc["hypotheses"])
    ledger.require("macros header", len(comments) == 3 and comments[2] == hyp
                   and (("macros" in files) or comments[0].startswith(f"% a2a-dynamics {version}: ")
                        and comments[0].endswith(f"of {source} (every one proved by V1).")),
                   f"{label}: macros header {comments[:1]}")
    ledger.require("schema_version", doc.get("schema_version") == 1,
                   f"{label}: schema_version {doc.get('schema_version')}")
    cs = doc.get("compile_seconds")
    ledger.require("compile_seconds", isinstance(cs, (int, float)) and cs >= 0 and round(cs, 3) == cs,
                   f"{label}: compile_seconds {cs} (seconds, 3 decimals)")
    js = printed["json"].stdout.splitlines()
    ledger.require("json indent", len(js) > 2 and js[0] == "{" and js[1].startswith('  "') and js[1][3] != " ",
                   f"{label}: the JSON is not indented by 2 spaces: {js[1][:20] if len(js) > 1 else js!r}")
    if "latex" in files:
        _check_latex_words(ledger, label, files["latex"], doc)
    # each second-moment equation's left side names its block: C[a,b] (independent), Q_l[a,b] and Q_{l,a,b} (chain)
    for key, e in doc.get("second_moment", {}).items():
        parts = key.split(",")
        want_lhs = f"Q_{parts[0]}[{parts[1]},{parts[2]}]" if len(parts) == 3 else f"C[{parts[0]},{parts[1]}]"
        ok = e.get("lhs_text") == want_lhs and (len(parts) == 2 or e.get("lhs") == f"Q_{{{key}}}")
        ledger.require("second-moment left sides", ok, f"{label}: {key}: lhs {e.get('lhs_text')}, {e.get('lhs')}")
    # every note and named block is printed, in the text and the LaTeX (and the macros: block k named with k spelt
    # out); the quick cases have none: one of each is added to the document
    noted = dict(mem, notes=["a note on the agent " + doc["agents"][0]],
                 definitions=[*doc.get("definitions", []), {"name": "U_{9}", "text_name": "U9", "latex": "M_{A}",
                                                            "text": "M_A", "terms": ["M_{A}"]}])
    k = len(noted["definitions"])
    ledger.require("definitions printed", "U9 := M_A" in RR.as_text(noted).splitlines()
                   and "U_{9} &= M_{A}" in RR.as_latex(noted)
                   and f"\\newcommand{{\\aadRBlock{_words(k)}Definition}}{{U_{{9}} = M_{{A}}}}"
                   in RR.as_macros(noted, "aadR").splitlines(), f"{label}: a named block is not printed")
    first = doc["agents"][0]
    ledger.require("notes printed", f"note: a note on the agent {first}" in RR.as_text(noted).splitlines()
                   and f"\\textbf{{Note.}} a note on the agent ${first}$." in RR.as_latex(noted).splitlines(),
                   f"{label}: a note of the document is not printed")
    # a chain with at most EXPANDED_UNKNOWNS (6) written messages (an agent writing in an alternative) is solved
    # expanded: no named blocks (theory.protocol.random_markov; the quick chain writes 3)
    written = sum(len({lst for ph in a["phases"] for lst in ph}) for a in doc["alternatives"])
    ledger.require("chain of few written messages expanded", doc["law"] != "markov" or written > 6
                   or "definitions" not in doc, f"{label}: {written} written messages solved with named blocks")
    # a note says what is NOT expanded: none when the mean is printed expanded, the named blocks' one otherwise
    notes = doc.get("notes")
    ledger.require("notes", notes == [] if "definitions" not in doc else
                   (isinstance(notes, list) and len(notes) == 1 and "named blocks" in notes[0]),
                   f"{label}: notes {str(notes)[:100]} (definitions: {'definitions' in doc})")
    if doc["law"] == "independent":  # once per claim pair: R3's VS (R1's is a Markov chain)
        check_small(ledger, rng.spawn(1)[0])


def _outside_math(tex: str) -> str:
    """The text of ``tex`` outside ``$...$`` (even pieces)."""
    return " ".join(tex.split("$")[0::2])


def _check_latex_words(ledger: Ledger, label: str, tex: str, doc: dict) -> None:
    """The LaTeX document's sentences: the law (independently with probability p_k, or by a Markov chain P); the
    hypotheses paragraph (each pivot, by its formula or its inverse's name, then the rate, then for a chain the
    chain's); the checks list (one item per check, each ": proved."; an alternative's label, or alternative k + 1 for
    an unnamed one, then "its phases composed give its round map"); and every item and note in words: no agent name,
    no Q_l and no ``=`` or ``+`` outside mathematics."""
    markov = doc["law"] == "markov"
    law = "by a Markov chain $P$" if markov else "independently with probability $p_k$"
    ledger.require("latex law sentence", f"is drawn ({law}) and maps the joint state" in tex,
                   f"{label}: the LaTeX does not say the alternative is drawn {law}")
    para = re.findall(r"^\\textbf\{Hypotheses\.\} (.*)\.$", tex, re.M)
    parts = para[0].split("; ") if len(para) == 1 else []
    invs = doc["inverses"]
    want_rest = ["the mean-square rate is below 1 (for the covariance)"] + \
        (["the chain irreducible and aperiodic"] if markov else [])
    ok = len(parts) == len(invs) + len(want_rest) and parts[len(invs):] == want_rest and all(
        p in (f"${e['latex']}$ is invertible (its inverse is ${e['name']}$)",
              f"the pivot ${e['name']}^{{-1}}$ above is invertible") for p, e in zip(parts, invs))
    ledger.require("latex hypotheses", ok, f"{label}: LaTeX hypotheses {parts[:2]} ({len(parts)} parts)")
    i0 = tex.find(r"\subsection*{Checks (V1, free algebra)}")
    items = re.findall(r"^\\item (.*)$", tex[i0:], re.M) if i0 >= 0 else []
    ledger.require("latex checks list", len(items) == len(doc["checks"]) and all(x.endswith(": proved.")
                                                                                  for x in items),
                   f"{label}: {len(items)} LaTeX check items for {len(doc['checks'])} checks")
    for k, a in enumerate(doc["alternatives"]):
        name = f"alternative {k + 1}" if a["label"] == str(k) else a["label"]
        ledger.require("latex checks list", f"\\item {name}: its phases composed give its round map: proved." in tex,
                       f"{label}: no LaTeX check item for alternative {k + 1} ({a['label']})")
    names = "|".join(re.escape(x) for x in doc["agents"])
    words = re.findall(r"^\\item (.*)$", tex, re.M) + re.findall(r"^\\textbf\{Note\.\} (.*)$", tex, re.M)
    bad = [w for w in words if re.search(rf"(?<![\\\w])({names})(?!\w)|(?<![\\\w])Q\\_\d| = | \+ ",
                                         _outside_math(w))]
    ledger.require("latex items in words", bool(words) and not bad, f"{label}: LaTeX items not in words: {bad[:2]}")


def _small_config(rng: np.random.Generator) -> tuple[dict, list[list[dict]]]:
    """GD agents A, B (d = 2) and three independent alternatives: A answers the mean of the pair, then B with
    weights -1/2 on A and 3/2 on itself (B's row: a negative first coefficient, a bracketed sum with a minus, an
    offset starting with +); both answer the mean of the pair in turn (B's own coefficient a sum of two positive
    terms); B hears A (A's row the identity, no offset; B's offset starting with -)."""
    base = ref.random_instance(rng, 2, 2, False)
    rounds = [[{"A": {"A": 0.5, "B": 0.5}}, {"B": {"A": -0.5, "B": 1.5}}],
              [{"A": {"A": 0.5, "B": 0.5}}, {"B": {"A": 0.5, "B": 0.5}}], [{"B": {"A": 1.0}}]]
    cfg = base.config()
    cfg["protocol"] = {"random": [{"probability": p, "rounds": r} for p, r in zip(SMALL_PROBABILITIES, rounds)]}
    return cfg, rounds


def _factor(tex: str) -> str:
    """The documented form of a coefficient before a message: none for 1, bare for one product (an optional
    leading sign, then no + or -), else in ``\\left( \\right)``."""
    if tex == "1":
        return ""
    return f"\\left({tex}\\right)" if re.search(r"[-+]", tex.removeprefix("-")) else tex


def check_small(ledger: Ledger, rng: np.random.Generator) -> None:
    """The small config (module text): exact renormalised law, ``compile_seconds`` within the wall time, LaTeX
    round maps in their documented form."""
    from proofs_check.verification.shipped_derive import _latex_block
    from theory.protocol import random_report as RR

    cfg, _ = _small_config(rng)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [cfg])[0]
        start = time.perf_counter()
        pr = cli.run_commands([["derive", "--protocol", path, "--format", "json"]])[0]
        wall = time.perf_counter() - start
    doc = pr.json_or_none()
    ok = pr.status == 0 and isinstance(doc, dict) and len(doc.get("alternatives", [])) == len(SMALL_PROBABILITIES)
    ledger.require("small config derived", ok, f"small config: exit {pr.status}: {pr.stderr[:100]}")
    if not ok:
        return
    latex = RR.as_latex(doc)  # what --format latex writes for this document (one compilation, not two)
    p = np.array(SMALL_PROBABILITIES) / sum(SMALL_PROBABILITIES)
    for field in ("probability", "stationary_probability"):
        law = [Fraction(a[field]["text"]) for a in doc["alternatives"]]
        ledger.require(f"small config {field} exact", sum(law) == 1, f"small config: {field} sums to {sum(law)}")
        ledger.add(f"small config {field}", max(abs(float(x) - y) for x, y in zip(law, p)), LAW_ROUNDOFF)
    cs = doc.get("compile_seconds")
    ledger.require("compile_seconds", isinstance(cs, (int, float)) and 0 <= cs <= wall + SECONDS_ROUNDING,
                   f"small config: compile_seconds {cs} for a command of {wall:.3f} s")
    names, bracketed = doc["agents"], 0
    for k, a in enumerate(doc["alternatives"]):
        section = round_map_section(latex, k)
        for i, x in enumerate(names):
            line = round_map_line(names, a, i)
            got = _latex_block(section, f"m_{{{x}}}^{{\\text{{new}}}} &= ")
            bracketed += r"\left(" in line
            ledger.require("small config latex round maps", got == " ".join(line.split()),
                           f"small config: alternative {k + 1}, m_{x}: {str(got)[:80]!r} (want {line[:80]!r})")
    ledger.require("small config has a bracketed coefficient", bracketed > 0,
                   "small config: no coefficient is a sum (the case lost its purpose)")


def round_map_section(tex: str, k: int) -> str:
    """The LaTeX subsection of alternative ``k`` (from 0; numbered from 1 in the document), or ``""``."""
    i0 = tex.find(r"\subsection*{Round map of alternative " + str(k + 1) + " ")
    return tex[i0:tex.find(r"\subsection*", i0 + 1)] if i0 >= 0 else ""


def round_map_line(names: list[str], alt: dict, i: int) -> str:
    """The documented LaTeX of ``m_i^new`` in one alternative, built from the JSON: each nonzero coefficient
    (a sum in parentheses) before its message, then the offset (after a space when it carries its minus);
    ``0`` when both are empty."""
    terms = [f"{_factor(c['latex'])} m_{{{names[j]}}}".strip()
             for j, c in enumerate(alt["round_map"]["Phi"][i]) if c["text"] != "0"]
    off = alt["round_map"]["psi"][i]["latex"]
    line = " + ".join(terms) + ("" if off == "0" else (" " if off.startswith("-") or not terms else " + ") + off)
    return line or "0"


def gallery_checks() -> list[tuple[str, bool]]:
    """R1's V1 reads the gallery of random protocols (theory.protocol.random_gallery) through its compiled
    instances; these checks read the rest of each entry: ``values`` (the numbers its page and figure use) name
    exactly the free symbols of the symbolic protocol, and substituted there give the instance's law exactly (same
    agents, alternatives and labels, no symbol left); keys are unique and ``entry`` finds each (KeyError
    otherwise); and the group chat's chain at another ``stay`` (1/3) is the documented one: after (i hears j)
    the next speaker hears i, j with probability ``stay``, the third agent with ``1 - stay``."""
    import dataclasses

    import sympy as sp

    from theory.protocol import random_gallery as RG

    def law(rs) -> list:
        return [sp.sympify(x) for x in (rs.probabilities if not rs.is_markov else [y for r in rs.P for y in r])]

    out = []
    entries = RG.entries()
    keys = [e.key for e in entries]
    out.append(("gallery keys unique, entry(key) finds each", len(set(keys)) == len(keys)
                and RG.entry(keys[-1]) == entries[-1] and RG.entry(keys[1]) == entries[1]
                and RG.entry("".join(list(keys[2]))) == entries[2]))  # a key built at run time, not the literal
    try:
        RG.entry("no such protocol")
        out.append(("gallery: an unknown key raises KeyError", False))
    except KeyError:
        out.append(("gallery: an unknown key raises KeyError", True))
    try:  # an entry is a value: frozen (shared by every page and claim that reads it)
        entries[0].values = {}  # type: ignore[misc]
        out.append(("gallery entries are frozen", False))
    except dataclasses.FrozenInstanceError:
        out.append(("gallery entries are frozen", True))
    for e in entries:
        symbolic, exact = law(e.rspec), law(e.instance)
        free = set().union(*[x.free_symbols for x in symbolic])
        subs = {sp.Symbol(k): sp.Rational(str(v)) for k, v in e.values.items()}
        out.append((f"{e.key}: values name the protocol's symbols", set(map(str, free)) == set(e.values)))
        out.append((f"{e.key}: the instance is the protocol at its values", len(symbolic) == len(exact)
                    and all(sp.expand(a.subs(subs) - b) == 0 for a, b in zip(symbolic, exact))
                    and not any(b.free_symbols for b in exact)
                    and (e.rspec.names, e.rspec.alternatives, e.rspec.labels, e.rspec.is_markov)
                    == (e.instance.names, e.instance.alternatives, e.instance.labels, e.instance.is_markov)))
    stay = sp.Rational(1, 3)
    rs = RG.group_chat(stay)
    pairs = [tuple(lab.split(" hears ")) for lab in rs.labels]
    want = [[stay if (l, lj) == (j, i) else (1 - stay if lj == i and l not in (i, j) else 0) for (l, lj) in pairs]
            for (i, j) in pairs]
    # each alternative (i hears j) is i's reply to j's message: Phi[i][j] = M_i, Phi[i][x] = 0 otherwise, the
    # others' rows the identity (round maps composed from the phases, no elimination)
    from theory.core.algebra import from_poly
    from theory.protocol.random_compiler import compile_random

    rc = compile_random(RG.group_chat(), derive_mean=False)
    ok = True
    for k, (i, j) in enumerate(pairs):
        for a, x in enumerate(rs.names):
            for b, y in enumerate(rs.names):
                want_ab = (sp.Symbol(f"M_{x}", commutative=False) if (x, y) == (i, j) else 0) if x == i else \
                    (1 if x == y else 0)
                ok = ok and from_poly(rc.Phi[k][a][b]) == want_ab
    out.append(("group chat: alternative (i hears j) is i's reply to j (round maps)", ok))
    out.append(("group chat at stay = 1/3: the documented chain", [list(r) for r in rs.P] == want
                and len(pairs) == 6 and all(len(set(p)) == 2 for p in pairs)))
    return out
