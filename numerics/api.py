"""The public Python API: what a notebook user calls, and what the ``a2ad`` commands call.

Each function validates its input like the command of the same job (bad input raises
:class:`~numerics.io.errors.InputError` naming the quantity and its value) and returns a typed
result of :mod:`numerics.results` whose ``to_json()`` is exactly the command's output. The
engines are imported inside the functions that need them, so ``import numerics`` stays fast.

A config is a CONFIG.json path, its decoded dict, or a :class:`~numerics.protocol.config.System`
(from :func:`load_config`).
"""
from __future__ import annotations

import copy
import dataclasses
import math
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from numerics.io import jsonio, validate
from numerics.io.errors import DerivationRefused, InputError
from numerics.io.schema import versioned
from numerics.protocol import config as _config
from numerics.results import AttackResult, DerivedProtocol, FitResult, Prediction, Simulation, SweepResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from numerics.io.transcripts import Transcript
    from numerics.llm.conversation import Conversation
    from numerics.lsa.training import TrainingResult

__all__ = ["load_config", "predict", "simulate", "derive_protocol", "read_transcript", "fit_transcript", "attack",
           "run_sweep", "stationary_covariance", "train_lsa", "run_conversation"]

MAX_BOOTSTRAP = 10**4  # each bootstrap resample refits every agent's map
MAX_PROMPT_ENTRIES = 10**6  # N x d of an attack prompt

# What every function taking a config accepts (see :func:`load_config`).
ConfigSource: TypeAlias = "str | Path | dict[str, Any] | _config.System"

# id(system) -> (weak reference, decoded CONFIG.json): the numbers as written, for ``precision``.
_SOURCES: dict[int, tuple[weakref.ref[_config.System], Any]] = {}


def _remember(system: _config.System, raw: Any) -> None:
    key = id(system)
    _SOURCES[key] = (weakref.ref(system, lambda _ref: _SOURCES.pop(key, None)), raw)


def _source(system: _config.System) -> Any:
    entry = _SOURCES.get(id(system))
    return entry[1] if entry is not None and entry[0]() is system else None


def _as_written(raw: Any) -> Any:
    """A copy of a config dict whose floats keep their shortest decimal text (``0.8`` stays 8/10 for
    ``precision``), as the same numbers read from a CONFIG.json file do."""
    if isinstance(raw, dict):
        return {k: _as_written(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_as_written(v) for v in raw]
    if type(raw) is float and math.isfinite(raw):  # NaN and infinity stay floats: the validators name them
        return jsonio.ExactFloat(repr(raw))
    return copy.deepcopy(raw)


def load_config(source: ConfigSource) -> _config.System:
    """Read and validate a CONFIG.json (schema version 1).

    Parameters
    ----------
    source : str, pathlib.Path or dict
        A CONFIG.json path, or the decoded JSON object itself (its floats are read as their
        shortest decimal text, ``0.8`` as 8/10, exactly as in a file).

    Returns
    -------
    numerics.protocol.config.System
        The agents in speaking order (``agents[i].M``, ``.w_star``, ``.Gamma``), the initial
        message and the protocol (``None`` for the round robin). It remembers the numbers as
        written, so :func:`predict` can use them with ``precision``.

    Raises
    ------
    InputError
        A missing or malformed field, named with its value.

    Examples
    --------
    >>> system = load_config({"agents": [
    ...     {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
    ...     {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5}]})
    >>> system.names, system.d
    (['A', 'B'], 2)
    >>> load_config({"agents": []})
    Traceback (most recent call last):
    ...
    numerics.io.errors.InputError: agents = 0: must be a list of at least 2 agents
    """
    if isinstance(source, _config.System):
        return source
    raw = _as_written(source) if isinstance(source, dict) else _config.read_json(source)
    system = _config.parse(raw)
    _remember(system, raw)
    return system


def _exact(source: ConfigSource) -> _config.ExactSystem:
    """The config with every number as written (``predict`` with ``precision``)."""
    if isinstance(source, _config.System):
        raw = _source(source)
        if raw is None:
            raise InputError("config", "a System built in Python", "predict with precision needs the numbers as "
                                                                   "written: pass the path or dict, or a System "
                                                                   "from load_config")
        return _config.parse_exact(raw)
    if isinstance(source, dict):
        return _config.parse_exact(_as_written(source))
    return _config.load_exact(source)


def predict(config: ConfigSource, precision: int | None = None) -> Prediction:
    """The closed-form prediction of a config (C1, C2, C3, C7, C17; P1 under a protocol).

    Parameters
    ----------
    config : str, pathlib.Path, dict or System
        The config (see :func:`load_config`).
    precision : int or None, optional
        ``None`` for float64; else the significant digits (16 to 1000) of an mpmath computation
        from the numbers exactly as written, printed as decimal strings.

    Returns
    -------
    Prediction
        ``contraction_rate`` ``rho``, ``converges`` (``rho < 1``), and per agent the
        ``fixed_point``, its ``target`` and the ``residual = fixed_point - target``;
        ``reason`` explains a divergence.

    Examples
    --------
    Two agents with ``M = I/2`` and targets ``e_1``, ``e_2``: ``rho = 1/4``, and A's fixed point
    ``u* = (I - M_A M_B)^{-1} (M_A c_B + c_A) = (2/3, 1/3)``.

    >>> cfg = {"agents": [
    ...     {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
    ...     {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5}]}
    >>> p = predict(cfg)
    >>> p.contraction_rate, p.converges
    (0.25, True)
    >>> p.agents["A"].fixed_point.round(6)
    array([0.666667, 0.333333])
    >>> predict(cfg, precision=20).agents["A"].fixed_point
    ['0.66666666666666666667', '0.33333333333333333333']
    """
    from numerics.protocol import prediction

    if precision is None:
        return Prediction.from_json(versioned(prediction.predict(load_config(config))))
    prediction.check_digits(precision)  # before reading: the option is the first thing named
    return Prediction.from_json(versioned(prediction.predict_precise(_exact(config), precision)))


def simulate(config: ConfigSource, turns: int, seed: int | None = None, schedule: Any = None) -> Simulation:
    """Iterate the real agents (never a closed form) for ``turns`` rounds.

    Parameters
    ----------
    config : str, pathlib.Path, dict or System
        The config (see :func:`load_config`).
    turns : int
        Rounds; each agent speaks once per round (once per phase that lists it, under a protocol).
    seed : int or None, optional
        A random protocol's schedule and the agents' ``noise`` are drawn from this seed (default 0);
        unused by a noiseless deterministic config.
    schedule : list of int or None, optional
        A random protocol only: replay this schedule (the 0-based alternative of each round, as the
        ``schedule`` of an earlier result) instead of drawing one.

    Returns
    -------
    Simulation
        Per agent its ``messages`` (turns, d) and ``residual_norms``, the distance of each message to its
        own target; ``to_pandas()`` gives one row per agent and turn. With randomness, ``seed`` and (a
        random protocol) ``schedule``.

    Examples
    --------
    >>> cfg = {"agents": [
    ...     {"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
    ...     {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]}
    >>> s = simulate(cfg, turns=3)
    >>> s.agents["A"].messages.ravel()
    array([0.5    , 0.625  , 0.65625])
    >>> s.agents["B"].residual_norms
    array([0.25    , 0.3125  , 0.328125])
    """
    from numerics.protocol import prediction

    return Simulation.from_json(versioned(prediction.simulate_doc(load_config(config), turns, seed, schedule)))


def derive_protocol(config: ConfigSource) -> DerivedProtocol:
    """The derived theory of a config's protocol (its round robin without one): P1, every step proved (V1).

    Parameters
    ----------
    config : str, pathlib.Path, dict or System
        The config (see :func:`load_config`).

    Returns
    -------
    DerivedProtocol
        Round map, fixed points, residuals in the gaps, reduced rate, Lyapunov equation, as LaTeX
        and text; ``to_json()``, ``to_text()``, ``to_latex()``, ``to_macros()``.

    Raises
    ------
    InputError
        The protocol is too dense for symbolic elimination (the quantity ``protocol``, its value the
        CONFIG.json path, or ``config`` for a dict or System), or an agent's name is not ASCII letters
        and digits starting with a letter (it is printed as a subscript:
        :func:`numerics.protocol.symbol_names.check_symbol_names`).
    DerivationRefused
        A derived identity did not reduce to 0 (nothing is returned).

    Examples
    --------
    >>> cfg = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
    ...                   {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]}
    >>> d = derive_protocol(cfg)
    >>> d.residuals["A"]["text"]
    'M_A*Q1*K_B*(w_B_star - w_A_star)'
    >>> all(c["holds"] for c in d.checks)
    True
    """
    from numerics.protocol import engine
    from numerics.protocol.symbol_names import check_symbol_names
    from theory.protocol import compiler as P, report

    system = load_config(config)
    check_symbol_names([a.name for a in system.agents])
    proto = engine.of(system)  # the round robin without a protocol; a random protocol is refused there
    try:
        cp = P.compile_protocol(P.from_numeric(proto))
    except P.TooLarge as exc:
        raise InputError("protocol", str(config) if not isinstance(config, (dict, _config.System)) else "config",
                         f"is too dense for symbolic elimination ({exc}); predict and simulate still work") from None
    try:
        doc = report.derived_theory(cp, steps={a.name: a.steps for a in system.agents})
    except report.Unverified as exc:  # theory/ raises its own class (it imports nothing from numerics)
        raise DerivationRefused(str(exc)) from None
    return DerivedProtocol.from_json(doc)


def read_transcript(source: str | Path) -> Transcript:
    """Read and validate a JSONL transcript (docs: transcripts).

    Parameters
    ----------
    source : str or pathlib.Path
        The transcript file: one JSON object per message (``agent``, ``turn``, ``incoming``,
        ``outgoing``), after an optional protocol header line.

    Returns
    -------
    numerics.io.transcripts.Transcript
        ``records``, ``agents``, ``d`` and ``pairs(name) -> (incoming, outgoing)`` arrays.

    Examples
    --------
    >>> import tempfile, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "t.jsonl")
    >>> _ = open(path, "w").write('{"agent": "A", "turn": 0, "incoming": [0.0], "outgoing": [0.5]}\\n')
    >>> tr = read_transcript(path)
    >>> tr.agents, tr.pairs("A")[1]
    (['A'], array([[0.5]]))
    >>> tmp.cleanup()
    """
    from numerics.io import transcripts

    return transcripts.read(source)


def check_fit_options(bootstrap: int, seed: int) -> int:
    """The bootstrap count in [0, MAX_BOOTSTRAP] and a valid seed (InputError otherwise); returns the seed.

    Examples
    --------
    >>> check_fit_options(200, 7)
    7
    """
    validate.positive_int("--bootstrap", bootstrap, minimum=0, maximum=MAX_BOOTSTRAP)
    return validate.seed("--seed", seed)


def fit_transcript(transcript: str | Path | Transcript, *, tail: float = 0.5, bootstrap: int = 200,
                   level: float = 0.95, seed: int = 0, config: str | Path | None = None) -> FitResult:
    """Fit each agent's affine map ``w' = Mhat w + chat`` from a transcript and predict the plateau (C18).

    Parameters
    ----------
    transcript : str, pathlib.Path or Transcript
        The transcript (see :func:`read_transcript`).
    tail : float, optional
        Fraction of rounds treated as the tail the prediction is compared with (default 0.5).
    bootstrap : int, optional
        Bootstrap resamples for the intervals (default 200; 0 to 10,000, else InputError).
    level : float, optional
        Interval level (default 0.95).
    seed : int, optional
        Bootstrap seed (default 0).
    config : str or pathlib.Path, optional
        CONFIG.json whose protocol the transcript was recorded under (default: the transcript's
        header, else the round robin); a transcript that does not follow it is refused (InputError).

    Returns
    -------
    FitResult
        The fitted maps, ``contraction_rate`` of the fitted round, predicted and observed plateau;
        ``to_pandas()`` (one row per agent), ``to_text()``, ``save_figure(path)``.

    Examples
    --------
    Two noiseless affine agents recorded for 30 rounds; the fit recovers ``M_A = 0.5``:

    >>> from numerics.io import transcripts
    >>> lines, w = [], 0.0
    >>> for t in range(30):
    ...     for name, m, c in (("A", 0.5, 0.5), ("B", 0.4, 0.1 * (t % 3))):
    ...         out = m * w + c
    ...         lines.append(f'{{"agent": "{name}", "turn": {t}, "incoming": [{w!r}], "outgoing": [{out!r}]}}')
    ...         w = out
    >>> r = fit_transcript(transcripts.parse(lines), bootstrap=0)
    >>> round(r.agents["A"]["M_hat"][0][0], 6)
    0.5
    """
    from numerics.fit import fitting, output

    seed = check_fit_options(bootstrap, seed)
    tr = read_transcript(transcript) if isinstance(transcript, (str, Path)) else transcript
    protocol = None
    if config is not None or tr.header is not None:
        from numerics.fit import protocol_fit
        protocol = protocol_fit.transcript_protocol(tr, config)
    if protocol is None:
        report = fitting.fit_transcript(tr, tail_fraction=tail, bootstrap=bootstrap, seed=seed, level=level)
    else:
        report = protocol_fit.fit(tr, protocol, tail_fraction=tail, bootstrap=bootstrap, seed=seed, level=level)
    return dataclasses.replace(FitResult.from_json(versioned(output.report_doc(report))), report=report, transcript=tr)


def _attack_examples(system: _config.System, examples: int | None) -> None:
    if examples is not None:
        validate.positive_int("--examples", examples, maximum=max(1, MAX_PROMPT_ENTRIES // system.d))


def attack(config: ConfigSource, kind: str, *, point: ArrayLike | None = None, examples: int | None = None,
           seed: int = 0, attacker: str | None = None, victim: str | None = None) -> AttackResult:
    """Build an attacker's prompt (C9 ``full``, C10 ``rank-one``, C11 ``steer``) and predict its outcome.

    Parameters
    ----------
    config : str, pathlib.Path, dict or System
        Two agents, or any number with a ``protocol`` (``full`` and ``steer`` only).
    kind : {"full", "rank-one", "steer"}
        Full-rank prompt for the attacker's own target, the rank-one prompt, or steering the
        victim's fixed point to ``point``.
    point : array_like, optional
        The equilibrium imposed on the victim (``steer``).
    examples : int, optional
        Rows N of the attack prompt (default ``d`` for full/steer, 1 for rank-one); N x d <= 10^6,
        else InputError.
    seed : int, optional
        Seed of the orthonormal ``U`` of the full-rank prompt (default 0).
    attacker, victim : str, optional
        Agent names (default: the first agent attacks the other one).

    Returns
    -------
    AttackResult
        The attacker's new ``agent_entry`` and the ``predicted`` outcome (a :class:`Prediction`).

    Examples
    --------
    >>> cfg = {"agents": [
    ...     {"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
    ...     {"name": "B", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.5}]}
    >>> r = attack(cfg, "steer", point=[0.5, 0.5])
    >>> r.predicted.agents["B"].fixed_point.round(9)
    array([0.5, 0.5])
    """
    from numerics.interventions import protocol_attack

    system = load_config(config)
    seed = validate.seed("--seed", seed)
    _attack_examples(system, examples)
    names = system.names
    if attacker is not None and attacker not in names:
        raise InputError("--attacker", attacker, f"is not an agent of the config; agents: {names}")
    i = 0 if attacker is None else names.index(attacker)
    point = None if point is None else validate.vector("--point", point, system.d)
    return AttackResult.from_json(versioned(protocol_attack.attack_doc(system, kind, point, examples, seed, i,
                                                                        victim)))


def run_sweep(spec: str | Path | dict[str, Any], out: str | Path, *, backend: str = "local",
              scheduler: str | None = None, workers: int | None = None, resume: bool = False, force: bool = False,
              progress: bool = False, timeout: float | None = None, figure_format: str = "png") -> SweepResult:
    """Evaluate a grid of configs (closed forms, simulation, trained LSA) into Parquet files.

    Parameters
    ----------
    spec : str, pathlib.Path or dict
        SPEC.json (base config, axes, measures; docs: sweeps), or its decoded object.
    out : str or pathlib.Path
        Results folder: ``results/*.parquet``, ``spec.json`` and ``phase.png``.
    backend : {"local", "dask"}, optional
        Batched numpy then a process pool (default), or a Dask cluster (``scheduler`` address).
    scheduler : str, optional
        An existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    workers : int, optional
        Local processes (default: every core).
    resume, force : bool, optional
        Compute only the missing chunks; or delete previous results first (default: neither).
    progress : bool, optional
        Draw a progress bar on stderr (never into a pipe, nor with ``A2AD_NO_PROGRESS`` set);
        default False: nothing is drawn.
    timeout : float, optional
        ``dask`` only: seconds allowed to connect and for any stretch with no finished chunk
        (default 120); past it, ``ServiceError`` (exit 2).
    figure_format : {"png", "pdf", "svg"}, optional
        Format of the phase figure ``phase.png`` (default), ``phase.pdf`` or ``phase.svg``.

    Returns
    -------
    SweepResult
        Counts, the phase figure; ``to_pandas()`` reads the results, one row per grid point.

    Examples
    --------
    >>> import tempfile
    >>> spec = {"base": {"agents": [
    ...     {"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
    ...     {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]},
    ...     "axes": {"agents.0.preconditioner": [0.5, 1.0]}, "measure": ["predict"]}
    >>> tmp = tempfile.TemporaryDirectory()
    >>> r = run_sweep(spec, tmp.name)
    >>> r.n_points, r.to_pandas()[["agents.0.preconditioner", "converges"]].values.tolist()
    (2, [[0.5, True], [1.0, True]])
    >>> tmp.cleanup()
    """
    from numerics.sweep import run as sweep_run, spec as sweep_spec

    if isinstance(spec, dict):
        parsed, spec_path = sweep_spec.parse(copy.deepcopy(spec)), None
    else:
        parsed, spec_path = sweep_spec.load(spec), spec
    o = sweep_run.run(parsed, out, backend=backend, scheduler=scheduler, workers=workers, resume=resume, force=force,
                      progress=progress, spec_path=spec_path, timeout=timeout, figure_format=figure_format)
    return SweepResult(out_dir=str(o.out_dir), n_points=o.n_points, chunks=parsed.n_chunks, computed=o.computed,
                       skipped=o.skipped, phase=None if o.phase is None else str(o.phase), phase_note=o.phase_note)


def stationary_covariance(config: ConfigSource, noise: ArrayLike | dict[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Each agent's stationary message covariance when agents add independent Gaussian noise (C15; P1).

    Agent i emits ``T_i(w) + eta_i``, ``Cov eta_i = S_i``, independent across agents and turns.
    Round robin: ``P_i = J_i P_i J_i^T + Q_i`` at agent i's turn (for two agents
    ``P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B``); under a protocol, the covariance at the end
    of a round (Lyapunov equation of the round map); under a random protocol, the stationary
    covariance of its schedule and this noise (:mod:`numerics.protocol.random_moments`, which adds
    the spread the schedule itself creates). Hypothesis: ``rho < 1`` (the mean-square rate for a
    random protocol).

    Parameters
    ----------
    config : str, pathlib.Path, dict or System
        The config (see :func:`load_config`).
    noise : array_like or dict
        The noise covariances ``S_i`` (K, d, d) in agent order, or ``{name: S_i}`` for exactly the
        config's agents (another shape, a missing or an extra name: InputError).

    Returns
    -------
    dict of str to numpy.ndarray
        ``{name: P_i}``, each d x d.

    Examples
    --------
    One dimension, ``M_A = M_B = 1/2``, only A noisy (``S_A = 1``): ``P_A = 1 / (1 - 1/16)``.

    >>> cfg = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
    ...                   {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]}
    >>> P = stationary_covariance(cfg, {"A": [[1.0]], "B": [[0.0]]})
    >>> round(float(P["A"][0, 0]), 12), round(16 / 15, 12)
    (1.066666666667, 1.066666666667)
    """
    from numerics.dynamics import lyapunov
    from numerics.protocol import prediction

    system = load_config(config)
    names = system.names
    if isinstance(noise, dict):
        missing = [n for n in names if n not in noise]
        if missing or len(noise) != len(names):
            raise InputError("noise", sorted(noise), f"must give a covariance for exactly the agents {names}")
        covariances: object = [noise[n] for n in names]
    else:
        covariances = noise
    S = validate.finite_array("noise covariances S", covariances, ndim=3)
    M, _ = prediction.stacked_finite(system)
    if S.shape != M.shape:
        raise InputError("noise covariances S", S.shape, f"must have shape {M.shape} (one d x d per agent)")
    if system.random is not None:  # a random protocol: the second moments of its schedule, with this noise
        from numerics.protocol import random_moments

        for k, name in enumerate(names):
            validate.psd(f"noise covariance of {name}", S[k])
        c = np.stack([a.c for a in system.agents])
        mom = random_moments.moments(M, c, system.random, S)
        if mom.covariance is None:
            raise InputError("mean-square rate", mom.contraction_rate, "must be < 1: no stationary covariance")
        P = mom.covariance
    elif system.protocol is None:
        P = lyapunov.stationary_covariances(M, S)
    else:
        from numerics.fit import protocol_fit
        from numerics.protocol import evaluate

        for k, name in enumerate(names):
            validate.psd(f"noise covariance of {name}", S[k])
        W, mask = system.protocol.weights()
        Phi, _ = evaluate.round_map(M, np.zeros(M.shape[:2]), W, mask)
        rho = float(evaluate.rate(Phi, evaluate.live_agents(W, mask), system.d))
        if not rho < 1 - prediction.CONVERGENCE_MARGIN:
            raise InputError("contraction rate rho", rho, "must be < 1: no stationary covariance (C15)")
        P = protocol_fit.stationary_covariance(M, S, W, mask)
    return dict(zip(names, P))


def train_lsa(d: int = 5, N: int = 20, Sigma: str | ArrayLike = "anisotropic", tau: float = 1.0, sigma: float = 0.1,
              *, steps: int | None = None, batch: int | None = None, lr: float | None = None, seed: int = 0,
              parameterisation: str = "sparse", progress: bool = False) -> TrainingResult:
    """Train one linear self-attention agent on in-context regression and compare with ``Gamma*`` (L2).

    Parameters
    ----------
    d, N : int, optional
        Dimension (default 5) and context examples per prompt (default 20).
    Sigma : str or array_like, optional
        Input covariance: ``"isotropic"``, ``"anisotropic"`` (default) or the list of variances.
    tau, sigma : float, optional
        Task scale (``w ~ N(0, tau^2 I)``, default 1.0) and label-noise standard deviation (default 0.1).
    steps, batch, lr : int, int, float or None, optional
        Adam steps, tasks per step, learning rate; None (the default): the package's usual settings
        ``STEPS``, ``BATCH``, ``LR`` of :mod:`numerics.lsa.settings`.
    seed : int, optional
        Seed of initialisation and tasks (default 0).
    parameterisation : {"sparse", "full"}, optional
        ``p_y`` and ``Q_xx`` only (default), or all of ``p`` and ``W_KQ``.
    progress : bool, optional
        Draw a progress bar on a terminal while training; default False: nothing is drawn.

    Returns
    -------
    numerics.lsa.training.TrainingResult
        ``weights``, ``Gamma_eff``, ``Gamma_star``, ``rel_error``, ``report()``.

    Examples
    --------
    >>> r = train_lsa(d=2, N=10, steps=300, batch=64, lr=0.05, seed=1)
    >>> r.Gamma_star.shape, bool(r.rel_error < 0.2)
    ((2, 2), True)
    """
    from numerics.lsa import settings, training

    validate.seed("--seed", seed)
    return training.train(d, N, Sigma, tau, sigma, steps=settings.STEPS if steps is None else steps,
                          batch=settings.BATCH if batch is None else batch, seed=seed,
                          lr=settings.LR if lr is None else lr, parameterisation=parameterisation,
                          progress=progress, check_every=settings.CHECK_EVERY)


def run_conversation(config: str | Path | dict[str, Any], turns: int, out: str | Path, *,
                     complete: Callable[[str], str] | None = None, step: float = 0.5, noise: float = 0.0,
                     seed: int = 0, decimals: int = 4, max_reasks: int = 2, resume: bool = False,
                     meta: dict[str, Any] | None = None) -> Conversation:
    """Let the config's agents talk as text agents for ``turns`` rounds, into a JSONL transcript (C18).

    What ``a2ad llm-run`` does: every agent's prompt is written as a text task, the reply's vector is
    its message, each message is appended as soon as it is read, and ``resume=True`` continues an
    interrupted transcript (checked to be a prefix of this run).

    Parameters
    ----------
    config : str, pathlib.Path or dict
        CONFIG.json; every agent needs a ``prompt`` {X, y}.
    turns : int
        Rounds (each agent speaks once per round, or as often as the protocol lists it).
    out : str or pathlib.Path
        The transcript to write (or to continue with ``resume``).
    complete : callable or None, optional
        A text-to-text callable for every agent (e.g. a :class:`numerics.llm.client.ChatClient`);
        None (the default): the built-in local text agent, a GD step of size ``step`` written with
        ``decimals`` decimals plus Gaussian noise of standard deviation ``noise`` (seeded by
        ``seed + agent index``). A random protocol's schedule is drawn from ``seed`` too (as
        ``a2ad llm-run --seed``).
    step : float, optional
        The local text agent's GD step size (default 0.5; unused with ``complete``).
    noise : float, optional
        The local text agent's noise standard deviation (default 0.0; unused with ``complete``).
    seed : int, optional
        Seed of the local agents' noise and of a random protocol's schedule (default 0).
    decimals : int, optional
        Decimals of the numbers written into the prompts and of the local agent's replies (default 4).
    max_reasks : int, optional
        Re-asks after an unreadable reply (default 2).
    resume : bool, optional
        Continue the transcript at ``out`` (default False: a new transcript).
    meta : dict or None, optional
        Backend description recorded with each message; None (the default): the local backend's
        settings ``{"backend": "local", "step": ..., "noise": ..., "seed": ...}``, or
        ``{"backend": "callable"}`` with ``complete``.

    Returns
    -------
    numerics.llm.conversation.Conversation
        The transcript path and how many messages it holds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "talk.jsonl"
    >>> run_conversation("examples/text_agents.json", 3, out).messages
    6
    >>> read_transcript(out).d
    2
    """
    from numerics.llm import conversation, text_protocol

    turns = validate.positive_int("turns", turns)
    seed = validate.seed("seed", seed)
    raw = jsonio.load(config) if not isinstance(config, dict) else config
    if complete is None:
        meta = meta or {"backend": "local", "step": step, "noise": noise, "seed": seed}
        complete_for = lambda i: text_protocol.gd_text_agent(step, decimals, noise, seed + i)
    else:
        meta = meta or {"backend": "callable"}
        complete_for = lambda i: complete
    agents, v0 = conversation.text_agents(raw, complete_for, decimals, max_reasks)
    return conversation.run(raw, agents, v0, turns, out, meta=meta, resume=resume, seed=seed)
