"""The previous release, built from its commit in this repository, reads what this one writes.

The previous release is the newest commit whose ``version`` line in
pyproject.toml differs from the checkout's: the commit that released it. It is
built and installed into a throwaway venv (``--no-deps``: its dependencies come
from this environment through a ``.pth`` path entry), and reads, in a process of
its own, a store that this release wrote, with a record of every type and the
special values of the edge-case golden files.
"""

from __future__ import annotations

import io
import json
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import tomllib
from typing import Any

import pytest

from itest_shared import __version__, load_record
from itest_shared.store import RecordStore
from tests.helpers import run_captured
from tests.records import (
    CONTEXT,
    GOLDEN,
    chained_error,
    make_environment,
    make_error_context,
    make_event,
    make_golden,
    make_resource,
    make_stats,
    make_test_result,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN = "20261207T000000Z-prev01"

# Run by the previous release's python: reads every line of every file it is
# given, and the store with its own validate and report; prints one JSON object.
READER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    import itest_shared
    from itest_shared import load_record
    from itest_shared.cli import main
    from itest_shared.exceptions import FormatError

    store, files = sys.argv[1], sys.argv[2:]
    loaded, refused = [], []
    for name in files:
        with open(name, encoding="utf-8") as fh:
            for number, line in enumerate(fh.read().splitlines(), 1):
                try:
                    loaded.append([name, number, load_record(line).to_dict()])
                except FormatError as error:
                    refused.append([name, number, str(error)])

    def run(*args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(list(args))
        return status, out.getvalue()

    print(json.dumps({
        "version": itest_shared.__version__,
        "file": itest_shared.__file__,
        "loaded": loaded,
        "refused": refused,
        "validate": run("validate", store),
        "report": run("report", store, "--format", "json"),
    }))
    """
)


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        pytest.skip(f"no git history to build the previous release from: {done.stderr.strip()}")
    return done.stdout


def version_at(commit: str) -> str:
    text = git("show", f"{commit}:pyproject.toml")
    version: str = tomllib.loads(text)["project"]["version"]
    return version


def previous_release() -> tuple[str, str]:
    """(commit, version) of the release before this checkout's version."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no history to build the previous release from")
    current = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert current == __version__
    for commit in git("log", "--format=%H", "-G", r"^version = ", "--", "pyproject.toml").split():
        version = version_at(commit)
        if version != current:
            return commit, version
    pytest.skip(f"no release before {current} in this history (a shallow clone?)")


def install_release(commit: str, where: pathlib.Path) -> pathlib.Path:
    """Build the release at ``commit`` into a throwaway venv; its python."""
    source = where / "source"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(source, filter="data")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Its dependencies (and the build backend) from this environment, after its
    # own site-packages: plain path entries, so no .pth of ours (an editable
    # install of this checkout) runs there.
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    pathlib.Path(site, "this-environment.pth").write_text("".join(f"{p}\n" for p in ours))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-deps", "--no-index", "--no-build-isolation", str(source)),
        ],
        check=True,
        timeout=300,
    )
    return python


def current_output(where: pathlib.Path) -> pathlib.Path:
    """A store this release wrote: every record type, with context and without."""
    store = RecordStore(where / "store")
    writer = store.writer(RUN)
    try:
        for record in (
            make_error_context(chained_error()),
            make_event(),
            make_resource(),
            make_stats(),
            make_test_result(),
            make_environment(),
        ):
            writer.write(record)
            writer.write(record.with_context(CONTEXT))
        for lines in make_golden().edge_cases().values():  # fresh, with this release's producer
            writer.write_many([load_record(line) for line in lines])
    finally:
        writer.close()
    return where / "store"


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pathlib.Path]:
    commit, version = previous_release()
    python = install_release(commit, tmp_path_factory.mktemp("previous-release"))
    return version, python


def test_the_previous_release_reads_everything_this_release_writes(
    previous: tuple[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    version, python = previous
    store = current_output(tmp_path)
    files = sorted(store.rglob("*.jsonl"))
    golden = sorted(GOLDEN.glob("1.*/*.jsonl"))
    written = [line for path in files for line in path.read_text().splitlines()]
    done = subprocess.run(
        [str(python), "-I", "-c", READER, str(store), *map(str, files + golden)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # It is the previous release that read them, not this checkout.
    assert seen["version"] == version != __version__
    assert pathlib.Path(seen["file"]).is_relative_to(python.parent.parent)

    # A type a later minor added is refused as CONTRIBUTING promises, never misread.
    for name, number, reason in seen["refused"]:
        assert reason.startswith("record_type: expected one of"), (name, number, reason)
    lines = {str(path): path.read_text().splitlines() for path in files + golden}
    assert len(seen["loaded"]) + len(seen["refused"]) == sum(map(len, lines.values()))
    assert len(seen["loaded"]) >= len(written)  # today: every line (schema 1.1 both sides)
    # Every field it knows holds what was written.
    for name, number, old in seen["loaded"]:
        new = json.loads(lines[name][number - 1])
        assert {key: new[key] for key in old if key != "schema_version"} == {
            key: value for key, value in old.items() if key != "schema_version"
        }, (name, number)
    # Its validate finds fault with the same lines as this release's (the edge
    # cases hold a total that the report would not analyse), and with no other.
    status, output = seen["validate"]
    our_status, our_output = run_captured("validate", str(store))
    assert (status, bad_lines(output)) == (our_status, bad_lines(our_output)), output
    assert len(bad_lines(output)) <= 1, output
    status, output = seen["report"]
    assert status == 0, output
    # Its report counts and files the records as this release's does, but for the
    # types it does not know: those it counts by name, as not analysed.
    old_report, new_report = json.loads(output), report_json(store)
    assert old_report["records"] == new_report["records"] == len(written)
    unknown = {re.findall(r"got '(\w+)'", reason)[0] for _, _, reason in seen["refused"]}
    before_1_2 = tuple(int(part) for part in version.split(".")[:2]) < (2, 2)
    assert unknown == ({"test_result", "environment"} if before_1_2 else set())
    expected = summary(new_report)
    for label, (records, by_type, not_analysed) in expected["worktrees"].items():
        newer = sum(count for kind, count in by_type.items() if kind in unknown)
        not_analysed = {**not_analysed, "unknown_type": not_analysed["unknown_type"] + newer}
        expected["worktrees"][label] = (records, by_type, not_analysed)
    assert summary(old_report) == expected


def report_json(store: pathlib.Path) -> dict[str, Any]:
    status, printed = run_captured("report", str(store), "--format", "json")
    assert status == 0
    data: dict[str, Any] = json.loads(printed)
    return data


def bad_lines(output: str) -> list[str]:
    """The ``FILE:LINE`` that ``validate`` found fault with, in its order (not its notes)."""
    return re.findall(r"^(.+?:\d+): (?!note: )", output, flags=re.MULTILINE)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """What a report counted per worktree, and the problems it filed."""
    return {
        "worktrees": {
            w["label"]: (w["records"], w["records_by_type"], w["not_analysed"])
            for w in report["worktrees"]
        },
        "problems": [(p["line"], p["reason"]) for p in report["problems"]["shown"]],
    }
