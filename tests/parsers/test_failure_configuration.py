"""Tests for resetting, clearing, prototype-style attributes and validation of parser failures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itest_shared.parsers import FAIL_TYPES, MockParseError, MockParserFactory
from itest_shared.samples import SUPPORTED_LANGUAGES
from tests.parsers.support import CustomParserCrash, _outcomes


def test_reset_and_clear_failure(mock_parser_factory: MockParserFactory) -> None:
    mock_parser_factory.configure_failure("python", "always")
    mock_parser_factory.configure_failure("c", "always")
    parser = mock_parser_factory.get_parser("python")
    with pytest.raises(MockParseError):
        parser.parse(b"x")
    mock_parser_factory.clear_failure("python")
    parser.parse(b"x")
    assert mock_parser_factory.parse_counts()["python"] == 2
    mock_parser_factory.reset()
    assert mock_parser_factory.parse_count == 0
    assert mock_parser_factory.failure_counts() == dict.fromkeys(SUPPORTED_LANGUAGES, 0)
    mock_parser_factory.get_parser("c").parse(b"int x;")  # the c failure is gone too
    mock_parser_factory.clear_failure("rust")  # nothing configured: a no-op


def test_reset_forgets_the_parser_objects(mock_parser_factory: MockParserFactory) -> None:
    old = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("python", "always")
    with pytest.raises(MockParseError):
        old.parse(b"x")
    mock_parser_factory.reset()
    assert mock_parser_factory.parsers == {}
    new = mock_parser_factory.get_parser("python")
    assert new is not old and new is mock_parser_factory.get_parser("python")
    assert mock_parser_factory.parsers == {"python": new}
    # Failures and counts are cleared too; a parser handed out before still works and
    # shares its language's (now empty) configuration and counts.
    assert new.parse_count == 0 and new.failure_count == 0
    old.parse(b"x")
    assert (new.parse_count, old.parse_count, old.fail_on_parse) == (1, 1, False)


def test_prototype_style_failure_attributes(mock_parser_factory: MockParserFactory) -> None:
    parser = mock_parser_factory.get_parser("python")
    assert (parser.fail_on_parse, parser.fail_on_nth_call, parser.timeout) == (False, None, None)
    parser.fail_on_parse = True
    assert (parser.fail_on_parse, parser.fail_on_nth_call, parser.timeout) == (True, None, None)
    with pytest.raises(RuntimeError, match="Parser failed for python"):
        parser.parse(b"x")
    parser.fail_on_parse = False
    assert parser.fail_on_parse is False
    parser.parse(b"x")
    parser.fail_on_nth_call = 2
    assert (parser.fail_on_parse, parser.fail_on_nth_call, parser.timeout) == (False, 2, None)
    assert _outcomes(mock_parser_factory, "python", 3) == [2]
    # Clearing a mode that is not the active one leaves the active one alone.
    parser.fail_on_parse = False
    parser.timeout = None
    assert parser.fail_on_nth_call == 2
    parser.fail_on_nth_call = None
    assert parser.fail_on_nth_call is None
    assert _outcomes(mock_parser_factory, "python", 3) == []
    parser.timeout = 0.01
    assert (parser.fail_on_parse, parser.fail_on_nth_call, parser.timeout) == (False, None, 0.01)
    assert parser.parse(b"def f(): pass").root_node.children[0].type == "function_definition"
    parser.timeout = 0  # falsy, as in the prototype: no delay
    assert parser.timeout is None
    parser.timeout = 2.5
    parser.timeout = None
    assert parser.timeout is None
    # They read the factory's configuration for the language, whoever set it.
    mock_parser_factory.configure_failure("python", "nth_call", n=4, every=True)
    assert parser.fail_on_nth_call == 4
    mock_parser_factory.configure_failure("python", "timeout", timeout=3, raise_error=True)
    assert parser.timeout == 3
    mock_parser_factory.configure_failure("python", CustomParserCrash)
    assert parser.fail_on_parse is True
    mock_parser_factory.get_parser("c").fail_on_parse = True  # per language
    assert mock_parser_factory.get_parser("rust").fail_on_parse is False


@pytest.mark.parametrize(
    ("attribute", "value", "error", "message"),
    [
        ("fail_on_parse", 1, TypeError, "fail_on_parse must be a bool, got int"),
        ("fail_on_parse", None, TypeError, "fail_on_parse must be a bool, got NoneType"),
        ("fail_on_nth_call", 0, ValueError, "option n must be >= 1, got 0"),
        ("fail_on_nth_call", -2, ValueError, "option n must be >= 1"),
        ("fail_on_nth_call", 2.0, TypeError, "option n must be an int, got float"),
        ("fail_on_nth_call", True, TypeError, "option n must be an int, got bool"),
        ("timeout", -1, ValueError, "option timeout must be >= 0 seconds"),
        ("timeout", "1", TypeError, "option timeout must be a number, got str"),
        ("timeout", float("inf"), ValueError, "option timeout must be finite"),
    ],
)
def test_bad_attribute_values_are_refused_and_change_nothing(
    mock_parser_factory: MockParserFactory,
    attribute: str,
    value: object,
    error: type[Exception],
    message: str,
) -> None:
    parser = mock_parser_factory.get_parser("rust")
    parser.fail_on_nth_call = 2
    parser.parse(b"fn f() {}")
    with pytest.raises(error, match=message):
        setattr(parser, attribute, value)
    assert parser.fail_on_nth_call == 2
    with pytest.raises(MockParseError, match="Parser failed on call 2"):  # still counting on
        parser.parse(b"fn f() {}")


@pytest.mark.parametrize(
    ("fail_type", "options", "error", "message"),
    [
        ("sometimes", {}, ValueError, "valid fail types: always, nth_call, random, timeout"),
        (None, {}, ValueError, "unknown fail_type None"),
        ("nth_call", {"n": 0}, ValueError, "option n must be >= 1"),
        ("nth_call", {"n": None}, TypeError, "option n must be an int, got NoneType"),
        ("timeout", {"timeout": None}, TypeError, "option timeout must be a number"),
        ("nth_call", {"n": 2.0}, TypeError, "option n must be an int"),
        ("nth_call", {"n": True}, TypeError, "option n must be an int"),
        ("nth_call", {"n": 2, "every": 1}, TypeError, "option every must be a bool"),
        (
            "nth_call",
            {"n": 2, "rate": 1},
            TypeError,
            "unexpected option.*rate.*valid options: n, every",
        ),
        ("always", {"n": 2}, TypeError, "unexpected option.*n"),
        ("random", {}, TypeError, "needs option rate"),
        ("random", {"rate": 1.5}, ValueError, r"option rate must be within \[0, 1\]"),
        ("random", {"rate": float("nan")}, ValueError, "option rate must be finite"),
        ("random", {"rate": 0.5, "seed": "x"}, TypeError, "option seed"),
        ("timeout", {"timeout": -1}, ValueError, "option timeout must be >= 0"),
        ("timeout", {"timeout": "1"}, TypeError, "option timeout must be a number"),
        ("timeout", {"timeout": 1, "exception": KeyError}, ValueError, "needs raise_error=True"),
        ("always", {"exception": 42}, TypeError, "option exception must be an exception class"),
        ("always", {"exception": UnicodeDecodeError}, TypeError, "cannot be built from one"),
        (CustomParserCrash, {"n": 1}, TypeError, "takes no options"),
    ],
)
def test_bad_failure_configuration_is_refused_and_changes_nothing(
    mock_parser_factory: MockParserFactory,
    fail_type: object,
    options: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    mock_parser_factory.configure_failure("python", "nth_call", n=2)
    parser = mock_parser_factory.get_parser("python")
    parser.parse(b"x")
    with pytest.raises(error, match=message):
        mock_parser_factory.configure_failure("python", fail_type, **options)
    with pytest.raises(MockParseError):  # the earlier configuration still counts on
        parser.parse(b"x")
    assert FAIL_TYPES == ("always", "nth_call", "random", "timeout")


@settings(max_examples=100, deadline=None)
@given(
    fail_type=st.one_of(st.sampled_from(FAIL_TYPES), st.text(max_size=10)),
    options=st.dictionaries(
        st.sampled_from(["n", "rate", "seed", "timeout", "every", "raise_error", "exception", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=3)),
        max_size=3,
    ),
)
def test_arbitrary_configuration_is_accepted_or_refused_cleanly(
    fail_type: str, options: dict[str, object]
) -> None:
    factory = MockParserFactory()
    factory.configure_failure("rust", "always")
    try:
        factory.configure_failure("rust", fail_type, **options)
    except (TypeError, ValueError):
        with pytest.raises(MockParseError):  # refused: the old setting is intact
            factory.get_parser("rust").parse(b"fn f() {}")
        return
    factory.configure_failure("rust", "timeout", timeout=0)  # accepted: replaceable as usual
    factory.get_parser("rust").parse(b"fn f() {}")
