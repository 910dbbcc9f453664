"""What every serialised record carries besides its fields, and the Record base class.

The envelope: record type, schema version, record id, producer and (schema 1.1)
the optional context. The record classes themselves are in ``formats``, which
re-exports everything here that users need.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, Self, TypeVar, cast

import attrs

from ._jsonsafe import JsonValue, to_json_safe
from ._mapping import AttributeMapping

R = TypeVar("R", bound="Record")

#: The schema every record is written in. MAJOR.MINOR; see CONTRIBUTING.md.
SCHEMA_VERSION: Final = "1.1"
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


# --- the "context" envelope key (schema 1.1) -----------------------------------
# WorktreeInfo and RecordContext are re-exported by ``formats``, the module users
# import them from; they live here because they are envelope, not record fields.


def _to_path(value: object) -> object:
    # A str (or os.PathLike) becomes a Path; anything else is left for the
    # validator to refuse with a message naming the field.
    if isinstance(value, str | os.PathLike):
        return Path(value)
    return value


def _check_path(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Path):
        raise TypeError(f"worktree.path must be a pathlib.Path (or a str), got {value!r}")


def _optional_str(owner: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{owner}.{attribute.name} must be a str or None, got {value!r}")

    return check


@attrs.frozen
class WorktreeInfo:
    """Which worktree a directory belongs to: its top folder, branch and commit."""

    #: Top folder of the worktree (``git rev-parse --show-toplevel``); the start dir outside git.
    path: Path = attrs.field(converter=_to_path, validator=_check_path)
    #: Checked-out branch (also before its first commit); ``None`` when detached or outside git.
    branch: str | None = attrs.field(validator=_optional_str("worktree"))
    #: Full commit id of HEAD; ``None`` when the branch is unborn or outside git.
    commit: str | None = attrs.field(validator=_optional_str("worktree"))

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON form: ``{"path": str, "branch": str | None, "commit": str | None}``."""
        return {"path": str(self.path), "branch": self.branch, "commit": self.commit}


def _check_worktree(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, WorktreeInfo):
        raise TypeError(f"context.worktree must be a WorktreeInfo or None, got {value!r}")


@attrs.frozen
class RecordContext:
    """Where a record was made: the test, the test run and the worktree.

    Written as the optional envelope key ``"context"``; records made outside a
    recorded test have none.

    .. versionadded:: 1.2 (schema 1.1)
    """

    #: The pytest node id, e.g. ``"tests/test_x.py::test_y[1]"``.
    test: str | None = attrs.field(default=None, validator=_optional_str("context"))
    #: The test run's id, shared by the pytest-xdist workers of one run.
    run_id: str | None = attrs.field(default=None, validator=_optional_str("context"))
    #: The worktree the test ran in.
    worktree: WorktreeInfo | None = attrs.field(default=None, validator=_check_worktree)

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON form: ``test``, ``run_id`` and ``worktree`` (an object or null)."""
        return {
            "test": self.test,
            "run_id": self.run_id,
            "worktree": None if self.worktree is None else self.worktree.to_dict(),
        }


# --- the base of every record ------------------------------------------------------


class Record(AttributeMapping):
    """Base of the canonical records: dict-style reading, envelope and JSON form."""

    # Not an attrs field on purpose: the fields are exactly the documented ones.
    # Holds (record_id, producer, extra, context): the envelope a record keeps
    # for life. Being outside the attrs fields, it takes no part in ==, and
    # attrs.evolve() (which calls the class) makes a new record: new id, no context.
    __slots__ = ("_meta",)

    RECORD_TYPE: ClassVar[str]
    _FIELDS: ClassVar[tuple[str, ...]]
    #: Fields a later schema minor added: records of earlier minors lack them and
    #: load with the field's default. Every other field is required when reading.
    _OPTIONAL_FIELDS: ClassVar[frozenset[str]] = frozenset()
    _meta: tuple[str, dict[str, Any], Any, RecordContext | None]

    def _init_meta(self, extra: Any = None) -> None:
        object.__setattr__(self, "_meta", (new_record_id(), current_producer(), extra, None))

    # Mapping protocol (AttributeMapping): the documented keys, read as attributes.
    def _keys(self) -> tuple[str, ...]:
        return self._FIELDS

    @property
    def record_id(self) -> str:
        """The id this record keeps through serialisation, unique across processes."""
        return self._meta[0]

    @property
    def producer(self) -> dict[str, Any]:
        """Who made the record: package version, pid, thread id and thread name."""
        return dict(self._meta[1])

    @property
    def schema_version(self) -> str:
        """The schema the record is written in."""
        return SCHEMA_VERSION

    @property
    def context(self) -> RecordContext | None:
        """The test, run and worktree the record was made in; ``None`` outside a recorded test.

        .. versionadded:: 1.2 (schema 1.1; records of schema 1.0 load with ``None``)
        """
        return self._meta[3]

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
        record_id, producer, extra, _ = self._meta
        object.__setattr__(copy, "_meta", (record_id, producer, extra, context))
        return copy

    def _fields_to_json(self) -> dict[str, JsonValue]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON-safe documented shape plus the envelope."""
        envelope: dict[str, JsonValue] = {
            "record_type": self.RECORD_TYPE,
            "schema_version": SCHEMA_VERSION,
            "record_id": self.record_id,
            "producer": to_json_safe(self._meta[1]),
        }
        context = self._meta[3]
        if context is not None:  # schema 1.1: only records made in a recorded test have one
            envelope["context"] = context.to_dict()
        envelope.update(self._fields_to_json())
        return envelope

    def to_json(self) -> str:
        """Return the record as one line of JSON."""
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any] | str | bytes) -> R:
        """Rebuild a record of this type from ``to_dict()`` output or its JSON text."""
        from ._parse import parse_record

        return cast(R, parse_record(data, cls))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickling (worker queues, xdist) carries the travelling form, the same
        # as JSON: the live exception stays in its own process.
        from .formats import load_record

        return load_record, (self.to_dict(),)
