"""Tests for the parser factory: one parser per language, language names, what parse accepts."""

from __future__ import annotations

import pytest

from itest_shared.parsers import MockParseError, MockParserFactory
from itest_shared.samples import SUPPORTED_LANGUAGES
from tests.parsers.support import _outcomes, assert_well_formed


def test_one_parser_per_language(mock_parser_factory: MockParserFactory) -> None:
    for language in SUPPORTED_LANGUAGES:
        parser = mock_parser_factory.get_parser(language)
        assert parser is mock_parser_factory.get_parser(language)
        assert parser.language == language
    assert mock_parser_factory.languages == SUPPORTED_LANGUAGES


@pytest.mark.parametrize("method", ["get_parser", "configure_failure", "clear_failure"])
def test_language_must_be_a_non_empty_str(
    mock_parser_factory: MockParserFactory, method: str
) -> None:
    rest = ("always",) if method == "configure_failure" else ()
    with pytest.raises(ValueError, match="language must be a non-empty str, got ''"):
        getattr(mock_parser_factory, method)("", *rest)
    with pytest.raises(TypeError, match="language must be a str, got NoneType"):
        getattr(mock_parser_factory, method)(None, *rest)
    with pytest.raises(TypeError, match="language must be a str, got bytes"):
        getattr(mock_parser_factory, method)(b"python", *rest)
    assert mock_parser_factory.parsers == {}
    assert mock_parser_factory.parse_counts() == dict.fromkeys(SUPPORTED_LANGUAGES, 0)


def test_any_other_language_gets_a_childless_module_tree(
    mock_parser_factory: MockParserFactory,
) -> None:
    # The prototype accepted any language name; its root type was "module".
    parser = mock_parser_factory.get_parser("go")
    assert parser is mock_parser_factory.get_parser("go") and parser.language == "go"
    source = 'package main\n\nfunc main() { println("h\u00e9") }\n'
    tree = parser.parse(source)
    assert_well_formed(tree)
    root = tree.root_node
    assert (tree.language, root.type, root.children) == ("go", "module", [])
    assert (root.start_byte, root.end_byte) == (0, len(source.encode()))
    assert (root.start_point, root.end_point) == ((0, 0), (3, 0))
    assert not root.has_error
    assert tree == parser.parse(source.encode())
    assert parser.parse(b"").root_node.end_byte == 0
    # Names are case-sensitive and taken as given: "Python" is not "python".
    other = mock_parser_factory.get_parser("Python").parse(b"def f(): pass\n")
    assert (other.root_node.type, other.root_node.children) == ("module", [])
    assert mock_parser_factory.parse_counts() == {
        **dict.fromkeys(SUPPORTED_LANGUAGES, 0),
        "go": 3,
        "Python": 1,
    }
    assert mock_parser_factory.parse_count == 4


def test_failure_injection_works_for_any_language(mock_parser_factory: MockParserFactory) -> None:
    mock_parser_factory.configure_failure("kotlin", "nth_call", n=2)
    assert _outcomes(mock_parser_factory, "kotlin", 4) == [2]
    mock_parser_factory.configure_failure("kotlin", "always")
    with pytest.raises(MockParseError, match="Parser failed for kotlin"):
        mock_parser_factory.get_parser("kotlin").parse(b"fun main() {}")
    assert mock_parser_factory.failure_counts()["kotlin"] == 2
    assert mock_parser_factory.get_parser("kotlin").failure_count == 2
    mock_parser_factory.clear_failure("kotlin")
    mock_parser_factory.get_parser("kotlin").parse(b"fun main() {}")
    assert mock_parser_factory.get_parser("kotlin").parse_count == 6
    mock_parser_factory.clear_failure("never-configured")  # a no-op, like any language


def test_parse_rejects_non_text_without_counting(mock_parser_factory: MockParserFactory) -> None:
    parser = mock_parser_factory.get_parser("python")
    with pytest.raises(TypeError, match="code must be bytes or str, got int"):
        parser.parse(42)  # type: ignore[arg-type]
    assert parser.parse_count == 0


def test_parsers_lists_the_parsers_handed_out(mock_parser_factory: MockParserFactory) -> None:
    assert mock_parser_factory.parsers == {}
    python = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("go", "always")  # creates nothing: no parser asked for
    go = mock_parser_factory.get_parser("go")
    assert mock_parser_factory.parsers == {"python": python, "go": go}
    assert list(mock_parser_factory.parsers) == ["python", "go"]  # in the order handed out
    mock_parser_factory.parsers.clear()  # a copy: the factory's own is untouched
    assert mock_parser_factory.parsers == {"python": python, "go": go}


def test_parse_accepts_and_ignores_keyword_arguments(
    mock_parser_factory: MockParserFactory,
) -> None:
    # tree-sitter's parse takes e.g. old_tree=; the prototype ignored every keyword.
    parser = mock_parser_factory.get_parser("python")
    first = parser.parse(b"def f(): pass\n")
    again = parser.parse(b"def f(): pass\n", old_tree=first, keep_text=True)
    assert again == first
    assert parser.parse(code=b"x = 1\n").root_node.children[0].type == "assignment"
    assert parser.parse_count == 3
