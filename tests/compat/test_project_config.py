"""COMPAT section 4 and the ini keys: the observer knows the project's map; bad keys are refused."""

from __future__ import annotations

import time
from typing import Any

import pytest

from itest_shared import ConfigChangeObserver
from itest_shared.config import MODULE_MAP_ENV, ModuleMap
from tests.helpers import CONFTEST, PROTOTYPE_FALLBACK, PROTOTYPE_MAP


@pytest.fixture
def prototype_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's configuration as the plugin publishes it from the ini keys."""
    project = ModuleMap(PROTOTYPE_MAP, fallback=PROTOTYPE_FALLBACK, key_match="substring")
    monkeypatch.setenv(MODULE_MAP_ENV, project.to_json())


# --- section 4: ConfigChangeObserver ----------------------------------------------------


@pytest.mark.usefixtures("prototype_project")
def test_4_no_argument_observer_behaves_as_the_prototype_did_for_the_project() -> None:
    config = ConfigChangeObserver()
    assert config.get_affected_modules("chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("settings.parser_timeout") == ["parser", "factory"]
    assert config.get_affected_modules("x.cache_dir.y") == ["cache", "streaming"]
    assert config.get_affected_modules("num_workers_chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("cache") == PROTOTYPE_FALLBACK
    first = config.get_affected_modules("unmapped")
    first.append("x")  # a new list each call
    assert config.get_affected_modules("unmapped") == PROTOTYPE_FALLBACK
    # [DEFECT 11] fixed: the map's own lists are not handed out.
    config.get_affected_modules("num_workers").append("x")
    assert config.get_affected_modules("num_workers") == ["parallel"]


@pytest.mark.usefixtures("prototype_project")
def test_4_on_config_change_returns_the_logged_event_with_the_prototypes_keys() -> None:
    config = ConfigChangeObserver()
    seen: list[Any] = []
    assert config.register_observer(seen.append) is not None  # extra return value is fine
    before = time.time()
    event = config.on_config_change("parser_timeout", 10, 30)
    assert list(event) == [
        "config_path",
        "old_value",
        "new_value",
        "affected_modules",
        "timestamp",
    ]
    assert event["config_path"] == "parser_timeout"  # not "config_key"
    assert (event["old_value"], event["new_value"]) == (10, 30)
    assert event["affected_modules"] == ["parser", "factory"]
    assert before <= event["timestamp"] <= time.time()
    # Observers get the same event that was logged and returned.
    assert seen == [event] and seen[0] is event
    log = config.get_change_log()
    assert log == [event] and log[0] is event
    log.clear()  # a shallow copy
    assert config.get_change_log() == [event]


@pytest.mark.usefixtures("prototype_project")
def test_4_observers_run_in_registration_order_and_may_register_twice() -> None:
    config = ConfigChangeObserver()
    calls: list[str] = []

    def first(event: Any) -> None:
        calls.append("first")

    config.register_observer(first)
    config.register_observer(lambda event: calls.append("second"))
    config.register_observer(first)  # no de-duplication
    config.on_config_change("num_workers", 1, 2)
    assert calls == ["first", "second", "first"]


@pytest.mark.usefixtures("prototype_project")
def test_4_a_raising_observer_does_not_stop_the_others() -> None:
    # [DEFECT 12] fixed: the later observers are notified, and the failure is
    # kept (get_observer_errors) instead of propagating out of on_config_change.
    config = ConfigChangeObserver()
    later: list[Any] = []

    def broken(event: Any) -> None:
        raise RuntimeError("observer broke")

    config.register_observer(broken)
    config.register_observer(later.append)
    event = config.on_config_change("cache_dir", "/a", "/b")
    assert later == [event] and config.get_change_log() == [event]
    [failure] = config.get_observer_errors()
    assert failure["error_type"] == "RuntimeError"


def test_4_a_map_passed_explicitly_wins_over_the_projects(
    prototype_project: None,
) -> None:
    config = ConfigChangeObserver({"parser_timeout": ["chunker.parser"]})
    assert config.get_affected_modules("parser_timeout") == ["chunker.parser"]


# --- configuration errors name the ini key ------------------------------------------------


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("itest_module_map =\n    chunk_types chunker", "ini option itest_module_map: line 1"),
        ("itest_key_match = fuzzy", "ini option itest_key_match: key_match must be one of"),
        ("itest_workspace_prefix = a/b", "ini option itest_workspace_prefix: expected the start"),
    ],
)
def test_bad_configuration_is_a_usage_error_naming_the_key(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
