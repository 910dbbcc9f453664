"""ErrorTrackingContext: propagation to handlers, and capture of uncaught exceptions."""

from __future__ import annotations

import gc
import json
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared import ErrorContext, ErrorPropagationMixin, tracking
from itest_shared.tracking import (
    UNCAUGHT_TARGET,
    ErrorTrackingContext,
    HandlerRecursionError,
)
from tests.helpers import run_together

# -- helpers --------------------------------------------------------------------------


class Recorder:
    """A stand-in for the hook below ours (pytest's, in a real run): it keeps what it is given."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, args: Any) -> None:
        self.calls.append(args)


@pytest.fixture
def thread_hook(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Install a fake previous ``threading.excepthook`` (restored by monkeypatch)."""
    recorder = Recorder()
    monkeypatch.setattr(threading, "excepthook", recorder)
    return recorder


@pytest.fixture
def unraisable_hook(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Install a fake previous ``sys.unraisablehook`` (restored by monkeypatch)."""
    recorder = Recorder()
    monkeypatch.setattr(sys, "unraisablehook", recorder)
    return recorder


@pytest.fixture
def ctx() -> Iterator[ErrorTrackingContext]:
    context = ErrorTrackingContext()
    yield context
    context.deactivate()


def raise_in_thread(target: Callable[[], object], name: str) -> None:
    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


def divide_by_zero() -> float:
    return 1 / 0


class RaisesOnDel:
    def __del__(self) -> None:
        raise ValueError("broken finaliser")


def sources(context: ErrorTrackingContext) -> list[str]:
    return [record.source_module for record in context.get_error_chain()]


# -- capture_and_propagate and handlers -------------------------------------------------


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


def broken_handler(context: ErrorContext) -> None:
    raise KeyError("handler bug")


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


# -- bad input ------------------------------------------------------------------------

not_a_string = st.none() | st.integers() | st.binary() | st.lists(st.text(), max_size=2)


@given(module=not_a_string)
def test_a_non_string_module_is_a_type_error_and_changes_nothing(module: Any) -> None:
    context = ErrorTrackingContext()
    with pytest.raises(TypeError, match="module must be a module name"):
        context.register_handler(module, print)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("source", lambda: context.capture_and_propagate(module, "t", ValueError())),
        ("target", lambda: context.capture_and_propagate("s", module, ValueError())),
        ("source", lambda: context.record_uncaught(ValueError(), source=module)),
    ]
    for argument, call in calls:
        with pytest.raises(TypeError, match=f"^{argument} must be a module name"):
            call()
    assert context.get_error_chain() == []
    context.capture_and_propagate("s", "t", ValueError())  # nothing was registered
    assert len(context.get_error_chain()) == 1


@given(module=st.sampled_from(["", ".", "a.", ".a", "a..b", "chunker..parser"]))
def test_a_handler_module_needs_whole_dotted_segments(module: str) -> None:
    context = ErrorTrackingContext()
    with pytest.raises(ValueError, match="module must be a non-empty dotted module name"):
        context.register_handler(module, print)
    context.capture_and_propagate("s", "t", ValueError())
    assert len(context.get_error_chain()) == 1


@given(error=st.none() | st.text() | st.just(ValueError) | st.integers())
def test_a_non_exception_error_is_a_type_error(error: Any) -> None:
    context = ErrorTrackingContext()
    with pytest.raises(TypeError, match="error must be an exception instance"):
        context.capture_and_propagate("s", "t", error)
    with pytest.raises(TypeError, match="error must be an exception instance"):
        context.record_uncaught(error, source="worker")
    assert context.get_error_chain() == []


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.register_handler("a", "print"), TypeError, "handler must be callable"),
        (lambda c: c.capture_and_propagate("", "t", ValueError()), ValueError, "source"),
        (lambda c: c.capture_and_propagate("s", "", ValueError()), ValueError, "target"),
        (lambda c: c.record_uncaught(ValueError(), source=""), ValueError, "source"),
        (
            lambda c: c.capture_and_propagate("s", "t", ValueError(), operation=3),
            TypeError,
            "operation must be a string",
        ),
        (lambda c: ErrorTrackingContext(name=""), TypeError, "name must be a non-empty string"),
        (
            lambda c: ErrorTrackingContext(name=5),  # type: ignore[arg-type]
            TypeError,
            "name must be a non-empty string",
        ),
    ],
)
def test_bad_arguments_are_named_in_the_error(
    call: Callable[[ErrorTrackingContext], object], error: type[Exception], match: str
) -> None:
    context = ErrorTrackingContext()
    context.register_handler("a", print)
    with pytest.raises(error, match=match):
        call(context)
    assert context.get_error_chain() == []


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


# -- threads ----------------------------------------------------------------------------


def test_a_thread_exception_is_recorded_and_handed_to_the_previous_hook(
    thread_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    ctx.activate()
    assert threading.excepthook is not thread_hook
    raise_in_thread(divide_by_zero, "chunk-worker")
    ctx.deactivate()
    assert threading.excepthook is thread_hook
    [record] = ctx.get_error_chain()
    assert record.source_module == "thread:chunk-worker"
    assert record.target_module == UNCAUGHT_TARGET
    assert record.operation == f"{__name__}.divide_by_zero"
    assert record.error_type == "ZeroDivisionError"
    [args] = thread_hook.calls
    assert args.exc_value is record.original_error
    assert args.thread.name == "chunk-worker"


def test_a_thread_ending_with_system_exit_is_passed_on_not_recorded(
    thread_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    def leave() -> None:
        sys.exit(3)

    with ctx:
        raise_in_thread(leave, "leaver")
    assert ctx.get_error_chain() == []
    assert len(thread_hook.calls) == 1


def test_after_deactivate_thread_exceptions_are_not_recorded(
    thread_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    with ctx:
        pass
    raise_in_thread(divide_by_zero, "late")
    assert ctx.get_error_chain() == []
    assert len(thread_hook.calls) == 1


def test_activate_and_deactivate_are_idempotent(
    thread_hook: Recorder, unraisable_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    ctx.deactivate()
    ctx.activate()
    installed = (threading.excepthook, sys.unraisablehook)
    ctx.activate()
    assert (threading.excepthook, sys.unraisablehook) == installed
    raise_in_thread(divide_by_zero, "once")
    assert len(ctx.get_error_chain()) == 1  # one hook, one record
    ctx.deactivate()
    ctx.deactivate()
    assert threading.excepthook is thread_hook
    assert sys.unraisablehook is unraisable_hook
    ctx.activate()  # a context can be activated again
    raise_in_thread(divide_by_zero, "twice")
    ctx.deactivate()
    assert sources(ctx) == ["thread:once", "thread:twice"]
    assert len(thread_hook.calls) == 2


def test_a_handler_failing_inside_the_thread_hook_is_recorded(
    thread_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    ctx.register_handler(UNCAUGHT_TARGET, broken_handler)
    with ctx:
        raise_in_thread(divide_by_zero, "t")
    assert [c.error_type for c in ctx.get_error_chain()] == ["ZeroDivisionError", "KeyError"]
    assert len(thread_hook.calls) == 1


# -- unraisable exceptions -----------------------------------------------------------------


def test_an_unraisable_exception_is_recorded_and_handed_to_the_previous_hook(
    unraisable_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    with ctx:
        doomed = RaisesOnDel()
        del doomed
    assert sys.unraisablehook is unraisable_hook
    [record] = ctx.get_error_chain()
    assert record.source_module == "unraisable"
    assert record.target_module == UNCAUGHT_TARGET
    assert record.error_type == "ValueError"
    assert record.error_message == "broken finaliser"
    assert record.operation.startswith("Exception ignored in: <function RaisesOnDel.__del__")
    [args] = unraisable_hook.calls
    assert args.exc_value is record.original_error


def test_an_unraisable_exception_from_the_garbage_collector_is_recorded(
    unraisable_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    gc.collect()  # collect others' garbage now, not inside our context
    with ctx:
        cycle = RaisesOnDel()
        cycle.me = cycle  # type: ignore[attr-defined]
        del cycle
        gc.collect()
    assert [c.error_message for c in ctx.get_error_chain()] == ["broken finaliser"]
    assert len(unraisable_hook.calls) == 1


def test_an_unraisable_exception_while_the_chain_lock_is_held_does_not_deadlock(
    unraisable_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    # The garbage collector can run a raising __del__ in this very thread while
    # the context holds its lock; the hook then records through the same lock.
    def collect_inside(context: ErrorContext) -> None:
        with ctx._lock:
            doomed = RaisesOnDel()
            del doomed

    ctx.register_handler("a", collect_inside)
    with ctx:
        # In a daemon thread, so that a deadlock fails this test instead of hanging it.
        worker = threading.Thread(
            target=ctx.capture_and_propagate, args=("s", "a", ValueError("first")), daemon=True
        )
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "deadlocked: the hook could not take the held lock"
    assert [c.error_message for c in ctx.get_error_chain()] == ["first", "broken finaliser"]


# -- nesting and restoring hooks -------------------------------------------------------------


def test_nested_contexts_both_record_and_restore_in_order(
    thread_hook: Recorder, unraisable_hook: Recorder
) -> None:
    outer, inner = ErrorTrackingContext(name="outer"), ErrorTrackingContext(name="inner")
    with outer:
        outer_hooks = (threading.excepthook, sys.unraisablehook)
        with inner:
            raise_in_thread(divide_by_zero, "both")
            doomed = RaisesOnDel()
            del doomed
        assert (threading.excepthook, sys.unraisablehook) == outer_hooks
        raise_in_thread(divide_by_zero, "outer-only")
    assert threading.excepthook is thread_hook
    assert sys.unraisablehook is unraisable_hook
    assert sources(inner) == ["thread:both", "unraisable"]
    assert sources(outer) == ["thread:both", "unraisable", "thread:outer-only"]
    assert len(thread_hook.calls) == 2  # each exception reached the previous hook once
    assert len(unraisable_hook.calls) == 1


def test_deactivating_out_of_order_leaves_no_dangling_hook(
    thread_hook: Recorder, unraisable_hook: Recorder
) -> None:
    outer, inner = ErrorTrackingContext(), ErrorTrackingContext()
    outer.activate()
    inner.activate()
    inner_hooks = (threading.excepthook, sys.unraisablehook)
    outer.deactivate()
    # inner's hooks are on top; outer's, under them, now only pass on.
    assert (threading.excepthook, sys.unraisablehook) == inner_hooks
    raise_in_thread(divide_by_zero, "after-outer")
    assert sources(inner) == ["thread:after-outer"]
    assert outer.get_error_chain() == []
    assert len(thread_hook.calls) == 1
    inner.deactivate()
    assert threading.excepthook is thread_hook
    assert sys.unraisablehook is unraisable_hook


def chain_below(current: Any, bottom: object) -> list[Any]:
    """The hooks from ``current`` down to ``bottom`` (excluded), following ``previous``."""
    hooks = []
    while current is not bottom:
        hooks.append(current)
        current = current.previous
    return hooks


def test_alternating_out_of_order_exits_do_not_grow_the_hook_chain(
    thread_hook: Recorder, unraisable_hook: Recorder
) -> None:
    first, second = ErrorTrackingContext(), ErrorTrackingContext()
    first.activate()
    for _ in range(2_000):  # always deactivate the one underneath
        second.activate()
        first.deactivate()
        first.activate()
        second.deactivate()
    assert len(chain_below(threading.excepthook, thread_hook)) == 1
    assert len(chain_below(sys.unraisablehook, unraisable_hook)) == 1
    raise_in_thread(divide_by_zero, "deep")  # a long chain would hit the recursion limit
    first.deactivate()
    assert sources(first) == ["thread:deep"]
    assert threading.excepthook is thread_hook
    assert sys.unraisablehook is unraisable_hook


def test_a_foreign_hook_installed_on_top_is_left_in_place(
    thread_hook: Recorder, ctx: ErrorTrackingContext
) -> None:
    ctx.activate()
    ours = threading.excepthook
    foreign_calls: list[Any] = []

    def foreign(args: Any) -> None:
        foreign_calls.append(args)
        ours(args)

    threading.excepthook = foreign
    ctx.deactivate()
    assert threading.excepthook is foreign  # unhooking ours would cut the foreign hook out
    raise_in_thread(divide_by_zero, "through")
    assert ctx.get_error_chain() == []  # ours is a pass-through now
    assert len(foreign_calls) == 1
    assert len(thread_hook.calls) == 1  # and still passes on


class SlowHook(tracking._ChainedHook):
    """A hook that yields the GIL inside the windows the hooks lock guards, so a race shows."""

    def __init__(self, previous: Callable[[Any], object], record: Callable[[Any], None]) -> None:
        time.sleep(0)  # between reading the installed hook and replacing it
        super().__init__(previous, record)

    @property
    def previous(self) -> Callable[[Any], object]:
        time.sleep(0)  # between checking the installed hook and restoring the one below
        return self._below

    @previous.setter
    def previous(self, value: Callable[[Any], object]) -> None:
        self._below = value


def test_many_contexts_activating_at_once_restore_the_original_hooks(
    thread_hook: Recorder,
    unraisable_hook: Recorder,
    contention: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracking, "_ChainedHook", SlowHook)
    contexts = [ErrorTrackingContext() for _ in range(16)]

    def reachable(hook: object, current: object) -> bool:
        while hook is not current:
            current = getattr(current, "previous", None)
            if current is None:
                return False
        return True

    def churn(index: int) -> None:
        context = contexts[index]
        for _ in range(50):
            context.activate()
            # A lost write would leave an active context's hook out of the chain.
            assert context._hooks is not None
            assert reachable(context._hooks[0], threading.excepthook)
            assert reachable(context._hooks[1], sys.unraisablehook)
            context.deactivate()
        context.activate()  # left active, deactivated below in another order

    run_together(churn)
    # Exactly the 16 live hooks are chained, nothing lost and nothing dead left over.
    assert len(chain_below(threading.excepthook, thread_hook)) == 16
    assert len(chain_below(sys.unraisablehook, unraisable_hook)) == 16
    raise_in_thread(divide_by_zero, "all")
    assert all(sources(c) == ["thread:all"] for c in contexts)
    assert len(thread_hook.calls) == 1
    for context in contexts[::2] + contexts[1::2]:
        context.deactivate()
    assert threading.excepthook is thread_hook
    assert sys.unraisablehook is unraisable_hook


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


# -- end to end, under a real pytest -------------------------------------------------------

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
