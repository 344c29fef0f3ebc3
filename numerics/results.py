"""Typed results of the public API (:mod:`numerics.api`): one dataclass per command document.

Each result is built from the JSON document the engine produces (``from_json``), keeps the
document's key order and spelling, and gives it back unchanged: ``to_json()`` is, byte for byte,
what the ``a2ad`` command prints (same indentation, standard JSON only). Field names are the
document's keys (the vocabulary of ``predict``: ``contraction_rate``, ``fixed_point``,
``residual``, ``converges``, ``reason``); a key this version does not name is kept in ``extra``
and written back where it was, so a renamed or added key never breaks a result. Vectors of
float64 numbers become numpy arrays; numbers printed as decimal strings (``precision=DIGITS``)
stay strings. Only numpy, the standard library and the JSON writer :mod:`numerics.io.outputs` are
imported here (fast start-up); the fitting engine and the transcripts only for type checking.

``to_json()`` indents by two spaces for ``predict``, ``attack``, ``derive --protocol`` and
:class:`SweepResult` (``INDENT = 2``; ``a2ad sweep`` itself prints :meth:`SweepResult.summary`),
and writes one line for ``simulate`` and ``fit --json`` (``INDENT = None``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from numerics.io import outputs

if TYPE_CHECKING:
    from numerics.fit.fitting import FitReport
    from numerics.io.transcripts import Transcript

__all__ = ["Document", "AgentPrediction", "Prediction", "AgentRun", "Simulation", "FitResult", "AttackResult",
           "SweepResult", "DerivedProtocol"]

_BOOKKEEPING = ("extra", "keys")


def _all_floats(value: Any) -> bool:
    """True for a non-empty rectangular nest of lists whose leaves are all Python floats (``type(x) is
    float``: an int, a bool or a decimal string is not one)."""
    if not isinstance(value, list) or not value:
        return False
    if all(type(x) is float for x in value):
        return True
    return (all(isinstance(x, list) for x in value) and len({len(x) for x in value}) == 1
            and all(_all_floats(x) for x in value))


def as_array(value: Any) -> Any:
    """A float64 array for a nest of floats (the JSON of a vector or matrix), else ``value`` unchanged.

    Only a rectangular nest becomes an array: a ragged one (rows of different lengths) is returned
    as given, never an error.

    Examples
    --------
    >>> as_array([1.0, 2.5])
    array([1. , 2.5])
    >>> as_array(["0.25", "1.5"])  # decimal strings (mpmath digits) stay strings
    ['0.25', '1.5']
    >>> as_array([[1.0], [2.0, 3.0]])  # ragged: the list as given
    [[1.0], [2.0, 3.0]]
    """
    return np.array(value, dtype=float) if _all_floats(value) else value


def as_plain(value: Any) -> Any:
    """The JSON form of a field value: arrays as nested lists, results as their documents."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Document):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, eq=False)
class Document:
    """Base of every result: a JSON document with typed fields.

    Subclasses declare their fields (the document's keys, each defaulting to ``None`` when the
    document lacks it), ``ALIASES`` (another spelling of a key -> field name), ``NESTED``
    (field -> result type of a nested document) and ``MAPPINGS`` (the nested fields that map
    names to such documents, e.g. ``agents``).

    Attributes
    ----------
    extra : dict
        Keys of the document that this version does not name, kept as given.
    keys : tuple of str
        The document's keys in their order and spelling (empty: every declared field, in order).

    Notes
    -----
    ``extra`` and ``keys`` are keyword-only bookkeeping: a result built in Python takes its
    document's fields positionally in the order listed, and its ``repr`` shows those fields only
    (not ``extra``, ``keys``, nor :class:`FitResult`'s ``report`` and ``transcript``).

    Results compare and hash by identity (``eq=False``): their fields hold numpy arrays, whose
    ``==`` is elementwise and has no single truth value, so ``==`` on contents would be ambiguous
    (and a frozen dataclass comparing contents would be unhashable). Compare ``to_dict()`` or
    ``to_json()`` for equal documents.

    Examples
    --------
    >>> run = AgentRun.from_json({"messages": [[0.5, 1.0]], "residual_norms": [0.25], "note": "kept"})
    >>> run.residual_norms, run.extra
    (array([0.25]), {'note': 'kept'})
    >>> run.to_json()
    '{"messages": [[0.5, 1.0]], "residual_norms": [0.25], "note": "kept"}'
    """

    extra: dict[str, Any] = field(default_factory=dict, repr=False, kw_only=True)
    keys: tuple[str, ...] = field(default=(), repr=False, kw_only=True)

    ALIASES: ClassVar[dict[str, str]] = {}
    NESTED: ClassVar[dict[str, type[Document]]] = {}
    MAPPINGS: ClassVar[tuple[str, ...]] = ()  # fields holding {name: nested document}
    OPTIONAL: ClassVar[tuple[str, ...]] = ()  # fields a document carries only when set (left out when None)
    WHAT: ClassVar[str] = "result"  # the command, for the error naming a non-finite number
    INDENT: ClassVar[int | None] = None  # the command's indentation (None: one line)

    @classmethod
    def _names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in _BOOKKEEPING]

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        kind = cls.NESTED.get(name)
        if kind is None or value is None:
            return as_array(value)
        if name in cls.MAPPINGS:
            return {k: kind.from_json(v) for k, v in value.items()}
        return kind.from_json(value)

    @classmethod
    def from_json(cls, doc: dict[str, Any] | str | bytes) -> Self:
        """The result of a document (a dict, or its JSON text).

        Parameters
        ----------
        doc : dict or str
            The command's document, as the engine returns it or as the command printed it.

        Returns
        -------
        Document
            An instance of the class it is called on. A field given twice (an old and a new
            spelling, e.g. ``rate`` and ``contraction_rate``) takes the first; the other stays in
            ``extra``, and ``to_dict()`` gives both back with their own values.
        """
        if isinstance(doc, (str, bytes)):
            doc = json.loads(doc)
        if not isinstance(doc, dict):
            raise TypeError(f"{cls.__name__}.from_json needs a JSON object, not {type(doc).__name__}")
        names = set(cls._names())
        values, extra = {}, {}
        for key, value in doc.items():
            name = cls.ALIASES.get(key, key)
            if name in names and name not in values:
                values[name] = cls._load(name, value)
            else:
                extra[key] = value
        return cls(**values, extra=extra, keys=tuple(doc))

    def to_dict(self) -> dict[str, Any]:
        """The document: the keys in their order, arrays as nested lists (JSON-able).

        A result built in Python (``keys`` empty) gives every declared field in order, ``None`` as
        ``null``, except an ``OPTIONAL`` field (e.g. ``reason``) that is ``None``: that key is left out.
        """
        names = set(self._names())
        out = {}
        default = [n for n in self._names() if not (n in self.OPTIONAL and getattr(self, n) is None)]
        for key in self.keys or default:
            name = self.ALIASES.get(key, key)
            out[key] = as_plain(getattr(self, name)) if name in names and key not in self.extra else self.extra[key]
        return out

    def to_json(self, indent: int | None | Literal["command"] = "command") -> str:
        """The document as standard JSON text, exactly as the command prints it (without the newline).

        Parameters
        ----------
        indent : int, None or "command", optional
            Indentation (None: one line); by default the command's own.

        Returns
        -------
        str
            JSON text; a NaN or infinity anywhere raises :class:`~numerics.io.errors.InputError`.
        """
        return outputs.dumps(self.to_dict(), self.WHAT, self.INDENT if isinstance(indent, str) else indent)

    def with_value(self, key: str, value: Any) -> Self:
        """A copy with document key ``key`` set to ``value``: a key the document has keeps its place,
        a key it lacks is appended last (``keys`` never repeats a key)."""
        name = self.ALIASES.get(key, key)
        keys = self.keys or tuple(self._names())
        keys = keys if key in keys else keys + (key,)
        if name in self._names():
            return replace(self, **{name: self._load(name, value)}, keys=keys)
        return replace(self, extra={**self.extra, key: value}, keys=keys)


def _num(x: Any) -> str:
    """A rate as printed by ``to_text``: decimal strings (``--precision``) as they are, floats to 6 digits."""
    return x if isinstance(x, str) else f"{float(x):.6g}"


def _require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pandas is optional: only to_pandas() needs it
        raise ImportError("to_pandas() needs pandas: pip install 'a2a-dynamics[pandas]'") from None
    return pd


# ---- predict ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AgentPrediction(Document):
    """One agent's entry of :class:`Prediction` (C2, C3, C17, P1).

    Attributes
    ----------
    target : numpy.ndarray or list of str
        The agent's own objective ``w_star``.
    fixed_point : numpy.ndarray, list of str or None
        Its message at the fixed point (``None`` when the messages do not converge).
    residual : numpy.ndarray, list of str or None
        ``fixed_point - target``: how far the conversation leaves the agent from its objective.
    residual_norm : float, str or None
        The Euclidean norm of ``residual``.
    covariance : numpy.ndarray, list or None
        The stationary covariance of its end-of-round message (present only for a random protocol or
        when some agent has ``noise``; ``None`` when the second moment does not converge).

    Examples
    --------
    >>> a = AgentPrediction.from_json({"target": [1.0, 0.0], "fixed_point": [0.5, 0.0],
    ...                                "residual": [-0.5, 0.0], "residual_norm": 0.5})
    >>> a.residual, a.residual_norm
    (array([-0.5,  0. ]), 0.5)
    """

    target: object = None
    fixed_point: object = None
    residual: object = None
    residual_norm: object = None
    covariance: object = None

    OPTIONAL: ClassVar[tuple[str, ...]] = ("covariance",)


@dataclass(frozen=True, eq=False)
class Prediction(Document):
    """The closed-form prediction of a config: what ``a2ad predict`` prints.

    Attributes
    ----------
    dimension : int
        The message dimension ``d``.
    contraction_rate : float or str
        ``rho`` of the round map (C1, P1); the messages converge when it is below 1.
    converges : bool
        Whether ``rho < 1`` (by a margin of 1e-12).
    precision : str
        ``"float64"`` or ``"mpmath D digits"`` (numbers then printed as decimal strings).
    agents : dict of str to AgentPrediction
        Each agent's target, fixed point and residual, in speaking order.
    reason : str or None
        Why there is no fixed point (present only when ``converges`` is false).
    mean_rate : float or str or None
        Random protocols only: the spectral radius of the first-moment operator (the mean converges when
        it is below 1; ``contraction_rate`` is then the mean-square rate).
    schedule : dict or None
        Random protocols only: ``kind`` (independent or markov), ``alternatives``, ``stationary_law``.

    Examples
    --------
    >>> p = Prediction.from_json({"dimension": 1, "contraction_rate": 0.25, "converges": True,
    ...     "precision": "float64", "agents": {"A": {"target": [1.0], "fixed_point": [0.75],
    ...     "residual": [-0.25], "residual_norm": 0.25}}})
    >>> p.agents["A"].fixed_point
    array([0.75])
    >>> p.to_json(indent=None)[:60]
    '{"dimension": 1, "contraction_rate": 0.25, "converges": true'
    """

    dimension: int | None = None
    contraction_rate: object = None
    converges: bool | None = None
    precision: str | None = None
    agents: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    mean_rate: object = None
    schedule: dict[str, Any] | None = None

    NESTED: ClassVar[dict[str, type[Document]]] = {"agents": AgentPrediction}
    MAPPINGS: ClassVar[tuple[str, ...]] = ("agents",)
    OPTIONAL: ClassVar[tuple[str, ...]] = ("reason", "mean_rate", "schedule")
    WHAT: ClassVar[str] = "predict"
    INDENT: ClassVar[int | None] = 2

    def to_text(self) -> str:
        """A readable summary (``a2ad predict --text``): the rates, then per agent its fixed point (the
        stationary mean for a random protocol), residual norm and, where present, covariance. Float
        numbers are written to 6 significant digits; decimal strings (``precision=DIGITS``) as given.

        Examples
        --------
        >>> print(Prediction.from_json({"dimension": 1, "contraction_rate": 0.5, "mean_rate": 0.25,
        ...     "converges": True, "precision": "float64", "agents": {"A": {"target": [1.0],
        ...     "fixed_point": [0.75], "residual": [-0.25], "residual_norm": 0.25, "covariance": [[0.01]]}}}
        ...     ).to_text())
        contraction rate (mean-square, per round): 0.5
        mean rate (first moment, per round):       0.25
        converges: yes (float64)
        A: stationary mean [0.75]  residual norm 0.25
           covariance [[0.01]]
        """
        def vec(v: Any) -> str:
            return "[" + ", ".join(x if isinstance(x, str) else f"{float(x):.6g}" for x in as_plain(v)) + "]"

        rnd = self.mean_rate is not None
        lines = [f"contraction rate{' (mean-square, per round)' if rnd else ''}: {_num(self.contraction_rate)}"]
        if rnd:
            lines.append(f"mean rate (first moment, per round):       {_num(self.mean_rate)}")
        lines.append(f"converges: {'yes' if self.converges else 'no'} ({self.precision})")
        if self.reason:
            lines.append(f"reason: {self.reason}")
        for name, a in self.agents.items():
            fp = "null" if a.fixed_point is None else vec(a.fixed_point)
            norm = "null" if a.residual_norm is None else _num(a.residual_norm)
            lines.append(f"{name}: {'stationary mean' if rnd else 'fixed point'} {fp}  residual norm {norm}")
            if a.covariance is not None:
                rows = ", ".join(vec(r) for r in as_plain(a.covariance))
                lines.append(f"{' ' * len(name)}  covariance [{rows}]")
        return "\n".join(lines)


# ---- simulate --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AgentRun(Document):
    """One agent's messages and residual norms in a :class:`Simulation`.

    Attributes
    ----------
    messages : numpy.ndarray
        Shape (turns, d): ``messages[t]`` is the agent's output at its (t+1)-th turn.
    residual_norms : numpy.ndarray
        Shape (turns,): the distance of each message to the agent's own target.

    Examples
    --------
    >>> AgentRun.from_json({"messages": [[0.0], [0.5]], "residual_norms": [1.0, 0.5]}).messages.shape
    (2, 1)
    """

    messages: object = None
    residual_norms: object = None


@dataclass(frozen=True, eq=False)
class Simulation(Document):
    """The real agents iterated for some rounds: what ``a2ad simulate`` prints.

    Attributes
    ----------
    turns : int
        Rounds run (each agent speaks once per round, or once per phase that updates it).
    agents : dict of str to AgentRun
        Each agent's messages and residual norms.

    Examples
    --------
    >>> s = Simulation.from_json({"turns": 2, "agents": {"A": {"messages": [[0.5], [0.75]],
    ...                                                         "residual_norms": [0.5, 0.25]}}})
    >>> s.to_pandas()[["agent", "turn", "residual_norm", "message_1"]].values.tolist()
    [['A', 1, 0.5, 0.5], ['A', 2, 0.25, 0.75]]
    """

    turns: int | None = None
    agents: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    schedule: object = None

    NESTED: ClassVar[dict[str, type[Document]]] = {"agents": AgentRun}
    MAPPINGS: ClassVar[tuple[str, ...]] = ("agents",)
    OPTIONAL: ClassVar[tuple[str, ...]] = ("seed", "schedule")
    WHAT: ClassVar[str] = "simulate"

    def to_pandas(self) -> Any:
        """One row per agent and turn: ``agent``, ``turn`` (1-based), ``residual_norm``, ``message_1`` ...
        ``message_d``; the agents in order, each by turn, indexed ``0 .. rows - 1``.

        Needs pandas (the ``pandas`` extra); without it, an :class:`ImportError` naming
        ``pip install 'a2a-dynamics[pandas]'``."""
        pd = _require_pandas()
        frames = []
        for name, run in self.agents.items():
            m = np.asarray(run.messages, dtype=float).reshape(len(run.residual_norms), -1)
            frame = pd.DataFrame({"agent": name, "turn": np.arange(1, len(m) + 1),
                                  "residual_norm": np.asarray(run.residual_norms)})
            for j in range(m.shape[1]):
                frame[f"message_{j + 1}"] = m[:, j]
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


# ---- fit -------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class FitResult(Document):
    """Fitted affine maps of a transcript and the predicted plateau (C18): ``a2ad fit --json``.

    Attributes
    ----------
    claim : str
        ``"C18"``.
    contraction_rate : float
        ``rho`` of the fitted round map (``rate`` before schema version 1 is read as this).
    converges : bool
        The fitted maps have an attracting fixed point.
    reason : str or None
        Why not, when ``converges`` is false.
    tail_start_round : int
        First round of the tail the prediction is compared with.
    bootstrap : int
        Bootstrap resamples behind the intervals.
    level : float
        Interval level.
    agents : dict of str to dict
        Per agent, keyed by name: ``M_hat``, ``c_hat``, ``target``, ``fixed_point``, ``residual``, ...
    warnings : list of str
        Identifiability notes.
    protocol : dict or None
        The protocol the transcript was fitted under (absent for the round robin).
    figure : str or None
        The figure's path once :meth:`save_figure` has drawn it.

    Examples
    --------
    >>> r = FitResult.from_json({"claim": "C18", "contraction_rate": 0.5, "agents": {"A": {"r2": 0.99}}})
    >>> r.contraction_rate, list(r.to_dict())
    (0.5, ['claim', 'contraction_rate', 'agents'])
    >>> r.to_pandas().to_dict("records")
    [{'agent': 'A', 'r2': 0.99}]
    """

    claim: str | None = None
    contraction_rate: object = None
    converges: bool | None = None
    reason: str | None = None
    tail_start_round: int | None = None
    bootstrap: int | None = None
    level: float | None = None
    agents: dict[str, Any] = field(default_factory=dict)
    warnings: list[Any] = field(default_factory=list)
    protocol: dict[str, Any] | None = None
    figure: str | None = None
    report: FitReport | None = field(default=None, repr=False)  # the engine's report: not a key, not in repr
    transcript: Transcript | None = field(default=None, repr=False)  # the fitted transcript: not a key, not in repr

    ALIASES: ClassVar[dict[str, str]] = {"rate": "contraction_rate"}
    OPTIONAL: ClassVar[tuple[str, ...]] = ("reason", "protocol", "figure")
    WHAT: ClassVar[str] = "fit"

    @classmethod
    def _names(cls) -> list[str]:
        return [n for n in super()._names() if n not in ("report", "transcript")]

    def to_pandas(self) -> Any:
        """The per-agent table: one row per agent, one column per key of its entry (vectors as lists)."""
        return _require_pandas().DataFrame([{"agent": name, **entry} for name, entry in self.agents.items()])

    def to_text(self) -> str:
        """The summary ``a2ad fit`` prints without ``--json`` (needs the result of
        :func:`numerics.api.fit_transcript`)."""
        from numerics.fit import output

        return output.report_text(self._engine_report())

    def save_figure(self, path: str | os.PathLike[str]) -> FitResult:
        """Draw the fit (messages, plateau and intervals) to ``path``; the result with ``figure`` set.

        The path is written atomically (.png, .pdf or .svg); matplotlib is imported only here.
        """
        from numerics.fit import output

        report = self._engine_report()
        if self.transcript is None:
            raise ValueError(_NOT_FITTED)
        written = output.fit_figure(report, self.transcript, path)
        return self.with_value("figure", str(written))

    def _engine_report(self) -> FitReport:
        if self.report is None:
            raise ValueError(_NOT_FITTED)
        return self.report


_NOT_FITTED = ("this FitResult was read from a document: fit the transcript with numerics.fit_transcript to draw "
               "or summarise it")


# ---- attack ----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AttackResult(Document):
    """An attack prompt (C9 full, C10 rank-one, C11 steer) and its predicted outcome: ``a2ad attack``.

    Attributes
    ----------
    kind : str
        ``"full"``, ``"rank-one"`` or ``"steer"``.
    attacker, victim : str
        Agent names (``victim`` may be ``None`` under a protocol).
    agent_entry : dict
        The attacker's new CONFIG.json agent entry (prompt and preconditioner).
    contraction_rate : float
        ``rho`` of the attacked system.
    predicted : Prediction
        The closed-form prediction with the attacker's entry replaced.
    claim : str or None
        The claim the attack rests on (protocol configs).

    Examples
    --------
    >>> r = AttackResult.from_json({"kind": "full", "attacker": "A", "victim": "B",
    ...     "agent_entry": {"name": "A"}, "contraction_rate": 0.0, "unreachable_residual_norm": None,
    ...     "predicted": {"converges": True, "agents": {}}})
    >>> r.predicted.converges, r.victim
    (True, 'B')
    """

    kind: str | None = None
    claim: str | None = None
    attacker: str | None = None
    victim: str | None = None
    agent_entry: dict[str, Any] | None = None
    contraction_rate: object = None
    unreachable_residual_norm: object = None
    predicted: Prediction | None = None

    NESTED: ClassVar[dict[str, type[Document]]] = {"predicted": Prediction}
    OPTIONAL: ClassVar[tuple[str, ...]] = ("claim",)
    WHAT: ClassVar[str] = "attack"
    INDENT: ClassVar[int | None] = 2


# ---- sweep -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SweepResult(Document):
    """A sweep's results folder: what ``a2ad sweep`` reports, and its Parquet table.

    Attributes
    ----------
    out_dir : str
        The folder (``results/*.parquet``, ``spec.json``, ``phase.png``).
    n_points : int
        Grid points.
    chunks : int
        Chunks of the grid.
    computed, skipped : int
        Chunks computed by this run, and already on disk (``resume``).
    phase : str or None
        The phase figure, when one was drawn.
    phase_note : str
        What the figure shows, or why there is none.

    Examples
    --------
    >>> r = SweepResult(out_dir="build/s", n_points=4, chunks=1, computed=1, skipped=0, phase=None,
    ...                 phase_note="no plot requested")
    >>> r.summary().splitlines()[0]
    '4 points in 1 chunks: 1 computed, 0 already done -> build/s/results'
    """

    out_dir: str | None = None
    n_points: int | None = None
    chunks: int | None = None
    computed: int | None = None
    skipped: int | None = None
    phase: str | None = None
    phase_note: str | None = None

    WHAT: ClassVar[str] = "sweep"
    INDENT: ClassVar[int | None] = 2

    def summary(self) -> str:
        """The lines ``a2ad sweep`` prints: the counts and the results folder, then ``phase: <figure>``
        and the indented ``phase_note`` when a figure was drawn, else the ``phase_note`` alone."""
        lines = [f"{self.n_points} points in {self.chunks} chunks: {self.computed} computed, "
                 f"{self.skipped} already done -> {os.path.join(self.out_dir or '', 'results')}",
                 f"phase: {self.phase}" if self.phase else self.phase_note or ""]
        if self.phase:
            lines.append(f"  {self.phase_note}")
        return "\n".join(lines)

    def to_pandas(self, columns: list[str] | None = None) -> Any:
        """The Parquet results as one DataFrame, one row per grid point, in grid order (``point``)."""
        from numerics.sweep.run import read_results

        return _require_pandas().DataFrame(read_results(self.out_dir, columns))


# ---- derive --protocol -----------------------------------------------------------------------

# theory.protocol.report's per-agent keys -> the document's (predict's vocabulary; docs/config.rst)
_DERIVED_PER_AGENT = {"steps_per_turn": "steps_per_turn", "fixed_points": "fixed_point", "residuals": "residual"}


@dataclass(frozen=True, eq=False)
class DerivedProtocol(Document):
    """The derived theory of a config's protocol (P1): ``a2ad derive --protocol``.

    Every formula was proved (V1) before this result was made. The fields hold the document's
    formulas as ``{"latex": ..., "text": ...}`` entries.

    Attributes
    ----------
    agents : list of str
        Agent names.
    hypotheses : list of str
        Invertibility and non-zero conditions the formulas assume.
    fixed_points, residuals : dict
        Per agent: the fixed point ``z_i*`` and the residual ``e_i`` written in the gaps ``w_j* - w_i*``.
    rate : dict
        The reduced contraction rate (``power``, ``blocks``, ``latex``).
    checks : list of dict
        The V1 identities, every one ``holds``.

    Examples
    --------
    >>> d = DerivedProtocol.from_json({"agents": ["A", "B"], "checks": [{"label": "x", "holds": True}]})
    >>> d.agents
    ['A', 'B']
    """

    agents: list[Any] = field(default_factory=list)
    hypotheses: list[Any] = field(default_factory=list)
    steps_per_turn: dict[str, Any] = field(default_factory=dict)
    phases: list[Any] = field(default_factory=list)
    phases_latex: list[Any] = field(default_factory=list)
    round_map: dict[str, Any] = field(default_factory=dict)
    live_agents: list[Any] = field(default_factory=list)
    rate: dict[str, Any] = field(default_factory=dict)
    fixed_points: dict[str, Any] = field(default_factory=dict)
    residuals: dict[str, Any] = field(default_factory=dict)
    inverses: list[Any] = field(default_factory=list)
    lyapunov: dict[str, Any] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)
    compile_seconds: float | None = None
    definitions: list[Any] | None = None

    OPTIONAL: ClassVar[tuple[str, ...]] = ("definitions",)
    WHAT: ClassVar[str] = "derive"
    INDENT: ClassVar[int | None] = 2  # the report's own JSON (theory.protocol.report.as_json)

    def to_text(self) -> str:
        """Plain text (``--format text``)."""
        from theory.protocol import report

        return report.as_text(self.to_dict())

    def to_latex(self, title: str = "Derived theory of a protocol") -> str:
        """A LaTeX document (``--format latex``)."""
        from theory.protocol import report

        return report.as_latex(self.to_dict(), title)

    def to_macros(self, prefix: str = "aadProtocol", source: str = "a config", version: str = "",
                  provenance: str = "derived by the protocol compiler (P1-P5)") -> str:
        """LaTeX macros, one per formula (``--format macros``), every name starting with ``prefix``
        (letters only); the header comments name ``source``, ``version`` and ``provenance``."""
        from theory.protocol import report

        return report.as_macros(self.to_dict(), prefix, source, version, provenance)

    def to_json(self, indent: int | None | Literal["command"] = "command") -> str:
        """The ``--format json`` document, exactly as ``a2ad derive --protocol`` prints it: ``schema_version``
        first, ``contraction_rate`` for the symbolic rate, and one entry per agent keyed by name
        (``steps_per_turn``, ``fixed_point`` and ``residual``) as ``predict`` has (docs: config)."""
        from numerics.io.schema import versioned

        doc = self.to_dict()
        agents = {name: {new: doc[old][name] for old, new in _DERIVED_PER_AGENT.items() if name in doc[old]}
                  for name in doc["agents"]}
        rest = {k: v for k, v in doc.items() if k not in _DERIVED_PER_AGENT and k not in ("agents", "rate")}
        document = versioned({"agents": agents, "contraction_rate": doc["rate"], **rest})
        return outputs.dumps(document, self.WHAT, indent=self.INDENT if indent == "command" else indent)
