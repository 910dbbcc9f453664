"""Names below the generator's root, resolved one component at a time by directory descriptor.

Every component is opened relative to its parent's descriptor and never through a
symlink (``O_NOFOLLOW``), so what a path meant at an earlier call, or an earlier
check, does not matter: a directory checked once and swapped for a symlink leading out
before the next call (issue 10, item 14) is seen at the very open that would use it.
A symlink is followed only by reading it and walking its target the same way, its
``..`` popping descriptors already held, so one that leads out of the root is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath

_NOFOLLOW = os.O_NOFOLLOW
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: Flags that open a directory, never through a symlink in the last component.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC
_REWRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _CLOEXEC  # a file of ours
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC  # a new file
_MAX_LINKS = 40  # symlinks followed while walking one name: Linux's own limit
_NOT_A_DIR = (errno.ELOOP, errno.ENOTDIR)  # what O_NOFOLLOW | O_DIRECTORY gives a symlink


class UnsafePathError(ValueError):
    """A file name would escape the generator's root or clobber something it did not create."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"refusing file name {name!r}: {reason}")

    # Errors cross worker and xdist boundaries: rebuild from both arguments, not the message.
    def __reduce__(self) -> tuple[type[UnsafePathError], tuple[str, str]]:
        return type(self), (self.name, self.reason)


# Shown as the public path it has always had (tracebacks, pickles by reference).
UnsafePathError.__module__ = "itest_shared.files"


def identity(status: os.stat_result) -> tuple[int, int]:
    """Return what tells one directory from another that took its place: (device, inode)."""
    return status.st_dev, status.st_ino


def relative(name: object, subdir: object) -> PurePath:
    """Return ``subdir/name`` as a relative path, refusing anything that could escape."""
    texts = []
    for option, value in (("subdir", subdir), ("name", name)):
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{option} must be a str or path, got {type(value).__name__}")
        text = os.fspath(value)
        if not isinstance(text, str):
            raise TypeError(f"{option} must be a str path, got {type(text).__name__}")
        if "\x00" in text:
            raise UnsafePathError(text, f"{option} contains a NUL byte")
        path = PurePath(text)
        if path.is_absolute() or path.anchor:
            raise UnsafePathError(text, f"{option} is absolute; give a path relative to the root")
        if ".." in path.parts:
            raise UnsafePathError(text, f"{option} contains '..'")
        texts.append(text)
    subdir_text, name_text = texts
    if not PurePath(name_text).parts or name_text.endswith(("/", os.sep)):
        raise UnsafePathError(name_text, "name must end in a file name")
    return PurePath(subdir_text, name_text)


def open_dir(
    root_fd: int,
    parts: Sequence[str],
    name: str,
    roots: tuple[Path, Path],
    made: Callable[[Path, int], None] | None,
) -> int:
    """Open ``root/parts`` as a new directory descriptor, never leaving the root.

    ``roots`` is the root as named and as resolved (absolute symlink targets may use
    either); a symlink leading out of it raises ``UnsafePathError`` naming it, and so
    does a component that is not a directory. Missing directories are made only if
    ``made`` is given, which is called with each one made and its open descriptor.
    """
    root = roots[0]
    stack = [root_fd]  # descriptors of the directories walked; ".." pops
    where: list[str] = []  # their names below the root
    pending = list(reversed(parts))
    link: Path | None = None  # the last symlink whose target is being walked
    links = 0
    try:
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":  # only ever from a symlink's target
                if len(stack) == 1:
                    raise UnsafePathError(name, f"{link} is a symlink leading outside the root")
                os.close(stack.pop())
                where.pop()
                continue
            here = root.joinpath(*where, part)
            fd = _open_or_make(stack[-1], part, here, made)
            if fd >= 0:
                stack.append(fd)
                where.append(part)
                continue
            try:
                target = PurePath(os.readlink(part, dir_fd=stack[-1]))
            except FileNotFoundError:
                raise  # gone meanwhile: nothing to write into
            except OSError:
                raise UnsafePathError(name, f"{here} is a file, not a directory") from None
            links += 1
            if links > _MAX_LINKS:
                raise UnsafePathError(name, f"{here}: too many levels of symlinks")
            link = here
            if target.is_absolute():
                target = _below(target, roots, name, here)
                while len(stack) > 1:  # walk the target from the root again
                    os.close(stack.pop())
                where.clear()
            pending.extend(reversed(target.parts))
        return stack.pop() if len(stack) > 1 else os.dup(root_fd)
    finally:
        for fd in stack[1:]:
            os.close(fd)


def _open_or_make(
    parent_fd: int, part: str, path: Path, made: Callable[[Path, int], None] | None
) -> int:
    """Open directory ``part`` (making it if missing and ``made``); -1 if it is not one."""
    try:
        return os.open(part, DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if made is None:
            raise
    except OSError as exc:
        if exc.errno in _NOT_A_DIR:
            return -1
        raise
    try:
        os.mkdir(part, dir_fd=parent_fd)
        ours = True
    except FileExistsError:
        ours = False  # made meanwhile by someone else: not ours to remove
    try:
        fd = os.open(part, DIR_FLAGS, dir_fd=parent_fd)  # a swap since is seen here
    except OSError as exc:
        if exc.errno in _NOT_A_DIR:
            return -1
        raise
    if ours:
        made(path, fd)
    return fd


def _below(target: PurePath, roots: tuple[Path, Path], name: str, link: Path) -> PurePath:
    """Return an absolute symlink target relative to the root, or refuse it."""
    for base in roots:
        if target.is_relative_to(base):
            return target.relative_to(base)
    raise UnsafePathError(name, f"{link} is a symlink leading outside the root")


def open_file(dir_fd: int, part: str, ours: bool, target: Path, name: str) -> int:
    """Open file ``part`` in ``dir_fd`` for writing: a new file, or (``ours``) one of ours.

    Anything else there (a foreign file or directory, a symlink) raises ``UnsafePathError``.
    """
    try:
        # Only a file of ours may be truncated; anything else must not exist yet.
        return os.open(part, _REWRITE_FLAGS if ours else _CREATE_FLAGS, 0o644, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.EISDIR, *_NOT_A_DIR):
            raise
    if stat.S_ISLNK(os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode):
        raise UnsafePathError(name, "it is a symlink; writing would follow it")
    raise UnsafePathError(name, f"{target} exists and was not created here")
