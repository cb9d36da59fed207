"""One call in a second thread, for the few steps of the indicator table that can overlap.

A thread is started per call, never kept in a pool, so that processes forked later (``evalkit batch``
forks its workers) inherit no idle worker.  Only worth it for work that runs mostly without the GIL
(numpy and scipy loops over large arrays).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def start(func: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``func(*args)`` in a new thread; return a function that waits for it and returns its result,
    or raises its exception in the caller's thread.

    >>> wait = start(sum, [1, 2, 3])
    >>> wait()
    6
    """
    result: list[Any] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            result.append(func(*args))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    worker = threading.Thread(target=run, name=f"evalkit-{getattr(func, '__name__', 'call')}")
    worker.start()

    def wait() -> T:
        worker.join()
        if failed:
            raise failed[0]
        return result[0]

    return wait


def join_quietly(wait: Callable[[], Any]) -> None:
    """Wait for a call started by :func:`start` and drop its result or error: for a caller that is already
    raising an error of its own and must not leave the thread running behind it."""
    try:
        wait()
    except BaseException:  # the caller's own error is the one to report
        pass
