"""Readers open only regular files: symlinks are not followed, FIFOs never block a reader.

Every read that could hang runs in a thread under a hang guard: should it block,
the guard opens the FIFO for writing to release it, and fails the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from itest_shared.store import Problem, ReadReport, RecordStore, validate_file

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and O_NOFOLLOW")

T = TypeVar("T")
# Far longer than a read of a few lines takes, even on a loaded machine.
HANG_GUARD = 20.0
SYMLINK = "not a regular file: a symbolic link, not followed"
FIFO = "not a regular file: a FIFO (named pipe), not read"


def _finishes(call: Callable[[], T], fifo: Path) -> T:
    """Return ``call()``, run in a thread; fail if it blocks (on ``fifo``) past the guard."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run, name="reader", daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    if thread.is_alive():
        # A reader blocked in open() waits for a writer: one that comes and goes
        # gives it end-of-file, so the thread ends with the test.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(HANG_GUARD)
        pytest.fail(f"the reader blocked on the FIFO {fifo} for {HANG_GUARD} s")
    if errors:
        raise errors[0]
    return results[0]


def _store_with_one_record(tmp_path: Path) -> tuple[RecordStore, Path]:
    store = RecordStore(tmp_path / "store")
    with store.writer("r") as writer:
        writer.write({"n": 1})
    return store, writer.path.parent


def _read(report: ReadReport) -> tuple[list[object], list[tuple[str, str]]]:
    records = [data["n"] for data, _ in report]
    return records, [(p.path.name, p.reason) for p in report.problems]


def test_symlinks_in_the_store_are_named_not_followed(tmp_path: Path) -> None:
    store, run = _store_with_one_record(tmp_path)
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"n": "smuggled"}) + "\n")
    (run / "a-outside.jsonl").symlink_to(outside)
    (run / "b-passwd.jsonl").symlink_to("/etc/passwd")
    (run / "c-dangling.jsonl").symlink_to(tmp_path / "nowhere")
    records, problems = _read(store.read("r"))
    assert records == [1]
    assert problems == [
        ("a-outside.jsonl", SYMLINK),
        ("b-passwd.jsonl", SYMLINK),
        ("c-dangling.jsonl", SYMLINK),
    ]


def test_a_symlinked_run_directory_is_named_not_followed(tmp_path: Path) -> None:
    store, run = _store_with_one_record(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.jsonl").write_text(json.dumps({"n": "smuggled"}) + "\n")
    (run.parent / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert store.runs() == ["linked", "r"]
    records, problems = _read(store.read())
    assert records == [1]
    assert problems == [("linked", SYMLINK)]


def test_fifos_and_directories_in_the_store_are_named_and_never_block(tmp_path: Path) -> None:
    store, run = _store_with_one_record(tmp_path)
    fifo = run / "pipe.jsonl"
    os.mkfifo(fifo)
    (run / "zdir.jsonl").mkdir()
    records, problems = _finishes(lambda: _read(store.read("r")), fifo)
    assert records == [1]
    assert sorted(problems) == [
        ("pipe.jsonl", FIFO),
        ("zdir.jsonl", "not a regular file: a directory, not read"),
    ]


def test_a_file_swapped_for_a_fifo_after_listing_does_not_block(tmp_path: Path) -> None:
    store, _ = _store_with_one_record(tmp_path)
    with store.writer("r") as second:
        second.write({"n": 2})
    report = store.read("r")  # listed now, opened on iteration
    swapped = second.path
    swapped.unlink()
    os.mkfifo(swapped)
    records, problems = _finishes(lambda: _read(report), swapped)
    assert records == [1]
    assert problems == [(swapped.name, FIFO)]


def test_validate_file_on_a_fifo_names_it_and_returns(tmp_path: Path) -> None:
    fifo = tmp_path / "some.fifo"
    os.mkfifo(fifo)
    problems = _finishes(lambda: list(validate_file(fifo)), fifo)
    assert problems == [Problem(fifo, 0, FIFO)]
    assert _finishes(lambda: list(validate_file(fifo, follow_symlinks=True)), fifo) == problems


def test_validate_file_follows_a_symlink_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    target.write_text("[1]\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert list(validate_file(link)) == [Problem(link, 0, SYMLINK)]
    followed = list(validate_file(link, follow_symlinks=True))
    assert followed == [Problem(link, 1, "not a JSON object: got an array")]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    to_fifo = tmp_path / "to-fifo.jsonl"
    to_fifo.symlink_to(fifo)
    problems = _finishes(lambda: list(validate_file(to_fifo, follow_symlinks=True)), fifo)
    assert problems == [Problem(to_fifo, 0, FIFO)]
    with pytest.raises(TypeError, match="follow_symlinks must be a bool, got str"):
        validate_file(link, follow_symlinks="yes")  # type: ignore[arg-type]
