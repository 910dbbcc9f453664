"""ConfigChangeObserver: log configuration changes and tell observers, in order.

Which modules a change affects comes from a config-key -> modules map. A
project states its map once (the pytest plugin's ini keys ``itest_module_map``,
``itest_module_fallback`` and ``itest_key_match``, or the environment variable
``ITEST_SHARED_MODULE_MAP``), and then ``ConfigChangeObserver()`` without
arguments uses it, in the test process and in every worker it starts.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from .errors import capture_error
from .formats import ConfigChangeEvent, ErrorContext

__all__ = [
    "KEY_MATCHES",
    "MODULE_MAP_ENV",
    "ConfigChangeObserver",
    "ConfigChangeTracker",
    "ModuleMap",
    "Observer",
    "parse_module_lines",
    "project_module_map",
]

Observer = Callable[[ConfigChangeEvent], object]

#: How a config key that is not in the map is looked up (see :class:`ModuleMap`).
KEY_MATCHES: Final = ("segments", "substring")
#: The environment variable that carries the project's module map (JSON) to
#: ``ConfigChangeObserver()`` in this process and in the processes it starts.
MODULE_MAP_ENV: Final = "ITEST_SHARED_MODULE_MAP"


def _copy_module_map(module_map: object) -> dict[str, list[str]]:
    if not isinstance(module_map, Mapping):
        raise TypeError(f"module_map must map config keys to module names, got {module_map!r}")
    copied: dict[str, list[str]] = {}
    for key, modules in module_map.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"module_map keys must be non-empty strings, got {key!r}")
        if isinstance(modules, str) or not isinstance(modules, Iterable):
            raise TypeError(f"module_map[{key!r}] must be a list of module names, got {modules!r}")
        copied[key] = _module_names(f"module_map[{key!r}]", modules)
    return copied


def _module_names(name: str, modules: Iterable[object]) -> list[str]:
    names = list(modules)
    bad = [module for module in names if not isinstance(module, str) or not module]
    if bad:
        raise TypeError(f"{name} must hold non-empty module names (str), got {bad[0]!r}")
    return [str(module) for module in names]


def _copy_fallback(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"fallback must be a list of module names or None, got {value!r}")
    return tuple(_module_names("fallback", value))


def _check_key_match(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in KEY_MATCHES:
        raise ValueError(f"key_match must be one of {', '.join(KEY_MATCHES)}, got {value!r}")


@attrs.frozen
class ModuleMap:
    """A project's config-key -> modules map, and how a key is looked up in it.

    An exact key of ``modules`` always wins. For any other key, ``key_match``
    says which map keys apply:

    * ``"segments"`` (the default): every map key whose dotted segments appear
      as a run in the key's segments contributes its modules, so
      ``languages.python.chunk_types`` is affected like ``chunk_types``;
    * ``"substring"`` (the copied prototype's rule): the *first* map key, in map
      order, that occurs anywhere in the key as a substring wins, alone
      (``settings.parser_timeout`` is affected like ``parser_timeout``).

    A key that matches nothing affects ``fallback``, or every module of the
    map when ``fallback`` is None: a change nobody mapped is treated as
    touching everything, never as touching nothing. Lists returned are new
    lists: changing one changes nothing here.

    .. versionadded:: 1.3
    """

    modules: dict[str, list[str]] = attrs.field(factory=dict, converter=_copy_module_map)
    fallback: tuple[str, ...] | None = attrs.field(default=None, converter=_copy_fallback)
    key_match: str = attrs.field(default="segments", validator=_check_key_match)
    # Derived once, not per lookup (every on_config_change looks a key up).
    _patterns: tuple[tuple[tuple[str, ...], list[str]], ...] = attrs.field(
        init=False, eq=False, repr=False
    )
    _all_modules: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        patterns = tuple((tuple(key.split(".")), ms) for key, ms in self.modules.items())
        every = tuple(dict.fromkeys(m for ms in self.modules.values() for m in ms))
        object.__setattr__(self, "_patterns", patterns)
        object.__setattr__(self, "_all_modules", every)

    def affected_modules(self, config_key: str) -> list[str]:
        """Return the modules a change of ``config_key`` affects (a new list)."""
        if not isinstance(config_key, str) or not config_key:
            raise TypeError(f"config_key must be a non-empty string, got {config_key!r}")
        exact = self.modules.get(config_key)
        if exact is not None:
            return list(exact)
        if self.key_match == "substring":
            for key, modules in self.modules.items():
                if key in config_key:
                    return list(modules)
            return self._fallback()
        segments = config_key.split(".")
        found: dict[str, None] = {}
        for start in range(len(segments)):
            for pattern, modules in self._patterns:
                if tuple(segments[start : start + len(pattern)]) == pattern:
                    found.update(dict.fromkeys(modules))
        return list(found) if found else self._fallback()

    def _fallback(self) -> list[str]:
        return list(self._all_modules if self.fallback is None else self.fallback)

    def to_json(self) -> str:
        """The JSON text ``ITEST_SHARED_MODULE_MAP`` holds: modules, fallback, key_match."""
        fallback = None if self.fallback is None else list(self.fallback)
        return json.dumps(
            {"modules": self.modules, "fallback": fallback, "key_match": self.key_match}
        )

    @classmethod
    def from_json(cls, text: str) -> ModuleMap:
        """Rebuild a ModuleMap from ``to_json()`` text; ValueError/TypeError name what is wrong."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f"not JSON ({error})") from None
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {data!r}")
        unknown = sorted(set(data) - {"modules", "fallback", "key_match"})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}; keys: modules, fallback, key_match")
        return cls(
            modules=data.get("modules", {}),
            fallback=data.get("fallback"),
            key_match=data.get("key_match", "segments"),
        )


@functools.lru_cache(maxsize=8)
def _parse_env(text: str) -> ModuleMap:
    try:
        return ModuleMap.from_json(text)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"environment variable {MODULE_MAP_ENV} is not a module map: {error}"
        ) from None


def project_module_map() -> ModuleMap | None:
    """The project's module map, as the pytest plugin (or the environment) states it; or None.

    Read from the environment variable ``ITEST_SHARED_MODULE_MAP`` (JSON, see
    :meth:`ModuleMap.to_json`), which the plugin sets from the ini keys for the
    test run, so worker processes see it under every start method. Outside
    pytest, set the variable yourself.

    .. versionadded:: 1.3
    """
    text = os.environ.get(MODULE_MAP_ENV)
    return None if not text else _parse_env(text)


_MODULE_SEPARATORS = re.compile(r"[,\s]+")


def parse_module_lines(lines: Sequence[str]) -> dict[str, list[str]]:
    """Parse the ini key ``itest_module_map``: one ``config_key = module, module`` per line.

    Modules are separated by commas and/or spaces; a key with nothing after
    ``=`` affects no module. Blank lines and lines starting with ``#`` are
    skipped. ValueError names the line (1-based) and what is wrong with it.

    .. versionadded:: 1.3
    """
    parsed: dict[str, list[str]] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, rest = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValueError(
                f"line {number} {raw.strip()!r}: expected 'config_key = module, module ...'"
            )
        if key in parsed:
            raise ValueError(f"line {number}: config key {key!r} is listed twice")
        parsed[key] = [name for name in _MODULE_SEPARATORS.split(rest.strip()) if name]
    return parsed


def _resolve_map(
    module_map: Mapping[str, Iterable[str]] | ModuleMap | None,
    fallback: Iterable[str] | None,
    key_match: str | None,
) -> ModuleMap:
    if isinstance(module_map, ModuleMap):
        base = module_map
    elif module_map is not None:
        # A map given here wins over the project's, and comes without its rules.
        base = ModuleMap(module_map)  # its converter copies and checks the map
    else:
        base = project_module_map() or ModuleMap()
    if fallback is None and key_match is None:
        return base
    return ModuleMap(
        base.modules,
        fallback=base.fallback if fallback is None else fallback,
        key_match=base.key_match if key_match is None else key_match,
    )


class ConfigChangeObserver:
    """Record configuration changes and notify observers in change-log order.

    ``module_map`` maps config keys to the modules they affect (a mapping or a
    :class:`ModuleMap`); see :meth:`get_affected_modules` for how a key is
    looked up. Without it, the project's map (:func:`project_module_map`) is
    used, with its fallback and key_match; no project map means an empty map.
    ``fallback`` and ``key_match`` given here override the map's. All methods
    are thread-safe.

    .. versionchanged:: 1.3 no map means the project's configured map;
       ``fallback`` and ``key_match``.
    """

    def __init__(
        self,
        module_map: Mapping[str, Iterable[str]] | ModuleMap | None = None,
        *,
        fallback: Iterable[str] | None = None,
        key_match: str | None = None,
    ) -> None:
        self._map = _resolve_map(module_map, fallback, key_match)
        self._lock = threading.Condition(threading.Lock())
        self._log: list[ConfigChangeEvent] = []
        self._observers: list[Observer] = []
        self._observer_errors: list[ErrorContext] = []
        # Delivery: events wait in `_pending` (log order) and one thread at a
        # time, the deliverer, hands them to the observers. Holding no lock while
        # observers run lets them read the log or change config themselves.
        self._pending: deque[ConfigChangeEvent] = deque()
        self._deliverer: int | None = None
        self._delivered = 0

    @property
    def module_map(self) -> dict[str, list[str]]:
        """A copy of the config-key -> modules map."""
        return {key: list(modules) for key, modules in self._map.modules.items()}

    @property
    def lookup(self) -> ModuleMap:
        """The map with its lookup rules (fallback, key_match) this observer uses.

        .. versionadded:: 1.3
        """
        return self._map

    def get_affected_modules(self, config_key: str) -> list[str]:
        """Return the modules a change of ``config_key`` affects (a new list).

        An exact key of the map wins; other keys are looked up by the map's
        ``key_match`` rule, and a key that matches nothing affects the fallback
        (every module of the map unless a fallback is given). See
        :class:`ModuleMap`.
        """
        return self._map.affected_modules(config_key)

    def register_observer(self, callback: Observer) -> Observer:
        """Call ``callback(event)`` on every later change; returns it (usable as a decorator)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with self._lock:
            self._observers.append(callback)
        return callback

    def unregister_observer(self, callback: Observer) -> None:
        """Stop calling ``callback``; ValueError if it was not registered."""
        with self._lock:
            try:
                self._observers.remove(callback)
            except ValueError:
                raise ValueError(f"callback {callback!r} is not a registered observer") from None

    def on_config_change(
        self, config_key: str, old_value: Any, new_value: Any
    ) -> ConfigChangeEvent:
        """Record a change, notify the observers, and return the event.

        Observers see events in exactly the order of the change log, even when
        many threads change config at once. When this returns, the observers
        have seen the event, except when an observer itself changes config: its
        event is delivered right after the one being delivered.
        """
        event = ConfigChangeEvent(
            config_path=config_key,
            old_value=old_value,
            new_value=new_value,
            affected_modules=self.get_affected_modules(config_key),
            timestamp=time.time(),
        )
        me = threading.get_ident()
        with self._lock:
            self._log.append(event)
            self._pending.append(event)
            position = len(self._log)
            if self._deliverer == me:
                return event  # an observer's own change: the loop below delivers it next
            while self._deliverer is not None and self._delivered < position:
                self._lock.wait()
            if self._delivered >= position:
                return event
            self._deliverer = me
        self._deliver()
        return event

    def _deliver(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        return
                    event = self._pending.popleft()
                    observers = tuple(self._observers)
                for observer in observers:
                    self._notify(observer, event)
                with self._lock:
                    self._delivered += 1
                    self._lock.notify_all()
        finally:
            with self._lock:
                self._deliverer = None
                self._lock.notify_all()

    def _notify(self, observer: Observer, event: ConfigChangeEvent) -> None:
        try:
            observer(event)
        except Exception as error:
            # One broken observer must neither silence the others nor lose the
            # event; its failure is kept for the test to inspect.
            name = getattr(observer, "__qualname__", type(observer).__qualname__)
            context = capture_error(
                source_module=f"{getattr(observer, '__module__', None) or '?'}.{name}",
                target_module=__name__,
                error=error,
                operation=f"notify observer of {event.config_path!r}",
            )
            with self._lock:
                self._observer_errors.append(context)

    def get_change_log(self) -> list[ConfigChangeEvent]:
        """Return a copy of the change log, oldest first."""
        with self._lock:
            return list(self._log)

    def get_observer_errors(self) -> list[ErrorContext]:
        """Return the failures of observers so far, as ErrorContexts, oldest first."""
        with self._lock:
            return list(self._observer_errors)


class ConfigChangeTracker(ConfigChangeObserver):
    """A ConfigChangeObserver whose ``change_log`` list is filled by its own observer.

    ``change_log`` is the list the ``config_change_tracker`` fixture's users
    read directly; ``get_change_log()`` still returns a copy.

    .. versionadded:: 1.1
    """

    def __init__(
        self,
        module_map: Mapping[str, Iterable[str]] | ModuleMap | None = None,
        *,
        fallback: Iterable[str] | None = None,
        key_match: str | None = None,
    ) -> None:
        super().__init__(module_map, fallback=fallback, key_match=key_match)
        self.change_log: list[ConfigChangeEvent] = []
        self.register_observer(self.change_log.append)
