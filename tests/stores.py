"""Record stores built from raw record dicts (the schema 1.1 shape), for the report and CLI.

Raw dicts rather than record objects, so that these stores can hold what the
record classes would refuse: unknown types, later majors, malformed fields.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from itest_shared.store import RecordStore, RecordWriter

MAIN = "/repos/proj"
FEATURE = "/repos/proj-feature-b"


def record(
    record_type: str,
    *,
    worktree: str | None = MAIN,
    branch: str | None = "main",
    test: str | None = "tests/test_a.py::test_one",
    version: str = "1.1",
    package: str = "1.2.0",
    **fields: Any,
) -> dict[str, Any]:
    """A raw record dict: envelope, context (unless schema 1.0) and ``fields``."""
    data: dict[str, Any] = {
        "record_type": record_type,
        "schema_version": version,
        "record_id": f"id-{record_type}-{len(fields)}",
        "producer": {"package_version": package, "pid": 1, "thread_id": 2, "thread_name": "M"},
    }
    if version != "1.0":
        where = None if worktree is None else {"path": worktree, "branch": branch, "commit": None}
        data["context"] = {"test": test, "run_id": "r", "worktree": where}
    return data | fields


def error(source: str, target: str, error_type: str, **kw: Any) -> dict[str, Any]:
    """An error_context record."""
    return record(
        "error_context",
        source_module=source,
        target_module=target,
        operation="parse",
        original_error=None,
        error_type=error_type,
        error_message="boom",
        timestamp=1.0,
        context_data={"traceback": [], "call_stack": []},
        **kw,
    )


def resource(owner: str, kind: str, state: str, **kw: Any) -> dict[str, Any]:
    """A resource record."""
    return record(
        "resource",
        resource_id=f"{owner}-{state}",
        resource_type=kind,
        owner_module=owner,
        created_at=1.0,
        state=state,
        metadata={},
        released_at=2.0 if state == "released" else None,
        **kw,
    )


def config(path: str, **kw: Any) -> dict[str, Any]:
    """A config_change record."""
    return record(
        "config_change",
        config_path=path,
        old_value=1,
        new_value=2,
        affected_modules=["chunker.parser"],
        timestamp=1.0,
        **kw,
    )


def timing(operation: str, count: int, total: float, low: float, high: float, p95: float,
           p99: float, **kw: Any) -> dict[str, Any]:  # fmt: skip
    """A timing_stats record."""
    return record(
        "timing_stats",
        operation=operation,
        count=count,
        total=total,
        average=total / count,
        min=low,
        max=high,
        median=low,
        p95=p95,
        p99=p99,
        stdev=0.0,
        timestamp=1.0,
        **kw,
    )


def build_store(directory: Path) -> Path:
    """Two worktrees, two runs, every type, a leak, schema 2.0, a malformed record, a torn line."""
    store = RecordStore(directory)
    feature = {"worktree": FEATURE, "branch": "feature-b"}
    with store.writer("run-1") as writer:
        writer.write(error("chunker.parser", "cli.main", "ValueError"))
        writer.write(error("chunker.parser", "cli.main", "ValueError"))
        writer.write(error("chunker.parser", "cli.main", "TimeoutError", test="t::two"))
        writer.write(resource("chunker.parallel", "process", "leaked"))
        writer.write(resource("chunker.parallel", "process", "released"))
        writer.write(resource("chunker.parallel", "lock", "active"))
        writer.write(config("parser_timeout"))
        writer.write(config("parser_timeout"))
        writer.write(timing("parse", 10, 1.0, 0.05, 0.2, 0.18, 0.19))
    with store.writer("run-2") as writer:
        writer.write(error("cli.main", "chunker.parallel", "KeyError", **feature))
        writer.write(timing("parse", 30, 6.0, 0.01, 0.5, 0.4, 0.45, **feature))
        writer.write(timing("load", 4, 2.0, 0.25, 1.0, 0.9, 0.95, **feature))
        writer.write(resource("cli.main", "file_handle", "leaked", **feature))
        writer.write(resource("cli.main", "file_handle", "leaked", **feature))
        writer.write(error("a", "b", "Future", version="2.0", **feature))
        writer.write(record("coverage", lines=10, **feature))
        bad = error("x", "y", "ValueError", **feature)
        bad["source_module"] = 5
        writer.write(bad)
        writer.write(config("cache_dir", version="1.0"))
        torn_file = writer.path
    with open(torn_file, "ab") as stream:
        stream.write(b'{"record_type": "resource", "schema_ver')
    return torn_file


def count_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch every RecordWriter to note, per write to its file, how many records it held."""
    writes: list[int] = []
    append = RecordWriter._append

    def counting(self: RecordWriter, data: bytes, count: int) -> None:
        writes.append(count)
        append(self, data, count)

    monkeypatch.setattr(RecordWriter, "_append", counting)
    return writes


def result_record(node: str, outcome: str, **kw: Any) -> dict[str, Any]:
    """A test_result record (schema 1.2)."""
    failing = outcome in ("failed", "error")
    fields: dict[str, Any] = {
        "node_id": node,
        "outcome": outcome,
        "setup_duration": 0.001,
        "call_duration": 0.01,
        "teardown_duration": 0.001,
        "failed_phase": "call" if failing else None,
        "failure": None,
        "markers": [],
        "worker": None,
        "rerun": 0,
        "timestamp": 1.0,
    }
    fields = {"test": node, "version": "1.2", "package": "2.2.0"} | fields | kw
    return record("test_result", **fields)


def environment_record(host: str, python: str = "3.11.7", **kw: Any) -> dict[str, Any]:
    """An environment record (schema 1.2); ``worktree=`` is the context's, as for ``record``."""
    fields: dict[str, Any] = {
        "host": host,
        "os": "Linux",
        "cpu_model": None,
        "cpu_count": 2,
        "python_version": python,
        "python_implementation": "CPython",
        "python_build": python,
        "packages": {},
        "dirty": None,
        "tree_hash": None,
        "worker": None,
        "timestamp": 1.0,
    }
    place = ("worktree", "branch", "test", "version", "package")
    settings = {"test": None, "version": "1.2", "package": "2.2.0"}
    settings |= {key: value for key, value in kw.items() if key in place}
    fields |= {key: value for key, value in kw.items() if key not in place}
    data = record("environment", **settings) | fields
    # The record's own worktree field: the context's worktree, as the plugin writes it.
    context = data.get("context")
    data["worktree"] = context["worktree"] if context else None
    return data


# --- two sides to compare (itest-shared compare) ------------------------------------

BASE = {"worktree": MAIN, "branch": "main"}
CAND = {"worktree": FEATURE, "branch": "feature-b"}


def timing_record(operation: str, median: float, **where: Any) -> dict[str, Any]:
    return record(
        "timing_stats",
        operation=operation,
        count=5,
        total=median * 5,
        average=median,
        min=median,
        max=median,
        median=median,
        p95=median,
        p99=median,
        stdev=0.0,
        timestamp=1.0,
        **where,
    )


def write_run(store: Path, run: str, records: list[dict[str, Any]]) -> None:
    with RecordStore(store).writer(run) as writer:
        for data in records:
            writer.write(data)


def comparison_scenario(store: Path, *, candidate_host: str = "ci-1", seed: int = 1) -> None:
    """4 baseline runs of main, then 4 candidate runs of feature-b (tests/report/test_compare.py).

    The candidate: test_b now fails, test_c fails every other run (flaky),
    test_d is fixed, test_new is new and test_gone gone; operation parse is
    1.5x slower, load unchanged; a leak and an error boundary are new.
    """
    rng = random.Random(seed)

    def timings(where: dict[str, str], slow: float) -> list[dict[str, Any]]:
        return [timing_record("parse", 0.010 * slow * rng.lognormvariate(0, 0.1), **where)
                for _ in range(8)] + [
            timing_record("load", 0.020 * rng.lognormvariate(0, 0.1), **where) for _ in range(8)
        ]  # fmt: skip

    for index in range(4):
        env = environment_record("ci-1", tree_hash="a" * 40, **BASE)
        write_run(
            store,
            f"20261201T00000{index}Z-base{index}",
            [
                env,
                result_record("t.py::test_a", "passed", **BASE),
                result_record("t.py::test_b", "passed", **BASE),
                result_record("t.py::test_c", "passed", **BASE),
                result_record("t.py::test_d", "failed", **BASE),
                result_record("t.py::test_gone", "passed", **BASE),
                *timings(BASE, 1.0),
            ],
        )
    for index in range(4):
        env = environment_record(candidate_host, tree_hash="b" * 40, **CAND)
        write_run(
            store,
            f"20261202T00000{index}Z-cand{index}",
            [
                env,
                result_record("t.py::test_a", "passed", **CAND),
                result_record("t.py::test_b", "failed", **CAND),
                result_record("t.py::test_c", "failed" if index % 2 else "passed", **CAND),
                result_record("t.py::test_d", "passed", **CAND),
                result_record("t.py::test_new", "passed", **CAND),
                resource("pool.worker", "process", "leaked", **CAND),
                record(
                    "error_context",
                    source_module="chunker.parser",
                    target_module="cli.main",
                    operation="parse",
                    original_error=None,
                    error_type="TimeoutError",
                    error_message="slow",
                    timestamp=1.0,
                    context_data={"traceback": [], "call_stack": []},
                    **CAND,
                ),
                *timings(CAND, 1.5),
            ],
        )
