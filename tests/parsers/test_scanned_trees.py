"""Tests for the scanned trees of JavaScript, Rust and C, error nodes and arbitrary input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.parsers import MockParserFactory
from itest_shared.samples import SUPPORTED_LANGUAGES, sample_code_files
from tests.parsers.support import assert_well_formed, outline


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
