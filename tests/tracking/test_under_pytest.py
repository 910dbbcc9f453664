"""ErrorTrackingContext end to end under a real pytest run (pytester)."""

from __future__ import annotations

import json

import pytest

INNER_INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
"""

THREAD_TEST = """
import threading
from itest_shared.tracking import ErrorTrackingContext

def test_raising_thread():
    with ErrorTrackingContext() as ctx:
        thread = threading.Thread(target=lambda: 1 / 0, name="raiser")
        thread.start()
        thread.join()
    [record] = ctx.get_error_chain()
    assert record.source_module == "thread:raiser"
    assert record.error_type == "ZeroDivisionError"
    print("CONTEXT RECORDED", record.source_module)
"""

UNRAISABLE_TEST = """
from itest_shared.tracking import ErrorTrackingContext

class Doomed:
    def __del__(self):
        raise ValueError("from del")

def test_unraisable():
    with ErrorTrackingContext() as ctx:
        doomed = Doomed()
        del doomed
    [record] = ctx.get_error_chain()
    assert record.source_module == "unraisable"
    print("CONTEXT RECORDED", record.error_message)
"""


@pytest.mark.parametrize(
    ("source", "warning", "summary"),
    [
        (THREAD_TEST, "PytestUnhandledThreadExceptionWarning", "Exception in thread raiser"),
        (UNRAISABLE_TEST, "PytestUnraisableExceptionWarning", "Exception ignored in"),
    ],
    ids=["thread", "unraisable"],
)
def test_pytest_still_reports_what_the_context_recorded(
    pytester: pytest.Pytester, source: str, warning: str, summary: str
) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(source)
    # Warnings shown, not errors: pytest's report appears as a warning.
    shown = pytester.runpytest_subprocess("-s", "-W", f"default::pytest.{warning}")
    shown.assert_outcomes(passed=1, warnings=1)
    shown.stdout.fnmatch_lines(["*CONTEXT RECORDED*", f"*{warning}: {summary}*"])
    # As this project runs (filterwarnings = error), pytest fails the test for it.
    strict = pytester.runpytest_subprocess("-s", "-W", f"error::pytest.{warning}")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*CONTEXT RECORDED*", f"*{warning}: {summary}*"])
    assert "AssertionError" not in strict.stdout.str()  # the context's own checks passed


FIXTURE_TEST = """
import asyncio, json, pytest
from itest_shared.parallel import WorkerError

@pytest.fixture
def chain_dump(error_tracking_context, tmp_path_factory):
    # Torn down after the runner and the environment: they have reported by then.
    yield error_tracking_context
    records = [[c.source_module, c.error_type] for c in error_tracking_context.get_error_chain()]
    with open({path!r}, "w") as out:
        json.dump(records, out)

def crash():
    raise KeyError("worker crashed")

async def task_fails():
    raise LookupError("task failed")

def test_workers_and_tasks(chain_dump, parallel_test_environment, async_test_runner):
    parallel_test_environment.create_worker_thread(crash, name="crasher").start()
    with pytest.raises(WorkerError):
        parallel_test_environment.join_all()
    async_test_runner.create_task(task_fails(), name="doomed")
    async_test_runner.run(asyncio.sleep(0.01))
"""


def test_failed_workers_and_tasks_reach_the_fixture_context(pytester: pytest.Pytester) -> None:
    dump = pytester.path / "chain.json"
    pytester.makeini(INNER_INI)
    pytester.makepyfile(FIXTURE_TEST.format(path=str(dump)))
    result = pytester.runpytest_subprocess("-p", "itest_shared.fixtures")
    result.assert_outcomes(passed=1)
    records = json.loads(dump.read_text())
    assert ["parallel_test_environment", "WorkerError"] in records
    assert ["async_test_runner task doomed", "LookupError"] in records
    assert len(records) == 2
