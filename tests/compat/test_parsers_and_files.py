"""COMPAT sections 12 and 13: mock_parser_factory and test_file_generator."""

from __future__ import annotations

import pytest

from tests.compat.support import run_suite

# --- sections 12, 13: mock parsers and generated files -------------------------------------------

PARSERS_AND_FILES = """
import pytest


def test_parser_failures(mock_parser_factory):
    mock_parser_factory.configure_failure('python', fail_type='nth_call', n=3)
    parser = mock_parser_factory.get_parser('python')
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")
    with pytest.raises(RuntimeError, match="Parser failed on call 3"):
        parser.parse(b"import sys")
    parser.parse(b"x = 1")  # later calls succeed
    assert parser.parse_count == 4


def test_parser_always_and_attributes(mock_parser_factory):
    parser = mock_parser_factory.get_parser("javascript")
    assert mock_parser_factory.get_parser("javascript") is parser
    assert mock_parser_factory.parsers == {"javascript": parser}
    mock_parser_factory.configure_failure("javascript", "always")
    assert parser.fail_on_parse is True
    with pytest.raises(RuntimeError, match="Parser failed for javascript"):
        parser.parse(b"function f() {}")
    parser.fail_on_parse = False
    parser.parse(b"function f() {}", keep_text=True)  # extra keyword arguments are ignored
    parser.fail_on_nth_call = 1
    with pytest.raises(RuntimeError, match="Parser failed on call 1"):
        parser.parse(b"")
    parser.fail_on_nth_call = None
    parser.timeout = 0.01  # the "timeout" mode sleeps, then succeeds
    assert parser.parse(b"x").root_node is not None
    mock_parser_factory.reset()
    assert mock_parser_factory.parsers == {}
    assert mock_parser_factory.get_parser("javascript") is not parser


def test_parser_tree_shape(mock_parser_factory):
    code = b"import os\\n\\ndef handler(event):\\n    return event\\n"
    tree = mock_parser_factory.get_parser("python").parse(code)
    root = tree.root_node
    assert root.type == "module"
    assert (root.start_byte, root.end_byte) == (0, len(code))
    assert root.start_point == (0, 0) and root.end_point[0] == code.count(b"\\n")
    functions = [c for c in root.children if c.type == "function_definition"]
    assert len(functions) == 1 and functions[0].start_byte == code.index(b"def ")
    assert functions[0].children is not None


def test_parser_timeout_default_is_ten_seconds(mock_parser_factory):
    mock_parser_factory.configure_failure("python", "timeout")
    assert mock_parser_factory.get_parser("python").timeout == 10


def test_unknown_fail_type_is_refused(mock_parser_factory):
    with pytest.raises(ValueError, match="unknown fail_type 'sometimes'"):
        mock_parser_factory.configure_failure("python", "sometimes")


def test_file_generator(test_file_generator, temp_workspace):
    gen = test_file_generator
    assert gen.workspace == temp_workspace
    path = gen.create_file("main.py", "print('hi')\\n", subdir="src")
    assert path == temp_workspace / "src" / "main.py"
    assert path.read_text() == "print('hi')\\n"
    top = gen.create_file("top.txt", "x")
    assert top == temp_workspace / "top.txt"
    big = gen.create_large_file("big.py", 1, pattern="handler")
    size = big.stat().st_size
    assert 1024 * 1024 <= size < 1024 * 1024 * 1.01  # close to the target ([DEFECT 2])
    text = big.read_text()
    assert text.count("def handler_") > 1000 and "def function_" not in text
    compile(text, "big.py", "exec")
    js = gen.create_large_file("big.js", 0.5, language="javascript")  # [DEFECT 1] fixed
    assert "function function_" in js.read_text()
    gen.create_large_file("half.py", 0.5)  # [DEFECT 4] fixed: a float size
    syntax = gen.create_error_file("bad.py", "syntax")
    with pytest.raises(SyntaxError):
        compile(syntax.read_bytes(), "bad.py", "exec")
    gen.create_error_file("emoji.py", "unicode").read_text(encoding="utf-8")
    assert b"\\x00" in gen.create_error_file("blob.py", "binary").read_bytes()
    assert gen.generated_files[:3] == [path, top, big]
    assert len(gen.generated_files) == 8


def test_file_generator_refuses_what_would_escape(test_file_generator):
    # [DEFECT 5] fixed.
    for name in ("../outside.py", "/tmp/outside.py"):
        with pytest.raises(ValueError, match="refusing file name"):
            test_file_generator.create_file(name, "x")


def test_file_generator_cleanup(test_file_generator):
    path = test_file_generator.create_file("gone.py", "x")
    test_file_generator.cleanup()
    assert not path.exists()
"""


def test_mock_parsers_and_file_generator(worktree: pytest.Pytester) -> None:
    run_suite(worktree, PARSERS_AND_FILES).assert_outcomes(passed=8)
