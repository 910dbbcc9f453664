"""Tests for itest_shared.files: generated files are what they claim, and only they are removed."""

from __future__ import annotations

import codecs
import inspect
import os
import pickle
import re
import shutil
import subprocess
import threading
import tracemalloc
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.files import ERROR_TYPES, MIB, PATTERNS, TestFileGenerator, UnsafePathError
from itest_shared.parsers import MockParserFactory
from itest_shared.samples import EXTENSION_BY_LANGUAGE, SUPPORTED_LANGUAGES

TOOLS = {"javascript": "node", "c": "gcc", "rust": "rustc"}
PATTERN_LANGUAGES = [
    (pattern, language)
    for pattern in PATTERNS
    for language in SUPPORTED_LANGUAGES
    if not (pattern == "async" and language == "c")
]
VALID_ERROR_TYPES = ("unicode", "empty", "deep_nesting", "long_line", "bom", "mixed_line_endings")


@pytest.fixture
def gen(tmp_path: Path) -> Iterator[TestFileGenerator]:
    generator = TestFileGenerator(tmp_path / "root")
    yield generator
    generator.cleanup()


def _tool_check(
    language: str, paths: Sequence[Path], workdir: Path
) -> subprocess.CompletedProcess[str]:
    """Run the language's real compiler (syntax check only) on paths; skip if it is missing."""
    tool = TOOLS[language]
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    if language == "javascript":
        # One node process checks every file, as node --check would (script goal).
        script = (
            "const fs = require('fs'); const vm = require('vm');"
            "for (const f of process.argv.slice(1))"
            "  new vm.Script(fs.readFileSync(f, 'utf8'), {filename: f});"
        )
        cmd = ["node", "-e", script, *map(str, paths)]
    elif language == "c":
        cmd = ["gcc", "-fsyntax-only", "-w", "-std=c11", *map(str, paths)]
    else:
        crate = paths[0]
        if len(paths) > 1:  # many files: one crate whose modules are the files
            crate = workdir / "crate_root.rs"
            crate.write_text(
                "".join(f'#[path = "{p}"]\nmod m{i};\n' for i, p in enumerate(paths)),
                encoding="utf-8",
            )
        cmd = [
            "rustc",
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "-A",
            "warnings",
        ]
        cmd += ["--out-dir", str(workdir), str(crate)]
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=110)


def assert_valid(language: str, paths: Sequence[Path], workdir: Path) -> None:
    """Assert that every path is a valid program in language (Python: compile())."""
    if language == "python":
        for path in paths:
            compile(path.read_bytes(), str(path), "exec")
        return
    done = _tool_check(language, paths, workdir)
    assert done.returncode == 0, done.stderr[:2000]


def assert_invalid(language: str, path: Path, workdir: Path) -> None:
    """Assert that path does not compile in language."""
    if language == "python":
        with pytest.raises(SyntaxError):
            compile(path.read_bytes(), str(path), "exec")
        return
    done = _tool_check(language, [path], workdir)
    assert done.returncode != 0, f"{path.name} compiled, but should not"


def _name(stem: str, language: str) -> str:
    return stem + EXTENSION_BY_LANGUAGE[language]


# ---------------------------------------------------------------- create_file and names


def test_create_file_writes_str_and_bytes_under_root(gen: TestFileGenerator) -> None:
    path = gen.create_file("a.py", "x = '\u00e9'\n")
    assert path == gen.root / "a.py"
    assert path.read_bytes() == "x = '\u00e9'\n".encode()
    nested = gen.create_file("mod.rs", b"\x00\x01", subdir="src/deep")
    assert nested == gen.root / "src" / "deep" / "mod.rs"
    assert nested.read_bytes() == b"\x00\x01"
    assert gen.create_file(
        Path("p") / "q.txt", "latin \u00e9", encoding="latin-1"
    ).read_bytes() == (b"latin \xe9")
    assert gen.created_files == [path, nested, gen.root / "p" / "q.txt"]
    with pytest.raises(TypeError, match="content must be str or bytes"):
        gen.create_file("b.py", 42)  # type: ignore[arg-type]


def test_rewriting_own_file_is_allowed(gen: TestFileGenerator) -> None:
    gen.create_file("a.py", "one")
    assert gen.create_file("a.py", "two").read_text() == "two"
    assert len(gen.created_files) == 1


def test_workspace_is_the_root_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The prototype's generator shared temp_workspace's Path object itself.
    workspace = tmp_path / "ws"
    with TestFileGenerator(workspace) as generator:
        assert generator.workspace is workspace and generator.root is workspace
    monkeypatch.chdir(tmp_path)
    with TestFileGenerator("rel") as relative:  # a relative root is made absolute
        assert relative.workspace == relative.root == tmp_path / "rel"


def test_generated_files_lists_every_creation_once_in_order(gen: TestFileGenerator) -> None:
    assert gen.generated_files == []
    first = gen.create_file("a.py", "x")
    big = gen.create_large_file("big.c", size_bytes=100, language="c")
    bad = gen.create_error_file("bad.js", "syntax", "javascript")
    again = gen.create_file("a.py", "y")  # written twice, listed once (where it was first)
    tree = gen.create_tree(3, seed=2)
    assert again == first
    assert gen.generated_files == [first, big, bad, *tree] == gen.created_files
    assert all(isinstance(path, Path) for path in gen.generated_files)
    gen.generated_files.clear()  # a copy: the generator's own record is untouched
    assert len(gen.generated_files) == 6
    gen.cleanup()
    assert gen.generated_files == []
    assert not first.exists() and not big.exists()


def _defaults(func: object) -> list[tuple[str, object]]:
    params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.default) for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]


def test_signatures_accept_the_prototypes_calls(gen: TestFileGenerator) -> None:
    empty = inspect.Parameter.empty
    assert _defaults(gen.create_file) == [("name", empty), ("content", empty), ("subdir", "")]
    assert _defaults(gen.create_large_file)[:4] == [
        ("name", empty),
        ("size_mb", None),
        ("pattern", "function"),
        ("language", "python"),
    ]
    assert _defaults(gen.create_error_file) == [
        ("name", empty),
        ("error_type", empty),
        ("language", "python"),
    ]
    # The prototype's calls, positional as written there.
    assert gen.create_file("f.py", "x = 1\n", "src") == gen.workspace / "src" / "f.py"
    assert gen.create_file("g.py", "x = 2\n", "") == gen.workspace / "g.py"
    big = gen.create_large_file("big.js", 1, "function", "javascript")
    assert big == gen.workspace / "big.js" and big.stat().st_size >= MIB
    assert gen.create_large_file("none.py", 0).read_bytes() == b""  # size_mb=0: empty file
    bad = gen.create_error_file("bad.py", "syntax", "python")
    assert bad == gen.workspace / "bad.py"
    assert gen.cleanup() == []


@pytest.mark.parametrize(
    ("name", "subdir", "reason"),
    [
        ("../escape.py", "", "contains '..'"),
        ("a/../../escape.py", "", "contains '..'"),
        ("x.py", "..", "subdir contains '..'"),
        ("/etc/passwd", "", "absolute"),
        ("x.py", "/tmp", "subdir is absolute"),
        ("", "", "must end in a file name"),
        (".", "", "must end in a file name"),
        ("dir/", "", "must end in a file name"),
        ("nul\x00.py", "", "NUL byte"),
    ],
)
def test_names_that_could_escape_are_refused(
    gen: TestFileGenerator, tmp_path: Path, name: str, subdir: str, reason: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(UnsafePathError, match=re.escape(reason)):
        gen.create_file(name, "x", subdir=subdir)
    assert sorted(tmp_path.rglob("*")) == before
    assert gen.created_files == []


def test_unsafe_path_error_is_a_value_error_that_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(UnsafePathError("../x", "name contains '..'")))
    assert isinstance(error, UnsafePathError) and issubclass(UnsafePathError, ValueError)
    assert (error.name, error.reason) == ("../x", "name contains '..'")
    assert str(error) == "refusing file name '../x': name contains '..'"


def test_bad_name_types(gen: TestFileGenerator) -> None:
    with pytest.raises(TypeError, match="name must be a str or path"):
        gen.create_file(3, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name must be a str or path, got bytes"):
        gen.create_file(b"x.py", "x")  # type: ignore[arg-type]

    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"x.py"

    with pytest.raises(TypeError, match="subdir must be a str path, got bytes"):
        gen.create_file("x.py", "x", subdir=BytesPath())  # type: ignore[arg-type]


def test_symlinks_leading_outside_are_refused(gen: TestFileGenerator, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (gen.root / "out").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symlink leading outside the root"):
        gen.create_file("out/x.py", "x")
    (gen.root / "final.py").symlink_to(outside / "target.py")
    with pytest.raises(UnsafePathError, match="is a symlink"):
        gen.create_file("final.py", "x")
    assert list(outside.iterdir()) == []
    # A symlink that stays inside the root is fine.
    (gen.root / "real").mkdir()
    (gen.root / "alias").symlink_to(gen.root / "real")
    assert gen.create_file("alias/ok.py", "x").resolve() == (gen.root / "real" / "ok.py")
    gen.cleanup()
    assert list((gen.root / "real").iterdir()) == []


def test_existing_files_and_dirs_it_did_not_create_are_refused(gen: TestFileGenerator) -> None:
    (gen.root / "keep.py").write_text("mine")
    (gen.root / "adir").mkdir()
    with pytest.raises(UnsafePathError, match="exists and was not created here"):
        gen.create_file("keep.py", "overwritten")
    with pytest.raises(UnsafePathError, match="exists and was not created here"):
        gen.create_file("adir", "x")
    with pytest.raises(UnsafePathError, match="is a file, not a directory"):
        gen.create_file("keep.py/inner.py", "x")
    assert (gen.root / "keep.py").read_text() == "mine"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.sampled_from(["..", ".", "a", "b.py", "c", ""]), min_size=1, max_size=5),
    absolute=st.booleans(),
)
def test_any_name_lands_inside_root_or_is_refused(
    tmp_path: Path, parts: list[str], absolute: bool
) -> None:
    name = ("/" if absolute else "") + "/".join(parts)
    with TestFileGenerator(tmp_path / "h" / "root") as generator:
        try:
            path = generator.create_file(name, "x")
        except UnsafePathError:
            assert (
                name.startswith("/") or ".." in parts or not name.strip("/.") or name.endswith("/")
            )
            return
        assert path.resolve().is_relative_to((tmp_path / "h" / "root").resolve())
        assert path.read_text() == "x"
    assert not (tmp_path / "h").exists()


# ---------------------------------------------------------------- cleanup


def test_cleanup_removes_exactly_what_it_created(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "root"  # nothing of it exists yet
    generator = TestFileGenerator(root)
    generator.create_file("x.py", "x", subdir="src/pkg")
    generator.create_large_file("big.js", size_bytes=5000, language="javascript")
    generator.create_error_file("bad.c", "syntax", "c")
    generator.create_tree(20, subdir="tree")
    assert generator.cleanup() == []
    assert not (tmp_path / "a").exists()
    assert generator.cleanup() == []  # idempotent
    # Usable again after cleanup.
    assert generator.create_file("again.py", "x").exists()
    generator.cleanup()
    assert list(tmp_path.iterdir()) == []


def test_cleanup_leaves_foreign_files_and_reports_dirs_it_kept(gen: TestFileGenerator) -> None:
    (gen.root / "foreign.txt").write_text("keep")
    made = gen.create_file("x.py", "x", subdir="made")
    (made.parent / "visitor.txt").write_text("keep too")
    gone = gen.create_file("gone.py", "x")
    gone.unlink()  # removed by the test itself: fine
    replaced = gen.create_file("replaced.py", "x")
    replaced.unlink()
    replaced.mkdir()  # replaced by a directory the generator did not create
    left = gen.cleanup()
    # The fixture's root was created by the generator too, and now holds foreign.txt.
    assert sorted(left) == sorted([gen.root, made.parent, replaced])
    assert (gen.root / "foreign.txt").read_text() == "keep"
    assert (made.parent / "visitor.txt").read_text() == "keep too"
    assert not made.exists()
    assert gen.root.is_dir()


def test_cleanup_does_not_follow_a_directory_swapped_for_a_symlink(
    gen: TestFileGenerator, tmp_path: Path
) -> None:
    made = gen.create_file("x.py", "generated", subdir="made")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.py").write_text("not yours")
    made.unlink()
    made.parent.rmdir()
    made.parent.symlink_to(elsewhere)  # made/x.py now names elsewhere/x.py
    left = gen.cleanup()
    assert (elsewhere / "x.py").read_text() == "not yours"
    assert made in left and made.parent in left


def test_context_manager_cleans_up_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError), TestFileGenerator(tmp_path / "r") as generator:
        generator.create_file("x.py", "x")
        raise KeyError("boom")
    assert not (tmp_path / "r").exists()
    assert TestFileGenerator.__test__ is False
    assert "TestFileGenerator" in repr(generator)


@pytest.mark.usefixtures("contention")
def test_concurrent_creation_is_tracked_exactly(gen: TestFileGenerator) -> None:
    threads, per_thread = 16, 40
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        start.wait()
        try:
            for k in range(per_thread):
                gen.create_file(f"t{index}_{k}.py", f"x = {k}\n", subdir=f"shared/d{k % 5}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(100)  # hang guard
    assert errors == []
    created = gen.created_files
    assert len(created) == len(set(created)) == threads * per_thread
    assert all(path.read_text().startswith("x = ") for path in created)
    assert gen.cleanup() == []
    assert not gen.root.exists()  # the generator made the root too


# ---------------------------------------------------------------- create_large_file


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


# ---------------------------------------------------------------- create_error_file


def _max_depth(data: bytes, opener: bytes, closer: bytes) -> int:
    depth = best = 0
    for byte in data:
        if byte == opener[0]:
            depth += 1
            best = max(best, depth)
        elif byte == closer[0]:
            depth -= 1
    return best


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_error_files_have_the_property_they_name(
    gen: TestFileGenerator, tmp_path: Path, error_type: str, language: str
) -> None:
    path = gen.create_error_file(_name(error_type, language), error_type, language)
    data = path.read_bytes()
    tree = MockParserFactory().get_parser(language).parse(data)  # never raises
    if error_type in VALID_ERROR_TYPES:
        assert_valid(language, [path], tmp_path)
        assert not tree.root_node.has_error
    if error_type == "syntax":
        assert_invalid(language, path, tmp_path)
        assert tree.root_node.has_error
    elif error_type == "unicode":
        text = data.decode("utf-8")
        assert any(0x1F300 <= ord(ch) <= 0x1FAFF for ch in text), "emoji"
        assert any(unicodedata.category(ch) == "Mn" for ch in text), "combining marks"
        assert any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text), "RTL letters"
        assert {"\u202e", "\u2067"} <= set(text), "bidi controls"
        assert {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"} <= set(text), "zero-width"
    elif error_type == "invalid_utf8":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    elif error_type == "binary":
        assert b"\x00" * 64 in data
    elif error_type == "empty":
        assert data == b""
    elif error_type == "deep_nesting":
        if language == "python":
            indents = [len(line) - len(line.lstrip(b" ")) for line in data.splitlines()]
            assert max(indents) // 4 >= 90
            assert _max_depth(data, b"[", b"]") >= 190
        else:
            assert _max_depth(data, b"{", b"}") >= (250 if language == "rust" else 1000)
    elif error_type == "long_line":
        assert max(len(line) for line in data.split(b"\n")) >= MIB
    elif error_type == "bom":
        assert data.startswith(codecs.BOM_UTF8)
        data[3:].decode("utf-8")
    elif error_type == "mixed_line_endings":
        assert b"\r\n" in data
        assert re.search(rb"\r(?!\n)", data) and re.search(rb"(?<!\r)\n", data)


def test_error_file_bad_arguments(gen: TestFileGenerator) -> None:
    with pytest.raises(ValueError, match="valid error_types: syntax, unicode, invalid_utf8"):
        gen.create_error_file("x.py", "typo")
    with pytest.raises(ValueError, match="valid languages: c, javascript, python, rust"):
        gen.create_error_file("x.py", "syntax", "cobol")
    assert gen.created_files == []


# ---------------------------------------------------------------- create_tree


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_tree_is_deterministic_from_the_seed(tmp_path: Path) -> None:
    trees = {}
    for label, seed in (("one", 3), ("two", 3), ("other", 4)):
        with TestFileGenerator(tmp_path / label) as generator:
            paths = generator.create_tree(300, seed=seed)
            assert len(paths) == 300
            trees[label] = _snapshot(generator.root)
    assert trees["one"] == trees["two"]
    assert trees["one"] != trees["other"]


def test_thousands_of_files_across_languages(gen: TestFileGenerator) -> None:
    paths = gen.create_tree(3000, depth=4, seed=1)
    assert len(set(paths)) == 3000
    assert {p.suffix for p in paths} == set(EXTENSION_BY_LANGUAGE.values())
    relative = [p.relative_to(gen.root / "tree") for p in paths]
    assert max(len(r.parts) for r in relative) == 5  # up to 4 directories, then the file
    assert min(len(r.parts) for r in relative) == 1
    only = gen.create_tree(50, languages=["rust"], subdir="rs")
    assert {p.suffix for p in only} == {".rs"}


def test_tree_files_are_valid_programs(gen: TestFileGenerator, tmp_path: Path) -> None:
    paths = gen.create_tree(240, seed=5)
    parsers = MockParserFactory()
    for language in SUPPORTED_LANGUAGES:
        mine = [p for p in paths if p.suffix == EXTENSION_BY_LANGUAGE[language]]
        assert len(mine) > 20
        assert_valid(language, mine, tmp_path)
        for path in mine:
            tree = parsers.get_parser(language).parse(path.read_bytes())
            assert not tree.root_node.has_error
            assert tree.root_node.children, path


def test_tree_bad_arguments(gen: TestFileGenerator) -> None:
    with pytest.raises(ValueError, match="n_files and depth must be >= 0"):
        gen.create_tree(-1)
    with pytest.raises(ValueError, match="n_files and depth must be >= 0"):
        gen.create_tree(1, depth=-1)
    with pytest.raises(TypeError, match="n_files must be an int"):
        gen.create_tree(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not one str"):
        gen.create_tree(1, languages="python")
    with pytest.raises(ValueError, match="languages is empty"):
        gen.create_tree(1, languages=[])
    with pytest.raises(ValueError, match="unknown language 'go'"):
        gen.create_tree(1, languages=["python", "go"])
    assert gen.create_tree(0) == []
    assert gen.created_files == []


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        TestFileGenerator(tmp_path / "file")
    assert os.path.isfile(tmp_path / "file")
