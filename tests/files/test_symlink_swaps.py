"""Tests that no write or delete lands outside the root, whatever is swapped meanwhile.

A directory checked once may later be replaced by a symlink leading out of the root;
every call resolves each component again, relative to the root's directory descriptor.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from itest_shared.files import TestFileGenerator, UnsafePathError

CREATORS: dict[str, Callable[[TestFileGenerator, str], object]] = {
    "create_file": lambda gen, name: gen.create_file(f"{name}.py", "x = 1\n", subdir="sub"),
    "create_large_file": lambda gen, name: gen.create_large_file(
        f"{name}.py", size_bytes=3000, subdir="sub"
    ),
    "create_error_file": lambda gen, name: gen.create_error_file(
        f"{name}.py", "syntax", subdir="sub"
    ),
    "create_tree": lambda gen, name: gen.create_tree(3, depth=0, subdir="sub"),
}


def _swap_for_symlink(directory: Path, target: Path) -> Path:
    """Move ``directory`` aside and put a symlink to ``target`` in its place; return the aside."""
    aside = directory.with_name(directory.name + "_aside")
    directory.rename(aside)
    directory.symlink_to(target, target_is_directory=True)
    return aside


@pytest.mark.parametrize("method", sorted(CREATORS))
def test_a_checked_directory_swapped_for_a_symlink_out_is_refused(
    gen: TestFileGenerator, tmp_path: Path, method: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    CREATORS[method](gen, "first")  # "sub" is created and checked here
    _swap_for_symlink(gen.root / "sub", outside)
    with pytest.raises(UnsafePathError, match=r"sub'? is a symlink leading outside the root"):
        CREATORS[method](gen, "second")
    assert list(outside.iterdir()) == []


def test_a_symlink_out_deeper_down_is_refused_and_named(
    gen: TestFileGenerator, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    gen.create_file("a.py", "x", subdir="sub/deeper")
    _swap_for_symlink(gen.root / "sub" / "deeper", outside)
    with pytest.raises(UnsafePathError) as caught:
        gen.create_file("b.py", "x", subdir="sub/deeper")
    assert str(gen.root / "sub" / "deeper") in caught.value.reason
    assert list(outside.iterdir()) == []


def test_a_relative_symlink_climbing_out_is_refused(gen: TestFileGenerator, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    gen.create_file("a.py", "x", subdir="sub")
    aside = _swap_for_symlink(gen.root / "sub", gen.root)  # placeholder target
    (gen.root / "sub").unlink()
    (gen.root / "sub").symlink_to(Path("..") / "outside")  # root/../outside
    with pytest.raises(UnsafePathError, match="symlink leading outside the root"):
        gen.create_file("b.py", "x", subdir="sub")
    assert list(outside.iterdir()) == []
    assert aside.is_dir()


def test_symlinks_that_stay_inside_still_work_after_a_swap(gen: TestFileGenerator) -> None:
    gen.create_file("a.py", "x", subdir="sub")
    aside = _swap_for_symlink(gen.root / "sub", gen.root / "real")  # dangling at first
    (gen.root / "real").mkdir()
    path = gen.create_file("b.py", "y", subdir="sub")
    assert (gen.root / "real" / "b.py").read_text() == "y"
    assert path == gen.root / "sub" / "b.py"
    (gen.root / "sub").unlink()
    (gen.root / "sub").symlink_to(Path("nested") / ".." / "real")  # a relative, climbing link
    (gen.root / "nested").mkdir()
    gen.create_file("c.py", "z", subdir="sub")
    assert (gen.root / "real" / "c.py").read_text() == "z"
    gen.cleanup()
    assert list((gen.root / "real").iterdir()) == []
    assert [p.name for p in aside.iterdir()] == ["a.py"]  # moved by someone else: left alone


def test_cleanup_after_a_swap_removes_nothing_outside(
    gen: TestFileGenerator, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    for name in ("x.py", "deep/y.py"):
        (outside / name).write_text("not yours")
    made = [gen.create_file("x.py", "x", subdir="sub"), gen.create_file("y.py", "y", "sub/deep")]
    aside = _swap_for_symlink(gen.root / "sub", outside)
    left = gen.cleanup()
    assert sorted(p.relative_to(outside).as_posix() for p in outside.rglob("*")) == [
        "deep",
        "deep/y.py",
        "x.py",
    ]
    assert all((outside / name).read_text() == "not yours" for name in ("x.py", "deep/y.py"))
    assert set(made) <= set(left) and gen.root / "sub" in left
    assert (aside / "x.py").exists()  # moved away by someone else: not ours to chase


def test_cleanup_never_deletes_outside_when_swapped_during_cleanup(
    gen: TestFileGenerator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The swap happens inside cleanup, just before its first delete: after any check.
    outside = tmp_path / "outside"
    outside.mkdir()
    names = [f"f{i}.py" for i in range(3)]
    for name in names:
        (outside / name).write_text("not yours")
    for name in names:
        gen.create_file(name, "x", subdir="sub")
    real_unlink, swapped = os.unlink, []

    def swapping_unlink(path: object, *args: object, **kwargs: object) -> None:
        if not swapped:
            swapped.append(_swap_for_symlink(gen.root / "sub", outside))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", swapping_unlink)
    gen.cleanup()
    monkeypatch.undo()
    assert swapped, "cleanup deleted nothing"
    assert sorted(p.name for p in outside.iterdir()) == names
    assert all((outside / name).read_text() == "not yours" for name in names)


@pytest.mark.usefixtures("contention")
def test_racing_swaps_never_let_a_file_land_outside(gen: TestFileGenerator, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sub = gen.root / "sub"
    gen.create_file("first.py", "x", subdir="sub")
    stop = threading.Event()
    swaps = [0, 0]  # swaps done, swaps tried

    def swapper() -> None:
        while not stop.is_set():
            swaps[1] += 1
            aside = sub.with_name(f"aside_{swaps[1]}")  # a new name each time
            try:
                sub.rename(aside)
            except OSError:
                continue  # "sub" is missing or a symlink left over: try again
            try:
                sub.symlink_to(outside, target_is_directory=True)
            except FileExistsError:
                pass  # the creator re-created "sub" meanwhile
            else:
                swaps[0] += 1
                sub.unlink()
            # If the creator re-created "sub", the aside stays: inside the root.
            with contextlib.suppress(OSError):
                aside.rename(sub)

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    written = refused = 0
    try:
        for i in range(20_000):  # until both outcomes were seen often; a hang guard
            try:
                gen.create_file(f"f{i}.py", "x", subdir="sub")
                written += 1
            except UnsafePathError:
                refused += 1
            except FileNotFoundError:
                pass  # "sub" vanished between two steps: refused, not escaped
            if written >= 200 and refused >= 50:
                break
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    landed = len(list(outside.iterdir()))
    assert landed == 0, f"{landed} of {written} written landed outside ({refused} refused)"
    assert refused > 0 and written > 0  # the race really happened
