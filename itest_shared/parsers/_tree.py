"""The syntax tree the mock parsers return, shaped like tree-sitter's ``Tree`` and ``Node``."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

import attrs

#: The node type that marks source the parser could not make sense of (as in tree-sitter).
ERROR_TYPE = "ERROR"

_NEWLINE = re.compile(rb"\n")


class LineIndex:
    """Turns byte offsets into tree-sitter points: ``(row, column)``, both in bytes from 0."""

    def __init__(self, source: bytes) -> None:
        # tree-sitter counts only LF as a row break (a lone CR is an ordinary byte), so
        # points follow it even where a language's own idea of a line differs.
        self._starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]

    def point(self, offset: int) -> tuple[int, int]:
        """Return the ``(row, column)`` of byte ``offset``."""
        row = bisect.bisect_right(self._starts, offset) - 1
        return row, offset - self._starts[row]


@attrs.define(eq=False, repr=False)
class SyntaxNode:
    """One node of a mock syntax tree: a type, a byte range, points and children in order.

    ``name`` is the defined name for definitions (functions, classes, structs...) and
    identifiers, else None; ``is_async`` marks ``async`` functions and statements.
    Children are in source order and lie inside their parent's byte range.
    """

    type: str
    start_byte: int
    end_byte: int
    start_point: tuple[int, int]
    end_point: tuple[int, int]
    children: list[SyntaxNode] = attrs.field(factory=list)
    name: str | None = None
    is_async: bool = False
    # The whole parsed source, shared (not copied) by every node, so ``text`` is a slice.
    _source: bytes = b""

    @property
    def text(self) -> bytes:
        """Return the source bytes this node spans."""
        return self._source[self.start_byte : self.end_byte]

    @property
    def child_count(self) -> int:
        """Return the number of direct children."""
        return len(self.children)

    @property
    def has_error(self) -> bool:
        """Return True if this node or any descendant is an ``ERROR`` node."""
        return any(node.type == ERROR_TYPE for node in self.walk())

    def walk(self) -> Iterator[SyntaxNode]:
        """Yield this node and every descendant in source (pre-)order."""
        # Iterative, so a deeply nested tree cannot exhaust the recursion limit.
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def find_all(self, *types: str) -> list[SyntaxNode]:
        """Return every node in this subtree (itself included) whose type is one of ``types``."""
        wanted = set(types)
        return [node for node in self.walk() if node.type in wanted]

    def _shape(self) -> tuple[object, ...]:
        return (
            self.type,
            self.start_byte,
            self.end_byte,
            self.start_point,
            self.end_point,
            self.name,
            self.is_async,
            len(self.children),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyntaxNode):
            return NotImplemented
        # Compare the pre-order sequences instead of recursing: deep trees stay safe.
        # Equal child counts at every node make equal sequences mean equal trees.
        pairs = zip(self.walk(), other.walk(), strict=False)
        return all(a._shape() == b._shape() for a, b in pairs)

    __hash__ = None  # type: ignore[assignment]  # mutable children: not hashable

    def __repr__(self) -> str:
        name = f" name={self.name!r}" if self.name is not None else ""
        flag = " async" if self.is_async else ""
        return (
            f"<SyntaxNode {self.type}{name}{flag} [{self.start_byte}:{self.end_byte}] "
            f"{self.start_point}-{self.end_point} children={len(self.children)}>"
        )


@attrs.define(eq=False, repr=False)
class SyntaxTree:
    """A parsed source: the language, the exact bytes parsed and the ``root_node``."""

    language: str
    source: bytes
    root_node: SyntaxNode

    def walk(self) -> Iterator[SyntaxNode]:
        """Yield every node of the tree in source (pre-)order."""
        return self.root_node.walk()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyntaxTree):
            return NotImplemented
        return (
            self.language == other.language
            and self.source == other.source
            and self.root_node == other.root_node
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<SyntaxTree {self.language} {len(self.source)} bytes "
            f"root={self.root_node.type} has_error={self.root_node.has_error}>"
        )


@attrs.frozen
class Span:
    """A node found by a scanner, before it is placed in the tree."""

    type: str
    start: int
    end: int
    name: str | None = None
    is_async: bool = False


def nest_spans(
    root_type: str, source: bytes, spans: Iterable[Span], lines: LineIndex | None = None
) -> SyntaxNode:
    """Build a tree under a root spanning all of ``source`` by nesting spans by containment.

    A span that straddles the end of an enclosing span (which a sound scanner never
    produces) is dropped, so the result is always a proper tree.
    """
    lines = lines or LineIndex(source)
    root = SyntaxNode(root_type, 0, len(source), (0, 0), lines.point(len(source)), source=source)
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    stack = [root]
    for span in ordered:
        while stack[-1] is not root and span.start >= stack[-1].end_byte:
            stack.pop()
        parent = stack[-1]
        if span.end > parent.end_byte or span.start < parent.start_byte:
            continue
        node = SyntaxNode(
            span.type,
            span.start,
            span.end,
            lines.point(span.start),
            lines.point(span.end),
            name=span.name,
            is_async=span.is_async,
            source=source,
        )
        parent.children.append(node)
        stack.append(node)
    return root
