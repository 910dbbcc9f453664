"""Helpers shared by the parser tests: tree checks, outlines, failure outcomes."""

from __future__ import annotations

from itest_shared.parsers import MockParseError, MockParserFactory, SyntaxTree


def _point(source: bytes, offset: int) -> tuple[int, int]:
    return source.count(b"\n", 0, offset), offset - (source.rfind(b"\n", 0, offset) + 1)


def assert_well_formed(tree: SyntaxTree) -> None:
    """Every node lies in its parent, siblings are ordered and disjoint, points agree."""
    source = tree.source
    root = tree.root_node
    assert (root.start_byte, root.end_byte) == (0, len(source))
    for node in tree.walk():
        assert 0 <= node.start_byte <= node.end_byte <= len(source)
        assert node.start_point == _point(source, node.start_byte)
        assert node.end_point == _point(source, node.end_byte)
        assert node.text == source[node.start_byte : node.end_byte]
        previous_end = node.start_byte
        for child in node.children:
            assert child.start_byte >= previous_end, (node, child)
            assert child.end_byte <= node.end_byte, (node, child)
            previous_end = child.end_byte


def outline(tree: SyntaxTree, *skip: str) -> list[tuple[int, str, str | None, bool]]:
    """Return (depth, type, name, is_async) for every non-root node, in order."""
    rows = []
    stack = [(child, 0) for child in reversed(tree.root_node.children)]
    while stack:
        node, depth = stack.pop()
        if node.type not in skip:
            rows.append((depth, node.type, node.name, node.is_async))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return rows


def _outcomes(parser_factory: MockParserFactory, language: str, calls: int) -> list[int]:
    """Return the 1-based call numbers that raised MockParseError."""
    parser = parser_factory.get_parser(language)
    failed = []
    for call in range(1, calls + 1):
        try:
            parser.parse(b"x = 1")
        except MockParseError:
            failed.append(call)
    return failed


class CustomParserCrash(Exception):
    pass
