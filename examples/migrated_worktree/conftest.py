"""The worktree's conftest.py: this one line replaces the copied fixtures.py."""

pytest_plugins = ["itest_shared.fixtures"]
