"""Every file the CLI writes, and every JSON document it prints, goes through here.

- :func:`check_path` validates an output path *before* any expensive work: its directory
  can be created and written, it is not an existing directory (for a file), it is not one
  of the command's inputs (never, even with ``--force``), and an existing file is only
  replaced with ``force=True`` (the CLI's ``--force``).
- :func:`atomic` (and :func:`write_text`, :func:`write_bytes`, :func:`copy_file` on top of it)
  is the one way the package writes a file: a unique temporary file in the same directory,
  written, fsynced and ``os.replace``-d into place, then the directory fsynced. A failure never
  leaves half a file nor destroys the previous one; files get mode ``0666 & ~umask`` and
  folders ``0777 & ~umask``, like any file a shell creates.
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


# What ``--figure-format`` accepts: formats matplotlib writes with no extra dependency; pdf and svg
# are vector formats a paper can include at any size.
FIGURE_FORMATS = ("png", "pdf", "svg")


def figure_format(option: str, value) -> str:
    """``value`` checked as a figure format (``png``, ``pdf`` or ``svg``, any case), lower-cased."""
    fmt = str(value).lower().lstrip(".")
    if not isinstance(value, str) or fmt not in FIGURE_FORMATS:
        raise InputError(option, value, f"must be one of {', '.join(FIGURE_FORMATS)}")
    return fmt


def figure_path(path, fmt: str) -> Path:
    """``path`` with the extension of figure format ``fmt`` (``phase.png`` -> ``phase.pdf``)."""
    return Path(path).with_suffix("." + figure_format("figure format", fmt))


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


def check_writable_dir(option: str, path, files=()) -> Path:
    """Before any work: folder ``path`` can be created and written, and each of ``files`` written in it.

    A probe file is created in ``path`` (or its nearest existing ancestor) and removed at once:
    ``os.access`` says yes to root on a read-only folder and knows nothing of ``/proc``. Each
    name of ``files`` (relative to ``path``, e.g. ``figures/x.png``) must not be a folder nor lie
    under a regular file. InputError naming ``option`` and the path otherwise.
    """
    path = check_path(option, path, directory=True)
    base = path if path.exists() else _nearest_existing(path)
    try:
        _new_temporary(base / ".a2ad-probe").unlink()
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be written: {base}: {exc.strerror or exc}") from None
    for name in files:
        target = path / name
        for parent in reversed(target.relative_to(path).parents[:-1]):  # figures, then figures/sub, ...
            if (path / parent).exists() and not (path / parent).is_dir():
                raise InputError(option, str(path), f"cannot hold {name}: {path / parent} is not a directory")
        if target.is_dir() and not target.is_symlink():
            raise InputError(option, str(path), f"cannot hold {name}: {target} is a directory")
    return path


def check_files_in(option: str, directory, names, force: bool = False) -> None:
    """Refuse (without ``force``) when any of ``names`` already exists in ``directory``."""
    existing = [n for n in names if (Path(directory) / n).exists()]
    if existing and not force:
        raise InputError(option, str(directory), f"already holds {', '.join(existing)}; pass --force to overwrite")


# A temporary file is ".<name>.tmp-<pid>-<random>" in the destination folder: hidden (dataset readers
# such as Parquet skip dot-files), unique per process and call, and recognisable as a leftover.
TEMP_MARK = ".tmp-"


def temporary_glob(name_glob: str = "*") -> str:
    """The glob of temporary files left by an interrupted write of files named ``name_glob``."""
    return f".{name_glob}{TEMP_MARK}*"


def make_dirs(path, option: str = "--out") -> Path:
    """Create ``path`` and its parents (mode ``0777 & ~umask``, the system default); InputError if impossible."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be created ({exc.strerror or exc})") from None
    return path


def _new_temporary(path: Path) -> Path:
    """Create an empty, unique temporary file beside ``path``.

    ``O_CREAT | O_EXCL`` with mode 0666: the kernel applies the umask, so the final file gets
    ``0666 & ~umask`` like any file a shell creates (``tempfile.mkstemp`` would force 0600).
    """
    import secrets  # only when writing (CLI start-up)

    while True:
        tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:  # 2^-32 per try: draw another name
            continue


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path) -> None:
    """fsync a folder so a rename or a new entry in it survives a crash (best effort: some
    file systems refuse to fsync a directory)."""
    try:
        _fsync_path(Path(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        pass


@contextlib.contextmanager
def atomic(path, option: str = "--out", durable: bool = True):
    """Yield a new temporary path beside ``path``; when the block succeeds it replaces ``path``.

    The one way the package writes a file: the caller writes the temporary path (by name, so
    matplotlib, pyarrow or numpy can write it), then its data is flushed to disk (fsync), it is
    renamed over ``path`` (``os.replace``, atomic on POSIX) and the folder is fsynced. A failure
    or an interruption leaves the previous ``path`` untouched and no temporary file; two
    concurrent writers never share a temporary name (the last rename wins, whole). The file's
    mode is ``0666 & ~umask``. ``durable=False`` skips both fsyncs (still atomic): only for a
    file in a scratch folder deleted afterwards, such as the configs ``a2ad verify`` writes
    for the commands it checks, where a crash loses nothing worth keeping.
    """
    path = Path(path)
    make_dirs(path.parent, option)
    try:
        tmp = _new_temporary(path)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be written ({exc.strerror or exc})") from None
    try:
        yield tmp
        if durable:
            _fsync_path(tmp, os.O_RDONLY)
        os.replace(tmp, path)
        if durable:
            sync_dir(path.parent)
    except OSError as exc:
        raise InputError(option, str(path), f"cannot be written ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path, data: bytes, option: str = "--out", durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic`)."""
    with atomic(path, option, durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path, text: str, option: str = "--out", durable: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic`)."""
    return write_bytes(path, text.encode("utf-8"), option, durable)


def copy_file(source, path, option: str = "--out") -> Path:
    """Copy ``source`` to ``path`` atomically (e.g. a file made in a scratch folder elsewhere)."""
    import shutil

    with atomic(path, option) as tmp:
        shutil.copyfile(source, tmp)
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
