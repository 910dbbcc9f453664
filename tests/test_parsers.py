"""Tests for itest_shared.parsers: mock syntax trees and failure injection."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.parsers import (
    FAIL_TYPES,
    MockParseError,
    MockParserFactory,
    SyntaxNode,
    SyntaxTree,
)
from itest_shared.samples import SUPPORTED_LANGUAGES, language_of, sample_code_files
from tests.helpers import run_together


@pytest.fixture
def mock_parser_factory() -> Iterator[MockParserFactory]:
    factory = MockParserFactory()
    yield factory
    factory.reset()


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


# ---------------------------------------------------------------- the SPEC example


def test_parser_failures(mock_parser_factory: MockParserFactory) -> None:
    # Verbatim from SPEC.md (only the import changed).
    mock_parser_factory.configure_failure("python", fail_type="nth_call", n=3)
    parser = mock_parser_factory.get_parser("python")
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")
    with pytest.raises(RuntimeError):
        parser.parse(b"import sys")


# ---------------------------------------------------------------- parsers and languages


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


# ---------------------------------------------------------------- python trees


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


# ---------------------------------------------------------------- scanned trees


def test_sample_outlines_for_brace_languages(mock_parser_factory: MockParserFactory) -> None:
    samples = sample_code_files()
    js = mock_parser_factory.get_parser("javascript").parse(samples["example.js"])
    assert outline(js) == [
        (0, "function_declaration", "calculateSum", False),
        (0, "class_declaration", "DataProcessor", False),
        (1, "method_definition", "constructor", False),
        (1, "method_definition", "process", False),
        (0, "function_declaration", "fetchData", True),
        (0, "function_declaration", "main", True),
        (0, "arrow_function", None, False),
    ]
    rust = mock_parser_factory.get_parser("rust").parse(samples["example.rs"])
    assert outline(rust) == [
        (0, "function_item", "calculate_sum", False),
        (0, "struct_item", "DataProcessor", False),
        (0, "impl_item", "DataProcessor", False),
        (1, "function_item", "new", False),
        (1, "function_item", "process", False),
        (0, "struct_item", "Response", False),
        (0, "enum_item", "Error", False),
        (0, "impl_item", "Error", False),
        (1, "function_item", "fmt", False),
        (0, "struct_item", "YieldOnce", False),
        (0, "impl_item", "YieldOnce", False),
        (1, "function_item", "poll", False),
        (0, "function_item", "fetch_data", True),
        (0, "function_item", "block_on", False),
        (1, "function_item", "noop_raw_waker", False),
        (2, "function_item", "clone", False),
        (2, "function_item", "noop", False),
        (0, "function_item", "main", False),
    ]
    c = mock_parser_factory.get_parser("c").parse(samples["example.c"])
    assert outline(c) == [
        (0, "function_definition", "calculate_sum", False),
        (0, "struct_specifier", None, False),
        (0, "function_definition", "process_item", False),
        (0, "function_definition", "main", False),
    ]
    for tree in (js, rust, c):
        assert_well_formed(tree)
        assert not tree.root_node.has_error
    first_function = c.root_node.find_all("function_definition")[0]
    assert first_function.text.startswith(b"int calculate_sum(int* numbers, int count) {")
    assert first_function.text.endswith(b"}")
    fetch = next(node for node in rust.walk() if node.name == "fetch_data")
    assert fetch.text.startswith(b"async fn fetch_data(url: &str) -> Result<Response, Error> {")


JS_TRICKY = r"""const s = "not { a block";
const t = 'also } not';
const tpl = `x ${ {a: 1}.a } and ${`nested ${'}'}`} }`;
const re = /[{}]+\/{/g;
const div = 10 / 2 / 1;
// function commented() {
/* class Commented { } */
function* gen() {
  yield 1;
}
export default class Widget extends Base {
  static async load(id) {
    return id;
  }
  get size() {
    return 1;
  }
  *items() {
    yield 2;
  }
  #secret() {
    return 3;
  }
}
const handler = async (event) => {
  return event;
};
const obj = {
  method() {
    return 4;
  },
  arrow: () => {
    return 5;
  },
};
if (div) {
  console.log(function () { return 6; });
}
"""


def test_javascript_scan_skips_strings_templates_regexes_comments(
    mock_parser_factory: MockParserFactory,
) -> None:
    tree = mock_parser_factory.get_parser("javascript").parse(JS_TRICKY)
    assert_well_formed(tree)
    assert not tree.root_node.has_error
    assert outline(tree) == [
        (0, "generator_function_declaration", "gen", False),
        (0, "class_declaration", "Widget", False),
        (1, "method_definition", "load", True),
        (1, "method_definition", "size", False),
        (1, "method_definition", "items", False),
        (1, "method_definition", "secret", False),
        (0, "arrow_function", "handler", True),
        (0, "method_definition", "method", False),
        (0, "arrow_function", "arrow", False),
        (0, "function_expression", None, False),
    ]
    load = tree.root_node.find_all("method_definition")[0]
    assert load.text.startswith(b"static async load(id) {") and load.text.endswith(b"}")


RUST_TRICKY = r"""//! crate doc with fn fake() {}
/* outer /* nested fn hidden() {} */ still comment { */
const RAW: &str = r#"fn not_real() { "quoted" }"#;
const CH: char = '{';
const BYTES: &[u8] = b"}{";
pub(crate) struct Pair<'a, T: Fn(u32) -> u32>(&'a str, T);
pub enum Shape { Circle { r: f64 }, Square(f64) }
pub unsafe trait Marker {}
union Bits { i: u32, f: f32 }
pub trait Greeter {
    fn greet(&self) -> String;
    fn twice(&self) -> String { self.greet() }
}
impl<'a, T: Fn(u32) -> u32> Pair<'a, T> {
    pub(crate) async unsafe fn call(&self, x: u32) -> u32 { (self.1)(x) }
}
impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{{}}") }
}
macro_rules! make_fn { ($n:ident) => { fn $n() {} }; }
mod inner { pub extern "C" fn exported() {} }
fn takes_fn(f: fn(u32) -> u32, g: impl Fn() -> u32) -> u32 { f(g()) }
"""


def test_rust_scan_handles_raw_strings_chars_lifetimes_and_nested_comments(
    mock_parser_factory: MockParserFactory,
) -> None:
    tree = mock_parser_factory.get_parser("rust").parse(RUST_TRICKY)
    assert_well_formed(tree)
    assert not tree.root_node.has_error
    assert outline(tree) == [
        (0, "struct_item", "Pair", False),
        (0, "enum_item", "Shape", False),
        (0, "trait_item", "Marker", False),
        (0, "union_item", "Bits", False),
        (0, "trait_item", "Greeter", False),
        (1, "function_signature_item", "greet", False),
        (1, "function_item", "twice", False),
        (0, "impl_item", "Pair", False),
        (1, "function_item", "call", True),
        (0, "impl_item", "Shape", False),
        (1, "function_item", "fmt", False),
        (0, "macro_definition", "make_fn", False),
        (0, "mod_item", "inner", False),
        (1, "function_item", "exported", False),
        (0, "function_item", "takes_fn", False),
    ]
    texts: dict[str, bytes] = {}
    for node in tree.walk():
        if node.name:
            texts.setdefault(node.name, node.text)  # the first: Pair the struct, not the impl
    assert texts["Pair"].startswith(b"pub(crate) struct Pair") and texts["Pair"].endswith(b";")
    assert texts["call"].startswith(b"pub(crate) async unsafe fn call")
    assert texts["exported"] == b'pub extern "C" fn exported() {}'
    assert texts["Marker"] == b"pub unsafe trait Marker {}"


C_TRICKY = r"""#include <stdio.h>
#define BLOCK { int x; }
#define MULTI(a) \
    do { (a); } while (0)
typedef struct { int x; } anon_t;
typedef struct named { int y; } named_t;
union value { int i; float f; };
enum color { RED, GREEN };
static const char *text = "not { a block";
static const char brace = '{';
/* int commented(void) { return 0; } */
struct named *make_named(int y) {
    static struct named n;
    n.y = y;
    if (y) { return &n; }
    return NULL;
}
int __attribute__((noinline)) attributed(void) { return 1; }
int main(int argc, char **argv) {
    struct local { int z; } l = {argc};
    (void)argv;
    return l.z;
}
"""


def test_c_scan_skips_preprocessor_strings_and_chars(
    mock_parser_factory: MockParserFactory,
) -> None:
    tree = mock_parser_factory.get_parser("c").parse(C_TRICKY)
    assert_well_formed(tree)
    assert not tree.root_node.has_error
    assert outline(tree) == [
        (0, "struct_specifier", None, False),
        (0, "struct_specifier", "named", False),
        (0, "union_specifier", "value", False),
        (0, "enum_specifier", "color", False),
        (0, "function_definition", "make_named", False),
        (0, "function_definition", "attributed", False),
        (0, "function_definition", "main", False),
        (1, "struct_specifier", "local", False),
    ]
    make = tree.root_node.find_all("function_definition")[0]
    assert make.text.startswith(b"struct named *make_named(int y) {")
    trailing = mock_parser_factory.get_parser("c").parse(b"int f(void) __attribute__((cold)) {}")
    assert outline(trailing) == [(0, "function_definition", "f", False)]


@pytest.mark.parametrize(
    ("language", "source", "error_text"),
    [
        ("javascript", b"function f() {\n  return 1;\n", b"{\n  return 1;\n"),
        ("javascript", b"function f() {}\n}\n", b"}"),
        ("javascript", b"const s = `never closed ${x}", b"`never closed ${x}"),
        ("javascript", b'const s = "open\nfunction g() {}\n', b'"open'),
        ("c", b"/* never closed\nint f(void) { return 0; }\n", b"/* never closed"),
        ("c", b"int f(void) { return (1; }\n", b"(1; }\n"),
        ("rust", b'const S: &str = r##"open "# ;\nfn f() {}\n', b'r##"open "# ;\nfn f() {}\n'),
        ("rust", b"/* outer /* inner */ still open\nfn f() {}\n", b"/* outer"),
    ],
)
def test_unbalanced_or_unterminated_code_gives_error_nodes(
    mock_parser_factory: MockParserFactory, language: str, source: bytes, error_text: bytes
) -> None:
    tree = mock_parser_factory.get_parser(language).parse(source)
    assert_well_formed(tree)
    assert tree.root_node.has_error
    errors = tree.root_node.find_all("ERROR")
    assert any(e.text.startswith(error_text) for e in errors), errors


def test_unterminated_string_does_not_hide_later_code(
    mock_parser_factory: MockParserFactory,
) -> None:
    tree = mock_parser_factory.get_parser("javascript").parse(b'x = "open\nfunction g() {}\n')
    assert [(row[1], row[2]) for row in outline(tree, "ERROR")] == [("function_declaration", "g")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    language=st.sampled_from((*SUPPORTED_LANGUAGES, "go")),
    data=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet="{}()[]<>\"'`/\\*#!:;=,.\n\r\t rfnbclassync01$@", max_size=300).map(
            str.encode
        ),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
)
def test_any_input_parses_to_a_well_formed_tree(language: str, data: bytes) -> None:
    factory = MockParserFactory()
    parser = factory.get_parser(language)
    tree = parser.parse(data)
    assert_well_formed(tree)
    assert tree == parser.parse(data)


# ---------------------------------------------------------------- failure injection


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


class CustomParserCrash(Exception):
    pass


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


def test_parsers_lists_the_parsers_handed_out(mock_parser_factory: MockParserFactory) -> None:
    assert mock_parser_factory.parsers == {}
    python = mock_parser_factory.get_parser("python")
    mock_parser_factory.configure_failure("go", "always")  # creates nothing: no parser asked for
    go = mock_parser_factory.get_parser("go")
    assert mock_parser_factory.parsers == {"python": python, "go": go}
    assert list(mock_parser_factory.parsers) == ["python", "go"]  # in the order handed out
    mock_parser_factory.parsers.clear()  # a copy: the factory's own is untouched
    assert mock_parser_factory.parsers == {"python": python, "go": go}


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


# ---------------------------------------------------------------- counts under threads


def _hammer(factory: MockParserFactory, language: str, threads: int, calls: int) -> int:
    """Parse from many threads at once; return how many injected failures were caught."""
    parser = factory.get_parser(language)
    start = threading.Barrier(threads)
    caught = [0] * threads

    def work(index: int) -> None:
        start.wait()
        for _ in range(calls):
            try:
                parser.parse(b"x")
            except MockParseError:
                caught[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(100)  # hang guard
        assert not worker.is_alive()
    return sum(caught)


@pytest.mark.usefixtures("contention")
def test_parse_count_is_exact_under_threads(mock_parser_factory: MockParserFactory) -> None:
    assert _hammer(mock_parser_factory, "javascript", threads=16, calls=2000) == 0
    assert mock_parser_factory.get_parser("javascript").parse_count == 32000
    assert mock_parser_factory.parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_failure_counts_are_exact_under_contention(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("c", "nth_call", n=7, every=True)
    caught = _hammer(mock_parser_factory, "c", threads=16, calls=2000)
    assert caught == 32000 // 7 == mock_parser_factory.get_parser("c").failure_count
    assert mock_parser_factory.get_parser("c").parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_seeded_random_failures_match_a_sequential_run_under_threads(
    mock_parser_factory: MockParserFactory,
) -> None:
    mock_parser_factory.configure_failure("rust", "random", rate=0.25, seed=11)
    caught = _hammer(mock_parser_factory, "rust", threads=16, calls=2000)
    sequential = MockParserFactory()
    sequential.configure_failure("rust", "random", rate=0.25, seed=11)
    assert caught == len(_outcomes(sequential, "rust", 32000))
    assert caught == mock_parser_factory.get_parser("rust").failure_count
    assert mock_parser_factory.get_parser("rust").parse_count == 32000


@pytest.mark.usefixtures("contention")
def test_new_languages_under_contention_count_exactly(
    mock_parser_factory: MockParserFactory,
) -> None:
    # Four threads race to create each language's parser and count; none may be lost.
    seen: list[list[int]] = [[] for _ in range(4)]
    calls = 2000

    def work(index: int) -> None:
        language = f"lang{index % 4}"
        parser = mock_parser_factory.get_parser(language)
        seen[index % 4].append(id(parser))
        for _ in range(calls):
            parser.parse(b"x")

    run_together(work, count=16)
    assert all(len(set(ids)) == 1 for ids in seen)  # one object per language
    counts = mock_parser_factory.parse_counts()
    assert {k: counts[k] for k in counts if k.startswith("lang")} == {
        f"lang{k}": 4 * calls for k in range(4)
    }
    assert mock_parser_factory.parse_count == 16 * calls
    assert sorted(mock_parser_factory.parsers) == ["lang0", "lang1", "lang2", "lang3"]


def test_node_api_matches_tree_sitter_names(mock_parser_factory: MockParserFactory) -> None:
    tree = mock_parser_factory.get_parser("python").parse(b"x = 1\n")
    node: SyntaxNode = tree.root_node
    for attribute in ("type", "start_byte", "end_byte", "start_point", "end_point", "children"):
        assert hasattr(node, attribute)
    assert node.child_count == 1 and isinstance(node.children, list)
    with pytest.raises(TypeError):
        hash(node)
