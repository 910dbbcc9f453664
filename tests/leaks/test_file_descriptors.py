"""The leak audit on real file descriptors: files, pipes, sockets, reused numbers, no /proc."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

import itest_shared.leaks as leaks
from itest_shared.leaks import (
    FdInfo,
    LeakSnapshot,
)
from tests.leaks.support import SETTLE, SHORT


def test_an_unclosed_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "left-open.txt"
    before = LeakSnapshot.take()
    with open(path, "w") as handle:
        report = before.audit(grace_period=SHORT)
        assert report.fds == (FdInfo(fd=handle.fileno(), target=os.path.realpath(path)),)
        assert f"fd {handle.fileno()} -> {os.path.realpath(path)}" in report.describe()
    assert before.audit(grace_period=SETTLE).is_clean


def test_unclosed_pipes_and_sockets_are_reported_as_such() -> None:
    before = LeakSnapshot.take()
    read, write = os.pipe()
    one, two = socket.socketpair()
    try:
        report = before.audit(grace_period=SHORT)
        targets = {f.fd: f.target.partition(":")[0] for f in report.fds}
        assert targets == {
            read: "pipe",
            write: "pipe",
            one.fileno(): "socket",
            two.fileno(): "socket",
        }
        assert all(f.target.endswith("]") for f in report.fds)  # pipe:[inode], socket:[inode]
        assert "4 file descriptors" in report.describe()
    finally:
        os.close(read)
        os.close(write)
        one.close()
        two.close()


def test_a_reused_fd_number_with_a_new_target_is_new(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "first", os.O_WRONLY | os.O_CREAT)
    before = LeakSnapshot.take()
    read, write = os.pipe()  # while fd is open, so the pipe gets other numbers
    os.close(fd)
    os.dup2(read, fd)  # the old number, now pointing at a pipe
    try:
        (info,) = [f for f in before.audit(grace_period=SHORT).fds if f.fd == fd]
        assert info.target.startswith("pipe:[")
    finally:
        for number in (fd, read, write):
            os.close(number)


def test_the_same_fd_number_and_target_as_before_is_not_new(tmp_path: Path) -> None:
    path = tmp_path / "reopened"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    before = LeakSnapshot.take()
    os.close(fd)
    again = os.open(path, os.O_RDONLY)
    if again != fd:
        os.dup2(again, fd)
        os.close(again)
    try:
        assert before.audit(grace_period=0).is_clean
    finally:
        os.close(fd)


def test_the_audit_reports_none_of_its_own_fds() -> None:
    for _ in range(20):
        before = LeakSnapshot.take()
        report = before.diff(LeakSnapshot.take())
        assert report.is_clean, report.describe()
    # Every fd listed was really open (the listing's own fd is closed by then).
    for info in LeakSnapshot.take().fds:
        os.fstat(info.fd)


def test_without_proc_psutil_names_files_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaks, "_PROC_FD", str(tmp_path / "no-such-dir"))
    path = tmp_path / "left-open.txt"
    before = LeakSnapshot.take()
    assert before.fd_coverage.startswith("open files")
    read, write = os.pipe()
    try:
        with open(path, "w") as handle:
            report = before.audit(grace_period=SHORT)
            assert FdInfo(fd=handle.fileno(), target=os.path.realpath(path)) in report.fds
            assert report.unnamed_fds == 2  # the pipe's ends: counted, not named
            description = report.describe()
            assert "2 more file descriptors that this platform cannot name" in description
            assert "3 file descriptors" in description
            assert "file descriptors seen on this platform: open files" in description
    finally:
        os.close(read)
        os.close(write)
    assert before.audit(grace_period=SETTLE).is_clean
