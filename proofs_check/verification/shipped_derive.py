"""VS for ``a2ad derive --protocol``: the printed derivation re-evaluated numerically (issue 22, item 4).

For a config, the command runs in every format (json, text, latex, macros). The plain-text expressions
of the JSON document (round map blocks, offsets, named definitions and inverses ``Q_k``, fixed points,
residuals, rate blocks and the rate's root) and the ``z*_X`` / ``e_X`` lines of the text format are
parsed by the small grammar below (``+ - * / ** ^-1``, parentheses, ``Matrix([[..], ..])``; no eval,
no sympify) and evaluated at the config's agents, then compared with the independent references
(:mod:`proofs_check.verification.shipped_reference`: the probed round map, simulated rounds, its
spectral radius). The LaTeX and macros outputs must state the rate exactly as the JSON does, and the
statement must carry the root ``^{1/p}`` iff the power ``p`` that the numbers confirm is > 1.
Protocols checked: the gallery's (P2-P5), random ones with weights of any sign not summing to 1, and
a dense one (the compiler's named Schur path, with ``Phi_{i,j}``, ``r_{i,j}``, ``U^{(k)}`` definitions).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_form, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, Ledger, _instances, residual_rel
from proofs_check.verification.shipped_can import check_can
from proofs_check.verification.shipped_can6 import check_can6
from proofs_check.verification.shipped_canon import check_canonical
from proofs_check.verification.shipped_derive_b import check_printed, document_form

__all__ = ["Evaluator", "GALLERY", "DENSE", "KAPPA", "SEEDED", "STUBBORN", "derive_method"]

# Gallery protocols as CONFIG.json rounds (P2 simultaneous, P3 repeated speaker, P4 anchored, P5 debate).
GALLERY = {
    "P2": [{"A": {"B": 1.0}, "B": {"A": 1.0}}],
    "P3": [{"A": {"B": 1.0}}, {"A": {"A": 1.0}}, {"B": {"A": 1.0}}],
    "P4": [{"A": {"A": 0.3, "B": 0.7}}, {"B": {"A": 1.0}}],
    "P5": [{"A": {"B": 0.5, "C": 0.5}}, {"B": {"A": 0.5, "C": 0.5}}, {"C": {"A": 0.5, "B": 0.5}}],
}
# A dense protocol of 4 agents (the one of examples/dense_protocol.json): derived on the Schur path.
DENSE = [{"A": {"C": 1.0}}, {"A": {"B": 0.15, "D": 0.59, "C": 0.26}},
         {"B": {"C": 0.62, "B": 0.38}, "C": {"A": -0.06}, "D": {"A": 1.01}, "A": {"C": 0.01, "B": 0.6, "A": 0.39}},
         {"A": {"B": 0.59}, "C": {"A": 0.03, "D": 0.28, "B": 0.48, "C": 0.21}, "D": {"C": 0.42, "B": 0.09, "A": 0.49}}]

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<matrix>Matrix\()"
                    r"|(?P<func>transpose\()"
                    r"|(?P<name>w\^\*_[A-Za-z0-9]+|[A-Za-z][A-Za-z0-9]*(?:\^\{\(\d+\)\})?(?:_\{[^}]*\}|(?:_[A-Za-z0-9]+)+)?)"
                    r"|(?P<op>\*\*|\^-1|\^T|[-+*/()\[\],;]))")


class Evaluator:
    """Evaluates the derivation's plain-text expressions at concrete matrices (numpy), names resolved in
    ``env`` (arrays) or, lazily, in ``texts`` (name -> expression; ``inverse`` names are inverted)."""

    def __init__(self, d: int, env: dict[str, np.ndarray], texts: dict[str, str], inverse: set[str]):
        self.d, self.env, self.texts, self.inverse = d, dict(env), texts, inverse

    def value(self, name: str):
        if name not in self.env:
            if name not in self.texts:
                raise ValueError(f"unknown name {name!r} in the derivation")
            v = self.eval(self.texts[name])
            self.env[name] = np.linalg.inv(self._mat(v)) if name in self.inverse else v
        return self.env[name]

    def eval(self, text: str):
        saved = getattr(self, "toks", None), getattr(self, "pos", 0)  # a name resolved lazily parses its own text
        self.toks, self.pos = _tokens(text), 0
        try:
            out = self._expr()
            if self.pos != len(self.toks):
                raise ValueError(f"unparsed tail {self.toks[self.pos:]!r} in {text[:80]!r}")
        finally:
            self.toks, self.pos = saved
        return out

    # grammar: expr := ['+'|'-'] term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    # unary := '-' unary | power ; power := atom ('**' int | '^-1' | '^T')* ; atom := num | name | '(' expr ')' | matrix
    def _peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else (None, None)

    def _take(self, op=None):
        kind, val = self._peek()
        if op is not None and val != op:
            raise ValueError(f"expected {op!r}, got {val!r}")
        self.pos += 1
        return kind, val

    def _mat(self, v):
        return v * np.eye(self.d) if np.isscalar(v) else v

    def _add(self, a, b):
        if np.isscalar(a) and np.isscalar(b):
            return a + b
        if np.isscalar(a) or np.isscalar(b):  # a scalar beside a matrix is that multiple of I
            return self._mat(a) + self._mat(b)
        return a + b

    def _expr(self):
        sign = 1.0
        if self._peek()[1] in ("+", "-"):
            sign = -1.0 if self._take()[1] == "-" else 1.0
        out = sign * self._term()
        while self._peek()[1] in ("+", "-"):
            s = -1.0 if self._take()[1] == "-" else 1.0
            out = self._add(out, s * self._term())
        return out

    def _term(self):
        out = self._unary()
        while self._peek()[1] in ("*", "/"):
            op = self._take()[1]
            rhs = self._unary()
            if op == "/":
                if not np.isscalar(rhs):
                    raise ValueError("division by a matrix")
                out = out / rhs
            else:
                out = out * rhs if (np.isscalar(out) or np.isscalar(rhs)) else out @ rhs
        return out

    def _unary(self):
        if self._peek()[1] == "-":
            self._take()
            return -self._unary()
        return self._power()

    def _power(self):
        out = self._atom()
        while self._peek()[1] in ("**", "^-1", "^T"):
            op = self._take()[1]
            if op == "^T":
                out = out if np.isscalar(out) else out.T
                continue
            if op == "^-1":
                out = 1.0 / out if np.isscalar(out) else np.linalg.inv(out)
                continue
            neg = self._peek()[1] == "-"
            if neg:
                self._take()
            kind, val = self._take()
            n = -int(val) if neg else int(val)
            out = out ** n if np.isscalar(out) else np.linalg.matrix_power(out, n)
        return out

    def _atom(self):
        kind, val = self._take()
        if kind == "num":
            return float(val)
        if kind == "name":
            return 1.0 if val == "Id" else self.value(val)  # Id: the identity (a scalar 1 beside matrices)
        if val == "(":
            out = self._expr()
            self._take(")")
            return out
        if val == "[":  # a block matrix [a, b; c, d]
            rows = [[self._expr()]]
            while self._peek()[1] in (",", ";"):
                if self._take()[1] == ";":
                    rows.append([])
                rows[-1].append(self._expr())
            self._take("]")
            return np.block([[self._mat(x) for x in row] for row in rows])
        if kind == "func":  # transpose(X)
            out = self._expr()
            self._take(")")
            return out if np.isscalar(out) else out.T
        if kind == "matrix":
            self._take("[")
            rows = [self._row()]
            while self._peek()[1] == ",":
                self._take()
                rows.append(self._row())
            self._take("]")
            self._take(")")
            return np.block([[self._mat(x) for x in row] for row in rows])
        raise ValueError(f"unexpected {val!r}")

    def _row(self):
        self._take("[")
        row = [self._expr()]
        while self._peek()[1] == ",":
            self._take()
            row.append(self._expr())
        self._take("]")
        return row


def _plain(name: str) -> str:
    """A name's plain spelling: ``Phi_{A,B}`` -> ``Phi_A_B``, ``U^{(1)}_{C,D}`` -> ``U_1_C_D``."""
    return re.sub(r"\^\{\((\d+)\)\}", r"_\1", name).replace("_{", "_").replace(",", "_").replace("}", "")


def _latex_block(tex: str, head: str) -> str | None:
    """The equation after ``head`` in the LaTeX document, its line breaks removed (None when absent)."""
    i = tex.find(head)
    if i < 0:
        return None
    body = tex[i + len(head):tex.find(r"\end{align*}", i)]
    return " ".join(body.replace("\\\\", " ").replace(r"&\quad", " ").split())


def _tokens(text: str):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read {text[pos:pos + 20]!r}")
        kind = str(m.lastgroup)  # exactly one named group matched
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _transfers(inst: ref.Instance) -> np.ndarray:
    """Each agent's per-turn transfer M_i (its s GD steps applied to the basis; no closed form)."""
    d, out = inst.d, []
    for i in range(inst.K):
        H, G = inst.H[i], inst.Gamma[i]
        cols = []
        for k in range(d):
            w = np.eye(d)[k]
            for _ in range(inst.steps[i]):
                w = w - G @ (H @ w)  # the linear part of the GD step
            cols.append(w)
        out.append(np.stack(cols, axis=1))
    return np.array(out)


def _instance_with(rng: np.random.Generator, rounds: list[dict],
                   dims: tuple[int, int] = (1, 4)) -> tuple[ref.Instance, float]:
    """GD agents of a random dimension in ``[dims[0], dims[1])`` under ``rounds`` with a rate in [0.02, 0.9]."""
    names = sorted({n for ph in rounds for lst, row in ph.items() for n in (lst, *row)})
    for _ in range(500):
        base = ref.random_instance(rng, len(names), int(rng.integers(*dims)), False)
        inst = ref.Instance(tuple(names), base.H, base.target, base.Gamma, base.scalar_gamma, base.steps,
                            base.initial, tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                                for ph in rounds))
        rho = ref.rate(inst)
        if 0.02 <= rho <= 0.9:
            return inst, rho
    raise RuntimeError("no stable instance of the protocol")


def check_derivation(ledger: Ledger, inst: ref.Instance, rho: float, printed: dict[str, cli.Printed],
                     files: dict[str, str], stem: str = "config") -> None:
    """Every format's output for one config against the references."""
    for fmt, pr in printed.items():
        ledger.require("exit status", pr.status == 0, f"derive --format {fmt} exit {pr.status}: {pr.stderr[:120]}")
    try:
        doc = printed["json"].json()
    except ValueError:
        ledger.require("json", False, "derive --format json printed no JSON")
        return
    d, names = inst.d, list(inst.names)
    M = _transfers(inst)
    env = {}
    for k, n in enumerate(names):
        env.update({f"M_{n}": M[k], f"K_{n}": np.eye(d) - M[k], f"w^*_{n}": inst.target[k].reshape(d, 1),
                    f"w_{n}_star": inst.target[k].reshape(d, 1)})  # both spellings of the printed text
    texts = {e["text_name"]: e["text"] for e in doc.get("definitions", [])}
    texts.update({e["text_name"]: e["text"] for e in doc.get("inverses", [])})
    texts.update({e["text_name"]: e["text"] for e in doc.get("named_factors", [])})  # the canonical form's S_k
    texts.update({_plain(k): v for k, v in list(texts.items())})  # Phi_{A,B} is also written Phi_A_B
    ev = Evaluator(d, env, texts, {e["text_name"] for e in doc.get("inverses", [])})
    Phi_ref, r_ref = ref.probed_round_map(inst)
    z = ref.settled(inst, rho)

    def safe(text):
        try:
            return ev.eval(text)
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
            ledger.require("parse", False, f"cannot evaluate {text[:60]!r}: {exc}")
            return None

    rel = lambda a, b: (float(np.linalg.norm(np.asarray(a, dtype=float) - b) / max(float(np.linalg.norm(b)), 1e-300))  # noqa: E731
                        if a is not None and np.shape(a) == np.shape(b) else math.inf)
    idx = {n: k for k, n in enumerate(names)}
    rm = doc["round_map"]
    Phi = np.zeros_like(Phi_ref)
    for i, n in enumerate(names):
        for j in range(len(names)):
            v = safe(rm["Phi"][i][j]["text"])
            Phi[i * d:(i + 1) * d, j * d:(j + 1) * d] = ev._mat(v) if v is not None else np.nan
    ledger.add("round map Phi", rel(Phi, Phi_ref), FLOAT_BAR)
    r = np.concatenate([np.reshape(safe(rm["r"][i]["text"]), -1) for i in range(len(names))])
    ledger.add("round map r", rel(r, r_ref), FLOAT_BAR)
    for n, e in doc["agents"].items():
        k = idx[n]
        ledger.add("fixed_point", residual_rel(safe(e["fixed_point"]["text"]), z[k], 0.0), FLOAT_BAR)
        for field, key in (("residual", "text"), ("residual (canonical)", "canonical_text")):
            if key in e["residual"]:
                ledger.add(field, residual_rel(safe(e["residual"][key]), z[k], inst.target[k]),
                           FLOAT_BAR)
    cr = doc["contraction_rate"]
    p = int(cr["power"])
    blocks = [safe(b["text"]) for b in cr["blocks"]]
    got = max(float(np.max(np.abs(np.linalg.eigvals(ev._mat(b))))) for b in blocks) ** (1.0 / p) \
        if all(b is not None for b in blocks) else math.nan
    ledger.add("rate (blocks, power)", abs(got - rho) / rho, FLOAT_BAR)
    statement = cr["latex"]
    root = f"^{{1/{p}}}"
    # every block's spectral radius carries the root (a max over blocks ends in \right\}, not in the root)
    ledger.require("rate statement root", statement.count(root) == len(blocks) if p > 1 else "^{1/" not in statement,
                   f"rate statement {statement[-40:]!r} for power {p} and {len(blocks)} block(s)")
    if "latex" in files:
        shown = (doc.get("typeset") or {}).get("contraction_rate") or statement  # long numbers named kappa_k
        ledger.require("latex states the rate", shown in files["latex"], "the LaTeX rate differs from JSON's")
        # the LaTeX document's fixed points and residuals are the JSON's (its terms, or its "typeset" forms)
        for n in doc["agents"]:
            for part, head in (("fixed_point", f"z^*_{{{n}}} &= "),
                               ("residual", f"e_{{{n}}} = z^*_{{{n}}} - w^*_{{{n}}} &= ")):
                ledger.require("latex fixed points and residuals", _latex_block(files["latex"], head)
                               == document_form(doc, part, n), f"LaTeX {head.strip()} differs from JSON's")
    if "macros" in files:
        ledger.require("macros state the rate", "Rate}{" + statement + "}" in files["macros"],
                       "the macros' rate differs from JSON's")
    # the noisy round's covariance equations: the stationary covariance of the instance with random reply
    # noise S_i (series of probed rounds, no Lyapunov solver) must satisfy each printed V[i,j] = rhs
    if doc.get("lyapunov"):
        rng = np.random.default_rng(len(names) * 1000 + d)
        Ss = []
        for _ in names:
            E = rng.standard_normal((d, d))
            Ss.append(E @ E.T / d)
        cs = [inst.target[k] - M[k] @ inst.target[k] for k in range(len(names))]
        V, _, _ = ref.stationary_covariance(list(M), cs, Ss, inst.phases())
        blk = lambda a, b: V[a * d:(a + 1) * d, b * d:(b + 1) * d]  # noqa: E731
        cov = {}
        for a, na in enumerate(names):
            cov[f"V_{na}"], cov[f"S_{na}"] = blk(a, a), Ss[a]
            for b, nb in enumerate(names):
                cov[f"V_{{{na},{nb}}}"] = cov[f"V_{na}_{nb}"] = blk(a, b)
        cev = Evaluator(d, {**env, **cov}, texts, ev.inverse)
        for key, e in doc["lyapunov"].items():
            a, b = (idx[x] for x in key.split(","))
            try:
                got = cev._mat(cev.eval(e["text"]))
            except (ValueError, np.linalg.LinAlgError, KeyError, IndexError) as exc:
                ledger.require("parse", False, f"cannot evaluate lyapunov {key}: {exc}")
                continue
            ledger.add("lyapunov equations", rel(got, blk(a, b)), FLOAT_BAR)
    # the text format's fixed point and residual lines
    for line in (printed["text"].stdout.splitlines() if "text" in printed else []):
        m = re.match(r"^(z\*_|e_|z_)([A-Za-z0-9]+?)(_star)? = (?:\S+ - \S+ = )?(.*)$", line)
        if m and m.group(2) in idx and (m.group(1) != "z_" or m.group(3)):
            k = idx[m.group(2)]
            offset = 0.0 if m.group(1) in ("z*_", "z_") else inst.target[k]
            ledger.add("text format z*/e", residual_rel(safe(m.group(4)), z[k], offset), FLOAT_BAR)
    check_canonical(ledger, inst, doc, ev)  # the canonical form's shape (docs/protocol.rst)
    check_can(ledger, inst, doc, ev)  # its chain's labels; with P2, protocols the gallery does not reach
    check_can6(ledger, inst, doc, ev)  # with P2: symbolic weights, EXTRA6; with P4: its pivot proof
    from proofs_check.verification.shipped_tyd import check_typeset  # the typeset form: signs, balance, rate
    check_typeset(ledger, files, doc, (inst, z, Phi_ref, r_ref, M, Evaluator))
    from proofs_check.verification.shipped_disp import check_display  # the typeset widths and what they decide
    check_display(ledger, doc, inst)
    from proofs_check.verification.shipped_typ import check_typ  # kappa constants, check items, term widths
    check_typ(ledger, files, doc)
    from proofs_check.verification.shipped_typ6 import check_typ6  # the documented layout rules and widths
    check_typ6(ledger, files, doc)
    check_printed(ledger, inst, rho, printed, files, doc, M, Phi_ref, r_ref, z, stem, Evaluator)
    shipped_form.check_form(ledger, doc, stem)  # the written form (K_j, Id, text/macros structure)


# A stubborn agent: A hears only itself with weight 1, so its residual is 0 (printed "0", no gap of C3) while B's
# is M_B (w*_A - w*_B); every format must print both, and the checks compare a vanishing residual on |z|'s scale.
STUBBORN = [{"A": {"A": 1.0}}, {"B": {"A": 1.0}}]
# Long products of weights: B's residual carries a coefficient of more than MAX_DIGITS digits, which the LaTeX
# document names kappa_k (the JSON's "latex" field writes it out): the document's residual is the JSON's typeset form.
KAPPA = [{"A": {"A": 0.000128, "B": 2.0}, "B": {"A": -0.7315, "B": 0.30131}}]
# Random protocols of the full profile's other seeds on which the derive checks once failed: a gap coefficient
# X (I - M_j) whose X has words ending in M_j, printed without K_j (a package bug, theory.protocol.report._pretty);
# a zero block before a rate matrix's row end read as a coefficient 0; long numbers named kappa_k in the typeset
# round map and rate, measured as written out (three false failures of the checks); a weight 0 printed in a phase.
# The full profile derives them.
SEEDED = {"K_j form": [{"A": {"B": -0.241, "C": 0.06}, "C": {"B": 0.848}},
                       {"A": {"B": -0.177}, "B": {"A": -0.118, "B": -0.007}, "C": {"A": 0.898, "C": 0.105}}],
          "zero block": [{"B": {"B": 0.917}}, {"B": {"B": 0.886}, "C": {"A": 0.166, "C": 0.52}},
                         {"A": {"A": -0.271, "B": -0.177}}],
          "named widths": [{"B": {"A": -0.4, "B": 0.502}}, {"A": {"A": 0.995, "B": 0.785}},
                           {"A": {"A": -0.157, "B": 0.628}, "B": {"B": 0.495}}],
          "named rate": [{"B": {"B": 0.757}, "C": {"A": -0.306}}, {"C": {"C": 0.278}},
                         {"A": {"A": 0.383, "C": 0.314}, "B": {"A": -0.166, "B": 0.664, "C": 0.124}}],
          "zero block row": [{"A": {"B": 0.186}, "B": {"B": 0.125}, "C": {"A": -0.116, "B": 0.171, "C": 0.797}}],
          # a weight -0.0: the phase printed "+ 0 m_{C}" (package fix: display.phase_item skips weight 0)
          "zero weight": [{"A": {"B": 0.875}, "B": {"A": -0.352}, "C": {"A": 0.256, "C": -0.108}},
                          {"A": {"A": -0.197, "B": 0.483, "C": 0.03}, "B": {"A": 0.561}},
                          {"B": {"A": 0.55, "C": -0.0}}]}
DERIVE_DIMS = (2, 4)  # the named protocols' instances: d in {2, 3}
FORMATS = ("json", "text", "latex", "macros")
QUICK_FORMATS = ("json", "latex")  # each format compiles the protocol again: quick reads the two that carry
# every expression (json) and the typeset rate statement (latex)


def derive_method(protocols: dict[str, list[dict]], random_protocols: int = 0, seed_offset: int = 0,
                  every_format: bool = False, chains: tuple[str, ...] = (),
                  formats: tuple[str, ...] = QUICK_FORMATS, full_protocols: dict[str, list[dict]] | None = None):
    """VS: ``a2ad derive --protocol`` on the named protocols (and, in the full profile, ``random_protocols``
    random ones, K 2..3, weights of any sign), each re-evaluated at a random stable instance. Every format
    in the full profile or with ``every_format``; ``formats`` (json and latex unless given) otherwise.
    ``full_protocols``: named protocols derived in the full profile only. ``chains``: claims whose printed
    derivation chains (``a2ad derive --claims``, :mod:`theory.derivations`) must hold step by step, so a
    wrong chain fails verify and not only the print."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + 7700 + seed_offset)
        # d >= 2: in one dimension every transfer commutes, and a product printed in the wrong order would pass
        cases = [_instance_with(rng, rounds, DERIVE_DIMS) for rounds in protocols.values()]
        full = profile.name == "full"
        if random_protocols and full:
            cases += _instances(rng, random_protocols, (2, 3), True)
        if full and full_protocols:  # heavier named protocols, in the full profile only
            cases += [_instance_with(rng, rounds) for rounds in full_protocols.values()]
        shown: tuple[str, ...] = FORMATS if full or every_format else formats
        ledger = Ledger(instances=len(cases))
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [inst.config() for inst, _ in cases])
            for (inst, rho), path in zip(cases, paths):
                out: dict[str, str] = {f: str(Path(tmp) / f"{Path(path).stem}.{f}.tex") for f in ("latex", "macros")
                                       if f in shown}
                argvs: dict[str, list[str]] = {
                    **{f: ["derive", "--protocol", path, "--format", f] for f in ("json", "text") if f in shown},
                    **{f: ["derive", "--protocol", path, "--format", f, "--out", o, "--force"] for f, o in out.items()}}
                printed = dict(zip(argvs, cli.run_commands(list(argvs.values()))))
                files = {f: Path(o).read_text() if Path(o).exists() else "" for f, o in out.items()}
                check_derivation(ledger, inst, rho, printed, files, Path(path).stem)
        if chains:
            from theory import derivations

            for claim in chains:
                bad = derivations.failed_steps(claim)
                ledger.require(f"{claim} derivation chains", not bad, "; ".join(bad)[:200])
            from proofs_check.verification.shipped_disp import check_chain_shapes  # one shape on both sides
            check_chain_shapes(ledger, chains)
        what = ", ".join([*protocols, *(full_protocols or {} if full else {})]) + (
            f" and {random_protocols} random protocols" if random_protocols and full
                                       else "") + (f"; derivation chains of {', '.join(chains)}" if chains else "")
        return ledger.outcome(f"a2ad derive --protocol ({', '.join(shown)}) on {what}: every printed "
                              "expression evaluated vs the probed round map, simulated fixed point and rate")
    return method
