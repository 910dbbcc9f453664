"""The golden files of issue 10: edge cases, a newer minor's records, a frozen store.

``fixtures/make_golden.py`` made them once; these tests read the committed bytes.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
import types
from typing import Any

import pytest

from itest_shared import SCHEMA_VERSION, ErrorContext, load_record
from itest_shared.exceptions import FormatError
from itest_shared.report import AnalysisCheck
from itest_shared.store import validate_file
from tests.helpers import run_captured
from tests.records import (
    DOCUMENTED_FIELDS_BY_TYPE,
    EDGE_CASES,
    FROZEN_STORE,
    MAKE_GOLDEN,
    NEWER_MINOR,
    golden_record_files,
    make_golden,
)


@pytest.fixture(scope="module", name="make_golden")
def make_golden_fixture() -> types.ModuleType:
    return make_golden()


def lines(path: pathlib.Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def edge_case(kind: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(EDGE_CASES / f"{kind}.jsonl")]


def tags(value: Any) -> set[str]:
    """Every ``$type`` tag in a JSON value."""
    if isinstance(value, dict):
        found = {value["$type"]} if isinstance(value.get("$type"), str) else set()
        return found.union(*(tags(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(tags(v) for v in value))
    return set()


# --- edge cases -----------------------------------------------------------------------------


def as_written_now(line: str) -> str:
    """``line`` with the schema version this release writes (the one byte-level change)."""
    return line.replace('"schema_version":"1.1"', f'"schema_version":"{SCHEMA_VERSION}"', 1)


def test_there_is_an_edge_case_file_per_record_type_of_schema_1_1() -> None:
    of_1_1 = {p.stem for p in (EDGE_CASES.parent).glob("*.jsonl")}
    assert of_1_1 < set(DOCUMENTED_FIELDS_BY_TYPE)
    assert {p.stem for p in EDGE_CASES.glob("*.jsonl")} == of_1_1


@pytest.mark.parametrize("path", sorted(EDGE_CASES.glob("*.jsonl")), ids=lambda p: p.name)
def test_edge_cases_load_and_write_back_the_same_line(path: pathlib.Path) -> None:
    for line in lines(path):
        record = load_record(line)
        assert path.stem == record.RECORD_TYPE
        assert record.schema_version == "1.1"
        # A stable round trip, byte for byte but for the schema version written.
        assert record.to_json() == as_written_now(line)


def test_this_release_still_writes_the_edge_cases_byte_for_byte(
    make_golden: types.ModuleType,
) -> None:
    committed = {p.stem: lines(p) for p in EDGE_CASES.glob("*.jsonl")}
    producer = json.loads(committed["error_context"][0])["producer"]
    now = {kind: [as_written_now(line) for line in found] for kind, found in committed.items()}
    assert make_golden.edge_cases(producer) == now


def test_edge_cases_hold_every_special_json_form() -> None:
    for kind in ("error_context", "config_change", "resource"):
        found = set().union(*(tags(data) for data in edge_case(kind)))
        assert {"bytes", "float", "cycle", "builtins.int", "datetime.date"} <= found, kind
    assert "truncated" in tags(edge_case("config_change")) | tags(edge_case("resource"))
    specials = edge_case("resource")[0]["metadata"]
    assert specials["nan"] == {"$type": "float", "value": "nan"}
    assert specials["bytes"] == {"$type": "bytes", "base64": "AP8gaXRlc3Q="}
    assert specials["tagged_form_kept"] == {"$type": "bytes", "base64": "AAE="}


def test_edge_cases_hold_a_base_exception_group_and_a_cut_cause_chain() -> None:
    group, chain, loop, _ = (
        load_record(line) for line in lines(EDGE_CASES / "error_context.jsonl")
    )
    assert isinstance(group, ErrorContext) and group.error_info is not None
    assert [info.type for info in group.error_info.walk()] == [
        "builtins.BaseExceptionGroup",
        "builtins.TimeoutError",
        "builtins.KeyboardInterrupt",
        "builtins.SystemExit",
        "builtins.ExceptionGroup",
        "builtins.FileNotFoundError",
        "builtins.ValueError",
    ]
    assert isinstance(chain, ErrorContext) and chain.error_info is not None
    messages = [info.message for info in chain.error_info.walk()]
    assert messages[0] == "link 99" and len(messages) == 65  # 100 links, cut at the limit
    assert isinstance(loop, ErrorContext) and loop.error_info is not None
    assert [info.type for info in loop.error_info.walk()] == [
        "builtins.KeyError",
        "builtins.ValueError",
    ]


def test_edge_case_timings_sit_at_their_bounds() -> None:
    at_bounds, zeros = edge_case("timing_stats")
    assert at_bounds["count"] == 2**64 and at_bounds["min"] == 5e-324
    assert at_bounds["total"] == 1.7e308
    # It loads, but its total is past what the report sums: validate says so.
    check = AnalysisCheck()
    assert "would add up to more than" in (check(at_bounds) or "")
    assert check(zeros) is None


# --- a newer minor ---------------------------------------------------------------------------


def test_a_newer_minors_record_of_a_known_type_loads_as_written() -> None:
    (line,) = lines(NEWER_MINOR / "config_change.jsonl")
    record = load_record(line)
    assert record.schema_version == "1.5"  # the version it was written in
    assert record.context is not None and record.context.worktree is not None
    assert record.context.worktree.branch == "phase-8"
    assert "source" not in record.to_dict()  # a key this release does not know: ignored


def test_a_newer_minors_record_type_is_refused_by_load_and_noted_by_validate() -> None:
    path = NEWER_MINOR / "coverage.jsonl"
    for line in lines(path):
        with pytest.raises(FormatError, match="record_type: expected one of"):
            load_record(line)
    newer: list[Any] = []
    assert list(validate_file(path, newer_types=newer)) == []
    assert len(newer) == 2


def test_every_golden_record_file_validates() -> None:
    files = golden_record_files()
    assert len(files) >= 13
    for path in files:
        assert list(validate_file(path, newer_types=[])) == [], path


# --- a frozen store ------------------------------------------------------------------------


def report(store_parent: pathlib.Path, fmt: str) -> str:
    with contextlib.chdir(store_parent):
        status, printed = run_captured("report", "frozen-store", "--format", fmt)
    assert status == 0
    return printed


@pytest.mark.parametrize("fmt, expected", [("markdown", "report.md"), ("json", "report.json")])
def test_the_frozen_store_renders_as_recorded(
    tmp_path: pathlib.Path, fmt: str, expected: str
) -> None:
    # A copy: the report must not depend on where the checkout is, nor touch it.
    shutil.copytree(FROZEN_STORE / "records", tmp_path / "frozen-store" / "records")
    printed = report(tmp_path, fmt)
    wanted = (FROZEN_STORE / expected).read_text(encoding="utf-8")
    assert printed == wanted, (
        "the report of fixtures/frozen-store changed; if on purpose, run"
        " 'python fixtures/make_golden.py --report' and say so in CHANGELOG.md"
    )


def test_the_frozen_store_holds_what_it_is_for() -> None:
    shown = (FROZEN_STORE / "report.md").read_text(encoding="utf-8")
    assert "not analysed: unknown major | 0 | 0 | 1 | 0" in shown  # a 2.0 record
    assert "not analysed: unknown type | 0 | 1 | 0 | 0" in shown  # a 1.5 coverage record
    assert "torn last line" in shown and "malformed error_context record" in shown
    assert "schema 1.0 | 0 | 0 | 0 | 1" in shown
    # The hostile config path, inert: the escape spelled out, markdown and HTML escaped.
    assert "\x1b" not in shown
    assert r"| ui.theme\\x1b\[2J\|\<b>\`x\`\</b> |" in shown
    data = json.loads((FROZEN_STORE / "report.json").read_text(encoding="utf-8"))
    assert data["records"] == 20


def test_the_golden_script_never_rewrites_a_record_file(
    make_golden: types.ModuleType, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept.jsonl"
    kept.write_text("as committed\n")
    make_golden.HERE = tmp_path
    try:
        make_golden.write(kept, "something else\n")
    finally:
        make_golden.HERE = MAKE_GOLDEN.parent
    assert kept.read_text() == "as committed\n"
    assert "never rewritten" in capsys.readouterr().out
