"""The values records are built from, besides plain JSON: exception descriptions, the
context envelope key, the envelope a record keeps for life, and the field marker.

Both the reader (``_parse``) and the records import these; they import nothing
of the records, so the reader never needs the record classes' module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

import attrs

from .._jsonsafe import JsonValue

#: attrs field metadata key marking a field that a later schema minor added:
#: records of earlier minors lack it, and load with the field's default. Every
#: other field of a record type is required when reading (CONTRIBUTING.md).
OPTIONAL: Final = "itest_shared.optional"


def is_optional(field: attrs.Attribute[Any]) -> bool:
    """Whether records of earlier schema minors may lack ``field``."""
    return bool(field.metadata.get(OPTIONAL, False))


# How far an exception chain is followed; deeper links are dropped. Chains this
# long come from bugs (an error handler re-raising in a loop), not from tests.
_MAX_CHAIN_DEPTH = 64


@attrs.frozen
class ExceptionInfo:
    """What can travel of an exception: its qualified type, message and chain."""

    type: str
    message: str
    cause: ExceptionInfo | None = None
    context: ExceptionInfo | None = None
    exceptions: tuple[ExceptionInfo, ...] = ()

    @classmethod
    def from_exception(cls, error: BaseException) -> ExceptionInfo:
        """Describe ``error``, following ``__cause__``, ``__context__`` and group members."""
        return _describe(error, set(), 0)

    @property
    def type_name(self) -> str:
        """The unqualified type name, as in ``ErrorContext.error_type``."""
        return self.type.rpartition(".")[2]

    def walk(self) -> Iterator[ExceptionInfo]:
        """Yield this exception, then its cause, context and group members, depth first."""
        yield self
        for link in (self.cause, self.context):
            if link is not None:
                yield from link.walk()
        for member in self.exceptions:
            yield from member.walk()

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON form."""
        return {
            "type": self.type,
            "message": self.message,
            "cause": None if self.cause is None else self.cause.to_dict(),
            "context": None if self.context is None else self.context.to_dict(),
            "exceptions": [member.to_dict() for member in self.exceptions],
        }


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        # A broken __str__ must not hide the error we are trying to record.
        return f"<unprintable {type(error).__name__} object>"


def _describe(error: BaseException, seen: set[int], depth: int) -> ExceptionInfo:
    seen.add(id(error))

    def link(other: BaseException | None) -> ExceptionInfo | None:
        # __context__ can point back into the chain (an error re-raised inside its
        # own handler); `seen` stops the cycle.
        if other is None or id(other) in seen or depth >= _MAX_CHAIN_DEPTH:
            return None
        return _describe(other, seen, depth + 1)

    cause = link(error.__cause__)
    # Python prints the context only when it is not suppressed and is not the
    # cause itself; record the same chain a reader of the traceback sees.
    context = None
    if not error.__suppress_context__ and error.__context__ is not error.__cause__:
        context = link(error.__context__)
    members: tuple[ExceptionInfo, ...] = ()
    if isinstance(error, BaseExceptionGroup):
        members = tuple(m for m in map(link, error.exceptions) if m is not None)
    kind = type(error)
    return ExceptionInfo(
        type=f"{kind.__module__}.{kind.__qualname__}",
        message=_message(error),
        cause=cause,
        context=context,
        exceptions=members,
    )


# --- the "context" envelope key (schema 1.1) -----------------------------------


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


class Envelope(NamedTuple):
    """What a record keeps for life besides its fields (see ``Record``)."""

    #: The schema the record was written in: SCHEMA_VERSION for a record made in
    #: this process, the record's own for a loaded one (``"1.0"``, ``"1.7"``...).
    schema_version: str
    record_id: str
    producer: dict[str, Any]
    #: The travelling description of an ErrorContext's exception; None otherwise.
    error_info: ExceptionInfo | None
    context: RecordContext | None
