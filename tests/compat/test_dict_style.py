"""Seed 002's dict-payload handlers: ``CustomAsyncCallbackHandler`` and ``CompositeCallbackHandler``."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, List  # noqa: UP035 - the seed's spelling

import pytest

from llmhooks import CallbackManager, llm_run, set_global_callbacks
from llmhooks.compat import CompositeCallbackHandler, CustomAsyncCallbackHandler
from llmhooks.testing import RecordingCallbacks

logger = logging.getLogger("aiecs.callbacks")


# --- the seed's examples, verbatim apart from imports -------------------------------------


class MyCustomCallback(CustomAsyncCallbackHandler):
    async def on_llm_start(self, messages: List[dict], **kwargs: Any) -> None:  # noqa: UP006
        """Execute when LLM call starts"""
        print(f"Starting to process {len(messages)} messages")

    async def on_llm_end(self, response: dict, **kwargs: Any) -> None:
        """Execute when LLM call successfully ends"""
        print(f"Call successful, generated {len(response.get('content', ''))} characters")

    async def on_llm_error(self, error: Exception, **kwargs: Any) -> None:
        """Execute when LLM call encounters error"""
        print(f"Call failed: {error}")


class ComprehensiveCallback(CustomAsyncCallbackHandler):
    def __init__(self):
        self.start_time = None
        self.call_id = None

    async def on_llm_start(self, messages: List[dict], **kwargs: Any) -> None:  # noqa: UP006
        """Record call start"""
        import time
        import uuid

        self.start_time = time.time()
        self.call_id = str(uuid.uuid4())

        logger.info(f"LLM call started [ID: {self.call_id}]")
        logger.info(f"Message count: {len(messages)}")

    async def on_llm_end(self, response: dict, **kwargs: Any) -> None:
        """Handle successful result"""
        if self.start_time:
            duration = time.time() - self.start_time
            logger.info(f"LLM call successful [ID: {self.call_id}] Duration: {duration:.2f}s")

        # Record response information
        content_length = len(response.get("content", ""))
        tokens_used = response.get("tokens_used", 0)
        logger.info(f"Generated content length: {content_length}, Token usage: {tokens_used}")

    async def on_llm_error(self, error: Exception, **kwargs: Any) -> None:
        """Handle error case"""
        if self.start_time:
            duration = time.time() - self.start_time
            logger.error(f"LLM call failed [ID: {self.call_id}] Duration: {duration:.2f}s")

        logger.error(f"Error details: {type(error).__name__}: {error}")


class TypeSafeCallback(CustomAsyncCallbackHandler):
    async def on_llm_start(self, messages: List[dict], **kwargs: Any) -> None:  # noqa: UP006
        """Safely process message data"""
        # Validate message format
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict):
                logger.warning(f"Message {i} is not in dict format")
                continue

            if "role" not in msg or "content" not in msg:
                logger.warning(f"Message {i} missing required fields")
                continue

            # Safely access data
            role = msg.get("role", "unknown")
            content = msg.get("content", "")
            logger.info(f"Message {i}: {role} - {content[:50]}...")

    async def on_llm_end(self, response: dict, **kwargs: Any) -> None:
        """Safely process response data"""
        # Extract key information
        content = response.get("content", "")
        provider = response.get("provider", "unknown")
        model = response.get("model", "unknown")
        tokens = response.get("tokens_used", 0)

        # Validate data validity
        if not content:
            logger.warning("Response content is empty")

        if tokens < 0:
            logger.warning(f"Abnormal token count: {tokens}")

        logger.info(f"Response from {provider}/{model}, using {tokens} tokens")

    async def on_llm_error(self, error: Exception, **kwargs: Any) -> None:
        provider = kwargs.get("provider", "unknown")
        model = kwargs.get("model", "unknown")
        logger.error(f"Call failed: {provider}/{model}")
        logger.error(f"Error type: {type(error).__name__}")
        if isinstance(error, TimeoutError):
            logger.error("Call timeout, may need retry")
        elif isinstance(error, ConnectionError):
            logger.error("Network connection issue")
        else:
            logger.error("Unknown error type")


async def health_check():
    """Callback handler health check"""
    try:
        # Check basic functionality
        test_callback = TestCallback()
        await test_callback.on_llm_start([{"role": "user", "content": "test"}])

        return {"status": "healthy", "timestamp": time.time(), "version": "1.0.0"}
    except Exception as e:
        return {"status": "unhealthy", "error": str(e), "timestamp": time.time()}


class TestCallback(MyCustomCallback):
    __test__ = False  # a handler, not a pytest class


# --- tests ----------------------------------------------------------------------------------


async def _call(**finish: Any) -> None:
    async with llm_run(
        provider="openai",
        model="gpt-4o",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        temperature=0.2,
    ) as run:
        await run.afinish(**finish)


async def test_basic_example_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 002's first example gets the messages and the response dict."""
    set_global_callbacks([MyCustomCallback()])
    await _call(response="hello!", input_tokens=3, output_tokens=2)
    assert capsys.readouterr().out.splitlines() == [
        "Starting to process 2 messages",
        "Call successful, generated 6 characters",
    ]


async def test_response_dict_holds_what_the_seed_lists() -> None:
    """content, tokens_used, prompt/completion tokens, provider, model, response_time, cost_estimate."""
    got: list[Any] = []

    class Keep(CustomAsyncCallbackHandler):
        async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:
            got.append((messages, kwargs["provider"], kwargs["model"], kwargs["temperature"]))

        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            got.append(response)

        async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            got.append(error)

    set_global_callbacks([Keep()])
    await _call(response="hello", input_tokens=3, output_tokens=2, cost=0.001)
    (messages, provider, model, temperature), response = got
    assert messages == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert (provider, model, temperature) == ("openai", "gpt-4o", 0.2)
    assert response.pop("response_time") >= 0
    assert response == {
        "content": "hello",
        "tokens_used": 5,
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "provider": "openai",
        "model": "gpt-4o",
        "cost_estimate": 0.001,
        "finish_reason": None,
    }


SEED_002_KEYS = {
    "content",
    "tokens_used",
    "prompt_tokens",
    "completion_tokens",
    "provider",
    "model",
    "response_time",
    "cost_estimate",
}


async def test_every_documented_key_is_there_when_figures_are_unknown() -> None:
    """No usage, no cost: every key seed 002 documents is still there (None; tokens_used 0)."""
    got: list[dict[str, Any]] = []

    class Keep(MyCustomCallback):
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            got.append(response)

    set_global_callbacks([Keep()])
    await _call(response="x")
    (response,) = got
    assert set(response) >= SEED_002_KEYS
    assert response["cost_estimate"] is None
    assert response["prompt_tokens"] is None and response["completion_tokens"] is None
    assert response["tokens_used"] == 0 and response.get("tokens_used", 0) == 0
    assert response["content"] == "x" and response["response_time"] >= 0


async def test_comprehensive_and_type_safe_examples_log(caplog: pytest.LogCaptureFixture) -> None:
    """The lifecycle and type-safe examples run as written, success and failure."""
    caplog.set_level(logging.INFO, logger="aiecs.callbacks")
    set_global_callbacks([ComprehensiveCallback(), TypeSafeCallback()])
    await _call(response="hello", input_tokens=3, output_tokens=2)
    with pytest.raises(TimeoutError):
        async with llm_run(provider="openai", model="gpt-4o", prompt="p"):
            raise TimeoutError("too slow")
    text = caplog.text
    assert "Message count: 2" in text and "Generated content length: 5, Token usage: 5" in text
    assert "Message 1: user - hi..." in text and "Response from openai/gpt-4o, using 5 tokens" in text
    assert "Error details: TimeoutError: too slow" in text and "Call timeout, may need retry" in text


async def test_health_check_calls_the_handler_directly() -> None:
    """Seed 002's health check calls ``on_llm_start(messages)`` itself; that still works."""
    report = await health_check()
    assert report["status"] == "healthy"


def test_missing_method_fails_at_instantiation() -> None:
    """The base is abstract: a handler without ``on_llm_error`` cannot be created."""

    class Partial(CustomAsyncCallbackHandler):
        async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None: ...
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None: ...

    with pytest.raises(TypeError, match="on_llm_error"):
        Partial()  # type: ignore[abstract]


def test_failures_are_isolated() -> None:
    """A failing dict-style handler never breaks the call (seed 002's rule)."""

    seen: list[str] = []

    class Broken(MyCustomCallback):
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            seen.append(response["content"])
            raise RuntimeError("storage down")

    after = RecordingCallbacks()
    with llm_run(model="m", callbacks=[Broken(), after]) as run:
        run.finish(response="still fine")
    assert seen == ["still fine"]
    assert after.types() == ["llm.start", "llm.end"]


async def test_composite_add_remove_and_isolation(caplog: pytest.LogCaptureFixture) -> None:
    """The composite passes events to each member in order; one failing member does not stop the next."""
    order: list[str] = []

    def member(name: str, fail: bool = False) -> CustomAsyncCallbackHandler:
        class Member(CustomAsyncCallbackHandler):
            async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:
                order.append(f"{name} start")
                if fail:
                    raise RuntimeError(f"{name} failed")

            async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
                order.append(f"{name} end {response['content']}")

            async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
                order.append(f"{name} error")

        return Member()

    a, b, c = member("a", fail=True), member("b"), member("c")
    composite = CompositeCallbackHandler([a, b])
    composite.add_handler(c)
    composite.add_handler(c)  # once only
    assert composite.handlers == [a, b, c]
    set_global_callbacks([composite])
    await _call(response="r1")
    assert composite.remove_handler(b) and not composite.remove_handler(b)
    await _call(response="r2")
    assert order == [
        "a start", "b start", "c start", "a end r1", "b end r1", "c end r1",
        "a start", "c start", "a end r2", "c end r2",
    ]  # fmt: skip
    assert "a failed" in caplog.text
    with pytest.raises(TypeError, match="CustomAsyncCallbackHandler"):
        composite.add_handler(object())  # type: ignore[arg-type]


async def test_composite_direct_calls_reach_every_member() -> None:
    """``await composite.on_llm_end(response_dict)`` called directly reaches each member."""
    got: list[Any] = []

    class Member(MyCustomCallback):
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            got.append((response, kwargs))

    composite = CompositeCallbackHandler([Member(), Member()])
    await composite.on_llm_end({"content": "x"}, provider="p")
    assert got == [({"content": "x"}, {"provider": "p"})] * 2


def test_composite_in_sync_code() -> None:
    """A composite serves sync producers too (its async methods run to completion)."""
    got: list[str] = []

    class Member(MyCustomCallback):
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            got.append(response["content"])

    manager = CallbackManager([CompositeCallbackHandler([Member()])])
    with llm_run(model="m", callbacks=manager) as run:
        run.finish(response="sync ok")
    assert got == ["sync ok"]


async def test_one_instance_serves_concurrent_calls() -> None:
    """One handler, twenty concurrent calls: each end pairs with its own start through ``run_id``."""
    starts: dict[str, str] = {}
    pairs: list[tuple[str, str, float]] = []

    class Pairing(CustomAsyncCallbackHandler):
        async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:
            await asyncio.sleep(0)
            starts[kwargs["run_id"]] = messages[0]["content"]

        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            pairs.append((starts[kwargs["run_id"]], response["content"], kwargs["duration_ms"]))

        async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None: ...

    set_global_callbacks([CompositeCallbackHandler([Pairing()])])

    async def call(i: int) -> None:
        async with llm_run(model="m", prompt=f"q{i}") as run:
            await asyncio.sleep(0.001 * (i % 4))
            await run.afinish(response=f"a{i}")

    await asyncio.gather(*(call(i) for i in range(20)))
    assert len(pairs) == 20
    assert all(q[1:] == a[1:] and ms >= 0 for q, a, ms in pairs)
    assert uuid  # the seed's example imports it


def test_composite_of_something_not_a_list_is_named() -> None:
    """CompositeCallbackHandler(123): a TypeError saying what it takes, at construction."""
    with pytest.raises(TypeError, match="handlers must be a list of CustomAsyncCallbackHandler"):
        CompositeCallbackHandler(123)  # type: ignore[arg-type]


SEED_002_NAMES = {  # the classes and functions seed 002's examples and class diagram use
    "CustomAsyncCallbackHandler",
    "CompositeCallbackHandler",
    "RedisTokenCallbackHandler",
    "DetailedRedisTokenCallbackHandler",
    "create_token_callback",
    "create_detailed_token_callback",
    "create_composite_callback",
    "token_usage_repo",
}


def test_compat_exports_every_name_seed_002_uses() -> None:
    """``llmhooks.compat.__all__`` lists them, so ``from llmhooks.compat import *`` brings them."""
    import llmhooks.compat

    assert set(llmhooks.compat.__all__) >= SEED_002_NAMES
    namespace: dict[str, Any] = {}
    exec("from llmhooks.compat import *", namespace)
    assert set(namespace) >= SEED_002_NAMES
    for name in llmhooks.compat.__all__:
        assert getattr(llmhooks.compat, name) is namespace[name]


async def test_cost_estimate_is_priced_without_a_cost_tracker() -> None:
    """No CostTracker registered: ``cost_estimate`` is still the call's price from its tokens."""
    pytest.importorskip("genai_prices")
    from llmhooks import CostTracker

    got: list[dict[str, Any]] = []

    class Keep(MyCustomCallback):
        async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:
            got.append(response)

    tracker = CostTracker()
    set_global_callbacks([Keep()])
    await _call(response="hello", input_tokens=1_000, output_tokens=100)
    set_global_callbacks([tracker])
    await _call(response="hello", input_tokens=1_000, output_tokens=100)
    assert got[0]["cost_estimate"] == pytest.approx(tracker.total_cost) and tracker.total_cost > 0
