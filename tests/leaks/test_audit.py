"""LeakAudit around a block, clean or leaking, and snapshots taken under fd and process churn."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from itest_shared.leaks import (
    LeakAudit,
    LeakSnapshot,
)
from tests.helpers import run_together
from tests.leaks.support import SETTLE, SHORT


def test_a_clean_block_reports_nothing(tmp_path: Path) -> None:
    with LeakAudit(grace_period=SETTLE) as audit:
        (tmp_path / "f").write_text("x")
        thread = threading.Thread(target=time.sleep, args=(0.01,), name="tidy")
        thread.start()
        thread.join()
        subprocess.run(["true"], check=True)
        read, write = os.pipe()
        os.close(read)
        os.close(write)
    assert audit.report.is_clean, audit.report.describe()
    assert audit.report.describe() == (
        "leak audit: no leaked threads, child processes or file descriptors"
    )
    audit.report.assert_clean()


def test_leak_audit_reports_what_the_block_left_even_when_it_raised(
    stop: threading.Event,
) -> None:
    audit = LeakAudit(grace_period=SHORT)
    with pytest.raises(RuntimeError, match="not ended"):
        _ = audit.report
    with pytest.raises(KeyError, match="boom"), audit:
        threading.Thread(target=stop.wait, name="abandoned").start()
        raise KeyError("boom")
    assert [t.name for t in audit.report.threads] == ["abandoned"]
    with pytest.raises(AssertionError, match="thread 'abandoned'"):
        audit.report.assert_clean()


def test_snapshots_stay_right_under_fd_and_process_churn(tmp_path: Path) -> None:
    # Threads open and close files and run processes while snapshots are taken:
    # an fd or child that goes between listing and looking must not break the
    # audit, and once the churn ends nothing is reported.
    before = LeakSnapshot.take()
    done = threading.Event()

    def churn(index: int) -> None:
        path = tmp_path / f"churn-{index}"
        count = 0
        while not done.is_set() or count < 200:
            if index < 2 and count % 20 == 0:
                subprocess.run(["true"], check=True)
            with open(path, "w") as handle:
                handle.write("x")
            count += 1

    def snapshots(index: int) -> None:
        if index >= 14:
            try:
                for _ in range(40):
                    LeakSnapshot.take()
            finally:
                done.set()  # a failing snapshot must not leave the churn running
        else:
            churn(index)

    run_together(snapshots, count=16, name="churn")
    report = before.audit(grace_period=SETTLE)
    assert report.is_clean, report.describe()


def test_grace_is_the_deprecated_name_of_grace_period() -> None:
    with pytest.deprecated_call(match="grace is deprecated; call it grace_period"):
        audit = LeakAudit(grace=0.25)
    assert audit.grace_period == 0.25
    with pytest.deprecated_call(match="grace is deprecated"):
        assert audit.grace == 0.25
    snapshot = LeakSnapshot(threads=(), processes=(), fds=())
    with pytest.deprecated_call(match="grace is deprecated"):
        snapshot.audit(grace=0)
    with pytest.raises(TypeError, match="grace_period given twice"):
        LeakAudit(2.0, grace=0.25)
    with pytest.deprecated_call(), pytest.raises(TypeError, match="grace_period must be"):
        LeakAudit(grace=None)
