"""ConfigChangeObserver: affected modules, ordered notification, failing observers."""

from __future__ import annotations

import pytest

from itest_shared import ConfigChangeEvent, ConfigChangeObserver, ConfigChangeTracker, ModuleMap
from itest_shared.config import MODULE_MAP_ENV, parse_module_lines, project_module_map
from tests.helpers import PROTOTYPE_FALLBACK, PROTOTYPE_MAP, run_together

MODULE_MAP = {
    "parser_timeout": ["chunker.parser", "chunker.parallel"],
    "chunk_types": ["chunker.chunker"],
    "languages": ["chunker.languages"],
    "languages.python": ["chunker.languages.python"],
    "cache.dir": ["chunker.cache"],
}


@pytest.fixture
def observer() -> ConfigChangeObserver:
    return ConfigChangeObserver(MODULE_MAP)


def test_exact_key_wins(observer: ConfigChangeObserver) -> None:
    assert observer.get_affected_modules("parser_timeout") == ["chunker.parser", "chunker.parallel"]
    assert observer.get_affected_modules("languages") == ["chunker.languages"]


def test_dotted_paths_are_affected_like_their_segments(observer: ConfigChangeObserver) -> None:
    assert observer.get_affected_modules("languages.python.chunk_types") == [
        "chunker.languages",
        "chunker.languages.python",
        "chunker.chunker",
    ]
    assert observer.get_affected_modules("plugins.chunk_types") == ["chunker.chunker"]
    # A dotted map key matches only as a whole run of segments.
    assert observer.get_affected_modules("cache.dir.size") == ["chunker.cache"]
    assert observer.get_affected_modules("dir.cache") != ["chunker.cache"]


def test_unknown_key_affects_every_module_of_the_map(observer: ConfigChangeObserver) -> None:
    assert observer.get_affected_modules("log_level") == [
        "chunker.parser",
        "chunker.parallel",
        "chunker.chunker",
        "chunker.languages",
        "chunker.languages.python",
        "chunker.cache",
    ]
    assert ConfigChangeObserver().get_affected_modules("anything") == []


def test_module_map_is_copied_and_validated() -> None:
    source = {"a": ["m1"]}
    observer = ConfigChangeObserver(source)
    source["a"].append("m2")
    assert observer.get_affected_modules("a") == ["m1"]
    observer.module_map["a"].append("m3")
    assert observer.get_affected_modules("a") == ["m1"]
    with pytest.raises(TypeError, match=r"module_map\['a'\]"):
        ConfigChangeObserver({"a": "chunker.parser"})
    with pytest.raises(TypeError, match=r"module_map\['a'\]"):
        ConfigChangeObserver({"a": [1]})
    with pytest.raises(TypeError, match="keys"):
        ConfigChangeObserver({3: ["m"]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="module_map"):
        ConfigChangeObserver(["a"])  # type: ignore[arg-type]


def test_change_is_recorded_returned_and_observed(observer: ConfigChangeObserver) -> None:
    seen: list[ConfigChangeEvent] = []
    observer.register_observer(seen.append)
    event = observer.on_config_change("parser_timeout", 5, 10)
    assert isinstance(event, ConfigChangeEvent)
    assert event["config_path"] == "parser_timeout"
    assert (event.old_value, event.new_value) == (5, 10)
    assert event.affected_modules == ["chunker.parser", "chunker.parallel"]
    assert seen == [event]
    log = observer.get_change_log()
    assert log == [event]
    log.clear()
    assert observer.get_change_log() == [event]  # a copy


def test_unregistered_observers_are_not_called(observer: ConfigChangeObserver) -> None:
    seen: list[ConfigChangeEvent] = []
    observer.register_observer(seen.append)
    observer.on_config_change("a", 1, 2)
    observer.unregister_observer(seen.append)
    observer.on_config_change("a", 2, 3)
    assert len(seen) == 1
    with pytest.raises(ValueError, match="not a registered observer"):
        observer.unregister_observer(seen.append)
    with pytest.raises(TypeError, match="callback"):
        observer.register_observer("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config_key"):
        observer.on_config_change(None, 1, 2)  # type: ignore[arg-type]
    assert len(observer.get_change_log()) == 2  # the bad call recorded nothing


def test_a_raising_observer_stops_nobody_and_loses_nothing(observer: ConfigChangeObserver) -> None:
    first: list[str] = []
    last: list[str] = []

    def broken(event: ConfigChangeEvent) -> None:
        raise RuntimeError(f"observer broke on {event.config_path}")

    observer.register_observer(lambda e: first.append(e.config_path))
    observer.register_observer(broken)
    observer.register_observer(lambda e: last.append(e.config_path))
    observer.on_config_change("a", 1, 2)
    observer.on_config_change("b", 1, 2)
    assert first == last == ["a", "b"]
    assert [e.config_path for e in observer.get_change_log()] == ["a", "b"]
    errors = observer.get_observer_errors()
    assert [e.error_message for e in errors] == ["observer broke on a", "observer broke on b"]
    assert errors[0].error_type == "RuntimeError"
    assert errors[0].source_module.endswith("broken")
    assert errors[0].target_module == "itest_shared.config"
    assert "RuntimeError: observer broke on a" in "".join(errors[0].context_data["traceback"])


def test_observer_changing_config_keeps_every_observer_in_log_order(
    observer: ConfigChangeObserver,
) -> None:
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def first(event: ConfigChangeEvent) -> None:
        seen["first"].append(event.config_path)
        if event.config_path == "outer":
            observer.on_config_change("nested", 0, 1)

    observer.register_observer(first)
    observer.register_observer(lambda e: seen["second"].append(e.config_path))
    observer.on_config_change("outer", 0, 1)
    log = [e.config_path for e in observer.get_change_log()]
    assert log == ["outer", "nested"]
    assert seen == {"first": log, "second": log}


def test_under_contention_observers_see_exactly_the_log_in_order(contention: None) -> None:
    """16 threads x 2,000 changes: nothing lost, duplicated or reordered, for every observer."""
    observer = ConfigChangeObserver({"k": ["m"]})
    seen_a: list[ConfigChangeEvent] = []
    seen_b: list[ConfigChangeEvent] = []
    delivered: set[int] = set()
    undelivered_on_return: list[ConfigChangeEvent] = []
    observer.register_observer(seen_a.append)
    observer.register_observer(seen_b.append)
    observer.register_observer(lambda e: delivered.add(id(e)))

    def run(index: int) -> None:
        for n in range(2000):
            event = observer.on_config_change(f"k.t{index}", n, n + 1)
            if id(event) not in delivered:  # back from the call, observers have seen it
                undelivered_on_return.append(event)

    run_together(run)
    log = observer.get_change_log()
    assert len(log) == 32_000
    assert undelivered_on_return == []
    assert [id(e) for e in seen_a] == [id(e) for e in log]
    assert [id(e) for e in seen_b] == [id(e) for e in log]
    for index in range(16):
        mine = [e.old_value for e in log if e.config_path == f"k.t{index}"]
        assert mine == list(range(2000))
    assert len({e.record_id for e in log}) == 32_000


def test_tracker_fills_its_change_log_list() -> None:
    tracker = ConfigChangeTracker(MODULE_MAP)
    first = tracker.on_config_change("parser_timeout", 5, 10)
    second = tracker.on_config_change("chunk_types", [], ["class"])
    assert tracker.change_log == [first, second] == tracker.get_change_log()
    assert tracker.change_log is not tracker.get_change_log()
    assert ConfigChangeTracker().get_affected_modules("x") == []


# --- the project's module map (1.3) ------------------------------------------------


def test_substring_rule_is_the_prototypes_first_key_in_map_order() -> None:
    lookup = ModuleMap(PROTOTYPE_MAP, fallback=PROTOTYPE_FALLBACK, key_match="substring")
    assert lookup.affected_modules("parser_timeout") == ["parser", "factory"]
    assert lookup.affected_modules("settings.parser_timeout") == ["parser", "factory"]
    assert lookup.affected_modules("x.cache_dir.y") == ["cache", "streaming"]
    # Map order decides, not the position in the key.
    assert lookup.affected_modules("num_workers_chunk_types") == ["chunker", "languages"]
    # The direction matters: a map key inside the config key, not the reverse.
    assert lookup.affected_modules("cache") == PROTOTYPE_FALLBACK
    assert lookup.affected_modules("Parser_Timeout") == PROTOTYPE_FALLBACK  # case-sensitive
    first, second = lookup.affected_modules("nothing"), lookup.affected_modules("nothing")
    first.append("mutated")
    assert second == PROTOTYPE_FALLBACK and lookup.affected_modules("nothing") == second
    lookup.affected_modules("num_workers").append("mutated")  # defect 11: a copy
    assert lookup.modules["num_workers"] == ["parallel"]


def test_segment_rule_with_a_fallback() -> None:
    lookup = ModuleMap(MODULE_MAP, fallback=["everything"])
    assert lookup.key_match == "segments"
    assert lookup.affected_modules("plugins.chunk_types") == ["chunker.chunker"]
    assert lookup.affected_modules("xparser_timeout") == ["everything"]  # no substring match


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"modules": {"a": "m"}}, TypeError, r"module_map\['a'\] must be a list"),
        ({"modules": {"a": [""]}}, TypeError, "non-empty module names"),
        ({"modules": ["a"]}, TypeError, "module_map must map"),
        ({"fallback": "parser"}, TypeError, "fallback must be a list"),
        ({"fallback": [3]}, TypeError, r"fallback must hold non-empty module names \(str\), got 3"),
        ({"key_match": "prefix"}, ValueError, "key_match must be one of segments, substring"),
    ],
)
def test_module_map_refuses_bad_input_by_name(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ModuleMap(**kwargs)  # type: ignore[arg-type]


def test_no_map_means_the_projects_map_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MODULE_MAP_ENV, raising=False)
    assert project_module_map() is None
    assert ConfigChangeObserver().get_affected_modules("parser_timeout") == []
    project = ModuleMap(PROTOTYPE_MAP, fallback=PROTOTYPE_FALLBACK, key_match="substring")
    monkeypatch.setenv(MODULE_MAP_ENV, project.to_json())
    assert project_module_map() == project
    observer = ConfigChangeTracker()
    assert observer.lookup == project
    event = observer.on_config_change("settings.parser_timeout", 1, 2)
    assert event["affected_modules"] == ["parser", "factory"]
    assert observer.get_affected_modules("log_level") == PROTOTYPE_FALLBACK
    # A map given explicitly wins, and comes without the project's rules.
    assert ConfigChangeObserver({"a": ["m"]}).get_affected_modules("settings.parser_timeout") == [
        "m"
    ]
    # The project's map with one rule overridden.
    assert ConfigChangeObserver(key_match="segments").get_affected_modules("x.cache_dir") == [
        "cache",
        "streaming",
    ]
    assert ConfigChangeObserver(fallback=[]).get_affected_modules("log_level") == []


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("{not json", "not JSON"),
        ("[1]", "expected a JSON object"),
        ('{"modules": {"a": "m"}}', "must be a list of module names"),
        ('{"mods": {}}', "unknown key 'mods'"),
        ('{"key_match": "fuzzy"}', "key_match must be one of"),
    ],
)
def test_a_bad_environment_map_is_named(
    monkeypatch: pytest.MonkeyPatch, value: str, match: str
) -> None:
    monkeypatch.setenv(MODULE_MAP_ENV, value)
    with pytest.raises(ValueError, match=f"{MODULE_MAP_ENV} is not a module map: .*{match}"):
        ConfigChangeObserver()


def test_ini_lines_parse_into_an_ordered_map() -> None:
    lines = [
        "chunk_types = chunker, languages",
        "",
        "# a comment",
        "  parser_timeout=parser factory  ",
        "plugin_dirs =",
    ]
    parsed = parse_module_lines(lines)
    assert parsed == {
        "chunk_types": ["chunker", "languages"],
        "parser_timeout": ["parser", "factory"],
        "plugin_dirs": [],
    }
    assert list(parsed) == ["chunk_types", "parser_timeout", "plugin_dirs"]
    with pytest.raises(ValueError, match=r"line 2 'parser_timeout': expected 'config_key = "):
        parse_module_lines(["a = b", "parser_timeout"])
    with pytest.raises(ValueError, match="line 1 '= parser'"):
        parse_module_lines(["= parser"])
    with pytest.raises(ValueError, match="line 2: config key 'a' is listed twice"):
        parse_module_lines(["a = b", "a = c"])
