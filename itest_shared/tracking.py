"""ErrorTrackingContext: capture cross-module errors, dispatch them to handlers, catch the uncaught.

While a context is active (``with ctx:`` or ``ctx.activate()``) it records, as
:class:`~itest_shared.formats.ErrorContext`\\ s in one chain:

* an exception leaving its ``with`` block (recorded, never suppressed);
* an exception that ends a thread (through ``threading.excepthook``);
* an unraisable exception, e.g. one raised in ``__del__`` (through ``sys.unraisablehook``);
* whatever ``record_uncaught()`` is handed: the parallel environment's failed
  workers and the async runner's failed tasks arrive that way.

Automatic captures use the target module :data:`UNCAUGHT_TARGET` (``"<uncaught>"``);
their source module says the route: ``"<with block>"``, ``"thread:<thread name>"``,
``"unraisable"``, or the ``source`` given to ``record_uncaught()``.

The hooks are process-wide, as Python's are: an active context sees the
uncaught exceptions of every thread. Each installed hook chains to the hook it
replaced, so pytest's own reporting of thread and unraisable exceptions keeps
working.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any, Literal

from . import _checks
from .errors import ErrorPropagationMixin, capture_error
from .formats import ErrorContext

__all__ = ["UNCAUGHT_TARGET", "ErrorHandler", "ErrorTrackingContext", "HandlerRecursionError"]

#: ``handler(context)``: called with every ErrorContext aimed at its module.
ErrorHandler = Callable[[ErrorContext], object]

#: The target module of every automatic capture. The angle brackets keep it from
#: ever being a dotted prefix of (or matched by) a real module name.
UNCAUGHT_TARGET = "<uncaught>"

# How deeply handlers may propagate errors from inside handlers, in one thread.
# A handler for "chunker" that propagates to "chunker.retry" re-triggers itself;
# without a bound that is an endless loop.
_MAX_DISPATCH_DEPTH = 32

# Installing or removing a hook reads and then writes a process-wide attribute;
# two contexts doing it at once in two threads would lose one of the writes.
_HOOKS_LOCK = threading.Lock()


class HandlerRecursionError(RuntimeError):
    """Handlers propagated errors from inside handlers too deeply: a handler re-triggers itself."""

    def __init__(self, target: str, depth: int) -> None:
        self.target = target
        self.depth = depth
        super().__init__(
            f"error handlers nested {depth} deep while propagating to target {target!r}:"
            " a handler keeps propagating errors to a module its own handlers match"
        )

    # Exceptions rebuild from ``args`` when unpickled; ours takes other arguments,
    # and it can cross process boundaries inside a recorded ErrorContext.
    def __reduce__(self) -> tuple[type[HandlerRecursionError], tuple[str, int]]:
        return type(self), (self.target, self.depth)


class _ChainedHook:
    """One activation's hook: records while its context is active, then calls the hook it replaced.

    Once deactivated (``record`` is None) it is a pure pass-through, so leaving
    it in a chain that someone else installed on top of is harmless.
    """

    __slots__ = ("previous", "record")

    def __init__(self, previous: Callable[[Any], object], record: Callable[[Any], None]) -> None:
        self.previous = previous
        self.record: Callable[[Any], None] | None = record

    def __call__(self, args: Any) -> None:
        record = self.record
        try:
            if record is not None:
                record(args)
        finally:
            # Always hand on: pytest's threadexception / unraisableexception
            # plugins report the error from the hook below ours.
            self.previous(args)


def _install(
    owner: types.ModuleType, attribute: str, record: Callable[[Any], None]
) -> _ChainedHook:
    with _HOOKS_LOCK:
        hook = _ChainedHook(getattr(owner, attribute), record)
        setattr(owner, attribute, hook)
    return hook


def _remove(owner: types.ModuleType, attribute: str, hook: _ChainedHook) -> None:
    with _HOOKS_LOCK:
        hook.record = None  # wherever it stays in a chain, it only passes on from now
        # Unlink every dead hook of ours, not just this one: contexts deactivated
        # out of order leave theirs under a live one, and a chain that only grows
        # would end in a RecursionError when an exception walks through it.
        current = getattr(owner, attribute)
        top = current
        while isinstance(top, _ChainedHook) and top.record is None:
            top = top.previous
        if top is not current:
            setattr(owner, attribute, top)
        node = top
        while isinstance(node, _ChainedHook):
            below = node.previous
            while isinstance(below, _ChainedHook) and below.record is None:
                below = below.previous
            if below is not node.previous:
                # A hook running right now calls the old or the new one: both pass on.
                node.previous = below
            node = below
        # We cannot see through a foreign hook: one installed on top of ours keeps
        # calling it, so ours stays there as a pass-through.


def _raised_in(error: BaseException) -> str | None:
    """Return ``module.qualname`` of the innermost frame of ``error``'s traceback, if any."""
    tb = error.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        # A broken __repr__ must not hide the error we are trying to record.
        return f"<unrepresentable {type(value).__name__} object>"


def _handler_name(handler: object) -> str:
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{getattr(handler, '__module__', None) or '?'}.{name}"


class ErrorTrackingContext(ErrorPropagationMixin):
    """Record cross-module and uncaught errors in one chain; call handlers by target module.

    Use it as ``with ErrorTrackingContext() as ctx:`` or call ``activate()`` and
    ``deactivate()`` (both idempotent; the ``error_tracking_context`` fixture does).
    Entering a context that is already active leaves it active on exit. All
    methods are thread-safe and may be called from any thread.

    Handlers: ``register_handler("chunker", h)`` makes ``h(context)`` run for every
    error whose target module is ``"chunker"`` or below it (``"chunker.parser"``),
    never ``"chunkers"``. They run in registration order, in the thread that
    captured the error, outside any lock (a handler may capture errors itself).
    A handler that raises does not stop the others; its exception is recorded in
    the chain with the handler as source and its module as target, and is not
    dispatched to handlers again, so a failing handler cannot loop.

    Only ``Exception``\\ s are captured automatically: ``KeyboardInterrupt``,
    ``SystemExit`` and pytest's skip/fail outcomes are control flow, not errors
    (Python's own thread hook ignores ``SystemExit`` too). ``record_uncaught()``
    records any exception it is handed, active or not.

    Nesting: an inner context's hooks chain to the outer's, so both record.
    Deactivating unlinks the context's hooks from the chain wherever they are
    among this package's hooks, so once every context is deactivated, in any
    order, the exact hooks found at the first activation are back. Foreign code
    that installed a hook on top of ours keeps calling ours: then ours stays
    there, as a pass-through that records nothing.

    .. versionadded:: 1.1
    """

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name must be a non-empty string or None, got {name!r}")
        self._name = type(self).__name__ if name is None else name
        # Reentrant: an unraisable exception (a __del__ run by the garbage
        # collector) can interrupt this very thread while it holds the lock, and
        # our hook then records through the same lock.
        self._lock = threading.RLock()
        self._chain: list[ErrorContext] = []
        self._handlers: list[tuple[str, ErrorHandler]] = []
        self._activation = threading.RLock()  # serialises activate / deactivate / with
        self._hooks: tuple[_ChainedHook, _ChainedHook] | None = None
        self._entered: list[bool] = []  # per open `with`: did its __enter__ activate?
        self._depth = threading.local()  # handler dispatch depth, per thread

    @property
    def name(self) -> str:
        """The default ``operation`` of ``capture_and_propagate`` (the class name unless given)."""
        return self._name

    @property
    def active(self) -> bool:
        """Whether uncaught exceptions are being captured now."""
        return self._hooks is not None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._name!r} active={self.active} errors={len(self._chain)}>"
        )

    # -- activation ---------------------------------------------------------------

    def activate(self) -> None:
        """Start capturing uncaught thread and unraisable exceptions; no-op if active."""
        with self._activation:
            if self._hooks is None:
                thread_hook = _install(threading, "excepthook", self._on_thread_exception)
                unraisable_hook = _install(sys, "unraisablehook", self._on_unraisable)
                self._hooks = (thread_hook, unraisable_hook)

    def deactivate(self) -> None:
        """Stop capturing and unlink this context's hooks (see Nesting above); no-op if inactive."""
        with self._activation:
            if self._hooks is not None:
                thread_hook, unraisable_hook = self._hooks
                self._hooks = None
                _remove(sys, "unraisablehook", unraisable_hook)
                _remove(threading, "excepthook", thread_hook)

    def __enter__(self) -> ErrorTrackingContext:
        with self._activation:
            self._entered.append(self._hooks is None)
            self.activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> Literal[False]:
        try:
            if isinstance(exc, Exception):
                self._capture("<with block>", UNCAUGHT_TARGET, exc, _raised_in(exc) or "with block")
        finally:
            with self._activation:
                if self._entered and self._entered.pop():
                    self.deactivate()
        return False  # recorded, never suppressed

    # -- capturing ------------------------------------------------------------------

    def capture_and_propagate(
        self, source: str, target: str, error: BaseException, *, operation: str | None = None
    ) -> ErrorContext:
        """Record ``error`` as having crossed from ``source`` to ``target``; call target's handlers.

        Returns the recorded ErrorContext; its ``operation`` is ``operation`` or
        this context's ``name``. Handlers run before this returns. Called from
        handlers 32 deep in one thread, it records the error and then raises
        HandlerRecursionError instead of calling handlers again.
        """
        _checks.module_name(source, "source")
        _checks.module_name(target, "target")
        if not isinstance(error, BaseException):
            raise TypeError(f"error must be an exception instance, got {error!r}")
        if operation is not None and not isinstance(operation, str):
            raise TypeError(f"operation must be a string or None, got {operation!r}")
        return self._capture(source, target, error, self._name if operation is None else operation)

    def record_uncaught(self, error: BaseException, source: str) -> ErrorContext:
        """Record an error nobody caught (a failed worker or task) from ``source``; thread-safe.

        The record's target is :data:`UNCAUGHT_TARGET`; its operation is where
        the error was raised (``module.function``), or ``"uncaught"`` when the
        error carries no traceback. Recorded whether or not the context is active:
        the caller decided it matters.
        """
        if not isinstance(error, BaseException):
            raise TypeError(f"error must be an exception instance, got {error!r}")
        _checks.module_name(source, "source")
        return self._capture(source, UNCAUGHT_TARGET, error, _raised_in(error) or "uncaught")

    def _capture(
        self, source: str, target: str, error: BaseException, operation: str
    ) -> ErrorContext:
        # skip=1: the stack starts at the public method that was called
        # (capture_and_propagate, a hook), not at this helper.
        context = capture_error(source, target, error, operation, skip=1)
        with self._lock:
            self._chain.append(context)
        self._dispatch(context)
        return context

    def _on_thread_exception(self, args: threading.ExceptHookArgs) -> None:
        error = args.exc_value
        if isinstance(error, Exception):
            thread = "<unknown>" if args.thread is None else args.thread.name
            self._capture(f"thread:{thread}", UNCAUGHT_TARGET, error, _raised_in(error) or thread)

    def _on_unraisable(self, args: sys.UnraisableHookArgs) -> None:
        error = args.exc_value
        if isinstance(error, Exception):
            # What Python itself prints: "Exception ignored in: <function C.__del__ ...>".
            operation = f"{args.err_msg or 'Exception ignored in'}: {_safe_repr(args.object)}"
            self._capture("unraisable", UNCAUGHT_TARGET, error, operation)

    # -- handlers ---------------------------------------------------------------------

    def register_handler(self, module: str, handler: ErrorHandler) -> ErrorHandler:
        """Call ``handler(context)`` for errors aimed at ``module`` or below it; returns handler."""
        _checks.module_name(module, "module", dotted=True)
        if not callable(handler):
            raise TypeError(f"handler must be callable (context) -> object, got {handler!r}")
        with self._lock:
            self._handlers.append((module, handler))
        return handler

    @property
    def error_handlers(self) -> dict[str, ErrorHandler]:
        """Module -> the handler registered last for it (a copy), the copied prototype's view.

        Every handler registered for a module still runs, in registration order;
        the prototype kept one per module. ``get_handlers()`` lists them all.

        .. versionadded:: 1.3
        """
        with self._lock:
            return dict(self._handlers)

    def get_handlers(self) -> list[tuple[str, ErrorHandler]]:
        """Every (module, handler) registration, in registration order (a copy).

        .. versionadded:: 1.3
        """
        with self._lock:
            return list(self._handlers)

    def unregister_handler(self, module: str, handler: ErrorHandler) -> None:
        """Remove one registration of ``handler`` for ``module``; ValueError if there is none."""
        with self._lock:
            try:
                self._handlers.remove((module, handler))
            except ValueError:
                raise ValueError(
                    f"handler {handler!r} is not registered for module {module!r}"
                ) from None

    def _dispatch(self, context: ErrorContext) -> None:
        target = context.target_module
        with self._lock:
            handlers = [
                (module, handler)
                for module, handler in self._handlers
                if target == module or target.startswith(module + ".")
            ]
        if not handlers:
            return
        depth: int = getattr(self._depth, "value", 0)
        if depth >= _MAX_DISPATCH_DEPTH:
            # Raised into the handler that propagated this: it is recorded as that
            # handler's failure, which is never dispatched, so the loop ends here.
            raise HandlerRecursionError(target, depth)
        self._depth.value = depth + 1
        try:
            for module, handler in handlers:
                try:
                    handler(context)
                except Exception as error:
                    failure = capture_error(
                        _handler_name(handler), module, error, f"error handler for {module!r}"
                    )
                    with self._lock:
                        self._chain.append(failure)
        finally:
            self._depth.value = depth

    # -- reading ------------------------------------------------------------------------

    def get_error_chain(self) -> list[ErrorContext]:
        """Return a copy of every recorded ErrorContext, in capture order."""
        with self._lock:
            return list(self._chain)

    @property
    def captured_errors(self) -> list[ErrorContext]:
        """A copy of the chain, under the name the earlier in-repo design used."""
        return self.get_error_chain()

    def clear(self) -> None:
        """Forget every recorded error; handlers and activation stay as they are."""
        with self._lock:
            self._chain.clear()
