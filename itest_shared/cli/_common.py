"""What every subcommand of ``itest-shared`` shares: the program name, usage errors, the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

PROG = "itest-shared"


class _Parser(argparse.ArgumentParser):
    """argparse with errors in the ``itest-shared: error: ...`` form of the other errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{PROG}: error: {message}\n")


class _UsageError(Exception):
    """A usage problem found after parsing; exits with status 2."""


def _named_store(name: str | Path) -> Path:
    """A store named on the command line: it must be an existing directory."""
    store = Path(name)
    if not store.exists():
        raise _UsageError(f"store {str(store)!r} does not exist")
    if not store.is_dir():
        raise _UsageError(f"store {str(store)!r} is not a directory")
    return store


def _default_store() -> Path:
    """The shared store, which must exist: validating nothing must not look like a pass."""
    from ..coordination import shared_directory  # deferred: see cli/__init__.py

    store = shared_directory()
    if not store.exists():
        raise _UsageError(
            f"no record store at {store} yet: nothing has been recorded in this repository"
            " (record with `pytest --itest-record`), or name the FILE(s) to check"
        )
    if not store.is_dir():
        raise _UsageError(f"store {str(store)!r} is not a directory")
    return store


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value
