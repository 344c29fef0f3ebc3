"""``derive --protocol`` LaTeX of random protocols at the grade of the deterministic documents: every
example random protocol compiles in one pdflatex run with no overfull box and no ASCII mathematics
(identity printed as I, agent names and Q_l in math mode, hypotheses in words and mathematics)."""
import json
import re

from test_protocol_latex import ascii_math, body, compile_log
from theory.protocol import random_report as RR
from theory.protocol.random_compiler import compile_random

EXAMPLES = ("random_random_speaker", "random_group_chat", "random_gossip_ring", "random_wake_ups",
            "random_dropped_links", "random_attack")


def documents(tmp_path, capsys):
    from proofs_check.cli.main import main
    out = []
    for name in EXAMPLES:
        path = tmp_path / f"{name}.tex"
        assert main(["derive", "--protocol", f"examples/{name}.json", "--format", "latex", "--out", str(path),
                     "--force"]) in (0, None)
        out.append((name, path.read_text()))
    capsys.readouterr()
    return out


def test_random_documents_compile_with_no_overfull_box_and_no_ascii_math(tmp_path, capsys):
    docs = documents(tmp_path, capsys)
    for name, tex in docs:
        assert ascii_math(tex) == [], (name, ascii_math(tex)[:5])
    one = docs[0][1].split("\\begin{document}")[0] + "\\begin{document}\n" + "\n\\clearpage\n".join(
        body(t) for _, t in docs) + "\n\\end{document}\n"
    log = compile_log(tmp_path, one)
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)[:5]


def test_the_random_report_typesets_the_identity_names_and_q_l():
    """Power: the three defects the ASCII check found in the random documents, planted back, are found."""
    assert ascii_math("\\begin{document}$1 - M_{B} M_{A}$") != []
    assert ascii_math("\\begin{document}\\item A hears B") != []
    assert RR._math_names("A hears B; Q\\_1: equation", ["A", "B"]) == "$A$ hears $B$; $Q_{1}$: equation"
    assert "I - " in RR._f(compile_random(_two()), {(): 1, (_m("A"),): -1})["latex"]


def _m(name):
    import sympy as sp
    return sp.Symbol(f"M_{name}", commutative=False)


def _two():
    from theory.protocol.random_description import independent
    return independent(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]])


def test_examples_are_random_protocols():
    for name in EXAMPLES:
        assert "random" in json.load(open(f"examples/{name}.json"))["protocol"]
