"""ErrorTrackingContext: bad modules, errors, handlers and names are refused by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.tracking import (
    ErrorTrackingContext,
)

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
