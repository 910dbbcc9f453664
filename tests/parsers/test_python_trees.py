"""Tests for the Python syntax trees and the tree and node API all languages share."""

from __future__ import annotations

import pytest

from itest_shared.parsers import MockParserFactory, SyntaxNode
from itest_shared.samples import language_of, sample_code_files
from tests.parsers.support import assert_well_formed, outline


def test_python_tree_reflects_the_code(mock_parser_factory: MockParserFactory) -> None:
    source = b"import sys\n\n\ndef test(x):\n    return x\n\n\nasync def run():\n    await go()\n"
    tree = mock_parser_factory.get_parser("python").parse(source)
    assert_well_formed(tree)
    root = tree.root_node
    assert root.type == "module"
    assert [c.type for c in root.children] == [
        "import_statement",
        "function_definition",
        "function_definition",
    ]
    func, coro = root.children[1:]
    assert (func.name, func.is_async, func.text) == ("test", False, b"def test(x):\n    return x")
    assert func.start_point == (3, 0) and func.end_point == (4, 12)
    assert (coro.name, coro.is_async) == ("run", True)
    assert coro.text.startswith(b"async def run")
    assert [n.type for n in coro.find_all("await", "call")] == ["await", "call"]


def test_python_sample_outline(mock_parser_factory: MockParserFactory) -> None:
    tree = mock_parser_factory.get_parser("python").parse(sample_code_files()["example.py"])
    assert_well_formed(tree)
    definitions = [row for row in outline(tree) if row[1].endswith("definition")]
    assert definitions == [
        (0, "function_definition", "calculate_sum", False),
        (0, "class_definition", "DataProcessor", False),
        (1, "function_definition", "__init__", False),
        (1, "function_definition", "process", False),
        (0, "function_definition", "fetch_data", True),
        (0, "function_definition", "main", False),
    ]
    fetch = tree.root_node.find_all("function_definition")[3]
    assert fetch.text.startswith(b"async def fetch_data(url):\n")
    assert [n.type for n in fetch.find_all("await")] == ["await"]


def test_python_decorated_definitions_are_wrapped(mock_parser_factory: MockParserFactory) -> None:
    source = (
        b"import functools\n\n\nclass Box:\n    @property\n    def size(self):\n"
        b"        return 1\n\n\n@functools.cache\n@staticmethod\nasync def load():\n"
        b"    return 2\n"
    )
    tree = mock_parser_factory.get_parser("python").parse(source)
    assert_well_formed(tree)
    definitions = [row for row in outline(tree) if row[1].endswith(("definition", "decorator"))]
    assert definitions == [
        (0, "class_definition", "Box", False),
        (1, "decorated_definition", None, False),
        (2, "decorator", None, False),
        (2, "function_definition", "size", False),
        (0, "decorated_definition", None, False),
        (1, "decorator", None, False),
        (1, "decorator", None, False),
        (1, "function_definition", "load", True),
    ]
    first, second = tree.root_node.find_all("decorated_definition")
    assert first.text.startswith(b"@property\n    def size")
    assert second.text.startswith(b"@functools.cache\n@staticmethod\nasync def load")


def test_str_input_gives_utf8_byte_offsets(mock_parser_factory: MockParserFactory) -> None:
    text = "s = 'h\u00e9llo \U0001f600'; t = 1\ndef f():\n    return '\u05e9'\n"
    parser = mock_parser_factory.get_parser("python")
    tree = parser.parse(text)
    assert_well_formed(tree)
    assert tree.source == text.encode("utf-8")
    func = tree.root_node.find_all("function_definition")[0]
    assert func.start_byte == text.encode().index(b"def")
    assert func.text.decode() == "def f():\n    return '\u05e9'"
    assignment = tree.root_node.find_all("assignment")[1]
    assert assignment.text == b"t = 1"
    assert tree == parser.parse(text.encode("utf-8"))


def test_python_offsets_follow_bom_cookie_and_carriage_returns(
    mock_parser_factory: MockParserFactory,
) -> None:
    parser = mock_parser_factory.get_parser("python")
    with_bom = parser.parse(b"\xef\xbb\xbfx = 1\n")
    assert with_bom.root_node.find_all("assignment")[0].text == b"x = 1"
    latin1 = "# -*- coding: latin-1 -*-\nx = '\u00e9\u00e9'; y = 2\n".encode("latin-1")
    tree = parser.parse(latin1)
    assert tree.root_node.find_all("assignment")[1].text == b"y = 2"
    lone_cr = b"x = 1\ry = 2\r\ndef f():\r    return 3\n"
    tree = parser.parse(lone_cr)
    assert_well_formed(tree)
    assert tree.root_node.find_all("function_definition")[0].text == b"def f():\r    return 3"
    # Points count LF only, like tree-sitter: the lone CR does not start a row.
    assert tree.root_node.find_all("assignment")[1].start_point == (0, 6)


@pytest.mark.parametrize(
    "source",
    [b"def broken(:\n    pass\n", b"x = (\n", b"a\x00b = 1\n", b"x = '\xff'\n", b"\tif x:\n  y\n"],
)
def test_invalid_python_gives_an_error_tree(
    mock_parser_factory: MockParserFactory, source: bytes
) -> None:
    tree = mock_parser_factory.get_parser("python").parse(source)
    assert_well_formed(tree)
    assert tree.root_node.type == "module"
    assert tree.root_node.has_error
    assert [c.type for c in tree.root_node.children] == ["ERROR"]


def test_deeply_nested_python_is_safe(mock_parser_factory: MockParserFactory) -> None:
    depth = 90
    lines = ["def deep(x):\n"] + ["    " * (i + 1) + f"if x > {i}:\n" for i in range(depth)]
    source = "".join(lines) + "    " * (depth + 1) + "return x\nN = " + "[" * 190 + "]" * 190
    parser = mock_parser_factory.get_parser("python")
    tree = parser.parse(source)
    assert_well_formed(tree)
    assert not tree.root_node.has_error
    assert len(tree.root_node.find_all("if_statement")) == depth
    assert len(tree.root_node.find_all("list")) == 190
    assert tree == parser.parse(source)  # equality does not recurse either


def test_trees_are_deterministic_and_compare_by_content(
    mock_parser_factory: MockParserFactory,
) -> None:
    for name, source in sample_code_files().items():
        parser = mock_parser_factory.get_parser(language_of(name))
        first, second = parser.parse(source), parser.parse(source.encode())
        assert first == second
        assert outline(first) == outline(second)
        assert first != parser.parse(source + "\n\n")
    assert "SyntaxTree python" in repr(first) or "SyntaxTree" in repr(first)
    assert "SyntaxNode" in repr(first.root_node)


def test_node_api_matches_tree_sitter_names(mock_parser_factory: MockParserFactory) -> None:
    tree = mock_parser_factory.get_parser("python").parse(b"x = 1\n")
    node: SyntaxNode = tree.root_node
    for attribute in ("type", "start_byte", "end_byte", "start_point", "end_point", "children"):
        assert hasattr(node, attribute)
    assert node.child_count == 1 and isinstance(node.children, list)
    with pytest.raises(TypeError):
        hash(node)
