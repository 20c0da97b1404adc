"""``Shutdown``: what ``EventManager.shutdown()`` returns, usable from sync and async code alike.

    ok = manager.shutdown()          # sync code: delivers what is queued, then stops
    ok = await manager.shutdown()    # async code (vision-agents' habit): the same, awaited

It is true when everything sent was delivered. Called with an event loop running in
the thread, ``shutdown()`` refuses new events at once and leaves the waiting to the
``await``; without one, the work is done before it returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

__all__ = ["Shutdown"]


class Shutdown:
    """The outcome of a shutdown: true if every event sent was delivered; awaitable."""

    __slots__ = ("_finish", "_ok")

    def __init__(self, ok: bool | None, finish: Callable[[], Awaitable[bool]] | None = None) -> None:
        self._ok = ok
        self._finish = finish

    def __bool__(self) -> bool:
        return bool(self._ok)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (bool, Shutdown)):
            return bool(self) == bool(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, Any, bool]:
        finish, self._finish = self._finish, None
        if finish is not None:
            self._ok = yield from finish().__await__()
        return bool(self._ok)

    def __repr__(self) -> str:
        state = "pending" if self._ok is None else f"delivered={bool(self._ok)}"
        return f"<Shutdown {state}>"
