"""Structure scanners for C, JavaScript and Rust: definitions and their byte ranges.

Each scanner walks the tokens of ``_parser_lex`` once and reports the definitions it
recognises (functions, classes, structs, impl blocks...) with tree-sitter node type
names, spanning from their first modifier to their closing brace. Unbalanced brackets
and unterminated literals become ``ERROR`` nodes. It is a scan, not a grammar: code
the patterns below do not cover is simply not reported (documented per language).
"""

from __future__ import annotations

from collections.abc import Callable

from ._lex import Tokens, tokenize
from ._tree import ERROR_TYPE, LineIndex, Span, SyntaxNode, nest_spans

ROOT_TYPES = {"c": "translation_unit", "javascript": "program", "rust": "source_file"}

_JS_NOT_METHODS = frozenset(
    b"if for while switch catch with function return typeof await yield new super".split()
)
_JS_METHOD_MODIFIERS = frozenset(b"static async get set * #".split())
_RUST_MODIFIERS = frozenset(b"pub const async unsafe extern default auto".split())
_RUST_TYPE_ITEMS = {b"struct": "struct_item", b"enum": "enum_item", b"union": "union_item"}
_C_NOT_FUNCTIONS = frozenset(
    b"if for while switch return sizeof _Alignof alignof _Generic do else case "
    b"__attribute__ __declspec _Alignas alignas asm __asm__ _Static_assert".split()
)
_C_SPECIFIERS = {
    b"struct": "struct_specifier",
    b"union": "union_specifier",
    b"enum": "enum_specifier",
}


class _Scan:
    """Token access helpers shared by the language scanners."""

    def __init__(self, tokens: Tokens) -> None:
        self.t = tokens
        self.n = len(tokens.kinds)
        self.spans: list[Span] = []

    def text(self, i: int) -> bytes:
        return self.t.texts[i] if 0 <= i < self.n else b""

    def is_id(self, i: int) -> bool:
        return 0 <= i < self.n and self.t.kinds[i] == "id"

    def name(self, i: int) -> str:
        return self.t.texts[i].decode("utf-8", errors="replace")

    def close_of(self, i: int, opener: bytes) -> int:
        """Return the partner of token i if it is ``opener`` and matched, else -1."""
        if self.text(i) == opener and self.t.kinds[i] == "punct":
            return self.t.partner[i]
        return -1

    def first_at_depth(self, i: int, stops: tuple[bytes, ...]) -> int:
        """Return the first token from i at token i's depth whose text is in stops, or -1."""
        depth = self.t.depth[i] if i < self.n else 0
        for j in range(i, self.n):
            d = self.t.depth[j]
            if d < depth:
                return -1
            if d == depth and self.t.kinds[j] == "punct" and self.t.texts[j] in stops:
                return j
        return -1

    def skip_angles(self, i: int) -> int:
        """Return the index after a ``<...>`` group starting at i (or i if none)."""
        if self.text(i) != b"<":
            return i
        level = 0
        for j in range(i, self.n):
            text = self.t.texts[j]
            level += (text == b"<") - (text == b">")
            if level == 0:
                return j + 1
            if text in (b"{", b";"):
                break
        return i

    def add(self, kind: str, first: int, last: int, name: str | None, is_async: bool) -> None:
        self.spans.append(Span(kind, self.t.starts[first], self.t.ends[last], name, is_async))


def _scan_javascript(s: _Scan) -> None:
    """Find JS definitions that have a braced body.

    Reported: ``function_declaration`` / ``generator_function_declaration`` (named),
    ``function_expression`` / ``generator_function`` (anonymous), ``class_declaration``
    (``class`` when anonymous), ``method_definition`` (class and object-literal
    methods, getters, setters, ``static``/``async``/``*``/``#private``), and
    ``arrow_function`` with a braced body (named after ``x =`` or ``x:``). Not
    reported: arrow functions with an expression body, blocks, statements.
    """
    for i in range(s.n):
        text, kind = s.text(i), s.t.kinds[i]
        if kind == "id" and text == b"function" and s.text(i - 1) != b".":
            j = i + 1
            generator = s.text(j) == b"*"
            j += generator
            name = s.name(j) if s.is_id(j) else None
            j += name is not None
            close = s.close_of(j, b"(")
            body = s.close_of(close + 1, b"{") if close >= 0 else -1
            if body < 0:
                continue
            is_async = s.text(i - 1) == b"async"
            if name is None:
                node_type = "generator_function" if generator else "function_expression"
            else:
                node_type = (
                    "generator_function_declaration" if generator else "function_declaration"
                )
            s.add(node_type, i - is_async, body, name, is_async)
        elif kind == "id" and text == b"class" and s.text(i - 1) != b"." and s.text(i + 1) != b":":
            name = s.name(i + 1) if s.is_id(i + 1) and s.text(i + 1) != b"extends" else None
            brace = s.first_at_depth(i, (b"{", b";"))
            body = s.close_of(brace, b"{")
            if body >= 0:
                s.add("class_declaration" if name else "class", i, body, name, False)
        elif kind == "punct" and text == b"=>":
            body = s.close_of(i + 1, b"{")
            if body < 0:
                continue
            first = s.t.partner[i - 1] if s.text(i - 1) == b")" else i - 1
            if first < 0 or (first == i - 1 and not s.is_id(first)):
                continue
            is_async = s.text(first - 1) == b"async"
            first -= is_async
            named = s.text(first - 1) in (b"=", b":") and s.is_id(first - 2)
            s.add("arrow_function", first, body, s.name(first - 2) if named else None, is_async)
        elif kind == "punct" and text == b"(" and _js_method_name(s, i):
            close = s.t.partner[i]
            body = s.close_of(close + 1, b"{") if close >= 0 else -1
            if body < 0:
                continue
            first = s.t.partner[i - 1] if s.text(i - 1) == b"]" else i - 1
            name = s.name(i - 1) if s.is_id(i - 1) else None
            is_async = False
            while s.text(first - 1) in _JS_METHOD_MODIFIERS and first - 1 >= 0:
                first -= 1
                is_async = is_async or s.text(first) == b"async"
            s.add("method_definition", first, body, name, is_async)


def _js_method_name(s: _Scan, i: int) -> bool:
    """True if the ``(`` at i follows a method name (``name(...) {``), not a call or keyword."""
    before = i - 1
    if s.text(before) == b"]":
        return s.t.partner[before] >= 0
    if not s.is_id(before) or s.text(before) in _JS_NOT_METHODS:
        return False
    # ``function name(`` and ``function* name(`` are declarations, found separately;
    # ``obj.name(`` is a call. A lone ``*`` marks a generator method: ``*name() {}``.
    prev = s.text(before - 1)
    if prev == b"*":
        return s.text(before - 2) != b"function"
    return prev not in (b"function", b".")


def _rust_modifiers(s: _Scan, i: int) -> tuple[int, bool]:
    """Walk back over ``pub(crate) const async unsafe extern "C"``; return (first, is_async)."""
    first, is_async = i, False
    while True:
        prev = first - 1
        if s.text(prev) == b")" and s.text(s.t.partner[prev] - 1) == b"pub":
            first = s.t.partner[prev] - 1
        elif s.is_id(prev) and s.text(prev) in _RUST_MODIFIERS:
            first = prev
            is_async = is_async or s.text(prev) == b"async"
        elif prev >= 0 and s.t.kinds[prev] == "str" and s.text(prev - 1) == b"extern":
            first = prev - 1
        else:
            return first, is_async


def _rust_item_start(s: _Scan, i: int) -> bool:
    """True if token i starts an item (not ``impl Trait`` in a type, say)."""
    prev = i - 1
    while s.text(prev) in (b"unsafe", b"default"):
        prev -= 1
    return prev < 0 or s.text(prev) in (b";", b"}", b"{", b"]")


def _scan_rust(s: _Scan) -> None:
    """Find Rust items.

    Reported: ``function_item`` (``function_signature_item`` for a bodiless trait
    fn), ``struct_item`` (braced, tuple and unit), ``enum_item``, ``union_item``,
    ``trait_item``, ``impl_item`` (named after the implementing type), ``mod_item``
    and ``macro_definition`` (``macro_rules!``, whose body is not searched). Ranges
    start at the visibility or qualifiers (``pub(crate) async unsafe extern "C"``),
    not at attributes. Not reported: closures, async blocks, consts, statics, uses.
    """
    i = 0
    while i < s.n:
        text, kind = s.text(i), s.t.kinds[i]
        if kind != "id":
            i += 1
            continue
        if text == b"macro_rules" and s.text(i + 1) == b"!" and s.is_id(i + 2):
            # A macro body is token soup that may mention fn or struct: skip it whole.
            close = s.t.partner[i + 3] if i + 3 < s.n else -1
            if close >= 0:
                s.add("macro_definition", i, close, s.name(i + 2), False)
                i = close
        elif text == b"fn" and s.is_id(i + 1):
            params = s.skip_angles(i + 2)
            close = s.close_of(params, b"(")
            stop = s.first_at_depth(close + 1, (b"{", b";")) if close >= 0 else -1
            if stop >= 0:
                first, is_async = _rust_modifiers(s, i)
                if s.text(stop) == b"{" and s.t.partner[stop] >= 0:
                    s.add("function_item", first, s.t.partner[stop], s.name(i + 1), is_async)
                elif s.text(stop) == b";":
                    s.add("function_signature_item", first, stop, s.name(i + 1), is_async)
        elif (text in _RUST_TYPE_ITEMS or text in (b"trait", b"mod")) and s.is_id(i + 1):
            if text == b"union" and s.text(i + 2) not in (b"{", b"<"):
                i += 1  # ``union`` is only a keyword before a definition
                continue
            stop = s.first_at_depth(s.skip_angles(i + 2), (b"{", b";", b"("))
            if s.text(stop) == b"(" and s.t.partner[stop] >= 0:
                stop = s.first_at_depth(s.t.partner[stop] + 1, (b";",))
            end = s.t.partner[stop] if s.text(stop) == b"{" else stop
            if stop >= 0 and end >= 0:
                node_type = _RUST_TYPE_ITEMS.get(text) or f"{text.decode()}_item"
                s.add(node_type, _rust_modifiers(s, i)[0], end, s.name(i + 1), False)
        elif text == b"impl" and _rust_item_start(s, i):
            brace = s.first_at_depth(i + 1, (b"{", b";"))
            body = s.close_of(brace, b"{")
            if body >= 0:
                first = _rust_modifiers(s, i)[0]
                s.add("impl_item", first, body, _rust_impl_name(s, i, brace), False)
        i += 1


def _rust_impl_name(s: _Scan, impl: int, brace: int) -> str | None:
    """Return the implementing type's name: the last path segment after ``for`` or generics."""
    j = s.skip_angles(impl + 1)
    for k in range(j, brace):
        if s.text(k) == b"for" and s.t.depth[k] == s.t.depth[impl]:
            j = k + 1
            break
    name = None
    while j < brace and (s.text(j) in (b"&", b"mut", b"dyn") or s.t.kinds[j] == "lifetime"):
        j += 1
    while s.is_id(j) and j < brace:
        name = s.name(j)
        if s.text(j + 1) != b"::":
            break
        j += 2
    return name


def _scan_c(s: _Scan) -> None:
    """Find C definitions.

    Reported: ``function_definition`` at file level (from the start of its
    declaration: storage class and return type included) and ``struct_specifier``,
    ``union_specifier``, ``enum_specifier`` with a braced body, at any depth.
    Preprocessor lines are skipped whole, so macros are not expanded: a function
    whose name or braces come from a macro is not reported. K&R-style parameter
    declarations are not recognised.
    """
    for i in range(s.n):
        text, kind = s.text(i), s.t.kinds[i]
        if kind == "id" and text in _C_SPECIFIERS:
            brace = i + 2 if s.is_id(i + 1) else i + 1
            body = s.close_of(brace, b"{")
            if body >= 0:
                name = s.name(i + 1) if brace == i + 2 else None
                s.add(_C_SPECIFIERS[text], i, body, name, False)
        elif kind == "punct" and text == b"(" and s.t.depth[i] == 0 and s.is_id(i - 1):
            close = s.t.partner[i]
            if s.text(i - 1) in _C_NOT_FUNCTIONS or close < 0:
                continue
            after = close + 1
            # GNU attributes may sit between the parameters and the body.
            while s.text(after) == b"__attribute__" and s.close_of(after + 1, b"(") >= 0:
                after = s.close_of(after + 1, b"(") + 1
            body = s.close_of(after, b"{")
            if body < 0:
                continue
            first = i - 1
            while first > 0 and not (
                s.t.depth[first - 1] == 0 and s.text(first - 1) in (b";", b"}")
            ):
                first -= 1
            s.add("function_definition", first, body, s.name(i - 1), False)


_SCANNERS: dict[str, Callable[[_Scan], None]] = {
    "c": _scan_c,
    "javascript": _scan_javascript,
    "rust": _scan_rust,
}


def build_scanned_tree(source: bytes, language: str) -> SyntaxNode:
    """Return the root node for ``source`` in a brace language (``c``, ``javascript``, ``rust``)."""
    tokens = tokenize(source, language)
    scan = _Scan(tokens)
    _SCANNERS[language](scan)
    spans = scan.spans + [Span(ERROR_TYPE, start, end) for start, end in tokens.errors]
    return nest_spans(ROOT_TYPES[language], source, spans, LineIndex(source))
