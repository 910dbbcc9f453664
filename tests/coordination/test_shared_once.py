"""shared_once and clear_shared: a value computed once across processes, worktrees and threads."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from itest_shared.coordination import WorktreeLockTimeout, clear_shared, shared_once
from tests.coordination.support import HANG_GUARD, finish, start_worker, wait_for
from tests.helpers import run_together
from tests.strategies import Opaque, json_values


def test_computed_once_across_processes_worktrees_and_threads(
    repo: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contention: None
) -> None:
    calls, go = tmp_path / "calls", tmp_path / "go"
    workers = [
        start_worker(repo[i % 2], "once", "tree", str(calls), "0.3", go=go) for i in range(8)
    ]
    deadline = time.monotonic() + HANG_GUARD
    while len(list(tmp_path.glob("go.ready.*"))) < len(workers):
        assert time.monotonic() < deadline, "workers never reached the start line"
        time.sleep(0.01)
    monkeypatch.chdir(repo[0])
    in_threads: list[Any] = []

    def from_thread(index: int) -> None:
        def factory() -> dict[str, object]:
            with calls.open("a") as stream:
                stream.write(f"thread {index}\n")
            time.sleep(0.3)
            return {"pid": os.getpid(), "cwd": os.getcwd(), "pair": (1, 2)}

        in_threads.append(shared_once("tree", factory, timeout=HANG_GUARD))

    go.touch()  # processes and threads all start now
    run_together(from_thread, 8)
    values = [json.loads(finish(worker)) for worker in workers] + in_threads
    assert len(calls.read_text().splitlines()) == 1, calls.read_text()
    assert all(value == values[0] for value in values)
    assert values[0]["pair"] == [1, 2]  # JSON round trip, for the computing caller too


def test_raising_factory_is_not_cached_and_the_next_waiter_computes(tmp_path: Path) -> None:
    entered, fail_now = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def failing() -> object:
        entered.set()
        fail_now.wait(HANG_GUARD)
        raise OSError("disk full")

    def first() -> None:
        try:
            shared_once("v", failing, directory=tmp_path)
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(HANG_GUARD)
    threading.Timer(0.1, fail_now.set).start()  # fail while we wait on the lock
    assert shared_once("v", lambda: {"ok": 1}, directory=tmp_path) == {"ok": 1}
    thread.join(HANG_GUARD)
    assert [str(e) for e in errors] == ["disk full"]
    assert shared_once("v", lambda: pytest.fail("recomputed"), directory=tmp_path) == {"ok": 1}


def test_killed_holder_does_not_block_the_others(repo: tuple[Path, Path], tmp_path: Path) -> None:
    calls, started = tmp_path / "calls", tmp_path / "started"
    doomed = start_worker(repo[0], "once", "slow", str(calls), "600", str(started))
    try:
        wait_for(started)
        waiter = start_worker(repo[1], "once", "slow", str(calls), "0")
        time.sleep(0.3)
        assert waiter.poll() is None, "the waiter did not wait for the holder"
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=HANG_GUARD)
    value = json.loads(finish(waiter))
    assert value["pid"] == waiter.pid and value["cwd"] == str(repo[1])
    assert calls.read_text().split() == [str(doomed.pid), str(waiter.pid)]


@pytest.mark.parametrize(
    "value", [{1, 2}, Opaque(), {"x": math.nan}, b"bytes", {(1, 2): "tuple key"}]
)
def test_non_json_value_raises_and_caches_nothing(tmp_path: Path, value: object) -> None:
    with pytest.raises(
        TypeError, match=rf"shared_once 'v': factory returned a {type(value).__name__}"
    ):
        shared_once("v", lambda: value, directory=tmp_path)
    assert not any((tmp_path / "once").glob("*")) if (tmp_path / "once").exists() else True
    assert shared_once("v", lambda: [1], directory=tmp_path) == [1]


@given(json_values)
def test_values_round_trip(value: object) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        computed = shared_once("v", lambda: value, directory=directory)
        assert computed == value
        assert shared_once("v", lambda: pytest.fail("recomputed"), directory=directory) == value


def test_callers_cannot_change_each_others_value(tmp_path: Path) -> None:
    first = shared_once("v", lambda: {"items": [1]}, directory=tmp_path)
    first["items"].append(2)
    assert shared_once("v", dict, directory=tmp_path) == {"items": [1]}


def test_cache_file_records_who_computed_it(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[1])
    shared_once("ports", lambda: [8000, 8100])
    (path,) = (repo[0] / ".git" / "itest-shared" / "once").glob("ports-*.json")
    data = json.loads(path.read_text())
    assert data["value"] == [8000, 8100] and data["name"] == "ports"
    assert data["computed_by"]["pid"] == os.getpid()
    assert data["computed_by"]["worktree"] == str(repo[1])
    assert data["computed_by"]["branch"] == "wt2"
    assert data["computed_at"] <= time.time()


def test_corrupt_cache_is_computed_again(tmp_path: Path) -> None:
    assert shared_once("v", lambda: 1, directory=tmp_path) == 1
    (path,) = (tmp_path / "once").glob("*.json")
    for bad in ["{torn", "[]", json.dumps({"format": "other", "name": "v", "value": 9})]:
        path.write_text(bad)
        assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_clear_shared_forgets_the_value(tmp_path: Path) -> None:
    assert clear_shared("v", directory=tmp_path) is False
    assert shared_once("v", lambda: 1, directory=tmp_path) == 1
    assert clear_shared("v", directory=tmp_path) is True
    assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_factory_asking_for_its_own_value(tmp_path: Path) -> None:
    def factory() -> object:
        return shared_once("loop", factory, directory=tmp_path)

    with pytest.raises(RuntimeError, match="called again from inside its own factory"):
        shared_once("loop", factory, directory=tmp_path)
    assert shared_once("loop", lambda: "fine", directory=tmp_path) == "fine"


def test_waiting_too_long_for_a_value_times_out(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow() -> int:
        entered.set()
        release.wait(HANG_GUARD)
        return 1

    thread = threading.Thread(target=lambda: shared_once("v", slow, directory=tmp_path))
    thread.start()
    try:
        entered.wait(HANG_GUARD)
        with pytest.raises(WorktreeLockTimeout, match="'shared-once-v'"):
            shared_once("v", lambda: 2, timeout=0.05, directory=tmp_path)
    finally:
        release.set()
        thread.join(HANG_GUARD)
    assert shared_once("v", lambda: 2, directory=tmp_path) == 1


@pytest.mark.parametrize("factory", [None, 1, "name"])
def test_factory_must_be_callable(tmp_path: Path, factory: object) -> None:
    with pytest.raises(TypeError, match="factory must be callable"):
        shared_once("v", factory, directory=tmp_path)  # type: ignore[arg-type]
    assert not (tmp_path / "once").exists() and not (tmp_path / "locks").exists()


@pytest.mark.parametrize(("name", "error"), [(3, TypeError), ("", ValueError), (None, TypeError)])
def test_shared_once_and_clear_check_the_name(name: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="name must be"):
        shared_once(name, dict)  # type: ignore[arg-type]
    with pytest.raises(error, match="name must be"):
        clear_shared(name)  # type: ignore[arg-type]
