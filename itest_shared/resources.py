"""ResourceTracker: the life of every resource a test allocates, by owning module."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from .exceptions import ResourceStateError, UnknownResourceError
from .formats import RESOURCE_STATES, ResourceRecord

__all__ = ["ResourceTracker"]

# One resource's life is a plain list: cheaper to make than a record or a dict,
# so that track + release cost less than an unlocked dict-based tracker.
# Records are built on demand and cached per status.
_ID, _TYPE, _OWNER, _CREATED, _STATUS, _METADATA, _CLAIM, _CACHE = range(8)
# _STATUS is one (state, released_at) tuple, replaced whole: a reader never sees
# a state without its release time. _CLAIM is a one-item list whose item the
# single transition out of "active" (release or leak) pops: list.pop is atomic,
# so of any number of racing threads exactly one wins.
_ACTIVE = ("active", None)
_now = time.time


def _as_name(name: str, value: object) -> str:
    if isinstance(value, str):
        # A str subclass (StrEnum...) is stored as the plain string: its own
        # __eq__/__hash__ could run Python code in the middle of a dict operation.
        return str(value)
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

    All methods are thread-safe. Tracking and releasing take no lock: each step
    that decides something is one operation on a built-in dict or list
    (``setdefault``, ``pop``, ``append``), which CPython performs atomically
    (under the GIL, and under the object's own lock in free-threaded builds).
    The tests prove it under contention. Queries share one lock, for the record
    cache and the id index.
    """

    def __init__(self) -> None:
        self._active: dict[str, list[Any]] = {}  # resource_id -> its active life
        self._lives: list[list[Any]] = []  # every life, in allocation order
        self._query_lock = threading.Lock()
        self._latest: dict[str, list[Any]] = {}  # resource_id -> its latest life
        self._indexed = 0  # how many of _lives _latest has seen

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
        life = [resource_id, resource_type, module, _now(), _ACTIVE, metadata, [True], None]
        # The claim on the id: only one active life per id, whoever races.
        if self._active.setdefault(resource_id, life) is not life:
            raise ResourceStateError(resource_id, "active", "track")
        self._lives.append(life)

    def release_resource(self, resource_id: str) -> None:
        """Mark ``resource_id`` released now."""
        life = self._active.get(resource_id)
        try:
            life[_CLAIM].pop()  # type: ignore[index]
        except (TypeError, IndexError):
            # TypeError: no active life (None); IndexError: a racing release or
            # leak claimed it first. (Inline, not a helper: this is the hot path.)
            self._refuse_release(resource_id)
        life[_STATUS] = ("released", _now())  # type: ignore[index]
        # Only now may the id start a new life: until here it is still active.
        del self._active[resource_id]

    @staticmethod
    def _claim(life: list[Any]) -> bool:
        try:
            life[_CLAIM].pop()
        except IndexError:
            return False  # another thread released or leaked it first
        return True

    def _refuse_release(self, resource_id: object) -> NoReturn:
        if not isinstance(resource_id, str):
            raise TypeError(f"resource_id must be a string, got {resource_id!r}")
        with self._query_lock:
            life = self._latest_life(resource_id)
        if life is None:
            raise UnknownResourceError(resource_id)
        state = life[_STATUS][0]
        if state == "active":  # claimed an instant ago by a racing release or leak
            state = "being released or leaked by another thread"
        raise ResourceStateError(resource_id, state, "release")

    def mark_leaked(self, module: str | None = None) -> list[ResourceRecord]:
        """Mark every still-active resource (of ``module``, or all) leaked; return them."""
        leaked = []
        with self._query_lock:
            for life in list(self._lives):
                if (
                    life[_STATUS] is _ACTIVE
                    and (module is None or life[_OWNER] == module)
                    and self._claim(life)
                ):
                    life[_STATUS] = ("leaked", None)
                    del self._active[life[_ID]]
                    leaked.append(self._record(life))
        return leaked

    def get_resource_state(self, resource_id: str) -> ResourceRecord | None:
        """Return the latest record of ``resource_id``, or None if it was never tracked."""
        with self._query_lock:
            life = self._active.get(resource_id) or self._latest_life(resource_id)
            return None if life is None else self._record(life)

    def get_all_resources(
        self, module: str | None = None, state: str | None = None
    ) -> list[ResourceRecord]:
        """Return the records (of ``module``, in ``state``) in allocation order."""
        _check_state_filter(state)
        with self._query_lock:
            return [
                self._record(life)
                for life in list(self._lives)
                if (module is None or life[_OWNER] == module)
                and (state is None or life[_STATUS][0] == state)
            ]

    def verify_cleanup(self, module: str | None = None) -> list[ResourceRecord]:
        """Return the resources of ``module`` (or of all modules) that are still active."""
        return self.get_all_resources(module=module, state="active")

    def _latest_life(self, resource_id: str) -> list[Any] | None:
        # Called with the query lock held. _lives only grows, so indexing the
        # lives added since the last query keeps the index current.
        lives = self._lives[self._indexed :]
        for life in lives:
            self._latest[life[_ID]] = life
        self._indexed += len(lives)
        return self._latest.get(resource_id)

    @staticmethod
    def _record(life: list[Any]) -> ResourceRecord:
        # Called with the query lock held. The same status yields the same
        # record (and record id) however often it is asked for.
        status = life[_STATUS]
        cached = life[_CACHE]
        if cached is not None and cached[0] is status:
            record: ResourceRecord = cached[1]
            return record
        state, released_at = status
        record = ResourceRecord(
            resource_id=life[_ID],
            resource_type=life[_TYPE],
            owner_module=life[_OWNER],
            created_at=life[_CREATED],
            state=state,
            metadata=life[_METADATA] or {},
            released_at=released_at,
        )
        life[_CACHE] = (status, record)
        return record
