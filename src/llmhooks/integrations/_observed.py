"""SDK streams that report what passes through them, while staying the SDK's own stream type.

``observe(stream, held, acc)`` returns an instance of a subclass of the stream's
class (``openai.Stream``, ``anthropic.AsyncStream``...) holding the same state, so
``isinstance`` checks, ``.response``, ``with`` blocks and the SDK's helpers keep
working. Each item goes to ``acc.add`` (which returns its text delta, if any) and
each delta to ``run.token`` (only the first, for the time to first token, when no
handler takes token events as the stream starts); the end of the stream emits the
end event, an exception the error event, and ``close()``, leaving a ``with`` block
or dropping the stream half-read the end event with ``incomplete=True``. Failures
inside the accumulator are never allowed to break the caller's stream.
"""

from __future__ import annotations

import logging
from typing import Any

from llmhooks.core.held import HeldRun
from llmhooks.events import LLMTokenEvent

__all__ = ["Observer", "closing_manager", "observe", "observer_of", "rebrand"]

logger = logging.getLogger("llmhooks")

_KEY = "_llmhooks_observer"


class Observer:
    """What an observed stream knows: its held run and its accumulator.

    ``token`` is the run's token method, or None once it need not be called: when no
    handler took token events as the stream started, only the first delta is
    reported (it sets the time to first token) and the rest skip the call.
    """

    __slots__ = ("acc", "add", "every_token", "held", "placed", "run", "token")

    def __init__(self, held: HeldRun, acc: Any) -> None:
        self.held = held
        self.acc = acc
        self.add = acc.add
        self.run = held.run
        self.token: Any = held.run.token
        self.every_token = held.run.manager.wants(LLMTokenEvent)
        # an accumulator that knows where each delta goes (Responses: item, indexes, sequence)
        self.placed = hasattr(acc, "where")

    def _fields(self, *, partial: bool = False) -> dict[str, Any]:
        try:
            fields: dict[str, Any] = self.acc.response().end_fields()
        except Exception:
            logger.debug("llmhooks could not read the end of a stream", exc_info=True)
            return {}
        if partial:
            fields.pop("finish_reason", None)
        return fields

    def _error(self) -> tuple[str, str | None] | None:
        return getattr(self.acc, "error", None)

    def done(self) -> None:
        """The stream ended: end event, or error event for an in-band error."""
        if not self.held.open:
            return
        error = self._error()
        if error is not None:
            self.held.report(error[0], error_code=error[1], **_recoverable(error[1]))
        else:
            self.held.finish(**self._fields())

    async def adone(self) -> None:
        if not self.held.open:
            return
        error = self._error()
        if error is not None:
            await self.held.areport(error[0], error_code=error[1], **_recoverable(error[1]))
        else:
            await self.held.afinish(**self._fields())

    def stopped(self) -> None:
        """The consumer stopped early: end event with ``incomplete=True``."""
        if self.held.open:
            self.held.stop_early(**self._fields(partial=True))

    async def astopped(self) -> None:
        if self.held.open:
            await self.held.astop_early(**self._fields(partial=True))


def _unreadable(item: Any) -> str | None:
    """Log an item the accumulator could not read; it counts as carrying no text."""
    logger.debug("llmhooks could not read a stream item %r", type(item).__name__, exc_info=True)
    return None


def _recoverable(code: str | None) -> dict[str, Any]:
    return {"is_recoverable": code in ("server_error", "rate_limit_exceeded", "overloaded_error")}


class _Copyable:
    """A copy is a plain SDK stream: the anthropic SDK iterates a copy of the stream, and that copy
    must not end the run when it is collected."""

    _llmhooks_base: type

    def __copy__(self) -> Any:
        plain: Any = object.__new__(self._llmhooks_base)
        plain.__dict__.update(self.__dict__)
        plain.__dict__.pop(_KEY, None)
        return plain


class _ObservedSync(_Copyable):
    """Mixed in before a sync SDK stream class."""

    _llmhooks_observer: Observer

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        obs = self._llmhooks_observer
        try:
            item = super().__next__()  # type: ignore[misc]
        except StopIteration:
            obs.done()
            raise
        except BaseException as exc:
            obs.held.fail(exc)
            raise
        try:
            text = obs.add(item)
        except Exception:  # an item shaped unlike the SDK's: report nothing, break nothing
            text = _unreadable(item)
        if text and obs.token is not None:
            try:
                if obs.placed:
                    obs.token(text, **obs.acc.where)
                else:
                    obs.token(text)
            except BaseException as exc:  # a handler stopped the call (Abort)
                super().close()  # type: ignore[misc]
                obs.held.fail(exc)
                raise
            if not obs.every_token:
                obs.token = None
        return item

    def close(self) -> None:
        super().close()  # type: ignore[misc]
        self._llmhooks_observer.stopped()

    def __del__(self) -> None:
        obs = self.__dict__.get(_KEY)
        if obs is None or not obs.held.open:
            return
        try:
            super().close()  # type: ignore[misc]
            obs.stopped()
        except Exception:
            pass


class _ObservedAsync(_Copyable):
    """Mixed in before an async SDK stream class."""

    _llmhooks_observer: Observer

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        obs = self._llmhooks_observer
        try:
            item = await super().__anext__()  # type: ignore[misc]
        except StopAsyncIteration:
            await obs.adone()
            raise
        except BaseException as exc:
            await obs.held.afail(exc)
            raise
        try:
            text = obs.add(item)
        except Exception:
            text = _unreadable(item)
        if text and obs.token is not None:
            try:
                if obs.placed:
                    await obs.run.atoken(text, **obs.acc.where)
                else:
                    await obs.run.atoken(text)
            except BaseException as exc:
                await super().close()  # type: ignore[misc]
                await obs.held.afail(exc)
                raise
            if not obs.every_token:
                obs.token = None
        return item

    async def close(self) -> None:
        await super().close()  # type: ignore[misc]
        await self._llmhooks_observer.astopped()

    def __del__(self) -> None:
        # the HTTP response is closed by the SDK's own finalisation; only the run ends here
        obs = self.__dict__.get(_KEY)
        if obs is None or not obs.held.open:
            return
        try:
            obs.stopped()
        except Exception:
            pass


_classes: dict[tuple[type, type], type] = {}


def rebrand(obj: Any, mixin: type, extra: dict[str, Any]) -> Any:
    """``obj`` as an instance of a subclass of its class with ``mixin`` first, plus ``extra`` state.

    The subclass keeps the class's name, module and ``isinstance`` relations; the
    new instance shares ``obj``'s attributes (a shallow copy of its ``__dict__``).
    """
    base = type(obj)
    cls = _classes.get((base, mixin))
    if cls is None:
        namespace = {"__module__": base.__module__, "__qualname__": base.__qualname__, "_llmhooks_base": base}
        cls = _classes[(base, mixin)] = type(base.__name__, (mixin, base), namespace)
    new: Any = object.__new__(cls)
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(extra)
    return new


def observe(stream: Any, held: HeldRun, acc: Any, *, is_async: bool) -> Any:
    """Return ``stream`` as an observed stream of the same class (see the module docstring)."""
    return rebrand(stream, _ObservedAsync if is_async else _ObservedSync, {_KEY: Observer(held, acc)})


def observer_of(stream: Any) -> Observer | None:
    """The observer of an observed stream, else None."""
    d = getattr(stream, "__dict__", None)
    return d.get(_KEY) if d is not None else None


def _raw_observer(manager: Any) -> Observer | None:
    stream = manager.__dict__.get("_llmhooks_stream")
    return observer_of(getattr(stream, "_raw_stream", None))


class _ClosingSync:
    """Mixed in before a sync stream helper's manager (``chat.completions.stream``...)."""

    def __enter__(self) -> Any:
        stream = super().__enter__()  # type: ignore[misc]
        self.__dict__["_llmhooks_stream"] = stream
        return stream

    def __exit__(self, *exc: Any) -> Any:
        try:
            return super().__exit__(*exc)  # type: ignore[misc]
        finally:
            obs = _raw_observer(self)
            if obs is not None:
                obs.stopped()


class _ClosingAsync:
    """Mixed in before an async stream helper's manager."""

    async def __aenter__(self) -> Any:
        stream = await super().__aenter__()  # type: ignore[misc]
        self.__dict__["_llmhooks_stream"] = stream
        return stream

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await super().__aexit__(*exc)  # type: ignore[misc]
        finally:
            obs = _raw_observer(self)
            if obs is not None:
                await obs.astopped()


def closing_manager(manager: Any) -> Any:
    """A stream helper's manager whose block, when left, also ends the run of the raw stream it read.

    The helpers (``chat.completions.stream``, ``responses.stream``) close only the
    HTTP response on exit, not the raw stream they read; this ends its run at once
    instead of when the garbage collector finds it. The manager keeps its class.
    """
    mixin = _ClosingAsync if hasattr(type(manager), "__aenter__") else _ClosingSync
    return rebrand(manager, mixin, {})
