"""A write that fails part-way (file too large, disk full) leaves nothing to damage later records.

Each scenario runs in a child process: ``RLIMIT_FSIZE`` (with SIGXFSZ ignored,
so the write gets EFBIG instead of killing the process), or a 64 KiB tmpfs in a
private mount namespace (``unshare``), where the machine allows one. The child
writes until a write fails, makes room, writes on, and reports what it read back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The child's script. Every record line is exactly 100 bytes, so a size limit
# that is not a multiple of 100 always cuts a record in two.
CHILD = r"""
import json, os, resource, signal, sys
from pathlib import Path
from itest_shared.store import RecordStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death past RLIMIT_FSIZE
mode, root = sys.argv[1], Path(sys.argv[2])
_, HARD = resource.getrlimit(resource.RLIMIT_FSIZE)

def limit(size):
    if mode == "rlimit":
        resource.setrlimit(resource.RLIMIT_FSIZE, (HARD if size is None else size, HARD))

def make_room(filler):
    if mode == "tmpfs":
        os.unlink(root / filler)

def line(n):
    text = json.dumps({"n": n, "pad": ""}, separators=(",", ":"))
    return text[:-2] + "x" * (99 - len(text)) + '"}'

if mode == "tmpfs":  # two 8 KiB fillers, removed later to make room
    for filler in ("filler-a", "filler-b"):
        (root / filler).write_bytes(b"f" * 8192)
store = RecordStore(root)
confirmed, failures = [], []
first, second = store.writer("r"), store.writer("r")
n = 0
limit(1050)  # 10 whole records fit, the 11th is cut after 50 bytes
while not failures and n < 5000:
    try:
        first.write(line(n))
        confirmed.append(n)
    except OSError as error:
        failures.append(f"write: {error.strerror}")
    n += 1
limit(250)  # a batch of 5 into a new file: 2 whole records, the 3rd cut
make_room("filler-a")  # tmpfs: 8 KiB free for a batch of 100 records (10 KB)
batch = [line(n + i) for i in range(5 if mode == "rlimit" else 100)]
n += len(batch)
try:
    second.write_many(batch)
    confirmed.extend(json.loads(item)["n"] for item in batch)
except OSError as error:
    failures.append(f"write_many: {error.strerror}")
batch_left = second.path.read_bytes().count(b"\n") if second.path.exists() else 0
limit(None)
make_room("filler-b")
for _ in range(5):
    first.write(line(n))
    confirmed.append(n)
    n += 1
first.close()
second.close()
report = store.read("r")
read = [data["n"] for data, _ in report]
print(json.dumps({
    "confirmed": confirmed,
    "read": read,
    "problems": [str(problem) for problem in report.problems],
    "failures": failures,
    "batch_left": batch_left,
}))
"""


def _run_child(argv: list[str]) -> subprocess.CompletedProcess[str]:
    # A hang guard of its own: the child must not outlive the test.
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


def _outcome(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return outcome


def _check_nothing_lost(outcome: dict[str, Any], error: str) -> None:
    lost = sorted(set(outcome["confirmed"]) - set(outcome["read"]))
    assert outcome["failures"] == [f"write: {error}", f"write_many: {error}"]
    assert lost == [], f"{len(lost)} confirmed records unreadable: {outcome['problems']}"
    # Nothing of a failed write is in the store: no fragment, no part of a batch.
    assert outcome["problems"] == []
    assert outcome["batch_left"] == 0
    assert outcome["read"] == outcome["confirmed"]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_cut_by_the_file_size_limit_leaves_no_trace(tmp_path: Path) -> None:
    outcome = _outcome(_run_child([sys.executable, "-c", CHILD, "rlimit", str(tmp_path)]))
    _check_nothing_lost(outcome, "File too large")


def test_a_write_cut_by_a_full_disk_leaves_no_trace(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    # A private mount namespace (as an unprivileged user too, where user
    # namespaces are allowed): the tmpfs disappears with the child.
    namespace = ["unshare", "--user", "--map-root-user", "--mount"]
    if shutil.which("unshare") is None or _run_child([*namespace, "true"]).returncode != 0:
        pytest.skip("no private mount namespace here (unshare refused): no tmpfs to fill")
    mount = 'mount -t tmpfs -o size=64k tmpfs "$1" || exit 77; shift; exec "$@"'
    child = [sys.executable, "-c", CHILD, "tmpfs", str(disk)]
    result = _run_child([*namespace, "sh", "-c", mount, "sh", str(disk), *child])
    if result.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    _check_nothing_lost(_outcome(result), "No space left on device")


# --- in-process: what the OS would do, imitated --------------------------------------


def _line(n: int) -> str:
    """A record line of 99 characters (100 bytes with its newline), as in the child."""
    head = f'{{"n":{n},"pad":"'
    return head + "x" * (97 - len(head)) + '"}'


def _cut_writes_to(monkeypatch: pytest.MonkeyPatch, path: Path, error: BaseException) -> None:
    """Make writes to ``path`` stop half-way, then raise ``error``, as a full disk does."""
    import os

    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if os.path.realpath(f"/proc/self/fd/{fd}") != str(path):
            return real_write(fd, data)
        if len(data) >= 200:  # a batch: half of it gets in
            return real_write(fd, bytes(data)[: len(data) // 2 + 7])
        raise error

    monkeypatch.setattr(os, "write", write)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_batch_cut_off_half_way_is_taken_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    from itest_shared.store import RecordStore

    lines = [_line(n) for n in range(4)]
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write(lines[0])
        before = writer.path.read_bytes()
        with monkeypatch.context() as patch:
            _cut_writes_to(patch, writer.path.resolve(), error)
            with pytest.raises(type(error)) as raised:
                writer.write_many(lines[1:3])
        assert writer.path.read_bytes() == before and writer.records_written == 1
        assert raised.value.__notes__ == [
            f"{writer.path}: none of the 2 record(s) of this write is in the file"
            " (cut back to its length before the write)"
        ]
        writer.write(lines[3])
    assert writer.path.read_text().splitlines() == [lines[0], lines[3]]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_a_file_that_cannot_be_cut_back_is_left_for_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from itest_shared.store import TORN_LAST_LINE, RecordStore

    def ftruncate(fd: int, length: int) -> None:
        raise OSError(5, "Input/output error")

    store = RecordStore(tmp_path)
    lines = [_line(n) for n in range(6)]
    with store.writer("r") as writer:
        writer.write(lines[0])
        first = writer.path
        with monkeypatch.context() as patch:
            _cut_writes_to(patch, first.resolve(), OSError(28, "No space left on device"))
            patch.setattr(os, "ftruncate", ftruncate)
            with pytest.raises(OSError, match="No space left") as raised:
                writer.write_many(lines[1:5])  # 207 of 400 bytes get in: 2 whole records
        assert raised.value.__notes__ == [
            f"{first}: the write failed part-way and could not be cut off (Input/output error):"
            " 2 of its 4 record(s) stayed in that file, whole; later writes go to a new file"
        ]
        writer.write(lines[5])
        assert writer.path != first
    assert writer.path.read_text() == lines[5] + "\n"
    report = store.read("r")
    assert sorted(json.loads(line)["n"] for line in lines[:3] + lines[5:]) == sorted(
        data["n"] for data, _ in report
    )
    assert [(p.path, p.reason) for p in report.problems] == [(first, TORN_LAST_LINE)]
