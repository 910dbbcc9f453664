"""COMPAT sections 3 and 8: ErrorPropagationMixin and ErrorTrackingContext, the prototype's way."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

import pytest

from itest_shared import ErrorPropagationMixin, ErrorTrackingContext

# --- section 3: ErrorPropagationMixin ---------------------------------------------------


class Chunker(ErrorPropagationMixin):
    """A test helper class of a worktree's suite, as the prototype's users write them."""

    def fail_inside(self) -> dict[str, Any]:
        try:
            raise KeyError("k")
        except KeyError as error:
            return self.capture_cross_module_error("chunker.parser", "cli.main", error)


def test_3_capture_returns_the_error_record_with_its_keys_in_order() -> None:
    error = ValueError("Parser timeout")
    before = time.time()
    record = Chunker().capture_cross_module_error(
        source_module="chunker.parser", target_module="cli.main", error=error
    )
    assert list(record) == [
        "source_module",
        "target_module",
        "operation",
        "original_error",
        "error_type",
        "error_message",
        "timestamp",
        "context_data",
    ]
    assert record["source_module"] == "chunker.parser"
    assert record["target_module"] == "cli.main"
    assert record["operation"] == "Chunker"  # type(self).__name__
    assert record["original_error"] is error
    assert record["error_type"] == "ValueError"
    assert record["error_message"] == "Parser timeout"
    assert isinstance(record["timestamp"], float) and before <= record["timestamp"] <= time.time()
    assert set(record["context_data"]) == {"traceback", "call_stack"}
    assert len(record) == 8


def test_3_traceback_of_a_never_raised_error_is_one_line() -> None:
    record = Chunker().capture_cross_module_error("a", "b", ValueError("boom"))
    assert record["context_data"]["traceback"] == ["ValueError: boom\n"]


def test_3_traceback_of_a_raised_error_starts_with_the_header_and_keeps_the_chain() -> None:
    try:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as cause:
            raise ValueError("Parser timeout") from cause
    except ValueError as error:
        record = Chunker().capture_cross_module_error("a", "b", error)
        expected = traceback.format_exception(error)
    lines = record["context_data"]["traceback"]
    assert lines == expected
    assert lines[0] == "Traceback (most recent call last):\n"
    assert all(line.endswith("\n") for line in lines)
    assert any("TimeoutError: read timed out" in line for line in lines)


def test_3_call_stack_starts_at_the_caller_innermost_first() -> None:
    record = Chunker().fail_inside()
    stack = record["context_data"]["call_stack"]
    assert stack[0].startswith(f"{__file__}:") and stack[0].endswith(" in fail_inside")
    assert stack[1].endswith(" in test_3_call_stack_starts_at_the_caller_innermost_first")
    assert all(" in " in frame and ":" in frame for frame in stack)
    assert record["error_message"] == "'k'"  # str(KeyError("k")), quotes included


def test_3_capturing_has_no_side_effects_and_the_mixin_has_no_init() -> None:
    assert "__init__" not in vars(ErrorPropagationMixin)
    mixin = Chunker()
    mixin.capture_cross_module_error("a", "b", ValueError("x"))
    assert vars(mixin) == {}


def test_3_verify_error_context_is_a_staticmethod_that_passes_and_returns_none() -> None:
    record = Chunker().capture_cross_module_error("chunker.parser", "cli.main", ValueError("x"))
    expected = {"source_module": "chunker.parser", "error_type": "ValueError", "timestamp": 0.0}
    assert ErrorPropagationMixin.verify_error_context(record, expected) is None
    assert Chunker().verify_error_context(error=record, expected_context=expected) is None
    # Extra keys of the record are ignored; nested values compare whole.
    Chunker.verify_error_context(record, {"context_data": record["context_data"]})


def test_3_verify_error_context_messages_contain_the_prototypes_words() -> None:
    record = Chunker().capture_cross_module_error("chunker.parser", "cli.main", ValueError("x"))
    with pytest.raises(AssertionError, match="Missing context key: severity"):
        Chunker.verify_error_context(record, {"severity": "high"})
    with pytest.raises(
        AssertionError, match="Context mismatch for error_type: ValueError != KeyError"
    ):
        Chunker.verify_error_context(record, {"error_type": "KeyError"})
    # Values are shown with str(), not repr(), as the prototype did.
    with pytest.raises(AssertionError, match=r"Context mismatch for n: 1 != 2"):
        Chunker.verify_error_context({"n": 1}, {"n": 2})
    # timestamp: presence only.
    with pytest.raises(AssertionError, match="Missing context key: timestamp"):
        Chunker.verify_error_context({"source_module": "a"}, {"timestamp": 1.0})


def test_3_verify_error_context_checks_under_python_O_too() -> None:
    # [DEFECT 13] fixed: not a bare assert, so -O does not turn it off.
    import subprocess
    import sys

    code = (
        "from itest_shared import ErrorPropagationMixin as M\n"
        "try:\n"
        "    M.verify_error_context({'a': 1}, {'a': 2})\n"
        "except AssertionError as e:\n"
        "    print('raised', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "raised" in result.stdout and "Context mismatch for a: 1 != 2" in result.stdout


# --- section 8: ErrorTrackingContext ---------------------------------------------------------


def test_8_capture_and_propagate_records_and_calls_the_target() -> None:
    context = ErrorTrackingContext()
    handled: list[Any] = []
    assert context.register_handler("cli.main", handled.append) is not None
    assert context.error_handlers == {"cli.main": handled.append}
    record = context.capture_and_propagate("chunker.parser", "cli.main", ValueError("x"))
    assert record["operation"] == "ErrorTrackingContext"
    # The call stack starts with the capture_and_propagate frame itself.
    stack = record["context_data"]["call_stack"]
    assert stack[0].endswith(" in capture_and_propagate")
    assert stack[1].endswith(" in test_8_capture_and_propagate_records_and_calls_the_target")
    assert handled == [record]
    assert context.captured_errors == [record]
    chain = context.get_error_chain()
    assert chain == [record]
    chain.clear()  # a copy
    assert len(context.get_error_chain()) == 1
    # The source's handler is never called.
    source_calls: list[Any] = []
    context.register_handler("chunker.parser", source_calls.append)
    context.capture_and_propagate("chunker.parser", "cli.main", ValueError("y"))
    assert source_calls == []


def test_8_a_handler_may_capture_again_without_deadlock() -> None:
    # [DEFECT 7] fixed: handlers run outside the lock.
    context = ErrorTrackingContext()

    def escalate(record: Any) -> None:
        if record["target_module"] == "cli.main":
            context.capture_and_propagate("cli.main", "cli.errors", RuntimeError("escalated"))
            context.get_error_chain()

    context.register_handler("cli.main", escalate)
    finished = threading.Event()

    def run() -> None:
        context.capture_and_propagate("chunker", "cli.main", ValueError("x"))
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert finished.wait(30), "a handler capturing again deadlocked"
    assert [r["target_module"] for r in context.get_error_chain()] == ["cli.main", "cli.errors"]


def test_8_with_block_records_the_error_and_never_suppresses_it() -> None:
    # [DEFECT 6] fixed: the exception leaving the block is recorded.
    context = ErrorTrackingContext()
    with pytest.raises(KeyError), context as entered:
        assert entered is context
        raise KeyError("lost")
    [record] = context.get_error_chain()
    assert record["error_type"] == "KeyError"
