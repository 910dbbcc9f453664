"""Rebuild records from their JSON form; every problem becomes a FormatError naming the field.

Imported on first use only (by ``_envelope.load``): cattrs is the costliest
import in the package. It imports nothing of the record classes' modules: the
caller hands it the registry of record types.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from .._jsonsafe import json_kind
from ..exceptions import FormatError, SchemaVersionError
from ._parts import Envelope, ExceptionInfo, RecordContext, WorktreeInfo, is_optional
from ._version import SCHEMA_MAJOR_RE, SCHEMA_VERSION_RE, SUPPORTED_MAJORS

if TYPE_CHECKING:
    from ._envelope import Record

# JSON nesting deeper than this is refused before it reaches the recursive parts.
_MAX_NESTING = 200


def _is_finite(value: float) -> bool:
    # An int beyond the range of a double is no finite number to JSON readers in
    # other languages, and one of over 4,300 digits cannot even be written back.
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return False
        return True
    return math.isfinite(value)


def _check_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {json_kind(value)}")


def _is_int(value: object) -> bool:
    # JSON does not tell 3 from 3.0 (JavaScript writes both as 3), and JSON
    # Schema's "integer" accepts both; so does this reader. A bool is no number.
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool) and _is_finite(value)


def _check_int(value: object, _: object) -> int:
    if isinstance(value, (int, float)) and _is_int(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"expected a finite integer, got {json_kind(value)}")
    raise TypeError(f"expected an integer, got {json_kind(value)}")


def _check_number(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {json_kind(value)}")
    if not _is_finite(value):
        raise ValueError(f"expected a finite number, got {json_kind(value)}")
    return value


def _check_bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {json_kind(value)}")


def _check_path(value: object, _: object) -> Path:
    if isinstance(value, str):
        return Path(value)
    raise TypeError(f"expected a string, got {json_kind(value)}")


def _check_object(value: object, _: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise TypeError(f"expected an object, got {json_kind(value)}")


def _is_choice(kind: Any) -> bool:
    origin: object = get_origin(kind)
    return origin is Literal


def _is_sequence_type(kind: Any) -> bool:
    return get_origin(kind) in (list, tuple)


@functools.lru_cache(maxsize=1)
def _converter() -> cattrs.Converter:
    # cattrs' defaults are lenient (str(5) for a string field, a string iterated
    # as a list); a record format has to say "wrong type" instead.
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_structure_hook(str, _check_str)
    converter.register_structure_hook(float, _check_number)
    converter.register_structure_hook(int, _check_int)
    converter.register_structure_hook(bool, _check_bool)  # (schema 1.2: environment.dirty)
    converter.register_structure_hook(Path, _check_path)  # (1.2: environment.worktree.path)
    converter.register_structure_hook_func(lambda kind: kind == dict[str, Any], _check_object)

    def structure_sequence(value: object, kind: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {json_kind(value)}")
        item_type = get_args(kind)[0]
        items = [converter.structure(item, item_type) for item in value]
        return tuple(items) if get_origin(kind) is tuple else items

    converter.register_structure_hook_func(_is_sequence_type, structure_sequence)

    def structure_choice(value: object, kind: Any) -> str:
        choices = get_args(kind)
        if isinstance(value, str) and value in choices:
            return value
        got = repr(value) if isinstance(value, str) else json_kind(value)
        raise ValueError(f"expected one of {', '.join(choices)}, got {got}")

    converter.register_structure_hook_func(_is_choice, structure_choice)
    converter.register_structure_hook_func(lambda kind: kind == Any, lambda value, _: value)

    # Records are Mappings too; without this cattrs would structure them as dicts.
    # Every attrs class (a record, or a part of one) is read from a JSON object only.
    def structure_attrs(kind: Any) -> Any:
        structure = make_dict_structure_fn(kind, converter)

        def from_object(value: object, _: Any) -> Any:
            return structure(_check_object(value, None), kind)

        return from_object

    converter.register_structure_hook_factory(attrs.has, structure_attrs)
    return converter


def _describe(error: BaseException, _: Any = None) -> str:
    if isinstance(error, KeyError):
        return "required field missing"
    return str(error)


def _problems(error: BaseException, field: str) -> list[str]:
    """Turn a cattrs error into ``"path.to.field: what is wrong"`` lines."""
    if not isinstance(error, (ClassValidationError, IterableValidationError)):
        return [f"{field}: {error}" if field else str(error)]
    problems = []
    for line in cattrs.transform_error(error, format_exception=_describe):
        message, _, path = line.rpartition(" @ $")
        path = ".".join(part for part in (field, path.lstrip(".")) if part)
        problems.append(f"{path}: {message}" if path else message)
    return problems


def _structure(value: Any, kind: Any, field: str = "") -> tuple[Any, list[str]]:
    """Return ``(result, [])``, or ``(None, problems)`` when ``value`` does not fit ``kind``."""
    converter = _converter()
    try:
        return converter.structure(value, kind), []
    except (ClassValidationError, IterableValidationError, TypeError, ValueError) as error:
        return None, _problems(error, field)


def _check_depth(value: Any, depth: int = 0) -> None:
    if depth > _MAX_NESTING:
        raise FormatError(f"record is nested deeper than {_MAX_NESTING} levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)


def _parse_object(data: Any) -> dict[str, Any]:
    if isinstance(data, (str, bytes, bytearray)):
        try:
            data = json.loads(data)
        except RecursionError:
            raise FormatError(f"record is nested deeper than {_MAX_NESTING} levels") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise FormatError(f"record is not JSON: {error}") from None
    elif isinstance(data, Mapping):
        data = dict(data)
    if not isinstance(data, dict):
        raise FormatError(f"record must be a JSON object, got {json_kind(data)}")
    _check_depth(data)
    return data


def _schema_version(data: dict[str, Any], problems: list[str]) -> str | None:
    """The record's schema version, or None and a problem; SchemaVersionError for another major.

    Only the leading major is common to the versions of every major (a later one
    may write ``"2.0.0"``): a major this release does not read is refused as
    such, before anything else is checked, since nothing else can be.
    """
    if "schema_version" not in data:
        problems.append("schema_version: required field missing")
        return None
    version = data["schema_version"]
    if not isinstance(version, str):
        problems.append(f"schema_version: expected a string, got {json_kind(version)}")
        return None
    supported = [str(major) for major in SUPPORTED_MAJORS]
    major = SCHEMA_MAJOR_RE.match(version)
    if major is not None and major.group(1) not in supported:
        raise SchemaVersionError(version, supported)
    if SCHEMA_VERSION_RE.fullmatch(version) is None:
        problems.append(f"schema_version: expected 'MAJOR.MINOR', got {version!r}")
        return None
    return version


# Said of a record whose type is missing or unknown: its fields have no rules here.
_UNCHECKED = " (so the record's fields were not checked)"


def _record_class(
    data: dict[str, Any],
    expected: type[Record] | None,
    types: Mapping[str, type[Record]],
    problems: list[str],
) -> type[Record] | None:
    """The class of the record's own type (None if unknown), with a problem if not ``expected``."""
    if "record_type" not in data:
        problems.append(f"record_type: required field missing{_UNCHECKED}")
        return None
    record_type = data["record_type"]
    cls = types.get(record_type) if isinstance(record_type, str) else None
    if cls is None:
        got = repr(record_type) if isinstance(record_type, str) else json_kind(record_type)
        problems.append(
            f"record_type: expected one of {', '.join(sorted(types))}, got {got}{_UNCHECKED}"
        )
    elif expected is not None and cls is not expected:
        # Its fields are still checked, by the rules of the type it says it is.
        problems.append(
            f"record_type: expected {expected.RECORD_TYPE!r}, got {record_type!r}"
            " (use itest_shared.load_record to read any record type)"
        )
    return cls


def _envelope_problems(data: dict[str, Any]) -> list[str]:
    problems = []
    record_id = data.get("record_id")
    if "record_id" not in data:
        problems.append("record_id: required field missing")
    elif not isinstance(record_id, str) or not record_id:
        problems.append(f"record_id: expected a non-empty string, got {json_kind(record_id)}")
    producer = data.get("producer")
    if "producer" not in data:
        problems.append("producer: required field missing")
    elif not isinstance(producer, dict):
        problems.append(f"producer: expected an object, got {json_kind(producer)}")
    else:
        for key, expected in (
            ("package_version", str),
            ("pid", int),
            ("thread_id", int),
            ("thread_name", str),
        ):
            value = producer.get(key)
            if key not in producer:
                problems.append(f"producer.{key}: required field missing")
            elif not (_is_int(value) if expected is int else isinstance(value, str)):
                problems.append(
                    f"producer.{key}: expected {'an integer' if expected is int else 'a string'},"
                    f" got {json_kind(value)}"
                )
    return problems


def _optional_str(data: dict[str, Any], key: str, path: str, problems: list[str]) -> str | None:
    value = data.get(key)
    if key not in data:
        problems.append(f"{path}.{key}: required field missing")
    elif value is not None and not isinstance(value, str):
        problems.append(f"{path}.{key}: expected a string or null, got {json_kind(value)}")
        return None
    return value


def _worktree(value: object, problems: list[str]) -> WorktreeInfo | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f"context.worktree: expected an object or null, got {json_kind(value)}")
        return None
    before = len(problems)
    path = value.get("path")
    if "path" not in value:
        problems.append("context.worktree.path: required field missing")
    elif not isinstance(path, str):
        problems.append(f"context.worktree.path: expected a string, got {json_kind(path)}")
    branch = _optional_str(value, "branch", "context.worktree", problems)
    commit = _optional_str(value, "commit", "context.worktree", problems)
    if len(problems) > before:
        return None
    return WorktreeInfo(path=path, branch=branch, commit=commit)


def _context(data: dict[str, Any], problems: list[str]) -> RecordContext | None:
    """Read the envelope key ``context`` (schema 1.1); missing or null is no context."""
    value = data.get("context")
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f"context: expected an object or null, got {json_kind(value)}")
        return None
    # Keys this release does not know are ignored: a later 1.x may add some.
    before = len(problems)
    test = _optional_str(value, "test", "context", problems)
    run_id = _optional_str(value, "run_id", "context", problems)
    if "worktree" not in value:
        problems.append("context.worktree: required field missing")
    worktree = _worktree(value.get("worktree"), problems)
    if len(problems) > before:
        return None
    return RecordContext(test=test, run_id=run_id, worktree=worktree)


def parse_record(
    data: Any, expected: type[Record] | None, types: Mapping[str, type[Record]]
) -> tuple[Record, Envelope]:
    """Validate ``data`` and rebuild its record and envelope; FormatError names each problem.

    ``types`` maps each known record_type to its class; ``expected``, if given,
    is the only one accepted.
    """
    obj = _parse_object(data)
    problems: list[str] = []
    version = _schema_version(obj, problems)
    cls = _record_class(obj, expected, types, problems)
    problems += _envelope_problems(obj)
    context = _context(obj, problems)
    if cls is None:
        raise FormatError("; ".join(problems))

    # The rule for fields: every field a record type has when it first appears
    # (1.0 for the first three types, 1.1 for timing_stats) is required, since
    # every writer of that type writes it: a record without one was truncated or
    # hand-edited. A field a later minor adds is marked optional (``_parts.OPTIONAL``);
    # records of earlier minors lack it and get its default.
    # The envelope key "context" (1.1) is optional in the same way.
    names = [field.name for field in attrs.fields(cls)]
    problems += [
        f"{field.name}: required field missing"
        for field in attrs.fields(cls)
        if field.name not in obj and not is_optional(field)
    ]
    fields = {name: obj[name] for name in names if name in obj}
    info: ExceptionInfo | None = None
    if "original_error" in fields:
        # The live exception stays behind in its process; what travelled is its
        # description, which the loaded record keeps as ``error_info``.
        info, more = _structure(fields["original_error"], ExceptionInfo | None, "original_error")
        problems += more
        fields["original_error"] = None
    # Structured even when something is already wrong, so that one FormatError
    # names every problem; cattrs repeats missing fields, hence the dedupe.
    record, more = _structure(fields, cls)
    problems += more
    if problems or version is None:  # (a record without a valid version has a problem)
        raise FormatError("; ".join(dict.fromkeys(problems)))
    envelope = Envelope(
        schema_version=version,
        record_id=obj["record_id"],
        producer=dict(obj["producer"]),
        error_info=info,
        context=context,
    )
    return record, envelope
