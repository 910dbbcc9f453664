"""What a worker process runs: its entry point, and the parent's environment it takes on.

Both functions below run in the child as copies with bare globals (see
``CHILD_ENTRY``), so their bodies import what they need themselves.
"""

from __future__ import annotations

import builtins
import os
import types
from collections.abc import Callable
from typing import Any

# Deferred imports: the two functions below run in the child as copies with
# bare globals (CHILD_ENTRY), so they import what they need in their bodies.


def _run_in_child(
    parent: object,
    target: Callable[..., object],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    report: str,
) -> None:
    """Run a worker's target in its process; if it raises, leave the traceback at ``report``."""
    # ``parent`` has done its work already: see ParentEnvironment.
    import contextlib
    import os

    # Lead a process group of its own, which what it starts joins, so that close()
    # can stop the worker together with its descendants, orphaned ones included.
    # Where there are no process groups, close() signals the worker alone.
    with contextlib.suppress(AttributeError, OSError):
        os.setpgid(0, 0)
    try:
        target(*args, **kwargs)
    except SystemExit:
        raise  # an explicit exit: its code is the report, as for any process
    except BaseException as exc:
        import json
        import traceback

        written = False
        try:
            tb = exc.__traceback__
            # Start the traceback in the user's code, not in this wrapper.
            lines = traceback.format_exception(type(exc), exc, tb.tb_next if tb else None)
            summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            with open(report + ".partial", "w", encoding="utf-8") as fh:
                json.dump({"summary": summary, "traceback": "".join(lines)}, fh)
            # Atomic, so a parent never reads half a report from a child killed mid-write.
            os.replace(report + ".partial", report)
            written = True
        except Exception:
            written = False  # the fallback below reports it another way
        if not written:
            raise  # no report (its directory gone, disk full): the child prints it to stderr
        raise SystemExit(1) from None  # reported: exit 1 like an uncaught error, without the noise


def _apply_parent_environment(environ: dict[str, str], cwd: str | None) -> None:
    """Make this process's ``os.environ`` equal to ``environ`` and move into ``cwd``."""
    import os

    current = os.environ
    zone = current.get("TZ")
    for key in [key for key in current if key not in environ]:
        del current[key]
    for key, value in environ.items():
        if current.get(key) != value:
            current[key] = value
    if current.get("TZ") != zone:
        import time

        time.tzset()  # the time module reads TZ only at import and at tzset()
    if cwd is not None:
        import contextlib  # already loaded in every multiprocess child: costs nothing

        # OSError: removed since start(). multiprocess has already put the child
        # where it could; failing the worker before its target runs helps nobody.
        with contextlib.suppress(OSError):
            os.chdir(cwd)


# Spawn and forkserver children unpickle the process target. A module-level
# function pickles by reference, so every child would import itest_shared and all
# the package imports (~40 ms on a ~90 ms spawn, past the 1.2x budget of
# benchmarks/bench_parallel.py). These copies have bare globals and no module, so
# dill pickles them by value and the child needs only multiprocess; that is why
# their bodies import what they need themselves.
CHILD_ENTRY: Callable[..., None] = types.FunctionType(
    _run_in_child.__code__, {"__builtins__": builtins}, "run_worker"
)
APPLY_PARENT_ENVIRONMENT: Callable[[dict[str, str], str | None], None] = types.FunctionType(
    _apply_parent_environment.__code__, {"__builtins__": builtins}, "apply_parent_environment"
)


def _environ_now() -> dict[str, str]:
    while True:
        try:
            return dict(os.environ)
        except KeyError:
            continue  # another thread removed a variable mid-copy: copy again


class ParentEnvironment:
    """Gives a worker the parent's ``os.environ`` and working directory as of ``start()``.

    A forkserver child is forked from the server, whose environment and working
    directory froze when it started (often during an earlier test), not from the
    test's process. Spawn and forkserver pass a worker to its child by pickling
    the process inside ``Process.start()``, so pickling this object takes the
    snapshot at that moment, and unpickling it in the child applies it. It is
    the first of ``CHILD_ENTRY``'s arguments, so the child applies it before it
    unpickles the target (and imports the target's module). Fork pickles
    nothing and needs nothing: its child is a copy of the parent at ``start()``.
    """

    def __reduce__(
        self,
    ) -> tuple[Callable[[dict[str, str], str | None], None], tuple[dict[str, str], str | None]]:
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None  # the parent's directory is gone; multiprocess fails the start anyway
        return APPLY_PARENT_ENVIRONMENT, (_environ_now(), cwd)
