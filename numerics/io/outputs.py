"""Every file the CLI writes, and every JSON document it prints, goes through here.

- :func:`check_path` validates an output path *before* any expensive work: its directory
  can be created and written, it is not an existing directory (for a file), it is not one
  of the command's inputs (never, even with ``--force``), and an existing file is only
  replaced with ``force=True`` (the CLI's ``--force``).
- :func:`write_text` / :func:`atomic` write through a temporary file in the same
  directory and ``os.replace`` it into place, so a failure never leaves half a file and
  never destroys the previous one.
- :func:`dump_json` prints standard JSON only: a NaN or infinity anywhere in the
  document is an :class:`InputError` naming where it is (overflow is never printed).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from pathlib import Path

from numerics.io.errors import InputError


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_path(option: str, path, inputs=(), force: bool = False, directory: bool = False) -> Path:
    """Validate an output path up front (see the module docstring); returns it as a Path."""
    if path is None or str(path) == "":
        raise InputError(option, path, "must be a path")
    path = Path(path)
    for src in inputs:
        if src is not None and _same_file(path, Path(src)):
            raise InputError(option, str(path), f"is an input of this command ({src}); choose another output path")
    if directory:
        if path.exists() and not path.is_dir():
            raise InputError(option, str(path), "exists and is not a directory")
        base = path if path.exists() else _nearest_existing(path)
    else:
        if path.is_dir():
            raise InputError(option, str(path), "is a directory; give a file path")
        if path.exists() and not force:
            raise InputError(option, str(path), "exists; pass --force to overwrite it")
        base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise InputError(option, str(path), f"cannot be created: {base} is not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(option, str(path), f"cannot be written: no write permission in {base}")
    return path


def check_files_in(option: str, directory, names, force: bool = False) -> None:
    """Refuse (without ``force``) when any of ``names`` already exists in ``directory``."""
    existing = [n for n in names if (Path(directory) / n).exists()]
    if existing and not force:
        raise InputError(option, str(directory), f"already holds {', '.join(existing)}; pass --force to overwrite")


def _mkdir(path: Path, option: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be created ({exc.strerror or exc})") from None


@contextlib.contextmanager
def atomic(path, option: str = "--out"):
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path``."""
    path = Path(path)
    _mkdir(path.parent, option)
    try:
        import tempfile  # only when writing: it loads shutil, random and the compressors (CLI start-up)

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be written ({exc.strerror or exc})") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be written ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str, option: str = "--out") -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, flush, fsync, rename)."""
    with atomic(path, option) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def non_finite(doc, where: str = ""):
    """``(path, value)`` of the first NaN or infinity in a JSON-able document, else None."""
    stack = [(where, doc)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return here or "value", node
        if isinstance(node, dict):
            stack.extend((f"{here}.{k}" if here else str(k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, (list, tuple)):
            stack.extend((f"{here}[{i}]", v) for i, v in reversed(list(enumerate(node))))
    return None


def check_finite(doc, what: str):
    """``doc`` unchanged, or an InputError naming the first non-finite number (an overflow)."""
    bad = non_finite(doc)
    if bad is not None:
        raise InputError(f"{what} {bad[0]}", bad[1], "is not finite: the computation overflows float64 "
                                                    "(inputs too large, or the messages diverge)")
    return doc


def dumps(doc, what: str, indent: int | None = None) -> str:
    """Standard JSON text (``allow_nan=False``) of a checked document."""
    return json.dumps(check_finite(doc, what), indent=indent, allow_nan=False)


def dump_json(doc, what: str, indent: int | None = None, stream=None) -> None:
    """Print ``doc`` as standard JSON on stdout (or ``stream``)."""
    text = dumps(doc, what, indent)
    out = stream or sys.stdout
    out.write(text + "\n")
