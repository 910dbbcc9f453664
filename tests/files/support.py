"""Helpers shared by the generated-file tests: real compiler checks and file names."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from itest_shared.samples import EXTENSION_BY_LANGUAGE

TOOLS = {"javascript": "node", "c": "gcc", "rust": "rustc"}


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
