"""A worktree's conftest.py: one line gives it every shared fixture."""

import pytest

pytest_plugins = ["itest_shared.fixtures"]


@pytest.fixture
def itest_module_map() -> dict[str, list[str]]:
    """This project's config-key -> modules map, shared by every worktree."""
    return {
        "parser_timeout": ["chunker.parser", "chunker.parallel"],
        "chunk_types": ["chunker.chunker"],
    }
