"""Tests for itest_shared.samples: the sample programs are real, valid and runnable."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.samples import (
    EXTENSION_BY_LANGUAGE,
    LANGUAGE_BY_EXTENSION,
    SAMPLE_OUTPUT,
    SUPPORTED_LANGUAGES,
    language_of,
    sample_code_files,
)

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
needs_rustc = pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc is not installed")


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110, cwd=cwd)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    for name, source in sample_code_files().items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    return tmp_path


def test_one_sample_per_language_with_matching_extension() -> None:
    files = sample_code_files()
    assert sorted(files) == ["sample.c", "sample.js", "sample.py", "sample.rs"]
    assert sorted(language_of(name) for name in files) == sorted(SUPPORTED_LANGUAGES)
    for language in SUPPORTED_LANGUAGES:
        assert LANGUAGE_BY_EXTENSION[EXTENSION_BY_LANGUAGE[language]] == language


def test_each_call_returns_a_fresh_dict() -> None:
    first = sample_code_files()
    first["sample.py"] = "broken("
    del first["sample.c"]
    second = sample_code_files()
    assert "sample.c" in second
    compile(second["sample.py"], "sample.py", "exec")


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


def test_python_sample_has_function_class_and_async_function() -> None:
    tree = ast.parse(sample_code_files()["sample.py"])
    kinds = {type(node).__name__ for node in tree.body}
    assert {"FunctionDef", "ClassDef", "AsyncFunctionDef"} <= kinds


@pytest.mark.parametrize(
    ("name", "patterns"),
    [
        ("sample.js", [r"^function \w+\(", r"^class \w+ \{", r"^async function \w+\("]),
        ("sample.rs", [r"^fn \w+\(", r"^struct \w+ \{", r"^async fn \w+\(", r"^impl "]),
        ("sample.c", [r"^static \w+ \w+\(", r"^struct \w+ \{", r"^int main\(void\) \{"]),
    ],
)
def test_other_samples_have_functions_and_types(name: str, patterns: list[str]) -> None:
    source = sample_code_files()[name]
    for pattern in patterns:
        assert re.search(pattern, source, re.MULTILINE), pattern


def test_python_sample_compiles_and_runs(sample_dir: Path) -> None:
    source = (sample_dir / "sample.py").read_text(encoding="utf-8")
    compile(source, "sample.py", "exec")
    assert _run([sys.executable, str(sample_dir / "sample.py")]).strip() == SAMPLE_OUTPUT


@needs_node
def test_javascript_sample_checks_and_runs(sample_dir: Path) -> None:
    _run(["node", "--check", str(sample_dir / "sample.js")])
    assert _run(["node", str(sample_dir / "sample.js")]).strip() == SAMPLE_OUTPUT


@needs_gcc
def test_c_sample_compiles_cleanly_and_runs(sample_dir: Path) -> None:
    exe = sample_dir / "sample_c"
    _run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", str(exe), "sample.c"], sample_dir)
    assert _run([str(exe)]).strip() == SAMPLE_OUTPUT


@needs_rustc
def test_rust_sample_compiles_cleanly_and_runs(sample_dir: Path) -> None:
    exe = sample_dir / "sample_rs"
    _run(["rustc", "--edition", "2021", "-D", "warnings", "-o", str(exe), "sample.rs"], sample_dir)
    assert _run([str(exe)]).strip() == SAMPLE_OUTPUT
