"""Fixtures shared by the tests of ``itest_shared.report``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stores import build_store

# Stores are built from raw record dicts (the schema 1.1 shape), so these tests do
# not depend on the record classes.


@pytest.fixture
def store(tmp_path: Path) -> Path:
    build_store(tmp_path / "store")
    return tmp_path / "store"
