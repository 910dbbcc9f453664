"""The env's named locks, queues and events: three registries, get-or-create by name."""

from __future__ import annotations

from typing import Any

import attrs

from ._api import SharedEvent, SharedLock, SharedQueue
from ._arguments import check_maxsize, check_name


@attrs.define(eq=False)
class _Queue:
    queue: SharedQueue
    maxsize: int


class SharedPrimitives:
    """Made on first use from a ``multiprocess`` context; the caller serialises the calls.

    Locks, queues and events are separate namespaces, as in the prototype that
    worktrees copied: one name can be a lock and a queue at the same time.
    """

    def __init__(self, context: Any) -> None:
        self._context = context
        self._locks: dict[str, SharedLock] = {}
        self._queues: dict[str, _Queue] = {}
        self._events: dict[str, SharedEvent] = {}

    def lock(self, name: object) -> SharedLock:
        """The lock ``name``."""
        key = check_name(name)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = self._context.Lock()
        return lock

    def queue(self, name: object, maxsize: object) -> SharedQueue:
        """The queue ``name``; ``maxsize`` None accepts any size, else it must match."""
        key = check_name(name)
        size = check_maxsize(maxsize)
        entry = self._queues.get(key)
        if entry is None:
            made = 0 if size is None else size
            entry = self._queues[key] = _Queue(self._context.Queue(made), made)
        elif size is not None and size != entry.maxsize:
            raise ValueError(
                f"queue {key!r} already exists with maxsize={entry.maxsize}, "
                f"not maxsize={size}; leave maxsize out to get the existing queue"
            )
        return entry.queue

    def event(self, name: object) -> SharedEvent:
        """The event ``name``."""
        key = check_name(name)
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = self._context.Event()
        return event

    def locks(self) -> dict[str, SharedLock]:
        """Every lock by name, in creation order (a copy)."""
        return dict(self._locks)

    def queues(self) -> dict[str, SharedQueue]:
        """Every queue by name, in creation order (a copy)."""
        return {name: entry.queue for name, entry in self._queues.items()}

    def events(self) -> dict[str, SharedEvent]:
        """Every event by name, in creation order (a copy)."""
        return dict(self._events)
