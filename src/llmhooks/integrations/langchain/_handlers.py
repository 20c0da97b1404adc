"""The two LangChain handlers: each callback asks the translator what to emit, then emits it.

    chain.invoke(inputs, config={"callbacks": [CallbackHandler(callbacks=PrintCallbacks())]})
    await chain.ainvoke(inputs, config={"callbacks": [AsyncCallbackHandler(callbacks=...)]})

Their ``on_*`` methods are generated, one per name in ``CALLBACKS``, from the
translator's methods of the same name; the handlers differ only in calling
``run.start()``/``finish()``/``error()``/``token()`` or awaiting the ``a*`` twin.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from llmhooks.core.context import CallbacksLike
from llmhooks.errors import MissingExtraError
from llmhooks.integrations.langchain._translate import CALLBACKS, Emit, Translator

try:
    from langchain_core.callbacks import AsyncCallbackHandler as _LCAsyncHandler
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "CallbackHandler needs 'langchain-core': pip install 'llmhooks[langchain]'"
    ) from None

__all__ = ["AsyncCallbackHandler", "CallbackHandler"]

_Translate = Callable[..., Emit | None]
_H = TypeVar("_H", bound="type[_Handler]")


class _Handler:
    """What both handlers share: a translator, and how LangChain must call them."""

    # inline: emit in the thread and order LangChain reports; raise_error: an Abort stops the call
    run_inline = True
    raise_error = True

    def __init__(self, callbacks: CallbacksLike = None) -> None:
        self._translator = Translator(callbacks)


def _sync_callback(translate: _Translate) -> Callable[..., None]:
    def callback(self: _Handler, *args: Any, **kwargs: Any) -> None:
        emit = translate(self._translator, *args, **kwargs)
        if emit is not None:
            done = False
            try:
                with emit:
                    emit.call(*emit.args, **emit.fields)
                done = True
            finally:
                if done or not emit.opens:  # an ended run is undone even if a handler raised
                    emit.settle_context()

    return callback


def _async_callback(translate: _Translate) -> Callable[..., Coroutine[Any, Any, None]]:
    # a coroutine function, so LangChain awaits it rather than calling it inline
    async def callback(self: _Handler, *args: Any, **kwargs: Any) -> None:
        emit = translate(self._translator, *args, **kwargs)
        if emit is not None:
            done = False
            try:
                with emit:
                    await emit.acall(*emit.args, **emit.fields)
                done = True
            finally:
                if done or not emit.opens:
                    emit.settle_context()

    return callback


def _callbacks(make: Callable[[_Translate], Callable[..., Any]]) -> Callable[[_H], _H]:
    """Class decorator: gives the class one ``make``-built method per LangChain callback."""

    def decorate(cls: _H) -> _H:
        for name in CALLBACKS:
            translate = getattr(Translator, name)
            method = make(translate)
            method.__name__ = name
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            method.__doc__ = translate.__doc__
            setattr(cls, name, method)
        return cls

    return decorate


@_callbacks(_sync_callback)
class CallbackHandler(_Handler, BaseCallbackHandler):
    """LangChain callback handler that reports LangChain/LangGraph runs as llmhooks events.

    Args:
        callbacks: handlers for the events (in addition to global and scoped ones).

    Runs inline (``run_inline = True``): events are emitted in the thread and order
    LangChain reports them. ``raise_error = True`` lets an ``Abort`` raised by a handler
    (``BudgetExceeded``...) stop the LangChain call; other handler failures are
    isolated by llmhooks as usual and never reach LangChain.
    """


@_callbacks(_async_callback)
class AsyncCallbackHandler(_Handler, _LCAsyncHandler):
    """The async twin of ``CallbackHandler``: handlers' async methods are awaited in order.

    Meant for ``ainvoke``/``astream``. In sync runs LangChain drives async handlers
    through a private event loop per callback, which works but is slow.
    """
