"""ResourceMonitor: a ResourceTracker that fails a test over the resources it never released.

.. versionadded:: 1.1
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable
from types import TracebackType

from .formats import ResourceRecord
from .resources import ResourceTracker, check_module_filter

__all__ = ["ResourceMonitor"]


def _show(name: str) -> str:
    # One resource per line: a name with a newline (or an empty one) is quoted
    # so that it cannot break the list or vanish from it.
    return name if name.isprintable() and name else repr(name)


def _format(records: list[ResourceRecord], heading: str) -> str:
    lines = [f"{heading}:"]
    lines += [
        f"  {_show(r.resource_id)} ({_show(r.resource_type)}) owned by {_show(r.owner_module)}"
        for r in records
    ]
    return "\n".join(lines)


def _count(records: list[ResourceRecord]) -> str:
    return f"{len(records)} resource{'' if len(records) == 1 else 's'}"


class ResourceMonitor(ResourceTracker):
    """A ResourceTracker with ``assert_no_leaks``; ``close()`` marks what is left leaked.

    Tracking and releasing are the tracker's own, unchanged (and as fast). The
    pytest fixture ``resource_monitor`` makes one per test, calls ``close()``
    at teardown and fails the test with ``describe_leaks()`` of what it
    returns. Without pytest, ``with ResourceMonitor() as monitor:`` does the
    same: leaving the block raises AssertionError over what was not released.
    """

    def __init__(self) -> None:
        super().__init__()
        self._close_lock = threading.Lock()
        self._marked: list[ResourceRecord] = []

    def assert_no_leaks(self, module: str | None = None) -> None:
        """Raise AssertionError listing every still-active resource (of ``module``, or all).

        The message starts as the copied prototype's did, so tests that match it
        keep working: ``Module <module> leaked resources: ...`` or, for every
        module (``module`` None or empty), ``Found leaked resources: ...``; then
        a count and one ``id (type) owned by module`` line per resource.
        """
        module = check_module_filter(module)
        active = self.verify_cleanup(module)
        if active:
            lead = (
                "Found leaked resources"
                if module is None
                else f"Module {_show(module)} leaked resources"
            )
            raise AssertionError(_format(active, f"{lead}: {_count(active)} not released"))

    def close(self) -> list[ResourceRecord]:
        """Mark every still-active resource leaked; return all that close() has marked so far.

        Idempotent: calling it again returns the same records (plus any tracked
        since and still active, now marked too). Safe to call from many
        threads at once: each resource is marked exactly once.
        """
        # The lock makes a concurrent second call wait for the first one's
        # records, so every call returns the complete list.
        with self._close_lock:
            self._marked += self.mark_leaked()
            return list(self._marked)

    def finish(self) -> list[ResourceRecord]:
        """Deprecated since 1.4: ``close()``, the teardown name used across the package."""
        warnings.warn("finish() is deprecated; call close()", DeprecationWarning, stacklevel=2)
        return self.close()

    @staticmethod
    def describe_leaks(records: Iterable[ResourceRecord]) -> str:
        """The failure message for ``records``: a count, then ``id (type) owned by module``."""
        if isinstance(records, (str, bytes)) or not isinstance(records, Iterable):
            raise TypeError(f"records must be an iterable of ResourceRecord, got {records!r}")
        listed = list(records)
        for record in listed:
            if not isinstance(record, ResourceRecord):
                raise TypeError(f"records must hold ResourceRecord objects, got {record!r}")
        if not listed:
            return "no leaked resources"
        return _format(listed, f"{_count(listed)} leaked (still active at the end, never released)")

    def __enter__(self) -> ResourceMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        leaked = self.close()
        # An error already leaving the block says more than the leaks it caused.
        if leaked and exc_type is None:
            raise AssertionError(self.describe_leaks(leaked))
