"""Constants shared by the tests of ``itest_shared.formats``: a good context in its JSON form."""

from __future__ import annotations

from typing import Any

from tests.records import CONTEXT

GOOD = CONTEXT.to_dict()
GOOD_WORKTREE: dict[str, Any] = GOOD["worktree"]  # type: ignore[assignment]
