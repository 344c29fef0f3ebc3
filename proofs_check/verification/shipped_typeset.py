"""VS for the typeset formulas: the LaTeX and the plain text ``derive`` prints for every registered formula, read
back and re-evaluated (issue 22, item 4).

``a2ad derive --format json --claims CLAIM`` prints each formula's ``latex`` (the string the macros file and
derivations.tex print) and ``text`` (the string ``--format text`` prints). Each is split at its ``=``; each side
that is an expression is read by a small grammar (:class:`LatexReader`: sums, products by juxtaposition,
``\\frac``, ``\\tfrac``, ``\\left( \\right)``, ``^{T}``, ``^{-1}``, integer and symbolic powers, ``\\rho(...)``,
``\\operatorname{tr}(...)``, ``\\sqrt``, ``\\sin``, the gap ``\\aadDelta``; :class:`TextReader`: SymPy's ``str``
syntax with ``transpose``, ``trace``, ``spectral_radius``, ``sqrt``, ``sin``, ``Id`` and ``Delta``; no eval, no
sympify) and evaluated at random numbers, then compared with the registered SymPy object (the object ``verify``
proves) evaluated at the same numbers by an evaluator of the SymPy tree written here (:func:`sympy_value`). A side
that is a single symbol (a label such as ``u^*`` or ``w' - w``) must be printed as :data:`LABELS`,
:data:`TEXT_LABELS` or the naming rules say. Names are mapped by those rules (:func:`tex_name`,
:func:`text_name`), written here, not by the printer. A wrong name, a dropped parenthesis, a flipped sign or a
fraction around the wrong factors is an O(1) error; a rule that changes only the form (the gap written out,
positive terms not first) is not seen here (tests/test_notation_contracts.py checks those). Package extension.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import sympy as sp

from proofs_check.verification import shipped_cli as cli
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import MISMATCH, Ledger

__all__ = ["BAR", "LABELS", "TEXT_LABELS", "LatexReader", "TextReader", "check_formula", "check_symbols", "tex_name",
           "text_name", "typeset_method"]

# Both sides are evaluated in float64 at well-conditioned random numbers (inverted matrices I + 0.3 G): the
# same value up to ~1e-13; a wrong formula is off by O(1).
BAR = 1e-9
DIMS = {"d": 3, "n": 4, "N": 5}  # the symbolic dimensions and their values (also their values as scalars)
INTEGER_SCALARS = {"s": 2, "s_B": 3}  # exponents
GREEK = {"alpha", "beta", "gamma", "Gamma", "delta", "epsilon", "theta", "lambda", "mu", "nu", "omega", "Omega",
         "phi", "Phi", "psi", "rho", "sigma", "Sigma", "tau"}
# Labels (symbols whose name is not a plain name) and how docs/theory.rst typesets them.
LABELS = {
    "Hhat": r"\hat{H}", "Mhat": r"\hat{M}", "chat": r"\hat{c}", "what^*": r"\hat{w}^{*}",
    "[\\hat{M} | \\hat{c}]": r"[\hat{M} \mid \hat{c}]", "[M | c]": r"[M \mid c]",
    "u_{t+1} - w^*_A": r"u_{t+1} - w_{A}^{*}", "w' - w": "w' - w", "(u^* - v^*)_k": r"(u^{*} - v^{*})_{k}",
    "lambda_k(M_A M_B)": r"\lambda_{k}(M_{A} M_{B})", "T_A^s(w)": r"T_{A}^{s}(w)",
    "e_B^(s_A -> oo)": r"\lim_{s_A \to \infty} e_{B}", "Delta_k": r"\aadDelta_{k}", "Gamma^*": r"\Gamma^{*}",
    "w_{B}(t)": r"w_{B}(t)", "u^*": r"u^{*}", "v^*": r"v^{*}", "||Delta||^2": r"\|\aadDelta\|^{2}", "ell": r"\ell",
    "\\Gamma_{A}^{-1/2}": r"\Gamma_{A}^{-1/2}",
}
# The same labels in the plain text (Python/SymPy syntax; a label written as an expression is that expression).
TEXT_LABELS = {
    "Hhat": "H_hat", "Mhat": "M_hat", "chat": "c_hat", "what^*": "w_hat_star", "[\\hat{M} | \\hat{c}]": "Mc_hat",
    "[M | c]": "Mc", "u_{t+1} - w^*_A": "u_t_plus_1 - w_A_star", "w' - w": "w_prime - w",
    "(u^* - v^*)_k": "u_star_k - v_star_k", "lambda_k(M_A M_B)": "lambda_k", "T_A^s(w)": "T_A_s_of_w",
    "e_B^(s_A -> oo)": "e_B_limit_s_A", "Gamma^*": "Gamma_star", "w_{B}(t)": "w_B_t", "u^*": "u_star",
    "v^*": "v_star", "||Delta||^2": "Delta_norm_sq", "\\Gamma_{A}^{-1/2}": "Gamma_A**(-1/2)",
}
_STAR = re.compile(r"^([A-Za-z]+)\^\*_\{?([A-Za-z0-9]+)\}?$")  # w^*_A, z^*_3


def tex_name(name: str) -> str:
    """How docs/theory.rst typesets the symbol ``name``: :data:`LABELS`, ``w^*_A`` -> ``w_{A}^{*}``, a Greek base
    with a backslash, a subscript in braces (``M_A`` -> ``M_{A}``, ``v_{t-1}`` as it is)."""
    if name in LABELS:
        return LABELS[name]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}^{{*}}"
    base, _, sub = name.partition("_")
    base = "\\" + base if base in GREEK else base
    if not sub:
        return base
    return f"{base}_{sub}" if sub.startswith("{") else f"{base}_{{{sub}}}"


def text_name(name: str) -> str:
    """The plain text of the symbol ``name`` (docs/latex.rst): :data:`TEXT_LABELS`, ``w^*_A`` -> ``w_A_star``,
    braces dropped, ``,`` -> ``_``, ``+`` -> ``_plus_``, ``-`` -> ``_minus_`` (``v_{t-1}`` -> ``v_t_minus_1``)."""
    if name in TEXT_LABELS:
        return TEXT_LABELS[name]
    m = _STAR.match(name)
    if m:
        return f"{m.group(1)}_{m.group(2)}_star"
    out = name.replace("{", "").replace("}", "").replace(",", "_").replace("+", "_plus_").replace("-", "_minus_")
    return re.sub(r"_+", "_", out)


_TEXT_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/(),]))")


class TextReader:
    """Evaluates the plain text of one formula side (SymPy's ``str`` syntax) at numbers ``env`` (text name ->
    scalar or array): ``+ - * / **``, parentheses and the functions ``transpose``, ``trace``, ``spectral_radius``,
    ``sqrt``, ``sin``; ``Id`` is the identity (a scalar 1 beside matrices), ``Delta`` is ``w_B_star - w_A_star``."""

    FUNCTIONS = {"transpose": lambda x: _transpose(x), "trace": lambda x: float(np.trace(x)),
                 "spectral_radius": lambda x: _radius(x), "sqrt": lambda x: float(np.sqrt(x)),
                 "sin": lambda x: float(np.sin(x))}

    def __init__(self, env: dict):
        self.env = env

    def read(self, text: str):
        self.toks, self.pos = [], 0
        pos = 0
        while pos < len(text):
            m = _TEXT_TOKEN.match(text, pos)
            if not m or m.end() == pos or m.lastgroup is None:
                raise ValueError(f"cannot read {text[pos:pos + 20]!r}")
            self.toks.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        out = self._expr()
        if self.pos != len(self.toks):
            raise ValueError(f"unread tail {self.toks[self.pos:][:4]!r}")
        return out

    def _peek(self):
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def _take(self, want=None):
        if self.pos >= len(self.toks) or (want is not None and self.toks[self.pos][1] != want):
            raise ValueError(f"expected {want!r} at token {self.pos}")
        self.pos += 1
        return self.toks[self.pos - 1]

    def _expr(self):
        out = self._term()
        while self._peek() in ("+", "-"):
            s = -1.0 if self._take()[1] == "-" else 1.0
            out = _add(out, s * self._term())
        return out

    def _term(self):
        out = self._unary()
        while self._peek() in ("*", "/"):
            op = self._take()[1]
            rhs = self._unary()
            if op == "/":
                if not _scalar(rhs):
                    raise ValueError("a division by a matrix")
                out = out / rhs
            else:
                out = _mul(out, rhs)
        return out

    def _unary(self):
        if self._peek() in ("-", "+"):
            return (-1.0 if self._take()[1] == "-" else 1.0) * self._unary()
        return self._power()

    def _power(self):
        out = self._atom()
        if self._peek() == "**":
            self._take()
            return _power(out, float(self._unary()))
        return out

    def _atom(self):
        kind, val = self._take()
        if kind == "num":
            return float(val)
        if val == "(":
            out = self._expr()
            self._take(")")
            return out
        if kind != "name":
            raise ValueError(f"unexpected {val!r}")
        if self._peek() == "(" and val in self.FUNCTIONS:
            self._take("(")
            out = self._expr()
            self._take(")")
            return self.FUNCTIONS[val](out)
        if val == "Id":
            return 1.0
        if val == "Delta":
            return self.env["w_B_star"] - self.env["w_A_star"]
        return self.env[val]


_TOKEN = re.compile(r"\s*(?:(?P<left>\\left[(\[.])|(?P<right>\\right[)\].])|(?P<cmd>\\[A-Za-z]+|\\\|)"
                    r"|(?P<num>\d+)|(?P<char>[A-Za-z])|(?P<op>[-+{}^_'()=\[\]/,|*]))")


def _tokens(tex: str) -> list[str]:
    out: list[str] = []
    pos, tex = 0, tex.strip()
    while pos < len(tex):
        m = _TOKEN.match(tex, pos)
        if not m or m.end() == pos or m.lastgroup is None:
            raise ValueError(f"cannot read {tex[pos:pos + 20]!r} in {tex[:80]!r}")
        out.append(m.group(m.lastgroup))
        pos = m.end()
    return out


class LatexReader:
    """Evaluates the LaTeX of one formula side at numbers ``env`` (LaTeX name -> scalar or array).

    Grammar: ``expr := ['-'] term (('+'|'-') term)*``; ``term := factor+`` (juxtaposition multiplies: a scalar
    scales, matrices multiply); ``factor := atom ('^' group)*`` with ``T`` (transpose), ``-1`` (inverse), an
    integer, ``-1/2`` or a scalar's name (powers); ``atom := number | name | \\left( expr \\right) | \\frac{e}{e}
    | \\tfrac{e}{e} | \\sqrt{e} | \\rho \\left( e \\right) | \\operatorname{tr} \\left( e \\right) | \\sin[^{k}]
    {\\left( e \\right)} | \\aadDelta[_{k}]``; a name is a letter, a Greek command or ``\\hat{x}``, with an optional
    ``_{...}`` and ``^{*}``. ``I`` is the identity: a scalar 1 beside matrices is that multiple of I.
    """

    def __init__(self, env: dict):
        self.env = env

    def read(self, tex: str):
        self.toks, self.pos = _tokens(tex), 0
        out = self._expr()
        if self.pos != len(self.toks):
            raise ValueError(f"unread tail {''.join(self.toks[self.pos:])[:40]!r}")
        return out

    def _peek(self, k: int = 0):
        return self.toks[self.pos + k] if self.pos + k < len(self.toks) else None

    def _take(self, want=None):
        tok = self._peek()
        if tok is None or (want is not None and tok != want):
            raise ValueError(f"expected {want!r}, got {tok!r}")
        self.pos += 1
        return tok

    def _group_text(self) -> str:
        """The raw text of ``{...}`` (or one token)."""
        if self._peek() != "{":
            return self._take()
        self._take("{")
        depth, parts = 1, []  # type: tuple[int, list[str]]
        while True:
            tok = self._take()
            depth += (tok == "{") - (tok == "}")
            if depth == 0:
                return "".join(parts)
            parts.append(tok)

    def _expr(self):
        sign = 1.0
        if self._peek() in ("+", "-"):
            sign = -1.0 if self._take() == "-" else 1.0
        out = sign * self._term()
        while self._peek() in ("+", "-"):
            s = -1.0 if self._take() == "-" else 1.0
            out = _add(out, s * self._term())
        return out

    def _term(self):
        out = self._factor()
        while self._peek() not in (None, "+", "-", "}", r"\right)", r"\right]", "="):
            out = _mul(out, self._factor())
        return out

    def _factor(self):
        out = self._atom()
        while self._peek() == "^":
            self._take()
            out = self._power(out, self._group_text())
        return out

    def _power(self, x: Any, exp: str) -> Any:
        if exp == "T":
            return _transpose(x)
        if exp in ("-1", "-1/2") or exp.isdigit():
            return _power(x, -0.5 if exp == "-1/2" else float(exp))
        return _power(x, float(int(self.env[exp])))  # a scalar's name: s, s_{B}

    def _paren(self):
        self._take(r"\left(")
        out = self._expr()
        self._take(r"\right)")
        return out

    def _atom(self):
        tok = self._peek()
        if tok is None:
            raise ValueError("unexpected end")
        if tok.isdigit():
            return float(self._take())
        if tok == r"\left(":
            return self._paren()
        if tok in (r"\frac", r"\tfrac"):
            self._take()
            num, den = self._braced(), self._braced()
            if not _scalar(den):
                raise ValueError("a fraction over a matrix")
            return num / den
        if tok == r"\sqrt":
            self._take()
            return float(np.sqrt(self._braced()))
        if tok == r"\rho" and self._peek(1) == r"\left(":
            self._take()
            return _radius(self._paren())
        if tok == r"\operatorname":
            self._take()
            if self._group_text() != "tr":
                raise ValueError("unknown operator")
            return float(np.trace(self._paren()))
        if tok == r"\sin":
            self._take()
            k = int(self._group_text()) if self._peek() == "^" and self._take() else 1
            arg = self._braced() if self._peek() == "{" else self._paren()
            return float(np.sin(arg)) ** k
        if tok == r"\aadDelta":
            self._take()
            if self._peek() == "_":
                self._take()
                return self.env[r"\aadDelta_{" + self._group_text() + "}"]
            return self.env["w_{B}^{*}"] - self.env["w_{A}^{*}"]
        return self.env[self._name()] if tok != "I" or self._peek(1) == "_" else self._identity()

    def _identity(self):
        self._take("I")
        return 1.0

    def _braced(self):
        self._take("{")
        out = self._expr()
        self._take("}")
        return out

    def _name(self) -> str:
        tok = self._take()
        if tok == r"\hat":
            base = r"\hat{" + self._group_text() + "}"
        elif tok.startswith("\\") or (len(tok) == 1 and tok.isalpha()):
            base = tok
        else:
            raise ValueError(f"unexpected {tok!r}")
        if self._peek() == "_":
            self._take()
            base += "_{" + self._group_text() + "}"
        if self._peek() == "^" and self._peek(1) == "{" and self._peek(2) == "*":
            self._take()
            base += "^{" + self._group_text() + "}"
        while self._peek() == "'":
            base += self._take()
        return base


def _scalar(x: Any) -> bool:
    return bool(np.isscalar(x))


def _transpose(x):
    return x if _scalar(x) else x.T


def _radius(x) -> float:
    return float(max(abs(np.linalg.eigvals(np.atleast_2d(x)))))


def _power(x, exp: float):
    """``x ** exp``: a scalar's; a matrix's integer power (-1: its inverse) or ``-1/2`` (of a symmetric positive
    definite one: ``V diag(w)^{-1/2} V^T``)."""
    if _scalar(x):
        return float(x) ** exp
    if exp == -0.5:
        w, V = np.linalg.eigh(x)
        return (V / np.sqrt(w)) @ V.T
    return np.linalg.matrix_power(x, int(exp))


def _as_value(x):
    """A 1 x 1 result (``r^T r``) is a scalar."""
    return float(x[0, 0]) if not _scalar(x) and x.shape == (1, 1) else x


def _add(a, b):
    if _scalar(a) and not _scalar(b):
        a = a * np.eye(b.shape[0])
    elif _scalar(b) and not _scalar(a):
        b = b * np.eye(a.shape[0])
    return a + b


def _mul(a, b):
    return a * b if _scalar(a) or _scalar(b) else _as_value(a @ b)


def _dim(x) -> int:
    """A shape entry (``d``, ``d + 1``, ``N``) at :data:`DIMS`."""
    return int(x.subs({s: DIMS[s.name] for s in x.free_symbols})) if isinstance(x, sp.Basic) else int(x)


def sympy_value(expr, vals: dict) -> Any:
    """The SymPy object ``expr`` at numbers ``vals`` (internal symbol name -> scalar or array), node by node."""
    if isinstance(expr, sp.MatrixSymbol):
        return vals[expr.name]
    if isinstance(expr, sp.Symbol):
        return vals[expr.name]
    if isinstance(expr, sp.Identity):
        return np.eye(_dim(expr.shape[0]))
    if isinstance(expr, sp.ZeroMatrix):
        return np.zeros((_dim(expr.shape[0]), _dim(expr.shape[1])))
    if expr.is_Number:
        return float(expr)
    args: list[Any] = [sympy_value(a, vals) for a in expr.args]
    if isinstance(expr, (sp.Add, sp.MatAdd)):
        out = args[0]
        for a in args[1:]:
            out = _add(out, a)
        return out
    if isinstance(expr, (sp.Mul, sp.MatMul)):
        out = args[0]
        for a in args[1:]:
            out = _mul(out, a)
        return out
    if isinstance(expr, sp.Inverse):
        return np.linalg.inv(args[0])
    if isinstance(expr, sp.Transpose):
        return _transpose(args[0])
    if isinstance(expr, sp.Trace):
        return float(np.trace(args[0]))
    if isinstance(expr, (sp.Pow, sp.MatPow)):
        return _power(args[0], float(args[1]))
    if isinstance(expr, sp.sin):
        return float(np.sin(args[0]))
    if type(expr).__name__ == "spectral_radius":
        return _radius(args[0])
    raise TypeError(f"no value for {type(expr).__name__}")


def _values(rng: np.random.Generator, symbols) -> dict:
    """Random numbers for ``symbols`` by internal name (and ``Gamma_A``, whose ``-1/2`` power a label stands for)."""
    vals: dict = {}
    for s in sorted(symbols, key=lambda x: x.name):
        name = s.name
        v: Any
        if isinstance(s, sp.MatrixSymbol):
            rows, cols = _dim(s.shape[0]), _dim(s.shape[1])
            if (rows, cols) == (1, 1):
                v = float(rng.uniform(0.2, 0.8))
            elif rows == cols:
                v = np.eye(rows) + 0.3 * rng.standard_normal((rows, cols)) / np.sqrt(rows)
            else:
                v = rng.standard_normal((rows, cols))
        elif name in DIMS:
            v = float(DIMS[name])
        elif name in INTEGER_SCALARS:
            v = float(INTEGER_SCALARS[name])
        else:
            v = float(rng.uniform(0.2, 0.8))
        vals[name] = v
    if "\\Gamma_{A}^{-1/2}" in vals:  # the label stands for Gamma_A^{-1/2}: the printed forms read Gamma_A, powered
        A = rng.standard_normal((DIMS["d"], DIMS["d"]))
        G = A @ A.T + np.eye(DIMS["d"])
        vals["Gamma_A"], vals["\\Gamma_{A}^{-1/2}"] = G, _power(G, -0.5)
    for name, v in INTEGER_SCALARS.items():
        vals.setdefault(name, float(v))
    return vals


def _split(tex: str) -> tuple[str, str]:
    """``lhs = rhs`` at the ``=`` outside every bracket."""
    depth = 0
    for i, ch in enumerate(tex):
        depth += (ch in "({[") - (ch in ")}]")
        if depth == 0 and tex[i:i + 3] == " = ":
            return tex[:i], tex[i + 3:]
    raise ValueError(f"no top-level '=' in {tex[:80]!r}")


FORMS: dict[str, tuple[Any, Any]] = {"latex": (tex_name, LatexReader), "text": (text_name, TextReader)}  # name, reader


def check_formula(ledger: Ledger, rng: np.random.Generator, fid: str, printed: dict, instances: int) -> None:
    """One formula's printed ``latex`` and ``text`` (``printed``) against the registered ``lhs = rhs``."""
    from theory.core.formulas import all_formulas

    formula = all_formulas()[fid]
    for form, (name_of, reader) in FORMS.items():
        try:
            sides = _split(printed.get(form, ""))
        except ValueError as exc:
            ledger.require(f"{fid} {form}", False, f"{fid}: {form}: {exc}")
            continue
        for side, obj, shown in zip(("lhs", "rhs"), (formula.lhs, formula.rhs), sides):
            key = f"{fid} {form} {side}"
            if isinstance(obj, (sp.Symbol, sp.MatrixSymbol)):  # a label: printed by the naming rules
                ledger.require(key, shown == name_of(obj.name),
                               f"{key} printed {shown!r}, the naming rules give {name_of(obj.name)!r}")
                continue
            worst = 0.0
            for _ in range(instances):
                vals = _values(rng, formula.lhs.free_symbols | formula.rhs.free_symbols)
                try:
                    got = reader({name_of(k): v for k, v in vals.items()}).read(shown)
                    want = sympy_value(obj, vals)
                    rel = float(np.linalg.norm(np.subtract(got, want))) / max(1.0, float(np.linalg.norm(want)))
                except (ValueError, KeyError, TypeError, np.linalg.LinAlgError) as exc:
                    ledger.require(key, False, f"{key} {shown[:60]!r} not read: {exc}")
                    break
                worst = rel if not np.isfinite(rel) else max(worst, rel)
            else:
                ledger.add(key, worst if np.isfinite(worst) else MISMATCH, BAR)


def check_symbols(ledger: Ledger, fid: str, printed: dict) -> None:
    """The ``symbols`` table a reader parses the plain text with: every name of the text (and of a definition, such
    as ``Delta``'s) is listed, and each symbol of the registered formula commutes exactly when it is a scalar (a
    plain symbol or a 1 x 1 matrix)."""
    from theory.core.formulas import all_formulas

    raw = printed.get("symbols")
    table: dict = raw if isinstance(raw, dict) else {}
    names = set(re.findall(r"[A-Za-z_]\w*", printed.get("text", "")))
    for entry in table.values():
        if isinstance(entry, dict) and isinstance(entry.get("definition"), str):
            names |= set(re.findall(r"[A-Za-z_]\w*", entry["definition"]))
    ledger.require(f"{fid} symbols", names <= set(table), f"{fid}: symbols table lacks {sorted(names - set(table))}")
    formula = all_formulas()[fid]
    for sym in formula.lhs.free_symbols | formula.rhs.free_symbols:
        name = text_name(sym.name)
        if name.isidentifier() and name in table:
            scalar = not isinstance(sym, sp.MatrixSymbol) or sym.shape == (1, 1)
            ledger.require(f"{fid} symbols", table[name].get("commutative") is scalar,
                           f"{fid}: {name} commutative {table[name].get('commutative')}, expected {scalar}")


def typeset_method(claim: str):
    """A VS method: the LaTeX and the plain text ``a2ad derive --format json --claims CLAIM`` prints for each of the
    claim's formulas, read back and evaluated at random numbers, against the registered object (2 instances each in
    quick, 8 in full)."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + 7100 + sum(map(ord, claim)))
        instances = 2 if profile.name == "quick" else 8
        (printed,) = cli.run_commands([["derive", "--format", "json", "--claims", claim]])
        doc = printed.json_or_none()
        ledger = Ledger()
        ok = printed.status == 0 and isinstance(doc, dict) and isinstance(doc.get("formulas"), list)
        ledger.require("derive --format json", ok, f"exit {printed.status}: {printed.stderr.strip()[:120]}")
        for f in doc.get("formulas", []) if ok else []:
            check_formula(ledger, rng, f.get("id"), f, instances)
            check_symbols(ledger, f.get("id"), f)
            ledger.instances += 1
        return ledger.outcome(f"the LaTeX and text of derive --format json --claims {claim} read back and "
                              f"evaluated at random numbers ({instances} per side) vs the registered formulas")
    method.__doc__ = typeset_method.__doc__
    return method
