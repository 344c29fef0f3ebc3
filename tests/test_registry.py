"""The registry, runner and report: shape of the JSON contract and status rules."""
import json

import pytest

from proofs_check.claims import all_claims, select
from proofs_check.cli import main as cli
from proofs_check.verification import runner
from proofs_check.verification.registry import PROFILES, Claim, Outcome

QUICK = PROFILES["quick"]
FOUNDATION = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C17"]
LSA = ["L1", "L1b", "L2"]
ADVERSARIAL_AND_HELPERS = ["C8", "C9", "C10", "C11", "C12", "C13", "C14", "C14b", "C16"]
NOISE_AND_FITTING = ["C15", "C18"]
PROTOCOLS = ["P1", "P2", "P3", "P4", "P5"]
RANDOM = ["R1", "R2", "R3", "R4"]


def test_every_registered_claim_is_required_to_pass_quick():
    """No claim is left out of test_claim_passes_quick."""
    required = set(FOUNDATION + LSA + ADVERSARIAL_AND_HELPERS + NOISE_AND_FITTING + PROTOCOLS + RANDOM)
    assert {c.id for c in all_claims()} <= required


def test_foundation_claims_registered_with_their_methods():
    claims = {c.id: c for c in all_claims()}
    for cid in FOUNDATION:
        assert cid in claims
    assert {"V1", "V2", "V4", "V5", "V8"} <= set(claims["C2"].methods)
    assert {"V1", "V2", "V4", "V5", "V6"} <= set(claims["C3"].methods)
    assert "V3" in claims["C5"].methods


def _claim(methods):
    return Claim("X1", "test", (), "none", "equal", methods)


def test_status_rules():
    ok = lambda p: Outcome(0.0, 1.0, 1, "ok")
    bad = lambda p: Outcome(2.0, 1.0, 1, "bad")
    skip = lambda p: Outcome.skip("no tool")
    boom = lambda p: 1 / 0
    nan = lambda p: Outcome(float("nan"), 1.0, 1, "nan is never a pass")
    rep = runner.run([_claim({"V1": ok, "V2": skip})], QUICK)
    assert rep["claims"][0]["status"] == "passed"
    assert runner.run([_claim({"V1": skip})], QUICK)["claims"][0]["status"] == "skipped"
    for failing in (bad, boom, nan):
        assert runner.run([_claim({"V1": ok, "V2": failing})], QUICK)["claims"][0]["status"] == "failed"


@pytest.mark.parametrize("cid", FOUNDATION + LSA + ADVERSARIAL_AND_HELPERS + NOISE_AND_FITTING + PROTOCOLS + RANDOM)
def test_claim_passes_quick(cid):
    rep = runner.run(select([cid]), QUICK)
    methods = rep["claims"][0]["methods"]
    failed = [m for m in methods if m["status"] != "passed"]
    assert not failed, failed
    for m in methods:
        if m["status"] == "passed":
            assert m["worst_error"] <= m["tolerance"]
            assert m["power"], (cid, m["method"], "states no power (what a wrong answer looks like)")


def test_verify_json_contract(capsys):
    code = cli.main(["verify", "--claims", "C2,C5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"schema_version", "package_version", "profile", "claims", "summary"}
    assert out["schema_version"] == 1
    assert [c["id"] for c in out["claims"]] == ["C2", "C5"]
    m = out["claims"][0]["methods"][0]
    assert set(m) >= {"method", "status", "worst_error", "tolerance", "instances", "seconds", "detail"}
    assert out["summary"]["passed"] == 2 and out["summary"]["failed"] == 0


def test_verify_out_writes_reports(tmp_path, capsys):
    assert cli.main(["verify", "--claims", "C5", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["claims"][0]["id"] == "C5"
    assert "| C5 |" in (tmp_path / "report.md").read_text()


def test_verify_unknown_claim_is_user_error(capsys):
    assert cli.main(["verify", "--claims", "C99"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "C99" in err[0]


def test_witnesses_can_fail(monkeypatch):
    """A wrong closed form must make the float64 witnesses fail (they are not tautological)."""
    from numerics.dynamics import closed_forms
    from proofs_check.claims import c2_fixed_point, c3_biased_equilibrium

    true_bias = closed_forms.bias_maps
    monkeypatch.setattr(closed_forms, "bias_maps", lambda MA, MB: true_bias(MB, MA))  # A and B swapped
    out = c3_biased_equilibrium.v4(QUICK)
    assert out.worst_error > out.tolerance

    true_fp = closed_forms.fixed_points
    monkeypatch.setattr(closed_forms, "fixed_points", lambda M, c, check=True: true_fp(M, c, check) * (1 + 1e-6))
    out = c2_fixed_point.v4(QUICK)
    assert out.worst_error > out.tolerance
