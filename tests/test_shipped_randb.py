"""R1's VS on a small Markov chain that takes the named-elimination path (proofs_check/verification/shipped_randb.py):
it passes on the package and FAILS on wrong variants planted in theory/protocol/named_elimination.py (the proof
silenced, so that only the numeric reference can see them) and in the printed document."""
from __future__ import annotations

import inspect
import math
import re

import pytest

from proofs_check.verification import shipped_randb as SR
from proofs_check.verification.registry import PROFILES
from theory.protocol import named_elimination as NE

QUICK = PROFILES["quick"]


def field(out, name: str) -> float:
    """The worst error of one ledger field, in units of its bar."""
    mt = re.search(rf"{re.escape(name)} (\S+) \(bar (\S+)\)", out.detail)
    assert mt is not None, out.detail
    return float(mt.group(1)) / float(mt.group(2))


def passes(out) -> bool:
    return (not math.isnan(out.worst_error)) and out.worst_error <= out.tolerance


def test_passes_on_the_package_and_takes_the_named_path():
    out = SR.named_small_outcome(QUICK)
    assert passes(out), out.detail
    for name in ("named path taken", "written messages y", "stationary mean", "fixed_points weights G",
                 "checks proved", "check labels", "weights_sum_to_one (averaging)", "named blocks U",
                 "eliminated right sides h"):
        assert field(out, name) <= 1.0


def test_r1_vs_runs_the_small_chain():
    from proofs_check.claims.r_random import CLAIMS

    r1 = next(c for c in CLAIMS if c.id == "R1")
    assert "NAMED_SMALL" in (r1.methods["VS"].__doc__ or "")


def _replace_in(monkeypatch, name: str, old: str, new: str, module=NE) -> None:
    """Redefine ``module.<name>`` from its source with ``old`` replaced by ``new`` (restored after)."""
    src = inspect.getsource(getattr(module, name))
    assert src.count(old) == 1
    space: dict = {}
    exec(compile(src.replace(old, new), module.__file__, "exec"), module.__dict__ | space, space)
    monkeypatch.setattr(module, name, space[name])


@pytest.mark.parametrize("name, old, new", [
    # the back substitution's later unknowns added instead of subtracted
    ("solve", "signs=[1] + [-1] * len(later)", "signs=[1] + [1] * len(later)"),
    # the right side's multiplier A_ik Q_k and a Schur block's multiplier taken in the wrong order
    ("solve", "pmul(A[i][k], el.Q[k], h[k])", "pmul(el.Q[k], A[i][k], h[k])"),
    ("eliminate", "pmul(A[i][k], Qk)", "pmul(Qk, A[i][k])"),
    # a Schur block's update added
    ("eliminate", "pmul(L, A[k][j]), signs=(1, -1)", "pmul(L, A[k][j]), signs=(1, 1)"),
])
def test_wrong_elimination_with_the_proof_silenced_fails(monkeypatch, name, old, new):
    _replace_in(monkeypatch, name, old, new)
    monkeypatch.setattr(NE, "checks", lambda alg, el: [])  # the derivation's own proof would refuse it
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert field(out, "written messages y") > 1.0 or field(out, "stationary mean") > 1.0


def test_a_wrong_printed_message_fails(monkeypatch):
    """One back-substituted message's printed definition doubled: the y field fails."""
    from proofs_check.verification import shipped_cli as cli

    real = cli.run_commands

    def swapped(argvs):
        out = real(argvs)
        doc = out[0].json()
        y = next(e for e in doc["definitions"] if e["text_name"].startswith("y_"))
        y["text"] = f"2*({y['text']})"
        import dataclasses
        import json
        return [dataclasses.replace(out[0], stdout=json.dumps(doc))]

    monkeypatch.setattr(SR.cli, "run_commands", swapped)
    out = SR.named_small_outcome(QUICK)
    assert field(out, "written messages y") > 1.0


def test_the_named_path_is_required(monkeypatch):
    """A document without back-substituted messages (e.g. the expanded path) fails "named path taken"."""
    from proofs_check.verification import shipped_cli as cli

    real = cli.run_commands

    def dropped(argvs):
        out = real(argvs)
        doc = out[0].json()
        doc["definitions"] = [e for e in doc["definitions"] if not e["text_name"].startswith("y_")]
        import dataclasses
        import json
        return [dataclasses.replace(out[0], stdout=json.dumps(doc))]

    monkeypatch.setattr(SR.cli, "run_commands", dropped)
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert field(out, "named path taken") > 1.0


# The printed list of proved checks (shipped_randb_labels.check_labels, in every random derive case)
@pytest.mark.parametrize("module, name, old, new", [
    ("random_checks", "second_moment_checks", 'f"Q_{l + 1}: the', 'f"Q_{l + 0}: the'),
    ("random_checks", "mean_checks", 'f"q_({l + 1},{nm[a]})', 'f"q_({l + 2},{nm[a]})'),
    ("random_checks", "round_map_checks", "for k in range(rs.n):", "for k in range(rs.n - 1):"),])
def test_a_wrong_check_label_in_the_markov_case_fails(monkeypatch, module, name, old, new):
    import importlib

    from proofs_check.verification import shipped_derive_random as S

    _replace_in(monkeypatch, name, old, new, importlib.import_module(f"theory.protocol.{module}"))
    out = S.random_derive_method([S.MARKOV], [])(QUICK)
    assert not passes(out)
    assert field(out, "check labels") > 1.0


@pytest.mark.parametrize("module, name, old, new, which", [
    ("named_elimination", "checks", 'f"back substitution {k + 1}', 'f"back substitution {k + 2}', "check labels"),
    ("named_elimination", "checks", 'f"elimination step {k + 1}, right side {s}',
     'f"elimination step {k}, right side {s}', "check labels: elimination rows"),
    ("named_elimination", "checks", "for k in range(1, n):", "for k in range(2, n):",
     "check labels: elimination swaps"),
    ("random_markov", "checks", 'f"G_({names[a]},{names[j]})', 'f"G_({names[j]},{names[a]})', "check labels"),
    # the weights' defect miscomputed: the residuals keep a (zero) w*_i term and say the weights need not sum to one
    ("random_markov", "weight_defect", "signs=[1] * K + [-1]", "signs=[1] * K + [1]", "weights_sum_to_one (averaging)"),
])
def test_a_wrong_check_label_on_the_named_path_fails(monkeypatch, module, name, old, new, which):
    import importlib

    _replace_in(monkeypatch, name, old, new, importlib.import_module(f"theory.protocol.{module}"))
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert field(out, which) > 1.0


# Wrong names with the algebra still consistent (every proof holds, the mean is right) and the pivot taken from the
# last candidate row: the letters' names and values against the elimination done numerically. (This chain's
# pivots are all on the diagonal, so no row is swapped: a mislabelled swapped row is not seen here.)
@pytest.mark.parametrize("name, old, new, which", [
    ("eliminate", "U = u_letter(k + 1, labels[rows[i]], labels[j])", "U = u_letter(k + 2, labels[rows[i]], labels[j])",
     "named blocks U"),
    ("solve", "h_letter(k + 1, src, lab[rows[i]])", "h_letter(k + 2, src, lab[rows[i]])", "eliminated right sides h"),
    ("eliminate", "p = next((i for i in range(k, n) if A[i][k]), None)",
     "p = next((i for i in reversed(range(k, n)) if A[i][k]), None)", "named blocks U"),
])
def test_wrong_named_letters_fail(monkeypatch, name, old, new, which):
    _replace_in(monkeypatch, name, old, new)
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)
    assert not field(out, which) <= 1.0  # NaN (a letter missing) fails too


def test_noise_cross_terms_must_vanish(monkeypatch):
    """Two noisy replies in one round: E[eps_A eps_B^T] taken as a noise covariance (``v >= u`` for ``v == u`` in
    random_checks._expectation) makes the derivation's own second-moment proof fail, so derive refuses."""
    from theory.protocol import random_checks

    _replace_in(monkeypatch, "_expectation", 'kv == "eps" and ku == "eps" and v == u',
                'kv == "eps" and ku == "eps" and v >= u', random_checks)
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)


def test_a_noise_letter_read_with_a_one_letter_name_fails(monkeypatch):
    """The agents have names of several letters: S_i read from the first letter of the name only (``[:1]`` for
    ``[:-1]`` in random_checks._expectation) makes the second-moment proof fail, so derive refuses."""
    from theory.protocol import random_checks

    _replace_in(monkeypatch, "_expectation", 'noise_cov(v.split(",")[1][:-1])', 'noise_cov(v.split(",")[1][:1])',
                random_checks)
    out = SR.named_small_outcome(QUICK)
    assert not passes(out)


def test_two_alternatives_index_off_by_k_fails(monkeypatch):
    """A chain of two alternatives: the conditional moment u = l K + a read as l + K + a (random_checks.mean_checks)
    runs past the last block, so derive fails."""
    from proofs_check.verification import runner
    from theory.protocol import random_checks

    _replace_in(monkeypatch, "mean_checks", "u = l * K + a", "u = l + K + a", random_checks)
    result = runner.run_method("VS", SR.two_states_outcome, QUICK)  # the crash is a failed method
    assert result["status"] == "failed"


def test_two_alternatives_pass():
    out = SR.two_states_outcome(QUICK)
    assert passes(out), out.detail
    assert field(out, "check labels") <= 1.0
