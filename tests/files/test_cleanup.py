"""Tests that cleanup removes exactly the generated files, also on error and across threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from itest_shared.files import TestFileGenerator


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
