"""Tests that file names which could escape the root, or overwrite others' files, are refused."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.files import TestFileGenerator, UnsafePathError


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
