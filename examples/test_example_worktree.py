"""An example suite written the way a worktree uses itest-shared.

Run it with ``python -m pytest examples`` after ``python -m pip install .``.
"""

from __future__ import annotations

import pytest

from itest_shared import (
    ConfigChangeEvent,
    ConfigChangeObserver,
    ErrorContext,
    ErrorPropagationMixin,
    ResourceTracker,
    load_record,
)

# In a real worktree this map lives next to the code, one per project.
MODULE_MAP = {
    "parser_timeout": ["chunker.parser", "chunker.parallel"],
    "chunk_types": ["chunker.chunker"],
}


class TestCrossModuleErrors(ErrorPropagationMixin):
    def test_error_propagation(self) -> None:
        error = ValueError("Parser timeout")
        context = self.capture_cross_module_error(
            source_module="chunker.parser", target_module="cli.main", error=error
        )
        self.verify_error_context(
            context, {"source_module": "chunker.parser", "error_type": "ValueError"}
        )
        assert "traceback" in context["context_data"]

    def test_a_record_travels_to_another_worktree_as_one_json_line(self) -> None:
        try:
            try:
                raise TimeoutError("read timed out")
            except TimeoutError as exc:
                raise ValueError("Parser timeout") from exc
        except ValueError as exc:
            context = self.capture_cross_module_error("chunker.parser", "cli.main", exc)
        line = context.to_json()  # what another worktree would read
        loaded = load_record(line)
        assert isinstance(loaded, ErrorContext)
        assert loaded == context
        assert loaded.error_info is not None
        assert [e.type_name for e in loaded.error_info.walk()] == ["ValueError", "TimeoutError"]


def test_resource_cleanup() -> None:
    resources = ResourceTracker()
    resources.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345"
    )
    resources.release_resource("worker_12345")
    assert resources.verify_cleanup("chunker.parallel") == []
    state = resources.get_resource_state("worker_12345")
    assert state is not None and state["state"] == "released" and "released_at" in state


def test_config_changes_reach_observers() -> None:
    config = ConfigChangeObserver(MODULE_MAP)
    seen: list[ConfigChangeEvent] = []
    config.register_observer(seen.append)
    config.on_config_change("languages.python.chunk_types", ["function"], ["function", "class"])
    assert seen[0]["affected_modules"] == ["chunker.chunker"]
    assert config.get_change_log() == seen


@pytest.mark.parametrize("leftover", [True, False])
def test_leaks_are_found(leftover: bool) -> None:
    resources = ResourceTracker()
    resources.track_resource("chunker.cache", "file_handle", "cache.db")
    if not leftover:
        resources.release_resource("cache.db")
    leaked = resources.mark_leaked()
    assert [r.resource_id for r in leaked] == (["cache.db"] if leftover else [])
