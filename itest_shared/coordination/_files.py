"""JSON files in the shared folder: written whole or not at all, read without trusting them."""

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
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(data, stream)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


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
