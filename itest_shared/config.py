"""ConfigChangeObserver: log configuration changes and tell observers, in order."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import capture_error
from .formats import ConfigChangeEvent, ErrorContext

__all__ = ["ConfigChangeObserver", "ConfigChangeTracker", "Observer"]

Observer = Callable[[ConfigChangeEvent], object]


def _copy_module_map(module_map: Mapping[str, Iterable[str]] | None) -> dict[str, list[str]]:
    if module_map is None:
        return {}
    if not isinstance(module_map, Mapping):
        raise TypeError(f"module_map must map config keys to module names, got {module_map!r}")
    copied: dict[str, list[str]] = {}
    for key, modules in module_map.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"module_map keys must be non-empty strings, got {key!r}")
        if isinstance(modules, str) or not isinstance(modules, Iterable):
            raise TypeError(f"module_map[{key!r}] must be a list of module names, got {modules!r}")
        names = list(modules)
        bad = [name for name in names if not isinstance(name, str)]
        if bad:
            raise TypeError(f"module_map[{key!r}] must hold module names (str), got {bad[0]!r}")
        copied[key] = names
    return copied


class ConfigChangeObserver:
    """Record configuration changes and notify observers in change-log order.

    ``module_map`` maps config keys to the modules they affect; see
    :meth:`get_affected_modules` for how a key is looked up. ``None`` means an
    empty map. All methods are thread-safe.
    """

    def __init__(self, module_map: Mapping[str, Iterable[str]] | None = None) -> None:
        self._module_map = _copy_module_map(module_map)
        self._patterns = [(tuple(key.split(".")), key) for key in self._module_map]
        self._all_modules = list(dict.fromkeys(m for ms in self._module_map.values() for m in ms))
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
        return {key: list(modules) for key, modules in self._module_map.items()}

    def get_affected_modules(self, config_key: str) -> list[str]:
        """Return the modules a change of ``config_key`` affects.

        An exact key of the map wins. Otherwise every map key whose dotted
        segments appear as a run in ``config_key``'s segments contributes its
        modules, so ``languages.python.chunk_types`` is affected like
        ``chunk_types`` (and like ``languages.python``). A key that matches
        nothing is assumed to affect every module of the map: a change nobody
        mapped is treated as touching everything, never as touching nothing.
        """
        if not isinstance(config_key, str) or not config_key:
            raise TypeError(f"config_key must be a non-empty string, got {config_key!r}")
        exact = self._module_map.get(config_key)
        if exact is not None:
            return list(exact)
        segments = config_key.split(".")
        found: dict[str, None] = {}
        for start in range(len(segments)):
            for pattern, key in self._patterns:
                if tuple(segments[start : start + len(pattern)]) == pattern:
                    found.update(dict.fromkeys(self._module_map[key]))
        return list(found) if found else list(self._all_modules)

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

    def __init__(self, module_map: Mapping[str, Iterable[str]] | None = None) -> None:
        super().__init__(module_map)
        self.change_log: list[ConfigChangeEvent] = []
        self.register_observer(self.change_log.append)
