"""Python syntax trees built from the real ``ast``, with tree-sitter node types and byte ranges."""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize

from ._tree import ERROR_TYPE, LineIndex, SyntaxNode

# ast class name -> tree-sitter-python node type. Unlisted classes fall back to their
# snake_case name, so every located ast node still appears, deterministically.
_TYPES = {
    "Module": "module",
    "FunctionDef": "function_definition",
    "AsyncFunctionDef": "function_definition",
    "ClassDef": "class_definition",
    "Return": "return_statement",
    "Delete": "delete_statement",
    "Assign": "assignment",
    "AugAssign": "augmented_assignment",
    "AnnAssign": "assignment",
    "For": "for_statement",
    "AsyncFor": "for_statement",
    "While": "while_statement",
    "If": "if_statement",
    "With": "with_statement",
    "AsyncWith": "with_statement",
    "Match": "match_statement",
    "Raise": "raise_statement",
    "Try": "try_statement",
    "TryStar": "try_statement",
    "Assert": "assert_statement",
    "Import": "import_statement",
    "ImportFrom": "import_from_statement",
    "Global": "global_statement",
    "Nonlocal": "nonlocal_statement",
    "Expr": "expression_statement",
    "Pass": "pass_statement",
    "Break": "break_statement",
    "Continue": "continue_statement",
    "ExceptHandler": "except_clause",
    "BoolOp": "boolean_operator",
    "NamedExpr": "named_expression",
    "BinOp": "binary_operator",
    "UnaryOp": "unary_operator",
    "Lambda": "lambda",
    "IfExp": "conditional_expression",
    "Dict": "dictionary",
    "Set": "set",
    "ListComp": "list_comprehension",
    "SetComp": "set_comprehension",
    "DictComp": "dictionary_comprehension",
    "GeneratorExp": "generator_expression",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "Compare": "comparison_operator",
    "Call": "call",
    "JoinedStr": "string",
    "Attribute": "attribute",
    "Subscript": "subscript",
    "Starred": "list_splat",
    "Name": "identifier",
    "List": "list",
    "Tuple": "tuple",
    "Slice": "slice",
    "keyword": "keyword_argument",
    "alias": "aliased_import",
    "arg": "parameter",
}

_ASYNC = frozenset({"AsyncFunctionDef", "AsyncFor", "AsyncWith"})
_DEFINITIONS = frozenset({"FunctionDef", "AsyncFunctionDef", "ClassDef"})
# Python's own line breaks (the tokenizer's universal newlines), for lineno -> byte offset.
_PY_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _type_of(node: ast.AST) -> str:
    cls = type(node).__name__
    if cls == "Constant":
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "none"
        if value is Ellipsis:
            return "ellipsis"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, (float, complex)):
            return "float"
        return "string"
    return _TYPES.get(cls) or _CAMEL.sub("_", cls).lower()


# ast class name -> the field holding the name a node defines or refers to.
_NAME_FIELDS = {
    "FunctionDef": "name",
    "AsyncFunctionDef": "name",
    "ClassDef": "name",
    "Name": "id",
    "arg": "arg",
    "keyword": "arg",
}
# Fields that only hold unlocated markers (Load/Store, operators): never worth a visit.
_SKIP_FIELDS = frozenset({"ctx", "op", "ops", "decorator_list", "type_comment"})


class _Positions:
    """Maps ast positions (line from 1, column in UTF-8 bytes) to offsets in the source bytes."""

    def __init__(self, source: bytes, encoding: str) -> None:
        self._source = source
        self._starts = [0] + [m.end() for m in _PY_LINE_BREAK.finditer(source)]
        # ast columns on line 1 do not count a UTF-8 byte order mark.
        self._bom = 3 if source.startswith(codecs.BOM_UTF8) else 0
        self._utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        self._encoding = encoding
        self._decoded: dict[int, str] = {}  # lineno -> text, for non-UTF-8 sources

    def offset(self, lineno: int, col: int) -> int:
        """Return the byte offset of column ``col`` (UTF-8 bytes) on line ``lineno``."""
        start = self._starts[min(lineno, len(self._starts)) - 1]
        if lineno == 1:
            start += self._bom
        if self._utf8:
            return start + col
        # A PEP 263 coding cookie (say latin-1): ast counts the UTF-8 bytes of the decoded
        # line, so decode this line and measure the prefix in the file's own encoding.
        line = self._decoded.get(lineno)
        if line is None:
            end = self._starts[lineno] if lineno < len(self._starts) else len(self._source)
            line = self._decoded[lineno] = self._source[start:end].decode(self._encoding)
        prefix = line.encode("utf-8")[:col].decode("utf-8", errors="ignore")
        return start + len(prefix.encode(self._encoding))


def _source_encoding(source: bytes) -> str:
    # detect_encoding reads at most the two lines a coding cookie may sit on.
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    return encoding


def _error_tree(source: bytes, lines: LineIndex) -> SyntaxNode:
    end = lines.point(len(source))
    error = SyntaxNode(ERROR_TYPE, 0, len(source), (0, 0), end, source=source)
    return SyntaxNode("module", 0, len(source), (0, 0), end, [error], source=source)


def build_python_tree(source: bytes, text: str | None = None) -> SyntaxNode:
    """Return the root ``module`` node for Python ``source`` (``text``: the str it came from).

    Source that does not compile gives a ``module`` holding one ``ERROR`` node over the
    whole input, so ``root_node.has_error`` is True (tree-sitter style: no exception).
    """
    lines = LineIndex(source)
    try:
        # A str is parsed as given (a coding cookie in it means nothing); bytes are decoded
        # the way the interpreter would, honouring a BOM or coding cookie.
        module = ast.parse(text if text is not None else source)
        encoding = "utf-8" if text is not None else _source_encoding(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, LookupError):
        # ValueError: NUL bytes on older Pythons; RecursionError/MemoryError: pathological
        # nesting; LookupError: a coding cookie naming an unknown codec.
        return _error_tree(source, lines)
    positions = _Positions(source, encoding)
    root = SyntaxNode("module", 0, len(source), (0, 0), lines.point(len(source)), source=source)

    # Explicit stack instead of recursion: deeply nested code must not hit the limit.
    stack: list[tuple[ast.AST, SyntaxNode]] = [(child, root) for child in module.body]
    push = stack.append
    while stack:
        node, parent = stack.pop()
        cls = type(node).__name__
        end_col = getattr(node, "end_col_offset", None)
        if end_col is None:
            # Unlocated helpers (arguments, comprehension, withitem...): their located
            # children belong to the nearest located ancestor.
            stack.extend((child, parent) for child in ast.iter_child_nodes(node))
            continue
        if cls in _DEFINITIONS and node.decorator_list:  # type: ignore[attr-defined]
            decorators = node.decorator_list  # type: ignore[attr-defined]
            parent = _decorated(node, decorators, parent, positions, lines, source, stack)
        start = positions.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = positions.offset(node.end_lineno, end_col)  # type: ignore[attr-defined]
        name_field = _NAME_FIELDS.get(cls)
        this = SyntaxNode(
            _type_of(node),
            start,
            end,
            lines.point(start),
            lines.point(end),
            name=getattr(node, name_field) if name_field else None,
            is_async=cls in _ASYNC,
            source=source,
        )
        parent.children.append(this)
        if cls == "JoinedStr":
            # f-string parts carry unreliable positions before Python 3.12: keep it a leaf.
            continue
        for field in node._fields:
            if field in _SKIP_FIELDS:
                continue
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        push((item, this))
            elif isinstance(value, ast.AST):
                push((value, this))
    for built in root.walk():
        if len(built.children) > 1:
            built.children.sort(key=_source_order)
    return root


def _source_order(node: SyntaxNode) -> tuple[int, int]:
    return node.start_byte, -node.end_byte


def _decorated(
    node: ast.AST,
    decorators: list[ast.expr],
    parent: SyntaxNode,
    positions: _Positions,
    lines: LineIndex,
    source: bytes,
    stack: list[tuple[ast.AST, SyntaxNode]],
) -> SyntaxNode:
    """Add a ``decorated_definition`` (decorators + definition) to parent; return it."""
    first = decorators[0]
    start = _at_sign(source, positions.offset(first.lineno, first.col_offset))
    end = positions.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    wrapper = SyntaxNode(
        "decorated_definition",
        start,
        end,
        lines.point(start),
        lines.point(end),
        source=source,
    )
    parent.children.append(wrapper)
    for expr in decorators:
        expr_start = positions.offset(expr.lineno, expr.col_offset)
        at = _at_sign(source, expr_start)
        expr_end = positions.offset(expr.end_lineno or expr.lineno, expr.end_col_offset or 0)
        decorator = SyntaxNode(
            "decorator", at, expr_end, lines.point(at), lines.point(expr_end), source=source
        )
        wrapper.children.append(decorator)
        stack.append((expr, decorator))
    return wrapper


def _at_sign(source: bytes, expr_start: int) -> int:
    """Return the offset of the ``@`` before a decorator expression (or the expression's)."""
    i = expr_start - 1
    while i >= 0 and source[i : i + 1] in (b" ", b"\t", b"\x0c"):
        i -= 1
    return i if i >= 0 and source[i : i + 1] == b"@" else expr_start
