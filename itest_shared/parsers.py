"""``MockParserFactory``: deterministic mock parsers with thread-safe failure injection.

``get_parser(language)`` hands out one ``MockParser`` per language. ``parse(code)``
returns a ``SyntaxTree`` shaped like tree-sitter's: ``root_node`` with ``type``,
``start_byte``, ``end_byte``, ``start_point``, ``end_point`` and ``children``.
Python trees come from the real ``ast``; C, JavaScript and Rust trees from a scan
that finds functions, classes, structs and impl blocks by matching brackets while
skipping strings and comments. Like tree-sitter, parsing never raises for bad code:
it returns a tree holding ``ERROR`` nodes. Only injected failures raise.

Trees follow tree-sitter's conventions: node types are tree-sitter grammar names
(``function_definition``, ``class_declaration``, ``function_item``...), byte
offsets index the UTF-8 bytes parsed (a str is encoded as UTF-8 first), points are
``(row, column)`` in bytes with rows counted at LF, and the root spans the whole
input. ``async`` definitions keep their usual type with ``is_async=True`` (as in
tree-sitter, where ``async`` is a keyword child); definitions carry ``name``.

* Python: every located ``ast`` node becomes a node, decorated definitions are
  wrapped in ``decorated_definition``, f-strings are leaves. Source that does not
  compile (including source that the current warning filters turn into errors,
  such as invalid escapes under ``-W error``) gives ``module`` > one ``ERROR`` node.
* C, JavaScript, Rust: only definitions are nodes (see ``_parser_scan`` for the
  list per language), nested by containment; unbalanced brackets and unterminated
  strings or comments add ``ERROR`` nodes over the bad range.

.. versionadded:: 1.1
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from typing import NamedTuple

import attrs

from itest_shared._parser_tree import ERROR_TYPE, SyntaxNode, SyntaxTree
from itest_shared.samples import SUPPORTED_LANGUAGES

__all__ = [
    "ERROR_TYPE",
    "FAIL_TYPES",
    "MockParseError",
    "MockParser",
    "MockParserFactory",
    "SyntaxNode",
    "SyntaxTree",
]

#: The named failure modes ``configure_failure`` accepts (an exception class also works).
FAIL_TYPES: tuple[str, ...] = ("always", "nth_call", "random", "timeout")

# Options each failure mode accepts, with their defaults (None: required).
_OPTIONS: Mapping[str, Mapping[str, object]] = {
    "always": {"exception": None},
    "nth_call": {"n": None, "every": False, "exception": None},
    "random": {"rate": None, "seed": 0, "exception": None},
    "timeout": {"timeout": None, "raise_error": False, "exception": None},
}
_REQUIRED = {"nth_call": "n", "random": "rate", "timeout": "timeout"}


class MockParseError(RuntimeError):
    """The default error an injected parser failure raises."""

    def __init__(self, language: str, fail_type: str, call: int) -> None:
        self.language = language
        self.fail_type = fail_type
        self.call = call
        super().__init__(
            f"mock {language} parser: injected {fail_type} failure on call {call} "
            "since configure_failure"
        )

    # Rebuild from our own arguments when unpickled (it may cross worker boundaries).
    def __reduce__(self) -> tuple[type[MockParseError], tuple[str, str, int]]:
        return type(self), (self.language, self.fail_type, self.call)


@attrs.define
class _Failure:
    """One language's failure configuration and the state it needs (guarded by the lock)."""

    fail_type: str
    exception: type[BaseException] | None
    n: int = 0
    every: bool = False
    rate: float = 0.0
    rng: random.Random | None = None
    timeout: float = 0.0
    raise_error: bool = False
    calls: int = 0
    # Set when this configuration is replaced or reset, to wake parses sleeping in it.
    wake: threading.Event = attrs.field(factory=threading.Event)


class _Action(NamedTuple):
    """What one parse call must do, decided under the lock, carried out outside it."""

    call: int
    fail: bool = False
    delay: float = 0.0
    wake: threading.Event | None = None


def _check_language(language: object) -> str:
    if not isinstance(language, str):
        raise TypeError(f"language must be a str, got {type(language).__name__}")
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"unknown language {language!r}; valid languages: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return language


def _check_number(option: str, value: object, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an int" if integer else "a number"
        raise TypeError(f"option {option} must be {wanted}, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"option {option} must be finite, got {value!r}")
    return number


def _check_exception(value: object, language: str, fail_type: str) -> type[BaseException] | None:
    if value is None:
        return None
    if not (isinstance(value, type) and issubclass(value, BaseException)):
        raise TypeError(f"option exception must be an exception class, got {value!r}")
    try:
        # Build one now, so a class that cannot be built fails here, not mid-test.
        _new_error(value, language, fail_type, 0)
    except Exception as exc:
        raise TypeError(
            f"option exception: {value.__name__} cannot be built from one message "
            f"argument ({exc}); pass a subclass that can"
        ) from exc
    return value


def _build_failure(language: str, fail_type: object, options: dict[str, object]) -> _Failure:
    """Validate everything first, so a bad call leaves the previous configuration intact."""
    if isinstance(fail_type, type) and issubclass(fail_type, BaseException):
        if options:
            raise TypeError(
                f"an exception class as fail_type takes no options, got {', '.join(options)}"
            )
        exception = _check_exception(fail_type, language, "always")
        return _Failure("always", exception)
    if not isinstance(fail_type, str) or fail_type not in FAIL_TYPES:
        raise ValueError(
            f"unknown fail_type {fail_type!r}; valid fail types: {', '.join(FAIL_TYPES)}, "
            "or an exception class"
        )
    accepted = _OPTIONS[fail_type]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"fail_type {fail_type!r} got unexpected option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(accepted)}"
        )
    values = {**accepted, **options}
    required = _REQUIRED.get(fail_type)
    if required is not None and values[required] is None:
        raise TypeError(f"fail_type {fail_type!r} needs option {required}")
    failure = _Failure(fail_type, _check_exception(values["exception"], language, fail_type))
    if fail_type == "nth_call":
        failure.n = int(_check_number("n", values["n"], integer=True))
        if failure.n < 1:
            raise ValueError(f"option n must be >= 1, got {failure.n}")
        if not isinstance(values["every"], bool):
            raise TypeError(f"option every must be a bool, got {values['every']!r}")
        failure.every = values["every"]
    elif fail_type == "random":
        failure.rate = _check_number("rate", values["rate"])
        if not 0.0 <= failure.rate <= 1.0:
            raise ValueError(f"option rate must be within [0, 1], got {failure.rate}")
        seed = values["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"option seed must be an int or None, got {seed!r}")
        failure.rng = random.Random(seed)
    elif fail_type == "timeout":
        failure.timeout = _check_number("timeout", values["timeout"])
        if failure.timeout < 0:
            raise ValueError(f"option timeout must be >= 0 seconds, got {failure.timeout}")
        if not isinstance(values["raise_error"], bool):
            raise TypeError(f"option raise_error must be a bool, got {values['raise_error']!r}")
        failure.raise_error = values["raise_error"]
        if failure.exception is not None and not failure.raise_error:
            raise ValueError("option exception needs raise_error=True for fail_type 'timeout'")
    return failure


def _decide(failure: _Failure) -> _Action:
    """Count one call against ``failure`` and say what it must do. Caller holds the lock."""
    failure.calls += 1
    call = failure.calls
    kind = failure.fail_type
    if kind == "always":
        return _Action(call, fail=True)
    if kind == "nth_call":
        fail = call % failure.n == 0 if failure.every else call == failure.n
        return _Action(call, fail=fail)
    if kind == "random":
        assert failure.rng is not None
        # Drawn under the lock: the k-th call after configuring always gets the k-th
        # draw, so a seed fixes which calls fail however threads interleave.
        return _Action(call, fail=failure.rng.random() < failure.rate)
    return _Action(call, fail=failure.raise_error, delay=failure.timeout, wake=failure.wake)


def _new_error(cls: type[BaseException], language: str, fail_type: str, call: int) -> BaseException:
    if issubclass(cls, MockParseError):
        return cls(language, fail_type, call)
    return cls(f"mock {language} parser: injected {fail_type} failure on call {call}")


def _failure_error(language: str, failure: _Failure, call: int) -> BaseException:
    if failure.exception is not None:
        return _new_error(failure.exception, language, failure.fail_type, call)
    if failure.fail_type == "timeout":
        return TimeoutError(
            f"mock {language} parser: injected timeout after {failure.timeout:g} s on call {call}"
        )
    return MockParseError(language, failure.fail_type, call)


def _build_tree(language: str, source: bytes, text: str | None) -> SyntaxNode:
    # Deferred: the tree builders pull in ast/tokenize, which a plugin import should not pay.
    if language == "python":
        from itest_shared._parser_python import build_python_tree

        return build_python_tree(source, text)
    from itest_shared._parser_scan import build_scanned_tree

    return build_scanned_tree(source, language)


class MockParser:
    """A mock parser for one language; get it from ``MockParserFactory.get_parser``."""

    def __init__(self, factory: MockParserFactory, language: str) -> None:
        self._factory = factory
        self.language = language

    @property
    def parse_count(self) -> int:
        """Return how many times ``parse`` was called for this language (failed calls too)."""
        return self._factory.parse_counts()[self.language]

    @property
    def failure_count(self) -> int:
        """Return how many of those calls raised an injected failure."""
        return self._factory.failure_counts()[self.language]

    def parse(self, code: bytes | bytearray | memoryview | str) -> SyntaxTree:
        """Parse ``code`` (bytes, or str taken as UTF-8) into a deterministic ``SyntaxTree``.

        Raises the configured failure instead when failure injection says so.
        """
        if isinstance(code, str):
            # Byte offsets are into the UTF-8 encoding, as tree-sitter's are for str.
            text: str | None = code
            source = code.encode("utf-8", errors="surrogatepass")
        elif isinstance(code, (bytes, bytearray, memoryview)):
            text, source = None, bytes(code)
        else:
            raise TypeError(f"code must be bytes or str, got {type(code).__name__}")
        action, failure = self._factory._count_call(self.language)
        if failure is not None and action.delay > 0 and action.wake is not None:
            action.wake.wait(action.delay)
        if failure is not None and action.fail:
            raise _failure_error(self.language, failure, action.call)
        root = _build_tree(self.language, source, text)
        return SyntaxTree(self.language, source, root)

    def __repr__(self) -> str:
        return f"<MockParser {self.language} parse_count={self.parse_count}>"


class MockParserFactory:
    """Hands out one ``MockParser`` per language and injects failures into their parses.

    Failure modes (``configure_failure``), counted per language from the moment they
    are configured:

    * ``"always"``: every call raises.
    * ``"nth_call"`` with ``n``: only the n-th call raises (the calls before and after it
      succeed, so a retry works); ``every=True`` fails every n-th call instead.
    * ``"random"`` with ``rate`` in [0, 1] and ``seed`` (default 0; None = unseeded):
      each call fails with probability ``rate``; a seed fixes exactly which calls fail.
    * ``"timeout"`` with ``timeout`` seconds: each call sleeps that long, then returns
      the tree, or raises ``TimeoutError`` if ``raise_error=True``.
    * an exception class as ``fail_type``: every call raises that class.

    Injected failures raise ``MockParseError`` (a ``RuntimeError``) unless ``exception=``
    names another class, built with one message argument. Counts are exact under threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsers: dict[str, MockParser] = {}
        self._failures: dict[str, _Failure] = {}
        self._counts = dict.fromkeys(SUPPORTED_LANGUAGES, 0)
        self._failed = dict.fromkeys(SUPPORTED_LANGUAGES, 0)

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the languages this factory has parsers for."""
        return SUPPORTED_LANGUAGES

    def get_parser(self, language: str) -> MockParser:
        """Return the parser for ``language`` (the same object on every call)."""
        _check_language(language)
        with self._lock:
            parser = self._parsers.get(language)
            if parser is None:
                parser = self._parsers[language] = MockParser(self, language)
            return parser

    def configure_failure(self, language: str, fail_type: object, **options: object) -> None:
        """Make ``language``'s parser fail as ``fail_type`` says, replacing earlier settings."""
        _check_language(language)
        failure = _build_failure(language, fail_type, options)
        with self._lock:
            old = self._failures.get(language)
            self._failures[language] = failure
        if old is not None:
            old.wake.set()

    def clear_failure(self, language: str) -> None:
        """Stop injecting failures for ``language`` (counts are kept)."""
        _check_language(language)
        with self._lock:
            old = self._failures.pop(language, None)
        if old is not None:
            old.wake.set()

    def reset(self) -> None:
        """Clear every failure and zero every count; parses sleeping in a timeout wake up."""
        with self._lock:
            old = list(self._failures.values())
            self._failures.clear()
            self._counts = dict.fromkeys(SUPPORTED_LANGUAGES, 0)
            self._failed = dict.fromkeys(SUPPORTED_LANGUAGES, 0)
        for failure in old:
            failure.wake.set()

    @property
    def parse_count(self) -> int:
        """Return the number of ``parse`` calls across all languages (failed calls too)."""
        with self._lock:
            return sum(self._counts.values())

    def parse_counts(self) -> dict[str, int]:
        """Return ``{language: parse calls}`` for every language."""
        with self._lock:
            return dict(self._counts)

    def failure_counts(self) -> dict[str, int]:
        """Return ``{language: calls that raised an injected failure}``."""
        with self._lock:
            return dict(self._failed)

    def _count_call(self, language: str) -> tuple[_Action, _Failure | None]:
        with self._lock:
            self._counts[language] += 1
            failure = self._failures.get(language)
            if failure is None:
                return _Action(self._counts[language]), None
            action = _decide(failure)
            if action.fail:
                self._failed[language] += 1
            return action, failure
