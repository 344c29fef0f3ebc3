"""Every figure the package writes (experiments, verify's margins, fit, sweep's phase figure) has a
title, labelled axes, a legend whose window extent does not overlap the plotted data, and
mathematics only in mathtext (``$\\rho$``, never the ASCII ``rho`` or ``||u - w*||``)."""

import json
import re

import numpy as np
import pytest

from numerics.experiments import all_experiments, plotting

PAD = 1.0  # display pixels: a legend touching a data point counts as covering it


def _data_boxes(ax, renderer):
    """Display-space boxes of the plotted data: line vertices, scatter offsets, bars."""
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    points = []
    for line in ax.get_lines():
        if not isinstance(line, Line2D) or not line.get_visible():
            continue
        xy = np.column_stack(line.get_data())
        if xy.size == 0:
            continue
        xy = xy.astype(float)
        # an axhline/axvline spans the axes in axes coordinates: sample it
        points.append(line.get_transform().transform(xy[np.all(np.isfinite(xy), axis=1)]))
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            points.append(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float)))
        elif isinstance(coll, PolyCollection):
            for path in coll.get_paths():
                points.append(coll.get_transform().transform(path.vertices))
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle) and p.get_visible()
             and p.get_width() != 0]
    return (np.vstack(points) if points else np.zeros((0, 2))), boxes


# ASCII mathematics outside $...$: norms, starred targets, subscripts, Greek names, ASCII relations,
# index brackets, a stray backslash (r"A\'s" shows the backslash). Words such as "rate" or "steps" never
# match; a config key shown in brackets ("[agents.0.preconditioner]") has no underscore and no Greek name.
ASCII_MATH = re.compile(r"\\|\|\||\w\*|\*_|[A-Za-z]_\w|\^|\+-|<=|>=|->|\[\d+,\s*\d+\]|sqrt\(|"
                        r"\b(rho|Gamma|Delta|Sigma|theta|alpha|beta|lambda|mu|sigma|eta|Phi)\b")
MATH = re.compile(r"\$[^$]*\$")


def texts(fig) -> list[str]:
    """Every text a reader sees: titles, axis labels (colour bars' too), legend entries, tick labels."""
    out = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")] + [ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    for leg in [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends):
        out += [t.get_text() for t in leg.get_texts()]
    return [t for t in out if t]


def ascii_math(fig) -> list[str]:
    """The texts of ``fig`` with ASCII mathematics outside mathtext."""
    return [t for t in texts(fig) if ASCII_MATH.search(MATH.sub("", t))]


def check_figure(fig):
    """Problems with ``fig`` (empty list when it is readable)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = [f"ASCII mathematics in {t!r}" for t in ascii_math(fig)]
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and (ax.lines or ax.collections or ax.patches)]
    if not (fig._suptitle and fig._suptitle.get_text()) and not all(ax.get_title() for ax in axes):
        problems.append("no title")
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    if not legends:
        problems.append("no legend")
    for ax in axes:
        if not ax.get_xlabel() or not ax.get_ylabel():
            problems.append(f"axes {ax.get_title()!r} lacks an axis label")
        points, boxes = _data_boxes(ax, renderer)
        for leg in legends:
            lb = leg.get_window_extent(renderer).padded(PAD)
            inside = (points[:, 0] >= lb.x0) & (points[:, 0] <= lb.x1) & (points[:, 1] >= lb.y0) & \
                (points[:, 1] <= lb.y1)
            # data clipped to the axes only counts where the axes are
            ab = ax.get_window_extent(renderer)
            inside &= (points[:, 0] >= ab.x0) & (points[:, 0] <= ab.x1) & (points[:, 1] >= ab.y0) & \
                (points[:, 1] <= ab.y1)
            if inside.any():
                problems.append(f"legend covers data of axes {ax.get_title()!r}")
            if any(lb.overlaps(b.intersection(b, ab) or b) for b in boxes if b.overlaps(ab)):
                problems.append(f"legend covers a bar of axes {ax.get_title()!r}")
    return problems


@pytest.fixture
def saved_figures(monkeypatch):
    """Check each figure as it is saved (plotting.save closes it)."""
    seen = []
    true_save = plotting.save

    def save(fig, path, figure_format="png"):
        fig.tight_layout()  # the layout the saved file gets
        seen.append((path.name, check_figure(fig)))
        return true_save(fig, path, figure_format)
    monkeypatch.setattr(plotting, "save", save)
    return seen


@pytest.mark.parametrize("name", ["adversarial", "geometry", "helper", "misalignment", "trained-lsa"])
def test_experiment_figure_is_readable(name, tmp_path, saved_figures):
    all_experiments()[name].run(tmp_path, quick=True, **({"agents": "lsa"} if name == "trained-lsa" else {}))
    assert saved_figures, "no figure saved"
    for fname, problems in saved_figures:
        assert not problems, (fname, problems)


def test_fit_figure_is_readable(tmp_path, monkeypatch):
    """The blackbox experiment's (and `a2ad fit`'s) figure, checked before it is written."""
    import matplotlib.figure

    problems = []
    true_savefig = matplotlib.figure.Figure.savefig

    def savefig(self, *args, **kwargs):
        problems.extend(check_figure(self))
        return true_savefig(self, *args, **kwargs)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    all_experiments()["blackbox"].run(tmp_path, quick=True)
    assert not problems, problems


def test_margins_figure_is_readable(tmp_path, saved_figures):
    from proofs_check.report import figures

    rep = {"profile": "quick", "claims": [
        {"id": "C2", "methods": [
            {"method": "V1", "status": "passed", "worst_error": 0.0, "tolerance": 0.0, "detail": ""},
            {"method": "V4", "status": "passed", "worst_error": 1e-15, "tolerance": 1e-9, "detail": ""},
            {"method": "V5", "status": "passed", "worst_error": 1e-50, "tolerance": 1e-40, "detail": ""}]},
        {"id": "L2", "methods": [
            {"method": "V4", "status": "failed", "worst_error": 7.0, "tolerance": 6.0,
             "detail": "in standard errors"}]}]}
    figures.margins(rep, tmp_path)
    assert saved_figures and not saved_figures[0][1], saved_figures


@pytest.mark.parametrize("axes", [{"agents.0.preconditioner": [0.5, 1.5, 2.5, 3.5], "gap_angle": [0.0, 1.0, 2.0]},
                                  {"agents.1.preconditioner": [0.2, 0.5, 0.9, 1.4]}],
                         ids=["heat map", "lines"])
def test_sweep_phase_figure_is_readable(axes, tmp_path, saved_figures):
    """The phase figure in both layouts (two axes: heat map crossing the rho = 1 boundary; one axis: lines)."""
    from numerics import api

    base = json.loads(open("examples/sweep_plateau.json").read())["base"]
    api.run_sweep({"base": base, "axes": axes, "measure": [{"simulate": {"turns": 60}}]}, tmp_path / "sweep")
    assert saved_figures and not saved_figures[0][1], saved_figures


@pytest.mark.parametrize("axes", [{"protocol.random.0.probability": [0.1, 0.5, 0.9],
                                   "agents.0.preconditioner": [0.3, 2.0, 3.6]},
                                  {"protocol.random.0.probability": [0.1, 0.5, 0.9]}], ids=["heat map", "lines"])
def test_random_protocol_phase_figure_is_readable(axes, tmp_path, saved_figures):
    """A random protocol's phase figure: mean-square and mean rate lines, stationary means, in mathtext."""
    from numerics import api

    base = json.loads(open("examples/sweep_random.json").read())["base"]
    api.run_sweep({"base": base, "axes": axes, "measure": ["predict"]}, tmp_path / "sweep")
    assert saved_figures and not saved_figures[0][1], saved_figures


def test_checker_catches_ascii_mathematics():
    """Power: ASCII norms, Greek names, stars and relations outside $...$ are flagged; the same in
    mathtext, and words such as "rate", are not."""
    fig, axes = plotting.figure()
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], label="rho = 1")
    ax.set_title(r"distance $\|u_t - w_A^*\|$ per turn and rate")
    ax.set_xlabel("||u_t - w_A*||")
    ax.set_ylabel("+-2 predicted std")
    ax.plot([0, 1], [1, 0], label=r"A\'s $t$-th message")
    ax.legend()
    bad = ascii_math(fig)
    assert set(bad) == {"rho = 1", "||u_t - w_A*||", "+-2 predicted std", r"A\'s $t$-th message"}, bad
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_checker_catches_a_legend_over_the_data():
    """Power: the same checker flags a legend drawn on top of a line and a missing axis label."""
    fig, axes = plotting.figure()
    ax = axes[0, 0]
    x = np.linspace(0, 1, 200)
    ax.plot(x, np.full_like(x, 0.98), label="a line along the top")
    ax.plot(x, x, label="diagonal")
    ax.set_title("t")
    ax.set_xlabel("x")
    ax.legend(loc="upper right")
    problems = check_figure(fig)
    assert any("covers data" in p for p in problems) and any("axis label" in p for p in problems)
    import matplotlib.pyplot as plt
    plt.close(fig)
