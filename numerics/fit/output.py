"""What ``a2ad fit`` shows: a JSON document, a short text summary and a figure (C18)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.fit.fitting import FitReport, Interval
from numerics.io.transcripts import Transcript

# The figure's layout (draw_fit_figure's docstring states it; tests/test_fit_output_contracts.py reads it):
# inches, the left:right panel widths, the legend's columns, the PNG resolution and the line widths.
FIGURE_WIDTH, ROW_HEIGHT, LEGEND_HEIGHT = 11.0, 3.0, 0.7
WIDTH_RATIOS = (3, 2)
LEGEND_COLUMNS = 3
DPI = 110
MESSAGE_WIDTH, FIXED_POINT_WIDTH, ZERO_WIDTH = 0.8, 1.0, 0.6
LEGEND_FONT, TITLE_FONT = 8, 10  # points
BAND_ALPHA = 0.12


def _interval(iv: Interval | None, k: int | None = None):
    if iv is None:
        return None
    low, high = (iv.low, iv.high) if k is None else (iv.low[k], iv.high[k])
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return None  # undefined (e.g. no bootstrap resamples): JSON null, never NaN
    return {"low": np.asarray(low).tolist(), "high": np.asarray(high).tolist()}


def _residual(fixed_point, target):
    """``fixed_point - target`` and its norm (predict's ``residual`` and ``residual_norm``), or ``None``s."""
    if fixed_point is None or target is None:
        return None, None
    r = np.asarray(fixed_point) - np.asarray(target)
    return r.tolist(), float(np.linalg.norm(r))


def report_doc(r: FitReport) -> dict:
    """The fit as JSON-able data (every array as nested lists), in ``predict``'s vocabulary.

    Per agent, keyed by name as in ``predict``: ``target`` is the implied target
    ``w_hat* = Khat^{-1} chat`` of the fitted map, ``fixed_point`` the end-of-round fixed point
    of the fitted maps (C2/C17, or P1 under a protocol), ``residual = fixed_point - target`` and
    ``residual_norm`` its norm; ``None`` where undefined (``converges`` false, or ``Khat``
    singular). The keys are listed in docs/config.rst.
    """
    p = r.prediction
    converges = p.plateau is not None
    agents = {}
    for k, (name, f) in enumerate(zip(r.agents, p.fits)):
        target = None if f.target is None else f.target.tolist()
        fixed_point = p.plateau[k].tolist() if p.plateau is not None else None
        residual, residual_norm = _residual(fixed_point, target)
        agents[name] = {
            "message_count": f.n, "M_hat": f.M_hat.tolist(), "c_hat": f.c_hat.tolist(),
            "map_interval": _interval(r.map_interval[k]),
            "target": target,
            "noise_covariance": f.residual_cov.tolist(), "r2": f.r2, "design_condition": f.condition,
            "fixed_point": fixed_point,
            "fixed_point_interval": _interval(r.plateau_interval, k),
            "residual": residual, "residual_norm": residual_norm,
            "observed_tail_mean": r.observed_mean[k].tolist(),
            "observed_tail_mean_interval": _interval(r.observed_mean_interval, k),
            "predicted_covariance": None if p.spread is None else p.spread[k].tolist(),
            "predicted_std_interval": _interval(r.spread_interval, k),
            "observed_tail_covariance": r.observed_cov[k].tolist(),
        }
    doc = {"claim": "C18", "contraction_rate": p.rate, "converges": converges}
    if p.mean_rate is not None:  # a random protocol: rate is the mean-square rate
        doc["mean_rate"] = p.mean_rate
    if not converges and p.mean_rate is not None:
        doc["reason"] = (f"mean-square rate {p.rate:.6g} >= 1: the fitted maps have no stationary spread under the "
                         "random protocol; the mean " + ("still converges" if p.mean_rate < 1 else "diverges too")
                         + f" (mean rate {p.mean_rate:.6g})")
    elif not converges:
        doc["reason"] = (f"contraction rate rho(Mhat) = {p.rate:.6g} >= 1: the fitted maps have no attracting "
                         "fixed point")
    doc.update({"tail_start_round": r.tail_start, "bootstrap": r.bootstrap, "level": r.level, "agents": agents,
                "warnings": list(r.warnings)})
    protocol = getattr(r, "protocol", None)
    if protocol is not None:  # a protocol transcript (numerics.fit.protocol_fit): rate and fixed point from P1
        doc["protocol"] = {"agents": list(protocol.names), **protocol.as_dict()}
    return doc


def _vec(v) -> str:
    return "[" + ", ".join(f"{x: .4g}" for x in np.atleast_1d(v)) + "]"


def report_text(r: FitReport) -> str:
    p = r.prediction
    rate = "rho(Mhat)" if p.mean_rate is None else "(mean-square)"
    lines = [f"fitted contraction rate {rate} = {p.rate:.4g}"
             + ("" if p.rate < 1 else "  (diverges: no fixed point)")
             + ("" if p.mean_rate is None else f"; mean rate = {p.mean_rate:.4g}"),
             f"tail: rounds {r.tail_start}+; map intervals: least-squares t; others: {r.bootstrap} bootstrap resamples"]
    protocol = getattr(r, "protocol", None)
    if protocol is not None and not hasattr(protocol, "phases"):  # a random protocol
        law = "a Markov chain" if protocol.markov else "independent draws"
        lines.insert(0, f"random protocol: {protocol.n_alt} alternatives ({law}) over agents "
                        f"{', '.join(protocol.names)}; maps are per turn, fixed point = stationary mean at the end "
                        "of a round, spread = its stationary covariance (second moments)")
    elif protocol is not None:
        lines.insert(0, f"protocol: {len(protocol.phases)} phase(s) per round over agents {', '.join(protocol.names)}; "
                        "maps are per turn, messages and fixed point at the end of each round (P1)")
    for k, (name, f) in enumerate(zip(r.agents, p.fits)):
        lines += ["", f"agent {name}: {f.n} messages, R^2 = {f.r2:.6f}, design condition {f.condition:.3g}",
                  "  Mhat = " + "\n         ".join(_vec(row) for row in f.M_hat),
                  f"  chat = {_vec(f.c_hat)}",
                  "  implied target w_hat* = "
                  + (_vec(f.target) if f.target is not None else "undefined (Khat singular)"),
                  f"  noise std (residuals) = {_vec(np.sqrt(np.diag(f.residual_cov)))}"]
        if p.plateau is not None:
            lines.append(f"  predicted fixed point = {_vec(p.plateau[k])}")
            if r.plateau_interval is not None:
                lines.append(f"      interval          = {_vec(r.plateau_interval.low[k])} .. "
                             f"{_vec(r.plateau_interval.high[k])}")
        lines.append(f"  observed tail mean = {_vec(r.observed_mean[k])}")
        lines.append(f"      interval       = {_vec(r.observed_mean_interval.low[k])} .. "
                     f"{_vec(r.observed_mean_interval.high[k])}")
        if p.spread is not None:
            lines.append(f"  predicted std = {_vec(np.sqrt(np.diag(p.spread[k])))}")
        lines.append(f"  observed std  = {_vec(np.sqrt(np.diag(r.observed_cov[k])))}")
    lines += [f"warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def fit_figure(r: FitReport, transcript: Transcript, path) -> Path:
    """Draw :func:`draw_fit_figure` to ``path`` (written atomically; .png, .pdf or .svg by its suffix)."""
    import matplotlib.pyplot as plt

    fig = draw_fit_figure(r, transcript)
    path = Path(path)
    from numerics.io.outputs import atomic

    try:
        with atomic(path, "--figure") as tmp:
            fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip(".").lower() or "png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def draw_fit_figure(r: FitReport, transcript: Transcript):
    """The figure ``a2ad fit`` draws (a matplotlib Figure, not yet saved), one row per agent.

    Left: the agent's end-of-turn messages (end-of-round under a protocol), coordinates 1 to
    ``min(d, 3)``, with the predicted fixed point (dashed) +- 2 predicted standard deviations
    (band) and the first round of the tail (dotted). Right: per coordinate, the observed tail mean
    (grey circle) and the predicted fixed point (black square, at 0), both as offsets from the
    prediction, with their intervals at ``r.level``. Without a predicted fixed point the offsets
    are from 0 and only the observed mean is drawn. A grey line marks offset 0.

    Layout: ``FIGURE_WIDTH`` x ``ROW_HEIGHT K + LEGEND_HEIGHT`` inches (11 x (3 K + 0.7)), the panels'
    widths in the ratio ``WIDTH_RATIOS`` (3 : 2), one legend below the panels in ``LEGEND_COLUMNS`` (3)
    columns without a frame, in the bottom ``LEGEND_HEIGHT`` inches, its text ``LEGEND_FONT`` (8) points, the title's
    ``TITLE_FONT`` (10); the panels fill the rest (matplotlib's tight layout: no label overlaps the
    legend). An interval that does not contain its estimate is drawn from the estimate on that side.
    Lines are ``MESSAGE_WIDTH`` (0.8 pt: messages, the tail's line), ``FIXED_POINT_WIDTH`` (1 pt) and
    ``ZERO_WIDTH`` (0.6 pt: offset 0) wide, bands of opacity ``BAND_ALPHA`` (0.12); a PNG is written at
    ``DPI`` (110) dots per inch.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K, d = len(r.agents), transcript.d
    coords = range(min(d, 3))
    height = ROW_HEIGHT * K + LEGEND_HEIGHT
    fig, axes = plt.subplots(K, 2, figsize=(FIGURE_WIDTH, height), squeeze=False,
                             gridspec_kw={"width_ratios": WIDTH_RATIOS})
    p = r.prediction
    rounds = getattr(r, "round_messages", None)  # a protocol transcript: end-of-round messages
    random = p.mean_rate is not None
    fixed_point_claim = "C2" if rounds is None else ("stationary mean" if random else "P1")
    source = "C15" if rounds is None else ("second moments of the random protocol" if random
                                           else "Lyapunov equation of the round map")
    for k, name in enumerate(r.agents):
        out = transcript.pairs(name)[1] if rounds is None else rounds[:, k]
        ax = axes[k, 0]
        for j in coords:
            line, = ax.plot(out[:, j], lw=MESSAGE_WIDTH, label=f"coordinate {j + 1}")
            if p.plateau is not None and p.spread is not None:
                sd = np.sqrt(p.spread[k][j, j])
                ax.axhline(p.plateau[k][j], color=line.get_color(), ls="--", lw=FIXED_POINT_WIDTH)
                ax.axhspan(p.plateau[k][j] - 2 * sd, p.plateau[k][j] + 2 * sd, color=line.get_color(),
                           alpha=BAND_ALPHA)
        ax.axvline(r.tail_start, color="black", lw=MESSAGE_WIDTH, ls=":")
        ax.set(title=f"{name}'s messages, one colour per coordinate",
               xlabel="turn (rounds)", ylabel="message coordinate")
        ax = axes[k, 1]
        x = np.arange(d)
        ref = p.plateau[k] if p.plateau is not None else np.zeros(d)  # offsets from the prediction
        obs_lo, obs_hi = r.observed_mean_interval.low[k], r.observed_mean_interval.high[k]
        # black and grey here: colours mean coordinates in this figure (left panels)
        ax.errorbar(x + 0.1, r.observed_mean[k] - ref,
                    yerr=[np.maximum(r.observed_mean[k] - obs_lo, 0), np.maximum(obs_hi - r.observed_mean[k], 0)],
                    fmt="o", color="0.45")
        if p.plateau is not None and r.plateau_interval is not None:
            lo, hi = r.plateau_interval.low[k], r.plateau_interval.high[k]
            ax.errorbar(x - 0.1, np.zeros(d), yerr=[np.maximum(ref - lo, 0), np.maximum(hi - ref, 0)],
                        fmt="s", color="black")
        ax.axhline(0, color="0.6", lw=ZERO_WIDTH)
        ax.set(title=f"{name}: offset from the predicted fixed point ({100 * r.level:g}% intervals)",
               xlabel="coordinate", ylabel="offset (units of the message)", xticks=x,
               xticklabels=[str(i + 1) for i in x])
    # One legend for the whole figure, below the panels (per-panel legends squeezed the time series).
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list = [Line2D([], [], color=f"C{j}", lw=MESSAGE_WIDTH, label=f"coordinate {j + 1}") for j in coords]
    handles += [Line2D([], [], color="black", lw=MESSAGE_WIDTH, ls=":", label="tail starts (fit compared here)"),
                Line2D([], [], color="black", lw=FIXED_POINT_WIDTH, ls="--",
                       label=f"predicted fixed point ({fixed_point_claim} from fitted maps)"),
                Patch(color="black", alpha=BAND_ALPHA, label=rf"$\pm 2$ predicted std ({source})"),
                Line2D([], [], color="0.45", marker="o", ls="none", label="observed tail mean (right)"),
                Line2D([], [], color="black", marker="s", ls="none",
                       label="predicted fixed point with its interval (right)")]
    fig.legend(handles=handles, loc="lower center", ncol=LEGEND_COLUMNS, fontsize=LEGEND_FONT, frameon=False)
    fig.suptitle("Fitted affine maps (C18): predicted fixed point and spread against the transcript's tail",
                 fontsize=TITLE_FONT)
    fig.tight_layout(rect=(0, LEGEND_HEIGHT / height, 1, 1))  # the bottom LEGEND_HEIGHT inches: the legend
    return fig
