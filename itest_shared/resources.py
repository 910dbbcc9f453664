"""ResourceTracker: the life of every resource a test allocates, by owning module."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from .exceptions import ResourceStateError, UnknownResourceError
from .formats import RESOURCE_STATES, ResourceRecord

__all__ = ["ResourceTracker"]

# One resource's life, kept as a plain list so the hot path (track + release)
# costs no more than a dict-based tracker: records are built on demand and
# cached until the state changes.
_ID, _TYPE, _OWNER, _CREATED, _STATE, _METADATA, _RELEASED, _RECORD = range(8)
_now = time.time


def _as_name(name: str, value: object) -> str:
    if isinstance(value, str):
        return str(value)  # a str subclass (StrEnum...) is stored as the plain string
    raise TypeError(f"{name} must be a string, got {value!r}")


def _check_state_filter(state: str | None) -> None:
    if state is not None and state not in RESOURCE_STATES:
        raise ValueError(
            f"state must be one of {', '.join(RESOURCE_STATES)} or None, got {state!r}"
        )


class ResourceTracker:
    """Track resources from allocation to release; find the ones left behind.

    Lifecycle rules:

    * ``track_resource`` on an id that is active raises ResourceStateError and
      keeps the first allocation; on an id that was released or leaked it starts
      a new life under the same id (both lives stay in ``get_all_resources``).
    * ``release_resource`` on an unknown id raises UnknownResourceError (a
      KeyError); on an id that is already released or leaked it raises
      ResourceStateError (a ValueError). Neither changes any record.
    * ``get_resource_state`` on an unknown id returns None.

    All methods are thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Bound once: the hot path would otherwise look them up on every call.
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._lives: list[list[Any]] = []  # every life, in allocation order
        self._latest: dict[str, list[Any]] = {}  # resource_id -> its latest life

    def track_resource(
        self,
        module: str,
        resource_type: str,
        resource_id: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``module`` allocated ``resource_id`` (of ``resource_type``) now."""
        # Exact type checks first: the common case costs three comparisons.
        if type(module) is not str:
            module = _as_name("module", module)
        if type(resource_type) is not str:
            resource_type = _as_name("resource_type", resource_type)
        if type(resource_id) is not str:
            resource_id = _as_name("resource_id", resource_id)
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise TypeError(f"metadata must be a mapping or None, got {metadata!r}")
            metadata = dict(metadata)  # the caller may change theirs later
        # acquire/release rather than `with`: on CPython 3.11 the with-statement
        # costs twice the lock itself, and this is the hot path.
        self._acquire()
        try:
            # Stamped under the lock, so allocation order and created_at agree.
            life = [resource_id, resource_type, module, _now(), "active", metadata, None, None]
            current = self._latest.setdefault(resource_id, life)
            if current is not life:
                if current[_STATE] == "active":
                    raise ResourceStateError(resource_id, "active", "track")
                self._latest[resource_id] = life
            self._lives.append(life)
        finally:
            self._release()

    def release_resource(self, resource_id: str) -> None:
        """Mark ``resource_id`` released now."""
        self._acquire()
        try:
            life = self._latest.get(resource_id)
            if life is None:
                raise UnknownResourceError(resource_id)
            if life[_STATE] != "active":
                raise ResourceStateError(resource_id, life[_STATE], "release")
            life[_STATE] = "released"
            life[_RELEASED] = _now()
        finally:
            self._release()

    def mark_leaked(self, module: str | None = None) -> list[ResourceRecord]:
        """Mark every still-active resource (of ``module``, or all) leaked; return them."""
        with self._lock:
            leaked = []
            for life in self._lives:
                if life[_STATE] == "active" and (module is None or life[_OWNER] == module):
                    life[_STATE] = "leaked"
                    leaked.append(self._record(life))
            return leaked

    def get_resource_state(self, resource_id: str) -> ResourceRecord | None:
        """Return the latest record of ``resource_id``, or None if it was never tracked."""
        with self._lock:
            life = self._latest.get(resource_id)
            return None if life is None else self._record(life)

    def get_all_resources(
        self, module: str | None = None, state: str | None = None
    ) -> list[ResourceRecord]:
        """Return the records (of ``module``, in ``state``) in allocation order."""
        _check_state_filter(state)
        with self._lock:
            return [
                self._record(life)
                for life in self._lives
                if (module is None or life[_OWNER] == module)
                and (state is None or life[_STATE] == state)
            ]

    def verify_cleanup(self, module: str | None = None) -> list[ResourceRecord]:
        """Return the resources of ``module`` (or of all modules) that are still active."""
        return self.get_all_resources(module=module, state="active")

    @staticmethod
    def _record(life: list[Any]) -> ResourceRecord:
        # Called with the lock held. The same state yields the same record (and
        # record id) however often it is asked for; a life's state only moves
        # forward, so a cached record of another state is stale.
        record: ResourceRecord | None = life[_RECORD]
        if record is None or record.state != life[_STATE]:
            record = ResourceRecord(
                resource_id=life[_ID],
                resource_type=life[_TYPE],
                owner_module=life[_OWNER],
                created_at=life[_CREATED],
                state=life[_STATE],
                metadata=life[_METADATA] or {},
                released_at=life[_RELEASED],
            )
            life[_RECORD] = record
        return record
