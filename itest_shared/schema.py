"""The JSON Schema (draft 2020-12) of each record type's JSON form, envelope included.

For readers in other languages and for tools that validate record files. The
schemas say what :func:`itest_shared.load_record` accepts, with the same
required keys; what JSON Schema cannot say (nesting deeper than 200 levels,
NaN and infinities, which strict JSON cannot hold anyway) is checked by the
reader only.

Each schema's ``$id`` is
``https://itest-shared.invalid/schema/<SCHEMA_VERSION>/<record_type>.json``: an
identifier, not an address (the ``.invalid`` top-level domain never resolves,
so nothing fetches it). It changes with the schema version this
release writes; every schema accepts any ``1.x`` ``schema_version``, and unknown
keys, as the reader does (a later minor may add optional ones).

The field lists come from the record classes (``attrs.fields``); a field
without an entry in :data:`_FIELD_SCHEMAS` makes :func:`json_schema` raise, so
adding a field to a record without describing it here fails the tests.

.. versionadded:: 1.2
"""

from __future__ import annotations

import copy
from typing import Any, Final

import attrs

from .formats import (
    MAX_COUNT,
    RECORD_TYPES,
    RESOURCE_STATES,
    SCHEMA_VERSION,
    SUPPORTED_MAJORS,
    TEST_OUTCOMES,
    TEST_PHASES,
    ExceptionInfo,
    Record,
    is_optional,
)

__all__ = ["SCHEMA_ID_BASE", "json_schema", "json_schemas"]

#: Prefix of every schema's ``$id``; see the module docstring.
SCHEMA_ID_BASE: Final = "https://itest-shared.invalid/schema"

_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_STRING: Final[dict[str, Any]] = {"type": "string"}
_TIMESTAMP: Final[dict[str, Any]] = {"type": "number", "description": "epoch seconds"}
_SECONDS: Final[dict[str, Any]] = {"type": "number", "minimum": 0, "description": "seconds"}
_STRINGS: Final[dict[str, Any]] = {"type": "array", "items": {"type": "string"}}
_ANY: Final[dict[str, Any]] = {"description": "any JSON value"}
_OPTIONAL_STRING: Final[dict[str, Any]] = {"type": ["string", "null"]}
_OPTIONAL_SECONDS: Final[dict[str, Any]] = {
    "type": ["number", "null"],
    "minimum": 0,
    "description": "seconds; null for a phase that did not run",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


# One entry per attrs field of each record class, in the JSON form the class
# writes (its _fields_to_json). Keyed by record type: "operation" is any string
# in an error context but a non-empty one in timing statistics.
_FIELD_SCHEMAS: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "error_context": {
        "source_module": _STRING,
        "target_module": _STRING,
        "operation": _STRING,
        "original_error": _nullable(_ref("exception_info")),
        "error_type": _STRING,
        "error_message": _STRING,
        "timestamp": _TIMESTAMP,
        "context_data": {
            "type": "object",
            "properties": {"traceback": _STRINGS, "call_stack": _STRINGS},
            "required": ["traceback", "call_stack"],
        },
    },
    "config_change": {
        "config_path": _STRING,
        "old_value": _ANY,
        "new_value": _ANY,
        "affected_modules": _STRINGS,
        "timestamp": _TIMESTAMP,
    },
    "resource": {
        "resource_id": _STRING,
        "resource_type": _STRING,
        "owner_module": _STRING,
        "created_at": _TIMESTAMP,
        "state": {"enum": list(RESOURCE_STATES)},
        "metadata": {"type": "object"},
        "released_at": {"type": ["number", "null"], "description": "epoch seconds"},
    },
    "timing_stats": {
        "operation": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
        **{
            name: _SECONDS
            for name in ("total", "average", "min", "max", "median", "p95", "p99", "stdev")
        },
        "timestamp": _TIMESTAMP,
    },
    "test_result": {
        "node_id": {"type": "string", "minLength": 1},
        "outcome": {"enum": list(TEST_OUTCOMES)},
        "setup_duration": _OPTIONAL_SECONDS,
        "call_duration": _OPTIONAL_SECONDS,
        "teardown_duration": _OPTIONAL_SECONDS,
        "failed_phase": {"enum": [*TEST_PHASES, None]},
        "failure": _nullable(_ref("failure")),
        "markers": _STRINGS,
        "worker": _OPTIONAL_STRING,
        "rerun": {"type": "integer", "minimum": 0},
        "timestamp": _TIMESTAMP,
    },
    "environment": {
        "host": _STRING,
        "os": _STRING,
        "cpu_model": _OPTIONAL_STRING,
        "cpu_count": {"type": ["integer", "null"], "minimum": 1},
        "python_version": _STRING,
        "python_implementation": _STRING,
        "python_build": _STRING,
        "packages": {"type": "object", "additionalProperties": _STRING},
        "worktree": _nullable(_ref("worktree")),
        "dirty": {"type": ["boolean", "null"]},
        "tree_hash": _OPTIONAL_STRING,
        "worker": _OPTIONAL_STRING,
        "timestamp": _TIMESTAMP,
    },
}

# Rules between fields, which the record classes check too.
_RULES: Final[dict[str, list[dict[str, Any]]]] = {
    "resource": [
        {
            "if": {"properties": {"state": {"const": "released"}}, "required": ["state"]},
            "then": {"properties": {"released_at": {"type": "number"}}},
            "else": {"properties": {"released_at": {"type": "null"}}},
        }
    ],
    "test_result": [
        {
            "if": {
                "properties": {"outcome": {"enum": ["failed", "error"]}},
                "required": ["outcome"],
            },
            "then": {"properties": {"failed_phase": {"enum": list(TEST_PHASES)}}},
            "else": {"properties": {"failed_phase": {"type": "null"}}},
        }
    ],
}

_ENVELOPE_REQUIRED: Final = ("record_type", "schema_version", "record_id", "producer")


def _schema_version_pattern() -> str:
    # The reader's rule: a supported major, any minor of up to nine digits.
    majors = "|".join(str(major) for major in SUPPORTED_MAJORS)
    return f"^({majors})\\.(0|[1-9][0-9]{{0,8}})$"


def _exception_info() -> dict[str, Any]:
    required = [f.name for f in attrs.fields(ExceptionInfo) if f.default is attrs.NOTHING]
    return {
        "type": "object",
        "description": "An exception as it travels: qualified type, message and chain.",
        "properties": {
            "type": {"type": "string", "description": "qualified type, e.g. builtins.ValueError"},
            "message": _STRING,
            "cause": _nullable(_ref("exception_info")),
            "context": _nullable(_ref("exception_info")),
            "exceptions": {"type": "array", "items": _ref("exception_info")},
        },
        "required": required,
    }


def _defs() -> dict[str, Any]:
    optional_string = {"type": ["string", "null"]}
    return {
        "producer": {
            "type": "object",
            "description": "The process and thread that made the record.",
            "properties": {
                "package_version": _STRING,
                "pid": {"type": "integer"},
                "thread_id": {"type": "integer"},
                "thread_name": _STRING,
            },
            "required": ["package_version", "pid", "thread_id", "thread_name"],
        },
        "context": {
            "type": "object",
            "description": "Where the record was made: test node id, run id, worktree (1.1).",
            "properties": {
                "test": optional_string,
                "run_id": optional_string,
                "worktree": _nullable(_ref("worktree")),
            },
            "required": ["test", "run_id", "worktree"],
        },
        "worktree": {
            "type": "object",
            "description": "The worktree's top folder, branch and commit (null if unknown).",
            "properties": {"path": _STRING, "branch": optional_string, "commit": optional_string},
            "required": ["path", "branch", "commit"],
        },
        "exception_info": _exception_info(),
        "failure": {
            "type": "object",
            "description": "Why a test did not pass: exception type, message, crash place (1.2).",
            "properties": {
                "exception_type": {"type": "string", "minLength": 1},
                "message": _STRING,
                "location": _OPTIONAL_STRING,
                "longrepr": _OPTIONAL_STRING,
            },
            "required": ["exception_type", "message", "location", "longrepr"],
        },
    }


def _record_class(record_type: object) -> type[Record]:
    if not isinstance(record_type, str):
        raise TypeError(f"record_type must be a str, got {record_type!r}")
    cls = RECORD_TYPES.get(record_type)
    if cls is None:
        raise ValueError(
            f"record_type must be one of {', '.join(sorted(RECORD_TYPES))}; got {record_type!r}"
        )
    return cls


def json_schema(record_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one record type's JSON form, envelope included."""
    cls = _record_class(record_type)
    described = _FIELD_SCHEMAS.get(record_type, {})
    fields = attrs.fields(cls)
    names = [field.name for field in fields]
    missing = [name for name in names if name not in described]
    if missing:
        # A field added to the class but not here: a bug in this module, not bad input.
        raise RuntimeError(f"no JSON Schema for {record_type} fields: {', '.join(missing)}")
    properties: dict[str, Any] = {
        "record_type": {"const": record_type},
        "schema_version": {"type": "string", "pattern": _schema_version_pattern()},
        "record_id": {"type": "string", "minLength": 1},
        "producer": _ref("producer"),
        "context": _nullable(_ref("context")),
    }
    properties.update({name: described[name] for name in names})
    required = [*_ENVELOPE_REQUIRED, *(f.name for f in fields if not is_optional(f))]
    schema: dict[str, Any] = {
        "$schema": _DIALECT,
        "$id": f"{SCHEMA_ID_BASE}/{SCHEMA_VERSION}/{record_type}.json",
        "title": f"itest-shared {cls.__name__} record (schema {SCHEMA_VERSION})",
        "description": (cls.__doc__ or "").strip().splitlines()[0],
        "type": "object",
        "properties": properties,
        "required": required,
        # Forward compatible, like the reader: a later 1.x may add optional keys.
        "additionalProperties": True,
        "$defs": _defs(),
    }
    if record_type in _RULES:
        schema["allOf"] = _RULES[record_type]
    # The building blocks above are shared constants; hand out a private copy.
    return copy.deepcopy(schema)


def json_schemas() -> dict[str, dict[str, Any]]:
    """record_type -> JSON Schema, for every record type, sorted by name."""
    return {record_type: json_schema(record_type) for record_type in sorted(RECORD_TYPES)}
