"""DIR/phase.png of a sweep: a heat map over two axes with the closed-form ``rho = 1`` boundary
(C1), or for one axis the predicted residual norms against the measured ones and the
contraction rate below. Column names: :mod:`numerics.sweep.measures`.
A ``seed`` axis is averaged over (NaN-aware); more than two other axes get no figure.
On a random protocol the rate is the mean-square rate (its ``= 1`` line bounds mean-square
convergence) and the first-moment rate's ``= 1`` line is drawn beside it (between the two the mean
converges while the spread grows without bound).

:func:`draw_phase_figure` draws the figure (its docstring states every artist and the layout, the
constants below); :func:`phase_figure` saves and closes it. tests/test_sweep_plot_contracts.py checks
what is drawn against the result columns. Importing this module (and :func:`needed_columns`,
:func:`default_quantity`) loads no matplotlib: only drawing does."""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from numerics.sweep.spec import Spec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_DRAWN = 300  # values drawn per heat-map axis at most: a longer axis is drawn at every k-th value
RATE, LSA_RATE = "contraction_rate", "lsa_contraction_rate"
RATES = (RATE, LSA_RATE)
MEAN_RATE = "mean_rate"  # a random protocol's first-moment rate

# The figure's layout (draw_phase_figure's docstring states it; tests/test_sweep_plot_contracts.py reads it).
HEAT_MAP_SIZE = (7.0, 5.4)                 # inches, two axes: one heat map and its colour bar
LINES_WIDTH, LINES_ROW_HEIGHT = 7.0, 3.4   # inches, one axis: two rows (residual norms, rate), 7 x 6.8 in all
BOUNDARY_WIDTH = 2.0                       # the pair's rate = 1 contour (black, solid)
AGENT_BOUNDARY_WIDTH = 1.5                 # each agent's own rho(M_i) = 1 and the mean rate = 1 (dashed)
LEVEL_WIDTH, LEVEL_ALPHA, LEVEL_COUNT = 0.6, 0.8, 8  # white level lines of a quantity that is not a rate
C6_HATCH = "//"                            # the C6 region
NO_DATA_GREY = "0.85"                      # cells with no value (no fixed point, not measured); bands rate >= 1
RATE_CLIP = 2.0                            # a rate's colours saturate above this
RATE_SPAN = (0.99, 1.01)                   # the rate scale spans at least this interval around its centre 1
SIM_MARKER_SIZE, LSA_MARKER_SIZE, NO_DATA_MARKER_SIZE = 4, 5, 10  # points
LEGEND_FONTSIZE, TITLE_FONTSIZE, LEGEND_ALPHA = 8, 10, 0.9
# An axis is drawn on a log scale when it has at least GEOMETRIC_MIN_VALUES positive values spanning a
# ratio of at least GEOMETRIC_MIN_RATIO with equal log steps (each within relative GEOMETRIC_RTOL of the first).
GEOMETRIC_MIN_VALUES, GEOMETRIC_MIN_RATIO, GEOMETRIC_RTOL = 3, 20, 1e-6
ANGLE_TICK_SLACK = 1e-4  # in units of pi/4: an angle axis ending at 3.14159 still gets its pi tick


def default_quantity(spec: Spec) -> str:
    first = spec.system.names[0]
    if spec.system.random is not None:  # the phase diagram of the mean-square rate
        return RATE
    if "train-lsa" in spec.measures:
        return f"lsa_residual_rel_error_{first}"
    if "simulate" in spec.measures:
        return f"sim_residual_norm_{first}"
    return RATE


def needed_columns(spec: Spec) -> list[str]:
    """The result columns the figure reads (a 10^6-point table need not be read whole): none when no figure is
    drawn (no axis or more than two besides ``seed``)."""
    from numerics.sweep.measures import columns

    shown = sum(a.name != "seed" for a in spec.axes)
    extra = [MEAN_RATE] if MEAN_RATE in columns(spec) else []
    if shown == 2:
        return list(dict.fromkeys([spec.plot_quantity or default_quantity(spec), RATE] + extra))
    if shown == 1:
        return [c for c in columns(spec) if c.startswith(("residual_norm_", "sim_residual_norm_", "lsa_residual_norm_",
                                                          "lsa_sim_residual_norm_")) or c in RATES + (MEAN_RATE,)]
    return []


def describe(column: str) -> str:
    """A readable label for a result column."""
    from numerics.experiments import plotting  # matplotlib: only when a figure is drawn

    # {0}: the agent's name as written, {1}: as a mathtext subscript
    for prefix, text in (("residual_norm_", r"predicted residual norm $\|u_{1}^* - w_{1}^*\|$ of {0} (C3/C17)"),
                         ("sim_residual_norm_", r"simulated residual norm $\|m_{1} - w_{1}^*\|$ of {0} after the run"),
                         ("sim_fixed_point_distance_", "distance of {0}'s simulated from its predicted fixed point"),
                         ("lsa_gamma_rel_error_",
                          r"relative error of {0}'s $\Gamma_{{\mathrm{{eff}}}}$ against $\Gamma^*$ (L2)"),
                         ("lsa_sim_residual_norm_", "trained-LSA residual norm of {0} (forward passes)"),
                         ("lsa_residual_norm_", r"C3 residual norm of {0} from $\Gamma_{{\mathrm{{eff}}}}$"),
                         ("lsa_residual_rel_error_", "trained-LSA residual of {0}: relative error of C3 (V7)"),
                         ("spread_", r"stationary spread $\sqrt{{\mathrm{{tr}}\,V_{1}}}$ of {0} (random protocol)")):
        if column.startswith(prefix):
            name = column[len(prefix):]
            return text.format(name, "{" + plotting.math_name(name) + "}")
    return {RATE: r"contraction rate $\rho$ (C1)", LSA_RATE: r"contraction rate $\rho$ of the trained LSA agents",
            MEAN_RATE: "mean rate (first moment, random protocol)"}.get(column, column)


def _random(spec: Spec) -> bool:
    return spec.system.random is not None


def describe_for(spec: Spec, column: str) -> str:
    """:func:`describe`, with the random protocol's meaning of the rate and residuals (any other column, and every
    column of a protocol that is not random: :func:`describe`'s text)."""
    if _random(spec) and column == RATE:
        return "mean-square rate (random protocol; converges below 1)"
    if _random(spec) and column.startswith("residual_norm_"):
        from numerics.experiments import plotting

        sub = "{" + plotting.math_name(column[len("residual_norm_"):]) + "}"
        return rf"residual norm $\|\mu_{sub} - w_{sub}^*\|$ of {column[len('residual_norm_'):]} (stationary mean)"
    return describe(column)


def axis_label(spec: Spec, name: str) -> str:
    if name == "gap_angle":
        return r"gap angle $\theta$ (rad) of B's target around A's"
    if name == "gap_scale":
        return r"gap scale $s = \|\Delta\| / \|\Delta_0\|$"
    from numerics.sweep.spec import is_probability

    if is_probability(name):
        return f"probability (the rest of its law rescaled)   [{name}]"
    parts = name.split(".")
    if len(parts) >= 3 and parts[0] == "agents" and parts[2] == "preconditioner":
        from numerics.experiments import plotting

        who = spec.system.agents[int(parts[1])].name
        sub = "{" + plotting.math_name(who) + "}"
        if len(parts) == 3:
            return rf"{who}'s step size $g$ ($\Gamma_{sub} = g I$)   [{name}]"
        return rf"{who}'s step size $(\Gamma_{sub})_{{{int(parts[3]) + 1}{int(parts[4]) + 1}}}$   [{name}]"
    return name


def _is_geometric(v: np.ndarray) -> bool:
    """Whether an axis's values are geometric (positive, spanning a factor >= 20, equal log steps: each step
    within ``numpy.allclose`` of the first, ``|r_i - r_0| <= 1e-8 + GEOMETRIC_RTOL |r_0|``)."""
    if len(v) < GEOMETRIC_MIN_VALUES or np.any(v <= 0) or v.max() / v.min() < GEOMETRIC_MIN_RATIO:
        return False
    r = np.diff(np.log(v))
    return bool(np.allclose(r, r[0], rtol=GEOMETRIC_RTOL))


def phase_figure(spec: Spec, cols: dict[str, np.ndarray], path: Path,
                 figure_format: str = "png") -> tuple[Path | None, str]:
    """Write :func:`draw_phase_figure` to ``path`` (as ``figure_format``, atomically) and close it; returns
    ``(path or None, what was drawn or why not)``."""
    fig, note = draw_phase_figure(spec, cols)
    if fig is None:
        return None, note
    from numerics.experiments import plotting

    return plotting.save(fig, Path(path), figure_format), note


def draw_phase_figure(spec: Spec, cols: dict[str, np.ndarray]) -> tuple[Figure | None, str]:
    """The figure ``a2ad sweep`` draws (a matplotlib Figure, not yet saved) and a note saying what it shows;
    ``(None, why not)`` when the spec has no axis or more than two besides ``seed``.

    ``cols`` holds the result columns (:func:`needed_columns`), rows in grid order (first axis slowest).
    The quantity is ``spec.plot_quantity`` or :func:`default_quantity`. Each column is reshaped to the
    grid and, with a ``seed`` axis, averaged over it with ``nanmean`` (a cell that is NaN for every seed
    stays NaN).

    **Two axes** (besides ``seed``): one panel, the first shown axis along x, the second along y.

    - Heat map (``pcolormesh``, nearest shading: one cell per grid point) of the quantity. An axis with
      more than ``MAX_DRAWN`` (300) values is drawn at every k-th value, ``k = ceil(n / MAX_DRAWN)``,
      starting with the first (the note then says ``(every k0th x k1th value drawn)``).
      A rate (``contraction_rate``, ``lsa_contraction_rate``): colour map ``RdBu_r`` with a
      ``TwoSlopeNorm`` centred at 1, ``vmin = min(smallest value, 0.99)``, ``vmax = max(min(largest value,
      RATE_CLIP), 1.01)`` (``RATE_CLIP`` = 2; ``RATE_CLIP`` when the largest value is not finite) and a
      colour bar extended at the top, its label ending ``(colours clipped at 2)`` when a value exceeds 2.
      Any other quantity: ``viridis`` on a linear scale, with white level lines (``LEVEL_WIDTH`` 0.6 pt,
      opacity ``LEVEL_ALPHA`` 0.8) at the round levels matplotlib's ``contour(levels=LEVEL_COUNT)`` chooses
      (at most ``LEVEL_COUNT + 1`` = 9 equal steps: 0, 0.1, ..., 0.9 for values from 0 to 0.9), also
      marked on the colour bar, when more than 3 cells have a value and the values are not all equal.
      Cells with no value (NaN: no fixed point, not measured) are grey ``NO_DATA_GREY`` ("0.85").
    - The pair's closed-form ``rho = 1`` (the mean-square rate = 1 on a random protocol): a black
      contour at level 1.0 of the ``contraction_rate`` grid, ``BOUNDARY_WIDTH`` (2 pt), drawn exactly
      when the grid's smallest value is below 1 and its largest above 1.
    - A random protocol's mean rate = 1: a dashed contour in ``C3`` of the ``mean_rate`` grid,
      ``AGENT_BOUNDARY_WIDTH`` (1.5 pt), drawn when that grid straddles 1 likewise.
    - Each agent's own ``rho(M_i) = 1``, ``M_i = (I - Gamma_i H_i)^{s_i}`` at each drawn point (other
      axes at their first value; batched specs only, :func:`individual_radii`): a dashed contour in the
      agent's colour ``C{i+1}``, ``AGENT_BOUNDARY_WIDTH``, drawn when its radii straddle 1.
    - C6: the cells where every agent alone has ``rho(M_i) < 1`` and the pair's rate is ``>= 1``,
      hatched ``C6_HATCH`` ("//") with no fill (``contourf`` of that mask at levels 0.5 and 1.5).
    - A legend (upper right, font ``LEGEND_FONTSIZE`` 8, frame opacity ``LEGEND_ALPHA`` 0.9) naming, in
      this order, the pair's boundary, the mean rate's, each agent's, the C6 region and, for a
      quantity that is not a rate with some grey cell, the grey cells (a square marker of size
      ``NO_DATA_MARKER_SIZE`` 10); only what is drawn is named.
    - An axis whose values are geometric (:func:`_is_geometric`) is drawn on a log scale; a
      ``gap_angle`` axis has ticks at the multiples of pi/4 within its range (labels ``0``,
      ``$\\pi/4$``, ``$\\pi/2$``, ``$3\\pi/4$``, ``$\\pi$``, then ``$k\\pi/4$``). Axis labels:
      :func:`axis_label`; title: :func:`describe_for` of the quantity (font ``TITLE_FONTSIZE`` 10).

    **One axis**: two panels sharing the axis along x.

    - Top: per agent ``i`` (colour ``C{i}``), the predicted residual norm ``residual_norm_<name>`` (a
      line), the simulated one ``sim_residual_norm_<name>`` (dots, ``SIM_MARKER_SIZE`` 4) when
      measured, and for trained LSA agents the C3 residual from ``Gamma_eff`` (dashed) and the forward
      passes' (``x``, ``LSA_MARKER_SIZE`` 5).
    - Bottom: the rate (black line), a random protocol's mean rate (dashed, ``C3``), the trained
      agents' rate (``x``, ``C2``) when measured, and the rate = 1 line (dotted, ``C3``).
    - Both: grey (``NO_DATA_GREY``) bands over the whole height wherever the rate is ``>= 1``, a log
      x scale for geometric values, legends in font ``LEGEND_FONTSIZE``.

    Layout: ``HEAT_MAP_SIZE`` (7.0 x 5.4 inches) for two axes; ``LINES_WIDTH`` x ``2 LINES_ROW_HEIGHT``
    (7.0 x 3.4 inches per row, 7.0 x 6.8) for one axis.
    """
    quantity = spec.plot_quantity or default_quantity(spec)
    shown = [i for i, a in enumerate(spec.axes) if a.name != "seed"]
    if not 1 <= len(shown) <= 2:
        return None, f"no phase.png: it needs one or two axes besides seed, the spec has {len(shown)}"
    averaged = tuple(i for i, a in enumerate(spec.axes) if a.name == "seed")

    def grid(column: str) -> np.ndarray:
        z = cols[column].astype(float).reshape(spec.shape)
        if averaged:
            with warnings.catch_warnings():  # all-NaN cells (no fixed point for any seed) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                z = np.nanmean(z, axis=averaged)
        return z

    from numerics.experiments import plotting

    axes = [spec.axes[i] for i in shown]
    if len(shown) == 2:
        # A figure has ~800 pixels a side: draw every k-th value at most MAX_DRAWN per axis.
        step = [max(1, -(-len(a.values) // MAX_DRAWN)) for a in axes]
        picks = [np.arange(0, len(a.values), k) for a, k in zip(axes, step)]
        drawn = [replace(a, values=a.values[p]) for a, p in zip(axes, picks)]
        sub = np.ix_(*picks)
        fig, ax = plotting.figure(1, 1, width=HEAT_MAP_SIZE[0], height=HEAT_MAP_SIZE[1])
        mean = grid(MEAN_RATE)[sub] if MEAN_RATE in cols else None
        _heat_map(spec, fig, ax[0, 0], drawn, grid(quantity)[sub], grid(RATE)[sub], quantity, mean)
        note = f"heat map of {quantity} over {axes[0].name} x {axes[1].name} with the rho = 1 boundary"
        if mean is not None:
            note = (f"heat map of {quantity} over {axes[0].name} x {axes[1].name} with the mean-square rate = 1 "
                    "and mean rate = 1 boundaries")
        if max(step) > 1:
            note += f" (every {step[0]}th x {step[1]}th value drawn)"
    else:
        fig, ax = plotting.figure(2, 1, width=LINES_WIDTH, height=LINES_ROW_HEIGHT)
        _lines(spec, ax[0, 0], ax[1, 0], axes[0], grid, cols)
        note = f"predicted vs measured residual norms and the contraction rate over {axes[0].name}"
    if averaged:
        note += f" (mean over {len(spec.axes[averaged[0]].values)} seeds)"
    return fig, note


def _heat_map(spec, fig, ax, axes, Z, rho, quantity, mean=None):
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from numerics.experiments.plotting import math_name

    x, y = axes[0].values, axes[1].values
    if quantity in RATES:
        cmap = plt.get_cmap("RdBu_r")
        top = float(np.nanmax(Z)) if np.isfinite(np.nanmax(Z)) else RATE_CLIP
        norm = mcolors.TwoSlopeNorm(vmin=min(float(np.nanmin(Z)), RATE_SPAN[0]), vcenter=1.0,
                                     vmax=max(min(top, RATE_CLIP), RATE_SPAN[1]))
        label = describe_for(spec, quantity) + (f"  (colours clipped at {RATE_CLIP:g})" if top > RATE_CLIP else "")
    else:
        cmap = plt.get_cmap("viridis")
        norm = None  # linear: C4's plateaus grow linearly with the gap, and exact zeros stay visible
        label = describe_for(spec, quantity)
    cmap = cmap.with_extremes(bad=NO_DATA_GREY)  # no fixed point (rho >= 1) or not measured: light grey
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(Z).T, shading="nearest", cmap=cmap, norm=norm)
    bar = fig.colorbar(mesh, ax=ax, label=label, extend="max" if quantity in RATES else "neither")
    if norm is None and np.isfinite(Z).sum() > 3 and np.nanmax(Z) > np.nanmin(Z):
        lines = ax.contour(x, y, np.ma.masked_invalid(Z).T, levels=LEVEL_COUNT, colors="w", linewidths=LEVEL_WIDTH,
                           alpha=LEVEL_ALPHA)
        bar.add_lines(lines)
    handles = []
    if np.nanmin(rho) < 1 < np.nanmax(rho):
        ax.contour(x, y, rho.T, levels=[1.0], colors="k", linewidths=BOUNDARY_WIDTH)
        handles.append(Line2D([], [], color="k", lw=BOUNDARY_WIDTH, label="mean-square rate $= 1$" if _random(spec)
                              else r"$\rho$(pair) $= 1$ (closed form)"))
    if mean is not None and np.nanmin(mean) < 1 < np.nanmax(mean):
        ax.contour(x, y, mean.T, levels=[1.0], colors="C3", linewidths=AGENT_BOUNDARY_WIDTH, linestyles="--")
        handles.append(Line2D([], [], color="C3", lw=AGENT_BOUNDARY_WIDTH, ls="--",
                              label="mean rate $= 1$ (first moment)"))
    alone = individual_radii(spec, axes)
    for k, (name, r) in enumerate(alone.items()):
        if np.nanmin(r) < 1 < np.nanmax(r):
            ax.contour(x, y, r.T, levels=[1.0], colors=f"C{k + 1}", linewidths=AGENT_BOUNDARY_WIDTH, linestyles="--")
            handles.append(Line2D([], [], color=f"C{k + 1}", lw=AGENT_BOUNDARY_WIDTH, ls="--",
                                  label=rf"$\rho(M_{{{math_name(name)}}}) = 1$ (agent alone)"))
    if alone:
        c6 = np.all([r < 1 for r in alone.values()], axis=0) & (rho >= 1)
        if np.any(c6):
            ax.contourf(x, y, c6.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=[C6_HATCH])
            handles.append(Patch(facecolor="none", edgecolor="k", hatch=C6_HATCH,
                                 label="C6: each agent alone converges, the pair diverges"))
    if quantity not in RATES and np.any(~np.isfinite(Z)):
        handles.append(Line2D([], [], marker="s", ls="", color=NO_DATA_GREY, markersize=NO_DATA_MARKER_SIZE,
                              label=r"no stationary spread (mean-square rate $\geq 1$)" if _random(spec)
                              else r"no fixed point ($\rho \geq 1$)"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=LEGEND_FONTSIZE, framealpha=LEGEND_ALPHA)
    for axis, setter in ((axes[0], ax.set_xscale), (axes[1], ax.set_yscale)):
        if _is_geometric(axis.values):
            setter("log")
    _angle_ticks(axes[0], ax.set_xticks)
    _angle_ticks(axes[1], ax.set_yticks)
    ax.set_xlabel(axis_label(spec, axes[0].name))
    ax.set_ylabel(axis_label(spec, axes[1].name))
    ax.set_title(describe_for(spec, quantity), fontsize=TITLE_FONTSIZE)


def _angle_ticks(axis, set_ticks) -> None:
    """An angle axis gets ticks at multiples of pi/4."""
    if axis.name != "gap_angle":
        return
    lo, hi = axis.values.min() / (np.pi / 4), axis.values.max() / (np.pi / 4)
    k = np.arange(np.ceil(lo - ANGLE_TICK_SLACK), np.floor(hi + ANGLE_TICK_SLACK) + 1)  # 3.14159 still gets its pi
    names = {0: "0", 1: r"$\pi/4$", 2: r"$\pi/2$", 3: r"$3\pi/4$", 4: r"$\pi$"}
    set_ticks(k * np.pi / 4, [names.get(int(i), f"${int(i)}\\pi/4$") for i in k])


def individual_radii(spec: Spec, axes) -> dict[str, np.ndarray]:
    """Each agent's own ``rho(M_i)`` over the two shown axes (other axes at their first value): with the pair's
    boundary it shows C6, pairs that diverge although each agent alone converges. Batched specs only."""
    from numerics.dynamics import closed_forms
    from numerics.sweep import measures as sweep_measures

    if spec.generic:
        return {}
    shape = (len(axes[0].values), len(axes[1].values))
    values = {a.name: np.full(shape[0] * shape[1], a.values[0]) for a in spec.axes}
    values[axes[0].name] = np.repeat(axes[0].values, shape[1])
    values[axes[1].name] = np.tile(axes[1].values, shape[0])
    H, G, _, w, steps, _ = sweep_measures.system_arrays(spec, values, shape[0] * shape[1])
    M, _ = sweep_measures.transfers(G, H, w, steps)
    return {name: closed_forms.spectral_radius(M[:, i]).reshape(shape) for i, name in enumerate(spec.system.names)}


def _lines(spec, top, bottom, axis, grid, cols):
    x = axis.values
    for k, name in enumerate(spec.system.names):
        colour = f"C{k}"
        top.plot(x, grid(f"residual_norm_{name}"), color=colour,
                 label=f"{name}, GD: stationary mean (random protocol)" if _random(spec)
                 else f"{name}, GD: predicted (C3/C17)")
        if f"sim_residual_norm_{name}" in cols:
            top.plot(x, grid(f"sim_residual_norm_{name}"), "o", color=colour, ms=SIM_MARKER_SIZE,
                     label=f"{name}, GD: simulated")
        if f"lsa_sim_residual_norm_{name}" in cols:
            top.plot(x, grid(f"lsa_residual_norm_{name}"), "--", color=colour,
                     label=rf"{name}, trained LSA: C3 from $\Gamma_{{\mathrm{{eff}}}}$")
            top.plot(x, grid(f"lsa_sim_residual_norm_{name}"), "x", color=colour, ms=LSA_MARKER_SIZE,
                     label=f"{name}, trained LSA: forward passes")
    top.set_ylabel(r"residual norm $\|m_i - w_i^*\|$")
    top.legend(fontsize=LEGEND_FONTSIZE)
    bottom.plot(x, grid(RATE), color="k", label="mean-square rate" if _random(spec) else r"$\rho$ (closed form)")
    if MEAN_RATE in cols:
        bottom.plot(x, grid(MEAN_RATE), "--", color="C3", label="mean rate (first moment)")
    if LSA_RATE in cols:
        bottom.plot(x, grid(LSA_RATE), "x", color="C2", label=r"$\rho$ of the trained agents")
    bottom.axhline(1.0, color="C3", ls=":", label="rate $= 1$" if _random(spec) else r"$\rho = 1$")
    bottom.set_ylabel("rate per round" if _random(spec) else r"contraction rate $\rho$")
    bottom.legend(fontsize=LEGEND_FONTSIZE)
    for ax in (top, bottom):
        if _is_geometric(x):
            ax.set_xscale("log")
        diverge = grid(RATE) >= 1
        if np.any(diverge):
            ax.fill_between(x, 0, 1, where=diverge, color=NO_DATA_GREY, transform=ax.get_xaxis_transform(),
                            label=None)
    for ax in (top, bottom):
        ax.set_xlabel(axis_label(spec, axis.name))
    top.figure.suptitle("predicted and simulated residual norms (top), contraction rate (bottom)",
                        fontsize=TITLE_FONTSIZE)
