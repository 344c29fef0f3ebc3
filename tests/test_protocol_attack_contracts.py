"""Input contracts of ``attack`` under a protocol (numerics.interventions.protocol_attack): the refusals
(exit 2, one line) when no attack of the kind exists there, with the numbers they name, and the victim
a pair accepts. Each refusal's sentence is read back: the attacked protocol's rate at exactly 1, a
victim that never hears the attacker (G = 0), a G of rank 1 in d = 3 (its smallest singular value 0 and
the count of directions it moves), rank-one under a protocol that is not two agents speaking in turn."""
import json
import re

import pytest

from proofs_check.cli import main as cli_main

cli = cli_main.main

MARGIN = 1e-12  # numerics.protocol.evaluate.CONVERGENCE_MARGIN, restated: the band below 1 refused as diverging
# The smallest singular value of G = M_B (here diagonal) as the package computes it: its fixed points are solves
# (rounding ~1e-16 of G's largest entry 0.5) and 1 - (1 - 1e-12) carries the rounding of 1 - 1e-12 (~1e-16).
SINGULAR_TOL = 1e-15
# The round robin of three agents written out: each hears the one who spoke before it (C, then A, then B)
CYCLE = [{"A": {"C": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}]
EYE = {1: [[1.0]], 2: [[1.0, 0.0], [0.0, 1.0]], 3: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}


def _config(tmp_path, rounds, d=2, names="ABC", geometry=None, gamma=0.5):
    agents = [{"name": n, "geometry": (geometry or {}).get(n, EYE[d]), "target": [0.5 * (k + 1)] * d,
               "preconditioner": gamma} for k, n in enumerate(names)]
    raw = {"schema_version": 1, "agents": agents, "initial_message": [0.0] * d}
    if rounds is not None:
        raw["protocol"] = {"rounds": rounds}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(raw))
    return str(path)


def _fresh(argv) -> list[str]:
    """New string objects, as a real command line gives (this module's literals are interned)."""
    return [a.encode().decode() for a in argv]


def _run(argv) -> int:
    return cli(["attack", *_fresh(argv)])


def _error(capsys, argv) -> str:
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def _doc(capsys, argv) -> dict:
    assert _run(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_an_attacked_protocol_of_rate_exactly_one_is_refused(tmp_path, capsys):
    # C hears itself with weight 2 and M_C = 1 - 0.5 * 1 = 0.5 (d = 1): its block of the round map is 1.0
    # exactly, whatever the attacker does; the band of CONVERGENCE_MARGIN below 1 is closed at 1 too
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"A": 1.0}, "C": {"C": 2.0}}], d=1)
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "B", "--point", "[0.3]"])
    assert "rho of the attacked protocol's round map = 1.0" in err and "diverge" in err


def test_an_attacked_protocol_of_rate_exactly_one_minus_the_margin_is_refused(tmp_path, capsys):
    # as above with C's weight 2 (1 - 1e-12): C's block is exactly 1 - CONVERGENCE_MARGIN, inside the band
    weight = 2 * (1 - MARGIN)
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"A": 1.0}, "C": {"C": weight}}], d=1)
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "B", "--point", "[0.3]"])
    assert f"rho of the attacked protocol's round map = {1 - MARGIN!r}" in err and "diverge" in err


def test_a_victim_that_never_hears_the_attacker_is_named(tmp_path, capsys):
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"C": 0.5}, "C": {"B": 0.5}}])
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "C", "--point", "[1, 1]"])
    assert "(smallest singular value) = 0.0: is singular (condition inf > 1e+10): C never hears A" in err


def test_a_target_that_moves_the_victim_in_one_direction_is_refused(tmp_path, capsys):
    # B hears A alone (weight 1), so G = M_B (I - M_A) = M_B (the attacker's M_A = 0); with H_B = diag(1e-9, 2, 2)
    # and preconditioner 0.5, M_B = diag(1 - 5e-10, 0, 0): rank 1, its two smallest singular values exactly 0
    geometry = {"B": [[1e-9, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]}
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], d=3, geometry=geometry)
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "B", "--point", "[1, 1, 1]"])
    assert "(smallest singular value) = 0.0: is singular" in err
    assert "moves B's fixed point in only 1 of 3 directions" in err


def test_directions_below_the_condition_bar_are_not_counted(tmp_path, capsys):
    # M_B = diag(0.5, 1e-11, 1e-12) (H_B = I - M_B, preconditioner 1): G = M_B, cond 5e11; only the first
    # singular value exceeds s_max / MAX_SENSITIVITY_COND = 5e-11, and the smallest printed is 1e-12
    geometry = {"B": [[0.5, 0.0, 0.0], [0.0, 1 - 1e-11, 0.0], [0.0, 0.0, 1 - 1e-12]]}
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], d=3, geometry=geometry,
                  gamma=1.0)
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "B", "--point", "[1, 1, 1]"])
    assert "moves B's fixed point in only 1 of 3 directions" in err
    smallest = float(re.search(r"\(smallest singular value\) = ([0-9.e+-]+):", err).group(1))
    assert abs(smallest - (1 - (1 - 1e-12))) <= SINGULAR_TOL


def test_a_victim_moved_in_two_of_three_directions(tmp_path, capsys):
    # M_B = diag(0.5, 0.3, 0) (H_B = diag(0.5, 0.7, 1), preconditioner 1): G = M_B has rank 2, its smallest
    # singular value exactly 0 (cond infinite)
    geometry = {"B": [[0.5, 0.0, 0.0], [0.0, 0.7, 0.0], [0.0, 0.0, 1.0]]}
    cfg = _config(tmp_path, [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], d=3, geometry=geometry,
                  gamma=1.0)
    err = _error(capsys, [cfg, "--kind", "steer", "--victim", "B", "--point", "[1, 1, 1]"])
    assert "(smallest singular value) = 0.0: is singular (condition inf > 1e+10)" in err
    assert "moves B's fixed point in only 2 of 3 directions" in err


def test_steer_among_three_agents_needs_a_victim(tmp_path, capsys):
    cfg = _config(tmp_path, CYCLE)
    assert "--victim = None: is required" in _error(capsys, [cfg, "--kind", "steer", "--point", "[1, 1]"])


def test_rank_one_is_refused_unless_two_agents_speak_in_turn(tmp_path, capsys):
    for rounds, names in (([{"A": {"A": 0.3, "B": 0.7}}, {"B": {"A": 1.0}}], "AB"),  # two agents, anchored
                          (CYCLE, "ABC")):  # a cycle of 3
        err = _error(capsys, [_config(tmp_path, rounds, names=names), "--kind", "rank-one"])
        assert "C10 does not apply" in err


def test_a_cycle_of_three_agents_is_attacked_under_its_protocol(tmp_path, capsys):
    doc = _doc(capsys, [_config(tmp_path, CYCLE), "--kind", "full"])
    assert doc["claim"] == "C9 (any protocol)" and doc["victim"] is None


@pytest.mark.parametrize("attacker, victim, match", [("A", "A", "the attacker"), ("A", "Z", "must be the other agent"),
                                                     ("B", "B", "the attacker")])
def test_the_victim_of_a_pair(tmp_path, capsys, attacker, victim, match):
    cfg = _config(tmp_path, None, names="AB")
    other = "B" if attacker == "A" else "A"
    argv = [cfg, "--kind", "steer", "--point", "[0.2, 0.1]", "--attacker", attacker, "--victim"]
    doc = _doc(capsys, argv + [other])
    assert doc["victim"] == other and doc["attacker"] == attacker
    assert match in _error(capsys, argv + [victim])


def _steer_exact(M_B):
    """``steering_target`` on the three-agent protocol above (A, B hears A, C hears B) with the attacker's map
    exactly 0 (the full-rank prompt's M_A in exact arithmetic, C9) and offsets 0: B's fixed point is
    ``M_B c_A``, so ``G = M_B`` exactly (no rounding enters) and its singular values are |M_B|'s entries."""
    import numpy as np

    from numerics.interventions import protocol_attack
    from numerics.protocol import spec

    d = len(M_B)
    M = np.stack([np.zeros((d, d)), np.diag(M_B), 0.5 * np.eye(d)])
    proto = spec.build([{"A": {"B": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], ["A", "B", "C"], d, np.zeros(d))
    W, mask = proto.weights()
    return protocol_attack.steering_target(M, np.zeros((3, d)), W, mask, 0, 1, [1.0] * d, ["A", "B", "C"])


def test_a_condition_exactly_at_the_bar_is_accepted():
    """cond G = 1e10 = MAX_SENSITIVITY_COND exactly (G = diag(-1e10, 1)): the bar is inclusive, the target is
    G^-1 p."""
    w_A, cond = _steer_exact([-1e10, 1.0])
    assert cond == 1e10 and w_A.tolist() == [-1e-10, 1.0]


def test_a_singular_value_exactly_at_the_bar_counts_as_moved():
    """G = diag(-1e10, 1, 0): singular, and the direction of singular value s_max / 1e10 exactly counts as moved
    (alone it would pass the inclusive bar of the test above): 2 of 3 directions."""
    from numerics.io.errors import InputError

    with pytest.raises(InputError, match=r"moves B's fixed point in only 2 of 3 directions"):
        _steer_exact([-1e10, 1.0, 0.0])
