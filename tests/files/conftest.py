"""Fixtures shared by the generated-file tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from itest_shared.files import TestFileGenerator


@pytest.fixture
def gen(tmp_path: Path) -> Iterator[TestFileGenerator]:
    generator = TestFileGenerator(tmp_path / "root")
    yield generator
    generator.cleanup()
