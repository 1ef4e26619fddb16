"""Keep every Resolve call on the UIManager dialog's own thread while the work runs in a worker thread.

Blackmagic's scripting README says nothing about calling the API from other threads, and public UIManager
tools make their Resolve calls from the dispatcher's callbacks (button handlers, ``ui.Timer`` timeouts). So the
dialog's worker thread talks to Resolve only through :class:`UiThreadProxy`: each call is queued, and
:meth:`UiCalls.pump` -- called from the dialog's timer callback, on the UI thread -- makes it and hands the
result back. Only the colourisation (a subprocess of the venv's Python) and the waiting run in the worker.

Standard library only: this runs in Resolve's own Python.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_PLAIN = (str, bytes, int, float, bool, type(None))


class UiThreadClosed(RuntimeError):
    """The dialog closed while a worker waited for a Resolve call."""


class UiCalls:
    """The queue of Resolve calls waiting for the UI thread (the thread that makes this object)."""

    def __init__(self) -> None:
        self.ui_thread = threading.current_thread()
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple, dict, dict, threading.Event]] = queue.Queue()
        self.closed = False

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Make ``fn(*args, **kwargs)`` on the UI thread and return its result (or raise its exception)."""
        if threading.current_thread() is self.ui_thread:
            return fn(*args, **kwargs)
        box: dict[str, Any] = {}
        done = threading.Event()
        self._queue.put((fn, args, kwargs, box, done))
        while not done.wait(0.05):
            if self.closed:
                raise UiThreadClosed("the Kinochrome dialog closed")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def pump(self, budget: float = 0.2) -> int:
        """On the UI thread: make the queued calls, and those that follow at once, for up to ``budget`` s."""
        ran = 0
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            try:
                fn, args, kwargs, box, done = self._queue.get(timeout=0.01)
            except queue.Empty:
                if ran:
                    break
                continue
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the worker that asked
                box["error"] = exc
            done.set()
            ran += 1
        return ran

    def close(self) -> None:
        self.closed = True


def _unwrap(value: Any) -> Any:
    if isinstance(value, UiThreadProxy):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value: Any, calls: UiCalls) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list):
        return [_wrap(v, calls) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrap(v, calls) for v in value)
    if isinstance(value, dict):
        return {k: _wrap(v, calls) for k, v in value.items()}
    return UiThreadProxy(value, calls)


class UiThreadProxy:
    """A Resolve object whose method calls are made on the UI thread; the objects they return are proxied too."""

    def __init__(self, target: Any, calls: UiCalls) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_calls", calls)

    def __getattr__(self, name: str) -> Any:
        target = object.__getattribute__(self, "_target")
        calls: UiCalls = object.__getattribute__(self, "_calls")
        attr = calls.call(getattr, target, name)
        if not callable(attr):
            return _wrap(attr, calls)

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(calls.call(attr, *_unwrap(args), **_unwrap(kwargs)), calls)

        return method

    def __repr__(self) -> str:
        return f"<on the UI thread: {object.__getattribute__(self, '_target')!r}>"
