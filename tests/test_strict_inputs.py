"""Strict numbers, bounded inputs and exact --precision (issue: no silent wrong number, no hang).

Each case the issue lists is reproduced here, with the behaviour it must have now.
"""
import json

import mpmath as mp
import numpy as np
import pytest

from numerics.dynamics import precise
from numerics.io import jsonio, validate
from numerics.io.errors import InputError
from numerics.protocol import config, simulate
from proofs_check.cli import main as cli

GOOD = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
    {"name": "B", "prompt": {"X": [[1.0, 0.0], [0.0, 2.0]], "y": [0.0, 2.0]}, "preconditioner": 0.5}],
    "initial_message": [0.0, 0.0]}


def run(capsys, argv):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def error_line(capsys, argv) -> str:
    code, out, err = run(capsys, argv)
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write(tmp_path, text, name="c.json"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def with_entry(path_keys, value):
    raw = json.loads(json.dumps(GOOD))
    node = raw
    for k in path_keys[:-1]:
        node = node[k]
    node[path_keys[-1]] = value
    return json.dumps(raw)


# --- strict numbers ---------------------------------------------------------------------------

NOT_NUMBERS = [
    (["agents", 1, "prompt", "X"], [["1.5", 0.0], [0.0, 2.0]], "B.prompt.X"),
    (["agents", 1, "prompt", "y"], [True, 2.0], "B.prompt.y"),
    (["agents", 0, "geometry"], [[True, 0.0], [0.0, 1.0]], "A.geometry"),
    (["agents", 0, "target"], ["1.5", 0.0], "A.target"),
    (["agents", 0, "preconditioner"], "0.5", "A.preconditioner"),
    (["agents", 0, "preconditioner"], True, "A.preconditioner"),
    (["agents", 0, "preconditioner"], [[False, 0.0], [0.0, 1.0]], "A.preconditioner"),
    (["initial_message"], [False, 0.0], "initial_message"),
    (["schema_version"], True, "schema_version"),
    (["schema_version"], "1", "schema_version"),
    (["schema_version"], 1.0, "schema_version"),
]


@pytest.mark.parametrize("keys, value, quantity", NOT_NUMBERS, ids=[f"{q}={v!r}" for _, v, q in NOT_NUMBERS])
@pytest.mark.parametrize("command", [["predict"], ["predict", "--precision", "20"], ["simulate", "--turns", "3"]])
def test_strings_and_booleans_are_not_numbers(tmp_path, capsys, keys, value, quantity, command):
    """Was: "1.5", true and false were accepted as numbers; "schema_version": true too."""
    path = write(tmp_path, with_entry(keys, value))
    assert quantity in error_line(capsys, [command[0], str(path), *command[1:]])


def test_numpy_would_have_converted_them():
    """The planted wrong variant: plain np.array(dtype=float) accepts what the validator refuses."""
    assert np.array(["1.5", True], dtype=float).tolist() == [1.5, 1.0]
    with pytest.raises(InputError, match="not a number"):
        validate.finite_array("v", ["1.5", True])


@pytest.mark.parametrize("text, problem", [
    ('{"agents": [], "agents": []}', "duplicate key 'agents'"),
    ('{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
    ('{"a": 1' + "0" * 400 + '}', "400"),
    ('{"a": -1' + "0" * 309 + '}', "digits is too large"),
    ('{"a": 1e400}', "too large for float64"),
    ('{"a": -1e400}', "too large for float64"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 70 + "]" * 70, "nested too deeply"),
])
def test_json_is_strict(tmp_path, capsys, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=problem):
        jsonio.load(path)
    assert problem in error_line(capsys, ["predict", str(path)])


def test_largest_float64_integer_is_accepted():
    assert jsonio.loads(str(int(jsonio.FLOAT64_MAX))) == int(jsonio.FLOAT64_MAX)


@pytest.mark.parametrize("data", [b"\xff\xfe{\x00}\x00", "{}".encode("utf-16"), b'{"a": "\xe9"}', b"\x80"])
def test_non_utf8_config_is_one_line(tmp_path, capsys, data):
    """Was: a traceback on non-UTF-8 or UTF-16 configs."""
    assert "not UTF-8" in error_line(capsys, ["predict", str(write(tmp_path, data))])


def test_utf8_bom_is_accepted(tmp_path, capsys):
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert run(capsys, ["predict", str(path)])[0] == 0


def test_config_size_is_bounded(capsys, monkeypatch, tmp_path):
    """Was: predict /dev/zero grew at 0.4 GB/s."""
    assert "larger than the limit" in error_line(capsys, ["predict", "/dev/zero"])
    monkeypatch.setattr(jsonio, "MAX_CONFIG_BYTES", 100)
    monkeypatch.setattr(config.jsonio, "MAX_CONFIG_BYTES", 100)
    path = write(tmp_path, json.dumps(GOOD) + " " * 10)
    with pytest.raises(InputError, match="larger than the limit of"):
        jsonio.read_bytes(path, "config file", 100)


def test_transcript_size_is_bounded(capsys, monkeypatch):
    from numerics.io import transcripts

    monkeypatch.setattr(transcripts, "MAX_TRANSCRIPT_BYTES", 1000)
    assert "larger than the limit" in error_line(capsys, ["fit", "/dev/zero"])


# --- overflow and non-finite output -----------------------------------------------------------

def test_huge_target_is_an_error_not_infinity(tmp_path, capsys):
    """Was: a target of 1e300 printed "residual_norm": Infinity (not JSON)."""
    raw = with_entry(["agents", 0, "target"], [1e300, 1e300])
    raw = json.loads(raw)
    raw["agents"][1] = {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [-1e300, -1e300],
                        "preconditioner": 0.5}
    path = write(tmp_path, json.dumps(raw))
    line = error_line(capsys, ["predict", str(path)])
    assert "residual_norm" in line and "not finite" in line
    assert "not finite" in error_line(capsys, ["simulate", str(path), "--turns", "3"])


def test_huge_prompt_overflows_float64_but_precision_is_exact(tmp_path, capsys):
    """Was: X entries of 1e300 gave NaN from simulate, a traceback from predict, and
    [1e-300, 0.0] from predict --precision 30 where the true value is [1e-300, 1.5]."""
    raw = {"agents": [
        {"name": "A", "prompt": {"X": [[1e300, 0], [0, 1]], "y": [1, 1.5]}, "preconditioner": [[1e-600, 0], [0, 1]]},
        {"name": "B", "geometry": [[1, 0], [0, 1]], "target": [1e-300, 1.5], "preconditioner": 0.5}]}
    path = write(tmp_path, json.dumps(raw).replace("1e-600", "1e-600"))
    assert "A.prompt.X" in error_line(capsys, ["predict", str(path)])
    assert "A.prompt.X" in error_line(capsys, ["simulate", str(path), "--turns", "5"])
    code, out, err = run(capsys, ["predict", str(path), "--precision", "30"])
    assert code == 0, err
    doc = json.loads(out)
    with mp.workdps(40):
        target = [mp.mpf(x) for x in doc["agents"]["A"]["target"]]
        fixed = [mp.mpf(x) for x in doc["agents"]["A"]["fixed_point"]]
        # Exact answer (both agents share the target): w* = [10^-300, 3/2]
        for got in (target, fixed):
            assert abs(got[0] - mp.mpf("1e-300")) <= mp.mpf("1e-328")
            assert abs(got[1] - mp.mpf("1.5")) <= mp.mpf("1e-28")


def test_precision_reads_the_decimal_text_not_binary64():
    """0.1 in JSON is exactly 1/10 with --precision (binary64 would be off at digit 17)."""
    from fractions import Fraction

    v = jsonio.loads("[0.1, 1e-300]")
    assert precise.fraction(v[0]) == Fraction(1, 10) and precise.fraction(v[1]) == Fraction(1, 10**300)
    assert Fraction(0.1) != Fraction(1, 10)  # the planted wrong variant: via float


def test_exact_rank_keeps_a_tiny_direction():
    """The old relative singular-value cutoff dropped the 1 next to 1e600 (the issue's [.., 0.0])."""
    from fractions import Fraction

    H = [[Fraction(10**600, 2), Fraction(0)], [Fraction(0), Fraction(1, 2)]]
    b = [Fraction(10**300, 2), Fraction(3, 4)]
    assert precise.exact_min_norm(H, b) == [Fraction(1, 10**300), Fraction(3, 2)]
    H = [[Fraction(1), Fraction(1)], [Fraction(1), Fraction(1)]]  # rank 1: minimum-norm solution
    assert precise.exact_min_norm(H, [Fraction(2), Fraction(2)]) == [Fraction(1), Fraction(1)]


def test_divergent_simulation_is_an_error_not_nan(tmp_path, capsys):
    """Was: a divergent simulate --turns 2000 printed NaN."""
    raw = json.loads(with_entry(["agents", 0, "preconditioner"], 4.0))
    raw["agents"][1] = {"name": "B", "geometry": [[1, 0], [0, 1]], "target": [0, 1], "preconditioner": 0.5}
    raw["initial_message"] = [1.0, 1.0]
    path = write(tmp_path, json.dumps(raw))
    line = error_line(capsys, ["simulate", str(path), "--turns", "2000"])
    assert "diverge" in line and "turn" in line
    code, out, _ = run(capsys, ["simulate", str(path), "--turns", "20"])
    assert code == 0 and "Infinity" not in out and "NaN" not in out


def test_stdout_is_standard_json_or_an_error(capsys):
    from numerics.io import outputs

    with pytest.raises(InputError, match=r"doc a\[1\]"):
        outputs.dump_json({"a": [1.0, float("nan")]}, "doc")
    assert capsys.readouterr().out == ""
    assert outputs.non_finite({"a": [1.0, {"b": float("-inf")}]}) == ("a[1].b", float("-inf"))


# --- bounds and closed forms instead of loops --------------------------------------------------

def test_huge_steps_per_turn(tmp_path, capsys):
    """Was: steps_per_turn of 10^9 hung simulate and predict --precision."""
    path = write(tmp_path, with_entry(["agents", 0, "steps_per_turn"], 10**9))
    code, out, err = run(capsys, ["predict", str(path)])
    assert code == 0, err
    code, out, err = run(capsys, ["predict", str(path), "--precision", "20"])
    assert code == 0, err
    assert json.loads(out)["agents"]["A"]["fixed_point"][0].startswith("1.0000000000")
    assert "GD steps exceed" in error_line(capsys, ["simulate", str(path), "--turns", "3"])
    path = write(tmp_path, with_entry(["agents", 0, "steps_per_turn"], 10**13))
    assert "steps_per_turn" in error_line(capsys, ["predict", str(path)])


def test_affine_power_matches_the_loop():
    """Repeated squaring against s plain steps (the planted variant: one step short)."""
    with mp.workdps(30):
        M = mp.matrix([[0.5, 0.1], [0.0, 0.9]])
        g = mp.matrix([1.0, -2.0])
        for s in (1, 2, 7, 64, 100):
            Ms, cs = precise.affine_power(M, g, s)
            L, c = mp.eye(2), mp.matrix(2, 1)
            for _ in range(s):
                L, c = M * L, M * c + g
            assert mp.mnorm(Ms - L, 1) < mp.mpf("1e-25") and mp.norm(cs - c) < mp.mpf("1e-25")
            wrong = precise.affine_power(M, g, s - 1)[1] if s > 1 else mp.matrix(2, 1)
            assert mp.norm(wrong - c) > mp.mpf("1e-10")


@pytest.mark.parametrize("turns", ["10000000", str(10**9)])
def test_turn_bounds(tmp_path, capsys, turns):
    """Was: --turns 10^7 hung, --turns 10^9 died with a numpy allocation traceback."""
    path = write(tmp_path, json.dumps(GOOD))
    assert "exceed the limit" in error_line(capsys, ["simulate", str(path), "--turns", turns])
    with pytest.raises(InputError, match="exceed the limit"):
        simulate.run(config.load(path).agents, np.zeros(2), int(turns))


@pytest.mark.parametrize("argv, option", [
    (["fit", "T", "--bootstrap", str(10**8)], "--bootstrap"),
    (["fit", "T", "--bootstrap", "-1"], "--bootstrap"),
    (["fit", "T", "--seed", "-1"], "--seed"),
    (["fit", "T", "--figure", "f.txt"], "--figure"),
    (["attack", "C", "--kind", "full", "--examples", str(10**8)], "--examples"),
    (["attack", "C", "--kind", "full", "--seed", "-1"], "--seed"),
    (["llm-run", "C", "--turns", "3", "--out", "O", "--backend", "local", "--max-reasks", str(10**6)], "--max-reasks"),
    (["llm-run", "C", "--turns", "3", "--out", "O", "--backend", "local", "--seed", "-1"], "--seed"),
    (["llm-run", "C", "--turns", "3", "--out", "O", "--backend", "local", "--decimals", "100000"], "--decimals"),
    (["llm-run", "C", "--turns", "3", "--out", "O", "--deadline", "-1"], "--deadline"),
    (["experiment", "helper", "--seed", "-1", "--out", "O"], "--seed"),
    (["train-lsa", "--steps", str(10**9), "--out", "O.npz"], "--steps"),
])
def test_size_like_options_are_bounded(tmp_path, capsys, argv, option):
    """Was: no upper bound on --bootstrap, --examples, --max-reasks; tracebacks on --seed -1."""
    cfg = write(tmp_path, json.dumps({"agents": [{"name": "A", "prompt": {"X": [[1, 0], [0, 1]], "y": [1, 2]},
                                                  "preconditioner": 0.5},
                                                 {"name": "B", "prompt": {"X": [[2, 0], [0, 1]], "y": [0, 1]},
                                                  "preconditioner": 0.5}]}))
    tr = tmp_path / "t.jsonl"
    assert cli.main(["llm-run", str(cfg), "--turns", "40", "--out", str(tr), "--backend", "local",
                     "--local-noise", "0.01"]) == 0
    capsys.readouterr()
    subst = {"T": str(tr), "C": str(cfg), "O": str(tmp_path / "o"), "O.npz": str(tmp_path / "o.npz")}
    argv = [subst.get(a, a) for a in argv]
    assert option in error_line(capsys, argv)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "t.jsonl"]  # nothing written


def test_fit_bootstrap_zero_works(tmp_path, capsys):
    """Was: fit --bootstrap 0 was a traceback."""
    cfg = write(tmp_path, json.dumps({"agents": [{"name": "A", "prompt": {"X": [[1, 0], [0, 1]], "y": [1, 2]}},
                                                 {"name": "B", "prompt": {"X": [[2, 0], [0, 1]], "y": [0, 1]}}]}))
    tr = tmp_path / "t.jsonl"
    assert cli.main(["llm-run", str(cfg), "--turns", "40", "--out", str(tr), "--backend", "local",
                     "--local-noise", "0.01"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, ["fit", str(tr), "--bootstrap", "0", "--json"])
    assert code == 0, err
    doc = json.loads(out)
    # the fitted maps' intervals are least-squares t-intervals (no resampling); the plateau's need the bootstrap
    assert doc["bootstrap"] == 0 and doc["agents"]["A"]["fixed_point_interval"] is None
    assert doc["agents"]["A"]["map_interval"] is not None


@pytest.mark.parametrize("argv", [["derive", "--format", "json", "--out", "{dir}"],
                                  ["derive", "--format", "json", "--out", "{file}/x.json"],
                                  ["verify", "--claims", "C2", "--out", "{file}"]])
def test_bad_out_paths_are_one_line(tmp_path, capsys, argv):
    """Was: tracebacks on derive --out DIR, an impossible parent, verify --out FILE."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    argv = [a.format(dir=tmp_path, file=afile) for a in argv]
    error_line(capsys, argv)
    assert afile.read_text() == "x"
