"""Tests for create_large_file: sizes, valid programs, flat memory and name prefixes."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from itest_shared.files import MIB, PATTERNS, TestFileGenerator
from itest_shared.parsers import MockParserFactory
from itest_shared.samples import SUPPORTED_LANGUAGES
from tests.files.support import _name, assert_valid

PATTERN_LANGUAGES = [
    (pattern, language)
    for pattern in PATTERNS
    for language in SUPPORTED_LANGUAGES
    if not (pattern == "async" and language == "c")
]


@pytest.mark.parametrize(("pattern", "language"), PATTERN_LANGUAGES)
def test_large_file_size_is_at_least_target_and_under_one_block_more(
    gen: TestFileGenerator, pattern: str, language: str
) -> None:
    block = gen.create_large_file(
        _name("one", language), size_bytes=1, pattern=pattern, language=language
    )
    block_size = block.stat().st_size
    assert block_size > 0
    targets = [0, 1, block_size - 1, block_size, block_size + 1, 1000 * block_size + 7, 123_457]
    for i, target in enumerate(targets):
        path = gen.create_large_file(
            _name(f"f{i}", language), size_bytes=target, pattern=pattern, language=language
        )
        assert target <= path.stat().st_size < target + block_size
    path = gen.create_large_file(_name("half", language), 0.5, pattern, language)
    assert 0.5 * MIB <= path.stat().st_size < 0.5 * MIB + block_size


@pytest.mark.parametrize(("pattern", "language"), PATTERN_LANGUAGES)
def test_large_files_are_valid_programs(
    gen: TestFileGenerator, tmp_path: Path, pattern: str, language: str
) -> None:
    # Big enough to span several 1000-block chunks, small enough for compilers to be quick
    # (CPython compiles thousands of class statements slowly, so only functions get 3 MiB).
    size = {"python": MIB // 2, "javascript": MIB, "c": MIB, "rust": 120_000}[language]
    if (pattern, language) == ("function", "python"):
        size = 3 * MIB
    path = gen.create_large_file(
        _name("big", language), size_bytes=size, pattern=pattern, language=language
    )
    assert_valid(language, [path], tmp_path)


def test_large_file_definitions_are_unique_and_parse(gen: TestFileGenerator) -> None:
    block_size = gen.create_large_file("one.js", size_bytes=1, language="javascript").stat().st_size
    path = gen.create_large_file("big.js", size_bytes=2500 * block_size, language="javascript")
    data = path.read_bytes()
    names = re.findall(rb"function (function_\d+)\(", data)
    assert len(names) == len(set(names)) == 2500  # unique across 1000-block chunks
    tree = MockParserFactory().get_parser("javascript").parse(data)
    assert len(tree.root_node.find_all("function_declaration")) == len(names)
    assert not tree.root_node.has_error


@pytest.mark.parametrize(
    ("pattern", "language"), [("mixed", "python"), ("class", "rust"), ("on_event", "javascript")]
)
def test_large_file_is_streamed_with_flat_memory(
    gen: TestFileGenerator, pattern: str, language: str
) -> None:
    tracemalloc.start()
    try:
        path = gen.create_large_file(_name("big", language), 64, pattern, language)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size >= 64 * MIB
    # Chunks are at most about 2 MiB; the file is 64 MiB.
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB while writing a 64 MiB file"


PREFIX_NAME = {
    "python": rb"def (\w+)\(value\):",
    "javascript": rb"function (\w+)\(value\) \{",
    "rust": rb"pub fn (\w+)\(value: i64\) -> i64 \{",
    "c": rb"int (\w+)\(int value\) \{",
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_an_identifier_pattern_is_the_function_name_prefix(
    gen: TestFileGenerator, tmp_path: Path, language: str
) -> None:
    default = gen.create_large_file(_name("d", language), size_bytes=1, language=language)
    one = gen.create_large_file(
        _name("one", language), size_bytes=1, pattern="handler", language=language
    )
    block_size = one.stat().st_size
    assert block_size == default.stat().st_size - 1  # "handler" is one shorter than "function"
    assert one.read_bytes() == default.read_bytes().replace(b"function_", b"handler_", 1)
    target = 2500 * block_size + 3  # past the 1000-block chunks (3 MB for compilers is slow)
    path = gen.create_large_file(
        _name("big", language), None, "handler", language, size_bytes=target
    )
    assert target <= path.stat().st_size < target + block_size
    data = path.read_bytes()
    names = re.findall(PREFIX_NAME[language], data)
    assert names == [b"handler_%013d" % i for i in range(2501)]  # verbatim, unique, in order
    if language == "javascript":  # the keyword stays: only the name changes
        assert data.count(b"function ") == 2501
    tree = MockParserFactory().get_parser(language).parse(data)
    assert not tree.root_node.has_error
    functions = [node.name for node in tree.walk() if node.name and node.name.startswith("h")]
    assert functions == [name.decode() for name in names]
    assert_valid(language, [path], tmp_path)


@pytest.mark.parametrize(
    ("prefix", "blocks"),
    [
        ("h", 25_000),  # 10**4 blocks a chunk: crosses two chunk boundaries
        ("_" + "x" * 4_000, 230),  # 100 blocks a chunk
        ("P" * 300_000, 23),  # one block is over the chunk limit: one block a chunk
    ],
)
def test_prefix_of_any_length_is_stamped_exactly(
    gen: TestFileGenerator, prefix: str, blocks: int
) -> None:
    one = gen.create_large_file("one.py", size_bytes=1, pattern=prefix)
    block_size = one.stat().st_size
    assert block_size == len(prefix) + 83  # def <prefix>_<13 digits>(value): ... (by hand)
    tracemalloc.start()
    try:
        target = (blocks - 1) * block_size + 1
        path = gen.create_large_file("big.py", size_bytes=target, pattern=prefix)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A chunk is at most 2 MiB, or one block when a block is bigger; a few copies of
    # the block are made while building it.
    assert peak < 2 * MIB + 8 * block_size, f"peak {peak / MIB:.1f} MiB"
    assert path.stat().st_size == blocks * block_size
    data = path.read_bytes()
    names = re.findall(rb"def (\w+)\(value\):", data)
    assert names == [prefix.encode() + b"_%013d" % i for i in range(blocks)]
    compile(data, str(path), "exec")


def test_large_file_bad_arguments(gen: TestFileGenerator) -> None:
    with pytest.raises(TypeError, match="exactly one of size_mb and size_bytes"):
        gen.create_large_file("x.py")
    with pytest.raises(TypeError, match="exactly one of size_mb and size_bytes"):
        gen.create_large_file("x.py", 1, size_bytes=5)
    with pytest.raises(ValueError, match="size_mb must be a finite number >= 0"):
        gen.create_large_file("x.py", -1)
    with pytest.raises(ValueError, match="size_mb must be a finite number >= 0"):
        gen.create_large_file("x.py", float("inf"))
    with pytest.raises(TypeError, match="size_mb must be a number"):
        gen.create_large_file("x.py", "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size_bytes must be >= 0"):
        gen.create_large_file("x.py", size_bytes=-1)
    with pytest.raises(TypeError, match="size_bytes must be an int"):
        gen.create_large_file("x.py", size_bytes=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="valid patterns: function, class, async, mixed, comment"):
        gen.create_large_file("x.py", 1, pattern="loops{}")
    with pytest.raises(ValueError, match="valid languages: c, javascript, python, rust"):
        gen.create_large_file("x.go", 1, language="go")
    with pytest.raises(ValueError, match="valid patterns for c: function, class, mixed, comment"):
        gen.create_large_file("x.c", 1, pattern="async", language="c")
    assert gen.created_files == []


@pytest.mark.parametrize(
    "pattern", ["{x}", "my{name}", "}", "", "1abc", "two words", "a-b", "caf\u00e9", None, b"fn"]
)
def test_pattern_neither_kind_nor_identifier_is_refused(
    gen: TestFileGenerator, pattern: object
) -> None:
    # Braces used to raise KeyError/ValueError/IndexError in the prototype (defect 3).
    message = (
        f"unknown pattern {re.escape(repr(pattern))}; valid patterns: function, class, async, "
        "mixed, comment, or an ASCII identifier"
    )
    with pytest.raises(ValueError, match=message) as caught:
        gen.create_large_file("x.py", 1, pattern=pattern)  # type: ignore[arg-type]
    assert "name prefix" in str(caught.value)
    assert gen.created_files == []
    assert list(gen.root.iterdir()) == []
