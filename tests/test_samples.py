"""Tests for itest_shared.samples: the sample programs are real, valid and runnable."""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.parsers import MockParserFactory, SyntaxNode
from itest_shared.samples import (
    EXTENSION_BY_LANGUAGE,
    LANGUAGE_BY_EXTENSION,
    SAMPLE_OUTPUT,
    SUPPORTED_LANGUAGES,
    SampleFiles,
    language_of,
    sample_code_files,
)

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
needs_rustc = pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc is not installed")

KEYS = ["example.py", "example.js", "example.rs", "example.c"]
OLD_KEYS = {"sample.py": "example.py", "sample.js": "example.js", "sample.rs": "example.rs"}
OLD_KEYS["sample.c"] = "example.c"


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110, cwd=cwd)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    for name, source in sample_code_files().items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    return tmp_path


def _top(language: str, name: str) -> dict[tuple[str, str | None], SyntaxNode]:
    """Parse sample ``name`` with the mock parser; return its top-level nodes by (type, name)."""
    tree = MockParserFactory().get_parser(language).parse(sample_code_files()[name])
    assert not tree.root_node.has_error
    return {(node.type, node.name): node for node in tree.root_node.children}


# ---------------------------------------------------------------- the dict and its keys


def test_keys_are_the_prototypes_four_in_order() -> None:
    files = sample_code_files()
    assert list(files) == KEYS
    assert len(files) == 4
    assert list(files.keys()) == KEYS and [k for k, _ in files.items()] == KEYS
    assert isinstance(files, dict) and isinstance(files, SampleFiles)
    assert [language_of(name) for name in files] == ["python", "javascript", "rust", "c"]
    assert sorted(language_of(name) for name in files) == sorted(SUPPORTED_LANGUAGES)
    for language in SUPPORTED_LANGUAGES:
        assert LANGUAGE_BY_EXTENSION[EXTENSION_BY_LANGUAGE[language]] == language


def test_each_call_returns_a_fresh_dict() -> None:
    first = sample_code_files()
    first["example.py"] = "broken("
    del first["example.c"]
    second = sample_code_files()
    assert second is not first
    assert list(second) == KEYS
    compile(second["example.py"], "example.py", "exec")


def test_old_names_still_read_without_being_listed() -> None:
    files = sample_code_files()
    for old, new in OLD_KEYS.items():
        assert files[old] == files[new]
        assert old not in files  # not listed: iteration, len and `in` see the four new keys
    assert len(files) == 4 and list(files) == KEYS
    # An alias reads the current value under the new name, so an edit shows through it.
    files["example.py"] = "x = 1\n"
    assert files["sample.py"] == "x = 1\n"
    del files["example.c"]
    with pytest.raises(KeyError, match=r"sample\.c"):
        files["sample.c"]
    with pytest.raises(KeyError, match=r"other\.py"):
        files["other.py"]
    # Assigning an old name stores a real key, as for any dict.
    files["sample.js"] = "mine"
    assert files["sample.js"] == "mine" and "sample.js" in files


def test_old_names_survive_copy_and_pickle() -> None:
    files = sample_code_files()
    for clone in (copy.copy(files), copy.deepcopy(files), pickle.loads(pickle.dumps(files))):
        assert type(clone) is SampleFiles
        assert clone == files and list(clone) == KEYS
        assert clone["sample.rs"] == files["example.rs"]


def test_contents_are_ascii_and_start_and_end_with_a_newline() -> None:
    for name, source in sample_code_files().items():
        assert source.isascii(), name
        assert source.startswith("\n"), name
        assert source.endswith("\n") and not source.endswith("\n\n"), name


def test_each_sample_opens_with_calculate_sum_as_the_prototypes_do() -> None:
    files = sample_code_files()
    # The prototype's mock parser keyed on b"def ": first at offset 1 in example.py, inside
    # "typedef" in example.c, absent from the JS and Rust samples. Ours keep that.
    assert files["example.py"].startswith("\ndef calculate_sum(numbers):\n")
    assert "def " in files["example.c"] and "typedef" in files["example.c"]
    assert "def " not in files["example.js"] and "def " not in files["example.rs"]
    factory = MockParserFactory()
    for name, source in files.items():
        first = factory.get_parser(language_of(name)).parse(source).root_node.children[0]
        assert first.name in ("calculate_sum", "calculateSum"), name
        assert first.type in ("function_definition", "function_declaration", "function_item")


def test_language_mappings_are_read_only() -> None:
    with pytest.raises(TypeError):
        LANGUAGE_BY_EXTENSION[".go"] = "go"  # type: ignore[index]


def test_language_of_rejects_unknown_extensions_listing_valid_ones() -> None:
    assert language_of("dir/Module.PY") == "python"
    with pytest.raises(ValueError, match=r"\.c, \.js, \.py, \.rs"):
        language_of("notes.txt")
    with pytest.raises(ValueError, match="no known extension"):
        language_of("Makefile")
    with pytest.raises(TypeError, match="filename"):
        language_of(b"x.py")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the prototype's structure


def _python_namespace() -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "sample_under_test"}
    exec(compile(sample_code_files()["example.py"], "example.py", "exec"), namespace)
    return namespace


def test_python_sample_has_the_prototypes_definitions() -> None:
    tree = ast.parse(sample_code_files()["example.py"])
    top = {node.name: node for node in tree.body if isinstance(node, ast.stmt) and _named(node)}
    func, cls, coro = top["calculate_sum"], top["DataProcessor"], top["fetch_data"]
    assert isinstance(func, ast.FunctionDef) and [a.arg for a in func.args.args] == ["numbers"]
    assert isinstance(cls, ast.ClassDef)
    assert isinstance(coro, ast.AsyncFunctionDef) and [a.arg for a in coro.args.args] == ["url"]
    methods = {node.name: node for node in cls.body if isinstance(node, ast.FunctionDef)}
    assert list(methods) == ["__init__", "process"]
    assert [a.arg for a in methods["process"].args.args] == ["self", "item"]
    for node in (func, methods["process"], coro):
        assert ast.get_docstring(node), node.name
    # fetch_data really awaits an asyncio sleep, and asyncio is imported (ours must run).
    awaited = [n.value for n in ast.walk(coro) if isinstance(n, ast.Await)]
    assert any(ast.unparse(call).startswith("asyncio.sleep(") for call in awaited)
    assert any(isinstance(n, ast.Import) and n.names[0].name == "asyncio" for n in tree.body)


def _named(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def test_python_sample_definitions_behave_as_the_prototypes() -> None:
    namespace = _python_namespace()
    calculate_sum, data_processor = namespace["calculate_sum"], namespace["DataProcessor"]
    fetch_data = namespace["fetch_data"]
    assert callable(calculate_sum) and callable(fetch_data) and isinstance(data_processor, type)
    assert calculate_sum([1, 2, 3.5]) == 6.5 and calculate_sum([]) == 0
    processor = data_processor()
    assert processor.data == []
    assert processor.process(4) == 8 and processor.process(-1) == -2
    assert processor.data == [4, -1]
    assert asyncio.run(fetch_data("https://x.test/a")) == {
        "url": "https://x.test/a",
        "data": "sample",
    }


def test_javascript_sample_has_the_prototypes_definitions() -> None:
    top = _top("javascript", "example.js")
    func = top["function_declaration", "calculateSum"]
    cls = top["class_declaration", "DataProcessor"]
    coro = top["function_declaration", "fetchData"]
    assert func.text.startswith(b"function calculateSum(numbers) {") and not func.is_async
    assert [(m.type, m.name) for m in cls.children] == [
        ("method_definition", "constructor"),
        ("method_definition", "process"),
    ]
    assert cls.children[0].text.startswith(b"constructor() {")
    assert cls.children[1].text.startswith(b"process(item) {")
    assert coro.is_async and coro.text.startswith(b"async function fetchData(url) {")
    assert b"return { url, data: 'sample' };" in coro.text


def test_rust_sample_has_the_prototypes_definitions() -> None:
    top = _top("rust", "example.rs")
    func = top["function_item", "calculate_sum"]
    assert func.text.startswith(b"fn calculate_sum(numbers: &[i32]) -> i32 {")
    struct = top["struct_item", "DataProcessor"]
    assert struct.text == b"struct DataProcessor {\n    data: Vec<i32>,\n}"
    impl = top["impl_item", "DataProcessor"]
    assert [c.text.split(b" {")[0] for c in impl.children] == [
        b"fn new() -> Self",
        b"fn process(&mut self, item: i32) -> i32",
    ]
    coro = top["function_item", "fetch_data"]
    assert coro.is_async and coro.text.startswith(b"async fn fetch_data(url: &str) -> Result<")


def test_c_sample_has_the_prototypes_definitions() -> None:
    source = sample_code_files()["example.c"].encode()
    assert source.startswith(b"\n") and b"\n#include <stdio.h>\n" in source
    top = _top("c", "example.c")
    func = top["function_definition", "calculate_sum"]
    assert func.text.startswith(b"int calculate_sum(int* numbers, int count) {")
    process = top["function_definition", "process_item"]
    assert process.text.startswith(b"void process_item(DataProcessor* dp, int item) {")
    # The anonymous struct, typedef'd to DataProcessor, with the prototype's three fields.
    struct = next(n for n in top.values() if n.type == "struct_specifier")
    assert struct.name is None
    assert source[: struct.start_byte].endswith(b"typedef ")
    assert source[struct.end_byte :].startswith(b" DataProcessor;")
    fields = [line.strip() for line in struct.text.splitlines()[1:-1]]
    assert fields == [b"int* data;", b"int size;", b"int capacity;"]


# ---------------------------------------------------------------- they are real programs


def test_python_sample_compiles_and_runs(sample_dir: Path) -> None:
    source = (sample_dir / "example.py").read_text(encoding="utf-8")
    compile(source, "example.py", "exec")
    assert _run([sys.executable, str(sample_dir / "example.py")]).strip() == SAMPLE_OUTPUT


@needs_node
def test_javascript_sample_checks_and_runs(sample_dir: Path) -> None:
    _run(["node", "--check", str(sample_dir / "example.js")])
    assert _run(["node", str(sample_dir / "example.js")]).strip() == SAMPLE_OUTPUT


@needs_node
def test_javascript_sample_definitions_behave_as_the_prototypes(sample_dir: Path) -> None:
    probe = sample_dir / "probe.js"
    probe.write_text(
        sample_code_files()["example.js"]
        + "fetchData('https://x.test/a').then((fetched) => {\n"
        + "  const p = new DataProcessor();\n"
        + "  const processed = [p.process(4), p.process(-1)];\n"
        + "  console.log(JSON.stringify(\n"
        + "    {sum: calculateSum([1, 2, 3.5]), empty: calculateSum([]), processed,"
        + " data: p.data, fetched}));\n"
        + "});\n",
        encoding="utf-8",
    )
    lines = _run(["node", str(probe)]).splitlines()
    results = [json.loads(line) for line in lines if line.startswith("{")]
    assert results == [
        {
            "sum": 6.5,
            "empty": 0,
            "processed": [8, -2],
            "data": [4, -1],
            "fetched": {"url": "https://x.test/a", "data": "sample"},
        }
    ]


@needs_gcc
def test_c_sample_compiles_cleanly_and_runs(sample_dir: Path) -> None:
    exe = sample_dir / "example_c"
    flags = ["-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    _run(["gcc", *flags, "-o", str(exe), "example.c"], sample_dir)
    assert _run([str(exe)]).strip() == SAMPLE_OUTPUT


@needs_rustc
def test_rust_sample_compiles_cleanly_and_runs(sample_dir: Path) -> None:
    exe = sample_dir / "example_rs"
    _run(["rustc", "--edition", "2021", "-D", "warnings", "-o", str(exe), "example.rs"], sample_dir)
    assert _run([str(exe)]).strip() == SAMPLE_OUTPUT
