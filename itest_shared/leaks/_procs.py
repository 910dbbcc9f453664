"""The machine's processes as ``/proc`` shows them, read again only where something changed.

A leak audit looks at the machine at least twice per test: for this process's
descendants, and for every pid (where the mark of orphans is looked for).
psutil's ``children(recursive=True)`` reads ``/proc/<pid>/stat`` of every
process each time: 94% of a snapshot, and more the more processes the machine
runs (``benchmarks/bench_leaks.py``: 5.5x a trivial test with 80 processes,
17x with 380). The table here keeps pid -> (parent, start time) between looks
and reads a ``stat`` file only for

* a pid it has not seen, or whose ``/proc`` entry changed identity: the kernel
  makes each process's ``/proc/<pid>`` anew (a new inode number, which listing
  the directory gives for free), so a pid that an ended process left and a new
  one took is read again;
* a process it believes to be a descendant (read on every look: its parent may
  have ended, leaving it to init, and the audit reports what it finds of it);
* a process whose parent ended, which the kernel gave another parent.

And it lists ``/proc`` only when a process was created since the last look:
``/proc/loadavg`` names the pid the kernel handed out last; while that has not
moved, no process (nor thread) started, so every process there is is one the
table knows. (The allocator would have to go round every pid and stop on the
same one for that to be wrong.) Processes that ended meanwhile may still be
in the table: each is dropped when a read of its ``stat`` fails, or at the
next listing.

Linux only, where ``/proc/self/stat`` is this process's: ``shared()`` is None
elsewhere, and the audit asks psutil.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import NamedTuple

_ROOT = "/proc"
# Serials of the entries found, across tables: a fork's child starts a table of
# its own, and a serial its parent gave out must still mean "before" in it.
_serials = itertools.count(1)


class Entry(NamedTuple):
    """What the table knows of one process."""

    #: Increases with each process found: what came after a look has a higher one.
    serial: int
    parent: int
    #: Clock ticks after boot (``stat`` field 22): with the pid, names the process.
    start: int


class Look(NamedTuple):
    """The table's answer: descendants of a pid, every pid, and who came since a serial."""

    #: (pid, start) of each descendant, sorted.
    descendants: tuple[tuple[int, int], ...]
    #: Every pid known on the machine (some may have ended since the last listing).
    pids: frozenset[int]
    #: The serial to give ``look(since=...)`` later, for what came after this look.
    serial: int
    #: (pid, start) of each process found after the ``since`` serial asked for.
    born: tuple[tuple[int, int], ...]


def read_stat(root: str, pid: int) -> tuple[int, int] | None:
    """(parent pid, start ticks) of ``pid``, or None when it is gone."""
    try:
        fd = os.open(f"{root}/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        # The command name, in parentheses, may hold spaces and parentheses itself.
        fields = data[data.rindex(b")") + 2 :].split()
        return int(fields[1]), int(fields[19])
    except (ValueError, IndexError):
        return None  # empty: the process was reaped while it was read


def last_pid(root: str) -> int | None:
    """The pid the kernel handed out last (``/proc/loadavg``'s last field), or None."""
    try:
        fd = os.open(f"{root}/loadavg", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(fd, 256).rsplit(None, 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)


def list_root(root: str) -> dict[int, str]:
    """inode number -> name of each entry of ``root`` (``getdents`` gives both; no stat)."""
    with os.scandir(root) as entries:
        return {entry.inode(): entry.name for entry in entries}


class ProcessTable:
    """pid -> (serial, parent, start) of every process, kept between looks; thread-safe."""

    def __init__(self, root: str = _ROOT, *, gate: bool = True) -> None:
        self.root = root
        #: Whether an unmoved last pid spares the listing (see the module doc).
        self.gate = gate
        self._lock = threading.Lock()
        self._serial = next(_serials)
        self._last_pid: int | None = None
        # The last listing of root: inode -> name of every entry (pids and the rest).
        self._listing: dict[int, str] = {}
        # In the order found, a pid found again (a new process) moved to the end:
        # what came after a serial is the tail (``_born``).
        self._entries: dict[int, Entry] = {}
        self._children: dict[int, set[int]] = {}
        self._pids: frozenset[int] = frozenset()

    def look(self, pid: int, since: int | None = None) -> Look:
        """The descendants of ``pid`` now, every pid, and what was found after ``since``."""
        with self._lock:
            self._refresh()
            descendants = self._descendants(pid)
            born = self._born(since) if since is not None else ()
            return Look(descendants, self._pids, self._serial, born)

    # -- keeping the table -------------------------------------------------------------

    def _refresh(self) -> None:
        last = last_pid(self.root)  # before the listing: what starts after it moves it
        if self.gate and last is not None and last == self._last_pid:
            return  # no process created since the last listing
        listing = list_root(self.root)
        if listing != self._listing:
            old = self._listing
            # A new inode: a new process, or a known one whose entry the kernel
            # made anew (_learn tells them apart by the start time).
            found = {
                int(name)
                for name in map(listing.__getitem__, listing.keys() - old.keys())
                if name.isdigit()
            }
            for pid in found:
                self._learn(pid)
            for name in map(old.__getitem__, old.keys() - listing.keys()):
                if name.isdigit() and int(name) not in found:
                    self._forget(int(name))
            self._listing = listing
            self._pids = frozenset(self._entries)
        self._last_pid = last

    def _learn(self, pid: int) -> None:
        """Read ``pid``'s stat: a new process, one that took a known pid, or the same one."""
        stat = read_stat(self.root, pid)
        known = self._entries.get(pid)
        if stat is None:
            if known is not None:
                self._forget(pid)
            return
        parent, start = stat
        if known is not None and known.start == start:
            if known.parent != parent:  # the same process, given a new parent
                self._move(pid, known, known._replace(parent=parent))
            return
        if known is not None:
            self._forget(pid)  # ended; its pid is a new process's now
        self._serial = next(_serials)
        self._entries[pid] = Entry(self._serial, parent, start)
        self._children.setdefault(parent, set()).add(pid)

    def _forget(self, pid: int) -> None:
        """Drop an ended process; its children were given new parents: read them again."""
        entry = self._entries.pop(pid, None)
        if entry is None:
            return
        siblings = self._children.get(entry.parent)
        if siblings is not None:
            siblings.discard(pid)
            if not siblings:
                del self._children[entry.parent]
        for child in self._children.pop(pid, set()):
            self._learn(child)

    def _move(self, pid: int, old: Entry, new: Entry) -> None:
        self._entries[pid] = new
        siblings = self._children.get(old.parent)
        if siblings is not None:
            siblings.discard(pid)
            if not siblings:
                del self._children[old.parent]
        self._children.setdefault(new.parent, set()).add(pid)

    def _descendants(self, pid: int) -> tuple[tuple[int, int], ...]:
        # Each one the table holds as a descendant is read again: its parent may
        # have ended (it went to init, or to a subreaper) or it may have ended
        # itself. Walk again until a walk changes nothing.
        for _ in range(8):
            found = self._walk(pid)
            changed = False
            for child in sorted(found):
                entry = self._entries.get(child)
                if entry is None:
                    continue  # forgotten while reading another one's parent
                stat = read_stat(self.root, child)
                if stat is None or stat != (entry.parent, entry.start):
                    self._learn(child)
                    changed = True
            if not changed:
                break
        found = self._walk(pid)
        return tuple(sorted((child, self._entries[child].start) for child in found))

    def _walk(self, pid: int) -> set[int]:
        found: set[int] = set()
        stack = [pid]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child != pid and child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def _born(self, since: int) -> tuple[tuple[int, int], ...]:
        born = []
        for pid in reversed(self._entries):
            entry = self._entries[pid]
            if entry.serial <= since:
                break
            born.append((pid, entry.start))
        return tuple(born)


_shared: ProcessTable | None = None
_shared_lock = threading.Lock()
_usable: bool | None = None


def usable(root: str) -> bool:
    """True where ``root`` is this process's procfs (Linux, the same pid namespace)."""
    return os.readlink(f"{root}/self") == str(os.getpid())


def last_pid_moves(root: str) -> bool:
    """True where starting a thread moves ``last_pid``: not a stand-in ``/proc`` (gVisor...)."""
    before = last_pid(root)
    thread = threading.Thread(target=int, name="itest-shared-pid-probe")
    thread.start()
    thread.join()
    after = last_pid(root)
    return before is not None and after is not None and before != after


def shared() -> ProcessTable | None:
    """The process-wide table, or None where ``/proc`` cannot tell (not Linux)."""
    global _shared, _usable
    if _shared is None:
        with _shared_lock:
            if _usable is None:
                try:
                    _usable = usable(_ROOT)
                except (OSError, ValueError):
                    _usable = False
            if _usable and _shared is None:
                _shared = ProcessTable(gate=last_pid_moves(_ROOT))
    return _shared


def _after_fork_in_child() -> None:
    # The child has its own descendants; and a lock another thread held at the
    # fork would stay held forever in it. Start afresh.
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
