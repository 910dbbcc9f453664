"""JSON files in the shared folder: written whole (a holder file: in one write), read warily."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from .._jsonsafe import loads_strict


def write_json_atomic(path: Path, data: object) -> None:
    """Write ``data`` as JSON so that readers see the old file or the whole new one."""
    _replace(path, json.dumps(data))


def _replace(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def write_holder(path: str, text: str) -> None:
    """Put ``text`` in ``path`` in one write, replacing anything that is not a plain file of ours.

    Not atomic: a reader may find the file empty or cut short, which reads as no
    holder file at all, as before it is written. Cheaper than
    :func:`write_json_atomic` by a temporary file and a rename (``benchmarks/
    bench_coordination.py`` section 1); a symlink, FIFO or hard-linked file
    in its place is replaced as that would, never written through.
    """
    try:
        # O_NOFOLLOW: never write through a symlink; O_NONBLOCK: a FIFO never blocks the open.
        fd = os.open(
            path,
            os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
            0o600,
        )
    except OSError:  # a symlink, another user's file, a folder: replace it if we may
        _replace(Path(path), text)
        return
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
            if info.st_size:  # left by a holder that died
                os.ftruncate(fd, 0)
            data = text.encode()
            while data:
                data = data[os.write(fd, data) :]
            return
    finally:
        os.close(fd)
    _replace(Path(path), text)


def read_json_object(path: Path, limit: int | None = None) -> dict[str, Any] | None:
    """Return the JSON object in ``path``, or ``None`` if there is none to read.

    ``None`` for a missing file, anything but a regular file (a FIFO would block
    the reader), a file over ``limit`` bytes, and anything that is not strict
    JSON (RFC 8259: no NaN or Infinity, no number too large for a float) or not
    an object. Never raises for what the file holds: anyone may write to it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return None
            raw = stream.read() if limit is None else stream.read(limit + 1)
    except OSError:
        return None
    if limit is not None and len(raw) > limit:
        return None
    try:
        data = loads_strict(raw, finite=True)
    except (ValueError, RecursionError):  # torn, not UTF-8, not strict JSON, or nested too deep
        return None
    return data if isinstance(data, dict) else None
