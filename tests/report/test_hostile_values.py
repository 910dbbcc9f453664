"""Values that JSON and the store accept but a careless report would choke on.

Lone surrogates in strings, numbers of 10^309 and more (``json.loads`` gives
``inf`` or a huge int), counts beyond any float, totals that add up past the
largest float: every line is analysed, or filed as a problem that names the
field, and both formats render (the markdown as strict UTF-8).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.report import build_report, render_json, render_markdown
from itest_shared.store import RecordStore
from tests.report.support import assert_inert
from tests.stores import FEATURE, config, error, record, resource, timing
from tests.strategies import records_with_context

HUGE = 10**309  # an int json.loads keeps exact, beyond the float range
BIGGEST = sys.float_info.max


def write_store(directory: Path, items: list[Any], raw_lines: tuple[str, ...] = ()) -> Path:
    """Write ``items`` with our own writer, and ``raw_lines`` as they are into a file of run r."""
    with RecordStore(directory).writer("r") as writer:
        for item in items:
            writer.write(item)
    if raw_lines:
        raw = directory / "records" / "r" / "raw.jsonl"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_bytes("".join(line + "\n" for line in raw_lines).encode())
    return directory


def render_both(directory: Path) -> dict[str, Any]:
    """Build the report, check both formats render and are strict UTF-8; return the document."""
    document = build_report(directory)
    text = render_json(document)
    assert json.loads(text) == document  # exact, and no NaN or infinity reached it
    text.encode("utf-8")  # strict: no lone surrogate
    markdown = render_markdown(document)
    markdown.encode("utf-8")
    assert_inert(markdown)  # no terminal control, no live tag (test_injection.py)
    return document


def reasons(document: dict[str, Any]) -> list[str]:
    return [problem["reason"] for problem in document["problems"]["shown"]]


def test_lone_surrogates_are_kept_in_json_and_replaced_in_markdown(tmp_path: Path) -> None:
    items = [
        config("a\ud800b", worktree="/w/\udcff", branch="br\udfff"),
        error("m\ud800", "n", "E\udc80rror"),
        timing("op\ud834", 1, 1.0, 1.0, 1.0, 1.0, 1.0),
    ]
    document = render_both(write_store(tmp_path, items))
    assert document["problems"]["total"] == 0
    paths = {w["path"] for w in document["worktrees"]}
    assert "/w/\udcff" in paths
    by_path = document["worktrees"][0]["config_changes"]["by_path"]
    assert by_path == [{"config_path": "a\ud800b", "count": 1}]
    assert '"a\\ud800b"' in render_json(document)  # the JSON keeps the exact value, escaped
    text = render_markdown(document)
    assert "\\ud800" in text and "\\udfff" in text  # shown, as an escape


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("total", HUGE, "total: expected a finite number >= 0, got a number beyond the float"),
        ("max", HUGE, "max: expected a finite number >= 0, got a number beyond the float"),
        ("p99", -HUGE, "p99: expected a finite number >= 0"),
        ("min", -1.0, "min: expected a finite number >= 0, got the number -1.0"),
        ("count", HUGE, "count: expected an integer from 1 to 2**64, got a number of 310 digits"),
        ("count", 2**64 + 1, "count: expected an integer from 1 to 2**64"),
    ],
    ids=["huge-total", "huge-max", "huge-negative-p99", "negative-min", "huge-count", "2**64+1"],
)
def test_numbers_beyond_range_are_filed_by_name(
    tmp_path: Path, field: str, value: object, named: str
) -> None:
    good = timing("op", 2, 1.0, 0.5, 0.5, 0.5, 0.5)
    document = render_both(write_store(tmp_path, [good, good | {field: value}]))
    assert document["problems"]["total"] == 1
    assert named in reasons(document)[0]
    assert document["timings"][0]["records"] == 1  # the good one, untouched


def test_1e309_in_a_line_is_filed_by_name(tmp_path: Path) -> None:
    line = json.dumps(timing("op", 1, 1.0, 1.0, 1.0, 1.0, 1.0)).replace(
        '"total": 1.0', '"total": 1e309'
    )
    assert "1e309" in line
    document = render_both(write_store(tmp_path, [], (line,)))
    assert document["records"] == 1 and document["problems"]["total"] == 1
    assert "total: expected a finite number >= 0, got the number inf" in reasons(document)[0]


def test_2_to_the_64_is_still_a_count(tmp_path: Path) -> None:
    document = render_both(
        write_store(tmp_path, [timing("op", 1, 1.0, 1.0, 1.0, 1.0, 1.0) | {"count": 2**64}] * 3)
    )
    assert document["problems"]["total"] == 0
    assert document["timings"][0]["count"] == 3 * 2**64


@pytest.mark.parametrize("where", ["same worktree", "two worktrees"])
def test_totals_that_would_add_up_to_infinity_file_the_record_that_overflows(
    tmp_path: Path, where: str
) -> None:
    second = {"worktree": FEATURE, "branch": "feature-b"} if where == "two worktrees" else {}
    items = [
        timing("op", 1, BIGGEST / 5, 1.0, 1.0, 1.0, 1.0),
        timing("op", 1, BIGGEST / 5, 1.0, 1.0, 1.0, 1.0, **second),
        timing("op", 1, BIGGEST / 5, 1.0, 1.0, 1.0, 1.0, **second),  # past MAX_TOTAL
        timing("other", 1, BIGGEST / 5, 1.0, 1.0, 1.0, 1.0),
    ]
    document = render_both(write_store(tmp_path, items))
    assert document["problems"]["total"] == 1
    problem = document["problems"]["shown"][0]
    assert problem["line"] == 3
    assert "total: the totals of operation 'op' would add up to more than" in problem["reason"]
    merged = {t["operation"]: t for t in document["timings"]}
    assert merged["op"]["records"] == 2 and merged["op"]["total"] == 2 * (BIGGEST / 5)
    assert merged["other"]["records"] == 1


# --- any record our writer writes, and raw dicts with hostile values ---------

hostile_text = st.sampled_from(
    ["\ud800", "a\udfffb", "\x1b]0;title\x07", "\u202egnp.exe", "<script>x</script>", "`", ""]
) | st.text(st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Lu", "Po", "Sm"]), max_size=8)
hostile_numbers = st.sampled_from(
    [HUGE, -HUGE, 10**4000, BIGGEST, -BIGGEST, 2**64, 2**64 + 1, 0, -1, 1e-320, True, None]
) | st.floats(allow_nan=False, allow_infinity=False)
raw_timings = st.builds(
    lambda operation, changes: timing(operation, 1, 1.0, 1.0, 1.0, 1.0, 1.0) | changes,
    hostile_text,
    st.dictionaries(
        st.sampled_from(["count", "total", "min", "max", "p95", "p99"]), hostile_numbers
    ),
)
raw_records = (
    st.builds(config, hostile_text, worktree=hostile_text, branch=st.none() | hostile_text)
    | st.builds(error, hostile_text, hostile_text, hostile_text, test=hostile_text)
    | st.builds(resource, hostile_text, hostile_text, st.sampled_from(["leaked", "active"]))
    | st.builds(record, hostile_text, version=st.sampled_from(["1.0", "1.1", "1.9", "2.0"]))
    | raw_timings
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(records_with_context | raw_records, min_size=1, max_size=12))
def test_any_store_our_writer_makes_renders_in_both_formats(items: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        written = 0
        with RecordStore(directory).writer("r") as writer:
            for item in items:
                try:
                    writer.write(item)
                except ValueError:
                    continue  # refused by the writer (e.g. a 4,000-digit number): not stored
                written += 1
        document = render_both(Path(directory))
    assert document["records"] == written
    not_analysed = sum(sum(w["not_analysed"].values()) for w in document["worktrees"])
    assert not_analysed <= written
