"""``TestFileGenerator``: writes test files under one root and removes exactly those again.

.. versionadded:: 1.1
"""

from __future__ import annotations

import errno
import math
import os
import random
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath
from types import TracebackType

from ..samples import EXTENSION_BY_LANGUAGE, SUPPORTED_LANGUAGES
from ._blocks import (
    PATTERNS,
    block_size,
    block_template,
    iter_blocks,
    tree_module,
)
from ._errors import BUILDERS, ERROR_TYPES
from ._paths import DIR_FLAGS, UnsafePathError, identity, open_dir, open_file, relative

__all__ = ["ERROR_TYPES", "MIB", "PATTERNS", "TestFileGenerator", "UnsafePathError"]

#: ``size_mb`` counts mebibytes.
MIB = 1024 * 1024

_DIR_WORDS = ("pkg", "mod", "lib", "util", "core", "part", "impl", "deep")


def _check_choice(option: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {option} {value!r}; valid {option}s: {', '.join(choices)}")
    return value


def _target_size(size_mb: object, size_bytes: object) -> int:
    if (size_mb is None) == (size_bytes is None):
        raise TypeError("give exactly one of size_mb and size_bytes")
    if size_bytes is not None:
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
            raise TypeError(f"size_bytes must be an int, got {type(size_bytes).__name__}")
        if size_bytes < 0:
            raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")
        return size_bytes
    if isinstance(size_mb, bool) or not isinstance(size_mb, (int, float)):
        raise TypeError(f"size_mb must be a number, got {type(size_mb).__name__}")
    if not math.isfinite(size_mb) or size_mb < 0:
        raise ValueError(f"size_mb must be a finite number >= 0, got {size_mb!r}")
    return math.ceil(size_mb * MIB)


class TestFileGenerator:
    """Creates test files under ``root`` and removes everything it created on ``cleanup()``.

    Names are relative paths (``subdir`` is prefixed when given). A name that is
    absolute, contains ``..``, goes through a symlink leading outside the root, ends
    in a symlink, or names a file or directory this generator did not create raises
    ``UnsafePathError``: it only ever writes, and later deletes, its own files.
    Missing directories (the root included) are created and removed again at cleanup
    if they are empty by then. Thread-safe; a context manager that cleans up on exit.
    ``workspace`` and ``generated_files`` are the prototype's names of ``root`` and
    ``created_files``.

    .. versionchanged:: 1.3
       ``workspace``, ``generated_files``; an identifier ``pattern`` in ``create_large_file``.
    .. versionchanged:: 1.5
       Every call resolves each directory again, by descriptor, never through a symlink
       leading out: one checked earlier and swapped for such a symlink since is refused.
    """

    __test__ = False  # a helper, not a test class, despite the name

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # An absolute Path is kept as it is: the prototype's generator shared the very
        # Path object of temp_workspace, and tests may compare with ``is``.
        if isinstance(root, Path) and root.is_absolute():
            self._root = root
        else:
            self._root = Path(os.fspath(root)).absolute()
        self._lock = threading.Lock()
        self._files: dict[Path, None] = {}  # insertion-ordered set
        self._dirs: dict[Path, tuple[int, int]] = {}  # created directory -> its identity
        self._root_real = self._root
        self._root_is_link = self._root.is_symlink()
        with self._lock:
            self._ensure_root()

    @property
    def root(self) -> Path:
        """Return the directory everything is generated under."""
        return self._root

    @property
    def workspace(self) -> Path:
        """Return the directory everything is generated under (the prototype's name of ``root``).

        .. versionadded:: 1.3
        """
        return self._root

    @property
    def created_files(self) -> list[Path]:
        """Return the files created since the last cleanup, in creation order (a copy).

        A file written twice is listed once, where it was first created.
        """
        with self._lock:
            return list(self._files)

    @property
    def generated_files(self) -> list[Path]:
        """Return ``created_files`` under the prototype's name (a copy, each file once).

        .. versionadded:: 1.3
        """
        return self.created_files

    # ------------------------------------------------------------------ creating files

    def create_file(
        self,
        name: str | os.PathLike[str],
        content: str | bytes,
        subdir: str | os.PathLike[str] = "",
        *,
        encoding: str = "utf-8",
    ) -> Path:
        """Write ``content`` (str is encoded with ``encoding``) to ``root/subdir/name``."""
        if isinstance(content, str):
            data = content.encode(encoding)
        elif isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
        else:
            raise TypeError(f"content must be str or bytes, got {type(content).__name__}")
        path, fd = self._claim(name, subdir)
        self._write(fd, [data])
        return path

    def create_large_file(
        self,
        name: str | os.PathLike[str],
        size_mb: float | None = None,
        pattern: str = "function",
        language: str = "python",
        *,
        size_bytes: int | None = None,
        subdir: str | os.PathLike[str] = "",
    ) -> Path:
        """Stream a valid ``language`` file of repeated ``pattern`` blocks of at least the size.

        Give ``size_mb`` (MiB, may be fractional) or ``size_bytes``. The file is whole
        blocks, so its size is at least the target and less than the target plus one
        block; every block defines uniquely named items, so the file stays a valid
        program at any size. Patterns: ``function``, ``class`` (struct+impl in Rust,
        struct+function in C), ``async`` (not C), ``mixed``, ``comment``; or any other
        ASCII identifier, which names the functions of ``function`` blocks instead of
        ``function`` (``pattern="handler"``: ``def handler_<id>(value)`` in Python,
        ``function handler_<id>`` in JS, ``pub fn handler_<id>`` in Rust, ``int
        handler_<id>`` in C). Memory use stays flat whatever the size: it is written in
        chunks of at most about 2 MiB (one block, if a block is bigger).

        .. versionchanged:: 1.3
           ``pattern`` may be an identifier: the name prefix of function blocks.
        """
        target = _target_size(size_mb, size_bytes)
        _check_choice("language", language, SUPPORTED_LANGUAGES)
        template = block_template(pattern, language)
        count = -(-target // block_size(template))  # ceiling division
        path, fd = self._claim(name, subdir)
        self._write(fd, iter_blocks(template, count))
        return path

    def create_error_file(
        self,
        name: str | os.PathLike[str],
        error_type: str,
        language: str = "python",
        *,
        subdir: str | os.PathLike[str] = "",
    ) -> Path:
        """Write a file with a known problem for ``language``; see ``ERROR_TYPES``.

        ``syntax`` fails to compile (and leaves brackets unbalanced); ``unicode`` is a
        valid program full of emoji, combining marks, right-to-left text and zero-width
        characters; ``invalid_utf8`` does not decode; ``binary`` holds NUL bytes;
        ``empty`` is zero bytes; ``deep_nesting`` nests blocks near the language's limits;
        ``long_line`` has a line of over 1 MiB; ``bom`` starts with a UTF-8 byte order
        mark; ``mixed_line_endings`` mixes LF, CRLF and CR. All but ``syntax``,
        ``invalid_utf8`` and ``binary`` are valid programs: stress, not faults.
        """
        _check_choice("error_type", error_type, ERROR_TYPES)
        _check_choice("language", language, SUPPORTED_LANGUAGES)
        path, fd = self._claim(name, subdir)
        self._write(fd, [BUILDERS[error_type](language)])
        return path

    def create_tree(
        self,
        n_files: int = 100,
        *,
        languages: Sequence[str] | None = None,
        seed: int = 0,
        depth: int = 3,
        subdir: str | os.PathLike[str] = "tree",
    ) -> list[Path]:
        """Create ``n_files`` small valid source files in nested directories under ``subdir``.

        Everything (paths, languages, contents) follows from ``seed``: the same seed
        gives the same tree. Files sit 0 to ``depth`` directories deep; languages
        default to all supported ones. Returns the paths in creation order.
        """
        for option, value in (("n_files", n_files), ("seed", seed), ("depth", depth)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{option} must be an int, got {type(value).__name__}")
        if n_files < 0 or depth < 0:
            raise ValueError(f"n_files and depth must be >= 0, got {n_files} and {depth}")
        if isinstance(languages, str):
            raise TypeError("languages must be a sequence of language names, not one str")
        chosen = tuple(SUPPORTED_LANGUAGES if languages is None else languages)
        if not chosen:
            raise ValueError(f"languages is empty; choose from {', '.join(SUPPORTED_LANGUAGES)}")
        for language in chosen:
            _check_choice("language", language, SUPPORTED_LANGUAGES)
        rng = random.Random(seed)
        paths = []
        for i in range(n_files):
            language = rng.choice(chosen)
            levels = rng.randint(0, depth)
            dirs = [f"{_DIR_WORDS[k % len(_DIR_WORDS)]}_{rng.randrange(4)}" for k in range(levels)]
            name = PurePath(*dirs, f"file_{i:05d}{EXTENSION_BY_LANGUAGE[language]}")
            content = tree_module(language, rng).encode()
            path, fd = self._claim(name, subdir)
            self._write(fd, [content])
            paths.append(path)
        return paths

    # ------------------------------------------------------------------ cleanup

    def cleanup(self) -> list[Path]:
        """Remove every file and directory this generator created; return what had to stay.

        Idempotent. A directory it created stays (and is returned) only if it holds
        something else; files and directories it did not create are never touched.
        Everything is removed relative to the root's directory descriptor, through no
        symlink leading outside, so nothing outside the root is ever deleted, even if
        a directory is swapped for a symlink meanwhile: what escapes stays, returned.
        """
        with self._lock:
            files, dirs = list(self._files), dict(self._dirs)
            self._files.clear()
            self._dirs.clear()
            left: list[Path] = []
            try:
                root_fd = self._open_root(str(self._root), create=False)
            except FileNotFoundError:
                root_fd = -1  # everything went with the root
            except (OSError, UnsafePathError):
                return [*files, *sorted(dirs, key=lambda p: len(p.parts), reverse=True)]
            inside = sorted(
                (d for d in dirs if d != self._root and d.is_relative_to(self._root)),
                key=lambda p: len(p.parts),
                reverse=True,
            )
            if root_fd >= 0:
                parents: dict[PurePath, int] = {}  # directory below the root -> descriptor
                try:
                    for path in files:
                        if self._remove(root_fd, parents, path, None):
                            left.append(path)
                    for directory in inside:
                        if self._remove(root_fd, parents, directory, dirs[directory]):
                            left.append(directory)
                finally:
                    for fd in parents.values():
                        os.close(fd)
                    os.close(root_fd)
            # The root and the parents it needed: above the root, so removed by path.
            for directory in sorted(set(dirs) - set(inside), key=lambda p: -len(p.parts)):
                try:
                    if identity(os.lstat(directory)) != dirs[directory]:
                        left.append(directory)  # no longer the directory it created
                        continue
                    directory.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(directory)
        return left

    def _remove(
        self,
        root_fd: int,
        parents: dict[PurePath, int],
        path: Path,
        expected: tuple[int, int] | None,
    ) -> bool:
        """Remove a file of ours, or (``expected``: its identity) a directory; True if it stays."""
        rel = path.relative_to(self._root)
        parent = rel.parent
        try:
            if parent not in parents:
                parents[parent] = open_dir(root_fd, parent.parts, str(rel), self._roots(), None)
            parent_fd = parents[parent]
            if expected is None:
                # unlink never follows a symlink in the last component; a directory
                # put in place of the file fails (EISDIR/EPERM) and stays.
                os.unlink(rel.name, dir_fd=parent_fd)
            elif identity(os.stat(rel.name, dir_fd=parent_fd, follow_symlinks=False)) != expected:
                return True  # no longer the directory it created
            else:
                os.rmdir(rel.name, dir_fd=parent_fd)
        except FileNotFoundError:
            return False
        except (OSError, UnsafePathError):
            return True  # e.g. a directory on the way now leads out of the root
        return False

    def __enter__(self) -> TestFileGenerator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"<TestFileGenerator root={str(self._root)!r} files={len(self._files)}>"

    # ------------------------------------------------------------------ internals

    def _ensure_root(self) -> None:
        """Create the root (and missing parents), tracking what was created. Lock held."""
        missing = []
        for path in (self._root, *self._root.parents):
            if path.exists():
                break
            missing.append(path)
        for path in reversed(missing):
            try:
                path.mkdir()
                self._dirs[path] = identity(os.lstat(path))
            except FileExistsError:
                pass  # created meanwhile by someone else: not ours to remove
        self._root_real = self._root.resolve()
        if not self._root_real.is_dir():
            raise ValueError(f"root {str(self._root)!r} exists and is not a directory")

    def _open_root(self, name: str, *, create: bool) -> int:
        """Open the root as a directory descriptor (re-creating it if ``create``). Lock held."""
        # The root may be a symlink if it was one when the generator was made (the
        # user's choice); otherwise swapping it for one later is refused like any other.
        flags = DIR_FLAGS & ~os.O_NOFOLLOW if self._root_is_link else DIR_FLAGS
        try:
            return os.open(self._root, flags)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafePathError(name, f"root {self._root} is no longer a directory") from exc
            raise
        self._ensure_root()
        return os.open(self._root, flags)

    def _roots(self) -> tuple[Path, Path]:
        return self._root, self._root_real

    def _made(self, path: Path, fd: int) -> None:
        """Track a directory the generator made, by identity (so a swap is told apart)."""
        self._dirs[path] = identity(os.fstat(fd))

    def _claim(self, name: object, subdir: object) -> tuple[Path, int]:
        """Check a name, create its directories, open the file and record it as ours.

        Returns the path and a descriptor open for writing, which the caller closes.
        """
        rel = relative(name, subdir)
        shown = str(rel)
        target = self._root / rel
        with self._lock:
            root_fd = self._open_root(shown, create=True)
            try:
                dir_fd = open_dir(root_fd, rel.parts[:-1], shown, self._roots(), self._made)
            finally:
                os.close(root_fd)
            try:
                fd = open_file(dir_fd, rel.name, target in self._files, target, shown)
            finally:
                os.close(dir_fd)
            # Recorded before writing, so a write that fails half-way is still cleaned up.
            self._files[target] = None
            return target, fd

    @staticmethod
    def _write(fd: int, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        with open(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
