"""Fixtures of the compat tests: a worktree migrated from the prototype (its ini and conftest)."""

from __future__ import annotations

import pytest

from tests.compat.support import PROTOTYPE_INI
from tests.helpers import CONFTEST


@pytest.fixture
def worktree(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(PROTOTYPE_INI)
    pytester.makeconftest(CONFTEST)
    return pytester
