"""``derive --format text|json`` (issue 23, "Notation"): the plain text is Python/SymPy syntax that
``sympy.parse_expr`` reads back, with the ``symbols`` table of the JSON, to the expression the package
holds; every format lists the formulas in one (registry) order."""
import json
import re

import pytest
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from proofs_check.cli import main as cli
from proofs_check.report import formula_list, latex
from theory.core import notation
from theory.core.formulas import Formula, all_formulas
from theory.protocol import printing

# The functions a text may call, by the name the table gives them (the reader's side: SymPy's own).
FUNCTIONS = {"transpose": sp.transpose, "trace": sp.Function("trace"), "sqrt": sp.sqrt, "sin": sp.sin,
             "cos": sp.cos, "spectral_radius": notation.spectral_radius}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def local_dict(table: dict) -> dict:
    """What a reader builds from the JSON ``symbols`` table (our own output, so parse_expr is safe)."""
    out = {}
    for name, entry in table.items():
        out[name] = FUNCTIONS[name] if entry.get("function") else sp.Symbol(name, commutative=entry["commutative"])
    return out


def parse_side(text: str, table: dict) -> sp.Expr:
    names = local_dict(table)
    expr = parse_expr(text, local_dict=names, transformations=standard_transformations)
    for name, entry in table.items():  # the gap Delta stands for its definition
        if "definition" in entry:
            expr = expr.subs(names[name], parse_expr(entry["definition"], local_dict=names,
                                                     transformations=standard_transformations))
    return expr


def round_trip_defects(f: Formula) -> list[str]:
    """Why ``f``'s text does not parse back to the package's object (empty: it does)."""
    text, table = f.text(), notation.text_symbols(f.lhs, f.rhs)
    defects = []
    if "^" in text:
        defects.append("'^' (XOR in Python)")
    unknown = set(NAME.findall(text)) - set(table)
    if unknown:
        defects.append(f"names not in the symbols table: {sorted(unknown)}")
    if "I" in table or re.search(r"\bI\b|\boo\b", text):
        defects.append("SymPy's I or oo in the text")
    sides = text.split(" = ")
    if len(sides) != 2:
        return defects + [f"not one ' = ' in {text!r}"]
    for side, held in zip(sides, (f.lhs, f.rhs)):
        expected = notation.symbolic(held)
        try:
            got = parse_side(side, table)
        except (TypeError, SyntaxError, ValueError) as exc:  # e.g. '^' between noncommutative symbols
            defects.append(f"{side!r} does not parse: {exc}")
            continue
        if sp.expand(got - expected) != 0:
            defects.append(f"{side!r} parses to {got}, the package holds {expected}")
    return defects


@pytest.mark.parametrize("fid", list(all_formulas()))
def test_every_text_formula_parses_back(fid):
    assert round_trip_defects(all_formulas()[fid]) == []


def test_identity_and_star_names():
    texts = " ".join(f.text() for f in all_formulas().values())
    assert "Id" in texts and "w_A_star" in texts and "w_hat_star" in texts
    assert "*_" not in texts and "what*" not in texts and "**(-1/2)" in texts  # Gamma_A**(-1/2), not ^(-1/2)


@pytest.mark.parametrize("plant", ["sign", "swap", "caret", "drop"])
def test_the_round_trip_has_power(plant, monkeypatch):
    """Wrong printers: a flipped sign, swapped factors, ``^`` for powers, a dropped term; each is caught."""
    f = all_formulas()["C3.residual_B"]  # e_B = -(Id - M_B*M_A)**(-1)*M_B*K_A*Delta
    good = f.text()
    bad = {"sign": good.replace("= -(", "= ("), "swap": good.replace("M_B*K_A", "K_A*M_B"),
           "caret": good.replace("**(-1)", "^(-1)"), "drop": good.replace(" - M_B*M_A", "")}[plant]
    assert bad != good
    monkeypatch.setattr(Formula, "text", lambda self: bad)
    assert round_trip_defects(f)


def test_transposed_sum_reads_as_its_statement():
    f = all_formulas()["L1b.general_map"]
    assert "transpose(b - H*w)*p_x" in f.text() or "transpose(b - H*w)*nu_x" in f.text()
    assert r"\left(b - H w\right)^{T}" in f.latex()


def test_json_gives_each_formula_its_symbols_table(capsys):
    assert cli.main(["derive", "--format", "json", "--claims", "L1b,C3,C7"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    for r in doc["formulas"]:
        table = r["symbols"]
        assert all("commutative" in e or e.get("function") for e in table.values())
        assert set(NAME.findall(r["text"])) <= set(table)
        lhs, rhs = r["text"].split(" = ")
        f = all_formulas()[r["id"]]
        assert sp.expand(parse_side(rhs, table) - notation.symbolic(f.rhs)) == 0
    c3 = next(r for r in doc["formulas"] if r["id"] == "C3.residual_A")["symbols"]
    assert c3["Id"] == {"commutative": False, "meaning": "identity matrix"}
    assert c3["Delta"]["definition"] == "w_B_star - w_A_star" and c3["M_A"]["commutative"] is False
    c7 = next(r for r in doc["formulas"] if r["id"] == "C7.s_steps")["symbols"]
    assert c7["s"]["commutative"] is True  # the exponent of M_A**s is a scalar


def test_one_order_for_every_format(tmp_path, capsys):
    claims = "C3,C1,L1,P2"  # not in registry order on purpose
    assert cli.main(["derive", "--format", "text", "--claims", claims]) == 0
    text_ids = re.findall(r"^(\S+) \[", capsys.readouterr().out, flags=re.M)
    assert cli.main(["derive", "--format", "json", "--claims", claims]) == 0
    json_ids = [r["id"] for r in json.loads(capsys.readouterr().out)["formulas"]]
    macros = latex.macros_tex({}, formulas=formula_list.ordered(claims.split(",")))
    macro_ids = re.findall(r"^% (\S+)  fingerprint", macros, flags=re.M)
    assert text_ids == json_ids == macro_ids
    claims_in_order = list(dict.fromkeys(i.split(".")[0] for i in text_ids))
    assert claims_in_order == ["L1", "C1", "C3", "P2"]  # the registry's order, not the caller's


def anchored_defect(lhs, rhs) -> bool:
    """Does P4's formula (``e_A`` the compiler's residual, omega the gallery's weight) fail to reduce to 0?"""
    from proofs_check.claims.p_protocol import anchored_formula_holds
    from theory.protocol import chains

    return not anchored_formula_holds(chains.compiled("anchored"), lhs, rhs)


def test_p4_formula_is_the_identity_p4_proves():
    from theory import derivations
    f = all_formulas()["P4.anchored_plateau_A"]
    assert not anchored_defect(f.lhs, f.rhs)
    w = derivations.omega
    assert anchored_defect(f.lhs, f.rhs.xreplace({w: 1 - w}))  # planted: the weights swapped
    assert anchored_defect(f.lhs, -f.rhs)  # planted: flipped sign


def protocol_expected(cp, expr) -> sp.Expr:
    """The compiler's object in the text's names, built from its symbols (not from the printed text)."""
    inverses = {Q: sp.Symbol(n, commutative=False) for Q, n in printing.inverse_names(cp, tex=False).items()}
    out = {}
    for s in expr.free_symbols:
        name = s.name.replace("\\", "").replace("{", "").replace("}", "")
        if s in inverses:
            out[s] = inverses[s]
        elif name.startswith("(w^*_"):
            j, i = name[5:-1].split(" - w^*_")
            out[s] = sp.Symbol(f"w_{j}_star", commutative=False) - sp.Symbol(f"w_{i}_star", commutative=False)
        elif name.endswith("^T"):
            out[s] = sp.transpose(sp.Symbol(notation.text_name(name[:-2]), commutative=s.is_commutative))
        else:
            out[s] = sp.Symbol(notation.text_name(name), commutative=s.is_commutative)
    return expr.xreplace(out)


def protocol_text_defect(cp, expr, printed: str) -> str | None:
    if "^" in printed or "w^*" in printed or "*_" in printed:
        return f"not Python/SymPy syntax: {printed}"
    names = {n: sp.Symbol(n, commutative=False) for n in NAME.findall(printed) if n not in FUNCTIONS}
    names.update({n: FUNCTIONS[n] for n in NAME.findall(printed) if n in FUNCTIONS})
    for n in ("omega",):  # the protocols' scalar weight (P4's anchoring weight)
        if n in names:
            names[n] = sp.Symbol(n)
    got = parse_expr(printed, local_dict=names, transformations=standard_transformations)
    got = got.subs(names[notation.IDENTITY_TEXT], 1) if notation.IDENTITY_TEXT in names else got
    diff = sp.expand(got - protocol_expected(cp, expr))
    return None if diff == 0 else f"{printed} differs from the compiler's object by {diff}"


def test_protocol_text_parses_back_for_the_gallery():
    from theory.protocol import gallery
    from theory.protocol.compiler import compile_protocol
    defects = []
    for entry in gallery.entries():
        cp = compile_protocol(entry.spec, noise=entry.key == "simultaneous")  # one noisy round: transposes
        exprs = [*cp.fixed_point, *(cp.residual(i) for i in range(len(cp.names))), *cp.r,
                 *(x for row in cp.Phi for x in row), *cp.lyapunov.values()]
        for e in exprs:
            defect = protocol_text_defect(cp, e, printing.text(cp, e))
            if defect:
                defects.append(f"{entry.key}: {defect}")
    assert defects == []


def test_protocol_text_check_has_power():
    from theory.protocol import chains
    cp = chains.compiled("simultaneous")
    e = cp.residual(1)
    good = printing.text(cp, e)
    assert protocol_text_defect(cp, e, good) is None
    assert protocol_text_defect(cp, e, good.replace("Id", "2*Id"))  # planted: a wrong identity coefficient
    assert protocol_text_defect(cp, e, good.replace("w_A_star - w_B_star", "w_B_star - w_A_star"))  # flipped gap
    assert protocol_text_defect(cp, e, good.replace("Q1*M_B", "Q1*M_B^1"))  # '^', XOR in Python
    assert protocol_text_defect(cp, e, good.replace("Q1*M_B", "M_B*Q1"))  # planted: swapped factors


def test_macros_of_chain_formulas_say_how_they_were_proved_and_refuse_a_broken_chain(monkeypatch):
    from theory import derivations
    fs = [all_formulas()[i] for i in ("C4.gap_norm", "C10.rank_one_fixes_gap", "P2.simultaneous_fixed_point_B")]
    tex = latex.macros_tex({"C4": "passed by V1 (quick profile)"}, formulas=fs)
    comments = re.findall(r"^% (\S+) .*verification: (.*)  provenance", tex, flags=re.M)
    assert comments == [("C4.gap_norm", "passed by V1 (quick profile); its derivation proved step by step by V3"),
                        ("C10.rank_one_fixes_gap", "not run; its derivation proved step by step by V2, d = 2, 3"),
                        ("P2.simultaneous_fixed_point_B", "not run; its derivation proved step by step by V1")]
    real = derivations.check

    def broken(chain):  # planted: the last step of every chain fails
        out = real(chain)
        return out[:-1] + [derivations.StepCheck(out[-1].index, out[-1].method, False, "x")]
    monkeypatch.setattr(derivations, "check", broken)
    with pytest.raises(latex.UnverifiedStep):
        latex.macros_tex({}, formulas=fs)
