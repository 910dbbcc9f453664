"""The Record base class: what every serialised record carries besides its fields.

The envelope: record type, schema version, record id, producer and (schema 1.1)
the optional context. The record classes themselves are in ``formats``, which
registers each here and re-exports everything users need.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

import attrs

from .._jsonsafe import JsonValue, dumps_compact, json_safe_view, to_json_safe
from .._mapping import AttributeMapping
from ._parts import Envelope, ExceptionInfo, RecordContext
from ._version import SCHEMA_VERSION, package_version

R = TypeVar("R", bound="Record")

#: record_type -> record class, filled by ``register`` as ``formats`` defines them.
RECORD_TYPES: dict[str, type[Record]] = {}

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


# Per thread: the producer of the records it made last. Records made by one thread
# share the dict (no record changes it), so that writing them encodes it once.
_producers = threading.local()


def current_producer() -> dict[str, object]:
    """Describe the process and thread that are creating a record right now.

    The same dict for every record of a thread, while its pid and name stay:
    treat it as read-only.
    """
    pid = os.getpid()
    name = threading.current_thread().name
    producer: dict[str, object] | None = getattr(_producers, "last", None)
    if producer is None or producer["pid"] != pid or producer["thread_name"] != name:
        producer = {
            "package_version": package_version(),
            "pid": pid,
            "thread_id": threading.get_ident(),
            "thread_name": name,
        }
        _producers.last = producer
    return producer


# --- the base of every record ------------------------------------------------------


class Record(AttributeMapping):
    """Base of the canonical records: dict-style reading, envelope and JSON form."""

    # Not an attrs field on purpose: the fields are exactly the documented ones.
    # The envelope a record keeps for life. Being outside the attrs fields, it
    # takes no part in ==, and attrs.evolve() (which calls the class) makes a new
    # record: new id, no context.
    __slots__ = ("_meta",)

    RECORD_TYPE: ClassVar[str]
    if TYPE_CHECKING:
        # Every concrete record type is an attrs class. (Not a real annotation:
        # cattrs resolves the annotations, and attrs.Attribute is no generic.)
        __attrs_attrs__: ClassVar[tuple[attrs.Attribute[Any], ...]]
    # The attrs field names in order, set by ``register`` (read on every to_dict).
    _FIELDS: ClassVar[tuple[str, ...]]
    # The start of the store's JSON line, up to the record id's value (``register``).
    _HEAD: ClassVar[bytes]
    _meta: Envelope

    def _init_meta(self, error_info: ExceptionInfo | None = None) -> None:
        envelope = Envelope(
            schema_version=SCHEMA_VERSION,
            record_id=new_record_id(),
            producer=current_producer(),
            error_info=error_info,
            context=None,
        )
        object.__setattr__(self, "_meta", envelope)

    # Mapping protocol (AttributeMapping): the documented keys, read as attributes.
    def _keys(self) -> tuple[str, ...]:
        return self._FIELDS

    @property
    def record_id(self) -> str:
        """The id this record keeps through serialisation, unique across processes."""
        return self._meta.record_id

    @property
    def producer(self) -> dict[str, Any]:
        """Who made the record: package version, pid, thread id and thread name."""
        return dict(self._meta.producer)

    @property
    def schema_version(self) -> str:
        """The schema the record was written in.

        ``SCHEMA_VERSION`` for a record made in this process; for a loaded record,
        the version its JSON form names (a 1.0 record loads as ``"1.0"``, one of a
        newer minor as, say, ``"1.7"``). Copies (``with_context``, pickling) keep it.
        ``to_dict()`` always writes ``SCHEMA_VERSION``: what it writes is this
        release's JSON form of the record, in this release's shape.

        .. versionchanged:: 1.5 A loaded record reports its own version, no longer
           the version this release writes.
        """
        return self._meta.schema_version

    @property
    def context(self) -> RecordContext | None:
        """The test, run and worktree the record was made in; ``None`` outside a recorded test.

        .. versionadded:: 1.2 (schema 1.1; records of schema 1.0 load with ``None``)
        """
        return self._meta.context

    def with_context(self, context: RecordContext) -> Self:
        """Return a copy carrying ``context``: same fields, record id, producer and error info.

        The record itself is not changed. (``attrs.evolve`` instead makes a new
        record, with a new id and no context.)

        .. versionadded:: 1.2
        """
        if not isinstance(context, RecordContext):
            raise TypeError(f"context must be a RecordContext, got {context!r}")
        # Copy the slots as they are rather than calling the class: that would
        # run the validators again, give a new id and re-describe the exception.
        copy = object.__new__(type(self))
        for name in self._FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "_meta", self._meta._replace(context=context))
        return copy

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        """The fields' JSON form; ``safe`` makes each user value (metadata...) JSON-safe."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON-safe documented shape plus the envelope.

        It is written in this release's schema (``"schema_version"`` is
        ``SCHEMA_VERSION``), also for a loaded record of an older or newer minor:
        the fields this release does not know were dropped on loading, and the
        ones it does are written in its shape. ``load_record(record.to_json())``
        gives back an equal record, which writes the same line again.
        """
        envelope: dict[str, JsonValue] = {
            "record_type": self.RECORD_TYPE,
            "schema_version": SCHEMA_VERSION,
            "record_id": self.record_id,
            "producer": to_json_safe(self._meta.producer),
        }
        context = self._meta.context
        if context is not None:  # schema 1.1: only records made in a recorded test have one
            envelope["context"] = context.to_dict()
        envelope.update(self._fields_to_json())
        return envelope

    def to_json(self) -> str:
        """Return the record as one line of JSON."""
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    def _json_line(self, context: RecordContext | None = None) -> bytes:
        """The record as the store writes it: ``to_dict()`` as one line of UTF-8 JSON.

        The same keys in the same order as ``to_json()``, built from parts, with
        non-ASCII text as it is. ``context``, when given, is written instead of
        the record's own: what ``with_context(context)`` would give, without the copy.
        """
        meta = self._meta
        if context is None:
            context = meta.context
        # The cached parts looked up here, without a call each (bench_store.py).
        if context is None:
            part = b""
        else:
            last, part = _last_context
            if last is not context:
                part = _cache_context(context)
        producer = meta.producer
        entry = _producer_parts.get(id(producer))
        if entry is None or entry[0] is not producer:
            entry = _cache_producer(producer)
        # The view, not a copy, of user values: the dict is serialised at once.
        fields = dumps_compact(self._fields_to_json(json_safe_view))
        return b"".join(
            (
                self._HEAD,
                dumps_compact(meta.record_id),
                entry[1],
                part,
                # The fields' object without its "{" (no fields: just the "}").
                b"," + fields[1:] + b"\n" if len(fields) > 2 else b"}\n",
            )
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str | bytes) -> Self:
        """Rebuild a record of this type from ``to_dict()`` output or its JSON text."""
        return cast(Self, load(data, cls))  # load() checked that it is a cls

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickling (worker queues, xdist) carries the travelling form, the same
        # as JSON: the live exception stays in its own process. A copy, not a
        # rewrite: the version the record was written in goes along.
        return _unpickle, (type(self), self.to_dict(), self._meta.schema_version)


def _unpickle(cls: type[R], data: dict[str, JsonValue], schema_version: str) -> R:
    record = cls.from_dict(data)
    object.__setattr__(record, "_meta", record._meta._replace(schema_version=schema_version))
    return record


# The producer part of recent lines, by the producer dict's identity: the
# records of one thread share one dict (``current_producer``). Each entry keeps
# its dict alive, so that no other dict can take its id. Bounded: a loaded
# record has a dict of its own, which is encoded each time.
_producer_parts: dict[int, tuple[dict[str, Any], bytes]] = {}
_PRODUCER_PARTS_MAX = 64


def _cache_producer(producer: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Encode ``producer``'s part of a line (``,"producer":{...}``) and keep it.

    Called by ``_json_line`` when ``_producer_parts`` has no entry for it.
    """
    entry = (producer, b',"producer":' + dumps_compact(json_safe_view(producer)))
    if len(_producer_parts) >= _PRODUCER_PARTS_MAX:
        _producer_parts.clear()
    _producer_parts[id(producer)] = entry
    return entry


# The context part of the last line written: a test's records share one context
# (a RecordContext is frozen: the same object always encodes the same way). One
# tuple, read and replaced whole, so threads never see half of an update.
_last_context: tuple[RecordContext | None, bytes] = (None, b"")


def _cache_context(context: RecordContext) -> bytes:
    """Encode ``context``'s part of a line (``,"context":{...}``) and keep it as the last.

    Called by ``_json_line`` when ``_last_context`` holds another context.
    """
    global _last_context
    part = b',"context":' + dumps_compact(context.to_dict())
    _last_context = (context, part)
    return part


def register(cls: type[R]) -> type[R]:
    """Class decorator: make ``cls`` a record type that ``load`` reads by its RECORD_TYPE."""
    cls._FIELDS = tuple(field.name for field in attrs.fields(cls))
    RECORD_TYPES[cls.RECORD_TYPE] = cls
    head: dict[str, JsonValue] = {"record_type": cls.RECORD_TYPE, "schema_version": SCHEMA_VERSION}
    cls._HEAD = dumps_compact(head)[:-1] + b',"record_id":'
    return cls


def load(data: Mapping[str, Any] | str | bytes, expected: type[Record] | None) -> Record:
    """Rebuild the record ``data`` holds (of type ``expected``, if given); FormatError if bad."""
    # The reader is imported on first use: it needs cattrs, the costliest import
    # in the package, which writing records never does.
    from ._parse import parse_record

    record, envelope = parse_record(data, expected, RECORD_TYPES)
    object.__setattr__(record, "_meta", envelope)
    return record
