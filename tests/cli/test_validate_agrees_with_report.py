"""validate and report agree: what report would not analyse, validate flags, and nothing else.

Issue 10, item 6. Each line alone loads, yet the report refuses a timing_stats
record whose total, added to the totals of its operation read before it, passes
half the largest float; validate keeps the same running totals over every file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.formats import Record
from itest_shared.report import AnalysisCheck, build_report
from itest_shared.report._stats import MAX_TOTAL
from itest_shared.store import RecordStore, validate_file
from tests.helpers import run_captured
from tests.records import make_stats
from tests.strategies import records_with_context

HUGE = sys.float_info.max


def validate(*names: str) -> tuple[int, list[str]]:
    """Exit status of ``itest-shared validate NAMES``, and the lines it flagged."""
    status, printed = run_captured("validate", *names)
    return status, [line for line in printed.splitlines() if ": note: " not in line]


def report_problems(store: Path) -> list[tuple[str, int, str]]:
    # Every run, as validate reads the whole store (report's default: the newest run
    # of each worktree).
    shown = build_report(store, all_runs=True)["problems"]["shown"]
    return [(Path(p["path"]).name, p["line"], p["reason"]) for p in shown]


def write_run(store: Path, run: str, records: list[Record]) -> Path:
    with RecordStore(store).writer(run) as writer:
        for record in records:
            writer.write(record)
        return writer.path


def test_a_total_the_report_cannot_sum_alone_is_flagged(tmp_path: Path) -> None:
    path = write_run(tmp_path, "r1", [make_stats(operation="op", total=0.9 * HUGE)])
    status, flagged = validate(str(path))
    assert status == 1
    assert flagged == [
        f"{path}:1: report would not analyse this timing_stats record: total: the totals of"
        f" operation 'op' would add up to more than {MAX_TOTAL:.3g} s, beyond what a float can"
        " sum"
    ]
    assert [(line, "total:" in reason) for _, line, reason in report_problems(tmp_path)] == [
        (1, True)
    ]


def test_totals_that_overflow_only_summed_across_files_are_flagged(tmp_path: Path) -> None:
    first = write_run(tmp_path, "r1", [make_stats(operation="op", total=0.3 * HUGE)])
    second = write_run(tmp_path, "r2", [make_stats(operation="op", total=0.3 * HUGE)])
    # Each file alone is fine; the store as a whole is not, for validate as for report.
    assert validate(str(first))[0] == validate(str(second))[0] == 0
    status, flagged = validate(str(tmp_path))
    assert status == 1 and len(flagged) == 1 and flagged[0].startswith(f"{second}:1: ")
    assert [(name, line) for name, line, _ in report_problems(tmp_path)] == [(second.name, 1)]


def test_validate_file_takes_a_check_and_refuses_a_non_callable(tmp_path: Path) -> None:
    path = write_run(tmp_path, "r1", [make_stats(operation="op", total=0.9 * HUGE)])
    assert list(validate_file(path)) == []  # load_record alone accepts it
    assert [p.line for p in validate_file(path, check=AnalysisCheck())] == [1]
    with pytest.raises(TypeError, match="check must be a callable or None, got int"):
        validate_file(path, check=5)  # type: ignore[arg-type]


totals = st.sampled_from([0.0, 1.5, 0.2 * HUGE, 0.3 * HUGE, 0.6 * HUGE, HUGE])
timings = st.builds(
    lambda operation, total: make_stats(operation=operation, total=total),
    st.sampled_from(["parse", "index"]),
    totals,
)


@given(st.lists(st.lists(records_with_context | timings, max_size=6), min_size=1, max_size=3))
def test_validate_flags_exactly_the_lines_report_does_not_analyse(
    runs: list[list[Record]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        store = Path(directory)
        for number, records in enumerate(runs):
            write_run(store, f"run-{number}", records)
        status, flagged = validate(str(store))
        problems = report_problems(store)
        assert len(problems) < 20  # every problem shown: the lists compare whole
        assert [(Path(line.split(":")[0]).name, int(line.split(":")[1])) for line in flagged] == [
            (name, line) for name, line, _ in problems
        ]
        assert status == (1 if problems else 0)
