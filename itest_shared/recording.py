"""Recording a test run: the records its fixtures produce, stamped and written to a store.

A :class:`Recorder` belongs to one test run in one process. Every record it
writes carries a :class:`~itest_shared.formats.RecordContext`: the test's node
id, the run id and the worktree (path, branch, commit). The pytest plugin makes
one per process when ``--itest-record`` is given; pytest-xdist workers get the
controller's run id, so the records of every worker belong to one run, and hand
their stamped records to the controller (:meth:`Recorder.take_lines`), which
writes them (:meth:`Recorder.write_lines`).

.. versionadded:: 1.2
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from .formats import Record, RecordContext, WorktreeInfo
from .store import RecordStore, RecordWriter, check_run_id, stamped_lines

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
        # What add() queued for the next flush(): (records, test) in order.
        self._pending: list[tuple[list[Record], str | None]] = []
        self._pending_lock = threading.Lock()
        # The context of the last test recorded (a RecordContext is frozen).
        self._context = RecordContext(test=None, run_id=self.run_id, worktree=self.worktree)

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
        # Stamped as they are written, without a copy of each (bench_store.py);
        # the writer refuses anything but a Record, naming its index.
        return self._writer.write_many(records, context=self._context_of(test))

    def _context_of(self, test: str | None) -> RecordContext:
        _check_test(test)
        context = self._context
        if context.test != test:  # one per test, reused by each of its batches
            context = self._context = RecordContext(
                test=test, run_id=self.run_id, worktree=self.worktree
            )
        return context

    def add(self, records: Iterable[Record], test: str | None = None) -> int:
        """Queue ``records`` of ``test`` for the next :meth:`flush`; return how many.

        Checked now, as by :meth:`record`: a record that is not a Record raises
        TypeError naming its index, and nothing of the batch is queued. The
        plugin queues each fixture's records at its teardown and flushes once
        the test's teardown is over, so that a test's records go out in one
        write (``benchmarks/bench_plugin.py``).

        .. versionadded:: 2.1
        """
        _check_test(test)
        batch = list(records)
        for index, record in enumerate(batch):
            if not isinstance(record, Record):
                raise TypeError(
                    f"records[{index}] must be a Record (ErrorContext, ConfigChangeEvent,"
                    f" ResourceRecord, TimingStatsRecord), got {type(record).__name__}"
                )
        if batch:
            with self._pending_lock:
                self._pending.append((batch, test))
        return len(batch)

    def flush(self) -> int:
        """Write what :meth:`add` queued, one write per test in a row; return how many.

        If a write fails (a full disk), its records and those after them stay
        queued for the next flush, and the error is raised.

        .. versionadded:: 2.1
        """
        written = 0
        groups = self._take_groups()
        for index, group in enumerate(groups):
            try:
                written += self.record(
                    [record for batch, _ in group for record in batch], group[0][1]
                )
            except BaseException:
                # A failed write leaves none of its records in the file: queue
                # them again, with those not tried yet, for the next flush.
                self._queue_again(groups[index:])
                raise
        return written

    def take_lines(self) -> list[str]:
        """Return what :meth:`add` queued, stamped, as JSON lines, instead of writing it.

        The lines are those :meth:`flush` would write, each ending in a newline;
        the queue is then empty. A pytest-xdist worker hands them to the
        controller with each test's report, and the controller writes them
        with :meth:`write_lines`: one writer, wherever the workers run. If a
        record cannot be stamped (a line over the store's limit), the error is
        raised and the queue stays as it was.

        .. versionadded:: 2.2
        """
        groups = self._take_groups()
        lines: list[str] = []
        try:
            for group in groups:
                context = self._context_of(group[0][1])
                batch = [record for records, _ in group for record in records]
                lines.extend(line.decode("utf-8") for line in stamped_lines(batch, context))
        except BaseException:
            self._queue_again(groups)
            raise
        return lines

    def write_lines(self, lines: Iterable[str]) -> int:
        """Write JSON lines that another process's :meth:`take_lines` made, in one write.

        Returns how many were written. Each line is checked as
        ``RecordWriter.write_many`` checks a JSON line (one strict JSON object
        on one line): if any is bad, the error names its index and nothing is
        written. The lines keep the context their process stamped.

        .. versionadded:: 2.2
        """
        return self._writer.write_many(list(lines))

    def _take_groups(self) -> list[list[tuple[list[Record], str | None]]]:
        # What add() queued, emptied, in runs of the same test.
        with self._pending_lock:
            pending, self._pending = self._pending, []
        return [list(group) for _, group in itertools.groupby(pending, key=lambda item: item[1])]

    def _queue_again(self, groups: list[list[tuple[list[Record], str | None]]]) -> None:
        # Back at the head of the queue, before anything added since.
        with self._pending_lock:
            self._pending[:0] = [item for group in groups for item in group]

    def close(self) -> None:
        """Write what is queued, then close this process's file; idempotent.

        .. versionchanged:: 2.1 writes what :meth:`add` queued first.
        """
        try:
            if not self._writer.closed:
                self.flush()
        finally:
            self._writer.close()

    def __repr__(self) -> str:
        return f"<Recorder run {self.run_id!r} to {str(self.directory)!r}>"


def _check_test(test: object) -> None:
    if test is not None and not isinstance(test, str):
        raise TypeError(f"test must be a str (a pytest node id) or None, got {test!r}")
