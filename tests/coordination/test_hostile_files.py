"""Garbage in the holder and cache files: a typed timeout, or "not computed yet"; never a crash."""

from __future__ import annotations

import json
import math
import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.coordination import WorktreeLockTimeout, shared_once, worktree_lock
from tests.coordination.support import HANG_GUARD
from tests.strategies import json_values

# Numbers that are no date: strict JSON that no platform can show as a date, and
# forms that are not strict JSON at all (a holder file holding them is unreadable).
DATELESS_SINCE = ["1e20", "-1e20", "9" * 400, "-1e308"]
NOT_JSON_SINCE = ["NaN", "Infinity", "-Infinity", "1e400"]
HOSTILE_TEXT = [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 100_000 + "1" + "}" * 100_000,
    "\udcff\x00\x1b[2J",
    "",
]


@pytest.fixture(scope="module")
def held_lock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lock ``x`` held by another thread for the whole module; yields its directory."""
    directory = tmp_path_factory.mktemp("held")
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with worktree_lock("x", directory=directory):
            held.set()
            done.wait(HANG_GUARD)

    thread = threading.Thread(target=hold, name="holder")
    thread.start()
    held.wait(HANG_GUARD)
    yield directory
    done.set()
    thread.join(HANG_GUARD)


def _holder_file(directory: Path) -> Path:
    (path,) = (directory / "locks").glob("x-*.holder.json")
    return path


def _wait_with(directory: Path, text: str) -> WorktreeLockTimeout:
    """Put ``text`` in the holder file, time out waiting; return the error after a pickle trip."""
    _holder_file(directory).write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(WorktreeLockTimeout) as caught:
        worktree_lock("x", timeout=0, directory=directory).acquire()
    copy = pickle.loads(pickle.dumps(caught.value))
    assert str(copy) == str(caught.value)
    return caught.value


@pytest.mark.parametrize("since", DATELESS_SINCE + NOT_JSON_SINCE)
def test_holder_since_that_is_no_date(held_lock: Path, since: str) -> None:
    text = f'{{"pid": {os.getpid()}, "worktree": "/w", "since": {since}}}'
    message = str(_wait_with(held_lock, text))
    if since in NOT_JSON_SINCE:
        assert "holder unknown" in message
    else:
        assert f"held by pid {os.getpid()}" in message and "at an unknown time" in message


@pytest.mark.parametrize("pid", ["-1", "0", "1e400", "9" * 400, '"7"', "[1]"])
def test_holder_pid_that_is_no_process(held_lock: Path, pid: str) -> None:
    message = str(_wait_with(held_lock, f'{{"pid": {pid}, "hostname": "{os.uname()[1]}"}}'))
    assert "no longer running" not in message


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=["deep-list", "deep-dict", "binary", "empty"])
def test_holder_file_that_is_no_json(held_lock: Path, text: str) -> None:
    assert "holder unknown" in str(_wait_with(held_lock, text))


def test_holder_strings_cannot_drive_a_terminal(held_lock: Path) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e"
    message = str(_wait_with(held_lock, json.dumps({"pid": 1, "worktree": evil, "branch": evil})))
    assert not any(c in message for c in "\x1b\x07\u202e"), repr(message)
    assert "\\x1b" in message  # shown escaped, not dropped


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(["pid", "since", "hostname", "branch", "x"]), json_values))
def test_any_json_holder_gives_a_typed_timeout(held_lock: Path, holder: dict[str, object]) -> None:
    _wait_with(held_lock, json.dumps(holder))


def _cache_file(directory: Path) -> Path:
    assert shared_once("v", lambda: 1, directory=directory) == 1
    (path,) = (directory / "once").glob("v-*.json")
    return path


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "1e400", "[NaN]", '{"a": -1e999}']
)
def test_cache_holding_no_strict_json_is_computed_again(tmp_path: Path, value: str) -> None:
    path = _cache_file(tmp_path)
    path.write_text(f'{{"format": "itest-shared/shared-once", "name": "v", "value": {value}}}')
    assert shared_once("v", lambda: 2, directory=tmp_path) == 2
    assert json.loads(path.read_text())["value"] == 2  # and the bad file is replaced


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=["deep-list", "deep-dict", "binary", "empty"])
def test_cache_that_is_no_json_is_computed_again(tmp_path: Path, text: str) -> None:
    path = _cache_file(tmp_path)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_cache_deeply_nested_inside_a_valid_envelope(tmp_path: Path) -> None:
    path = _cache_file(tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(f'{{"format": "itest-shared/shared-once", "name": "v", "value": {deep}}}')
    assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_cache_that_is_a_fifo_does_not_block(tmp_path: Path) -> None:
    path = _cache_file(tmp_path)
    path.unlink()
    os.mkfifo(path)
    result: list[object] = []
    thread = threading.Thread(
        target=lambda: result.append(shared_once("v", lambda: 2, directory=tmp_path)), daemon=True
    )
    thread.start()
    thread.join(HANG_GUARD)
    assert result == [2]


def test_large_integers_are_strict_json_and_kept(tmp_path: Path) -> None:
    assert shared_once("v", lambda: [10**300, -(10**300)], directory=tmp_path) == [
        10**300,
        -(10**300),
    ]
    assert shared_once("v", lambda: pytest.fail("recomputed"), directory=tmp_path)[0] == 10**300
    assert not math.isinf(shared_once("v", list, directory=tmp_path)[1])


@pytest.mark.parametrize("kind", ["symlink", "hard link", "fifo", "left by a dead holder"])
def test_whatever_lies_at_the_holder_path_is_replaced_never_written_through(
    tmp_path: Path, kind: str
) -> None:
    directory = tmp_path / "shared"
    with worktree_lock("h", directory=directory):
        (holder,) = (directory / "locks").glob("h-*.holder.json")
    victim = tmp_path / "victim"
    victim.write_text("keep")
    if kind == "symlink":
        holder.symlink_to(victim)
    elif kind == "hard link":
        os.link(victim, holder)
    elif kind == "fifo":
        os.mkfifo(holder)  # writing to it, or opening it to write, would block
    else:
        holder.write_text(json.dumps({"pid": 1, "padding": "x" * 5000}))
    seen: list[dict[str, object]] = []

    def take() -> None:
        with worktree_lock("h", directory=directory):
            seen.append(json.loads(holder.read_text()))

    thread = threading.Thread(target=take, name="taker", daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert len(seen) == 1 and seen[0]["pid"] == os.getpid() and seen[0]["thread"] == "taker"
    assert victim.read_text() == "keep"
    assert not holder.exists() and not holder.is_symlink()


def test_a_lock_file_that_is_a_dangling_symlink_is_an_error_not_a_hang(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    with worktree_lock("d", directory=directory):
        (lock_file,) = (directory / "locks").glob("d-*.lock")
    lock_file.unlink()
    lock_file.symlink_to(tmp_path / "missing" / "x.lock")  # no folder to create it in
    errors: list[BaseException] = []

    def take() -> None:
        try:
            worktree_lock("d", directory=directory).acquire()
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert len(errors) == 1 and isinstance(errors[0], FileNotFoundError), errors
