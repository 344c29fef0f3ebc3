"""train-lsa under hostile options (second round): the documented maxima are refused with the memory
estimate before anything is allocated, and extreme floats are refused by name instead of raising
ZeroDivisionError or OverflowError."""
import time
import tracemalloc

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.lsa import training as T
from proofs_check.cli import main as cli

# The estimate is an upper bound of the measured peak, and not a wild one.
ESTIMATE_SLACK = 3.0  # at most this many times the measured peak (seen: 1.35 to 2.0)
REFUSAL_SECONDS = 5.0  # a refusal is immediate: nothing is drawn (slack for a loaded machine)


def measured_peak(draw_and_step) -> int:
    tracemalloc.start()
    try:
        draw_and_step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("d,N,batch", [(5, 20, 256), (10, 50, 512), (20, 10, 1000), (3, 200, 300), (12, 4, 800)])
def test_memory_estimate_bounds_the_measured_peak(d, N, batch):
    rng, S = np.random.default_rng(0), np.eye(d)
    p, Q = np.ones(d + 1), np.ones((d + 1, d + 1))
    sampled = measured_peak(lambda: T.loss_and_grad(p, Q, T.sample_tasks(rng, batch, N, S, 1.0, 0.1)))
    L, Ss = np.linalg.cholesky(np.stack([S, S])), np.stack([S, S])
    together = measured_peak(lambda: T.expected_query_loss_and_grad(
        np.stack([p, p]), np.stack([Q, Q]), T.sample_contexts(rng, batch, N, L, 1.0, 0.1), Ss))
    for peak, estimate in ((sampled, T.training_bytes(d, N, batch, 1, "sampled")),
                           (together, T.training_bytes(d, N, batch, 2, "query-averaged"))):
        assert peak <= estimate <= ESTIMATE_SLACK * peak


def run(capsys, *argv):
    start = time.monotonic()
    code = cli.main(["train-lsa", "--no-progress", *argv])
    err = capsys.readouterr().err
    return code, err, time.monotonic() - start


@pytest.mark.parametrize("argv,quantity", [
    (["--d", "64", "--N", "10000", "--batch", "100000", "--steps", "1000000"], "batch"),
    (["--d", "64", "--batch", "100000"], "batch"),
    (["--tau", "1e-200"], "tau"), (["--tau", "1e300"], "tau"), (["--tau", "nan"], "tau"),
    (["--tau", "0"], "tau"), (["--sigma", "1e200"], "sigma"), (["--sigma", "-1"], "sigma"),
    (["--sigma", "inf"], "sigma"), (["--lr", "1e300"], "lr"), (["--lr", "-0.1"], "lr"),
])
def test_hostile_options_are_one_line_refusals(capsys, tmp_path, argv, quantity):
    code, err, seconds = run(capsys, *argv, "--out", str(tmp_path / "w.npz"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert quantity in err and seconds < REFUSAL_SECONDS
    assert not (tmp_path / "w.npz").exists()


def test_the_memory_refusal_names_the_estimate(capsys, tmp_path):
    code, err, _ = run(capsys, "--d", "64", "--N", "10000", "--batch", "100000", "--out", str(tmp_path / "w.npz"))
    need = T.training_bytes(64, 10000, 100000, 1, "sampled") / 2**30
    assert code == 2 and f"{need:.3g} GiB" in err


def test_the_largest_run_within_the_limit_is_accepted():
    """The bound refuses only what does not fit: the batch just under the limit passes the check."""
    d, N = 64, 10000
    per_batch = T.training_bytes(d, N, 1, 1, "sampled")
    fits = T.MAX_TRAINING_BYTES // per_batch
    T.check_training_options(d, N, fits, 1, "sampled", 1.0, 0.1, 0.02)
    with pytest.raises(InputError, match="GiB"):
        T.check_training_options(d, N, fits + 1, 1, "sampled", 1.0, 0.1, 0.02)
