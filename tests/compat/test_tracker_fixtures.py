"""COMPAT sections 8, 9, 10 via the plugin: error, config, resource fixtures; leaks at teardown."""

from __future__ import annotations

import pytest

from tests.compat.support import run_suite

# --- sections 8, 9, 10: errors, config, resources ----------------------------------------------

TRACKERS = """
import pytest

from itest_shared import ConfigChangeObserver, ErrorTrackingContext, ResourceTracker


def test_error_tracking_context(error_tracking_context):
    assert isinstance(error_tracking_context, ErrorTrackingContext)
    handled = []
    error_tracking_context.register_handler("cli.main", handled.append)
    record = error_tracking_context.capture_and_propagate(
        "chunker.parser", "cli.main", ValueError("Parser timeout"))
    assert record["operation"] == "ErrorTrackingContext"
    assert record["source_module"] == "chunker.parser" and record["target_module"] == "cli.main"
    assert handled == [record]
    assert error_tracking_context.get_error_chain() == [record]
    assert error_tracking_context.captured_errors == [record]
    assert list(error_tracking_context.error_handlers) == ["cli.main"]
    error_tracking_context.verify_error_context(record, {"error_type": "ValueError"})


def test_error_tracking_context_as_a_with_block(error_tracking_context):
    with pytest.raises(ValueError):
        with error_tracking_context:
            raise ValueError("seen")
    assert error_tracking_context.get_error_chain()[-1]["error_message"] == "seen"


def test_config_change_tracker(config_change_tracker):
    assert isinstance(config_change_tracker, ConfigChangeObserver)
    mine = []
    config_change_tracker.register_observer(
        lambda event: mine.append(list(config_change_tracker.change_log)))
    event = config_change_tracker.on_config_change("settings.parser_timeout", 10, 30)
    assert event["config_path"] == "settings.parser_timeout"
    assert event["affected_modules"] == ["parser", "factory"]
    assert config_change_tracker.change_log == [event]
    assert config_change_tracker.change_log[0] is event
    assert config_change_tracker.get_change_log() == [event]
    assert mine == [[event]]  # the built-in observer ran first
    assert config_change_tracker.get_affected_modules("log_level") == [
        "parser", "chunker", "cache", "parallel", "plugin_manager"]


def test_a_no_argument_observer_knows_the_projects_map():
    config = ConfigChangeObserver()
    assert config.get_affected_modules("num_workers_chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("x.cache_dir.y") == ["cache", "streaming"]


def test_resource_monitor(resource_monitor):
    assert isinstance(resource_monitor, ResourceTracker)
    record = resource_monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345")
    assert record["state"] == "active" and "released_at" not in record
    resource_monitor.release_resource("worker_12345")
    assert record["state"] == "released" and "released_at" in record
    assert resource_monitor.get_resource_state("worker_12345")["state"] == "released"
    resource_monitor.assert_no_leaks("chunker.parallel")
    resource_monitor.assert_no_leaks()
    assert resource_monitor.verify_cleanup("chunker.parallel") == []


@pytest.mark.allow_resource_leaks
def test_assert_no_leaks_fails_with_the_prototypes_words(resource_monitor):
    resource_monitor.track_resource("chunker.parallel", "process", "worker_1")
    with pytest.raises(AssertionError, match="Module chunker.parallel leaked resources"):
        resource_monitor.assert_no_leaks("chunker.parallel")
    with pytest.raises(AssertionError, match="Found leaked resources"):
        resource_monitor.assert_no_leaks()
    assert [r["resource_id"] for r in resource_monitor.get_all_resources(state="active")] == [
        "worker_1"]
"""


def test_error_config_and_resource_fixtures(worktree: pytest.Pytester) -> None:
    run_suite(worktree, TRACKERS).assert_outcomes(passed=6)


def test_leaving_resources_active_fails_at_teardown_unless_marked(
    worktree: pytest.Pytester,
) -> None:
    """A behaviour difference: the prototype never checked at teardown; we do."""
    result = run_suite(
        worktree,
        """
        import pytest

        def test_forgets(resource_monitor):
            resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")

        @pytest.mark.allow_resource_leaks
        def test_means_to(resource_monitor):
            resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*1 resource leaked (still active at the end, never released):",
            "*cache.db (file_handle) owned by chunker.cache",
            "*mark the test @pytest.mark.allow_resource_leaks*",
        ]
    )
