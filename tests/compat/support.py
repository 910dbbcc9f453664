"""Helpers of the tests of the contract with the copied prototype (COMPAT.md)."""

# Written from /shared/COMPAT.md, section by section. The interface tests use the
# classes (sections 3, 4, 5, 8, 10, 15, 16) as a suite written against the
# prototype would: every contract row through ``from itest_shared import ...`` and
# read the prototype's way: ``record["key"]``, ``"released_at" in record``,
# ``stats["count"]``, ``len(...)``, iteration, ``pytest.raises(match=...)`` on the
# prototype's wording. Where itest-shared deliberately differs (a [DEFECT] fixed, a
# clearer error), the test says so and checks the difference.
#
# The fixture tests (sections 2 and 6 to 16) run a suite written against the
# prototype's fixtures, unchanged, on the plugin: a worktree's conftest loads
# ``itest_shared.fixtures``, its ini states the prototype's config map (the
# project-specific defaults the prototype hard-coded), and its tests use every
# fixture the way the prototype's users did. Each pytester test runs one such
# module and requires every test in it to pass.

from __future__ import annotations

import textwrap

import pytest

# The prototype's project-specific defaults, stated once, as a migrated worktree does.
PROTOTYPE_INI = """
[pytest]
addopts = --strict-markers --strict-config -p no:cacheprovider
filterwarnings = error
asyncio_default_fixture_loop_scope = function
itest_module_map =
    chunk_types = chunker, languages
    parser_timeout = parser, factory
    cache_dir = cache, streaming
    num_workers = parallel
    plugin_dirs = plugin_manager
itest_module_fallback = parser chunker cache parallel plugin_manager
itest_key_match = substring
itest_workspace_prefix = chunker_test_
"""


def run_suite(worktree: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    worktree.makepyfile(test_prototype_style=textwrap.dedent(source))
    return worktree.runpytest_subprocess(*args, timeout=300)
