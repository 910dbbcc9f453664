"""What every serialised record carries besides its fields: type, schema, id, producer."""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
from typing import Final

#: The schema every record is written in. MAJOR.MINOR; see CONTRIBUTING.md.
SCHEMA_VERSION: Final = "1.0"
#: Schema majors this release reads (every minor of each).
SUPPORTED_MAJORS: Final = (1,)

SCHEMA_VERSION_RE: Final = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")

# Record ids: a random per-process prefix and a counter. uuid4() would cost a
# urandom call per record; this costs a counter step, and the 64-bit prefix keeps
# ids unique across processes, worktrees and machines.
_prefix = os.urandom(8).hex()
_counter = itertools.count(1)


def _reseed_after_fork() -> None:
    # A forked child inherits the parent's prefix and counter; without a new
    # prefix both would hand out the same ids.
    global _prefix, _counter
    _prefix = os.urandom(8).hex()
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_reseed_after_fork)


def new_record_id() -> str:
    """Return an id no other record in any process has."""
    return f"{_prefix}-{next(_counter):x}"


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    """Return the installed itest-shared version (``"0+unknown"`` if not installed)."""
    # importlib.metadata is slow to import; records pay for it once, on first use,
    # so that ``import itest_shared`` stays cheap.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("itest-shared")
    except PackageNotFoundError:
        return "0+unknown"


def current_producer() -> dict[str, object]:
    """Describe the process and thread that are creating a record right now."""
    return {
        "package_version": package_version(),
        "pid": os.getpid(),
        "thread_id": threading.get_ident(),
        "thread_name": threading.current_thread().name,
    }
