"""``a2ad sweep --backend dask`` against a real cluster: a ``dask scheduler`` and ``dask worker``
processes on 127.0.0.1 (free ports), started here and stopped at the end, also on failure.

Needs the ``distributed`` extra, which ``make test`` installs: without it these tests fail (no skip).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client

from numerics.sweep import measures as sweep_measures, run as sweep_run, spec as sweep_spec
from proofs_check.cli import main as cli

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60  # seconds for the scheduler and workers to come up on a loaded 2-core machine
SWEEP_TIMEOUT = 120

BASE = {"agents": [
    {"name": "A", "geometry": [[1.0, 0.1], [0.1, 0.5]], "target": [1.0, 0.0], "preconditioner": 0.6},
    {"name": "B", "geometry": [[0.6, 0.2], [0.2, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.9},
]}
# Chunks of one point that each iterate SLOW_TURNS rounds one by one (~0.05-0.3 s here): long enough to
# kill something while chunks are in flight, short enough for the whole file to take seconds.
SLOW_TURNS = 8_000
SLOW = {"base": BASE, "axes": {"gap_angle": {"linspace": [0, 3, 4]}, "gap_scale": [0.5, 1.0, 1.5, 2.0]},
        "measure": [{"simulate": {"turns": SLOW_TURNS}}], "chunk_size": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, log: Path) -> subprocess.Popen:
    fh = open(log, "w")
    return subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_worker(address: str, tmp: Path, name: str) -> subprocess.Popen:
    # --no-nanny: the process is the worker itself, so killing it really loses the worker
    return start([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                  "--name", name, "--local-directory", str(tmp / name)], tmp / f"{name}.log")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                    "--no-dashboard"], tmp / "scheduler.log")]
    try:
        procs += [start_worker(address, tmp, f"w{i}") for i in range(2)]
        with Client(address, timeout=STARTUP_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=STARTUP_TIMEOUT)
        yield address, tmp, procs
    finally:
        for p in reversed(procs):
            stop(p)


@pytest.fixture(scope="module")
def slow_reference():
    return reference(sweep_spec.parse(SLOW))


def reference(spec):
    parts = [sweep_measures.compute_chunk(spec, c) for c in range(spec.n_chunks)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_cluster_equals_local(cluster, tmp_path):
    address, _, _ = cluster
    spec = sweep_spec.parse({"base": BASE, "axes": {"seed": [0, 1], "gap_scale": [0.5, 1.0, 2.0]},
                             "measure": [{"simulate": {"turns": 200}},
                                         {"train-lsa": {"steps": 20, "batch": 16, "turns": 50}}]})
    sweep_run.run(spec, tmp_path / "dask", backend="dask", scheduler=address, plot=False)
    sweep_run.run(spec, tmp_path / "local", plot=False)
    assert_same(sweep_run.read_results(tmp_path / "dask"), sweep_run.read_results(tmp_path / "local"))
    assert len(list((tmp_path / "dask" / "results").glob("*.parquet"))) == spec.n_chunks == 6


def test_error_on_a_worker_is_one_line(cluster, tmp_path, capsys):
    address, _, _ = cluster
    base = json.loads(json.dumps(BASE))
    base["agents"][1]["geometry"] = [[1.0, 0.0], [0.0, 0.0]]  # PSD but singular: no training covariance
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"base": base, "axes": {"seed": [0]}, "measure": [{"train-lsa": {"steps": 5}}]}))
    code = cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--backend", "dask", "--scheduler", address,
                     "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "B.geometry" in err[0], err


def run_cli(spec_path: Path, out: Path, *flags) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "a2ad"), "sweep", str(spec_path), "--out", str(out), "--no-progress", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def chunk_files(out: Path) -> list[Path]:
    return sorted((out / "results").glob("chunk-*.parquet")) if (out / "results").exists() else []


def test_worker_killed_mid_sweep(cluster, tmp_path, slow_reference):
    address, tmp, procs = cluster
    with Client(address, timeout=STARTUP_TIMEOUT) as client:
        before = set(client.scheduler_info()["workers"])
        extra = start_worker(address, tmp, "doomed")
        try:
            client.wait_for_workers(3, timeout=STARTUP_TIMEOUT)
            (doomed,) = set(client.scheduler_info()["workers"]) - before
            spec_path = tmp_path / "slow.json"
            spec_path.write_text(json.dumps(SLOW))
            out = tmp_path / "out"
            cmd = run_cli(spec_path, out, "--backend", "dask", "--scheduler", address)
            try:
                # kill the worker while it holds a chunk, part way through the sweep
                wait_for(lambda: cmd.poll() is not None or client.processing().get(doomed), SWEEP_TIMEOUT,
                         "a chunk in flight on the doomed worker")
                assert cmd.poll() is None, "the sweep finished before the worker could be killed"
                extra.send_signal(signal.SIGKILL)
                extra.wait()
                done_at_kill = len(chunk_files(out))
                stdout, stderr = cmd.communicate(timeout=SWEEP_TIMEOUT)
            finally:
                stop(cmd)
            assert cmd.returncode == 0, stderr
            assert done_at_kill < 16, "the sweep finished before the worker was killed"
            assert "16 points in 16 chunks: 16 computed" in stdout
        finally:
            stop(extra)
    assert_same(sweep_run.read_results(out), slow_reference)


@pytest.mark.parametrize("backend", ["dask", "local"])
def test_resume_after_the_command_is_killed(cluster, tmp_path, capsys, backend, slow_reference):
    address, _, _ = cluster
    spec_path = tmp_path / "slow.json"
    spec_path.write_text(json.dumps(SLOW))
    out = tmp_path / "out"
    flags = ["--backend", "dask", "--scheduler", address] if backend == "dask" else ["--workers", "1"]
    cmd = run_cli(spec_path, out, *flags)
    try:
        wait_for(lambda: len(chunk_files(out)) >= 3, SWEEP_TIMEOUT, "three written chunks")
        os.killpg(cmd.pid, signal.SIGKILL)  # the command and anything it started
        cmd.wait()
    finally:
        stop(cmd)
    kept = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in chunk_files(out)}
    assert 3 <= len(kept) < 16, "the sweep finished before it was killed"
    # the rest in this process (only the killed command needs to be a separate one)
    assert cli.main(["sweep", str(spec_path), "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--no-progress", *flags, "--resume"]) == 0
    assert f"{16 - len(kept)} computed, {len(kept)} already done" in capsys.readouterr().out
    for f in chunk_files(out):  # finished chunks were not recomputed or rewritten
        if f.name in kept:
            assert (f.stat().st_ino, f.stat().st_mtime_ns) == kept[f.name]
    assert not list((out / "results").glob(".*"))  # no temporary file left behind
    assert_same(sweep_run.read_results(out), slow_reference)
