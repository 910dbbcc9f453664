"""ResourceTracker: the life of every resource a test allocates, by owning module."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from ._mapping import AttributeMapping
from .exceptions import ResourceStateError, UnknownResourceError
from .formats import RESOURCE_STATES, ResourceRecord

__all__ = ["ResourceTracker", "TrackedResource"]

# The documented keys of a resource record, in order. "released_at" is there
# only once the resource is released, as in the documented dict.
_KEYS = ("resource_id", "resource_type", "owner_module", "created_at", "state", "metadata")
_KEYS_RELEASED = (*_KEYS, "released_at")
_now = time.time
# Guards what a life builds on first read (its metadata dict, its cached
# record); reads are rare next to track and release, which never take it.
_BUILD_LOCK = threading.Lock()


class TrackedResource(AttributeMapping):
    """One resource's life as its tracker sees it now: what ``track_resource`` returns.

    It reads like the documented resource dict, and stays current as the copied
    prototype's dict did: ``res["state"]`` turns ``"released"`` and
    ``"released_at" in res`` turns true when the resource is released, whoever
    releases it. It is read-only; ``metadata`` is the tracker's own dict, so
    changes to it show in later records. ``record()`` takes a
    :class:`~itest_shared.formats.ResourceRecord` snapshot (what
    ``get_resource_state`` returns and the store records). Compares equal to a
    mapping (a dict, a ResourceRecord) with the same keys and values; two of
    them are equal only if they are the same life.

    .. versionadded:: 1.3
    """

    # Made and filled by ResourceTracker.track_resource only. No __init__ (nor
    # __new__): creating this object is most of what tracking costs, and
    # bench_core.py holds track + release to >= 1.0x the prototype's dict
    # tracker; calling the class costs ~30% less than object.__new__(cls).
    __slots__ = (
        "_cache",
        "_created",
        "_id",
        "_metadata",
        "_owner",
        "_released",
        "_state",
        "_type",
    )

    _id: str
    _type: str
    _owner: str
    _created: float
    # Written released_at first, then state: a reader that sees "released"
    # always finds its time.
    _state: str
    _released: float | None
    _metadata: dict[str, Any] | None
    _cache: tuple[str, float | None, ResourceRecord] | None

    @property
    def resource_id(self) -> str:
        """The id the resource was tracked under."""
        return self._id

    @property
    def resource_type(self) -> str:
        """What kind of resource it is: ``"process"``, ``"file_handle"``, ``"lock"``..."""
        return self._type

    @property
    def owner_module(self) -> str:
        """The module that allocated it."""
        return self._owner

    @property
    def created_at(self) -> float:
        """When it was tracked (epoch seconds)."""
        return self._created

    @property
    def state(self) -> str:
        """``"active"``, ``"released"`` or ``"leaked"``, as of now."""
        return self._state

    @property
    def released_at(self) -> float | None:
        """When it was released (epoch seconds); None while active or once leaked."""
        # Read the state first: a release writes its time, then its state.
        return getattr(self, "_released", None) if self._state == "released" else None

    @property
    def metadata(self) -> dict[str, Any]:
        """The resource's metadata: the tracker's own dict (changes show in later records)."""
        metadata = getattr(self, "_metadata", None)
        if metadata is None:
            with _BUILD_LOCK:  # two first readers must get the same dict
                metadata = getattr(self, "_metadata", None)
                if metadata is None:
                    metadata = self._metadata = {}
        return metadata

    def _keys(self) -> tuple[str, ...]:
        return _KEYS_RELEASED if self._state == "released" else _KEYS

    # A live object hashes by identity; equality with another life is identity
    # too, so equal objects always hash equal. Against a mapping (a dict, a
    # ResourceRecord: neither hashable) it compares keys and values, as a dict would.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TrackedResource):
            return self is other
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self)!r})"

    def record(self) -> ResourceRecord:
        """Return a ResourceRecord snapshot of the resource now (the same one while unchanged)."""
        with _BUILD_LOCK:
            # A release writes its time before its state: a "released" state read
            # here always finds its time, and a time without that state is a
            # release still in progress, not yet visible.
            state = self._state
            released = getattr(self, "_released", None) if state == "released" else None
            cached = getattr(self, "_cache", None)
            if cached is not None and cached[0] == state and cached[1] == released:
                snapshot: ResourceRecord = cached[2]
                return snapshot
            record = ResourceRecord(
                resource_id=self._id,
                resource_type=self._type,
                owner_module=self._owner,
                created_at=self._created,
                state=state,  # type: ignore[arg-type]
                metadata=getattr(self, "_metadata", None) or {},
                released_at=released,
            )
            self._cache = (state, released, record)
            return record

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Another process (or a copy) cannot follow this life: it gets the snapshot.
        return self.record().__reduce__()


def _check_name(name: str, value: object) -> str:
    if isinstance(value, str):
        # A str subclass (StrEnum...) is stored as the plain string: its own
        # __eq__/__hash__ could run Python code in the middle of a dict operation.
        return str(value)
    raise TypeError(f"{name} must be a string, got {value!r}")


def check_module_filter(module: object) -> str | None:
    """A module filter: None or "" means every module, as in the prototype; else a str."""
    if module is None or module == "":
        return None
    if isinstance(module, str):
        return str(module)  # a str subclass filters as the plain string it equals
    raise TypeError(f"module must be a module name (str) or None, got {module!r}")


def _check_state_filter(state: object) -> str | None:
    """A state filter: None or "" means every state, as in the prototype."""
    if state is None or state == "":
        return None
    if state not in RESOURCE_STATES:
        raise ValueError(
            f"state must be one of {', '.join(RESOURCE_STATES)} or None, got {state!r}"
        )
    return str(state)


class ResourceTracker:
    """Track resources from allocation to release; find the ones left behind.

    Lifecycle rules:

    * ``track_resource`` returns the resource's :class:`TrackedResource`. On an id
      that is active it raises ResourceStateError and keeps the first allocation;
      on an id that was released or leaked it starts a new life under the same id
      (both lives stay in ``get_all_resources``).
    * ``release_resource`` on an unknown id raises UnknownResourceError (a
      KeyError); on an id that is already released or leaked it raises
      ResourceStateError (a ValueError). Neither changes any record.
    * ``get_resource_state`` on an unknown id returns None.

    All methods are thread-safe. Tracking and releasing take no lock: each step
    that decides something is one operation on a built-in dict or set
    (``setdefault``, ``remove``), which CPython performs atomically (under the
    GIL, and under the object's own lock in free-threaded builds). The tests
    prove it under contention. Queries share one lock, for the id index.
    """

    def __init__(self) -> None:
        self._active: dict[str, TrackedResource] = {}  # resource_id -> its active life
        self._lives: list[TrackedResource] = []  # every life, in allocation order
        # The lives still active: the single transition out of "active" (release
        # or leak) removes its life from here, and set.remove is atomic, so of any
        # number of racing threads exactly one wins. (Lives hash by identity, so
        # the set never runs Python code to compare two of them.)
        self._unclaimed: set[TrackedResource] = set()
        self._query_lock = threading.Lock()
        self._latest: dict[str, TrackedResource] = {}  # resource_id -> its latest life
        self._indexed = 0  # how many of _lives _latest has seen

    def track_resource(
        self,
        module: str,
        resource_type: str,
        resource_id: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> TrackedResource:
        """Record that ``module`` allocated ``resource_id`` (of ``resource_type``) now; return it.

        .. versionchanged:: 1.3 returns the TrackedResource (None before).
        """
        # Exact type checks first, for bench_core.py's tracker target: the common
        # case costs three comparisons. _check_name handles str subclasses.
        if type(module) is not str:
            module = _check_name("module", module)
        if type(resource_type) is not str:
            resource_type = _check_name("resource_type", resource_type)
        if type(resource_id) is not str:
            resource_id = _check_name("resource_id", resource_id)
        life = TrackedResource()
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise TypeError(f"metadata must be a mapping or None, got {metadata!r}")
            life._metadata = dict(metadata)  # the caller may change theirs later
        # _metadata, _released and _cache stay unset until needed (readers fall
        # back to None): three stores fewer on the path bench_core.py measures.
        life._id = resource_id
        life._type = resource_type
        life._owner = module
        life._created = _now()
        life._state = "active"
        # Claimable before anyone can find it: a release racing in right after
        # the setdefault below must be able to claim it.
        self._unclaimed.add(life)
        # The claim on the id: only one active life per id, whoever races.
        if self._active.setdefault(resource_id, life) is not life:
            self._unclaimed.discard(life)
            raise ResourceStateError(resource_id, "active", "track")
        self._lives.append(life)
        return life

    def release_resource(self, resource_id: str) -> None:
        """Mark ``resource_id`` released now."""
        try:
            life = self._active[resource_id]
            self._unclaimed.remove(life)
        except (KeyError, TypeError):
            # No active life, or a racing release or leak claimed it first;
            # TypeError: an unhashable id. (Inline: the path bench_core.py's
            # tracker target measures.)
            self._refuse_release(resource_id)
        life._released = _now()
        life._state = "released"
        # Only now may the id start a new life: until here it is still active.
        del self._active[resource_id]

    def _refuse_release(self, resource_id: object) -> NoReturn:
        if not isinstance(resource_id, str):
            raise TypeError(f"resource_id must be a string, got {resource_id!r}")
        with self._query_lock:
            life = self._latest_life(resource_id)
        if life is None:
            raise UnknownResourceError(resource_id)
        state = life._state
        if state == "active":  # claimed an instant ago by a racing release or leak
            state = "being released or leaked by another thread"
        raise ResourceStateError(resource_id, state, "release")

    def mark_leaked(self, module: str | None = None) -> list[ResourceRecord]:
        """Mark every still-active resource (of ``module``, or all) leaked; return them."""
        leaked = []
        with self._query_lock:
            for life in list(self._lives):
                if life._state != "active" or (module is not None and life._owner != module):
                    continue
                try:
                    self._unclaimed.remove(life)
                except KeyError:
                    continue  # another thread released it first
                life._state = "leaked"
                del self._active[life._id]
                leaked.append(life.record())
        return leaked

    def get_resource_state(self, resource_id: str) -> ResourceRecord | None:
        """Return a snapshot of the latest life of ``resource_id``, or None if never tracked."""
        with self._query_lock:
            life = self._active.get(resource_id)
            if life is None:
                life = self._latest_life(resource_id)
        return None if life is None else life.record()

    def get_all_resources(
        self, module: str | None = None, state: str | None = None
    ) -> list[ResourceRecord]:
        """Return snapshots of the lives (of ``module``, in ``state``) in allocation order.

        A filter that is None or empty is no filter, as in the prototype.
        """
        return self._select(check_module_filter(module), _check_state_filter(state))

    def verify_cleanup(self, module: str | None = None) -> list[ResourceRecord]:
        """Return the resources of ``module`` (or of all modules) that are still active."""
        if module is not None and not isinstance(module, str):
            raise TypeError(f"module must be a string or None, got {module!r}")
        return self._select(module, "active")

    def _select(self, module: str | None, state: str | None) -> list[ResourceRecord]:
        with self._query_lock:
            lives = list(self._lives)
        # Filter on the snapshot, so a record's state is the one it was selected by.
        records = (life.record() for life in lives if module is None or life._owner == module)
        return [record for record in records if state is None or record.state == state]

    def _latest_life(self, resource_id: str) -> TrackedResource | None:
        # Called with the query lock held. _lives only grows, so indexing the
        # lives added since the last query keeps the index current.
        lives = self._lives[self._indexed :]
        for life in lives:
            self._latest[life._id] = life
        self._indexed += len(lives)
        return self._latest.get(resource_id)
