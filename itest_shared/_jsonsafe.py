"""Turn any Python value into a JSON-safe one, never failing.

Records carry user values (``old_value``, ``new_value``, ``metadata``, extra
``context_data``) that may hold anything; serialising a record must not crash on
them. The rules, documented in the README ("What non-JSON values become"):

* ``None``, ``bool``, ``int``, ``str`` and finite ``float`` stay as they are
  (subclasses such as ``IntEnum`` become the plain base value);
* a non-finite float becomes ``{"$type": "float", "value": "nan" | "inf" | "-inf"}``
  (JSON has no NaN; writing it would make invalid JSON);
* list and tuple become a list; set and frozenset a list sorted by each item's
  JSON text, so the same set always serialises the same way;
* a mapping becomes an object; keys that are not strings become their JSON text
  (``1`` -> ``"1"``, ``None`` -> ``"null"``) or, failing that, their ``repr``;
  if two keys collide that way, the later one wins;
* bytes, bytearray and memoryview become ``{"$type": "bytes", "base64": ...}``;
* a path (``os.PathLike``) becomes its string;
* anything else becomes ``{"$type": "<module>.<qualname>", "repr": repr(value)}``
  (the repr cut to 2,000 characters; ``"<unrepresentable>"`` if repr raises);
* a container that contains itself becomes ``{"$type": "cycle", "repr": ...}`` at
  the point it recurs, and nesting deeper than 100 levels becomes
  ``{"$type": "truncated", "repr": ...}``; an object of the shape of these tagged
  forms (a string ``"$type"``, only string values) is kept as it is at any depth.

So converting what this module returned gives it back unchanged, and a record
loaded and written again is the same line.

The other way, :func:`loads_strict` reads JSON as RFC 8259 defines it (no NaN or
Infinity), for the store and the shared files alike.

Both directions go through orjson where it gives exactly what the standard
library would (the store writes and reads every record through here: five to ten
times faster, ``benchmarks/bench_store.py``), and through :mod:`json` for the rest.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn, TypeAlias

import orjson

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None

MAX_DEPTH = 100
MAX_REPR = 2000
# Integers from this size on are named by their number of digits in messages.
_LONG = 10**30


def to_json_safe(value: Any) -> JsonValue:
    """Return a JSON-safe rendering of ``value`` following the rules of this module."""
    return _convert(value, set(), 0)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        return "<unrepresentable>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "...<truncated>"


def _tagged(value: Any, tag: str | None = None) -> dict[str, JsonValue]:
    return {"$type": tag or _qualified_name(type(value)), "repr": _safe_repr(value)}


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if (
        key is None
        or isinstance(key, (bool, int))
        or (isinstance(key, float) and math.isfinite(key))
    ):
        return json.dumps(_convert(key, set(), 0))
    return _safe_repr(key)


def _is_tagged(value: object) -> bool:
    """Whether ``value`` has the shape of a tagged form: a str ``$type``, only str values."""
    try:
        return (
            isinstance(value, Mapping)
            and isinstance(value.get("$type"), str)
            and all(isinstance(key, str) and isinstance(item, str) for key, item in value.items())
        )
    except Exception:
        return False  # a mapping whose items() raises is tagged by its type, as below


def _convert(value: Any, active: set[int], depth: int) -> JsonValue:
    # Exact types are returned as they are. The isinstance branches below are for
    # subclasses (IntEnum, StrEnum...), which become their plain base value; a bool
    # must not reach the int one.
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return value  # type: ignore[no-any-return]
    if isinstance(value, int) and not has_decimal_repr(value):
        # Neither repr nor json.dumps can write it: "<unrepresentable>", as below.
        return _tagged(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"$type": "float", "value": "nan" if math.isnan(value) else repr(float(value))}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$type": "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, os.PathLike):
        try:
            path = os.fspath(value)
        except Exception:
            return _tagged(value)
        return _convert(path, active, depth)
    if not isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return _tagged(value)

    # Containers: guard against self-reference and runaway depth, both of which
    # would otherwise end in RecursionError inside a test's teardown.
    if id(value) in active:
        return _tagged(value, "cycle")
    if depth >= MAX_DEPTH:
        if isinstance(value, Mapping) and _is_tagged(value):
            # A tagged form is a leaf, not nesting: were it truncated, writing a
            # loaded record again would wrap it once more on every round trip.
            return {str(key): str(item) for key, item in value.items()}
        return _tagged(value, "truncated")
    active.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {_key(k): _convert(v, active, depth + 1) for k, v in value.items()}
        items = [_convert(v, active, depth + 1) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return items
    except Exception:
        # A mapping whose items() raises, a set member whose JSON cannot sort...
        return _tagged(value)
    finally:
        active.discard(id(value))


def has_decimal_repr(value: int | float) -> bool:
    """Whether Python can write ``value`` in decimal (``repr``, ``json.dumps``).

    An int of more than ``sys.get_int_max_str_digits()`` digits (4,300 by
    default) cannot be: both raise ValueError. Such ints come only from Python
    code, since ``json.loads`` refuses them as well.
    """
    limit = sys.get_int_max_str_digits()
    # A decimal digit holds more than 3 bits: an int of at most 3 * limit bits
    # has at most `limit` digits, and printing it is the common, cheap case.
    if isinstance(value, float) or not limit or value.bit_length() <= 3 * limit:
        return True
    try:
        int.__repr__(value)
    except ValueError:
        return False
    return True


class NotStrictJSON(ValueError):
    """Text that Python's json reads but RFC 8259 does not allow: NaN or an infinity."""


def _refuse_constant(name: str) -> NoReturn:
    raise NotStrictJSON(f"{name} is not a JSON value (RFC 8259 has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotStrictJSON(f"{text} is out of the range of a double")
    return value


# One decoder each: json.loads(..., parse_constant=...) would build a new one
# per call. Python's json reads NaN, Infinity and -Infinity; strict readers in
# other languages refuse them, and so do the store and the shared files.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_FINITE_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


# A number of 19 digits or more: maybe an integer beyond 64 bits, which orjson
# would read as a float (json keeps it exact). Such text, rare in records, goes
# to json. A number starts the text or follows "[", ":" or ",", after optional
# whitespace; so with whitespace deleted, digits turned into "0", those three
# into ":" and the rest (but "-") into "x", it shows as ":" then 19 zeros,
# maybe with a "-" between. Digits in a string (a commit id, a long name)
# seldom look like that. Far faster than a regular expression (bench_report.py).
_DIGITS = b"0" * 19
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_NUMBER_SHAPE = bytes(
    0x30 if 0x30 <= byte <= 0x39 else 0x3A if byte in b"[:," else byte if byte == 0x2D else 0x78
    for byte in range(256)
)


def _has_long_number(data: bytes) -> bool:
    if _DIGITS not in data.translate(_DIGITS_ONLY):
        return False  # no 19 digits in a row at all: the usual case, in one pass
    shape = data.translate(_NUMBER_SHAPE, b" \t\n\r")
    return (
        b":" + _DIGITS in shape
        or b":-" + _DIGITS in shape
        or shape.startswith(_DIGITS)
        or shape.startswith(b"-" + _DIGITS)
    )


def loads_strict(raw: bytes | str, *, finite: bool = False) -> Any:
    """``json.loads`` refusing NaN and the infinities (NotStrictJSON, a ValueError).

    With ``finite``, a number too large for a double (``1e400``, which json
    reads as infinity) is refused too.

    orjson reads the text first. Where it gives a value, it is the one json
    gives: orjson refuses everything json would read differently (NaN, numbers
    out of a double's range, lone surrogates, text that is not UTF-8, nesting
    over 1,024 levels) except integers beyond 64 bits, which are kept from it.
    Whatever orjson refuses is read by json, so results and errors are json's.
    """
    data = raw
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")  # the form orjson reads; faster than its own
        except UnicodeEncodeError:
            data = b""  # a lone surrogate: json reads it (orjson would refuse it)
    if data and not _has_long_number(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # json reads it, or raises its own error
    if isinstance(raw, bytes):
        # As json.loads does: UTF-8 (or -16/-32 by the first bytes), surrogates kept.
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    return (_FINITE_DECODER if finite else _STRICT_DECODER).decode(raw)


def dumps_compact(value: JsonValue) -> bytes:
    """The compact JSON text of ``value``, a JSON-safe value (see :func:`to_json_safe`), as UTF-8.

    It reads back (:func:`loads_strict`) as ``json.dumps(value, allow_nan=False,
    separators=(",", ":"))`` would, but non-ASCII text is written as it is, not
    escaped. A NaN or an infinity must not be in ``value``: JSON-safe values
    never hold them, and orjson would write ``null``.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits, a lone surrogate (json escapes it as
        # \udXXX), nesting deeper than orjson's 254 levels: json writes them.
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_safe_view(value: Any) -> JsonValue:
    """``to_json_safe(value)``, or ``value`` itself (no copy) when it is plain JSON already.

    For serialising at once: the result may be ``value``, so it must not be kept
    or changed. Plain JSON: dicts with str keys, lists, str, bool, None, int and
    finite floats (exact types, no subclasses), nested less than ``MAX_DEPTH``
    levels, which :func:`to_json_safe` would return as equal copies.
    """
    if type(value) is dict:
        # A flat dict of strings and small ints (the usual metadata) without a
        # call per item; anything else is looked at by _is_plain.
        for key, item in value.items():
            kind = type(item)
            if type(key) is not str or not (
                kind is str or (kind is int and item.bit_length() < 64) or item is None
            ):
                break
        else:
            return value
    return value if _is_plain(value, 0) else _convert(value, set(), 0)


def _is_plain(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return value.bit_length() < 64 or has_decimal_repr(value)
    if kind is float:
        return math.isfinite(value)
    if depth >= MAX_DEPTH:
        return False  # too deep: to_json_safe truncates (and cuts cycles short)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            item_kind = type(item)
            # The common leaves here, without a call each.
            if item_kind is str or (item_kind is int and item.bit_length() < 64):
                continue
            if not _is_plain(item, depth + 1):
                return False
        return True
    if kind is list:
        return all(_is_plain(item, depth + 1) for item in value)
    return False


def json_kind(value: object) -> str:
    """Name what a decoded JSON value is, for error messages: ``"the number 5"``, ``"an array"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int) and abs(value) >= _LONG:
        # json.loads keeps integers exact: 10**309 is an int float() refuses, and
        # its 310 digits make a poor message. Over 4,300 digits it cannot even be
        # printed (only Python code makes such ints: json.loads refuses them).
        if not has_decimal_repr(value):
            return f"a number of over {sys.get_int_max_str_digits()} digits"
        return f"a number of {len(str(abs(value)))} digits"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), f"a {type(value).__name__}")
