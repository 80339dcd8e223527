"""The current run of the process, mirrored onto ``tracking.run``, ``config``
and ``summary``."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from typing import Any

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_active: list[Any] = []
_uncaught_exception = False
last_finished: Any = None


class Preinit:
    """Stands in for ``tracking.config`` and ``tracking.summary`` before ``init``."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _fail(self, *_args: Any, **_kwargs: Any) -> Any:
        raise _usage_error(f"tracking.{self._name}")

    __getitem__ = __setitem__ = __getattr__ = __setattr__ = update = _fail

    def __repr__(self) -> str:
        return f"<tracking.{self._name} before tracking.init()>"


def _usage_error(what: str) -> Exception:
    from tracking.errors import UsageError

    return UsageError(f"You must call tracking.init() before using {what}")


def _package() -> Any:
    return sys.modules["tracking"]


def current() -> Any:
    """Return the run that module-level calls act on, or None."""
    return _package().run


def activate(run: Any) -> None:
    with _lock:
        _active.append(run)
    package = _package()
    package.run = run
    package.config = run.config
    package.summary = run.summary


def track_only(run: Any) -> None:
    """Keep ``run`` for the exit hook without making it the current run."""
    with _lock:
        _active.append(run)


def forget(run: Any) -> None:
    global last_finished
    last_finished = run
    with _lock:
        if run in _active:
            _active.remove(run)
    package = _package()
    if package.run is run:
        package.run = None
        package.config = Preinit("config")
        package.summary = Preinit("summary")


def _excepthook(exc_type: Any, exc: Any, traceback: Any) -> None:
    global _uncaught_exception
    _uncaught_exception = True
    _previous_excepthook(exc_type, exc, traceback)


def _finish_at_exit() -> None:
    code = 1 if _uncaught_exception else 0
    for run in list(_active):
        try:
            run.finish(exit_code=code)
        except Exception:  # noqa: BLE001 - the interpreter is exiting
            logger.exception("finishing run %s at exit failed", run.id)


_previous_excepthook = sys.excepthook
sys.excepthook = _excepthook
atexit.register(_finish_at_exit)
