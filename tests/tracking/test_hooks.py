"""ErrorTrackingContext's thread and unraisable hooks: recording, passing on, nesting, restoring."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from itest_shared import ErrorContext, tracking
from itest_shared.tracking import (
    UNCAUGHT_TARGET,
    ErrorTrackingContext,
)
from tests.helpers import run_together
from tests.tracking.support import broken_handler

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
