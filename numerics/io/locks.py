"""One run at a time per output: a lock file held with ``fcntl.flock`` while a command writes.

Two ``a2ad sweep``, ``verify --out`` or ``llm-run`` processes started on the same output would
otherwise interleave their files (two transcripts appended to one JSONL, chunks of two specs in
one folder). :func:`hold` takes an exclusive, non-blocking lock on a lock file:

- a file output ``DIR/NAME`` is locked by ``DIR/.NAME.lock``; a folder output by ``.a2ad.lock``
  inside it (so only the folder itself need be writable);
- the second process is refused at once with an :class:`InputError` naming the lock file and
  the process that holds it (one line, exit 2), before it writes anything;
- the kernel releases a ``flock`` when its process ends, however it ends, so a lock left by a
  killed run is stale and is simply taken over by the next one; a clean exit also removes the file.

The lock file holds the holder's pid (for the message only: the flock decides).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from numerics.io.errors import InputError
from numerics.io.outputs import make_dirs

DIR_LOCK = ".a2ad.lock"  # the lock file inside a locked folder


def lock_path(target, directory: bool = False) -> Path:
    """The lock file of an output ``target`` (a folder with ``directory=True``, else a file)."""
    target = Path(target)
    return target / DIR_LOCK if directory else target.with_name(f".{target.name}.lock")


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "another process"


def _acquire(path: Path, option: str, target) -> int:
    """An fd holding the exclusive flock of ``path`` (the file the path names now, not an unlinked one)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(option, str(target), f"cannot be locked: lock file {path}: {exc.strerror or exc}"
                             ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InputError(option, str(target), f"is in use by {holder} (lock file {path}); wait for that run "
                                                   "to finish or choose another output") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:  # the previous holder removed it between our open and our flock
            same = False
        if same:
            return fd
        os.close(fd)  # we locked a file its holder has just unlinked: lock the current one


@contextlib.contextmanager
def hold(target, option: str = "--out", directory: bool = False):
    """Hold the lock of output ``target`` for the block (see the module docstring); yields the lock path."""
    path = lock_path(target, directory)
    make_dirs(path.parent, option)
    fd = _acquire(path, option, target)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # still locked: whoever opens it next re-checks that it is the current file
        os.close(fd)
