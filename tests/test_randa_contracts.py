"""Input contracts of the random-protocol description (theory.protocol.random_description): a law that
does not sum to 1 (above or below, exactly or symbolically), a law of the wrong length or a transition
matrix of the wrong shape is refused with ValueError naming the sum or the row; without labels the
alternatives are numbered from 1; symbolic probabilities are ``p_1 .. p_{n-1}`` and one minus their sum.
The mutation killer of random_description.py runs this file (mutation/targets.toml)."""
import pytest
import sympy as sp

from theory.protocol.random_description import independent, markov, probability_symbols, stationary_law

NAMES = ["A", "B"]
ALTS = [[{"A": {"B": 1}}], [{"B": {"A": 1}}], [{"A": {"B": 1}}, {"B": {"A": 1}}]]
HALF, THIRD, QUARTER = sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 4)
q = sp.Symbol("q")


@pytest.mark.parametrize("law, shown", [([HALF, QUARTER, QUARTER / 2], "7/8"), ([HALF, HALF, QUARTER], "5/4"),
                                        ([q, q, q], "3*q"), ([q, 1 - q, q], "q + 1")])
def test_independent_refuses_a_law_not_summing_to_one(law, shown):
    with pytest.raises(ValueError, match=rf"sum to {shown.replace('*', '[*]').replace('+', '[+]')}, not 1"):
        independent(NAMES, ALTS, law)


def test_independent_refuses_a_law_of_the_wrong_length():
    for law in ([HALF, HALF], [QUARTER] * 4):
        with pytest.raises(ValueError, match=f"{len(law)} probabilities for 3 alternatives"):
            independent(NAMES, ALTS, law)


@pytest.mark.parametrize("row, shown", [([HALF, QUARTER, 0], "3/4"), ([HALF, HALF, HALF], "3/2"),
                                        ([q, q, 0], "2*q"), ([q, 1 - q, QUARTER], "5/4")])
def test_markov_refuses_a_row_not_summing_to_one(row, shown):
    ok = [THIRD, THIRD, THIRD]
    for j in range(3):  # the bad row in every position: each row is checked
        P = [row if k == j else ok for k in range(3)]
        with pytest.raises(ValueError, match=rf"row {j} of P sums to {shown.replace('*', '[*]')}, not 1"):
            markov(NAMES, ALTS, P)


def test_markov_refuses_a_matrix_of_the_wrong_shape():
    for P in ([[HALF, HALF]] * 2, [[THIRD] * 3] * 2, [[THIRD] * 3] * 4, [[THIRD] * 3, [THIRD] * 3, [HALF, HALF]],
              [[THIRD] * 3, [QUARTER] * 4, [THIRD] * 3]):  # too few or too many rows; a row too short or too long
        with pytest.raises(ValueError, match="P must be 3 x 3"):
            markov(NAMES, ALTS, P)


def test_default_labels_number_the_alternatives_from_one():
    want = ("alternative 1", "alternative 2", "alternative 3")
    assert independent(NAMES, ALTS, [HALF, QUARTER, QUARTER]).labels == want
    assert markov(NAMES, ALTS, [[THIRD] * 3] * 3).labels == want
    given = ("x", "y", "z")
    assert independent(NAMES, ALTS, [HALF, QUARTER, QUARTER], labels=given).labels == given
    assert markov(NAMES, ALTS, [[THIRD] * 3] * 3, labels=given).labels == given


def test_probability_symbols():
    p1, p2 = sp.Symbol("p_1"), sp.Symbol("p_2")
    assert probability_symbols(3) == (p1, p2, 1 - p1 - p2)
    assert probability_symbols(1) == (sp.Integer(1),)
    rs = independent(NAMES, ALTS)  # default: symbolic probabilities
    assert rs.probabilities == (p1, p2, 1 - p1 - p2)
    assert stationary_law(rs) == (p1, p2, 1 - p1 - p2)


def test_stationary_law_of_a_chain():
    # pi P = pi by hand: P = [[0, 1, 0], [0, 0, 1], [1/2, 0, 1/2]]: pi_2 = pi_1, pi_3 = pi_2 + pi_3 / 2
    P = [[0, 1, 0], [0, 0, 1], [HALF, 0, HALF]]
    assert stationary_law(markov(NAMES, ALTS, P)) == (QUARTER, QUARTER, HALF)
    # two closed classes: no unique stationary law
    with pytest.raises(ValueError, match="no unique stationary law"):
        stationary_law(markov(NAMES, ALTS, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]))


def test_derived_random_refuses_a_failed_check_by_name(monkeypatch):
    """random_report.derived_random prints nothing when a V1 check fails: Unverified names the FIRST failed check
    and at most 200 characters of its residual."""
    from types import SimpleNamespace

    from theory.protocol import random_report as RR
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.report import Unverified

    rc = compile_random(independent(NAMES, ALTS[:2], [HALF, HALF]))
    residual = "r" * 150 + "s" * 100
    checks = [SimpleNamespace(label="fine", holds=True, residual=""),
              SimpleNamespace(label="first wrong", holds=False, residual=residual),
              SimpleNamespace(label="second wrong", holds=False, residual="x")]
    monkeypatch.setattr(RR, "verify", lambda _: checks)
    with pytest.raises(Unverified) as err:
        RR.derived_random(rc)
    assert str(err.value) == f"'first wrong' does not reduce to 0 (residual {residual[:200]}); refusing to print"
    monkeypatch.setattr(RR, "verify", lambda _: checks[:1])
    assert RR.derived_random(rc)["checks"] == [{"label": "fine", "method": "V1", "holds": True}]


def test_one_alternative():
    """A random protocol of one alternative (probability 1) is derived like any other: its mean, every check."""
    from theory.protocol import random_report as RR
    from theory.protocol.random_compiler import compile_random

    rc = compile_random(independent(NAMES, ALTS[2:], [1]))
    assert rc.law == (1,) and rc.mean is not None and not rc.notes
    doc = RR.derived_random(rc)
    assert all(c["holds"] for c in doc["checks"]) and set(doc["fixed_points"]) == set(NAMES)


def _same_at(sym, num, subs: dict) -> bool:
    """``sym``'s first-moment operator, offsets and second-moment equations at ``subs`` are ``num``'s."""
    def at(p: dict, values: dict | None = None) -> dict:
        out = {w: sp.simplify(sp.sympify(c).subs(values or {})) for w, c in p.items()}
        return {w: c for w, c in out.items() if c != 0}
    return (sym.second_moment.keys() == num.second_moment.keys()
            and all(at(sym.second_moment[k], subs) == at(num.second_moment[k]) for k in num.second_moment)
            and all(at(x, subs) == at(y) for X, Y in zip(sym.mean_map, num.mean_map) for x, y in zip(X, Y))
            and all(at(x, subs) == at(y) for x, y in zip(sym.mean_offset, num.mean_offset)))


def test_symbolic_chain():
    """A chain with a symbolic probability: its first-moment operator and second-moment equations at s = 1/2 are
    those of the chain at 1/2 (no comparison of a symbol with 0 decides which terms to keep); and a chain whose
    transition x -> y has probability t, at t = 1, is the chain with that transition certain (a transition of
    probability 1 keeps its terms)."""
    from theory.protocol import random_gallery as RG
    from theory.protocol.random_compiler import compile_random

    s, t = sp.Symbol("s"), sp.Symbol("t")
    assert _same_at(compile_random(RG.group_chat(s), derive_mean=False),
                    compile_random(RG.group_chat(), derive_mean=False), {s: HALF})
    rows = [[1 - t, t, 0], [0, 0, 1], [HALF, 0, HALF]]
    sym = compile_random(markov(NAMES, ALTS, rows), derive_mean=False)
    num = compile_random(markov(NAMES, ALTS, [[x.subs(t, 1) if isinstance(x, sp.Expr) else x for x in r]
                                              for r in rows]), derive_mean=False)
    assert _same_at(sym, num, {t: 1})


def test_chain_past_the_unknowns_limit():
    """A chain writing 25 messages (past random_markov.MAX_UNKNOWNS = 24): its conditional first moments are left to
    their equations, said in a note; the second-moment equations are still derived."""
    from theory.protocol.random_compiler import compile_random

    names = list("ABCDE")
    alts = [[{x: {names[(i + 1 + k) % 5]: 1} for i, x in enumerate(names)}] for k in range(5)]
    rc = compile_random(markov(names, alts, [[sp.Rational(1, 5)] * 5] * 5))
    assert rc.mean is None and rc.named is None
    assert rc.notes == ["the conditional first moments: given by their equations (25 written messages to solve for "
                        "(limit 24))"]
    assert len(rc.second_moment) == 5 * 25 and all(rc.second_moment.values())


def test_random_spec_is_immutable():
    import dataclasses

    rs = independent(NAMES, ALTS[:2], [HALF, HALF])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rs.noisy = ("A",)  # type: ignore[misc]
    assert hash(rs) == hash(dataclasses.replace(rs))


def test_derive_one_alternative_config(tmp_path):
    """``a2ad derive --protocol`` on a config whose protocol.random has ONE alternative (probability 1)."""
    import json

    from proofs_check.verification import shipped_cli as cli

    agent = {"geometry": [[1.0, 0.0], [0.0, 2.0]], "preconditioner": 0.3, "steps_per_turn": 1}
    cfg = {"schema_version": 1, "initial_message": [0.0, 0.0],
           "agents": [{"name": "A", "target": [1.0, 0.0], **agent}, {"name": "B", "target": [0.0, 1.0], **agent}],
           "protocol": {"random": [{"probability": 1.0, "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]}]}}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(cfg))
    out = cli.run_commands([["derive", "--protocol", str(path), "--format", "json"]])[0]
    assert out.status == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [a["probability"]["text"] for a in doc["alternatives"]] == ["1"]
    assert set(doc["fixed_points"]) == {"A", "B"} and all(c["holds"] for c in doc["checks"])


def test_many_alternatives():
    """260 alternatives (past CPython's cache of small ints: lengths compared by value, not identity)."""
    n = 260
    alts = [ALTS[0]] * n
    law = [sp.Rational(1, n)] * n
    assert independent(NAMES, alts, law).n == n
    assert markov(NAMES, alts, [law] * n).n == n
