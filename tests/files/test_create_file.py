"""Tests for create_file, the files the generator records, and the prototype's signatures."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from itest_shared.files import MIB, TestFileGenerator


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


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        TestFileGenerator(tmp_path / "file")
    assert os.path.isfile(tmp_path / "file")
