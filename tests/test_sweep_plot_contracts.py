"""What ``a2ad sweep`` draws (numerics.sweep.plot): every artist of the phase figure against the result
columns, checked here independently of the module (draw_phase_figure's docstring states the figure).

The columns are real: each spec below is swept (numerics.sweep.run, closed forms, a short simulation, a
tiny LSA training) on a small grid. A few tests then set a column by hand to reach the cases that measured
values rarely hit exactly (a rate of exactly 1, a grid with exactly three finite cells); they say so.
The agents' own spectral radii are computed here with numpy from each point's ``M_i = (I - Gamma_i H_i)^s``.
Contours are compared with matplotlib's own contour of the grid computed here, on a scratch figure."""
import json
import subprocess
import sys
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize, TwoSlopeNorm, same_color
from matplotlib.contour import ContourSet

from numerics.sweep import measures as sweep_measures, plot, run as sweep_run, spec as sweep_spec

matplotlib.use("Agg")

# The heat map shows the columns' numbers (a mean over seeds may differ from a mean taken in another order in
# the last bit): relative 1e-12.
EXACT = 1e-12
# Spectral radii computed here and by the package differ by eigenvalue round-off (~1e-15 for these 2 x 2
# transfers); a contour's vertices move by that over the grid's local slope: 1e-9 absolute is still far below
# a grid step (>= 0.01 here), so a contour of another grid (another agent, another level, M_i not raised to
# s_i) cannot pass.
CONTOUR_ATOL = 1e-9
PI4 = np.pi / 4

# Two agents whose pair diverges where each alone converges (C6); A takes two GD steps per turn.
CONVERGENCE = json.loads(open("examples/sweep_convergence.json").read())["base"]
CONVERGENCE["agents"][0]["steps_per_turn"] = 2
PAIR_X, PAIR_Y = np.geomspace(0.02, 3.0, 9), np.linspace(0.02, 3.0, 11)  # A's Gamma_11, B's Gamma_22
# More than MAX_DRAWN = 300 values: 301 are drawn every 2nd (151), 300 all.
LONG_X, LONG_Y = np.linspace(0.02, 3.0, 301), np.linspace(0.02, 3.0, 300)
RANDOM = json.loads(open("examples/sweep_random.json").read())["base"]  # three agents, a random protocol
THREE_D = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1, 0.0], [0.1, 0.5, 0.0], [0.0, 0.0, 0.3]], "target": [1.0, 0.0, 0.5],
     "preconditioner": 0.5},
    {"name": "B", "geometry": [[0.6, 0.2, 0.0], [0.2, 1.0, 0.1], [0.0, 0.1, 0.4]], "target": [0.0, 1.0, -0.5],
     "preconditioner": [[0.8, 0.0, 0.0], [0.0, 0.5, 0.1], [0.0, 0.1, 0.9]], "steps_per_turn": 2}],
    "initial_message": [0.3, -0.2, 0.1]}
# Diagonal geometries: the agents' own radii are exact binary fractions, max |1 - g h|, one of them exactly 1.
DIAGONAL = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.5]], "target": [1.0, 0.0], "preconditioner": 1.0},
    {"name": "B", "geometry": [[0.5, 0.0], [0.0, 1.0]], "target": [0.0, 1.0], "preconditioner": 1.0}]}
DIAG_X, DIAG_Y = [0.5, 2.0, 3.0], [0.5, 1.0, 2.0]  # g_A, g_B
DIAG_RADII = {"A": np.array([0.75, 1.0, 2.0]), "B": np.array([0.75, 0.5, 1.0])}  # max |1 - g h| by hand


def _sweep(tmp_path_factory, raw):
    spec = sweep_spec.parse(raw)
    out = tmp_path_factory.mktemp("sweep")
    sweep_run.run(spec, out, workers=1, plot=False)
    return spec, sweep_run.read_results(out, sweep_measures.columns(spec))


def _draw(spec, cols):
    fig, note = plot.draw_phase_figure(spec, cols)
    assert fig is not None, note
    return fig, note


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": CONVERGENCE, "measure": ["predict"], "axes": {
        "agents.0.preconditioner.0.0": {"geomspace": [0.02, 3.0, 9]},
        "agents.1.preconditioner.1.1": {"linspace": [0.02, 3.0, 11]}}})


@pytest.fixture(scope="module")
def long(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": CONVERGENCE, "measure": ["predict"], "chunk_size": 100_000, "axes": {
        "agents.0.preconditioner.0.0": {"linspace": [0.02, 3.0, 301]},
        "agents.1.preconditioner.1.1": {"linspace": [0.02, 3.0, 300]}}})


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A random protocol simulated under each point's seed: the seed axis (in the middle) matters."""
    return _sweep(tmp_path_factory, {"base": RANDOM, "measure": [{"simulate": {"turns": 30}}],
                                     "plot": {"quantity": "sim_residual_norm_A"},
                                     "axes": {"gap_scale": [0.5, 1.0, 2.0], "seed": [0, 1, 2],
                                              "gap_angle": {"linspace": [0.0, 3.14159, 5]}}})


@pytest.fixture(scope="module")
def random_pair(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": RANDOM, "measure": ["predict"], "axes": {
        "protocol.random.0.probability": [0.1, 0.5, 0.9], "agents.0.preconditioner": [0.3, 2.0, 3.6]}})


@pytest.fixture(scope="module")
def diagonal(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": DIAGONAL, "measure": ["predict"], "axes": {
        "agents.0.preconditioner": DIAG_X, "agents.1.preconditioner": DIAG_Y}})


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": THREE_D,
                                     "axes": {"agents.0.preconditioner": {"geomspace": [0.05, 12.0, 7]}},
                                     "measure": [{"simulate": {"turns": 60}},
                                                 {"train-lsa": {"steps": 20, "batch": 16, "turns": 50}}]})


@pytest.fixture(scope="module")
def random_lines(tmp_path_factory):
    return _sweep(tmp_path_factory, {"base": RANDOM, "measure": ["predict"],
                                     "axes": {"agents.0.preconditioner": [0.3, 1.0, 2.0, 3.6]}})


# ---------------------------------------------------------------- independent truths

def _own_radii(base, x_entry, y_entry, xs, ys):
    """Each agent's ``rho(M_i)``, ``M_i = (I - Gamma_i H_i)^{s_i}``, over the grid ``xs x ys`` (x slowest).

    ``x_entry``/``y_entry``: ``(agent, row, column)`` of the preconditioner the axis sets, or ``(agent,)`` for a
    scalar step size ``Gamma = g I``."""
    out = {}
    X, Y = np.meshgrid(np.asarray(xs, float), np.asarray(ys, float), indexing="ij")
    for i, a in enumerate(base["agents"]):
        H = np.array(a["geometry"], float)
        d = len(H)
        G0 = np.array(a["preconditioner"], float)
        G = np.broadcast_to(G0 * np.eye(d) if G0.ndim == 0 else G0, X.shape + (d, d)).copy()
        for entry, V in ((x_entry, X), (y_entry, Y)):
            if entry[0] != i:
                continue
            if len(entry) == 1:
                G = V[..., None, None] * np.eye(d)
            else:
                G[..., entry[1], entry[2]] = V
        M = np.linalg.matrix_power(np.eye(d) - G @ H, a.get("steps_per_turn", 1))
        out[a["name"]] = np.abs(np.linalg.eigvals(M)).max(axis=-1)
    return out


def _edges(v):
    """The cell edges of nearest shading: midpoints between values, half a step beyond each end."""
    v = np.asarray(v, float)
    mid = (v[:-1] + v[1:]) / 2
    return np.concatenate([[v[0] - (v[1] - v[0]) / 2], mid, [v[-1] + (v[-1] - v[-2]) / 2]])


def _grid(cols, column, shape):
    return cols[column].astype(float).reshape(shape)


# ---------------------------------------------------------------- reading the figure

def _mesh(ax) -> QuadMesh:
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def _contours(ax, colour=None, filled=False) -> list[ContourSet]:
    return [c for c in ax.collections if isinstance(c, ContourSet) and c.filled == filled
            and (colour is None or same_color(c.get_edgecolor()[0][:3], colour))]  # RGB: level lines are translucent


def _dashed(cs) -> bool:
    return cs.get_linestyle()[0][1] is not None


def _same_contour(cs, x, y, Z, levels=(1.0,), filled=False):
    """``cs`` is matplotlib's contour of ``Z`` (x along axis 0) at ``levels``, drawn afresh on a scratch figure."""
    fig, ax = plt.subplots()
    ref = (ax.contourf if filled else ax.contour)(x, y, np.asarray(Z).T, levels=list(levels))
    assert list(cs.levels) == list(ref.levels)
    got, want = cs.get_paths(), ref.get_paths()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.vertices.shape == w.vertices.shape
        np.testing.assert_allclose(g.vertices, w.vertices, rtol=0, atol=CONTOUR_ATOL)
        np.testing.assert_array_equal(g.codes, w.codes)
    plt.close(fig)


def _heat(ax, x, y, Z):
    """The heat map is Z over the cells centred at x, y (nearest shading), NaN cells masked (grey)."""
    mesh = _mesh(ax)
    arr = mesh.get_array()
    assert arr.shape == (len(y), len(x))
    np.testing.assert_array_equal(np.ma.getmaskarray(arr), ~np.isfinite(Z.T))
    np.testing.assert_allclose(np.ma.filled(arr, np.nan), np.where(np.isfinite(Z), Z, np.nan).T, rtol=EXACT, atol=0)
    xy = mesh.get_coordinates()
    np.testing.assert_allclose(xy[0, :, 0], _edges(x), rtol=EXACT)
    np.testing.assert_allclose(xy[:, 0, 1], _edges(y), rtol=EXACT)
    assert same_color(mesh.get_cmap().get_bad(), "0.85")
    return mesh


def _legend(ax):
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


# ---------------------------------------------------------------- two axes

def test_the_heat_map_draws_the_rate_the_boundaries_and_the_c6_region(pair):
    spec, cols = pair
    fig, note = _draw(spec, cols)
    ax = fig.axes[0]
    rho = _grid(cols, "contraction_rate", (9, 11))
    assert rho.min() < 1 < rho.max()
    mesh = _heat(ax, PAIR_X, PAIR_Y, rho)
    # the pair's rho = 1: black, solid, at level 1 of the contraction_rate grid
    (black,) = _contours(ax, "k")
    assert not _dashed(black)
    _same_contour(black, PAIR_X, PAIR_Y, rho)
    # each agent's own rho(M_i) = 1, in C1 (A) and C2 (B), dashed
    radii = _own_radii(CONVERGENCE, (0, 0, 0), (1, 1, 1), PAIR_X, PAIR_Y)
    for colour, name in (("C1", "A"), ("C2", "B")):
        assert radii[name].min() < 1 < radii[name].max()
        (cs,) = _contours(ax, colour)
        assert _dashed(cs)
        _same_contour(cs, PAIR_X, PAIR_Y, radii[name])
    # C6: each alone converges, the pair diverges; hatched, not filled
    c6 = (radii["A"] < 1) & (radii["B"] < 1) & (rho >= 1)
    assert 0 < c6.sum() < c6.size
    (region,) = _contours(ax, filled=True)
    assert region.hatches == ["//"] and region.get_facecolor()[0][3] == 0  # no fill
    _same_contour(region, PAIR_X, PAIR_Y, c6.astype(float), levels=(0.5, 1.5), filled=True)
    assert len(ax.collections) == 5  # mesh, pair, A, B, C6: nothing else
    assert _legend(ax) == [r"$\rho$(pair) $= 1$ (closed form)", r"$\rho(M_{A}) = 1$ (agent alone)",
                           r"$\rho(M_{B}) = 1$ (agent alone)", "C6: each agent alone converges, the pair diverges"]
    # each legend line in the colour and style of the contour it names
    lines = ax.get_legend().legend_handles[:3]
    assert [same_color(h.get_color(), c) for h, c in zip(lines, ("k", "C1", "C2"))] == [True] * 3
    assert [h.get_linestyle() for h in lines] == ["-", "--", "--"]
    # a rate: RdBu_r centred at 1, from its smallest value, clipped at 2 (the largest is 2.42)
    assert rho.max() > 2
    assert isinstance(mesh.norm, TwoSlopeNorm) and mesh.get_cmap().name == "RdBu_r"
    assert (mesh.norm.vmin, mesh.norm.vcenter, mesh.norm.vmax) == (rho.min(), 1.0, 2.0)
    assert mesh.colorbar.extend == "max" and not mesh.colorbar.lines
    assert mesh.colorbar.ax.get_ylabel() == r"contraction rate $\rho$ (C1)  (colours clipped at 2)"
    # axes: x geometric (log), y linear; labels; title
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "linear")
    assert ax.get_xlabel() == r"A's step size $(\Gamma_{A})_{11}$   [agents.0.preconditioner.0.0]"
    assert ax.get_ylabel() == r"B's step size $(\Gamma_{B})_{22}$   [agents.1.preconditioner.1.1]"
    assert ax.get_title() == r"contraction rate $\rho$ (C1)"
    assert not any("pi" in t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels())  # angle axes only
    assert note == ("heat map of contraction_rate over agents.0.preconditioner.0.0 x agents.1.preconditioner.1.1 "
                    "with the rho = 1 boundary")


def test_an_axis_longer_than_300_values_is_drawn_at_every_kth_value(long):
    """301 values: every 2nd drawn (151, from the first); 300 values: all."""
    spec, cols = long
    fig, note = _draw(spec, cols)
    ax = fig.axes[0]
    x, y = LONG_X[0::2], LONG_Y
    assert len(x) == 151
    rho = _grid(cols, "contraction_rate", (301, 300))[0::2, :]
    _heat(ax, x, y, rho)
    (black,) = _contours(ax, "k")
    _same_contour(black, x, y, rho)
    radii = _own_radii(CONVERGENCE, (0, 0, 0), (1, 1, 1), x, y)
    for colour, name in (("C1", "A"), ("C2", "B")):
        (cs,) = _contours(ax, colour)
        _same_contour(cs, x, y, radii[name])
    (region,) = _contours(ax, filled=True)
    _same_contour(region, x, y, ((radii["A"] < 1) & (radii["B"] < 1) & (rho >= 1)).astype(float),
                  levels=(0.5, 1.5), filled=True)
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
    assert note.endswith("with the rho = 1 boundary (every 2th x 1th value drawn)")


def test_a_seed_axis_is_averaged_nan_aware_and_grey_marks_cells_with_no_value(seeded):
    spec, cols = seeded
    v = _grid(cols, "sim_residual_norm_A", (3, 3, 5))  # gap_scale x seed x gap_angle
    assert np.ptp(v, axis=1).min() > 0  # the seeds differ at every cell
    fig, note = _draw(spec, cols)
    ax = fig.axes[0]
    Z = v.mean(axis=1)
    mesh = _heat(ax, [0.5, 1.0, 2.0], np.linspace(0.0, 3.14159, 5), Z)
    # not a rate: viridis, linear, 8 white level lines (also on the colour bar), no boundary drawn here
    assert type(mesh.norm) is Normalize and mesh.get_cmap().name == "viridis"
    assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx((Z.min(), Z.max()), rel=EXACT)
    (white,) = _contours(ax, "w")
    _, ref_ax = plt.subplots()
    ref = ref_ax.contour([0.5, 1.0, 2.0], np.linspace(0.0, 3.14159, 5), Z.T, levels=8)
    _same_contour(white, [0.5, 1.0, 2.0], np.linspace(0.0, 3.14159, 5), Z, levels=ref.levels)
    # the colour bar marks the same levels (matplotlib draws those outside the colour range at its ends)
    marks = [seg[0, 1] for seg in mesh.colorbar.lines[0].get_segments()]
    np.testing.assert_allclose(marks, np.clip(ref.levels, Z.min(), Z.max()), rtol=EXACT)
    assert mesh.colorbar.extend == "neither"
    assert mesh.colorbar.ax.get_ylabel() == (r"simulated residual norm $\|m_{A} - w_{A}^*\|$ of A after the run")
    assert len(ax.collections) == 2 and ax.get_legend() is None  # the rates do not depend on the gap
    # the angle axis (y): ticks at multiples of pi/4, and 3.14159 still gets its pi
    np.testing.assert_allclose(ax.get_yticks(), [0, PI4, 2 * PI4, 3 * PI4, 4 * PI4], rtol=EXACT)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", r"$\pi/4$", r"$\pi/2$", r"$3\pi/4$", r"$\pi$"]
    assert not any("pi" in t.get_text() for t in ax.get_xticklabels())  # gap_scale: plain numbers
    assert ax.get_xlabel() == r"gap scale $s = \|\Delta\| / \|\Delta_0\|$"
    assert ax.get_ylabel() == r"gap angle $\theta$ (rad) of B's target around A's"
    assert note == ("heat map of sim_residual_norm_A over gap_scale x gap_angle with the mean-square rate = 1 and "
                    "mean rate = 1 boundaries (mean over 3 seeds)")

    # by hand: a cell with no value for any seed, and one with a value for two seeds of three
    cols = dict(cols)
    nan = v.copy()
    nan[0, :, 0] = np.nan
    nan[1, 0, 2] = np.nan
    cols["sim_residual_norm_A"] = nan.ravel()
    fig, _ = _draw(spec, cols)
    Z = v.mean(axis=1)
    Z[0, 0] = np.nan
    Z[1, 2] = (v[1, 1, 2] + v[1, 2, 2]) / 2
    _heat(fig.axes[0], [0.5, 1.0, 2.0], np.linspace(0.0, 3.14159, 5), Z)
    assert _legend(fig.axes[0]) == [r"no stationary spread (mean-square rate $\geq 1$)"]


def test_a_random_protocol_draws_the_mean_square_and_the_mean_rate_boundaries(random_pair):
    spec, cols = random_pair
    fig, note = _draw(spec, cols)
    ax = fig.axes[0]
    x, y = [0.1, 0.5, 0.9], [0.3, 2.0, 3.6]
    rate, mean = _grid(cols, "contraction_rate", (3, 3)), _grid(cols, "mean_rate", (3, 3))
    assert rate.min() < 1 < rate.max() < 2 and mean.min() < 1 < mean.max()
    mesh = _heat(ax, x, y, rate)
    (black,) = _contours(ax, "k")
    _same_contour(black, x, y, rate)
    (red,) = _contours(ax, "C3")
    assert _dashed(red)
    _same_contour(red, x, y, mean)
    assert len(ax.collections) == 3  # no agent's own radius: the protocol's agents act in turn at random
    assert _legend(ax) == ["mean-square rate $= 1$", "mean rate $= 1$ (first moment)"]
    lines = ax.get_legend().legend_handles
    assert [same_color(h.get_color(), c) for h, c in zip(lines, ("k", "C3"))] == [True] * 2
    assert [h.get_linestyle() for h in lines] == ["-", "--"]
    assert (mesh.norm.vmin, mesh.norm.vcenter, mesh.norm.vmax) == (rate.min(), 1.0, rate.max())
    assert mesh.colorbar.ax.get_ylabel() == "mean-square rate (random protocol; converges below 1)"
    assert ax.get_title() == "mean-square rate (random protocol; converges below 1)"
    assert ax.get_xlabel() == "probability (the rest of its law rescaled)   [protocol.random.0.probability]"
    assert ax.get_ylabel() == r"A's step size $g$ ($\Gamma_{A} = g I$)   [agents.0.preconditioner]"
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
    assert note == ("heat map of contraction_rate over protocol.random.0.probability x agents.0.preconditioner with "
                    "the mean-square rate = 1 and mean rate = 1 boundaries")


@pytest.mark.parametrize("low, high, drawn", [(1.0, 1.5, False), (0.5, 1.0, False), (0.5, 1.5, True),
                                             (1.1, 1.5, False), (0.2, 0.9, False)])
def test_the_mean_rate_boundary_needs_rates_on_both_sides_of_1(random_pair, low, high, drawn):
    """By hand: mean rates from ``low`` to ``high`` (exactly 1 at an end draws no boundary, nor does a grid
    wholly above or below 1)."""
    spec, cols = random_pair
    mean = np.linspace(low, high, 9)
    fig, _ = _draw(spec, dict(cols, mean_rate=mean))
    ax = fig.axes[0]
    red = _contours(ax, "C3")
    assert len(red) == drawn and ("mean rate $= 1$ (first moment)" in _legend(ax)) is drawn
    if drawn:
        _same_contour(red[0], [0.1, 0.5, 0.9], [0.3, 2.0, 3.6], mean.reshape(3, 3))


def test_an_angle_along_x_and_a_geometric_y(tmp_path_factory):
    """Ticks at pi/4 .. 7 pi/4 (pi/4 itself though the axis starts at 0.7854 > pi/4); y log, x linear."""
    x, y = np.linspace(0.7854, 5.5, 12), np.geomspace(0.1, 10.0, 5)
    spec, cols = _sweep(tmp_path_factory, {"base": THREE_D, "measure": ["predict"], "axes": {
        "gap_angle": {"linspace": [0.7854, 5.5, 12]}, "gap_scale": {"geomspace": [0.1, 10.0, 5]}}})
    fig, _ = _draw(spec, cols)
    ax = fig.axes[0]
    _heat(ax, x, y, _grid(cols, "contraction_rate", (12, 5)))
    np.testing.assert_allclose(ax.get_xticks(), PI4 * np.arange(1, 8), rtol=EXACT)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        r"$\pi/4$", r"$\pi/2$", r"$3\pi/4$", r"$\pi$", r"$5\pi/4$", r"$6\pi/4$", r"$7\pi/4$"]
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")


# Hand-set rates over the diagonal grid (rows: g_A = 0.5, 2, 3 with rho(M_A) = 0.75, 1, 2; columns: g_B = 0.5,
# 1, 2 with rho(M_B) = 0.75, 0.5, 1).
BOUNDARY_RATE = [[0.5, 1.0, 0.7],   # rate exactly 1 where both agents converge: C6
                 [1.5, 0.8, 0.9],   # rate 1.5 where A's radius is exactly 1: not C6
                 [2.0, 1.2, 0.6]]


def test_c6_needs_each_radius_below_1_and_the_rate_at_least_1(diagonal):
    spec, cols = diagonal
    radii = _own_radii(DIAGONAL, (0,), (1,), DIAG_X, DIAG_Y)
    np.testing.assert_array_equal(radii["A"], np.repeat(DIAG_RADII["A"][:, None], 3, axis=1))
    np.testing.assert_array_equal(radii["B"], np.repeat(DIAG_RADII["B"][None, :], 3, axis=0))
    cols = dict(cols, contraction_rate=np.ravel(BOUNDARY_RATE))
    fig, _ = _draw(spec, cols)
    ax = fig.axes[0]
    rate = np.array(BOUNDARY_RATE)
    _heat(ax, DIAG_X, DIAG_Y, rate)
    (region,) = _contours(ax, filled=True)
    c6 = np.zeros((3, 3))
    c6[0, 1] = 1.0
    _same_contour(region, DIAG_X, DIAG_Y, c6, levels=(0.5, 1.5), filled=True)
    # A's radii straddle 1 (0.75 .. 2): drawn; B's reach 1 but never exceed it: not drawn
    (a,) = _contours(ax, "C1")
    _same_contour(a, DIAG_X, DIAG_Y, radii["A"])
    assert not _contours(ax, "C2")
    assert _legend(ax) == [r"$\rho$(pair) $= 1$ (closed form)", r"$\rho(M_{A}) = 1$ (agent alone)",
                           "C6: each agent alone converges, the pair diverges"]
    # the largest rate is exactly 2: nothing is clipped
    mesh = _mesh(ax)
    assert (mesh.norm.vmin, mesh.norm.vcenter, mesh.norm.vmax) == (0.5, 1.0, 2.0)
    assert mesh.colorbar.ax.get_ylabel() == r"contraction rate $\rho$ (C1)"


@pytest.mark.parametrize("rates, boundary, vmin, vmax, clipped", [
    ([1.0, 1.5], False, 0.99, 1.5, False),        # smallest exactly 1: no boundary; the scale reaches 0.99
    ([0.2, 1.0], False, 0.2, 1.01, False),        # largest exactly 1: no boundary; the scale reaches 1.01
    ([0.2, 0.9], False, 0.2, 1.01, False),
    ([1.2, 1.5], False, 0.99, 1.5, False),        # all above 1: no boundary
    ([0.995, 1.005], True, 0.99, 1.01, False),
    ([0.4, 3.0], True, 0.4, 2.0, True),           # above 2: clipped
    ([0.4, 2.0000001], True, 0.4, 2.0, True),
    ([0.4, np.inf], True, 0.4, 2.0, False),       # an infinite rate: the scale stops at 2, the cell is grey
], ids=["min 1", "max 1", "below 1", "above 1", "near 1", "above 2", "just above 2", "infinite"])
def test_the_rate_scale_and_the_boundary_follow_the_rates(diagonal, rates, boundary, vmin, vmax, clipped):
    spec, cols = diagonal
    rate = np.linspace(rates[0], min(rates[1], 10.0), 9).reshape(3, 3)
    rate[2, 2] = rates[1]
    cols = dict(cols, contraction_rate=rate.ravel())
    fig, _ = _draw(spec, cols)
    ax = fig.axes[0]
    mesh = _heat(ax, DIAG_X, DIAG_Y, rate)
    assert (mesh.norm.vmin, mesh.norm.vcenter, mesh.norm.vmax) == (vmin, 1.0, vmax)
    assert mesh.colorbar.ax.get_ylabel().endswith("  (colours clipped at 2)") is clipped
    black = _contours(ax, "k")
    assert len(black) == boundary
    if boundary and np.isfinite(rates[1]):
        _same_contour(black[0], DIAG_X, DIAG_Y, rate)
    assert (r"$\rho$(pair) $= 1$ (closed form)" in _legend(ax)) is boundary
    assert r"no fixed point ($\rho \geq 1$)" not in _legend(ax)  # grey cells of a rate are not named


@pytest.mark.parametrize("finite, equal, level_lines", [(9, False, True), (4, False, True), (3, False, False),
                                                         (2, False, False), (9, True, False)])
def test_level_lines_need_more_than_three_cells_that_differ(diagonal, finite, equal, level_lines):
    """By hand: residual_norm_A with ``finite`` cells that have a value (the others NaN, grey)."""
    spec, cols = diagonal
    z = np.full(9, 0.7) if equal else np.linspace(0.1, 0.9, 9) ** 2
    z[finite:] = np.nan
    cols = dict(cols, residual_norm_A=z)
    spec = sweep_spec.parse(dict(spec.raw, plot={"quantity": "residual_norm_A"}))
    fig, _ = _draw(spec, cols)
    ax = fig.axes[0]
    mesh = _heat(ax, DIAG_X, DIAG_Y, z.reshape(3, 3))
    assert len(_contours(ax, "w")) == level_lines and bool(mesh.colorbar.lines) == level_lines
    assert (r"no fixed point ($\rho \geq 1$)" in _legend(ax)) is (finite < 9)


def test_level_lines_are_matplotlibs_round_levels_for_eight(diagonal):
    """By hand: values from 0 to 0.9 get ten level lines 0, 0.1, ..., 0.9 (nine equal steps, the docstring's
    example; asking matplotlib for seven would give steps of 0.15)."""
    spec, cols = diagonal
    z = np.array([0.0, 0.3, 0.5, 0.2, 0.9, 0.4, 0.1, 0.6, 0.7])
    spec = sweep_spec.parse(dict(spec.raw, plot={"quantity": "residual_norm_A"}))
    fig, _ = _draw(spec, dict(cols, residual_norm_A=z))
    (white,) = _contours(fig.axes[0], "w")
    np.testing.assert_allclose(white.levels, np.arange(10) / 10, rtol=0, atol=EXACT)


def test_a_real_residual_grid_names_its_grey_cells(diagonal):
    spec, cols = diagonal
    spec = sweep_spec.parse(dict(spec.raw, plot={"quantity": "residual_norm_A"}))
    z = _grid(cols, "residual_norm_A", (3, 3))
    rate = _grid(cols, "contraction_rate", (3, 3))
    np.testing.assert_array_equal(np.isnan(z), rate >= 1)  # no fixed point exactly where the pair diverges
    assert np.isnan(z).any()
    fig, note = _draw(spec, cols)
    ax = fig.axes[0]
    _heat(ax, DIAG_X, DIAG_Y, z)
    (black,) = _contours(ax, "k")
    _same_contour(black, DIAG_X, DIAG_Y, rate)
    assert _legend(ax) == [r"$\rho$(pair) $= 1$ (closed form)", r"$\rho(M_{A}) = 1$ (agent alone)",
                           r"no fixed point ($\rho \geq 1$)"]
    assert ax.get_title() == r"predicted residual norm $\|u_{A}^* - w_{A}^*\|$ of A (C3/C17)"
    assert note.startswith("heat map of residual_norm_A over agents.0.preconditioner x agents.1.preconditioner")


# ---------------------------------------------------------------- one axis

def _bands(ax):
    """The x values the grey bands cover (fill_between over the whole height)."""
    polys = [c for c in ax.collections if not isinstance(c, (QuadMesh, ContourSet))]
    for p in polys:
        assert same_color(p.get_facecolor()[0], "0.85")
    xs = {float(v) for p in polys for path in p.get_paths() for v in path.vertices[:, 0]}
    ys = {float(v) for p in polys for path in p.get_paths() for v in path.vertices[:, 1]}
    return xs, ys


def test_one_axis_draws_the_predicted_simulated_and_trained_residuals_and_the_rate(lines):
    spec, cols = lines
    x = np.geomspace(0.05, 12.0, 7)
    fig, note = _draw(spec, cols)
    top, bottom = fig.axes
    want = []
    for k, name in enumerate("AB"):
        c = f"C{k}"
        want += [(cols[f"residual_norm_{name}"], "-", "None", c, f"{name}, GD: predicted (C3/C17)"),
                 (cols[f"sim_residual_norm_{name}"], "None", "o", c, f"{name}, GD: simulated"),
                 (cols[f"lsa_residual_norm_{name}"], "--", "None", c,
                  rf"{name}, trained LSA: C3 from $\Gamma_{{\mathrm{{eff}}}}$"),
                 (cols[f"lsa_sim_residual_norm_{name}"], "None", "x", c, f"{name}, trained LSA: forward passes")]
    assert len(top.lines) == len(want)
    for ln, (y, ls, marker, colour, label) in zip(top.lines, want):
        np.testing.assert_array_equal(ln.get_xdata(), x)
        np.testing.assert_array_equal(ln.get_ydata(), y)
        assert (ln.get_linestyle(), ln.get_marker(), ln.get_label()) == (ls, marker, label)
        assert same_color(ln.get_color(), colour)
    assert _legend(top) == [w[4] for w in want]
    rate = cols["contraction_rate"]
    rate_line, lsa_line, one = bottom.lines
    np.testing.assert_array_equal(rate_line.get_ydata(), rate)
    np.testing.assert_array_equal(lsa_line.get_ydata(), cols["lsa_contraction_rate"])
    np.testing.assert_array_equal(one.get_ydata(), [1.0, 1.0])
    assert [(ln.get_linestyle(), ln.get_marker()) for ln in bottom.lines] == [("-", "None"), ("None", "x"),
                                                                               (":", "None")]
    assert [same_color(ln.get_color(), c) for ln, c in zip(bottom.lines, ("k", "C2", "C3"))] == [True] * 3
    assert _legend(bottom) == [r"$\rho$ (closed form)", r"$\rho$ of the trained agents", r"$\rho = 1$"]
    assert bottom.get_ylabel() == r"contraction rate $\rho$"
    assert top.get_ylabel() == r"residual norm $\|m_i - w_i^*\|$"
    # grey bands over the whole height exactly where the rate is >= 1
    diverge = rate >= 1
    assert 0 < diverge.sum() < len(x) - 1
    for ax in (top, bottom):
        xs, ys = _bands(ax)
        assert xs == set(x[diverge].tolist()) and ys == {0.0, 1.0}
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == r"A's step size $g$ ($\Gamma_{A} = g I$)   [agents.0.preconditioner]"
    assert fig._suptitle.get_text() == "predicted and simulated residual norms (top), contraction rate (bottom)"
    assert note == "predicted vs measured residual norms and the contraction rate over agents.0.preconditioner"


def test_grey_bands_start_at_a_rate_of_exactly_1(lines):
    """By hand: a rate of exactly 1 (no fixed point) is banded, one just below is not."""
    spec, cols = lines
    x = np.geomspace(0.05, 12.0, 7)
    rate = np.array([0.5, 1.0, 0.9999999, 0.9, 1.5, 2.0, 0.3])
    fig, _ = _draw(spec, dict(cols, contraction_rate=rate))
    for ax in fig.axes:
        assert _bands(ax)[0] == {float(x[1]), float(x[4]), float(x[5])}
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), rate)


def test_one_axis_of_a_random_protocol(random_lines):
    spec, cols = random_lines
    fig, note = _draw(spec, cols)
    top, bottom = fig.axes
    assert [ln.get_label() for ln in top.lines] == [f"{n}, GD: stationary mean (random protocol)" for n in "ABC"]
    for ln, n in zip(top.lines, "ABC"):
        np.testing.assert_array_equal(ln.get_ydata(), cols[f"residual_norm_{n}"])
    rate_line, mean_line, one = bottom.lines
    np.testing.assert_array_equal(rate_line.get_ydata(), cols["contraction_rate"])
    np.testing.assert_array_equal(mean_line.get_ydata(), cols["mean_rate"])
    assert mean_line.get_linestyle() == "--" and same_color(mean_line.get_color(), "C3")
    assert _legend(bottom) == ["mean-square rate", "mean rate (first moment)", "rate $= 1$"]
    assert bottom.get_ylabel() == "rate per round"
    diverge = cols["contraction_rate"] >= 1
    assert diverge.any() and not diverge.all()
    for ax in (top, bottom):
        assert _bands(ax)[0] == set(np.array([0.3, 1.0, 2.0, 3.6])[diverge].tolist())
        assert ax.get_xscale() == "linear"
    assert note == "predicted vs measured residual norms and the contraction rate over agents.0.preconditioner"


def test_one_axis_with_a_seed_axis_averages_over_it(tmp_path_factory):
    spec, cols = _sweep(tmp_path_factory, {"base": RANDOM, "measure": [{"simulate": {"turns": 20}}],
                                           "axes": {"seed": [3, 4], "gap_scale": [0.5, 1.0, 2.0]}})
    fig, note = _draw(spec, cols)
    sim = fig.axes[0].lines[1]
    assert sim.get_label() == "A, GD: simulated"
    np.testing.assert_allclose(sim.get_ydata(), _grid(cols, "sim_residual_norm_A", (2, 3)).mean(axis=0), rtol=EXACT)
    assert note.endswith("over gap_scale (mean over 2 seeds)")


# ---------------------------------------------------------------- no figure, saving

@pytest.mark.parametrize("axes, count", [({"seed": [0, 1]}, 0),
                                         ({"gap_scale": [1.0], "gap_angle": [0.0], "agents.0.preconditioner": [0.5]},
                                          3)])
def test_no_figure_without_one_or_two_axes(axes, count, tmp_path):
    spec = sweep_spec.parse({"base": THREE_D, "axes": axes, "measure": ["predict"]})
    reason = f"no phase.png: it needs one or two axes besides seed, the spec has {count}"
    assert plot.needed_columns(spec) == []  # no figure: no column to read
    assert plot.draw_phase_figure(spec, {}) == (None, reason)
    assert plot.phase_figure(spec, {}, tmp_path / "phase.png") == (None, reason)
    assert not list(tmp_path.iterdir())


def test_phase_figure_saves_in_its_format_and_closes(diagonal, tmp_path):
    spec, cols = diagonal
    assert plt.get_fignums() == []
    path, note = plot.phase_figure(spec, cols, tmp_path / "phase.png", "pdf")
    assert plt.get_fignums() == []  # closed
    assert path == tmp_path / "phase.pdf" and path.read_bytes().startswith(b"%PDF")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["phase.pdf"]
    assert note == plot.draw_phase_figure(spec, cols)[1]


# ---------------------------------------------------------------- the stated layout

def test_the_figure_has_the_stated_layout(pair, lines, seeded):
    """draw_phase_figure's docstring: 7.0 x 5.4 inches (two axes), 7.0 x 3.4 per row (one axis); boundary 2 pt,
    agents' and the mean rate's 1.5 pt dashed; level lines 0.6 pt at opacity 0.8; hatch //; grey 0.85;
    markers 4 (simulated), 5 (trained), 10 (grey in the legend); legend font 8, frame 0.9; title font 10."""
    fig, _ = _draw(*pair)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == (7.0, 5.4)
    assert [c.get_linewidths()[0] for c in _contours(ax, "k")] == [2.0]
    assert [c.get_linewidths()[0] for c in _contours(ax, "C1") + _contours(ax, "C2")] == [1.5, 1.5]
    leg = ax.get_legend()
    assert [h.get_linewidth() for h in leg.legend_handles[:3]] == [2.0, 1.5, 1.5]
    assert leg.legend_handles[3].get_hatch() == "//"
    assert {t.get_fontsize() for t in leg.get_texts()} == {8} and leg.get_frame().get_alpha() == 0.9
    assert leg._loc == 1  # upper right
    assert ax.title.get_fontsize() == 10

    fig, _ = _draw(*seeded)
    (white,) = _contours(fig.axes[0], "w")
    assert white.get_linewidths()[0] == 0.6 and white.get_alpha() == 0.8
    cols = dict(seeded[1])
    # by hand: no value for any seed at one cell (gap_scale 0.5, gap_angle 0: rows 0, 5, 10)
    cols["sim_residual_norm_A"] = np.where(np.isin(np.arange(45), [0, 5, 10]), np.nan, cols["sim_residual_norm_A"])
    fig, _ = _draw(seeded[0], cols)
    (grey,) = fig.axes[0].get_legend().legend_handles
    assert same_color(grey.get_color(), "0.85") and grey.get_markersize() == 10 and grey.get_marker() == "s"

    fig, _ = _draw(*lines)
    assert tuple(fig.get_size_inches()) == (7.0, 6.8)
    top, bottom = fig.axes
    assert [ln.get_markersize() for ln in top.lines if ln.get_marker() in ("o", "x")] == [4, 5, 4, 5]
    assert {t.get_fontsize() for ax in (top, bottom) for t in ax.get_legend().get_texts()} == {8}
    assert fig._suptitle.get_fontsize() == 10
    assert plot.MAX_DRAWN == 300


# ---------------------------------------------------------------- helpers: quantity, columns, labels

def _spec(base=THREE_D, axes=None, measure=("predict",), **extra):
    return sweep_spec.parse({"base": base, "axes": axes or {"gap_scale": [1.0, 2.0]}, "measure": list(measure),
                             **extra})


def test_default_quantity():
    assert plot.default_quantity(_spec()) == "contraction_rate"
    assert plot.default_quantity(_spec(measure=[{"simulate": {"turns": 5}}])) == "sim_residual_norm_A"
    assert plot.default_quantity(_spec(measure=[{"simulate": {"turns": 5}}, "train-lsa"])) == \
        "lsa_residual_rel_error_A"
    assert plot.default_quantity(_spec(RANDOM, measure=[{"simulate": {"turns": 5}}])) == "contraction_rate"


def test_needed_columns():
    two = {"gap_scale": [1.0, 2.0], "seed": [0, 1], "gap_angle": [0.0, 1.0]}
    assert plot.needed_columns(_spec(axes=two)) == ["contraction_rate"]
    assert plot.needed_columns(_spec(axes=two, plot={"quantity": "residual_norm_B"})) == \
        ["residual_norm_B", "contraction_rate"]
    assert plot.needed_columns(_spec(RANDOM, axes=two)) == ["contraction_rate", "mean_rate"]
    assert plot.needed_columns(_spec(RANDOM, axes=two, measure=[{"simulate": {"turns": 5}}],
                                     plot={"quantity": "sim_residual_norm_C"})) == \
        ["sim_residual_norm_C", "contraction_rate", "mean_rate"]
    assert plot.needed_columns(_spec(axes={"gap_scale": [1.0, 2.0], "seed": [0, 1]},
                                     measure=[{"simulate": {"turns": 5}}, "train-lsa"])) == [
        "contraction_rate", "residual_norm_A", "residual_norm_B", "sim_residual_norm_A", "sim_residual_norm_B",
        "lsa_contraction_rate", "lsa_sim_residual_norm_A", "lsa_sim_residual_norm_B", "lsa_residual_norm_A",
        "lsa_residual_norm_B"]
    assert plot.needed_columns(_spec(RANDOM)) == ["contraction_rate", "mean_rate", "residual_norm_A",
                                                  "residual_norm_B", "residual_norm_C"]


@pytest.mark.parametrize("column, text", [
    ("residual_norm_A", r"predicted residual norm $\|u_{A}^* - w_{A}^*\|$ of A (C3/C17)"),
    ("sim_residual_norm_A 1", r"simulated residual norm $\|m_{\mathrm{A\ 1}} - w_{\mathrm{A\ 1}}^*\|$ of A 1 after "
                              "the run"),
    ("sim_fixed_point_distance_B", "distance of B's simulated from its predicted fixed point"),
    ("lsa_gamma_rel_error_A", r"relative error of A's $\Gamma_{\mathrm{eff}}$ against $\Gamma^*$ (L2)"),
    ("lsa_sim_residual_norm_A", "trained-LSA residual norm of A (forward passes)"),
    ("lsa_residual_norm_A", r"C3 residual norm of A from $\Gamma_{\mathrm{eff}}$"),
    ("lsa_residual_rel_error_A", "trained-LSA residual of A: relative error of C3 (V7)"),
    ("spread_C", r"stationary spread $\sqrt{\mathrm{tr}\,V_{C}}$ of C (random protocol)"),
    ("contraction_rate", r"contraction rate $\rho$ (C1)"),
    ("lsa_contraction_rate", r"contraction rate $\rho$ of the trained LSA agents"),
    ("mean_rate", "mean rate (first moment, random protocol)"),
    ("converges", "converges")])
def test_describe(column, text):
    assert plot.describe(column) == text


def test_describe_for_a_random_protocol():
    r, d = _spec(RANDOM), _spec()
    assert plot.describe_for(r, "contraction_rate") == "mean-square rate (random protocol; converges below 1)"
    assert plot.describe_for(r, "residual_norm_B") == r"residual norm $\|\mu_{B} - w_{B}^*\|$ of B (stationary mean)"
    assert plot.describe_for(r, "mean_rate") == plot.describe("mean_rate")
    assert plot.describe_for(d, "contraction_rate") == plot.describe("contraction_rate")
    assert plot.describe_for(d, "residual_norm_B") == plot.describe("residual_norm_B")
    # any other column keeps describe's text, also one sorting before contraction_rate (an axis column)
    assert plot.describe_for(r, "agents.0.preconditioner") == plot.describe("agents.0.preconditioner") == \
        "agents.0.preconditioner"


def test_axis_label():
    s = _spec(axes={"agents.1.preconditioner.0.2": [0.1, 0.2], "agents.0.preconditioner": [0.1, 0.2]})
    assert plot.axis_label(s, "agents.1.preconditioner.0.2") == \
        r"B's step size $(\Gamma_{B})_{13}$   [agents.1.preconditioner.0.2]"
    assert plot.axis_label(s, "agents.0.preconditioner") == \
        r"A's step size $g$ ($\Gamma_{A} = g I$)   [agents.0.preconditioner]"
    assert plot.axis_label(s, "agents.1.target.0") == "agents.1.target.0"
    # an agent's other fields, also those sorting before "preconditioner", are labelled by their path
    assert plot.axis_label(s, "agents.0.geometry.0.1") == "agents.0.geometry.0.1"
    assert plot.axis_label(s, "agents.1.noise") == "agents.1.noise"
    assert plot.axis_label(s, "protocol.random.2.next.A") == \
        "probability (the rest of its law rescaled)   [protocol.random.2.next.A]"


# A log step off the first by this much is just beyond the tolerance of a first step 1 (1e-8 + 1e-6 = 1.01e-6)
# and just within that of a first step 1 + STEP_OFF (1.01e-6 / (1 - 1e-6) = 1.0100010e-6): a margin of 5e-13 either
# side, far above the log's round-off (~1e-15 here).
STEP_OFF = 1.0100005e-6


@pytest.mark.parametrize("values, geometric", [
    (np.geomspace(1.0, 20.0, 3), True),          # the smallest span that counts: a factor 20
    (np.geomspace(1.0, 19.9, 5), False),
    (np.geomspace(0.05, 12.0, 7), True),
    (np.array([1.0, 20.0]), False),              # two values are no progression
    (np.linspace(1.0, 100.0, 5), False),
    (np.geomspace(1.0, 100.0, 5) * [1, 1, 1.001, 1, 1], False),
    (np.concatenate([[0.0], np.geomspace(1.0, 100.0, 4)]), False),
    (-np.geomspace(1.0, 100.0, 4), False),
    # each log step against the first (numpy.allclose: atol 1e-8 + rtol 1e-6 times the first step): steps 1 and
    # 1 + STEP_OFF, STEP_OFF just beyond 1.01e-6 from the first, within it from the second
    (np.exp(np.cumsum([0.0, 1.0, 1.0 + STEP_OFF, 1.0 + STEP_OFF])), False),
    (np.exp(np.cumsum([0.0, 1.0 + STEP_OFF, 1.0 + STEP_OFF, 1.0])), True)])
def test_geometric_values_get_a_log_axis(values, geometric):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot._is_geometric(values) is geometric


def test_the_agents_own_radii_take_the_other_axes_at_their_first_value():
    """individual_radii over two axes of three (a 3 x 2 grid): A's steps_per_turn axis at its first value, 2 (so
    rho(M_A) is the square of the one-step radius max |1 - g h|, by hand)."""
    spec = sweep_spec.parse({"base": DIAGONAL, "measure": ["predict"], "axes": {
        "agents.0.preconditioner": DIAG_X, "agents.1.preconditioner": DIAG_Y[:2], "agents.0.steps_per_turn": [2, 1]}})
    radii = plot.individual_radii(spec, spec.axes[:2])
    assert list(radii) == ["A", "B"]
    np.testing.assert_allclose(radii["A"], np.repeat(DIAG_RADII["A"][:, None] ** 2, 2, axis=1), rtol=EXACT)
    np.testing.assert_allclose(radii["B"], np.repeat(DIAG_RADII["B"][None, :2], 3, axis=0), rtol=EXACT)


def _loaded(spec, tmp_path, **extra):
    """The spec as a2ad sweep reads it from SPEC.json: its names and quantity are strings read from a file."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(dict(spec.raw, **extra)))
    return sweep_spec.load(path)


def test_a_spec_read_from_its_json_file_draws_the_same_figure(seeded, random_pair, tmp_path):
    """a2ad sweep reads SPEC.json: its axis names are strings read from a file, not this file's literals."""
    spec, cols = seeded
    loaded = _loaded(spec, tmp_path)
    assert plot.needed_columns(loaded) == ["sim_residual_norm_A", "contraction_rate", "mean_rate"]
    fig, note = _draw(loaded, cols)
    ax = fig.axes[0]
    _heat(ax, [0.5, 1.0, 2.0], np.linspace(0.0, 3.14159, 5), _grid(cols, "sim_residual_norm_A", (3, 3, 5)).mean(axis=1))
    assert ax.get_xlabel() == r"gap scale $s = \|\Delta\| / \|\Delta_0\|$"
    assert ax.get_ylabel() == r"gap angle $\theta$ (rad) of B's target around A's"
    np.testing.assert_allclose(ax.get_yticks(), [0, PI4, 2 * PI4, 3 * PI4, 4 * PI4], rtol=EXACT)
    assert note == ("heat map of sim_residual_norm_A over gap_scale x gap_angle with the mean-square rate = 1 and "
                    "mean rate = 1 boundaries (mean over 3 seeds)")
    # plot.quantity contraction_rate given in the file: the random protocol's title
    fig, _ = _draw(_loaded(random_pair[0], tmp_path, plot={"quantity": "contraction_rate"}), random_pair[1])
    assert fig.axes[0].get_title() == "mean-square rate (random protocol; converges below 1)"


def test_an_agent_whose_radius_stays_above_or_below_1_gets_no_boundary_and_angle_ticks_start_within_the_axis(
        tmp_path_factory):
    """A's step 3 everywhere: rho(M_A) = max |1 - 3 h| = 2 (h = 1, 0.5), never 1: no C1 contour, no legend entry;
    C's step 1: rho(M_C) = 0.5 everywhere: no C3 contour; B's radius over g_B = 0.5, 1, 3 is 0.75, 0.5, 2 (by hand):
    drawn. The angle axis from 1.6 (> pi/2) to 4.0: ticks 3 pi/4, pi, 5 pi/4 only."""
    base = json.loads(json.dumps(DIAGONAL))
    base["agents"][0]["preconditioner"] = 3.0
    base["agents"].append(dict(base["agents"][0], name="C", target=[1.0, 1.0], preconditioner=1.0))
    angles, g_b = np.linspace(1.6, 4.0, 4), [0.5, 1.0, 3.0]
    spec, cols = _sweep(tmp_path_factory, {"base": base, "measure": ["predict"], "axes": {
        "gap_angle": {"linspace": [1.6, 4.0, 4]}, "agents.1.preconditioner": g_b}})
    fig, _ = _draw(spec, cols)
    ax = fig.axes[0]
    assert not _contours(ax, "C1") and not _contours(ax, "C3")
    (b,) = _contours(ax, "C2")
    _same_contour(b, angles, g_b, np.tile([0.75, 0.5, 2.0], (4, 1)))
    assert [t for t in _legend(ax) if "agent alone" in t] == [r"$\rho(M_{B}) = 1$ (agent alone)"]
    assert not any("pi" in t.get_text() for t in ax.get_yticklabels())  # a step-size axis keeps plain numbers
    np.testing.assert_allclose(ax.get_xticks(), PI4 * np.arange(3, 6), rtol=EXACT)
    assert [t.get_text() for t in ax.get_xticklabels()] == [r"$3\pi/4$", r"$\pi$", r"$5\pi/4$"]


def test_importing_the_module_loads_no_matplotlib():
    """Only drawing loads matplotlib (a sweep without a figure, or a notebook reading columns, does not)."""
    code = ("import sys, json; from numerics.sweep import plot, spec; "
            "s = spec.parse(json.loads(sys.argv[1])); plot.needed_columns(s); plot.default_quantity(s); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    raw = json.dumps({"base": DIAGONAL, "axes": {"gap_scale": [1.0, 2.0]}, "measure": ["predict"]})
    out = subprocess.run([sys.executable, "-c", code, raw], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_agent_whose_radius_starts_at_exactly_1_gets_no_boundary(tmp_path_factory):
    """B's radius over g_B = 2, 3 is max |1 - g h| = 1, 2 (h = 0.5, 1; by hand): it reaches 1 without going below."""
    spec, cols = _sweep(tmp_path_factory, {"base": DIAGONAL, "measure": ["predict"], "axes": {
        "gap_angle": [0.0, 1.0], "agents.1.preconditioner": [2.0, 3.0]}})
    fig, _ = _draw(spec, cols)
    assert not _contours(fig.axes[0], "C2")
    assert r"$\rho(M_{B}) = 1$ (agent alone)" not in _legend(fig.axes[0])
