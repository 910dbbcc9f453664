"""Fixtures shared by the parser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from itest_shared.parsers import MockParserFactory


@pytest.fixture
def mock_parser_factory() -> Iterator[MockParserFactory]:
    factory = MockParserFactory()
    yield factory
    factory.reset()
