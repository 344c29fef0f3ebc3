"""Contracts of the public Python API (``numerics.api``; its docstrings' Parameters sections, docs/api.rst, cli.rst
and config.rst), each the only difference of a surviving mutant of that module:

* documented defaults: calling with a default omitted gives the same document as calling with the documented
  value given explicitly (``fit_transcript``, ``attack``, ``train_lsa``, ``run_conversation``), each comparison
  with a power check that the value matters; ``attack``'s first agent attacks the other;
* ``train_lsa``'s ``steps``, ``batch``, ``lr`` = None mean :mod:`numerics.lsa.settings`, and values given are used;
* documented bounds: ``fit_transcript``'s ``bootstrap`` 0 to 10,000 and ``attack``'s ``examples`` N x d <= 10^6
  (read from docs/cli.rst): the limit is accepted (it reaches the engine), one more is refused by name;
* ``progress`` is off by default: nothing is drawn even on a terminal (``run_sweep``, ``train_lsa``);
* ``run_sweep``: ``phase`` is the drawn figure's path (``None`` when none was drawn); by default an earlier
  sweep's folder is neither resumed nor replaced;
* ``stationary_covariance``: a noise dict must name exactly the agents (any number of them), an array must have
  shape (K, d, d) and hold covariances, under a protocol too; ``rho < 1 - 1e-12`` (docs/config.rst) is required
  under a protocol, and a random protocol gives its stationary covariance (or refuses a mean-square rate >= 1);
* ``run_conversation``'s local agent is the documented GD step with noise seeded by ``seed + agent index``, its
  ``meta`` is recorded as given (else the documented default), ``max_reasks`` 2, a new transcript by default;
* ``derive_protocol``'s refusals: too dense names the CONFIG.json path, an unverified identity is
  DerivationRefused; ``fit_transcript`` reads the protocol from the header as from ``config``;
* keyword-only parameters (after ``*``) passed positionally raise TypeError.

Cheap: 1-D and 2-D configs, a few turns, at most 200 bootstrap resamples, two-step trainings.
"""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from numerics import api
from numerics.io import transcripts
from numerics.io.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
TEXT_AGENTS = ROOT / "examples" / "text_agents.json"


def _documented(page: str, pattern: str) -> re.Match:
    m = re.search(pattern, " ".join((ROOT / "docs" / page).read_text().split()))
    assert m is not None, f"docs/{page} no longer states {pattern!r}"
    return m


MAX_BOOTSTRAP = int(_documented("cli.rst", r"``fit --bootstrap`` - 0 to ([\d,]+)").group(1).replace(",", ""))
MARGIN = float(_documented("config.rst", r"``contraction_rate < 1 - (1e-\d+)``").group(1))
MAX_PROMPT_ENTRIES = 10 ** int(_documented("cli.rst", r"``attack --examples`` - N x d <= 10\^(\d+)").group(1))


def _pair(d: int = 1, protocol=None) -> dict:
    """Two agents with M_A = 0.5 I, M_B = 0.2 I (H = I, Gamma = 1 - M)."""
    eye = np.eye(d).tolist()
    raw = {"agents": [{"name": "A", "geometry": eye, "target": [1.0] * d, "preconditioner": 0.5},
                      {"name": "B", "geometry": eye, "target": [0.0] * d, "preconditioner": 0.8}]}
    if protocol is not None:
        raw["protocol"] = protocol
    return raw


def _noisy_transcript():
    """Two 1-D affine agents with a small deterministic wobble (the bootstrap intervals depend on the seed)."""
    lines, w = [], 0.0
    for t in range(6):
        for name, m, c in (("A", 0.5, 0.5), ("B", 0.4, 0.1 * (t % 3))):
            out = m * w + c + 0.01 * ((7 * t + len(name)) % 5 - 2)
            lines.append(json.dumps({"agent": name, "turn": t, "incoming": [w], "outgoing": [out]}))
            w = out
    return transcripts.parse(lines)


class _Reached(Exception):
    """Raised by a stubbed engine: the API accepted its input and handed it on."""


def _stub(*args, **kwargs):
    raise _Reached


class _Terminal(io.StringIO):
    """A stream that says it is a terminal (progress bars are drawn only on one)."""

    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch):
    """Make stdout and stderr (fake) terminals that record what is written, bars not switched off; returns what
    they hold. Called in the test itself: pytest's capture resets sys.stdout and sys.stderr after fixtures."""
    import rich

    monkeypatch.delenv("A2AD_NO_PROGRESS", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setattr(rich, "_console", None)  # rich's shared console is rebuilt on these streams
    out, err = _Terminal(), _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    return lambda: out.getvalue() + err.getvalue()


# ---- documented defaults ---------------------------------------------------------------------------------------

def test_fit_transcript_defaults_are_the_documented_values():
    """tail 0.5, bootstrap 200, level 0.95, seed 0 (the docstring), no config."""
    tr = _noisy_transcript()
    default = api.fit_transcript(tr).to_json()
    assert default == api.fit_transcript(tr, tail=0.5, bootstrap=200, level=0.95, seed=0, config=None).to_json()
    assert default != api.fit_transcript(tr, seed=1).to_json()  # power: the seed changes the intervals


def test_attack_seed_default_is_0():
    default = api.attack(_pair(2), "full").to_json()
    assert default == api.attack(_pair(2), "full", seed=0).to_json()
    assert default != api.attack(_pair(2), "full", seed=1).to_json()  # power: U is drawn from the seed


def test_attack_default_is_the_first_agent_attacking_the_other():
    default = api.attack(_pair(2), "full").to_json()
    assert default == api.attack(_pair(2), "full", attacker="A", victim="B").to_json()
    assert default != api.attack(_pair(2), "full", attacker="B", victim="A").to_json()  # power


def _training(result) -> tuple:
    meta = {k: v for k, v in result.metadata.items()}
    return (result.weights.W_PV.tolist(), result.weights.W_KQ.tolist(), result.losses.tolist(), meta)


def test_train_lsa_defaults_are_the_documented_values_and_the_package_settings(monkeypatch):
    """d 5, N 20, Sigma "anisotropic", tau 1.0, sigma 0.1, seed 0, "sparse"; steps, batch, lr None: the values of
    numerics.lsa.settings (made tiny here, so the default run is cheap)."""
    from numerics.lsa import settings

    monkeypatch.setattr(settings, "STEPS", 2)
    monkeypatch.setattr(settings, "BATCH", 3)
    monkeypatch.setattr(settings, "LR", 0.01)
    default = api.train_lsa()
    explicit = api.train_lsa(5, 20, "anisotropic", 1.0, 0.1, steps=2, batch=3, lr=0.01, seed=0,
                             parameterisation="sparse", progress=False)
    assert _training(default) == _training(explicit)
    assert default.Gamma_star.shape == (5, 5) and len(default.losses) == 2
    assert _training(default) != _training(api.train_lsa(seed=1))  # power: the comparison sees the draws


def test_train_lsa_uses_the_steps_batch_and_lr_given():
    r = api.train_lsa(d=1, N=2, steps=3, batch=2, lr=0.01)
    assert (r.metadata["steps"], r.metadata["batch"], r.metadata["lr"], len(r.losses)) == (3, 2, 0.01, 3)


def _conversation(tmp_path: Path, name: str, config=TEXT_AGENTS, turns: int = 2, **kwargs) -> str:
    out = tmp_path / f"{name}.jsonl"
    api.run_conversation(config, turns, out, **kwargs)
    return out.read_text()


def test_run_conversation_defaults_are_the_documented_values(tmp_path):
    """step 0.5, noise 0.0, seed 0, decimals 4, max_reasks 2, meta None (the docstring)."""
    default = _conversation(tmp_path, "default")
    assert default == _conversation(tmp_path, "explicit", step=0.5, noise=0.0, seed=0, decimals=4, max_reasks=2,
                                    meta=None)
    for name, power in (("step", {"step": 0.25}), ("decimals", {"decimals": 3})):  # power: each value shows
        assert default != _conversation(tmp_path, name, **power), name
    noisy = _conversation(tmp_path, "noisy", noise=0.1)  # the seed shows in the noise
    assert noisy == _conversation(tmp_path, "noisy0", noise=0.1, seed=0)
    assert noisy != _conversation(tmp_path, "noisy1", noise=0.1, seed=1)


def test_run_conversation_local_agent_is_the_documented_gd_step_seeded_by_agent(tmp_path):
    """Agent i answers ``w - step X^T (X w - y) / N + noise * z``, ``z`` from ``default_rng(seed + i)``, written
    with ``decimals`` decimals (recomputed here from the config's prompts)."""
    step, noise, seed, decimals = 0.3, 0.1, 2, 6
    _conversation(tmp_path, "t", turns=3, step=step, noise=noise, seed=seed, decimals=decimals)
    raw = json.loads(TEXT_AGENTS.read_text())
    prompts = {a["name"]: (np.array(a["prompt"]["X"], float), np.array(a["prompt"]["y"], float))
               for a in raw["agents"]}
    rngs = {a["name"]: np.random.default_rng(seed + i) for i, a in enumerate(raw["agents"])}
    records = api.read_transcript(tmp_path / "t.jsonl").records
    assert len(records) == 6
    for r in records:
        X, y = prompts[r.agent]
        w = r.incoming
        expected = w - step * X.T @ (X @ w - y) / X.shape[0] + noise * rngs[r.agent].standard_normal(w.shape)
        assert np.max(np.abs(r.outgoing - expected)) <= 1.01 * 10.0**-decimals, (r.agent, r.turn)


def test_run_conversation_records_the_meta_given_else_the_documented_one(tmp_path):
    _conversation(tmp_path, "local", turns=1, step=0.25, noise=0.0, seed=3)
    for r in api.read_transcript(tmp_path / "local.jsonl").records:
        assert {k: r.meta[k] for k in ("backend", "step", "noise", "seed")} == \
            {"backend": "local", "step": 0.25, "noise": 0.0, "seed": 3}
    _conversation(tmp_path, "given", turns=1, meta={"backend": "my-model", "temperature": 0})
    for r in api.read_transcript(tmp_path / "given.jsonl").records:
        assert r.meta["backend"] == "my-model" and r.meta["temperature"] == 0 and "step" not in r.meta
    _conversation(tmp_path, "callable", turns=1, complete=lambda prompt: "w = [0.0, 0.0]")
    for r in api.read_transcript(tmp_path / "callable.jsonl").records:
        assert r.meta["backend"] == "callable"


def test_run_conversation_default_replaces_an_earlier_transcript(tmp_path):
    """resume defaults to False: a new transcript, whatever ``out`` held (here a run with another step)."""
    fresh = _conversation(tmp_path, "fresh", turns=1)
    _conversation(tmp_path, "again", turns=1, step=0.25)
    assert _conversation(tmp_path, "again", turns=1) == fresh


def _stubborn(unreadable: int):
    """A model whose first ``unreadable`` replies to every message cannot be read (the next one answers)."""
    calls = []

    def complete(prompt: str) -> str:
        calls.append(prompt)
        return "w = [0.0, 0.0]" if len(calls) % (unreadable + 1) == 0 else "I would rather not say."
    return complete


def test_run_conversation_max_reasks_default_is_2(tmp_path):
    """Two re-asks: a model that needs them is heard, one that needs three is refused after 3 attempts."""
    default = _conversation(tmp_path, "default", turns=1, complete=_stubborn(2))
    assert default == _conversation(tmp_path, "explicit", turns=1, complete=_stubborn(2), max_reasks=2)
    with pytest.raises(InputError, match="unreadable after 3 attempts"):
        _conversation(tmp_path, "three", turns=1, complete=_stubborn(3))
    with pytest.raises(InputError, match="unreadable after 2 attempts"):  # power: one re-ask is not enough
        _conversation(tmp_path, "one", turns=1, complete=_stubborn(2), max_reasks=1)


# ---- documented bounds -----------------------------------------------------------------------------------------

def test_fit_bootstrap_is_0_to_the_documented_maximum(monkeypatch):
    from numerics.fit import fitting

    assert MAX_BOOTSTRAP == 10_000  # the docstring says "0 to 10,000" too
    tr = _noisy_transcript()
    monkeypatch.setattr(fitting, "fit_transcript", _stub)  # accepted: the count reaches the fit
    for b in (0, MAX_BOOTSTRAP):
        with pytest.raises(_Reached):
            api.fit_transcript(tr, bootstrap=b)
    for b in (-1, MAX_BOOTSTRAP + 1):
        with pytest.raises(InputError) as info:
            api.fit_transcript(tr, bootstrap=b)
        assert info.value.quantity == "--bootstrap"


@pytest.mark.parametrize("d", [1, 2])
def test_attack_examples_is_at_most_the_documented_entries_over_d(monkeypatch, d):
    from numerics.interventions import protocol_attack

    monkeypatch.setattr(protocol_attack, "attack_doc", _stub)  # accepted: N reaches the prompt builder
    limit = MAX_PROMPT_ENTRIES // d
    for n in (1, limit):
        with pytest.raises(_Reached):
            api.attack(_pair(d), "full", examples=n)
    with pytest.raises(InputError) as info:
        api.attack(_pair(d), "full", examples=limit + 1)
    assert info.value.quantity == "--examples" and f"in [1, {limit}]" in str(info.value)  # N <= floor(10^6 / d)


# ---- progress off by default; the sweep's phase figure -----------------------------------------------------------

def _sweep_spec(axes: dict) -> dict:
    return {"base": _pair(), "axes": axes, "measure": ["predict"]}


def test_run_sweep_draws_no_bar_by_default_and_returns_its_png_phase_figure(tmp_path, monkeypatch):
    terminal = _terminal(monkeypatch)
    r = api.run_sweep(_sweep_spec({"agents.0.preconditioner": [0.5, 1.0]}), tmp_path / "default", workers=1)
    assert terminal() == ""
    assert r.phase == str(tmp_path / "default" / "phase.png") and Path(r.phase).stat().st_size > 0
    api.run_sweep(_sweep_spec({"agents.0.preconditioner": [0.5, 1.0]}), tmp_path / "bar", workers=1, progress=True)
    assert terminal() != ""  # power: asked for, the bar is drawn on this terminal


def test_run_sweep_default_neither_resumes_nor_replaces_earlier_results(tmp_path):
    spec = _sweep_spec({"agents.0.preconditioner": [0.5]})
    api.run_sweep(spec, tmp_path / "s", workers=1)
    with pytest.raises(InputError) as info:
        api.run_sweep(spec, tmp_path / "s", workers=1)
    assert info.value.quantity == "--out"
    assert api.run_sweep(spec, tmp_path / "s", workers=1, resume=True).computed == 0  # power: resume finishes


def test_run_sweep_phase_is_none_when_no_figure_is_drawn(tmp_path):
    axes = {"agents.0.preconditioner": [0.5], "agents.1.preconditioner": [0.8], "agents.0.target.0": [1.0]}
    r = api.run_sweep(_sweep_spec(axes), tmp_path / "three", workers=1)
    assert r.phase is None and r.phase_note.startswith("no phase")


def test_train_lsa_draws_no_bar_by_default(monkeypatch):
    terminal = _terminal(monkeypatch)
    api.train_lsa(d=1, N=2, steps=2, batch=2, lr=0.01)
    assert terminal() == ""
    api.train_lsa(d=1, N=2, steps=2, batch=2, lr=0.01, progress=True)
    assert terminal() != ""  # power: asked for, the bar is drawn on this terminal


# ---- stationary_covariance's noise -------------------------------------------------------------------------------

@pytest.mark.parametrize("noise", [
    {"A": [[1.0]], "B": [[1.0]], "C": [[1.0]]},  # an agent too many
    {"A": [[1.0]], "C": [[1.0]]},  # as many, but not the agents
])
def test_stationary_covariance_noise_dict_names_exactly_the_agents(noise):
    with pytest.raises(InputError) as info:
        api.stationary_covariance(_pair(), noise)
    assert info.value.quantity == "noise"


def test_stationary_covariance_noise_dict_of_many_agents():
    """257 agents (beyond CPython's small-int cache) with M = 1/2 and S = 1: every P_i = 1 / (1 - 1/4)."""
    raw = {"agents": [{"name": f"a{i}", "geometry": [[1.0]], "target": [float(i % 2)], "preconditioner": 0.5}
                      for i in range(257)]}
    P = api.stationary_covariance(raw, {f"a{i}": [[1.0]] for i in range(257)})
    assert len(P) == 257 and all(abs(P[name][0, 0] - 4 / 3) <= 1e-12 for name in P)


SIMULTANEOUS = [{"A": {"B": 1.0}, "B": {"A": 1.0}}]


@pytest.mark.parametrize("protocol", [None, {"rounds": SIMULTANEOUS},
                                      {"random": [{"probability": 1.0, "rounds": SIMULTANEOUS}]}],
                         ids=["round robin", "rounds", "random"])
@pytest.mark.parametrize("d,S", [(1, [[[1.0]]]), (2, [[[1.0]], [[1.0]]]), (2, np.zeros((1, 2, 2)).tolist()),
                                 (1, [[[1.0]]] * 3), (1, np.zeros((2, 2, 2)).tolist())])
def test_stationary_covariance_refuses_a_noise_array_of_another_shape(protocol, d, S):
    """(K, d, d) required, with and without a protocol: too few or too many agents, too small or too large."""
    with pytest.raises(InputError) as info:
        api.stationary_covariance(_pair(d, protocol), S)
    assert info.value.quantity == "noise covariances S"


@pytest.mark.parametrize("protocol", [{"rounds": SIMULTANEOUS},
                                      {"random": [{"probability": 1.0, "rounds": SIMULTANEOUS}]}],
                         ids=["rounds", "random"])
def test_stationary_covariance_under_a_protocol_refuses_a_noise_that_is_not_a_covariance(protocol):
    with pytest.raises(InputError) as info:
        api.stationary_covariance(_pair(1, protocol), [[[1.0]], [[-1.0]]])
    assert info.value.quantity == "noise covariance of B"


@pytest.mark.parametrize("rho", [1.0, 1 - MARGIN / 2])
def test_stationary_covariance_under_a_protocol_needs_rho_below_1_minus_the_margin(rho):
    """Both agents with M = -rho: the simultaneous pair's rate is rho; at 1, and within the documented margin below
    it (docs/config.rst: converges is ``rho < 1 - 1e-12``), there is no stationary covariance."""
    raw = _pair(1, {"rounds": SIMULTANEOUS})
    for agent in raw["agents"]:
        agent["preconditioner"] = 1 + rho
    with pytest.raises(InputError) as info:
        api.stationary_covariance(raw, [[[1.0]], [[1.0]]])
    assert info.value.quantity == "contraction rate rho" and info.value.value >= 1 - MARGIN
    raw["agents"][0]["preconditioner"] = raw["agents"][1]["preconditioner"] = 1 + (1 - 2 * MARGIN)  # power
    assert api.stationary_covariance(raw, [[[1.0]], [[1.0]]])["A"][0, 0] > 1e11  # 1 / (1 - rho^2): accepted


def test_stationary_covariance_under_a_protocol_refuses_rho_at_exactly_1_minus_the_margin(monkeypatch):
    """The boundary itself (the float64 number 1 - 1e-12, docs/config.rst) is refused; the next float below is
    accepted. The rate is set through ``evaluate.rate`` (no config of float64 numbers lands on it exactly); the
    pair itself has rho = 0.1, so the accepted covariance is computed as usual."""
    from numerics.protocol import evaluate

    raw = _pair(1, {"rounds": SIMULTANEOUS})
    monkeypatch.setattr(evaluate, "rate", lambda *args: 1 - MARGIN)
    with pytest.raises(InputError) as info:
        api.stationary_covariance(raw, [[[1.0]], [[1.0]]])
    assert info.value.quantity == "contraction rate rho"
    monkeypatch.setattr(evaluate, "rate", lambda *args: float(np.nextafter(1 - MARGIN, 0)))
    assert set(api.stationary_covariance(raw, [[[1.0]], [[1.0]]])) == {"A", "B"}


def test_stationary_covariance_of_a_random_protocol():
    """One alternative (probability 1), both agents at once: the simultaneous pair's
    ``Var_A = (S_A + m_A^2 S_B) / (1 - m_A^2 m_B^2)``; both preconditioners 3 (M = -2): refused."""
    mA, mB, SA, SB = 0.5, 0.2, 0.3, 0.7
    protocol = {"random": [{"probability": 1.0, "rounds": SIMULTANEOUS}]}
    P = api.stationary_covariance(_pair(1, protocol), {"A": [[SA]], "B": [[SB]]})
    assert abs(P["A"][0, 0] - (SA + mA**2 * SB) / (1 - mA**2 * mB**2)) <= 1e-12
    assert abs(P["B"][0, 0] - (SB + mB**2 * SA) / (1 - mA**2 * mB**2)) <= 1e-12
    raw = _pair(1, protocol)
    for agent in raw["agents"]:
        agent["preconditioner"] = 3.0
    with pytest.raises(InputError) as info:
        api.stationary_covariance(raw, [[[1.0]], [[1.0]]])
    assert info.value.quantity == "mean-square rate"


# ---- derive_protocol's refusal names the config ---------------------------------------------------------------------

def test_derive_protocol_too_dense_names_the_config_file(monkeypatch):
    """The InputError names the quantity ``protocol`` and its value: the CONFIG.json path, or ``config`` for a dict
    (not the whole dict); the cost estimate is made huge so the protocol is refused before any elimination."""
    from theory.protocol import cost

    monkeypatch.setattr(cost, "elimination_words", lambda spec: (10**9, 2))
    path = str(ROOT / "examples" / "protocol_simultaneous.json")
    for config, value in ((path, path), (json.loads(Path(path).read_text()), "config")):
        with pytest.raises(InputError) as info:
            api.derive_protocol(config)
        assert (info.value.quantity, info.value.value) == ("protocol", value)
        assert "too dense for symbolic elimination" in str(info.value)


def test_derive_protocol_refuses_an_unverified_derivation(monkeypatch):
    """An identity that does not reduce to 0 is DerivationRefused (nothing returned), not the engine's exception."""
    from numerics.io.errors import DerivationRefused
    from theory.protocol import report

    def unverified(*args, **kwargs):
        raise report.Unverified("fixed point: 1 != 0")
    monkeypatch.setattr(report, "derived_theory", unverified)
    with pytest.raises(DerivationRefused, match="1 != 0"):
        api.derive_protocol(ROOT / "examples" / "protocol_simultaneous.json")


def test_fit_transcript_reads_the_protocol_from_the_header_as_from_the_config(tmp_path):
    """config defaults to the transcript's header: a protocol transcript fits the same without and with it."""
    config = ROOT / "examples" / "text_protocol.json"
    api.run_conversation(config, 4, tmp_path / "p.jsonl", noise=0.05)
    header = api.fit_transcript(tmp_path / "p.jsonl", bootstrap=0).to_json()
    assert header == api.fit_transcript(tmp_path / "p.jsonl", bootstrap=0, config=config).to_json()


def test_fit_transcript_config_names_the_protocol_a_headerless_transcript_was_recorded_under(tmp_path):
    """A round-robin transcript fits the same with its config as without; with a config whose protocol it was not
    recorded under (both agents at once), it is refused."""
    api.run_conversation(TEXT_AGENTS, 3, tmp_path / "t.jsonl", noise=0.05)
    plain = api.fit_transcript(tmp_path / "t.jsonl", bootstrap=0).to_json()
    assert plain == api.fit_transcript(tmp_path / "t.jsonl", bootstrap=0, config=TEXT_AGENTS).to_json()
    raw = json.loads(TEXT_AGENTS.read_text())
    raw["protocol"] = {"rounds": SIMULTANEOUS}
    (tmp_path / "simultaneous.json").write_text(json.dumps(raw))
    with pytest.raises(InputError, match="not recorded under this protocol"):
        api.fit_transcript(tmp_path / "t.jsonl", bootstrap=0, config=tmp_path / "simultaneous.json")


# ---- keyword-only parameters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,call", [
    ("fit_transcript", lambda tmp: api.fit_transcript(_noisy_transcript(), 0.5)),
    ("attack", lambda tmp: api.attack(_pair(2), "steer", [0.5, 0.5])),
    ("run_sweep", lambda tmp: api.run_sweep(_sweep_spec({"agents.0.preconditioner": [0.5]}), tmp / "s", "local")),
    ("train_lsa", lambda tmp: api.train_lsa(1, 2, "isotropic", 1.0, 0.1, 2)),
    ("run_conversation", lambda tmp: api.run_conversation(TEXT_AGENTS, 1, tmp / "t.jsonl", None)),
])
def test_keyword_only_parameters_refuse_a_positional_value(tmp_path, name, call):
    with pytest.raises(TypeError, match="positional argument"):
        call(tmp_path)


def test_leading_parameters_may_be_passed_by_name(tmp_path):
    """The parameters before ``*`` are positional-or-keyword: their documented names work."""
    api.run_conversation(config=TEXT_AGENTS, turns=1, out=tmp_path / "t.jsonl")
    r = api.run_sweep(spec=_sweep_spec({"agents.0.preconditioner": [0.5]}), out=tmp_path / "s", workers=1)
    assert r.n_points == 1 and api.read_transcript(tmp_path / "t.jsonl").agents == ["A", "B"]
