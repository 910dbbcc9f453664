"""ErrorTrackingContext.capture_and_propagate: which handlers run, in what order, failing ones."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared import ErrorContext, ErrorPropagationMixin
from itest_shared.tracking import (
    ErrorTrackingContext,
    HandlerRecursionError,
)
from tests.tracking.support import broken_handler


def test_capture_and_propagate_returns_the_recorded_context_and_calls_the_targets_handlers(
    ctx: ErrorTrackingContext,
) -> None:
    seen: list[ErrorContext] = []
    other: list[ErrorContext] = []
    ctx.register_handler("cli.main", seen.append)
    ctx.register_handler("chunker", other.append)
    error = ValueError("Parser timeout")
    context = ctx.capture_and_propagate("chunker.parser", "cli.main", error)
    assert isinstance(context, ErrorContext)
    ctx.verify_error_context(
        context,
        {
            "source_module": "chunker.parser",
            "target_module": "cli.main",
            "operation": "ErrorTrackingContext",
            "error_type": "ValueError",
            "error_message": "Parser timeout",
        },
    )
    assert context.original_error is error
    assert seen == [context]
    assert seen[0] is context
    assert other == []  # a handler of another module is not called
    assert ctx.get_error_chain() == [context]


def test_operation_defaults_to_the_context_name_and_can_be_given() -> None:
    context = ErrorTrackingContext(name="phase7")
    assert context.name == "phase7"
    assert context.capture_and_propagate("a", "b", KeyError("k")).operation == "phase7"
    given_op = context.capture_and_propagate("a", "b", KeyError("k"), operation="parse")
    assert given_op.operation == "parse"


def test_it_is_an_error_propagation_mixin(ctx: ErrorTrackingContext) -> None:
    assert isinstance(ctx, ErrorPropagationMixin)
    context = ctx.capture_cross_module_error("a", "b", ValueError("x"))
    assert ctx.get_error_chain() == []  # the mixin's method builds a context, records nothing
    assert context.error_type == "ValueError"


@pytest.mark.parametrize(
    ("module", "target", "called"),
    [
        ("chunker", "chunker", True),
        ("chunker", "chunker.parser", True),
        ("chunker", "chunker.parser.python", True),
        ("chunker", "chunkers", False),
        ("chunker", "chunkerx.parser", False),
        ("chunker.parser", "chunker", False),
        ("chunker.parser", "chunker.parsers", False),
        ("chunker.parser", "chunker.parser.rust", True),
    ],
)
def test_a_handler_sees_its_module_and_the_modules_below_it(
    module: str, target: str, called: bool
) -> None:
    context = ErrorTrackingContext()
    seen: list[ErrorContext] = []
    context.register_handler(module, seen.append)
    context.capture_and_propagate("x", target, RuntimeError())
    assert bool(seen) is called


segments = st.lists(st.sampled_from(["a", "b", "ab"]), min_size=1, max_size=4)


@given(module=segments, target=segments)
def test_a_handler_matches_exactly_the_targets_that_start_with_its_segments(
    module: list[str], target: list[str]
) -> None:
    context = ErrorTrackingContext()
    seen: list[ErrorContext] = []
    context.register_handler(".".join(module), seen.append)
    context.capture_and_propagate("x", ".".join(target), RuntimeError())
    assert bool(seen) is (target[: len(module)] == module)


def test_handlers_run_in_registration_order_once_per_registration(
    ctx: ErrorTrackingContext,
) -> None:
    order: list[str] = []
    ctx.register_handler("a.b", lambda c: order.append("specific"))
    ctx.register_handler("a", lambda c: order.append("general"))
    twice = ctx.register_handler("a.b", lambda c: order.append("twice"))
    ctx.register_handler("a.b", twice)
    ctx.capture_and_propagate("x", "a.b", RuntimeError())
    assert order == ["specific", "general", "twice", "twice"]
    ctx.unregister_handler("a.b", twice)
    order.clear()
    ctx.capture_and_propagate("x", "a.b", RuntimeError())
    assert order == ["specific", "general", "twice"]


def test_unregistering_a_handler_that_is_not_registered_is_a_value_error(
    ctx: ErrorTrackingContext,
) -> None:
    handler = ctx.register_handler("a", lambda c: None)
    with pytest.raises(ValueError, match="not registered for module 'b'"):
        ctx.unregister_handler("b", handler)
    ctx.unregister_handler("a", handler)
    with pytest.raises(ValueError, match="not registered for module 'a'"):
        ctx.unregister_handler("a", handler)


def test_a_raising_handler_is_recorded_and_the_others_still_run(
    ctx: ErrorTrackingContext,
) -> None:
    after: list[ErrorContext] = []
    calls: list[ErrorContext] = []

    def counting_broken(context: ErrorContext) -> None:
        calls.append(context)
        broken_handler(context)

    ctx.register_handler("cli", counting_broken)
    ctx.register_handler("cli.main", after.append)
    original = ctx.capture_and_propagate("chunker", "cli.main", ValueError("boom"))
    assert after == [original]
    assert calls == [original]  # the failure was not dispatched back to the broken handler
    chain = ctx.get_error_chain()
    assert chain[0] is original
    assert len(chain) == 2
    failure = chain[1]
    assert failure.source_module == f"{__name__}.{counting_broken.__qualname__}"
    assert failure.target_module == "cli"  # the module the handler was registered for
    assert failure.operation == "error handler for 'cli'"
    assert failure.error_type == "KeyError"
    assert "handler bug" in "".join(failure.context_data["traceback"])


def test_a_handler_may_propagate_errors_itself(ctx: ErrorTrackingContext) -> None:
    def escalate(context: ErrorContext) -> None:
        ctx.capture_and_propagate("cli.main", "ui", RuntimeError(f"after {context.error_message}"))

    ui: list[str] = []
    ctx.register_handler("cli.main", escalate)
    ctx.register_handler("ui", lambda c: ui.append(c.error_message))
    ctx.capture_and_propagate("chunker", "cli.main", ValueError("first"))
    assert [c.error_message for c in ctx.get_error_chain()] == ["first", "after first"]
    assert ui == ["after first"]


def test_a_handler_that_retriggers_itself_is_stopped_and_recorded(
    ctx: ErrorTrackingContext,
) -> None:
    calls: list[int] = []

    def retry(context: ErrorContext) -> None:
        # "chunker" matches "chunker.retry": every propagation comes back here.
        calls.append(1)
        ctx.capture_and_propagate("chunker", "chunker.retry", RuntimeError("again"))

    ctx.register_handler("chunker", retry)
    ctx.capture_and_propagate("x", "chunker", RuntimeError("first"))
    chain = ctx.get_error_chain()
    recursion = [c for c in chain if c.error_type == "HandlerRecursionError"]
    assert len(recursion) == 1
    assert recursion[0].target_module == "chunker"
    assert "nested 32 deep" in recursion[0].error_message
    assert len(calls) == 32
    assert len(chain) == 1 + 32 + 1  # the first, every propagation, the recursion failure


def test_handler_recursion_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(HandlerRecursionError("a.b", 32)))
    assert (error.target, error.depth) == ("a.b", 32)
    assert "'a.b'" in str(error)


def test_the_chain_is_a_copy_in_capture_order_and_clear_empties_it(
    ctx: ErrorTrackingContext,
) -> None:
    first = ctx.capture_and_propagate("a", "b", ValueError("1"))
    second = ctx.capture_and_propagate("b", "c", ValueError("2"))
    chain = ctx.get_error_chain()
    assert chain == [first, second]
    chain.clear()
    assert ctx.get_error_chain() == [first, second]
    assert ctx.captured_errors == [first, second]  # the earlier design's name
    ctx.clear()
    assert ctx.get_error_chain() == []
