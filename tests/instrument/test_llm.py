"""LLM decorators on plain calls: seed 003's examples, model description, wrapping rules."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from llmhooks import (
    Callbacks,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    callbacks_context,
    current_run,
    llm_run,
    set_global_callbacks,
)
from llmhooks.errors import BudgetExceeded, InvalidHandlerError
from llmhooks.instrument import (
    already_instrumented,
    instrument_llm,
    llm_chat_callback,
    llm_completion_callback,
)
from llmhooks.testing import RecordingCallbacks

from .llama_types import ChatMessage, ChatResponse, CompletionResponse, MessageRole

SECRET = "sk-proj-THISISASECRETKEY0123456789abcdef"


class MyCustomLLM:
    """Seed 003's "Basic Usage" class, with llmhooks imports."""

    model = "my-custom-model"

    def __init__(self) -> None:
        self.api_key = SECRET
        self.temperature = 0.3
        self.max_tokens = 256

    @llm_chat_callback()
    def chat(self, messages: list[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer a chat."""
        response_text = "This is the LLM response."
        return ChatResponse(
            message=ChatMessage(role="assistant", content=response_text),
            raw={"usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}},
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="Completion result.")


def test_chat_method_gives_start_and_end(rec: RecordingCallbacks) -> None:
    """A decorated chat method fires llm.start with the messages and llm.end with text and usage."""
    llm = MyCustomLLM()
    response = llm.chat([ChatMessage(role=MessageRole.USER, content="Hello")])
    assert response.message.content == "This is the LLM response."
    rec.assert_types(["llm.start", "llm.end"])
    start, end = rec.events
    assert isinstance(start, LLMStartEvent) and isinstance(end, LLMEndEvent)
    assert start.messages == [{"role": "user", "content": "Hello"}]
    assert start.model == "my-custom-model"
    assert start.temperature == 0.3 and start.max_tokens == 256
    assert end.response == "This is the LLM response."
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (7, 5, 12)
    assert end.run_id == start.run_id and end.latency_ms is not None


def test_completion_prompt_from_positional_or_keyword(rec: RecordingCallbacks) -> None:
    """The prompt is read whether passed by position or by keyword."""
    llm = MyCustomLLM()
    llm.complete("Tell me a joke")
    llm.complete(prompt="Another one", formatted=True)
    starts = rec.of_type(LLMStartEvent)
    assert [s.prompt for s in starts] == ["Tell me a joke", "Another one"]
    assert starts[1].params == {"formatted": True}
    assert rec.of_type(LLMEndEvent)[0].response == "Completion result."


def test_model_description_never_carries_secrets(rec: RecordingCallbacks) -> None:
    """Keys, tokens, passwords and clients on ``self`` never reach an event."""

    class Client:
        def __init__(self) -> None:
            self.headers = {"Authorization": f"Bearer {SECRET}"}

    class LeakyLLM:
        def __init__(self) -> None:
            self.model_name = "leaky-1"
            self.api_key = SECRET
            self.token = "ghp_" + "a" * 36
            self.password = "hunter2hunter2"
            self.client = Client()
            self.top_p = 0.9

        @llm_chat_callback()
        def chat(self, messages: list[Any], **kwargs: Any) -> str:
            return "ok"

    LeakyLLM().chat([{"role": "user", "content": "hi"}], api_key=SECRET)
    dumped = json.dumps([e.to_dict() for e in rec.events])
    assert SECRET not in dumped and "hunter2" not in dumped and "ghp_" not in dumped
    start = rec.of_type(LLMStartEvent)[0]
    assert start.model == "leaky-1"
    assert start.params == {"top_p": 0.9, "api_key": "[REDACTED]"}


def test_model_read_from_llamaindex_style_metadata(rec: RecordingCallbacks) -> None:
    """A ``metadata`` property (LlamaIndex's LLMMetadata) gives the model name."""

    class Metadata:
        def __init__(self) -> None:
            self.model_name = "meta-model"
            self.context_window = 4096

    class LLM:
        @property
        def metadata(self) -> Metadata:
            return Metadata()

        @llm_completion_callback()
        def complete(self, prompt: str, **kwargs: Any) -> str:
            return "x"

    LLM().complete("hi")
    start = rec.of_type(LLMStartEvent)[0]
    assert start.model == "meta-model"
    assert start.params == {"context_window": 4096}


def test_model_description_follows_the_object_call_by_call(rec: RecordingCallbacks) -> None:
    """What ``self`` says is read on every call: a changed model or value shows in the next
    call's event, and a handler that mutates one event's params never shows in another's."""

    class Tunable:
        def __init__(self) -> None:
            self.model = "m-1"
            self.top_p = 0.5
            self.stop: Any = ("\n",)

        @llm_chat_callback()
        def chat(self, messages: list[Any], **kwargs: Any) -> str:
            return "ok"

    llm = Tunable()
    llm.chat([])
    rec.of_type(LLMStartEvent)[0].params["top_p"] = 99  # a careless handler
    llm.model = "m-2"
    llm.stop = ["\n", "END"]
    llm.chat([])
    other = Tunable()
    other.top_p = 0.7
    other.chat([])
    starts = rec.of_type(LLMStartEvent)
    assert [s.model for s in starts] == ["m-1", "m-2", "m-1"]
    assert starts[1].params == {"top_p": 0.5, "stop": ["\n", "END"]}
    assert starts[2].params == {"top_p": 0.7, "stop": ("\n",)}


def test_decorator_arguments_win_over_self(rec: RecordingCallbacks) -> None:
    """``provider=`` and ``model=`` given to the decorator are used as they are."""

    class LLM:
        model = "from-self"

        @llm_chat_callback(provider="acme", model="acme-1")
        def chat(self, messages: list[Any]) -> str:
            return "x"

    LLM().chat([])
    start = rec.of_type(LLMStartEvent)[0]
    assert (start.provider, start.model) == ("acme", "acme-1")


def test_wraps_metadata_and_function_kind_kept() -> None:
    """``__name__``, ``__qualname__``, ``__doc__``, ``__wrapped__`` and the function kind survive."""

    async def achat(self: Any, messages: Any) -> str:
        """Async chat."""
        return "x"

    def stream(self: Any, messages: Any) -> Iterator[str]:
        yield "x"

    async def astream(self: Any, messages: Any) -> AsyncIterator[str]:
        yield "x"

    for fn, check in (
        (achat, inspect.iscoroutinefunction),
        (stream, inspect.isgeneratorfunction),
        (astream, inspect.isasyncgenfunction),
    ):
        wrapped = llm_chat_callback()(fn)
        assert wrapped is not fn and check(wrapped)
        assert wrapped.__name__ == fn.__name__ and wrapped.__qualname__ == fn.__qualname__
        assert wrapped.__doc__ == fn.__doc__ and wrapped.__wrapped__ is fn  # type: ignore[attr-defined]
    assert MyCustomLLM.chat.__doc__ == "Answer a chat."


def test_already_instrumented_function_is_not_wrapped_again() -> None:
    """Decorating an instrumented function again returns it unchanged, even through another decorator."""
    once = MyCustomLLM.__dict__["chat"]
    assert llm_chat_callback()(once) is once
    assert instrument_llm(once) is once

    @functools.wraps(once)
    def logged(*args: Any, **kwargs: Any) -> Any:
        return once(*args, **kwargs)

    assert already_instrumented(logged)
    assert llm_chat_callback()(logged) is logged


def test_two_instrumented_layers_give_one_run(rec: RecordingCallbacks) -> None:
    """complete() calling chat() on the same object, or a subclass calling super(), is one run."""

    class Layered(MyCustomLLM):
        @llm_chat_callback()
        def chat(self, messages: list[ChatMessage], **kwargs: Any) -> ChatResponse:
            return super().chat(messages, **kwargs)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            r = self.chat([ChatMessage(role="user", content=prompt)])
            return CompletionResponse(text=r.message.content or "")

    Layered().complete("hi")
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[0].prompt == "hi"


def test_calls_on_another_object_are_separate_runs(rec: RecordingCallbacks) -> None:
    """An instrumented LLM calling a different instrumented LLM gives a child run."""
    inner = MyCustomLLM()

    class Router:
        model = "router"

        @llm_chat_callback()
        def chat(self, messages: list[Any]) -> Any:
            return inner.chat(messages)

    Router().chat([{"role": "user", "content": "x"}])
    rec.assert_types(["llm.start", "llm.start", "llm.end", "llm.end"])
    outer, child = rec.events[0], rec.events[1]
    assert child.parent_run_id == outer.run_id and child.trace_id == outer.trace_id
    rec.assert_terminated()


def test_current_run_inside_call_is_the_decorated_run(rec: RecordingCallbacks) -> None:
    """Inside the decorated body ``current_run()`` is its run; afterwards the caller's is back."""
    seen: list[Any] = []

    @instrument_llm(provider="p", model="m")
    def ask(prompt: str) -> str:
        seen.append(current_run())
        return "answer"

    assert ask("q") == "answer"
    assert seen[0] is not None and seen[0].run_id == rec.events[0].run_id
    assert current_run() is None


async def test_async_chat_awaits_async_handlers() -> None:
    """An ``async def`` method is awaited inside its run and async handlers are awaited too."""
    order: list[str] = []

    class Slow(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0)
            order.append("start handler")

        async def on_llm_end(self, event: LLMEndEvent) -> None:
            await asyncio.sleep(0)
            order.append("end handler")

    class LLM:
        model = "m"

        @llm_chat_callback(callbacks=Slow())
        async def achat(self, messages: list[Any]) -> ChatResponse:
            order.append("body")
            return ChatResponse(message=ChatMessage(role="assistant", content="hi"))

    r = await LLM().achat([ChatMessage(content="x")])
    assert r.message.content == "hi"
    assert order == ["start handler", "body", "end handler"]


def test_exception_gives_error_event_and_is_reraised(rec: RecordingCallbacks) -> None:
    """A raising call gives one llm.error with the exception, then re-raises it."""

    @instrument_llm(model="m")
    def broken(prompt: str) -> str:
        raise ConnectionError("network down")

    with pytest.raises(ConnectionError, match="network down"):
        broken("x")
    rec.assert_types(["llm.start", "llm.error"])
    err = rec.events[1]
    assert isinstance(err, LLMErrorEvent) and err.error_type == "ConnectionError" and err.is_recoverable


async def test_async_exception_gives_error_event(rec: RecordingCallbacks) -> None:
    """The same for ``async def``."""

    @instrument_llm(model="m")
    async def broken(prompt: str) -> str:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        await broken("x")
    rec.assert_types(["llm.start", "llm.error"])


def test_handlers_configured_after_decoration_are_used() -> None:
    """Decorate at import, configure in main(): the handlers are looked up per call."""

    @instrument_llm(model="m")
    def ask(prompt: str) -> str:
        return "a"

    ask("before")  # no handler yet: nothing recorded, nothing breaks
    rec = RecordingCallbacks()
    set_global_callbacks([rec])
    ask("after")
    assert [e.prompt for e in rec.of_type(LLMStartEvent)] == ["after"]


def test_handlers_from_decorator_scope_and_self() -> None:
    """``callbacks=``, ``callbacks_context`` and ``self.callbacks`` all see the call, once each."""
    from_decorator, from_scope, from_self = RecordingCallbacks(), RecordingCallbacks(), RecordingCallbacks()

    class LLM:
        def __init__(self) -> None:
            self.callbacks = [from_self]

        @llm_chat_callback(callbacks=from_decorator)
        def chat(self, messages: list[Any]) -> str:
            return "x"

    with callbacks_context([from_scope]):
        LLM().chat([])
    for r in (from_decorator, from_scope, from_self):
        r.assert_types(["llm.start", "llm.end"])


def test_invalid_callbacks_argument_fails_at_decoration() -> None:
    """A wrong ``callbacks=`` is reported when decorating, naming the fix."""
    with pytest.raises(InvalidHandlerError, match="callbacks="):
        instrument_llm(callbacks="not a handler")(lambda prompt: "x")


def test_abort_from_start_handler_stops_the_call() -> None:
    """A handler raising ``BudgetExceeded`` on start stops the call before the body runs."""
    ran: list[bool] = []

    class Budget(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise BudgetExceeded("no budget left", limit=0.0, spent=0.0)

    rec = RecordingCallbacks()

    @instrument_llm(model="m", callbacks=[rec, Budget()])
    def ask(prompt: str) -> str:
        ran.append(True)
        return "x"

    with pytest.raises(BudgetExceeded):
        ask("q")
    assert ran == []
    rec.assert_types(["llm.start", "llm.error"])


def test_body_may_finish_its_own_run_with_usage(rec: RecordingCallbacks) -> None:
    """A body that knows the usage calls ``current_run().finish(...)``; no second end follows."""

    @instrument_llm(model="m")
    def ask(prompt: str) -> str:
        run = current_run()
        run.finish(response="a", input_tokens=3, output_tokens=1)  # type: ignore[union-attr]
        return "a"

    ask("q")
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[1].total_tokens == 4  # type: ignore[attr-defined]


def test_without_handlers_nested_runs_still_get_the_parent() -> None:
    """With no handler anywhere the decorator emits nothing but still parents nested runs."""
    inner = RecordingCallbacks()
    seen: list[str] = []

    @instrument_llm(model="m")
    def ask(prompt: str) -> str:
        seen.append(current_run().run_id)  # type: ignore[union-attr]
        with llm_run(model="inner", callbacks=inner) as run:
            run.finish(response="x")
        return "a"

    ask("q")
    assert inner.events[0].parent_run_id == seen[0]


def test_plain_function_messages_and_bare_decorator(rec: RecordingCallbacks) -> None:
    """Bare ``@instrument_llm``: a list argument is messages, a string is the prompt."""

    @instrument_llm
    def call(messages: list[dict[str, str]], temperature: float = 1.0) -> dict[str, Any]:
        return {"content": "hi", "usage": {"input_tokens": 2, "output_tokens": 1}}

    call([{"role": "user", "content": "x"}], temperature=0.1)
    start, end = rec.events
    assert start.messages == [{"role": "user", "content": "x"}] and start.temperature == 0.1
    assert end.response == "hi" and end.input_tokens == 2


async def test_concurrent_calls_are_separate_runs(rec: RecordingCallbacks) -> None:
    """Twenty concurrent calls of one decorated method give twenty complete, unrelated runs."""

    class LLM:
        model = "m"

        @llm_chat_callback()
        async def achat(self, messages: list[Any]) -> str:
            await asyncio.sleep(0.001)
            return "x"

    llm = LLM()
    await asyncio.gather(*(llm.achat([{"role": "user", "content": str(i)}]) for i in range(20)))
    assert len(rec.runs()) == 20
    assert all(e.parent_run_id is None for e in rec.events)
    rec.assert_terminated()


def test_staticmethod_and_classmethod_can_be_decorated(rec: RecordingCallbacks) -> None:
    """Decorators accept staticmethod and classmethod objects."""

    class LLM:
        model = "cls-model"

        @instrument_llm
        @staticmethod
        def ask(prompt: str) -> str:
            return "s"

        @instrument_llm
        @classmethod
        def ask_cls(cls, prompt: str) -> str:
            return "c"

    assert LLM.ask("a") == "s" and LLM().ask_cls("b") == "c"
    starts = rec.of_type(LLMStartEvent)
    assert [s.prompt for s in starts] == ["a", "b"]
    assert starts[1].model == "cls-model"


def test_handlers_taking_no_llm_event_cost_no_llm_run() -> None:
    """With handlers only for tools, a decorated LLM call opens no recording run, yet parents tools."""
    from llmhooks import ToolEndEvent, tool_run

    class ToolsOnly(Callbacks):
        def __init__(self) -> None:
            self.ends: list[ToolEndEvent] = []

        def on_tool_end(self, event: ToolEndEvent) -> None:
            self.ends.append(event)

    handler = ToolsOnly()
    set_global_callbacks([handler])
    seen: list[Any] = []

    @instrument_llm(model="m")
    def ask(prompt: str) -> str:
        seen.append(current_run())
        with tool_run("lookup") as t:
            t.finish(result=1)
        return "a"

    ask("q")
    assert not seen[0].is_recording
    assert handler.ends[0].parent_run_id == seen[0].run_id


def test_anthropic_shaped_usage_follows_the_token_convention(rec: RecordingCallbacks) -> None:
    """Anthropic's input_tokens excludes cache reads and writes; the end event counts them in."""

    @instrument_llm(provider="anthropic", model="claude-sonnet-4-5")
    def call(prompt: str) -> dict[str, Any]:
        return {
            "content": "hi",
            "usage": {
                "input_tokens": 900,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 50,
                "output_tokens": 10,
            },
        }

    with callbacks_context(rec):
        call("hello")
    end = rec.of_type(LLMEndEvent)[0]
    assert (end.input_tokens, end.cached_input_tokens, end.cache_write_input_tokens) == (1050, 100, 50)
    assert end.total_tokens == 1060
