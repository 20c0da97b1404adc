"""The run used when nobody listens: no events, but a place in the run tree."""

from __future__ import annotations

from contextvars import Token
from typing import Any, ClassVar

from llmhooks._validate import check_metadata, check_tags
from llmhooks.core.runs.base import RunLike
from llmhooks.core.scope import _current
from llmhooks.events._ids import new_run_id, new_trace_id

__all__ = ["NoopRun", "noop_run"]


class NoopRun:
    """The run used when nobody listens: no events, ids made only if asked for.

    It still becomes the current run inside its block, so a nested run that does have
    handlers gets it as parent; its parent is read from the context token when asked.
    """

    __slots__ = ("_parent_run_id", "_run_id", "_token", "_trace_id")

    is_recording: ClassVar[bool] = False
    # the read-only surface of a recording run, empty, so producers need not branch
    done: ClassVar[bool] = False
    manager: ClassVar[None] = None
    user_id: ClassVar[None] = None
    tags: ClassVar[tuple[str, ...]] = ()
    metadata: ClassVar[dict[str, Any]] = {}
    text: ClassVar[str] = ""
    time_to_first_token_ms: ClassVar[None] = None
    steps: ClassVar[int] = 0

    def __init__(
        self, run_id: str | None = None, parent_run_id: str | None = None, trace_id: str | None = None
    ) -> None:
        self._run_id = run_id
        self._trace_id = trace_id
        self._parent_run_id = parent_run_id
        self._token: Token[Any] | None = None

    @property
    def _parent(self) -> RunLike | None:
        token = self._token
        if token is None:
            return None
        old = token.old_value
        return None if old is Token.MISSING else old

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            self._run_id = new_run_id()
        return self._run_id

    @property
    def trace_id(self) -> str:
        if self._trace_id is None:
            parent = self._parent
            self._trace_id = parent.trace_id if parent is not None else new_trace_id()
        return self._trace_id

    @property
    def parent_run_id(self) -> str | None:
        if self._parent_run_id is not None:
            return self._parent_run_id
        parent = self._parent
        return parent.run_id if parent is not None else None

    def __enter__(self) -> NoopRun:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        token = self._token
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # left in another context (a generator resumed elsewhere)
                _current.set(self._parent)

    async def __aenter__(self) -> NoopRun:
        self._token = _current.set(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def start(self) -> NoopRun:
        return self

    def detach(self) -> NoopRun:
        self.__exit__()
        return self

    async def astart(self) -> NoopRun:
        return self

    def token(self, token: str | None, **fields: Any) -> None:
        pass

    async def atoken(self, token: str | None, **fields: Any) -> None:
        pass

    def step(self, **fields: Any) -> None:
        pass

    async def astep(self, **fields: Any) -> None:
        pass

    def finish(self, **fields: Any) -> None:
        pass

    async def afinish(self, **fields: Any) -> None:
        pass

    def error(self, error: BaseException | str, **fields: Any) -> None:
        pass

    async def aerror(self, error: BaseException | str, **fields: Any) -> None:
        pass

    @property
    def finished(self) -> bool:
        return False


def noop_run(
    run_id: str | None, parent_run_id: str | None, trace_id: str | None, tags: Any, metadata: Any
) -> NoopRun:
    if tags:  # refused whether or not anybody listens: a mistake must not wait for a handler
        check_tags("tags", tags)
    if metadata is not None:
        check_metadata("metadata", metadata)
    run = object.__new__(NoopRun)  # no __init__ call: this is the path of every call nobody listens to
    run._run_id = run_id
    run._parent_run_id = parent_run_id
    run._trace_id = trace_id
    run._token = None
    return run
