"""Redaction: secrets never reach a handler; contents can be switched off; nothing else changes."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmhooks import (
    CallbackManager,
    Callbacks,
    LLMStartEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    RealtimeConnectedEvent,
    RealtimeErrorEvent,
    RealtimeResponseEvent,
    VLMInferenceCompletedEvent,
    agent_run,
    chain_run,
    llm_run,
    node_run,
    retrieval_run,
    run_context,
    tool_run,
)
from llmhooks.core.redaction import (
    REDACTED,
    Redactor,
    configure_redaction,
    get_redactor,
    redact_event,
    redact_fields,
    redact_text,
    redact_value,
    reset_redaction,
)
from llmhooks.events import Event
from llmhooks.testing import RecordingCallbacks

OPENAI_KEY = "sk-proj-CANARYcanary0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-api03-CANARYcanary0123456789abcdef"
BEARER = "CANARYbearer0123456789abcdef.xyz"
PLAIN = "hunter2-CANARY-plain"  # no secret shape: only its key name gives it away
CANARIES = ("CANARY", "hunter2")


@pytest.fixture(autouse=True)
def _default_redaction() -> Iterator[None]:
    reset_redaction()
    yield
    reset_redaction()


# the rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key={OPENAI_KEY} ok", "key=[REDACTED] ok"),
        (f"use {ANTHROPIC_KEY}", "use [REDACTED]"),
        (f"Authorization: Bearer {BEARER}", "Authorization: Bearer [REDACTED]"),
        ("AKIAABCDEFGHIJKLMNOP is aws", "[REDACTED] is aws"),
        ("token ghp_" + "a" * 36, "token [REDACTED]"),
        ("slack xoxb-1234567890-abcdef", "slack [REDACTED]"),
        ("google AIza" + "b" * 35, "google [REDACTED]"),
        ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f", "jwt [REDACTED]"),
        ("redis://:s3cretpass@localhost:6379/0", "redis://:[REDACTED]@localhost:6379/0"),
        ("https://api.x.com/v1?api_key=abc123&page=2", "https://api.x.com/v1?api_key=[REDACTED]&page=2"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[REDACTED]"),
    ],
)
def test_secret_shaped_strings_are_replaced(text: str, expected: str) -> None:
    """Provider keys, bearer tokens, cloud keys, JWTs and URL passwords are replaced in text."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Summarise the history of the Roman empire in three sentences.",
        "The task-based approach works; see https://example.com/docs?page=2.",
        "max_tokens is 256 and the temperature 0.7",
        "a-very-long-hyphenated-identifier-that-is-not-a-secret",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Plain prose, URLs without credentials and identifiers pass as the same object."""
    assert redact_text(text) is text


def test_secret_keys_are_replaced_at_any_depth() -> None:
    """Values under api_key, authorization, password, secret, token, cookie... are replaced."""
    payload = {
        "params": {
            "api_key": PLAIN,
            "headers": {"Authorization": PLAIN, "Cookie": "session=abc", "X-Api-Key": PLAIN},
            "client_secret": PLAIN,
            "db_password": 1234,
            "accessToken": PLAIN,
            "max_tokens": 100,
            "token_count": 5,
            "token": None,
        },
        "list": [{"password": PLAIN}, "plain"],
    }
    out = redact_value(payload)
    p = out["params"]
    assert p["api_key"] == p["headers"]["Authorization"] == p["client_secret"] == REDACTED
    assert p["headers"]["Cookie"] == p["headers"]["X-Api-Key"] == p["accessToken"] == REDACTED
    assert p["db_password"] == REDACTED
    assert p["max_tokens"] == 100 and p["token_count"] == 5 and p["token"] is None
    assert out["list"] == [{"password": REDACTED}, "plain"]


def test_nothing_copied_when_nothing_matches() -> None:
    """A clean payload comes back as the very same objects."""
    messages = [{"role": "user", "content": "hello there, how are you today?"}]
    fields = {"messages": messages, "temperature": 0.2, "params": {"top_p": 1}}
    assert redact_fields(fields) is fields
    assert redact_value(messages) is messages


def test_callers_objects_are_never_mutated() -> None:
    """Only copies are changed; the caller's messages keep their secret (it is theirs)."""
    messages = [{"role": "user", "content": f"my key is {OPENAI_KEY}"}, {"role": "user", "content": "x"}]
    fields = {"messages": messages}
    out = redact_fields(fields)
    assert out is not fields and out["messages"] is not messages
    assert out["messages"][0]["content"] == "my key is [REDACTED]"
    assert out["messages"][1] is messages[1]
    assert messages[0]["content"] == f"my key is {OPENAI_KEY}"


def test_exceptions_are_copied_with_the_message_redacted() -> None:
    """An exception naming a key becomes a copy of the same type, attributes and all."""

    class APIError(Exception):
        def __init__(self, message: str, *, status_code: int) -> None:
            super().__init__(message)
            self.status_code = status_code
            self.body = {"error": message}

    original = APIError(f"Incorrect API key provided: {OPENAI_KEY}", status_code=401)
    copy = get_redactor().exception(original)
    assert isinstance(copy, APIError) and copy is not original
    assert str(copy) == "Incorrect API key provided: [REDACTED]"
    assert copy.status_code == 401 and copy.body == {"error": "Incorrect API key provided: [REDACTED]"}
    assert OPENAI_KEY in str(original)
    clean = ValueError("nothing here")
    assert get_redactor().exception(clean) is clean


def test_user_patterns_keys_and_function() -> None:
    """Users add patterns, key names and a function; the built-in rules still apply."""
    configure_redaction(
        patterns=[r"ACME-\d{6}"], keys=["ssn"], redact=lambda s: s.replace("Project Zeus", "[codename]")
    )
    out = redact_value(
        {"note": f"ticket ACME-123456 for Project Zeus with {OPENAI_KEY}", "ssn": "123-45-6789"}
    )
    assert out == {"note": "ticket [REDACTED] for [codename] with [REDACTED]", "ssn": REDACTED}


def test_bad_configuration_fails_at_once() -> None:
    """An invalid pattern or a non-callable function is reported when configuring."""
    with pytest.raises(ValueError, match="not a valid regular expression"):
        configure_redaction(patterns=["(unclosed"])
    with pytest.raises(TypeError, match="redact must be a function"):
        Redactor(redact="nope")  # type: ignore[arg-type]


def test_capture_content_off_keeps_lengths_and_counts() -> None:
    """``capture_content=False`` blanks messages, prompt and response, keeping roles and sizes."""
    configure_redaction(capture_content=False)
    rec = RecordingCallbacks()
    with llm_run(
        model="m",
        messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi!"}],
        callbacks=rec,
    ) as run:
        run.finish(response="hello world", input_tokens=5, output_tokens=2)
    with tool_run("search", arguments={"q": "cats"}, callbacks=rec) as t:
        t.finish(result=["a", "bb"])
    start, end, tstart, tend = rec.events
    assert start.messages == [  # type: ignore[attr-defined]
        {"role": "system", "content": "<redacted: 7 chars>"},
        {"role": "user", "content": "<redacted: 3 chars>"},
    ]
    assert end.response == "<redacted: 11 chars>" and end.input_tokens == 5  # type: ignore[attr-defined]
    assert tstart.arguments == {"q": "<redacted: 4 chars>"}  # type: ignore[attr-defined]
    assert tend.result == ["<redacted: 1 chars>", "<redacted: 2 chars>"]  # type: ignore[attr-defined]


def test_capture_content_off_blanks_streamed_tokens() -> None:
    """With contents off, token events carry only the token's length."""
    configure_redaction(capture_content=False)
    rec = RecordingCallbacks()
    with llm_run(model="m", callbacks=rec) as run:
        run.token("Hello")
        run.finish()
    token = rec.events[1]
    assert token.token == "<redacted: 5 chars>"  # type: ignore[attr-defined]
    assert rec.events[2].response == "<redacted: 5 chars>"  # type: ignore[attr-defined]


def test_redact_event_for_events_built_by_hand() -> None:
    """``redact_event`` gives a redacted copy, or the same event when clean."""
    ev = MCPLoggingEvent(server_name="s", level="info", data={"authorization": PLAIN, "msg": "ok"})
    out = redact_event(ev)
    assert out is not ev and out.data == {"authorization": REDACTED, "msg": "ok"}  # type: ignore[attr-defined]
    assert out.run_id == ev.run_id and out.timestamp == ev.timestamp
    clean = MCPProgressEvent(server_name="s", progress=0.5, message="half way")
    assert redact_event(clean) is clean


def test_custom_event_fields_named_like_secrets() -> None:
    """On a user's own event class, a field named like a secret is replaced."""
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(slots=True, kw_only=True)
    class Login(Event):
        type: ClassVar[str] = "test.login"
        user: str = ""
        password: str = ""

    out = redact_event(Login(user="ann", password=PLAIN))
    assert out.user == "ann" and out.password == REDACTED  # type: ignore[attr-defined]


def test_disabled_redactor_passes_everything() -> None:
    """``enabled=False`` turns every rule off."""
    configure_redaction(enabled=False)
    fields = {"params": {"api_key": PLAIN}}
    assert redact_fields(fields) is fields


# the canary: every family, every built-in handler, the logs


def _builtin_handlers(tmp_path: Path, out: io.StringIO, chunks: list[Any]) -> list[Callbacks]:
    """Every stdlib built-in handler that exists, configured to show as much as it can."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("llmhooks.handlers.logging", "LoggingCallbacks", {"level": logging.INFO, "include_payloads": True}),
        ("llmhooks.handlers.printing", "PrintCallbacks", {"verbose": True, "file": out}),
        ("llmhooks.handlers.metrics", "MetricsCallbacks", {}),
        ("llmhooks.handlers.tokens", "TokenCounter", {}),
        ("llmhooks.handlers.cost", "CostTracker", {"prices": {"m": {"input": 1.0, "output": 2.0}}}),
        ("llmhooks.handlers.budget", "CostLimiter", {"max_cost": 1e9}),
        ("llmhooks.handlers.ratelimit", "RateLimiter", {"requests_per_minute": 100_000}),
        ("llmhooks.handlers.streaming", "StreamingProgress", {"on_chunk": chunks.append}),
        ("llmhooks.handlers.record", "EventRecorder", {"path": tmp_path / "events.jsonl"}),
    ]
    handlers: list[Callbacks] = []
    for module, name, kwargs in specs:
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # not written yet: the others are still checked
        handlers.append(cls(**kwargs))
    return handlers


class _Failing(Callbacks):
    """Fails on every end event, quoting the event, so the failure log carries payloads."""

    def on_event(self, event: Event) -> None:
        if event.type.endswith("end"):
            raise RuntimeError(f"cannot handle {event.to_dict()}")


def _families(manager: CallbackManager) -> None:
    """One of each event family, each carrying the canaries in every payload it has."""
    from llmhooks.instrument import llm_chat_callback

    class LLM:
        model = "m"

        def __init__(self) -> None:
            self.api_key = OPENAI_KEY
            self.callbacks = manager

        @llm_chat_callback()
        def chat(self, messages: list[dict[str, Any]], **kwargs: Any) -> str:
            return f"sure, your key {ANTHROPIC_KEY} is noted"

    llm = LLM()
    llm.chat(
        [{"role": "user", "content": f"my key is {OPENAI_KEY}"}],
        api_key=PLAIN,
        extra_headers={"Authorization": f"Bearer {BEARER}"},
    )
    with pytest.raises(PermissionError), llm_run(model="m", prompt=f"try {OPENAI_KEY}", callbacks=manager):
        raise PermissionError(f"Incorrect API key provided: {OPENAI_KEY}")
    with llm_run(model="m", prompt="stream", streaming=True, callbacks=manager) as run:
        run.token("plain ")
        run.token("tokens")
        run.finish(input_tokens=1, output_tokens=2)
    with tool_run("login", arguments={"password": PLAIN, "q": f"Bearer {BEARER}"}, callbacks=manager) as t:
        t.finish(result={"token": PLAIN, "echo": OPENAI_KEY})
    with pytest.raises(ValueError), tool_run("bad", callbacks=manager):
        raise ValueError(f"tool saw {OPENAI_KEY}")
    with agent_run(goal=f"use {OPENAI_KEY}", callbacks=manager) as agent:
        agent.step(action="call", action_input={"api_key": PLAIN}, observation=f"got {ANTHROPIC_KEY}")
        agent.finish(result=f"done with {OPENAI_KEY}")
    with node_run("n", inputs={"secret": PLAIN}, callbacks=manager) as node:
        node.finish(outputs={"cookie": PLAIN})
    with chain_run("c", inputs={"q": OPENAI_KEY}, callbacks=manager) as chain:
        chain.finish(result=[OPENAI_KEY])
    with retrieval_run(query=f"find {OPENAI_KEY}", callbacks=manager) as r:
        r.finish(documents=[{"text": f"doc with {ANTHROPIC_KEY}", "api_key": PLAIN}])
    # families that producers build by hand go through redact_event
    for ev in (
        MCPLoggingEvent(server_name="s", data={"authorization": f"Bearer {BEARER}"}),
        MCPProgressEvent(server_name="s", progress=1, message=f"using {OPENAI_KEY}"),
        RealtimeConnectedEvent(session_config={"api_key": PLAIN}),
        RealtimeResponseEvent(text=f"key {OPENAI_KEY}"),
        RealtimeErrorEvent(error=PermissionError(f"bad key {ANTHROPIC_KEY}")),
        VLMInferenceCompletedEvent(text=f"I read {OPENAI_KEY} on the screen"),
    ):
        manager.emit(redact_event(ev))


def _assert_no_canary(where: str, text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, (
            f"{canary!r} leaked into {where}: ...{text[text.find(canary) - 80 :][:200]}"
        )


def test_canary_reaches_no_handler_and_no_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Canary keys sent through every event family reach no event, built-in handler, file or log."""
    caplog.set_level(logging.DEBUG)
    out, chunks = io.StringIO(), []
    rec = RecordingCallbacks()
    builtins = _builtin_handlers(tmp_path, out, chunks)
    manager = CallbackManager([rec, *builtins, _Failing()])
    _families(manager)
    for h in builtins:
        if hasattr(h, "close"):
            h.close()
    families = {e.type.split(".")[0] for e in rec.events}
    assert families >= {"llm", "tool", "agent", "graph", "chain", "retrieval", "mcp", "realtime", "vlm"}
    for e in rec.events:
        _assert_no_canary(f"{e.type} event", json.dumps(e.to_dict()) + repr(e))
    _assert_no_canary("PrintCallbacks output", out.getvalue())
    captured = capsys.readouterr()
    _assert_no_canary("stdout/stderr", captured.out + captured.err)
    _assert_no_canary("StreamingProgress chunks", repr(chunks))
    for path in tmp_path.iterdir():
        _assert_no_canary(path.name, path.read_text(errors="replace"))
    assert caplog.records, "the failing handler must have been logged"
    _assert_no_canary("log messages", caplog.text)
    for record in caplog.records:
        _assert_no_canary("log record fields", repr(record.__dict__))
    for h in builtins:
        _assert_no_canary(f"{type(h).__name__} state", repr(vars(h)))


async def test_canary_async_paths() -> None:
    """The async forms (``async with``, ``afinish``, async decorated calls) redact the same way."""
    from llmhooks.instrument import instrument_llm

    rec = RecordingCallbacks()

    @instrument_llm(model="m", callbacks=rec)
    async def ask(prompt: str, **kwargs: Any) -> str:
        await asyncio.sleep(0)
        return f"echo {OPENAI_KEY}"

    await ask(f"with {OPENAI_KEY}", token=PLAIN)
    async with tool_run("t", arguments={"password": PLAIN}, callbacks=rec) as t:
        await t.afinish(result=OPENAI_KEY)
    assert len(rec.events) == 4
    for e in rec.events:
        _assert_no_canary(e.type, json.dumps(e.to_dict()))


def test_canary_in_run_metadata() -> None:
    """Run metadata from ``run_context`` is redacted too."""
    rec = RecordingCallbacks()
    with run_context(metadata={"api_key": PLAIN}), llm_run(model="m", callbacks=rec) as run:
        run.finish(response="x")
    for e in rec.events:
        _assert_no_canary(e.type, json.dumps(e.to_dict()))


def test_start_event_keeps_clean_fields_untouched() -> None:
    """Redaction changes only what matches: numbers, flags and clean strings are as given."""
    rec = RecordingCallbacks()
    messages = [{"role": "user", "content": "hello"}]
    with llm_run(model="m", messages=messages, temperature=0.5, max_tokens=9, callbacks=rec) as run:
        run.finish(response="ok")
    start = rec.of_type(LLMStartEvent)[0]
    assert start.messages is messages and start.temperature == 0.5 and start.max_tokens == 9
