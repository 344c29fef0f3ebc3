"""The ``dask`` backend of ``a2ad sweep``: chunks on a Dask cluster, every failure a one-line ServiceError.

A cluster is a service the sweep does not control, so each way it can fail is bounded:

- the address must be ``tcp://HOST:PORT`` (:func:`scheduler_address`, an :class:`InputError` before any
  work): other schemes (``tls://``, ``ucx://``, ``inproc://``, ...) need security objects, libraries or
  the scheduler's own process, which a command-line sweep does not have;
- before distributed touches the address, :func:`probe_scheduler` connects with a deadline and reads
  the handshake a Dask scheduler sends first (an 8-byte length, then at most ``MAX_HANDSHAKE_BYTES``
  of frames holding a msgpack map with ``compression`` and ``python``). A server that announces more,
  sends other bytes, closes, or sends nothing before the deadline is refused: distributed itself
  would allocate whatever length the first 8 bytes announce (exabytes for ``HTTP/1.1``) or wait forever;
- connecting the client, and every stretch with no finished chunk, are bounded by ``timeout`` seconds
  (``a2ad sweep --timeout``, default :data:`DEFAULT_TIMEOUT`).

Errors raised by the chunk function on a worker (an :class:`A2ADError`) pass through unchanged.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
import socket
import struct
import time

from numerics.io.errors import A2ADError, InputError, ServiceError
from numerics.sweep import measures as sweep_measures

DEFAULT_TIMEOUT = 120.0   # seconds: connecting, and the longest stretch with no finished chunk
MAX_TIMEOUT = 7 * 86400.0  # a week: longer is a typo, not a plan
MAX_HANDSHAKE_BYTES = 65536  # a scheduler's handshake is ~60 bytes; anything announcing more is not one
MAX_HANDSHAKE_FRAMES = 16
SCHEME = "tcp://"
_Q = struct.Struct("Q")  # distributed's frame lengths: native unsigned 64-bit


def check_timeout(timeout) -> float:
    """``timeout`` in seconds: a finite number in (0, MAX_TIMEOUT] (InputError naming ``--timeout``)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or not 0 < timeout <= MAX_TIMEOUT:
        raise InputError("--timeout", timeout, f"must be a number of seconds in (0, {MAX_TIMEOUT:g}]")
    return float(timeout)


def scheduler_address(text: str) -> tuple[str, int]:
    """``(host, port)`` of ``tcp://HOST:PORT`` (``[v6]`` brackets removed); InputError naming ``--scheduler``."""
    if not isinstance(text, str) or not text.startswith(SCHEME):
        scheme = text.split("://", 1)[0] + "://" if isinstance(text, str) and "://" in text else "no scheme"
        raise InputError("--scheduler", text, f"{scheme} is not supported: give tcp://HOST:PORT (tls://, ucx:// and "
                                              "inproc:// need objects a command line cannot pass)")
    host, sep, port = text[len(SCHEME):].rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536 \
            or any(c in host for c in "/[]@ ") or not host.isascii():
        raise InputError("--scheduler", text, "must be tcp://HOST:PORT with a port in 1-65535")
    return host, int(port)


def _recv_exactly(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("the peer closed the connection")
        data += part
    return bytes(data)


# The keys of a scheduler's handshake map, as msgpack writes them (a fixstr: 0xa0 + length, then the text).
_HANDSHAKE_KEYS = (b"\xabcompression", b"\xa6python")


def _is_handshake(payload: bytes) -> bool:
    """Frames ``[n, len_1..len_n, frame_1..frame_n]`` whose first frame is a msgpack map (a fixmap or map16
    header byte) holding the keys ``compression`` and ``python``. Checked on the bytes: nothing is decoded."""
    if len(payload) < _Q.size:
        return False
    (n,) = _Q.unpack_from(payload)
    if not 1 <= n <= MAX_HANDSHAKE_FRAMES or len(payload) < _Q.size * (1 + n):
        return False
    lengths = struct.unpack_from(f"{n}Q", payload, _Q.size)
    start = _Q.size * (1 + n)
    if start + sum(lengths) != len(payload) or lengths[0] == 0:
        return False
    first = payload[start:start + lengths[0]]
    return (0x80 <= first[0] <= 0x8f or first[0] == 0xde) and all(key in first for key in _HANDSHAKE_KEYS)


def require() -> None:
    """InputError naming the extra when distributed is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError("--backend", "dask", "needs the optional extra: pip install 'a2a-dynamics[distributed]'"
                         ) from None


def probe_scheduler(address: str, timeout: float) -> None:
    """Refuse (ServiceError) an address where no Dask scheduler answers within ``timeout`` seconds."""
    host, port = scheduler_address(address)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            (length,) = _Q.unpack(_recv_exactly(sock, _Q.size, deadline))
            if not 0 < length <= MAX_HANDSHAKE_BYTES:
                raise ServiceError("--scheduler", address, f"is not a Dask scheduler: its first frame announces "
                                                           f"{length} bytes (a handshake has at most "
                                                           f"{MAX_HANDSHAKE_BYTES})")
            payload = _recv_exactly(sock, length, deadline)
    except TimeoutError:
        raise ServiceError("--scheduler", address, f"sent no Dask handshake within {timeout:g} s (--timeout)"
                           ) from None
    except OSError as exc:
        raise ServiceError("--scheduler", address, f"no Dask scheduler answered ({exc.strerror or exc})") from None
    if not _is_handshake(payload):
        raise ServiceError("--scheduler", address, "is not a Dask scheduler: its first message is not a Dask handshake")


# What distributed raises when the cluster (not the chunk function) fails.
_SERVICE_FAILURES: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncio.CancelledError,
                                                      concurrent.futures.CancelledError)


def results(spec, todo: list[int], scheduler: str | None, workers: int | None, timeout: float):
    """Yield ``(chunk, columns)`` as chunks finish on the cluster (any order); see the module docstring."""
    from distributed.scheduler import KilledWorker

    where, failures = scheduler or "LocalCluster", _SERVICE_FAILURES + (KilledWorker,)
    try:
        yield from _run(spec, todo, scheduler, workers, timeout)
    except A2ADError:
        raise
    except failures as exc:
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ServiceError("--scheduler", where, f"the Dask cluster failed ({text})") from None


def _run(spec, todo, scheduler, workers, timeout):
    from distributed import Client, LocalCluster, wait

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster
    else:
        address = scheduler  # probed by the caller before DIR was touched (probe_scheduler)
    try:
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ServiceError("--scheduler", scheduler, f"no Dask scheduler answered within {timeout:g} s "
                                                         f"(--timeout): {str(exc) or type(exc).__name__}") from None
        try:
            futures = [client.submit(sweep_measures.compute_chunk, spec, c, pure=False, retries=1) for c in todo]
            index = {f.key: c for f, c in zip(futures, todo)}
            pending = set(futures)
            while pending:
                try:
                    done, pending = wait(pending, timeout=timeout, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    raise ServiceError("--scheduler", scheduler or "LocalCluster",
                                       f"no chunk finished within {timeout:g} s (--timeout; {len(pending)} chunks "
                                       "left): no worker, or chunks slower than that") from None
                for f in done:
                    yield index[f.key], f.result()
                    f.release()
        finally:
            client.close(timeout=min(timeout, 10.0))
    finally:
        if cluster is not None:
            cluster.close()
