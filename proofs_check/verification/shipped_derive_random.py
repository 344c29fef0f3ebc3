"""VS for ``a2ad derive --protocol`` on a RANDOM protocol: the printed derivation re-evaluated numerically.

A config with ``protocol.random`` (independent draws, or a Markov chain of alternatives) over GD agents of
dimension d >= 2, drawn at random from the profile's seed (mean-square rate in [RATE_MIN, RATE_MAX]), is
derived by the real command in json and latex (every format, json, text, latex and macros, beyond
``--profile quick``). Every object the JSON prints is evaluated at the instance by the plain-text grammar of
:class:`proofs_check.verification.shipped_derive.Evaluator` (names: the agents' per-turn transfers ``M_i``
probed from their GD steps, the targets, the named inverses ``Q_k`` and named blocks from the document) and
compared with a reference computed here without the package:

- each alternative's round map ``Phi_k``, ``psi_k`` against the round map probed from simulated rounds of the
  real GD agents (:func:`shipped_reference.probed_round_map`); its phases, label, probability (or the chain's
  row ``next``) against the config; its stationary probability against ``pi P = pi`` solved by LAPACK;
- the stationary mean and its residual in the gaps at the config's targets, and as COEFFICIENTS: each printed
  expression is linear in the targets, so evaluated at ``w*_j = I`` (the others 0) it gives the weight
  ``G_(i,j)`` of ``w*_j`` in ``mu_i``, compared with the reference's (targets set to unit vectors); the flag
  ``weights_sum_to_one`` against ``sum_j G_(i,j) = I``;
- the moments solved directly, uncentred, from the probed maps: ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j
  psi_j)``, ``Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + Phi_j q_j psi_j^T + psi_j q_j^T Phi_j^T + pi_j (psi_j
  psi_j^T + N_j))`` (independent draws: every row of P is p), ``mu = sum_l q_l``, ``C = sum_l Q_l - mu mu^T``,
  with ``N_k`` the end-of-round covariance of the noisy agents' replies (``noise`` in the config; each reply
  kicked and propagated through the probed agents, :func:`shipped_random._round_noise`);
  :mod:`numerics.protocol.random_moments` and the theory code are never called;
- the deviations ``d_k`` (at the reference mean and at random values of the ``mu`` letters: the printed
  expression must be ``Phi_k mu + psi_k - mu`` for every mu);
- every second-moment equation ``C[a,b] = ...`` (``Q_l[a,b] = ...``): it must hold at the reference
  moments, and its right side at random symmetric moments must be the documented Stein map of the probed
  round maps (so a wrong term is caught even where the fixed point hides it);
- the printed rate statements and the Stein equation (LaTeX strings, one statement per ``\\qquad``) are
  parsed and evaluated (:class:`Formula`: sums over the alternatives, Kronecker products, block operators,
  the spectral radius): the rates against the reference's block operators, the equations at the reference
  moments with the printed definition of ``d_k``; the text format's rate sentence likewise;
- the hypotheses (each named inverse invertible at the instance, the rate and the chain), every check proved.

The other formats must state the same objects: the text format's round-map, mean, residual, deviation,
definition, inverse and second-moment lines (evaluated, or equal to the JSON's text); the LaTeX document's
alternatives, rate statement, Stein equation, round maps, named blocks, inverses, means, residuals and
deviations (the JSON's LaTeX terms); the macros' bodies (rates, Stein, named blocks, inverses, means,
residuals). Not in every format by design: the second-moment equations are in json and text only, the
round maps and deviations are not macros. Package extension (issue 22, item 4).
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, Ledger, rel
from proofs_check.verification.shipped_derive import Evaluator, _latex_block, _transfers
from proofs_check.verification.shipped_randb_labels import check_labels
from proofs_check.verification.shipped_random import _round_noise
from proofs_check.verification.shipped_rrep import check_rrep

__all__ = ["random_derive_method", "reference", "Formula", "INDEPENDENT", "GOSSIP", "MARKOV", "NAMED", "QUICK_CASES",
           "FULL_CASES"]

# Bars (reasons): every printed expression is evaluated in float64 at d <= 3 with named inverses of condition
# below INVERSE_COND, against a reference of dense solves of condition ~1 / (1 - rate^2) <= 1 / (1 - 0.9^2);
# both agree to ~1e-13 relative. FLOAT_BAR (1e-9, the V4 bar) leaves 1e4 of headroom, while a flipped sign,
# a swapped product, a dropped term or a wrong probability moves an object by >= 1e-3 relative.
DERIVE_RANDOM_BAR = FLOAT_BAR
# The instances are kept when the reference mean-square rate is in this range: the moments converge
# (well conditioned solves) and a rate is not hidden near 0.
RATE_MIN, RATE_MAX = 0.05, 0.9
# A pivot whose inverse is printed (Q_k) is numerically invertible at the instance: condition below this
# (a pivot singular at the instance would make the printed mean meaningless there).
INVERSE_COND = 1e8
# Random points at which the printed maps (d_k, the second-moment right sides) are compared with the
# documented ones: two, each a generic point (a wrong term vanishes at one only on a measure-zero set).
MAP_POINTS = 2

# Cases: (label, K, alternatives as CONFIG.json protocol.random; "w" a weight and "p" a probability drawn per
# instance). Independent alternatives carry "probability", Markov ones "name" and "next". In quick two agents
# (the chain's mean expanded); beyond quick also three agents (independent gossip pairs; a chain of 8 written
# messages, which the compiler solves with named Schur blocks, theory/protocol/named_elimination.py).
INDEPENDENT = ("independent draws, A noisy", 2,
               [{"probability": "p", "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]},
                {"probability": "p", "rounds": [{"A": {"B": "w", "A": "w"}, "B": {"A": "w"}}]}], ("A",))
# gossip pairs averaging (every row's weights sum to 1: the residuals are in the gaps only, weights_sum_to_one)
GOSSIP = ("independent gossip pairs, A and C noisy", 3,
          [{"probability": "p", "rounds": [{"A": {"B": 0.5, "A": 0.5}, "B": {"A": 0.5, "B": 0.5}}]},
           {"probability": "p", "rounds": [{"B": {"C": 0.3, "B": 0.7}, "C": {"B": 0.6, "C": 0.4}}]},
           {"probability": "p", "rounds": [{"C": {"A": 1.0}}, {"A": {"C": 1.0}}]}], ("A", "C"))
# three alternatives: a chain of two is always reversible (pi_j P[j,l] = pi_l P[l,j]), so its rates could not
# tell P from its transpose
MARKOV = ("markov chain, B noisy", 2,
          [{"name": "x", "rounds": [{"A": {"B": 1.0}}], "next": {"y": "p", "z": "p"}},
           {"name": "y", "rounds": [{"B": {"A": "w"}}], "next": {"x": "p", "z": "p"}},
           {"name": "z", "rounds": [{"B": {"A": "w", "B": "w"}}], "next": {"x": "p", "y": "p", "z": "p"}}], ("B",))
NAMED = ("markov chain, named blocks", 3,
         [{"name": "a", "rounds": [{"A": {"B": 1.0}, "B": {"C": 1.0}}], "next": {"b": "p", "c": "p"}},
          {"name": "b", "rounds": [{"B": {"C": 1.0}, "C": {"A": 1.0}}], "next": {"c": "p", "d": "p"}},
          {"name": "c", "rounds": [{"C": {"A": 1.0}, "A": {"B": "w"}}], "next": {"a": "p", "d": "p"}},
          {"name": "d", "rounds": [{"A": {"C": 1.0}, "C": {"B": 1.0}}], "next": {"a": "p", "b": "p"}}], ())
QUICK_CASES = [INDEPENDENT, MARKOV]
FULL_CASES = [INDEPENDENT, MARKOV, GOSSIP, NAMED]


# ------------------------------------------------------------------------------------------- the reference
def _draw(rng: np.random.Generator, alts: list[dict]) -> list[dict]:
    """The case's alternatives with its placeholders drawn: weights "w" in [0.3, 1], probabilities "p" (two
    decimals, each row's summing to 1)."""
    def weight(x):
        return round(float(rng.uniform(0.3, 1.0)), 2) if x == "w" else x

    def law(keys: list) -> dict:
        raw = rng.uniform(0.2, 1.0, len(keys))
        p = np.round(raw / raw.sum(), 2)
        p[-1] = round(1.0 - float(p[:-1].sum()), 2)
        return {k: float(v) for k, v in zip(keys, p)}

    out = [{k: v for k, v in a.items() if k not in ("rounds", "next", "probability")} for a in alts]
    for a, o in zip(alts, out):
        o["rounds"] = [{lst: {s: weight(w) for s, w in row.items()} for lst, row in ph.items()} for ph in a["rounds"]]
        if "next" in a:
            o["next"] = law(list(a["next"]))
    if "probability" in alts[0]:
        for o, p in zip(out, law(list(range(len(alts)))).values()):
            o["probability"] = p
    return out


def _with(base: ref.Instance, rounds: list[dict], target: np.ndarray | None = None) -> ref.Instance:
    return dataclasses.replace(base, rounds=tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                                  for ph in rounds),
                               target=base.target if target is None else target)


def _law(alts: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(P, pi)`` from the config: rows = p for independent draws; pi solving pi P = pi, sum pi = 1."""
    if "probability" in alts[0]:
        p = np.array([float(a["probability"]) for a in alts])
        p = p / p.sum()
        return np.tile(p, (len(p), 1)), p
    names = [a["name"] for a in alts]
    P = np.array([[float(a["next"].get(n, 0.0)) for n in names] for a in alts])
    P = P / P.sum(axis=1, keepdims=True)
    m = len(names)
    pi = np.linalg.lstsq(np.vstack([P.T - np.eye(m), np.ones((1, m))]), np.r_[np.zeros(m), 1.0], rcond=None)[0]
    return P, pi


def _first_moment_operator(Phis: list, P: np.ndarray) -> np.ndarray:
    m, n = len(Phis), Phis[0].shape[0]
    A1 = np.zeros((m * n, m * n))
    for lo in range(m):
        for j in range(m):
            A1[lo * n:(lo + 1) * n, j * n:(j + 1) * n] = P[j, lo] * Phis[j]
    return A1


def reference(base: ref.Instance, alts: list[dict], noise: dict, weights: bool = True) -> dict:
    """Round maps probed from GD rounds, the law, the conditional moments solved directly, the rates, and the
    mean's weights ``G`` (K d x K d: block (i, j) the weight of w*_j in mu_i, from unit targets)."""
    K, d = base.K, base.d
    n = K * d
    maps = [ref.probed_round_map(_with(base, a["rounds"])) for a in alts]
    Phis, psis = [M for M, _ in maps], [r for _, r in maps]
    # N_k: the end-of-round covariance of the replies' noise, each reply kicked and propagated (shipped_random)
    Ss = [noise.get(x, np.zeros((d, d))) for x in base.names]
    Ns = [_round_noise(_with(base, a["rounds"]), Ss) if noise else np.zeros((n, n)) for a in alts]
    P, pi = _law(alts)
    m = len(alts)
    A1 = _first_moment_operator(Phis, P)
    A2 = np.zeros((m * n * n, m * n * n))
    for lo in range(m):
        for j in range(m):
            A2[lo * n * n:(lo + 1) * n * n, j * n * n:(j + 1) * n * n] = P[j, lo] * np.kron(Phis[j], Phis[j])

    def offsets(ps: list) -> np.ndarray:
        return np.concatenate([sum(P[j, lo] * pi[j] * ps[j] for j in range(m)) for lo in range(m)])
    q = np.linalg.solve(np.eye(m * n) - A1, offsets(psis)).reshape(m, n)
    b2 = np.concatenate([sum(P[j, lo] * (np.outer(Phis[j] @ q[j], psis[j]) + np.outer(psis[j], Phis[j] @ q[j])
                                         + pi[j] * (np.outer(psis[j], psis[j]) + Ns[j])) for j in range(m)).ravel()
                         for lo in range(m)])
    Q = np.linalg.solve(np.eye(m * n * n) - A2, b2).reshape(m, n, n)
    mu = q.sum(axis=0)
    out = {"Phi": Phis, "psi": psis, "N": Ns, "S": noise, "P": P, "pi": pi, "q": q, "Q": Q, "mu": mu,
           "C": Q.sum(axis=0) - np.outer(mu, mu),
           "rho_ms": float(np.max(np.abs(np.linalg.eigvals(A2)))) ** 0.5,
           "rho_mean": float(np.max(np.abs(np.linalg.eigvals(A1))))}
    if weights:  # psi is linear in the targets (a GD step is linear in (w, w*)): the mean at unit targets
        cols = []
        for c in range(n):
            t = np.zeros(n)
            t[c] = 1.0
            insts = [_with(base, a["rounds"], t.reshape(K, d)) for a in alts]
            ps = [ref._round(x, np.zeros((K, d)), x.phases()).reshape(n) for x in insts]  # one round from 0
            cols.append(np.linalg.solve(np.eye(m * n) - A1, offsets(ps)).reshape(m, n).sum(axis=0))
        out["G"] = np.stack(cols, axis=1)
    return out


def _instance(rng: np.random.Generator, K: int, alts: list[dict],
              noisy: tuple) -> tuple[ref.Instance, list[dict], dict]:
    """GD agents of dimension 2 or 3 and the case's weights, drawn until the mean-square rate is in range."""
    for _ in range(200):
        base = ref.random_instance(rng, K, int(rng.integers(2, 4)), False)
        noise = {x: _covariance(rng, base.d) for x in noisy}
        drawn = _draw(rng, alts)
        if RATE_MIN <= reference(base, drawn, noise, False)["rho_ms"] <= RATE_MAX:
            return base, drawn, reference(base, drawn, noise)
    raise RuntimeError("no mean-square stable instance of the random protocol")


def _covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    """A noise covariance with 3-decimal entries (exact in the JSON), positive definite (+ 0.01 I)."""
    E = rng.standard_normal((d, d)) * 0.2
    S = np.round(E @ E.T + 0.01 * np.eye(d), ref.DECIMALS)
    return np.triu(S) + np.triu(S, 1).T


def _config(base: ref.Instance, alts: list[dict], noise: dict) -> dict:
    cfg = base.config()
    for a in cfg["agents"]:
        if a["name"] in noise:
            a["noise"] = noise[a["name"]].tolist()
    cfg["protocol"] = {"random": alts}
    return cfg


# ------------------------------------------------------------------------ the printed formulas (LaTeX, text)
_FTOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z]+(?:_\{[^}]*\}|_[A-Za-z0-9])?)"
                     r"|(?P<op>\^T|\^H|_\{\w,\w\}|[-+#()\[\]<=,]))")
INDEX = "jkl"  # the index letters of the printed formulas (alternatives)


def _plain_formula(tex: str) -> list[str]:
    """A printed rate or Stein statement (LaTeX or the text format's words) in the grammar of :class:`Formula`,
    one string per statement."""
    s = re.sub(r"\\mathrm\{(\w+)\}", r"\1", tex)
    for a, b in ((r"\Big(", "("), (r"\Big)", ")"), (r"\big(", "("), (r"\big)", ")"), (r"\big[", "["),
                 (r"\big]", "]"), (r"\,", " "), (r"\otimes", "#"), ("(x)", "#"), ("^{T}", "^T"), ("^{1/2}", "^H"),
                 ("^(1/2)", "^H"), ("]_(l,j)", "]_{l,j}"), ("P_jl", "P_{jl}")):
        s = s.replace(a, b)
    s = re.sub(r"\\(rho|Phi|psi|pi|mu|sum)(?![A-Za-z])", r"\1", s)
    return [x.strip().rstrip(",").strip() for x in s.split(r"\qquad")]


class Formula:
    """Evaluates a printed statement ``LHS = RHS [< 1]`` at concrete values: juxtaposition is the product,
    ``#`` the Kronecker product, ``^T`` the transpose, ``^H`` the square root, ``rho(X)`` the spectral radius,
    ``sum_k X`` a sum over the alternatives (binding k in the next product), ``[X]_{l,j}`` the block operator
    with block (l, j) = X. A name with a subscript of index letters (``P_{jl}``, ``Phi_k``) is ``env[name]``
    indexed by the bound values."""

    def __init__(self, env: dict, m: int):
        self.env, self.m = env, m

    def parse(self, text: str):
        self.toks, self.pos = [], 0
        pos = 0
        while pos < len(text.rstrip()):
            mt = _FTOKEN.match(text, pos)
            if mt is None or mt.end() == pos:
                raise ValueError(f"cannot read {text[pos:pos + 20]!r}")
            kind = str(mt.lastgroup)
            self.toks.append((kind, mt.group(kind)))
            pos = mt.end()
        lhs = self._expr()
        self._take("=")
        rhs = self._expr()
        bound = None
        if self._peek() == "<":
            self._take()
            bound = float(self._take())
        if self.pos != len(self.toks):
            raise ValueError(f"unparsed tail {self.toks[self.pos:]!r}")
        return lhs, rhs, bound

    def _peek(self):
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def _take(self, want=None):
        if self.pos >= len(self.toks):
            raise ValueError("unexpected end")
        val = self.toks[self.pos][1]
        if want is not None and val != want:
            raise ValueError(f"expected {want!r}, got {val!r}")
        self.pos += 1
        return val

    def _expr(self):
        terms = [(-1.0 if self._peek() == "-" and self._take() else 1.0, self._term())]
        while self._peek() in ("+", "-"):
            terms.append((-1.0 if self._take() == "-" else 1.0, self._term()))
        return ("add", terms)

    def _term(self):
        out = self._factor()
        while self._peek() not in (None, "+", "-", ")", "]", "=", "<", ","):
            if self._peek() == "#":
                self._take()
                out = ("kron", out, self._factor())
            else:
                out = ("mul", out, self._factor())
        return out

    def _factor(self):
        out = self._atom()
        while self._peek() in ("^T", "^H"):
            out = ("T" if self._take() == "^T" else "sqrt", out)
        return out

    def _atom(self):
        kind, val = self.toks[self.pos]
        self.pos += 1
        if kind == "num":
            return ("num", float(val))
        if val == "(":
            out = self._expr()
            self._take(")")
            return out
        if val == "[":
            inner = self._expr()
            self._take("]")
            return ("block", inner, self._take())
        if kind == "name":
            base, _, sub = val.partition("_")
            sub = sub.strip("{}")
            if base == "sum":
                return ("sum", sub, self._term())
            if base == "rho" and not sub:
                self._take("(")
                out = self._expr()
                self._take(")")
                return ("rho", out)
            return ("name", base, sub)
        raise ValueError(f"unexpected {val!r}")

    def value(self, node, bind: dict):
        op = node[0]
        if op == "num":
            return node[1]
        if op == "add":
            out = None
            for s, t in node[1]:
                v = s * self.value(t, bind)
                out = v if out is None else out + v
            return out
        if op == "mul":
            a, b = self.value(node[1], bind), self.value(node[2], bind)
            return a * b if np.isscalar(a) or np.isscalar(b) else a @ b
        if op == "kron":
            a, b = self.value(node[1], bind), self.value(node[2], bind)
            return a * b if np.isscalar(a) or np.isscalar(b) else np.kron(a, b)
        if op == "T":
            v = self.value(node[1], bind)
            return v if np.isscalar(v) else v.T
        if op == "sqrt":
            return math.sqrt(self.value(node[1], bind))
        if op == "rho":
            return float(np.max(np.abs(np.linalg.eigvals(self.value(node[1], bind)))))
        if op == "sum":
            return sum(self.value(node[2], {**bind, node[1]: k}) for k in range(self.m))
        if op == "block":
            mt = re.fullmatch(r"_\{(\w),(\w)\}", node[2])
            if mt is None:
                raise ValueError(f"block subscript {node[2]!r}")
            r, c = mt.groups()
            return np.block([[np.atleast_2d(self.value(node[1], {**bind, r: a, c: b})) for b in range(self.m)]
                             for a in range(self.m)])
        if op == "name":
            return self.lookup(node[1], node[2], bind)
        raise ValueError(op)

    def lookup(self, base: str, sub: str, bind: dict):
        if sub and set(sub) <= set(INDEX) and all(ch in bind for ch in sub):
            v = self.env[base]
            for ch in sub:
                v = v[bind[ch]]
            return v
        key = f"{base}_{sub}" if sub else base
        if key not in self.env:
            raise KeyError(f"unknown name {key!r} (free index?)")
        return self.env[key]

    @staticmethod
    def free(node, bound: frozenset = frozenset()) -> set:
        """Index letters of ``node``'s names not bound by a sum or block (a statement's free index)."""
        op = node[0]
        if op == "name":
            return {ch for ch in node[2] if ch not in bound} if set(node[2]) <= set(INDEX) else set()
        if op == "sum":
            return Formula.free(node[2], bound | {node[1]})
        if op == "block":
            mt = re.fullmatch(r"_\{(\w),(\w)\}", node[2])
            return Formula.free(node[1], bound | set(mt.groups() if mt else ()))
        if op == "add":
            return set().union(*[Formula.free(t, bound) for _, t in node[1]])
        return set().union(*[Formula.free(x, bound) for x in node[1:] if isinstance(x, tuple)])


def check_statements(ledger: Ledger, label: str, statements: list[str], env: dict, m: int, what: str) -> None:
    """Each statement evaluated at the reference: ``name = ...`` with a name not in ``env`` is a definition
    (evaluated per index and put in env: the printed ``d_k`` feeds the printed Stein equation); a rate
    ``rho_x = ... < 1`` is compared with ``env[rho_x]``; an equation must hold (per free index)."""
    fm = Formula(dict(env), m)
    parsed = []
    for s in statements:
        try:
            parsed.append(fm.parse(s))
        except (ValueError, IndexError) as exc:
            ledger.require(f"{what} parsed", False, f"{label}: cannot read {s[:60]!r}: {exc}")
    defined = []
    for lhs, rhs, bound in parsed:  # definitions first
        if lhs[1][0][1][0] == "name" and len(lhs[1]) == 1:
            base, sub = lhs[1][0][1][1], lhs[1][0][1][2]
            if base not in fm.env and f"{base}_{sub}" not in fm.env and len(sub) == 1 and sub in INDEX:
                try:
                    fm.env[base] = [fm.value(rhs, {sub: k}) for k in range(m)]
                except (ValueError, KeyError, IndexError, np.linalg.LinAlgError) as exc:
                    ledger.require(f"{what} evaluated", False, f"{label}: {exc}")
                defined.append((lhs, rhs, bound))
    for lhs, rhs, bound in parsed:
        if any(lhs is x for x, _, _ in defined):
            continue
        free = sorted(Formula.free(lhs))
        try:
            for k in (range(m) if free else [None]):
                bind = {free[0]: k} if free else {}
                got, want = fm.value(rhs, bind), fm.value(lhs, bind)
                ledger.add(what, rel(got, want), DERIVE_RANDOM_BAR)
        except (ValueError, KeyError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            ledger.require(f"{what} evaluated", False, f"{label}: {exc}")
            continue
        if bound is not None:
            ledger.require(f"{what} condition", bound == 1.0 and fm.value(lhs, {}) < bound,
                           f"{label}: condition '< {bound}' at rate {fm.value(lhs, {})}")


# -------------------------------------------------------------------------------------- the document checks
def _blocks(X: np.ndarray, K: int, d: int, a: int, b: int) -> np.ndarray:
    return X[a * d:(a + 1) * d, b * d:(b + 1) * d]


def _symmetric(rng: np.random.Generator, n: int) -> np.ndarray:
    E = rng.standard_normal((n, n))
    return (E + E.T) / 2


def check_random_derivation(ledger: Ledger, label: str, base: ref.Instance, alts: list[dict], want: dict,
                            printed: dict[str, cli.Printed], files: dict[str, str], rng: np.random.Generator) -> None:
    """Every format's output for one random config against :func:`reference` (module text)."""
    for fmt, pr in printed.items():
        ledger.require("exit status", pr.status == 0, f"{label}: derive --format {fmt} exit {pr.status}: "
                       f"{pr.stderr[:120]}")
    doc = printed["json"].json_or_none()
    if not isinstance(doc, dict):
        ledger.require("json", False, f"{label}: derive --format json printed no JSON document")
        return
    K, d, names = base.K, base.d, list(base.names)
    n, m = K * d, len(alts)
    markov = "name" in alts[0]
    ledger.require("document", doc.get("kind") == "random protocol" and doc.get("law") ==
                   ("markov" if markov else "independent") and doc.get("agents") == names
                   and len(doc.get("alternatives", [])) == m, f"{label}: kind/law/agents/alternatives")
    if len(doc.get("alternatives", [])) != m or doc.get("agents") != names:
        return
    M = _transfers(base)
    col = lambda v: np.asarray(v, dtype=float).reshape(-1, 1)  # noqa: E731
    env = {}
    for k, x in enumerate(names):
        env.update({f"M_{x}": M[k], f"w_{x}_star": col(base.target[k]), f"mu_{x}": col(want["mu"][k * d:(k + 1) * d]),
                    f"S_{x}": want["S"].get(x, np.zeros((d, d)))})
    texts = {e["text_name"]: e["text"] for e in doc.get("definitions", [])}
    texts.update({e["text_name"]: e["text"] for e in doc.get("inverses", [])})
    inverse = {e["text_name"] for e in doc.get("inverses", [])}

    def evaluate(text: str, extra: dict | None = None, shape: tuple | None = None):
        """The printed expression's value (None, reported, when it cannot be read); with ``shape``, a scalar
        is that multiple of I (0: the zero block of that shape)."""
        ev = Evaluator(d, {**env, **(extra or {})}, texts, inverse)
        try:
            v = ev.eval(text)
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError, TypeError) as exc:
            ledger.require("parse", False, f"{label}: cannot evaluate {text[:60]!r}: {exc}")
            return None
        if shape is None or not isinstance(v, (float, int)):
            return v if shape is None or np.shape(v) == shape else None
        return np.zeros(shape) if v == 0 else (v * np.eye(shape[0]) if shape[0] == shape[1] else None)

    def num(text: str) -> float:
        v = evaluate(text)
        return float(v) if isinstance(v, (float, int)) else math.nan

    # -- the alternatives: label, phases, law, round maps, deviations
    for k, (a, e) in enumerate(zip(alts, doc["alternatives"])):
        ledger.require("alternative label", e.get("label") == a.get("name", str(k)), f"{label}: label {e.get('label')}")
        phases = [{lst: {s: num(w) for s, w in row.items()} for lst, row in ph.items()} for ph in e.get("phases", [])]
        ledger.require("alternative phases", phases == [{lst: {s: float(w) for s, w in row.items()}
                                                         for lst, row in ph.items()} for ph in a["rounds"]],
                       f"{label}: alternative {k} phases {e.get('phases')}")
        if markov:
            names_l = [x["name"] for x in alts]
            row = {x: num(v) for x, v in e.get("next", {}).items()}
            want_row = {x: float(want["P"][k, j]) for j, x in enumerate(names_l) if want["P"][k, j] != 0}
            ledger.require("chain row", set(row) == set(want_row), f"{label}: next {e.get('next')}")
            ledger.add("chain row values", max((abs(row.get(x, math.inf) - v) for x, v in want_row.items()),
                                               default=0.0), DERIVE_RANDOM_BAR)
        else:
            ledger.add("probability", abs(num(e["probability"]["text"]) - want["pi"][k]), DERIVE_RANDOM_BAR)
        ledger.add("stationary probability", abs(num(e["stationary_probability"]["text"]) - want["pi"][k]),
                   DERIVE_RANDOM_BAR)
        rm = e["round_map"]
        Phi = np.full((n, n), np.nan)
        for i in range(K):
            for j in range(K):
                v = evaluate(rm["Phi"][i][j]["text"], shape=(d, d))
                if v is not None:
                    Phi[i * d:(i + 1) * d, j * d:(j + 1) * d] = v
        ledger.add("round map Phi_k", rel(Phi, want["Phi"][k]), DERIVE_RANDOM_BAR)
        psi = [evaluate(rm["psi"][i]["text"], shape=(d, 1)) for i in range(K)]
        got = (np.concatenate([np.reshape(v, -1) for v in psi]) if all(v is not None for v in psi)
               else np.full(n, np.nan))
        ledger.add("round map psi_k", rel(got, want["psi"][k]), DERIVE_RANDOM_BAR)
        # d_k = Phi_k mu + psi_k - mu: at the reference mean and at random mu letters
        for point in range(1 + MAP_POINTS):
            mu = want["mu"] if point == 0 else rng.standard_normal(n)
            extra = {f"mu_{x}": col(mu[i * d:(i + 1) * d]) for i, x in enumerate(names)}
            dk = want["Phi"][k] @ mu + want["psi"][k] - mu
            for i, x in enumerate(names):
                v = evaluate(e["deviation"][x]["text"], extra, (d, 1))
                ledger.add("deviation d_k", rel(np.reshape(v, -1), dk[i * d:(i + 1) * d]) if v is not None
                           else math.inf, DERIVE_RANDOM_BAR)

    # -- the stationary mean and residuals, at the targets and as weights G_(i,j)
    if "fixed_points" not in doc:
        ledger.require("stationary mean", False, f"{label}: no fixed_points (notes: {doc.get('notes')})")
    else:
        G = want["G"]
        for i, x in enumerate(names):
            mu_i = want["mu"][i * d:(i + 1) * d]
            v = evaluate(doc["fixed_points"][x]["text"], shape=(d, 1))
            ledger.add("stationary mean", rel(np.reshape(v, -1), mu_i) if v is not None else math.inf,
                       DERIVE_RANDOM_BAR)
            r = doc["residuals"][x]
            v = evaluate(r["text"], shape=(d, 1))
            ledger.add("mean residual", rel(np.reshape(v, -1), mu_i - base.target[i]) if v is not None else math.inf,
                       DERIVE_RANDOM_BAR)
            for j, y in enumerate(names):  # w*_y = I, the others 0: the printed weight of w*_y in mu_x
                unit = {f"w_{z}_star": (np.eye(d) if z == y else np.zeros((d, d))) for z in names}
                Gij = _blocks(G, K, d, i, j)
                for part, target in (("fixed_points", Gij), ("residuals", Gij - (np.eye(d) if i == j else 0))):
                    v = evaluate(doc[part][x]["text"], unit, (d, d))
                    ledger.add(f"{part} weights G", rel(v, target) if v is not None else math.inf, DERIVE_RANDOM_BAR)
            sums_to_one = np.allclose(sum(_blocks(G, K, d, i, j) for j in range(K)), np.eye(d), atol=1e-9)
            # True claims the residual has no w*_i term (the weights sum to I); False only that it is printed
            ledger.require("weights_sum_to_one", isinstance(r.get("weights_sum_to_one"), bool)
                           and (sums_to_one or not r["weights_sum_to_one"]),
                           f"{label}: {x} weights_sum_to_one {r.get('weights_sum_to_one')}, reference {sums_to_one}")

    # -- hypotheses and checks
    invs = doc.get("inverses", [])
    hyp = [f"{e['text_name']} invertible" for e in invs] + ["mean-square rate < 1 for the covariance"] + \
        (["the chain irreducible and aperiodic"] if markov else [])
    ledger.require("hypotheses", doc.get("hypotheses") == hyp, f"{label}: hypotheses {doc.get('hypotheses')}")
    for e in invs:
        pivot = evaluate(e["text"], shape=(d, d))
        ledger.require("pivots invertible", pivot is not None and np.linalg.cond(pivot) < INVERSE_COND,
                       f"{label}: pivot {e['text_name']} singular at the instance")
    checks = doc.get("checks", [])
    ledger.require("checks proved", bool(checks) and all(c.get("holds") is True for c in checks),
                   f"{label}: checks {[c.get('label') for c in checks if c.get('holds') is not True][:3]}")
    check_labels(ledger, label, doc, alts, names, want, d)  # the list of proved checks vs the config

    # -- second-moment equations: at the reference moments, and as maps at random symmetric moments
    sm = doc.get("second_moment", {})
    want_keys = ({f"{l + 1},{x},{y}" for l in range(m) for i, x in enumerate(names) for y in names[i:]} if markov
                 else {f"{x},{y}" for i, x in enumerate(names) for y in names[i:]})
    ledger.require("second-moment keys", set(sm) == want_keys, f"{label}: second_moment keys {sorted(sm)[:6]}")
    P, pi, Phis, psis, Ns = want["P"], want["pi"], want["Phi"], want["psi"], want["N"]
    for point in range(1 + MAP_POINTS):
        if point == 0:
            Qs, qs, C, mu = want["Q"], want["q"], want["C"], want["mu"]
        else:
            Qs, qs = np.array([_symmetric(rng, n) for _ in range(m)]), rng.standard_normal((m, n))
            C, mu = _symmetric(rng, n), rng.standard_normal(n)
        extra = {f"mu_{x}": col(mu[i * d:(i + 1) * d]) for i, x in enumerate(names)}
        for ia, x in enumerate(names):
            for ib, y in enumerate(names):
                extra[f"V_{x}" if ia == ib else f"V_{x}_{y}"] = _blocks(C, K, d, ia, ib)
                for lo in range(m):
                    extra[f"Q_{lo + 1}_{x}_{y}"] = _blocks(Qs[lo], K, d, ia, ib)
            for lo in range(m):
                extra[f"q_{lo + 1}_{x}"] = col(qs[lo][ia * d:(ia + 1) * d])
        if markov:  # the documented map: Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + cross terms + pi_j psi_j psi_j^T)
            rhs = [sum(P[j, lo] * (Phis[j] @ Qs[j] @ Phis[j].T + np.outer(Phis[j] @ qs[j], psis[j])
                                   + np.outer(psis[j], Phis[j] @ qs[j]) + pi[j] * (np.outer(psis[j], psis[j]) + Ns[j]))
                       for j in range(m)) for lo in range(m)]
        else:  # C = sum_k p_k (Phi_k C Phi_k^T + d_k d_k^T), d_k = Phi_k mu + psi_k - mu
            dks = [Phis[k] @ mu + psis[k] - mu for k in range(m)]
            rhs = [sum(pi[k] * (Phis[k] @ C @ Phis[k].T + np.outer(dks[k], dks[k]) + Ns[k]) for k in range(m))]
        for key, e in sm.items():
            parts = key.split(",")
            lo = int(parts[0]) - 1 if markov else 0
            if parts[-2] not in names or parts[-1] not in names or lo >= len(rhs):
                continue
            ia, ib = names.index(parts[-2]), names.index(parts[-1])
            v = evaluate(e["text"], extra, (d, d))
            name = "second-moment equation" if point == 0 else "second-moment map"
            ledger.add(name, rel(v, _blocks(rhs[lo], K, d, ia, ib)) if v is not None else math.inf, DERIVE_RANDOM_BAR)
            if point == 0:  # the equation holds at the reference moments (lhs = the moment itself)
                lhs = _blocks(Qs[lo] if markov else C, K, d, ia, ib)
                ledger.add("second moment solves its equation", rel(v, lhs) if v is not None else math.inf,
                           DERIVE_RANDOM_BAR)

    # -- the rate statements and the Stein equation, evaluated at the reference
    fenv = {"Phi": Phis, "psi": [col(p) for p in psis], "p": list(pi), "pi": list(pi), "P": P,
            "N": Ns, "mu": col(want["mu"]), "C": want["C"], "Q": list(want["Q"]),
            "q": [col(x) for x in want["q"]], "rho_ms": want["rho_ms"], "rho_mean": want["rho_mean"]}
    ms = doc.get("mean_square_condition", {}).get("latex", "")
    stein = doc.get("stein_equation", {}).get("latex", "")
    check_statements(ledger, label, _plain_formula(ms), fenv, m, "printed rates")
    check_statements(ledger, label, _plain_formula(stein), fenv, m, "printed Stein equation")

    # -- the other formats state the same objects
    if "text" in printed:
        _check_text(ledger, label, printed["text"].stdout, doc, want, base, fenv, evaluate)
    if "latex" in files:
        _check_latex(ledger, label, files["latex"], doc, ms, stein)
    if "macros" in files:
        bodies = set(re.findall(r"^\\newcommand\{\\\w+\}\{(.*)\}$", files["macros"], re.M))
        expect = [ms, stein] + [f"{e['name']} = {e['latex']}" for e in doc.get("definitions", [])] + \
            [f"{e['name']} = \\left({e['latex']}\\right)^{{-1}}" for e in invs] + \
            [e["latex"] for e in doc.get("fixed_points", {}).values()] + \
            [e["latex"] for e in doc.get("residuals", {}).values()]
        missing = [b for b in expect if b not in bodies]
        ledger.require("macros state the JSON's formulas", not missing and len(bodies) == len(set(expect)),
                       f"{label}: macros lack {[b[:40] for b in missing][:3]} ({len(bodies)} macros, {len(expect)} "
                       "expected)")
    from proofs_check.verification.shipped_randa import check_more  # quick's formats, macro names, a small config
    check_more(ledger, label, doc, want, base, fenv, evaluate, printed, files, ms, stein, rng,
               (_check_text, Formula, _plain_formula))
    check_rrep(ledger, label, doc, files)  # short pivots written out in the LaTeX hypotheses (shipped_rrep)


def _check_text(ledger: Ledger, label: str, out: str, doc: dict, want: dict, base: ref.Instance, fenv: dict,
                evaluate) -> None:
    """The text format: its rate sentence evaluated; each round-map, mean, residual and deviation line evaluated
    against the reference; every definition, inverse and second-moment line equal to the JSON's."""
    K, d, names = base.K, base.d, list(base.names)
    lines = out.splitlines()
    rate = [ln for ln in lines if ln.startswith("mean-square rate: ")]
    ledger.require("text rate sentence", len(rate) == 1, f"{label}: text rate lines {rate}")
    if len(rate) == 1:
        ms, _, mean = rate[0][len("mean-square rate: "):].partition("; mean rate: ")
        check_statements(ledger, label, [f"rho_{{ms}} = {s}" for s in _plain_formula(ms)]
                         + [f"rho_{{mean}} = {s}" for s in _plain_formula(mean)], fenv, len(want["pi"]),
                         "text rate sentence")
    for k in range(len(want["pi"])):
        for i, x in enumerate(names):
            mt = [re.fullmatch(rf"    Phi_{k}\[{x}\] = \[(.*)\] ; psi = (.*)", ln) for ln in lines]
            hit = [g for g in mt if g]
            ledger.require("text round map lines", len(hit) == 1, f"{label}: Phi_{k}[{x}] lines {len(hit)}")
            if len(hit) != 1:
                continue
            row = [evaluate(t, shape=(d, d)) for t in hit[0].group(1).split(", ")]
            got = np.hstack(row) if all(v is not None for v in row) and len(row) == K else np.full((d, K * d), np.nan)
            ledger.add("text round map", rel(got, want["Phi"][k][i * d:(i + 1) * d]), DERIVE_RANDOM_BAR)
            v = evaluate(hit[0].group(2), shape=(d, 1))
            ledger.add("text round map", rel(np.reshape(v, -1), want["psi"][k][i * d:(i + 1) * d])
                       if v is not None else math.inf, DERIVE_RANDOM_BAR)
        dl = [ln for ln in lines if ln.startswith(f"d_{k} = ")]
        parts = dict(p.split(": ", 1) for p in dl[0][len(f"d_{k} = "):].split(" ; ")) if len(dl) == 1 else {}
        ledger.require("text deviation lines", parts == {x: e["text"] for x, e in
                                                          doc["alternatives"][k]["deviation"].items()},
                       f"{label}: d_{k} line differs from the JSON's")
    for i, x in enumerate(names):
        mu_i = want["mu"][i * d:(i + 1) * d]
        for prefix, value in ((f"mu_{x} = ", mu_i), (f"mu_{x} - w*_{x} = ", mu_i - base.target[i])):
            found = [ln[len(prefix):] for ln in lines if ln.startswith(prefix)]
            v = evaluate(found[0], shape=(d, 1)) if len(found) == 1 else None
            ledger.add("text mean and residual", rel(np.reshape(v, -1), value) if v is not None else math.inf,
                       DERIVE_RANDOM_BAR)
    expect = [f"{e['text_name']} := {e['text']}" for e in doc.get("definitions", [])] + \
        [f"{e['text_name']} = ({e['text']})^-1" for e in doc.get("inverses", [])] + \
        [f"{e['lhs_text']} = {e['text']}" for e in doc.get("second_moment", {}).values()] + \
        ["hypotheses: " + "; ".join(doc["hypotheses"])] + [f"note: {x}" for x in doc.get("notes", [])] + \
        [f"[{c['method']} {'proved' if c['holds'] else 'FAILED'}] {c['label']}" for c in doc.get("checks", [])]
    have = set(lines)
    missing = [x for x in expect if x not in have]
    ledger.require("text states the JSON's equations", not missing,
                   f"{label}: text lacks {[x[:40] for x in missing][:3]}")


def _check_latex(ledger: Ledger, label: str, tex: str, doc: dict, ms: str, stein: str) -> None:
    """The LaTeX document: the rate statement and Stein equation, each alternative's law and round map, the
    named blocks, inverses, means, residuals and deviations are the JSON's."""
    ledger.require("latex states the rates and the Stein equation",
                   r"\begin{align*}" + ms + r"\\" + stein + r"\end{align*}" in tex,
                   f"{label}: the LaTeX rate statement or Stein equation differs from the JSON's")
    names = doc["agents"]
    for k, a in enumerate(doc["alternatives"]):
        law = (f"probability ${a['probability']['latex']}$" if "probability" in a
               else f"stationary probability ${a['stationary_probability']['latex']}$")
        ledger.require("latex alternatives", law + "." in tex, f"{label}: alternative {k + 1}'s law not in LaTeX")
        head = r"\subsection*{Round map of alternative " + str(k + 1) + " "
        i0 = tex.find(head)
        section = tex[i0:tex.find(r"\subsection*", i0 + 1)] if i0 >= 0 else ""
        for i, x in enumerate(names):
            body = _latex_block(section, f"m_{{{x}}}^{{\\text{{new}}}} &= ") or ""
            want = [t["latex"] for t in a["round_map"]["Phi"][i] if t["text"] != "0" and t["latex"] != "1"]
            psi = a["round_map"]["psi"][i]["latex"]
            ok = all(w in body for w in want) and (psi == "0" or psi in body)
            ledger.require("latex round maps", ok, f"{label}: alternative {k + 1}, m_{x}: {body[:60]!r}")
        for x, e in a["deviation"].items():
            ledger.require("latex deviations", _latex_block(tex, f"d_{{{k + 1},{x}}} &= ") == " ".join(
                " ".join(e["terms"]).split()), f"{label}: d_{k + 1},{x} differs from the JSON's")
    for e in doc.get("definitions", []):
        ledger.require("latex named blocks", _latex_block(tex, f"{e['name']} &= ") == " ".join(
            " ".join(e["terms"]).split()), f"{label}: {e['text_name']} differs from the JSON's")
    for e in doc.get("inverses", []):
        # one line: Q_k = (pivot)^-1; a pivot over several lines is typeset Q_k^-1 = pivot
        one = _latex_block(tex, f"{e['name']} &= ")
        ok = (one == " ".join((r"\Big(" + " ".join(e["terms"]) + r"\Big)^{-1}").split()) if one is not None
              else _latex_block(tex, f"{e['name']}^{{-1}} &= ") == " ".join(" ".join(e["terms"]).split()))
        ledger.require("latex inverses", ok,
                       f"{label}: {e['text_name']} differs from the JSON's")
    for x in names:
        for part, head in (("fixed_points", f"\\mu_{{{x}}} &= "), ("residuals", f"\\mu_{{{x}}} - w^*_{{{x}}} &= ")):
            if part in doc:
                ledger.require("latex means and residuals", _latex_block(tex, head) == " ".join(
                    " ".join(doc[part][x]["terms"]).split()), f"{label}: LaTeX {head.strip()} differs from JSON's")


FORMATS = ("json", "text", "latex", "macros")
QUICK_FORMATS = ("json", "latex")  # each format compiles the protocol again: quick reads the document with every
# expression (json) and the typeset one (latex)


def random_derive_method(quick_cases: list, full_cases: list, seed_offset: int = 0):
    """VS: ``a2ad derive --protocol`` on random protocols (module text): ``quick_cases`` in json and latex under
    ``--profile quick``, ``full_cases`` in every format otherwise, each at a random mean-square-stable instance
    of GD agents, d in {2, 3}."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + 8800 + seed_offset)
        full = profile.name != "quick"
        formats = FORMATS if full else QUICK_FORMATS
        drawn = [(name, *_instance(rng, K, alts, noisy)) for name, K, alts, noisy in
                 (full_cases if full else quick_cases)]
        ledger = Ledger(instances=len(drawn))
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [_config(base, alts, want["S"]) for _, base, alts, want in drawn])
            for (name, base, alts, want), path in zip(drawn, paths):
                out = {f: str(Path(tmp) / f"{Path(path).stem}.{f}.tex") for f in ("latex", "macros") if f in formats}
                argvs = {**{f: ["derive", "--protocol", path, "--format", f] for f in ("json", "text") if f in formats},
                         **{f: ["derive", "--protocol", path, "--format", f, "--out", o, "--force"]
                            for f, o in out.items()}}
                printed = dict(zip(argvs, cli.run_commands(list(argvs.values()))))
                files = {f: Path(o).read_text() if Path(o).exists() else "" for f, o in out.items()}
                check_random_derivation(ledger, f"{name} (K={base.K}, d={base.d})", base, alts, want, printed,
                                        files, rng)
        return ledger.outcome(f"a2ad derive --protocol ({', '.join(formats)}) on {len(drawn)} random protocols "
                              f"({'; '.join(n for n, *_ in drawn)}): round maps, law, stationary mean and its weights, "
                              "residuals, deviations d_k, second-moment equations, rate statements and the Stein "
                              "equation evaluated vs round maps probed from GD rounds and the moment equations "
                              "solved directly")
    return method
