"""The schema major is read first: a later major may change any shape, a later minor adds types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from itest_shared.report import NO_WORKTREE, ReportAggregator
from tests.stores import MAIN, config, record


def report_of(*records: dict[str, Any]) -> dict[str, Any]:
    aggregator = ReportAggregator()
    for item in records:
        aggregator.add(item)
    return aggregator.document(store="s", runs=["r"])


def by_label(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {worktree["label"]: worktree for worktree in document["worktrees"]}


@pytest.mark.parametrize(
    "new_shape",
    [
        {"context": ["a", "list"]},
        {"context": {"worktree": "/repos/proj"}},
        {"context": {"test": {"node": "t::x"}}},
        {"record_type": {"name": "config_change", "version": 2}},
        {"record_type": None},
        {"producer": "itest-shared 2.0"},
    ],
    ids=["context-list", "worktree-string", "test-object", "type-object", "type-null", "producer"],
)
def test_a_later_major_of_any_shape_is_counted_by_major(new_shape: dict[str, Any]) -> None:
    document = report_of(config("a"), config("b", version="2.0") | new_shape)
    assert document["problems"]["total"] == 0
    assert document["records"] == 2
    majors = sorted({m for w in document["worktrees"] for m in w["schema_majors"]})
    assert majors == [1, 2]
    unknown = sum(w["not_analysed"]["unknown_major"] for w in document["worktrees"])
    malformed = sum(w["not_analysed"]["malformed"] for w in document["worktrees"])
    assert (unknown, malformed) == (1, 0)
    assert document["warnings"][0].startswith("worktrees are on different schema majors:")
    assert "records of schema major 2 are counted but not analysed" in document["warnings"][1]


def test_a_later_major_keeps_its_worktree_when_the_context_still_reads() -> None:
    document = report_of(config("a"), config("b", version="2.0") | {"record_type": ["x"]})
    main = by_label(document)["main"]
    assert main["path"] == MAIN and main["schema_majors"] == [1, 2]
    assert main["records_by_type"] == {"(invalid)": 1, "config_change": 1}
    assert document["warnings"][0] == "worktrees are on different schema majors: main on 1 and 2"


def test_a_later_major_with_an_unreadable_context_goes_with_no_worktree() -> None:
    document = report_of(config("a"), config("b", version="2.0") | {"context": 7})
    worktrees = by_label(document)
    assert worktrees[NO_WORKTREE]["schema_majors"] == [2]
    assert worktrees[NO_WORKTREE]["schema_versions"] == {"2.0": 1}
    assert worktrees["main"]["schema_majors"] == [1]
    assert "main on 1, (no worktree) on 2" in document["warnings"][0]


def test_a_known_major_of_a_wrong_shape_is_still_malformed() -> None:
    document = report_of(config("a") | {"context": ["a"]}, config("b") | {"record_type": 5})
    assert document["problems"]["total"] == 2
    reasons = [problem["reason"] for problem in document["problems"]["shown"]]
    assert "context: expected an object or null, got an array" in reasons[0]
    assert "record_type: expected a string, got the number 5" in reasons[1]
    assert document["warnings"] == []


def test_a_bad_version_is_named_before_a_bad_context() -> None:
    document = report_of(config("a", version="two") | {"context": ["a"]})
    reason = document["problems"]["shown"][0]["reason"]
    assert "schema_version: expected 'MAJOR.MINOR', got 'two'" in reason
    assert by_label(document)[NO_WORKTREE]["not_analysed"]["malformed"] == 1


def test_a_new_type_of_a_later_minor_is_counted_not_a_problem(tmp_path: Path) -> None:
    """A 1.5 ``coverage`` record is valid forward-compatible data: counted by type, no problem."""
    document = report_of(config("a"), record("coverage", version="1.5", lines=10))
    assert document["problems"]["total"] == 0
    assert document["warnings"] == []
    main = by_label(document)["main"]
    assert main["records_by_type"] == {"config_change": 1, "coverage": 1}
    assert main["not_analysed"] == {"malformed": 0, "unknown_major": 0, "unknown_type": 1}
    assert main["schema_versions"] == {"1.1": 1, "1.5": 1}
    assert main["package_versions"] == {"1.2.0": 2}


def test_a_later_major_is_counted_whatever_form_its_version_takes() -> None:
    """'2.0.0' is major 2, as the reader says (SchemaVersionError); '1.0.0' is malformed."""
    document = report_of(
        record("config_change", version="2.0.0"), record("resource", version="1.0.0")
    )
    (worktree,) = document["worktrees"]
    assert worktree["schema_majors"] == [2]
    assert worktree["schema_versions"] == {"2.0.0": 1}
    assert worktree["not_analysed"]["unknown_major"] == 1
    assert worktree["not_analysed"]["malformed"] == 1
    assert "schema_version: expected 'MAJOR.MINOR', got '1.0.0'" in str(document["problems"])
