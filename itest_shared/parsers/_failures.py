"""Failure injection for the mock parsers: the modes, their options and what each call does.

``MockParserFactory.configure_failure`` builds a ``Failure`` here (every option is
checked before anything changes, so a bad call leaves the old configuration intact);
each parse asks ``decide`` under the factory's lock what it must do, and raises
``failure_error`` when that is to fail.

.. versionadded:: 1.3
   Split out of ``itest_shared.parsers``.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from typing import NamedTuple

import attrs

#: The named failure modes ``configure_failure`` accepts (an exception class also works).
FAIL_TYPES: tuple[str, ...] = ("always", "nth_call", "random", "timeout")

# Options each failure mode accepts, with their defaults; n=1 and timeout=10 are the
# prototype's, so its bare ``configure_failure(lang, "nth_call")`` keeps working.
_OPTIONS: Mapping[str, Mapping[str, object]] = {
    "always": {"exception": None},
    "nth_call": {"n": 1, "every": False, "exception": None},
    "random": {"rate": None, "seed": 0, "exception": None},
    "timeout": {"timeout": 10.0, "raise_error": False, "exception": None},
}
_REQUIRED = {"random": "rate"}  # options without a default


def _message(language: str, fail_type: str, call: int) -> str:
    """Return an injected failure's message: the prototype's words, then ours."""
    # The prototype's words lead, so a pytest.raises(match=...) written against it
    # still matches; what follows is the 1.1 message, for tests written against that.
    if fail_type == "nth_call":
        lead = f"Parser failed on call {call}"
    else:
        lead = f"Parser failed for {language}"
    return (
        f"{lead}: mock {language} parser: injected {fail_type} failure on call {call} "
        "since configure_failure"
    )


class MockParseError(RuntimeError):
    """The default error an injected parser failure raises."""

    def __init__(self, language: str, fail_type: str, call: int) -> None:
        self.language = language
        self.fail_type = fail_type
        self.call = call
        super().__init__(_message(language, fail_type, call))

    # Rebuild from our own arguments when unpickled (it may cross worker boundaries).
    def __reduce__(self) -> tuple[type[MockParseError], tuple[str, str, int]]:
        return type(self), (self.language, self.fail_type, self.call)


@attrs.define
class Failure:
    """One language's failure configuration and the state it needs (guarded by the lock)."""

    fail_type: str
    exception: type[BaseException] | None
    n: int = 0
    every: bool = False
    rate: float = 0.0
    rng: random.Random | None = None
    timeout: float = 0.0
    raise_error: bool = False
    calls: int = 0
    # Set when this configuration is replaced or reset, to wake parses sleeping in it.
    wake: threading.Event = attrs.field(factory=threading.Event)


class Action(NamedTuple):
    """What one parse call must do, decided under the lock, carried out outside it."""

    call: int
    fail: bool = False
    delay: float = 0.0
    wake: threading.Event | None = None


def _check_number(option: str, value: object, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an int" if integer else "a number"
        raise TypeError(f"option {option} must be {wanted}, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"option {option} must be finite, got {value!r}")
    return number


def _check_exception(value: object, language: str, fail_type: str) -> type[BaseException] | None:
    if value is None:
        return None
    if not (isinstance(value, type) and issubclass(value, BaseException)):
        raise TypeError(f"option exception must be an exception class, got {value!r}")
    try:
        # Build one now, so a class that cannot be built fails here, not mid-test.
        _new_error(value, language, fail_type, 0)
    except Exception as exc:
        raise TypeError(
            f"option exception: {value.__name__} cannot be built from one message "
            f"argument ({exc}); pass a subclass that can"
        ) from exc
    return value


def build_failure(language: str, fail_type: object, options: dict[str, object]) -> Failure:
    """Validate everything first, so a bad call leaves the previous configuration intact."""
    if isinstance(fail_type, type) and issubclass(fail_type, BaseException):
        if options:
            raise TypeError(
                f"an exception class as fail_type takes no options, got {', '.join(options)}"
            )
        exception = _check_exception(fail_type, language, "always")
        return Failure("always", exception)
    if not isinstance(fail_type, str) or fail_type not in FAIL_TYPES:
        raise ValueError(
            f"unknown fail_type {fail_type!r}; valid fail types: {', '.join(FAIL_TYPES)}, "
            "or an exception class"
        )
    accepted = _OPTIONS[fail_type]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"fail_type {fail_type!r} got unexpected option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(accepted)}"
        )
    values = {**accepted, **options}
    required = _REQUIRED.get(fail_type)
    if required is not None and values[required] is None:
        raise TypeError(f"fail_type {fail_type!r} needs option {required}")
    failure = Failure(fail_type, _check_exception(values["exception"], language, fail_type))
    if fail_type == "nth_call":
        failure.n = int(_check_number("n", values["n"], integer=True))
        if failure.n < 1:
            raise ValueError(f"option n must be >= 1, got {failure.n}")
        if not isinstance(values["every"], bool):
            raise TypeError(f"option every must be a bool, got {values['every']!r}")
        failure.every = values["every"]
    elif fail_type == "random":
        failure.rate = _check_number("rate", values["rate"])
        if not 0.0 <= failure.rate <= 1.0:
            raise ValueError(f"option rate must be within [0, 1], got {failure.rate}")
        seed = values["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"option seed must be an int or None, got {seed!r}")
        failure.rng = random.Random(seed)
    elif fail_type == "timeout":
        failure.timeout = _check_number("timeout", values["timeout"])
        if failure.timeout < 0:
            raise ValueError(f"option timeout must be >= 0 seconds, got {failure.timeout}")
        if not isinstance(values["raise_error"], bool):
            raise TypeError(f"option raise_error must be a bool, got {values['raise_error']!r}")
        failure.raise_error = values["raise_error"]
        if failure.exception is not None and not failure.raise_error:
            raise ValueError("option exception needs raise_error=True for fail_type 'timeout'")
    return failure


def decide(failure: Failure) -> Action:
    """Count one call against ``failure`` and say what it must do. Caller holds the lock."""
    failure.calls += 1
    call = failure.calls
    kind = failure.fail_type
    if kind == "always":
        return Action(call, fail=True)
    if kind == "nth_call":
        fail = call % failure.n == 0 if failure.every else call == failure.n
        return Action(call, fail=fail)
    if kind == "random":
        assert failure.rng is not None
        # Drawn under the lock: the k-th call after configuring always gets the k-th
        # draw, so a seed fixes which calls fail however threads interleave.
        return Action(call, fail=failure.rng.random() < failure.rate)
    return Action(call, fail=failure.raise_error, delay=failure.timeout, wake=failure.wake)


def _new_error(cls: type[BaseException], language: str, fail_type: str, call: int) -> BaseException:
    if issubclass(cls, MockParseError):
        return cls(language, fail_type, call)
    return cls(_message(language, fail_type, call))


def failure_error(language: str, failure: Failure, call: int) -> BaseException:
    if failure.exception is not None:
        return _new_error(failure.exception, language, failure.fail_type, call)
    if failure.fail_type == "timeout":
        return TimeoutError(
            f"mock {language} parser: injected timeout after {failure.timeout:g} s on call {call}"
        )
    return MockParseError(language, failure.fail_type, call)
