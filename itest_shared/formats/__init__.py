"""The canonical records: ErrorContext, ConfigChangeEvent, ResourceRecord, TimingStatsRecord,
TestResultRecord and EnvironmentRecord.

Each record is a frozen, slotted attrs class whose fields are exactly the
documented ones. It also reads like the documented dict (``ctx["source_module"]``,
``"released_at" in res``), because code in many worktrees was written against
that shape. ``to_dict()`` adds the envelope (record type, schema version, record
id, producer and, from schema 1.1, an optional context); ``from_dict()`` /
``load_record()`` rebuild a record from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, get_args

import attrs

from .._jsonsafe import JsonValue, json_kind, to_json_safe
from ._envelope import RECORD_TYPES as RECORD_TYPES
from ._envelope import Record, load, register
from ._fields import check_nonempty_str as _check_nonempty_str
from ._fields import check_optional_timestamp as _check_optional_timestamp
from ._fields import check_seconds as _check_seconds
from ._fields import check_str_list as _check_str_list
from ._fields import check_timestamp as _check_timestamp
from ._fields import copy_dict as _copy_dict
from ._fields import copy_list as _copy_list
from ._parts import ExceptionInfo, RecordContext, WorktreeInfo
from ._parts import is_optional as is_optional
from ._results import MAX_MESSAGE as MAX_MESSAGE
from ._results import TEST_OUTCOMES as TEST_OUTCOMES
from ._results import TEST_PHASES as TEST_PHASES
from ._results import EnvironmentRecord, FailureSummary, TestResultRecord
from ._results import cut_message as cut_message
from ._version import SCHEMA_MAJOR_RE as SCHEMA_MAJOR_RE
from ._version import SCHEMA_VERSION
from ._version import SCHEMA_VERSION_RE as SCHEMA_VERSION_RE
from ._version import SUPPORTED_MAJORS as SUPPORTED_MAJORS
from ._version import package_version as package_version

if TYPE_CHECKING:
    from ..perf import TimingStats

__all__ = [
    "SCHEMA_VERSION",
    "ConfigChangeEvent",
    "EnvironmentRecord",
    "ErrorContext",
    "ExceptionInfo",
    "FailureSummary",
    "Record",
    "RecordContext",
    "ResourceRecord",
    "TestResultRecord",
    "TimingStatsRecord",
    "WorktreeInfo",
    "load_record",
]

ResourceState = Literal["active", "released", "leaked"]
RESOURCE_STATES: tuple[str, ...] = get_args(ResourceState)

# --- field checks shared by the records -------------------------------------

_str = attrs.validators.instance_of(str)


def _copy_context_data(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {key: _copy_list(item) for key, item in value.items()}


def _check_context_data(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"context_data must be a dict, got {value!r}")
    for key in ("traceback", "call_stack"):
        items = value.get(key)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise TypeError(f"context_data[{key!r}] must be a list of strings, got {items!r}")


# --- the records --------------------------------------------------------------


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class ErrorContext(Record):
    """An error that crossed a module boundary, with its traceback and call stack."""

    RECORD_TYPE: ClassVar[str] = "error_context"

    source_module: str = attrs.field(validator=_str)
    target_module: str = attrs.field(validator=_str)
    operation: str = attrs.field(validator=_str)
    # Identity is not data: two contexts are equal when everything that travels is.
    original_error: BaseException | None = attrs.field(
        eq=False,
        validator=attrs.validators.optional(attrs.validators.instance_of(BaseException)),
    )
    error_type: str = attrs.field(validator=_str)
    error_message: str = attrs.field(validator=_str)
    timestamp: float = attrs.field(validator=_check_timestamp)
    context_data: dict[str, Any] = attrs.field(
        converter=_copy_context_data, validator=_check_context_data
    )

    def __attrs_post_init__(self) -> None:
        error = self.original_error
        self._init_meta(None if error is None else ExceptionInfo.from_exception(error))

    @property
    def error_info(self) -> ExceptionInfo | None:
        """The travelling description of ``original_error``; kept after loading."""
        return self._meta.error_info

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        info = self.error_info
        return {
            "source_module": self.source_module,
            "target_module": self.target_module,
            "operation": self.operation,
            "original_error": None if info is None else info.to_dict(),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "timestamp": self.timestamp,
            "context_data": safe(self.context_data),
        }


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class ConfigChangeEvent(Record):
    """One configuration change and the modules it affects."""

    RECORD_TYPE: ClassVar[str] = "config_change"

    config_path: str = attrs.field(validator=_str)
    old_value: Any
    new_value: Any
    affected_modules: list[str] = attrs.field(converter=_copy_list, validator=_check_str_list)
    timestamp: float = attrs.field(validator=_check_timestamp)

    def __attrs_post_init__(self) -> None:
        self._init_meta()

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        return {
            "config_path": self.config_path,
            "old_value": safe(self.old_value),
            "new_value": safe(self.new_value),
            "affected_modules": list(self.affected_modules),
            "timestamp": self.timestamp,
        }


def _check_state(inst: ResourceRecord, _: attrs.Attribute[Any], value: object) -> None:
    if value not in RESOURCE_STATES:
        raise ValueError(f"state must be one of {', '.join(RESOURCE_STATES)}; got {value!r}")


def _check_released_at(
    inst: ResourceRecord, attribute: attrs.Attribute[Any], value: object
) -> None:
    _check_optional_timestamp(inst, attribute, value)
    if (value is None) != (inst.state != "released"):
        raise ValueError(
            f"released_at must be set exactly when state is 'released'"
            f" (state={inst.state!r}, released_at={value!r})"
        )


def _check_metadata(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"metadata must be a dict, got {value!r}")


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class ResourceRecord(Record):
    """The life of one tracked resource: who owns it, when it was made and released."""

    RECORD_TYPE: ClassVar[str] = "resource"

    resource_id: str = attrs.field(validator=_str)
    resource_type: str = attrs.field(validator=_str)
    owner_module: str = attrs.field(validator=_str)
    created_at: float = attrs.field(validator=_check_timestamp)
    state: ResourceState = attrs.field(default="active", validator=_check_state)
    metadata: dict[str, Any] = attrs.field(
        factory=dict, converter=_copy_dict, validator=_check_metadata
    )
    released_at: float | None = attrs.field(default=None, validator=_check_released_at)

    def __attrs_post_init__(self) -> None:
        self._init_meta()

    def _keys(self) -> tuple[str, ...]:
        # As in the documented dict, "released_at" is there only once released.
        return self._FIELDS if self.released_at is not None else self._FIELDS[:-1]

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        return {
            "resource_id": self.resource_id,
            "resource_type": self.resource_type,
            "owner_module": self.owner_module,
            "created_at": self.created_at,
            "state": self.state,
            "metadata": safe(self.metadata),
            "released_at": self.released_at,
        }


#: The largest ``count`` a timing_stats record may hold: more timings than any
#: run makes, and small enough that readers in other languages (a uint64) and the
#: report's sums stay exact. (1.5)
MAX_COUNT: Final = 2**64


def _check_count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"count must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"count must be an int >= 1, got {value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"count must be an int from 1 to 2**64, got {json_kind(value)}")


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class TimingStatsRecord(Record):
    """The timing statistics of one operation measured during a test (seconds).

    The fields are those of :class:`~itest_shared.perf.TimingStats`, plus the
    ``timestamp`` (epoch seconds) when the statistics were taken.

    .. versionadded:: 1.2 (schema 1.1)
    """

    RECORD_TYPE: ClassVar[str] = "timing_stats"

    operation: str = attrs.field(validator=_check_nonempty_str)
    count: int = attrs.field(validator=_check_count)
    total: float = attrs.field(validator=_check_seconds)
    average: float = attrs.field(validator=_check_seconds)
    min: float = attrs.field(validator=_check_seconds)
    max: float = attrs.field(validator=_check_seconds)
    median: float = attrs.field(validator=_check_seconds)
    p95: float = attrs.field(validator=_check_seconds)
    p99: float = attrs.field(validator=_check_seconds)
    stdev: float = attrs.field(validator=_check_seconds)
    timestamp: float = attrs.field(validator=_check_timestamp)

    def __attrs_post_init__(self) -> None:
        self._init_meta()

    @classmethod
    def from_stats(cls, stats: TimingStats, timestamp: float | None = None) -> TimingStatsRecord:
        """Make the record of ``stats``, taken at ``timestamp`` (default: now, epoch seconds)."""
        # Read by field name: the records do not import the performance monitor
        # (helpers import records, never the other way round).
        names = [field.name for field in attrs.fields(cls) if field.name != "timestamp"]
        if not all(hasattr(stats, name) for name in names):
            raise TypeError(f"stats must be a TimingStats, got {type(stats).__name__}")
        values = {name: getattr(stats, name) for name in names}
        return cls(**values, timestamp=time.time() if timestamp is None else timestamp)

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        return {name: getattr(self, name) for name in self._FIELDS}


def load_record(data: Mapping[str, Any] | str | bytes) -> Record:
    """Rebuild whichever record ``data`` (a dict or JSON text) holds, by its record type."""
    return load(data, None)
