"""ThreadSafeCounter: values, bad amounts, and exact counts under contention."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.perf import (
    ThreadSafeCounter,
)
from tests.perf.support import OPERATIONS, THREADS, run_threads


class YieldingInt(int):
    """An int whose arithmetic lets other threads run mid-update, widening race windows."""

    def __add__(self, other: object) -> YieldingInt:
        time.sleep(0)
        return YieldingInt(int(self) + int(other))  # type: ignore[call-overload]

    def __sub__(self, other: object) -> YieldingInt:
        time.sleep(0)
        return YieldingInt(int(self) - int(other))  # type: ignore[call-overload]


def test_counter_returns_new_values_and_resets_to_its_initial_value() -> None:
    counter = ThreadSafeCounter(initial=10)
    assert counter.value == 10
    assert counter.increment() == 11
    assert counter.increment(5) == 16
    assert counter.decrement() == 15
    assert counter.decrement(20) == -5
    assert counter.increment(0) == -5
    assert counter.reset() == -5  # the value it had
    assert counter.value == 10
    assert repr(counter) == "ThreadSafeCounter(value=10)"


@given(amount=st.booleans() | st.floats() | st.text(max_size=2) | st.none())
def test_counter_refuses_amounts_that_are_not_ints(amount: Any) -> None:
    counter = ThreadSafeCounter(3)
    with pytest.raises(TypeError, match="amount must be an int"):
        counter.increment(amount)
    with pytest.raises(TypeError, match="amount must be an int"):
        counter.decrement(amount)
    assert counter.value == 3
    with pytest.raises(TypeError, match="initial must be an int"):
        ThreadSafeCounter(amount)


@given(st.lists(st.tuples(st.sampled_from(["inc", "dec", "reset"]), st.integers())))
def test_counter_matches_a_plain_integer(steps: list[tuple[str, int]]) -> None:
    counter, model = ThreadSafeCounter(7), 7
    for step, amount in steps:
        if step == "inc":
            model += amount
            assert counter.increment(amount) == model
        elif step == "dec":
            model -= amount
            assert counter.decrement(amount) == model
        else:
            assert counter.reset() == model
            model = 7
    assert counter.value == model


def test_counter_is_exact_under_contention() -> None:
    counter = ThreadSafeCounter()
    # Under the GIL `+=` on a plain int rarely switches threads mid-update; this
    # int does, so an unguarded read-modify-write would lose updates here.
    counter._value = YieldingInt(0)

    def mixed(index: int) -> None:
        for step in range(OPERATIONS):
            if index % 2:  # odd threads: +3 and -1 in turn; even threads: +1
                counter.increment(3) if step % 2 else counter.decrement()
            else:
                counter.increment()

    run_threads(mixed)
    half = THREADS // 2
    assert counter.value == half * OPERATIONS + half * (OPERATIONS // 2) * (3 - 1)


def test_counter_increments_each_see_a_distinct_value() -> None:
    counter = ThreadSafeCounter()
    counter._value = YieldingInt(0)
    returned: list[list[int]] = [[] for _ in range(THREADS)]

    def work(index: int) -> None:
        for _ in range(OPERATIONS):
            returned[index].append(counter.increment())

    run_threads(work)
    # Every new value was handed to exactly one caller: read-modify-write is atomic.
    seen = sorted(value for values in returned for value in values)
    assert seen == list(range(1, THREADS * OPERATIONS + 1))
