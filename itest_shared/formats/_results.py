"""The records of a test run itself (schema 1.2): each test's result, and where the run ran.

``test_result``: one per test per run (per attempt, with pytest-rerunfailures).
``environment``: one per run and process (the xdist controller and each worker).
``compare`` reads both: outcomes and durations per test, and whether two sides
ran on comparable machines.

.. versionadded:: 2.2 (schema 1.2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Literal, get_args

import attrs

from .._jsonsafe import JsonValue, to_json_safe
from ._envelope import Record, register
from ._fields import (
    check_nonempty_str,
    check_optional_seconds,
    check_str_list,
    check_timestamp,
    copy_dict,
    copy_list,
)
from ._parts import WorktreeInfo

TestOutcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
#: The outcomes of a test, as pytest's summary counts them.
TEST_OUTCOMES: Final[tuple[str, ...]] = get_args(TestOutcome)
TestPhase = Literal["setup", "call", "teardown"]
#: The phases of a test, in the order pytest runs them.
TEST_PHASES: Final[tuple[str, ...]] = get_args(TestPhase)

#: The longest failure message a record keeps, in characters; the rest is cut
#: and said so (an assertion's diff can run to megabytes).
MAX_MESSAGE: Final = 2000


def _check_str(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str, got {value!r}")


def _check_optional_str(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str or None, got {value!r}")


def _choice(choices: tuple[str, ...], *, optional: bool = False) -> Any:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if optional and value is None:
            return
        if value not in choices:
            none = " or None" if optional else ""
            raise ValueError(
                f"{attribute.name} must be one of {', '.join(choices)}{none}; got {value!r}"
            )

    return check


def _check_rerun(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"rerun must be an int >= 0 (0: the first attempt), got {value!r}")


def cut_message(message: str) -> str:
    """``message`` cut to :data:`MAX_MESSAGE` characters, saying how much was cut."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}... [{len(message) - MAX_MESSAGE} more characters cut]"


def _check_message(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"failure.message must be a str, got {value!r}")


@attrs.frozen
class FailureSummary:
    """Why a test did not pass: the exception's type, its message and where it was raised.

    .. versionadded:: 2.2
    """

    #: The qualified type, e.g. ``"builtins.AssertionError"``,
    #: ``"_pytest.outcomes.Skipped"`` for a skip.
    exception_type: str = attrs.field(validator=check_nonempty_str)
    #: ``str()`` of the exception (a skip's or xfail's reason), cut to
    #: :data:`MAX_MESSAGE` characters.
    message: str = attrs.field(validator=_check_message)
    #: ``"path:line"`` of the crash, as pytest reports it; None if unknown.
    location: str | None = attrs.field(validator=_check_optional_str)
    #: pytest's whole failure report, only when asked for (ini
    #: ``itest_record_longrepr``); None otherwise.
    longrepr: str | None = attrs.field(validator=_check_optional_str)

    def to_dict(self) -> dict[str, JsonValue]:
        """Return the JSON form."""
        return {
            "exception_type": self.exception_type,
            "message": self.message,
            "location": self.location,
            "longrepr": self.longrepr,
        }


def _check_failure(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, FailureSummary):
        raise TypeError(f"failure must be a FailureSummary or None, got {value!r}")


def _check_failed_phase(
    inst: TestResultRecord, attribute: attrs.Attribute[Any], value: Any
) -> None:
    _choice(TEST_PHASES, optional=True)(inst, attribute, value)
    failing = inst.outcome in ("failed", "error")
    if failing != (value is not None):
        raise ValueError(
            "failed_phase must be set exactly when the outcome is failed or error"
            f" (outcome={inst.outcome!r}, failed_phase={value!r})"
        )


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class TestResultRecord(Record):
    """The result of one test in one run: its outcome, phase durations and failure.

    .. versionadded:: 2.2 (schema 1.2)
    """

    __test__: ClassVar[bool] = False  # a record, not a test class for pytest to collect
    RECORD_TYPE: ClassVar[str] = "test_result"

    #: The pytest node id, e.g. ``"tests/test_x.py::test_y[1]"``.
    node_id: str = attrs.field(validator=check_nonempty_str)
    outcome: TestOutcome = attrs.field(validator=_choice(TEST_OUTCOMES))
    #: Seconds each phase took; None for a phase that did not run (no call
    #: after a failed setup).
    setup_duration: float | None = attrs.field(validator=check_optional_seconds)
    call_duration: float | None = attrs.field(validator=check_optional_seconds)
    teardown_duration: float | None = attrs.field(validator=check_optional_seconds)
    #: The first phase that failed, for a failed or errored test; None otherwise.
    failed_phase: TestPhase | None = attrs.field(validator=_check_failed_phase)
    #: Why it failed, errored, was skipped or xfailed; None when it passed.
    failure: FailureSummary | None = attrs.field(validator=_check_failure)
    #: Names of the markers on the test, closest first, each once.
    markers: list[str] = attrs.field(converter=copy_list, validator=check_str_list)
    #: The pytest-xdist worker that ran it (``"gw0"``); None without xdist.
    worker: str | None = attrs.field(validator=_check_optional_str)
    #: Which attempt this was with pytest-rerunfailures: 0 for the first run.
    rerun: int = attrs.field(validator=_check_rerun)
    #: When the test's setup started (epoch seconds).
    timestamp: float = attrs.field(validator=check_timestamp)

    def __attrs_post_init__(self) -> None:
        self._init_meta()

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        return {
            "node_id": self.node_id,
            "outcome": self.outcome,
            "setup_duration": self.setup_duration,
            "call_duration": self.call_duration,
            "teardown_duration": self.teardown_duration,
            "failed_phase": self.failed_phase,
            "failure": None if self.failure is None else self.failure.to_dict(),
            "markers": list(self.markers),
            "worker": self.worker,
            "rerun": self.rerun,
            "timestamp": self.timestamp,
        }


def _check_count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise TypeError(f"cpu_count must be an int >= 1 or None, got {value!r}")


def _check_packages(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise TypeError(f"packages must be a dict of str to str (name: version), got {value!r}")


def _check_worktree(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, WorktreeInfo):
        raise TypeError(f"worktree must be a WorktreeInfo or None, got {value!r}")


def _check_dirty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"dirty must be a bool or None, got {value!r}")


@register
@attrs.frozen(getstate_setstate=False, unsafe_hash=False)
class EnvironmentRecord(Record):
    """Where a test run ran: machine, Python, packages and the worktree's state.

    .. versionadded:: 2.2 (schema 1.2)
    """

    RECORD_TYPE: ClassVar[str] = "environment"

    #: The machine's host name.
    host: str = attrs.field(validator=_check_str)
    #: ``platform.platform()``, e.g. ``"Linux-6.1.0-x86_64-with-glibc2.36"``.
    os: str = attrs.field(validator=_check_str)
    #: The CPU's model name; None where the system does not say.
    cpu_model: str | None = attrs.field(validator=_check_optional_str)
    #: ``os.cpu_count()``; None where unknown.
    cpu_count: int | None = attrs.field(validator=_check_count)
    #: ``platform.python_version()``, e.g. ``"3.11.7"``.
    python_version: str = attrs.field(validator=_check_str)
    #: ``platform.python_implementation()``, e.g. ``"CPython"``.
    python_implementation: str = attrs.field(validator=_check_str)
    #: ``sys.version``: version, build and compiler.
    python_build: str = attrs.field(validator=_check_str)
    #: Distribution name -> version: pytest, itest-shared and every plugin loaded.
    packages: dict[str, str] = attrs.field(converter=copy_dict, validator=_check_packages)
    #: The worktree's top folder, branch and commit; None if unknown.
    worktree: WorktreeInfo | None = attrs.field(validator=_check_worktree)
    #: Whether the worktree differed from its commit (untracked files count);
    #: None outside git.
    dirty: bool | None = attrs.field(validator=_check_dirty)
    #: git's tree id of the worktree as it was (untracked, not ignored, files
    #: included): equal on two runs exactly when they ran the same files; None
    #: outside git.
    tree_hash: str | None = attrs.field(validator=_check_optional_str)
    #: The pytest-xdist worker (``"gw0"``); None for the controller or without xdist.
    worker: str | None = attrs.field(validator=_check_optional_str)
    #: When the process started recording (epoch seconds).
    timestamp: float = attrs.field(validator=check_timestamp)

    def __attrs_post_init__(self) -> None:
        self._init_meta()

    def _fields_to_json(
        self, safe: Callable[[Any], JsonValue] = to_json_safe
    ) -> dict[str, JsonValue]:
        worktree = self.worktree
        return {
            "host": self.host,
            "os": self.os,
            "cpu_model": self.cpu_model,
            "cpu_count": self.cpu_count,
            "python_version": self.python_version,
            "python_implementation": self.python_implementation,
            "python_build": self.python_build,
            "packages": dict(self.packages),
            "worktree": None if worktree is None else worktree.to_dict(),
            "dirty": self.dirty,
            "tree_hash": self.tree_hash,
            "worker": self.worker,
            "timestamp": self.timestamp,
        }
