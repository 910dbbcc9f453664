"""ErrorTrackingContext: errors leaving the with block, record_uncaught, and 16 threads at once."""

from __future__ import annotations

import sys
import threading

import pytest

from itest_shared import ErrorContext
from itest_shared.tracking import (
    UNCAUGHT_TARGET,
    ErrorTrackingContext,
)
from tests.helpers import run_together

# -- the with block -------------------------------------------------------------------


def fail_in_parser() -> None:
    raise ValueError("parser broke")


def test_an_exception_leaving_the_with_block_is_recorded_and_not_suppressed() -> None:
    before = (threading.excepthook, sys.unraisablehook)
    context = ErrorTrackingContext()
    with pytest.raises(ValueError, match="parser broke") as raised, context as entered:
        assert entered is context
        assert context.active
        fail_in_parser()
    assert not context.active
    assert (threading.excepthook, sys.unraisablehook) == before
    [record] = context.get_error_chain()
    assert record.original_error is raised.value
    assert record.source_module == "<with block>"
    assert record.target_module == UNCAUGHT_TARGET
    assert record.operation == f"{__name__}.fail_in_parser"


def test_a_quiet_with_block_records_nothing(ctx: ErrorTrackingContext) -> None:
    with ctx:
        pass
    assert ctx.get_error_chain() == []


@pytest.mark.parametrize("control", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_control_flow_leaving_the_block_is_not_recorded_but_passes(
    ctx: ErrorTrackingContext, control: type[BaseException]
) -> None:
    with pytest.raises(control), ctx:
        raise control()
    assert ctx.get_error_chain() == []
    assert not ctx.active


def test_entering_an_active_context_leaves_it_active(ctx: ErrorTrackingContext) -> None:
    ctx.activate()
    hook = threading.excepthook
    with ctx, ctx:
        assert threading.excepthook is hook  # no second install
    assert ctx.active
    ctx.deactivate()
    assert not ctx.active


def test_uncaught_errors_go_to_handlers_of_the_uncaught_target(ctx: ErrorTrackingContext) -> None:
    seen: list[str] = []
    ctx.register_handler(UNCAUGHT_TARGET, lambda c: seen.append(c.source_module))
    ctx.register_handler("chunker", lambda c: seen.append("wrong"))
    with pytest.raises(ValueError), ctx:
        fail_in_parser()
    ctx.record_uncaught(RuntimeError(), source="parallel_test_environment")
    assert seen == ["<with block>", "parallel_test_environment"]


# -- record_uncaught and contention -------------------------------------------------------


def test_record_uncaught_records_with_the_given_source(ctx: ErrorTrackingContext) -> None:
    try:
        fail_in_parser()
    except ValueError as error:
        raised = error
    record = ctx.record_uncaught(raised, source="async_test_runner task t1")
    assert record.source_module == "async_test_runner task t1"
    assert record.target_module == UNCAUGHT_TARGET
    assert record.operation == f"{__name__}.fail_in_parser"
    never_raised = ctx.record_uncaught(RuntimeError("worker died"), source="parallel")
    assert never_raised.operation == "uncaught"
    assert ctx.get_error_chain() == [record, never_raised]  # recorded while inactive too


def test_16_threads_capturing_at_once_lose_nothing_and_keep_their_order(
    ctx: ErrorTrackingContext, contention: None
) -> None:
    handled: list[ErrorContext] = []
    ctx.register_handler("cli", handled.append)
    per_thread = 2_000

    def capture(index: int) -> None:
        for n in range(per_thread):
            if n % 2:
                ctx.capture_and_propagate(f"worker{index}", "cli.main", ValueError(n))
            else:
                ctx.record_uncaught(ValueError(n), source=f"worker{index}")

    with ctx:
        run_together(capture)
    chain = ctx.get_error_chain()
    assert len(chain) == 16 * per_thread
    for index in range(16):
        mine = [int(c.error_message) for c in chain if c.source_module == f"worker{index}"]
        assert mine == list(range(per_thread))
    assert len(handled) == 16 * per_thread // 2
    assert {id(c) for c in handled} <= {id(c) for c in chain}
