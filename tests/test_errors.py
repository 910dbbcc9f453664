"""ErrorPropagationMixin: capture and verify cross-module errors."""

from __future__ import annotations

from typing import Any

import pytest

from itest_shared import ErrorContext, ErrorPropagationMixin
from tests.helpers import run_together

THIS_FILE = __file__


def raise_at_depth(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep down")
    raise_at_depth(depth - 1)


class TestCrossModuleErrors(ErrorPropagationMixin):
    """The SPEC's own example, verbatim but for the import; pytest must collect this class."""

    def test_error_propagation(self) -> None:
        error = ValueError("Parser timeout")
        context = self.capture_cross_module_error(
            source_module="chunker.parser", target_module="cli.main", error=error
        )
        self.verify_error_context(
            context, {"source_module": "chunker.parser", "error_type": "ValueError"}
        )
        assert "traceback" in context["context_data"]

    def test_operation_is_the_using_class_name(self) -> None:
        context = self.capture_cross_module_error("a", "b", KeyError("k"))
        assert context.operation == "TestCrossModuleErrors"
        assert context.error_type == "KeyError"
        assert context.error_message == "'k'"


def test_mixin_has_no_init_and_no_state() -> None:
    assert "__init__" not in vars(ErrorPropagationMixin)
    mixin = ErrorPropagationMixin()
    mixin.capture_cross_module_error("a", "b", ValueError())
    assert vars(mixin) == {}  # nothing kept on the instance


def capture_here(error: BaseException) -> ErrorContext:
    class Chunker(ErrorPropagationMixin):
        pass

    return Chunker().capture_cross_module_error("chunker.parallel", "chunker.api", error)


def test_traceback_is_the_formatted_exception_with_its_chain() -> None:
    try:
        try:
            raise_at_depth(3)
        except ValueError as exc:
            raise RuntimeError("while chunking") from exc
    except RuntimeError as exc:
        error = exc
    context = capture_here(error)
    text = "".join(context["context_data"]["traceback"])
    assert "ValueError: deep down" in text
    assert "The above exception was the direct cause" in text
    assert "RuntimeError: while chunking" in text
    assert text.count("in raise_at_depth") == 4
    assert context.operation == "Chunker"
    assert [i.type_name for i in context.error_info.walk()] == ["RuntimeError", "ValueError"]


def test_call_stack_lists_the_callers_frames_innermost_first_without_the_mixins() -> None:
    def outer() -> ErrorContext:
        return inner()

    def inner() -> ErrorContext:
        return capture_here(ValueError("x"))

    stack = outer()["context_data"]["call_stack"]
    functions = [entry.rsplit(" in ", 1)[1] for entry in stack]
    assert functions[:4] == [
        "capture_here",
        "inner",
        "outer",
        "test_call_stack_lists_the_callers_frames_innermost_first_without_the_mixins",
    ]
    file_part, line_part = stack[0].rsplit(" in ", 1)[0].rsplit(":", 1)
    assert file_part == THIS_FILE and line_part.isdigit()
    assert not any("itest_shared/errors.py" in entry for entry in stack)


def test_bad_arguments_name_themselves() -> None:
    mixin = ErrorPropagationMixin()
    with pytest.raises(TypeError, match="source_module"):
        mixin.capture_cross_module_error(None, "b", ValueError())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="target_module"):
        mixin.capture_cross_module_error("a", 3, ValueError())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="error"):
        mixin.capture_cross_module_error("a", "b", "boom")  # type: ignore[arg-type]


def test_verify_lists_every_missing_key_and_every_mismatch() -> None:
    context = ErrorPropagationMixin().capture_cross_module_error("a", "b", ValueError("v"))
    with pytest.raises(AssertionError) as caught:
        ErrorPropagationMixin().verify_error_context(
            context,
            {
                "source_module": "x",
                "target_module": "b",
                "error_type": "KeyError",
                "severity": "high",
                "owner": "me",
                "timestamp": 0.0,
            },
        )
    # Every problem, in the order of the expected keys, in the copied prototype's
    # words (which tests match on), each followed by the reprs.
    assert str(caught.value).splitlines() == [
        "error context does not match:",
        "  Context mismatch for source_module: a != x (expected 'x', got 'a')",
        "  Context mismatch for error_type: ValueError != KeyError"
        " (expected 'KeyError', got 'ValueError')",
        "  Missing context key: severity",
        "  Missing context key: owner",
    ]


def test_verify_is_a_staticmethod_with_the_prototypes_and_the_1_1_parameter_names() -> None:
    context = {"source_module": "a", "error_type": "ValueError"}
    verify = ErrorPropagationMixin.verify_error_context  # on the class, as the prototype
    verify(context, {"source_module": "a"})
    verify(error=context, expected_context={"error_type": "ValueError"})
    ErrorPropagationMixin().verify_error_context(context=context, expected={"source_module": "a"})
    with pytest.raises(AssertionError, match="Missing context key: operation"):
        verify(error=context, expected_context={"operation": "x"})
    with pytest.raises(TypeError, match="both error and context"):
        verify(context, {}, context=context)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'expectd'"):
        verify(context, expectd={})  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing required argument: 'expected_context'"):
        verify(context)


def test_verify_accepts_plain_dicts_and_checks_timestamp_presence() -> None:
    verify = ErrorPropagationMixin().verify_error_context
    verify({"source_module": "a", "timestamp": 5.0}, {"source_module": "a", "timestamp": 1.0})
    with pytest.raises(AssertionError, match="timestamp"):
        verify({"source_module": "a"}, {"timestamp": 1.0})
    with pytest.raises(AssertionError, match="timestamp"):
        verify({"timestamp": None}, {"timestamp": 1.0})
    with pytest.raises(TypeError, match="expected_context must be a mapping"):
        verify({}, ["source_module"])  # type: ignore[arg-type]


def test_capture_under_contention_loses_and_mixes_nothing(contention: None) -> None:
    """16 threads x 2,000 captures: each context is whole and belongs to its own thread."""

    class Worker(ErrorPropagationMixin):
        pass

    results: dict[int, list[ErrorContext]] = {}

    def run(index: int) -> None:
        worker = Worker()
        mine: list[ErrorContext] = []
        for n in range(2000):
            mine.append(
                worker.capture_cross_module_error(f"src{index}", "dst", ValueError(f"{index}-{n}"))
            )
        results[index] = mine

    run_together(run, name="capturer")
    assert sorted(results) == list(range(16))
    record_ids = set()
    for index, contexts in results.items():
        assert [c.error_message for c in contexts] == [f"{index}-{n}" for n in range(2000)]
        for context in contexts:
            assert context.source_module == f"src{index}"
            assert context.producer["thread_name"] == f"capturer-{index}"
            assert context.context_data["call_stack"][0].endswith(" in run")  # the target's frame
            record_ids.add(context.record_id)
    assert len(record_ids) == 32_000


def test_works_as_a_mixin_with_other_bases() -> None:
    class Base:
        def __init__(self, value: Any) -> None:
            self.value = value

    class Combined(Base, ErrorPropagationMixin):
        pass

    context = Combined(3).capture_cross_module_error("a", "b", OSError("disk"))
    assert context.operation == "Combined" and context.error_type == "OSError"
