"""Tests for parser failure injection: the SPEC example, nth_call, always, random, timeout."""

from __future__ import annotations

import pickle
import threading

import pytest

from itest_shared.parsers import MockParseError, MockParserFactory, SyntaxTree
from tests.parsers.support import CustomParserCrash, _outcomes

# ---------------------------------------------------------------- the SPEC example


def test_parser_failures(mock_parser_factory: MockParserFactory) -> None:
    # Verbatim from SPEC.md (only the import changed).
    mock_parser_factory.configure_failure("python", fail_type="nth_call", n=3)
    parser = mock_parser_factory.get_parser("python")
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")
    with pytest.raises(RuntimeError):
        parser.parse(b"import sys")


# ---------------------------------------------------------------- failure injection


def test_nth_call_fails_only_the_nth_call(mock_parser_factory: MockParserFactory) -> None:
    mock_parser_factory.get_parser("c").parse(b"int x;")  # calls before configuring don't count
    mock_parser_factory.configure_failure("c", "nth_call", n=3)
    assert _outcomes(mock_parser_factory, "c", 10) == [3]
    mock_parser_factory.configure_failure("c", "nth_call", n=3, every=True)
    assert _outcomes(mock_parser_factory, "c", 10) == [3, 6, 9]
    assert mock_parser_factory.get_parser("c").failure_count == 4
    assert mock_parser_factory.get_parser("c").parse_count == 21


def test_always_fails_with_a_runtime_error_naming_the_call(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("rust", "always")
    parser = mock_parser_factory.get_parser("rust")
    for call in (1, 2):
        # The prototype's words first, then which failure and which call.
        with pytest.raises(
            MockParseError,
            match=rf"^Parser failed for rust: mock rust parser: injected always failure "
            rf"on call {call} since configure_failure$",
        ):
            parser.parse("fn main() {}")
    assert isinstance(MockParseError("rust", "always", 1), RuntimeError)
    mock_parser_factory.get_parser("python").parse(b"x = 1")  # other languages unaffected


def test_nth_call_message_names_the_call(mock_parser_factory: MockParserFactory) -> None:
    parser = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("python", "nth_call", n=2)
    parser.parse(b"x")
    with pytest.raises(
        RuntimeError,
        match=r"^Parser failed on call 2: mock python parser: injected nth_call failure "
        r"on call 2 since configure_failure$",
    ):
        parser.parse(b"x")
    mock_parser_factory.configure_failure("python", "nth_call", n=3, every=True)
    for failing_call in (3, 6):
        parser.parse(b"x")
        parser.parse(b"x")
        with pytest.raises(RuntimeError, match=f"^Parser failed on call {failing_call}: "):
            parser.parse(b"x")
    mock_parser_factory.configure_failure("python", "random", rate=1.0)
    with pytest.raises(
        RuntimeError, match=r"^Parser failed for python: .* random failure on call 1\b"
    ):
        parser.parse(b"x")


def test_configure_failure_defaults_as_the_prototype(
    mock_parser_factory: MockParserFactory,
) -> None:
    parser = mock_parser_factory.get_parser("javascript")
    mock_parser_factory.configure_failure("javascript", "nth_call")  # n defaults to 1
    assert parser.fail_on_nth_call == 1
    assert _outcomes(mock_parser_factory, "javascript", 3) == [1]
    mock_parser_factory.configure_failure("javascript", "timeout")  # 10 seconds
    assert parser.timeout == 10
    results: list[SyntaxTree] = []
    worker = threading.Thread(target=lambda: results.append(parser.parse(b"f()")))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and not results  # still inside the 10 s delay
    mock_parser_factory.clear_failure("javascript")
    worker.join(30)  # hang guard
    assert not worker.is_alive() and results[0].root_node.type == "program"


def test_mock_parse_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(MockParseError("c", "nth_call", 3)))
    assert (error.language, error.fail_type, error.call) == ("c", "nth_call", 3)
    assert str(error) == str(MockParseError("c", "nth_call", 3))


def test_custom_exception_types(mock_parser_factory: MockParserFactory) -> None:
    parser = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("python", CustomParserCrash)
    with pytest.raises(CustomParserCrash, match=r"^Parser failed for python: .* on call 1\b"):
        parser.parse(b"x = 1")
    mock_parser_factory.configure_failure("python", "nth_call", n=2, exception=MemoryError)
    parser.parse(b"x = 1")
    with pytest.raises(MemoryError):
        parser.parse(b"x = 1")

    class Sub(MockParseError):
        pass

    mock_parser_factory.configure_failure("python", "always", exception=Sub)
    with pytest.raises(Sub, match="injected always failure on call 1") as caught:
        parser.parse(b"x = 1")
    assert (caught.value.language, caught.value.call) == ("python", 1)


def test_random_failures_are_reproducible_from_the_seed(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("javascript", "random", rate=0.3, seed=7)
    first = _outcomes(mock_parser_factory, "javascript", 500)
    mock_parser_factory.configure_failure("javascript", "random", rate=0.3, seed=7)
    assert _outcomes(mock_parser_factory, "javascript", 500) == first
    assert 0.2 < len(first) / 500 < 0.4
    mock_parser_factory.configure_failure("javascript", "random", rate=0.3, seed=8)
    assert _outcomes(mock_parser_factory, "javascript", 500) != first
    mock_parser_factory.configure_failure("javascript", "random", rate=0.0)
    assert _outcomes(mock_parser_factory, "javascript", 100) == []
    mock_parser_factory.configure_failure("javascript", "random", rate=1.0, seed=None)
    assert len(_outcomes(mock_parser_factory, "javascript", 100)) == 100


def test_timeout_delays_then_returns_the_tree(mock_parser_factory: MockParserFactory) -> None:
    mock_parser_factory.configure_failure("python", "timeout", timeout=0.01)
    tree = mock_parser_factory.get_parser("python").parse(b"def f(): pass")
    assert tree.root_node.children[0].type == "function_definition"


def test_timeout_can_raise(mock_parser_factory: MockParserFactory) -> None:
    parser = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("python", "timeout", timeout=0.01, raise_error=True)
    with pytest.raises(TimeoutError, match=r"injected timeout after 0\.01 s on call 1"):
        parser.parse(b"x = 1")
    mock_parser_factory.configure_failure(
        "python", "timeout", timeout=0, raise_error=True, exception=CustomParserCrash
    )
    with pytest.raises(CustomParserCrash):
        parser.parse(b"x = 1")


def test_timeout_really_waits_and_reset_wakes_it(mock_parser_factory: MockParserFactory) -> None:
    mock_parser_factory.configure_failure("c", "timeout", timeout=600)
    parser = mock_parser_factory.get_parser("c")
    results: list[SyntaxTree] = []
    worker = threading.Thread(target=lambda: results.append(parser.parse(b"int x;")))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and not results  # still inside the injected delay
    mock_parser_factory.reset()
    worker.join(30)  # hang guard
    assert not worker.is_alive()
    assert results[0].root_node.type == "translation_unit"
