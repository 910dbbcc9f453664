"""ParallelTestEnvironment: bad constructor, worker, primitive and name arguments are refused."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from itest_shared.parallel import ParallelTestEnvironment


def test_bad_constructor_arguments_name_the_field(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match=r"start_method 'bogus'.*'fork'.*'spawn'.*'forkserver'"):
        ParallelTestEnvironment(fresh, start_method="bogus")
    assert not fresh.exists()  # bad input made nothing
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"start_method": 1}, TypeError, "start_method"),
        ({"grace_period": -1}, ValueError, "grace_period"),
        ({"grace_period": float("nan")}, ValueError, "grace_period"),
        ({"join_timeout": float("inf")}, ValueError, "join_timeout"),
        ({"join_timeout": "5"}, TypeError, "join_timeout"),
        ({"grace_period": True}, TypeError, "grace_period"),
        ({"on_worker_error": 5}, TypeError, "on_worker_error"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error, match=field):
            ParallelTestEnvironment(fresh, **kwargs)
    assert not fresh.exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        ParallelTestEnvironment(tmp_path / "file")
    with pytest.raises(TypeError, match="workspace"):
        ParallelTestEnvironment(5)  # type: ignore[arg-type]


def test_given_workspace_is_used_and_kept(tmp_path: Path) -> None:
    given = tmp_path / "ws"
    with ParallelTestEnvironment(given, start_method="fork") as env:
        assert env.workspace is given and env.workspace.is_dir()  # the very Path object
        assert env.start_method == "fork"
    assert given.is_dir()
    with ParallelTestEnvironment(str(given)) as env:
        assert env.workspace == given


def test_bad_worker_and_primitive_arguments_change_nothing() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    queue = env.create_queue("q", maxsize=2)
    env.create_worker_process(print, name="taken")
    bad_calls: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: env.create_worker_process(42), TypeError, "target must be callable"),  # type: ignore[arg-type]
        (lambda: env.create_worker_thread("x"), TypeError, "target must be callable"),  # type: ignore[arg-type]
        (lambda: env.create_worker_process(print, args=5), TypeError, "args"),  # type: ignore[arg-type]
        (lambda: env.create_worker_process(print, kwargs={1: 2}), TypeError, "kwargs"),  # type: ignore[dict-item]
        (lambda: env.create_worker_process(print, name="taken"), ValueError, "'taken'"),
        (lambda: env.create_worker_thread(print, name=" "), ValueError, "non-empty"),
        (lambda: env.create_worker_process(print, (), 5), TypeError, "kwargs"),  # type: ignore[arg-type]
        (lambda: env.create_worker_thread(print, (), "a", name="b"), TypeError, "'a'.*name='b'"),
        (lambda: env.create_worker_process(print, (), " "), ValueError, "non-empty"),
        (lambda: env.create_queue("q", 0), ValueError, "maxsize=2, not maxsize=0"),
        (lambda: env.create_queue("r", maxsize=-1), ValueError, "maxsize"),
        (lambda: env.create_queue("r", maxsize=True), TypeError, "maxsize"),
        (lambda: env.create_queue("r", maxsize="3"), TypeError, "maxsize"),  # type: ignore[arg-type]
        (lambda: env.join_all(timeout=-1), ValueError, "timeout"),
    ]
    for call, error, message in bad_calls:
        with pytest.raises(error, match=message):
            call()
    assert [p.name for p in env.processes] == ["taken"] and env.threads == []
    assert env.queues == {"q": queue} and env.locks == {} and env.events == {}
    assert env.create_queue("q", maxsize=2) is queue
    with pytest.raises(TypeError, match="cannot be sent to a worker"):
        pickle.dumps(env)
    env.close()


def test_non_str_names_are_refused_everywhere() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    env = ParallelTestEnvironment(start_method="fork")
    makers: list[Callable[[Any], object]] = [
        env.create_shared_lock,
        env.create_queue,
        env.create_event,
        lambda name: env.create_worker_process(print, name=name),
        lambda name: env.create_worker_thread(print, name=name),
    ]
    not_str = st.integers() | st.floats() | st.binary() | st.lists(st.text(), max_size=2)

    @settings(max_examples=40, deadline=None)
    @given(not_str, st.text(alphabet=" \t\n", max_size=4))
    def check(bad: Any, blank: str) -> None:
        for make in makers:
            with pytest.raises(TypeError, match="name must be a str"):
                make(bad)
            with pytest.raises(ValueError, match="name must be a non-empty str"):
                make(blank)
        assert env.processes == [] and env.threads == []

    try:
        check()
    finally:
        env.close()
