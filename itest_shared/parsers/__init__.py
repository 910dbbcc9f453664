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
* Any other language name (the prototype accepted any): a ``module`` root spanning
  the input, with no children. Failure injection and counts work as for the others.

.. versionadded:: 1.1
"""

from __future__ import annotations

import threading

from ..samples import SUPPORTED_LANGUAGES
from ._failures import (
    FAIL_TYPES,
    Action,
    Failure,
    MockParseError,
    build_failure,
    decide,
    failure_error,
)
from ._python import build_python_tree
from ._scan import build_scanned_tree
from ._tree import ERROR_TYPE, SyntaxNode, SyntaxTree, nest_spans

__all__ = [
    "ERROR_TYPE",
    "FAIL_TYPES",
    "MockParseError",
    "MockParser",
    "MockParserFactory",
    "SyntaxNode",
    "SyntaxTree",
]

# The root type of the tree for a language without a real grammar here (the prototype's).
_OTHER_ROOT_TYPE = "module"


def _check_language(language: object) -> str:
    # Any name goes, as in the prototype: SUPPORTED_LANGUAGES get real trees, the rest
    # a childless root. Only a name that cannot be one is refused.
    if not isinstance(language, str):
        raise TypeError(f"language must be a str, got {type(language).__name__}")
    if not language:
        raise ValueError("language must be a non-empty str, got ''")
    return language


def _build_tree(language: str, source: bytes, text: str | None) -> SyntaxNode:
    if language == "python":
        return build_python_tree(source, text)
    if language in SUPPORTED_LANGUAGES:
        return build_scanned_tree(source, language)
    return nest_spans(_OTHER_ROOT_TYPE, source, ())


class MockParser:
    """A mock parser for one language; get it from ``MockParserFactory.get_parser``.

    Its counts and failure settings are its language's in the factory: every parser
    object of a language (one handed out before ``reset()`` too) shares them.
    """

    def __init__(self, factory: MockParserFactory, language: str) -> None:
        self._factory = factory
        self.language = language

    @property
    def parse_count(self) -> int:
        """Return how many times ``parse`` was called for this language (failed calls too)."""
        return self._factory._count_of(self.language)[0]

    @property
    def failure_count(self) -> int:
        """Return how many of those calls raised an injected failure."""
        return self._factory._count_of(self.language)[1]

    # The prototype's failure attributes, as views of the factory's configuration, so
    # tests that set them directly keep working. Modes replace each other (setting one
    # is a configure_failure call); clearing a mode that is not active does nothing.

    @property
    def fail_on_parse(self) -> bool:
        """Return True if every parse fails (``configure_failure(language, "always")``).

        Set True to configure that, False to clear it (if it is the active mode).

        .. versionadded:: 1.3
        """
        failure = self._factory._failure_of(self.language)
        return failure is not None and failure.fail_type == "always"

    @fail_on_parse.setter
    def fail_on_parse(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"fail_on_parse must be a bool, got {type(value).__name__}")
        if value:
            self._factory.configure_failure(self.language, "always")
        else:
            self._factory._clear_failure_if(self.language, "always")

    @property
    def fail_on_nth_call(self) -> int | None:
        """Return ``n`` if the ``nth_call`` mode is configured, else None.

        Set an int to configure ``configure_failure(language, "nth_call", n=value)``,
        None to clear it (if it is the active mode).

        .. versionadded:: 1.3
        """
        failure = self._factory._failure_of(self.language)
        return failure.n if failure is not None and failure.fail_type == "nth_call" else None

    @fail_on_nth_call.setter
    def fail_on_nth_call(self, value: int | None) -> None:
        if value is None:
            self._factory._clear_failure_if(self.language, "nth_call")
        else:
            self._factory.configure_failure(self.language, "nth_call", n=value)

    @property
    def timeout(self) -> float | None:
        """Return the delay in seconds if the ``timeout`` mode is configured, else None.

        Set a number of seconds to configure ``configure_failure(language, "timeout",
        timeout=value)``; None or 0 clears it (if it is the active mode).

        .. versionadded:: 1.3
        """
        failure = self._factory._failure_of(self.language)
        return failure.timeout if failure is not None and failure.fail_type == "timeout" else None

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        # 0 clears, as a falsy timeout meant "no delay" in the prototype; a bool is not
        # a number of seconds and is refused by configure_failure.
        if value is None or (not isinstance(value, bool) and value == 0):
            self._factory._clear_failure_if(self.language, "timeout")
        else:
            self._factory.configure_failure(self.language, "timeout", timeout=value)

    def parse(self, code: bytes | bytearray | memoryview | str, **kwargs: object) -> SyntaxTree:
        """Parse ``code`` (bytes, or str taken as UTF-8) into a deterministic ``SyntaxTree``.

        Raises the configured failure instead when failure injection says so. Keyword
        arguments (tree-sitter's ``old_tree``, say) are accepted and ignored.

        .. versionchanged:: 1.3
           Accepts and ignores keyword arguments, as the prototype did.
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
            raise failure_error(self.language, failure, action.call)
        root = _build_tree(self.language, source, text)
        return SyntaxTree(self.language, source, root)

    def __repr__(self) -> str:
        return f"<MockParser {self.language} parse_count={self.parse_count}>"


class MockParserFactory:
    """Hands out one ``MockParser`` per language and injects failures into their parses.

    Failure modes (``configure_failure``), counted per language from the moment they
    are configured:

    * ``"always"``: every call raises.
    * ``"nth_call"`` with ``n`` (default 1): only the n-th call raises (the calls before
      and after it succeed, so a retry works); ``every=True`` fails every n-th call.
    * ``"random"`` with ``rate`` in [0, 1] and ``seed`` (default 0; None = unseeded):
      each call fails with probability ``rate``; a seed fixes exactly which calls fail.
    * ``"timeout"`` with ``timeout`` seconds (default 10): each call sleeps that long,
      then returns the tree, or raises ``TimeoutError`` if ``raise_error=True``.
    * an exception class as ``fail_type``: every call raises that class.

    Injected failures raise ``MockParseError`` (a ``RuntimeError``) unless ``exception=``
    names another class, built with one message argument; the message starts with the
    prototype's ``Parser failed for <language>`` (``Parser failed on call <n>`` for
    ``nth_call``). A parser's ``fail_on_parse``, ``fail_on_nth_call`` and ``timeout``
    attributes read and set the same configuration. Any non-empty language name works.
    Counts are exact under threads.

    .. versionchanged:: 1.3
       Any language name; ``parsers``; ``reset()`` forgets the parser objects;
       ``nth_call`` and ``timeout`` defaults; messages start with the prototype's words.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsers: dict[str, MockParser] = {}
        self._failures: dict[str, Failure] = {}
        # The real-tree languages are always listed (at 0); others join on first parse.
        self._counts = dict.fromkeys(SUPPORTED_LANGUAGES, 0)
        self._failed = dict.fromkeys(SUPPORTED_LANGUAGES, 0)

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the languages with real trees; any other name gets a childless ``module``."""
        return SUPPORTED_LANGUAGES

    @property
    def parsers(self) -> dict[str, MockParser]:
        """Return ``{language: parser}`` of the parsers handed out since creation or reset.

        A copy, in the order they were first asked for.

        .. versionadded:: 1.3
        """
        with self._lock:
            return dict(self._parsers)

    def get_parser(self, language: str) -> MockParser:
        """Return the parser for ``language`` (the same object on every call until reset)."""
        _check_language(language)
        with self._lock:
            parser = self._parsers.get(language)
            if parser is None:
                parser = self._parsers[language] = MockParser(self, language)
            return parser

    def configure_failure(self, language: str, fail_type: object, **options: object) -> None:
        """Make ``language``'s parser fail as ``fail_type`` says, replacing earlier settings."""
        _check_language(language)
        failure = build_failure(language, fail_type, options)
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
        """Clear every failure, zero every count and forget the parsers handed out.

        The next ``get_parser`` returns a new object, as in the prototype; parses
        sleeping in a timeout wake up.

        .. versionchanged:: 1.3
           Also forgets the parser objects.
        """
        with self._lock:
            old = list(self._failures.values())
            self._failures.clear()
            self._parsers.clear()
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
        """Return ``{language: parse calls}``: the four real-tree languages, then others parsed."""
        with self._lock:
            return dict(self._counts)

    def failure_counts(self) -> dict[str, int]:
        """Return ``{language: calls that raised an injected failure}``."""
        with self._lock:
            return dict(self._failed)

    def _count_of(self, language: str) -> tuple[int, int]:
        """Return ``(parse calls, injected failures)`` for ``language``."""
        with self._lock:
            return self._counts.get(language, 0), self._failed.get(language, 0)

    def _failure_of(self, language: str) -> Failure | None:
        with self._lock:
            return self._failures.get(language)

    def _clear_failure_if(self, language: str, fail_type: str) -> None:
        """Clear ``language``'s failure if ``fail_type`` is the active mode."""
        with self._lock:
            old = self._failures.get(language)
            if old is None or old.fail_type != fail_type:
                return
            del self._failures[language]
        old.wake.set()

    def _count_call(self, language: str) -> tuple[Action, Failure | None]:
        with self._lock:
            # Counts of languages beyond the four are created here, under the lock.
            count = self._counts[language] = self._counts.get(language, 0) + 1
            self._failed.setdefault(language, 0)
            failure = self._failures.get(language)
            if failure is None:
                return Action(count), None
            action = decide(failure)
            if action.fail:
                self._failed[language] += 1
            return action, failure
