"""What ``a2ad fit`` shows (numerics.fit.output): the figure's drawn content (every data line, band, error
bar, title and legend entry against the fit's own document), and the document's and text's cases that no
converging transcript reaches (a fit that diverges, a random protocol whose mean still converges or not,
a singular ``Khat``). The figure's geometry (size, column widths, legend columns, margins, resolution) is
presentation: these tests read what is drawn, not where.

The transcripts are simulated here: two noisy affine agents in a round robin (d = 4: only the first three
coordinates are drawn), and the anchored protocol (verify's own transcript, d = 2)."""
import dataclasses
import json

import matplotlib
import numpy as np
import pytest

from numerics import api
from numerics.fit import output
from numerics.io import transcripts
from proofs_check.verification import shipped_derive, shipped_fit

matplotlib.use("Agg")

DRAWN = 3  # coordinates drawn in the left panels: the first min(d, 3) (the docstring of draw_fit_figure)
BOOTSTRAP = 40  # enough resamples for finite percentile intervals (their values are not under test here)
LAYOUT_INCH = 0.01  # matplotlib places the panels to the pixel (1/100 inch at the figure's 100 dpi)
EXACT = 1e-12  # drawn values are the document's numbers, up to the float arithmetic of an offset


def _round_robin(d=4, rounds=120, seed=3):
    """A noisy two-agent round robin of affine agents ``w' = M w + c + noise``, as transcript lines."""
    rng = np.random.default_rng(seed)
    maps = {n: (0.5 * np.linalg.qr(rng.standard_normal((d, d)))[0], rng.standard_normal(d)) for n in "AB"}
    w, lines = np.zeros(d), []
    for t in range(rounds):
        for n in "AB":
            M, c = maps[n]
            out = M @ w + c + 0.05 * rng.standard_normal(d)
            lines.append(json.dumps({"agent": n, "turn": t, "incoming": w.tolist(), "outgoing": out.tolist()}))
            w = out
    return transcripts.parse(lines)


def _anchored():
    inst, _ = shipped_derive._instance_with(np.random.default_rng(11), shipped_derive.GALLERY["P4"])
    lines, _, _ = shipped_fit._transcript(np.random.default_rng(12), inst, shipped_derive.GALLERY["P4"], 150)
    return transcripts.parse(lines)


@pytest.fixture(scope="module", params=["round robin", "anchored"])
def fitted(request):
    tr = _round_robin() if request.param == "round robin" else _anchored()
    result = api.fit_transcript(tr, bootstrap=BOOTSTRAP, seed=0)
    fig = output.draw_fit_figure(result.report, result.transcript)
    yield request.param, result, json.loads(result.to_json()), fig
    import matplotlib.pyplot as plt

    plt.close(fig)


def _messages(result, k, name):
    """What the left panel plots: end-of-turn messages, or end-of-round messages under a protocol."""
    rounds = getattr(result.report, "round_messages", None)
    return result.transcript.pairs(name)[1] if rounds is None else rounds[:, k]


def _yspan(patch) -> tuple[float, float]:
    """The data y extent of a horizontal band (axhspan: a Rectangle in matplotlib >= 3.9, a Polygon before)."""
    if hasattr(patch, "get_height"):
        return float(patch.get_y()), float(patch.get_y() + patch.get_height())
    y = np.asarray(patch.get_xy())[:, 1]
    return float(y.min()), float(y.max())


def test_the_left_panels_draw_the_messages_the_fixed_point_and_two_predicted_std(fitted):
    kind, result, doc, fig = fitted
    names = list(doc["agents"])
    assert len(fig.axes) == 2 * len(names)
    for k, name in enumerate(names):
        e, ax = doc["agents"][name], fig.axes[2 * k]
        out = _messages(result, k, name)
        d = out.shape[1]
        data = [ln for ln in ax.lines if len(ln.get_ydata()) == len(out)]
        assert len(data) == min(d, DRAWN)
        for j, ln in enumerate(data):
            np.testing.assert_array_equal(ln.get_ydata(), out[:, j])
            assert ln.get_label() == f"coordinate {j + 1}"
        flat = [ln for ln in ax.lines if len(ln.get_ydata()) == 2]
        levels = sorted(float(ln.get_ydata()[0]) for ln in flat if ln.get_ydata()[0] == ln.get_ydata()[1]
                        and ln.get_xdata()[0] != ln.get_xdata()[1])
        np.testing.assert_allclose(levels, sorted(e["fixed_point"][:DRAWN]), rtol=0, atol=EXACT)
        tail = [ln for ln in flat if ln.get_xdata()[0] == ln.get_xdata()[1]]
        assert [float(ln.get_xdata()[0]) for ln in tail] == [doc["tail_start_round"]]
        sd = np.sqrt(np.diag(e["predicted_covariance"]))[:DRAWN]
        bands = sorted(_yspan(p) for p in ax.patches)
        want = sorted(zip(np.subtract(e["fixed_point"][:DRAWN], 2 * sd), np.add(e["fixed_point"][:DRAWN], 2 * sd)))
        np.testing.assert_allclose(bands, want, rtol=0, atol=EXACT)
        # each band in its coordinate's colour
        for j, ln in enumerate(data):
            band = next(p for p in ax.patches if abs(_yspan(p)[1] - e["fixed_point"][j] - 2 * sd[j]) < EXACT)
            assert matplotlib.colors.same_color(band.get_facecolor()[:3], ln.get_color())
        assert ax.get_title() == f"{name}'s messages, one colour per coordinate"


def _errorbars(ax):
    """(marker, x, y, low ends, high ends) of each error bar container of a panel."""
    got = {}
    for c in ax.containers:
        line, _, (bars,) = c.lines
        seg = np.array(bars.get_segments())
        got[line.get_marker()] = (line.get_xdata(), line.get_ydata(), seg[:, 0, 1], seg[:, 1, 1])
    return got


def test_the_right_panels_draw_the_offsets_and_their_intervals(fitted):
    kind, result, doc, fig = fitted
    for k, name in enumerate(doc["agents"]):
        e, ax = doc["agents"][name], fig.axes[2 * k + 1]
        ref, d = np.array(e["fixed_point"]), len(e["fixed_point"])
        bars = _errorbars(ax)
        assert sorted(bars) == ["o", "s"]
        x, y, lo, hi = bars["o"]  # the observed tail mean
        np.testing.assert_allclose(x, np.arange(d) + 0.1, atol=EXACT)
        np.testing.assert_allclose(y, np.subtract(e["observed_tail_mean"], ref), atol=EXACT)
        iv = e["observed_tail_mean_interval"]
        np.testing.assert_allclose(lo, np.subtract(iv["low"], ref), atol=EXACT)
        np.testing.assert_allclose(hi, np.subtract(iv["high"], ref), atol=EXACT)
        x, y, lo, hi = bars["s"]  # the predicted fixed point, at 0 offset
        np.testing.assert_allclose(x, np.arange(d) - 0.1, atol=EXACT)
        np.testing.assert_array_equal(y, np.zeros(d))
        iv = e["fixed_point_interval"]
        np.testing.assert_allclose(lo, np.subtract(iv["low"], ref), atol=EXACT)
        np.testing.assert_allclose(hi, np.subtract(iv["high"], ref), atol=EXACT)
        # the grey line at offset 0 (the error bars' own lines have no line style)
        assert [list(ln.get_ydata()) for ln in ax.lines if ln.get_linestyle() == "-"] == [[0, 0]]
        assert ax.get_title() == f"{name}: offset from the predicted fixed point (95% intervals)"
        assert [t.get_text() for t in ax.get_xticklabels()] == [str(i + 1) for i in range(d)]
        assert list(ax.get_xticks()) == list(range(d))


def test_the_legend_names_each_coordinate_and_the_claims(fitted):
    kind, result, doc, fig = fitted
    d = len(next(iter(doc["agents"].values()))["fixed_point"])
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    claim, source = ("C2", "C15") if kind == "round robin" else ("P1", "Lyapunov equation of the round map")
    assert labels == [f"coordinate {j + 1}" for j in range(min(d, DRAWN))] + [
        "tail starts (fit compared here)", f"predicted fixed point ({claim} from fitted maps)",
        rf"$\pm 2$ predicted std ({source})", "observed tail mean (right)",
        "predicted fixed point with its interval (right)"]


def _report(result, **prediction):
    """The fit's report with its prediction replaced (a fit that does not converge, a random protocol)."""
    r = result.report
    return dataclasses.replace(r, prediction=dataclasses.replace(r.prediction, **prediction))


@pytest.fixture(scope="module")
def small():
    return api.fit_transcript(_round_robin(d=2, rounds=60), bootstrap=0, seed=0)


@pytest.mark.parametrize("rate, mean_rate, reason", [
    (1.3, None, "contraction rate rho(Mhat) = 1.3 >= 1: the fitted maps have no attracting fixed point"),
    (1, None, "contraction rate rho(Mhat) = 1 >= 1: the fitted maps have no attracting fixed point"),
    (1.3, 0.8, "mean-square rate 1.3 >= 1: the fitted maps have no stationary spread under the random protocol; "
               "the mean still converges (mean rate 0.8)"),
    (1.3, 1.1, "mean-square rate 1.3 >= 1: the fitted maps have no stationary spread under the random protocol; "
               "the mean diverges too (mean rate 1.1)"),
    (1.3, 1, "mean-square rate 1.3 >= 1: the fitted maps have no stationary spread under the random protocol; "
             "the mean diverges too (mean rate 1)")])
def test_a_fit_that_does_not_converge_states_why_and_prints_no_fixed_point(small, rate, mean_rate, reason):
    r = _report(small, rate=rate, plateau=None, spread=None, mean_rate=mean_rate)
    doc = output.report_doc(r)
    assert doc["converges"] is False and doc["reason"] == reason
    assert ("mean_rate" in doc) is (mean_rate is not None) and doc.get("mean_rate") == mean_rate
    for e in doc["agents"].values():
        assert e["target"] is not None
        assert e["fixed_point"] is e["residual"] is e["residual_norm"] is e["predicted_covariance"] is None
    text = output.report_text(r).splitlines()
    what = "rho(Mhat)" if mean_rate is None else "(mean-square)"
    assert text[0] == (f"fitted contraction rate {what} = {rate:.4g}  (diverges: no fixed point)"
                       + ("" if mean_rate is None else f"; mean rate = {mean_rate:.4g}"))
    assert not any(ln.startswith(("  predicted fixed point", "  predicted std", "      interval          "))
                   for ln in text)


def test_a_converging_random_fit_prints_both_rates_and_no_reason(small):
    r = _report(small, mean_rate=0.25)
    doc = output.report_doc(r)
    assert doc["converges"] is True and "reason" not in doc and doc["mean_rate"] == 0.25
    rate = small.report.prediction.rate
    assert output.report_text(r).splitlines()[0] == (f"fitted contraction rate (mean-square) = {rate:.4g}; "
                                                     "mean rate = 0.25")


def test_the_residual_is_undefined_exactly_where_the_target_is(small):
    """``Khat`` singular: no target, so no residual, while the fixed point is printed."""
    fits = list(small.report.prediction.fits)
    d = fits[0].M_hat.shape[0]
    fits[0] = dataclasses.replace(fits[0], M_hat=np.eye(d))  # Khat = I - Mhat = 0
    doc = output.report_doc(_report(small, fits=tuple(fits)))
    a, b = doc["agents"].values()
    assert a["fixed_point"] is not None and a["residual"] is None and a["residual_norm"] is None
    np.testing.assert_allclose(b["residual"], np.subtract(b["fixed_point"], b["target"]), rtol=0, atol=0)
    assert b["residual_norm"] == pytest.approx(np.linalg.norm(np.subtract(b["fixed_point"], b["target"])), rel=1e-15)
    text = output.report_text(_report(small, fits=tuple(fits)))
    assert "  implied target w_hat* = undefined (Khat singular)" in text.splitlines()


def test_without_a_fixed_point_the_figure_draws_offsets_from_zero_and_no_band(small):
    r = _report(small, rate=1.3, plateau=None, spread=None)
    fig = output.draw_fit_figure(r, small.transcript)
    try:
        for k in range(2):
            left, right = fig.axes[2 * k], fig.axes[2 * k + 1]
            assert not left.patches and all(len(ln.get_ydata()) != 2 or ln.get_xdata()[0] == ln.get_xdata()[1]
                                            for ln in left.lines)  # only the tail's vertical line
            bars = _errorbars(right)
            assert sorted(bars) == ["o"]
            np.testing.assert_array_equal(bars["o"][1], r.observed_mean[k])
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_the_figure_is_written_in_the_format_of_its_suffix(small, tmp_path):
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        path = output.fit_figure(small.report, small.transcript, tmp_path / f"fit{suffix}")
        assert path == tmp_path / f"fit{suffix}" and path.read_bytes().startswith(magic)


def test_the_figure_has_the_stated_layout(fitted, tmp_path):
    """draw_fit_figure's docstring: 11 x (3 K + 0.7) inches, panels 3 : 2, the legend in 3 columns in the
    bottom 0.7 inches at 8 points (the title at 10), the panels filling the rest, line widths 0.8 / 1 / 0.6 pt,
    bands of opacity 0.12, a PNG at 110 dots per inch."""
    from PIL import Image

    kind, result, doc, fig = fitted
    K = len(doc["agents"])
    assert tuple(fig.get_size_inches()) == (11.0, 3.0 * K + 0.7)
    left, right = fig.axes[0].get_position(), fig.axes[1].get_position()
    # gridspec widths 3 : 2, up to the space between the panels (tight_layout's wspace shares it equally)
    assert left.width / right.width == pytest.approx(1.5, rel=1e-9)
    bottom = min(ax.get_position().y0 for ax in fig.axes)
    assert 0.7 / (3.0 * K + 0.7) <= bottom < 0.5 and all(0 <= ax.get_position().x0 < 1 for ax in fig.axes)
    assert all(ax.get_position().x1 <= 1 and ax.get_position().y1 <= 1 for ax in fig.axes)
    (legend,) = fig.legends
    assert legend._ncols == 3 and not legend.get_frame_on()
    widths = {ln.get_label(): ln.get_linewidth() for ln in fig.axes[0].lines}
    d = len(next(iter(doc["agents"].values()))["fixed_point"])
    assert {widths[f"coordinate {j + 1}"] for j in range(min(d, DRAWN))} == {0.8}
    assert sorted({ln.get_linewidth() for ln in fig.axes[0].lines}) == [0.8, 1.0]
    assert [ln.get_linewidth() for ln in fig.axes[1].lines if ln.get_linestyle() == "-"] == [0.6]
    assert {p.get_alpha() for p in fig.axes[0].patches} == {0.12}
    assert [h.get_linewidth() for h in legend.legend_handles[:-3] if h.get_label().startswith("tail")] == [0.8]
    assert {t.get_fontsize() for t in legend.get_texts()} == {8}
    assert fig._suptitle is not None and fig._suptitle.get_fontsize() == 10
    # the tight layout: the panels' labels clear the legend below them, and the panels fill the width
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    size = fig.get_window_extent()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    assert legend.get_window_extent(renderer).y1 <= min(b.y0 for b in boxes)
    # the legend's 0.7 inches, then tight layout's default pad (1.08 font sizes, 10 pt): the labels start 0.85 in up
    pad = 1.08 * matplotlib.rcParams["font.size"] / 72
    assert min(b.y0 for b in boxes) / fig.dpi == pytest.approx(0.7 + pad, abs=LAYOUT_INCH)
    assert min(b.x0 for b in boxes) < 0.05 * size.width and max(b.x1 for b in boxes) > 0.95 * size.width
    assert max(b.y1 for b in boxes) > 0.85 * size.height
    path = output.fit_figure(result.report, result.transcript, tmp_path / "fit.png")
    assert Image.open(path).info["dpi"] == pytest.approx((110, 110), abs=0.01)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_an_interval_that_misses_its_estimate_is_drawn_from_the_estimate(small, side):
    """A percentile interval need not contain the point estimate: the bar on that side has length 0 (intervals
    above the estimate, ``side`` 1, or below it, -1)."""
    from numerics.fit.fitting import Interval

    r = small.report
    plateau, mean = r.prediction.plateau, r.observed_mean
    far, near = sorted([0.5 * side, 1.0 * side])
    r = dataclasses.replace(r, plateau_interval=Interval(plateau + far, plateau + near),
                            observed_mean_interval=Interval(mean + far, mean + near))
    fig = output.draw_fit_figure(r, small.transcript)
    try:
        for k in range(2):
            bars = _errorbars(fig.axes[2 * k + 1])
            for marker in ("s", "o"):  # the predicted fixed point (at 0) and the observed mean
                x, y, lo, hi = bars[marker]
                np.testing.assert_allclose(lo, y + min(far, 0), atol=EXACT)
                np.testing.assert_allclose(hi, y + max(near, 0), atol=EXACT)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_an_interval_with_a_non_finite_end_is_null():
    """output.report_doc: an interval with a non-finite end (either one) is JSON null, never a NaN or inf."""
    from numerics.fit.fitting import Interval

    for low, high in (([0.0, np.inf], [1.0, 2.0]), ([0.0, 1.0], [1.0, np.nan]), ([np.nan], [np.inf])):
        assert output._interval(Interval(np.array(low), np.array(high))) is None
    assert output._interval(Interval(np.array([0.0, 1.0]), np.array([1.0, 2.0]))) == {"low": [0.0, 1.0],
                                                                                       "high": [1.0, 2.0]}
    two = Interval(np.array([[0.0], [np.inf]]), np.array([[1.0], [2.0]]))  # per agent: the second has an inf end
    assert output._interval(two, 0) == {"low": [0.0], "high": [1.0]} and output._interval(two, 1) is None
