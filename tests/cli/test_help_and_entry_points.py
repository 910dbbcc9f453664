"""`itest-shared` help, --version, no command, `python -m itest_shared` and the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.formats import package_version
from tests.cli.support import HANG, good_lines, run

# --- help, version, entry points ---------------------------------------------


@pytest.mark.parametrize("command", [[], ["report"], ["validate"], ["where"], ["schema"]])
def test_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    status, out, _ = run(capsys, *command, "--help")
    assert status == 0
    assert out.startswith(f"usage: itest-shared {' '.join(command)}".rstrip())


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert (status, out) == (0, f"itest-shared {package_version()}\n")
    status, out, err = run(capsys, "frobnicate")
    assert status == 2 and "invalid choice: 'frobnicate'" in err
    status, out, err = run(capsys)
    assert status == 2 and "report" in err and "validate" in err and "where" in err


def test_python_dash_m(store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "itest_shared", "report", str(store), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"] == 18


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "itest-shared"
    assert script.exists(), f"console script not installed at {script}"
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(good_lines()) + "\n")
    done = subprocess.run(
        [str(script), "validate", str(good)], capture_output=True, text=True, timeout=HANG
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    done = subprocess.run(
        [str(script), "validate", str(bad)], capture_output=True, text=True, timeout=HANG
    )
    assert done.returncode == 1
    assert done.stdout.startswith(f"{bad}:1: ")
    done = subprocess.run([str(script), "report", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=HANG)  # fmt: skip
    assert done.returncode == 2 and "itest-shared: error:" in done.stderr
