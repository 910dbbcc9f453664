"""Recording a test run: the records its fixtures produce, stamped and written to a store.

A :class:`Recorder` belongs to one test run in one process. Every record it
writes carries a :class:`~itest_shared.formats.RecordContext`: the test's node
id, the run id and the worktree (path, branch, commit). The pytest plugin makes
one per process when ``--itest-record`` is given; pytest-xdist workers get the
controller's run id, so the records of every worker belong to one run.

.. versionadded:: 1.2
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from .formats import Record, RecordContext, WorktreeInfo
from .store import RecordStore, RecordWriter, check_run_id

__all__ = ["Recorder", "new_run_id"]


def new_run_id() -> str:
    """Return a fresh run id: the UTC start time, then 6 random hex digits.

    The time first, so that ``sorted(store.runs())`` lists runs oldest first.
    """
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(3).hex()}"


class Recorder:
    """Writes records of one run to a store, each stamped with its test, run and worktree."""

    def __init__(self, store: RecordStore, run_id: str, worktree: WorktreeInfo) -> None:
        if not isinstance(store, RecordStore):
            raise TypeError(f"store must be a RecordStore, got {type(store).__name__}")
        if not isinstance(worktree, WorktreeInfo):
            raise TypeError(f"worktree must be a WorktreeInfo, got {type(worktree).__name__}")
        self.store = store
        self.run_id = check_run_id(run_id)
        self.worktree = worktree
        # The writer opens its file on the first record: a run that records
        # nothing leaves nothing behind.
        self._writer: RecordWriter = store.writer(run_id)

    @property
    def directory(self) -> Path:
        """The store's directory."""
        return self.store.directory

    @property
    def records_written(self) -> int:
        """How many records this process has written for the run."""
        return self._writer.records_written

    def record(self, records: Iterable[Record], test: str | None = None) -> int:
        """Stamp ``records`` with ``test``, the run and the worktree; write them in one batch.

        Returns how many were written. A record that is not a Record raises
        TypeError naming its index, and nothing of the batch is written.
        """
        if test is not None and not isinstance(test, str):
            raise TypeError(f"test must be a str (a pytest node id) or None, got {test!r}")
        context = RecordContext(test=test, run_id=self.run_id, worktree=self.worktree)
        # Stamped as they are written, without a copy of each (bench_store.py);
        # the writer refuses anything but a Record, naming its index.
        return self._writer.write_many(records, context=context)

    def close(self) -> None:
        """Close this process's file; idempotent."""
        self._writer.close()

    def __repr__(self) -> str:
        return f"<Recorder run {self.run_id!r} to {str(self.directory)!r}>"
