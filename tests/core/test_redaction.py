"""Redaction: secrets never reach a handler; contents can be switched off; nothing else changes."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import logging
import threading
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


# issue 10: what passed redaction untouched


def _reachable_text(value: Any) -> str:
    """Every string reachable from ``value`` (containers, attributes, exception chains), joined."""
    seen: set[int] = set()
    parts: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, (str, bytes)):
            parts.append(v if isinstance(v, str) else v.decode("latin-1"))
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            stack.extend(v)
        elif isinstance(v, BaseException):
            stack.extend([v.args, vars(v), v.__cause__, v.__context__])
        elif hasattr(v, "__dict__") and not isinstance(v, type):
            stack.append(vars(v))
            stack.extend(getattr(v, "__pydantic_extra__", None) or {})
        elif hasattr(type(v), "__slots__"):
            stack.extend(getattr(v, s, None) for s in type(v).__slots__)
    return "\n".join(parts)


def test_langgraph_state_messages_are_redacted_and_stay_messages() -> None:
    """LangChain messages in graph inputs/outputs: redacted copies of the same type; clean ones untouched."""
    pytest.importorskip("langgraph", reason="needs langgraph")
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    from llmhooks.integrations.langchain import CallbackHandler

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(content=f"noted, your key is {ANTHROPIC_KEY}")]}

    graph = StateGraph(MessagesState)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    rec = RecordingCallbacks()
    asked = HumanMessage(content=f"my key is {OPENAI_KEY}", additional_kwargs={"api_key": PLAIN})
    greeting = HumanMessage(content="hello there, nice to meet you")
    graph.compile().invoke({"messages": [greeting, asked]}, config={"callbacks": [CallbackHandler(rec)]})
    node = next(e for e in rec.events if e.type == "graph.node_start")
    first, second = node.inputs["messages"]  # type: ignore[attr-defined]
    assert isinstance(second, HumanMessage) and second.content == "my key is [REDACTED]"
    assert second.additional_kwargs == {"api_key": REDACTED}
    assert first.content == "hello there, nice to meet you" and first.id == greeting.id
    assert asked.content == f"my key is {OPENAI_KEY}"  # the caller's message is untouched
    for e in rec.events:
        _assert_no_canary(f"{e.type} event", json.dumps(e.to_dict()) + _reachable_text(vars_of(e)))


def vars_of(event: Event) -> dict[str, Any]:
    return {f: getattr(event, f) for f in event.__dataclass_fields__}


def test_sets_dataclasses_models_and_objects_are_redacted() -> None:
    """Sets, frozensets, dataclasses, pydantic models and plain objects: copies of the same type."""
    import dataclasses

    import pydantic

    @dataclasses.dataclass(frozen=True)
    class Config:
        name: str
        password: str
        note: str = ""

    class Model(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")
        title: str
        token: str | None = None

    class Client:
        def __init__(self) -> None:
            self.base_url = "https://api.example.com"
            self._api_key = PLAIN
            self.history = [f"used {OPENAI_KEY}"]

    payload = {
        "tags": {f"key {OPENAI_KEY}", "plain"},
        "frozen": frozenset({OPENAI_KEY}),
        "config": Config(name="db", password=PLAIN, note=f"via {ANTHROPIC_KEY}"),
        "model": Model(title=f"see {OPENAI_KEY}", token=PLAIN, extra_field=f"Bearer {BEARER}"),
        "client": Client(),
    }
    out = redact_value(payload)
    assert out["tags"] == {"key [REDACTED]", "plain"} and isinstance(out["frozen"], frozenset)
    config, model, client = out["config"], out["model"], out["client"]
    assert type(config) is Config and (config.name, config.password) == ("db", REDACTED)
    assert type(model) is Model and model.title == "see [REDACTED]" and model.token == REDACTED
    assert (
        type(client) is Client
        and client._api_key == REDACTED
        and client.base_url == "https://api.example.com"
    )
    _assert_no_canary("redacted objects", _reachable_text(out))
    _assert_no_canary("their to_dict()", json.dumps(LLMStartEvent(params=out).to_dict()))
    assert payload["config"].password == PLAIN  # the caller's objects are untouched
    clean = {"config": Config(name="db", password=""), "set": {"a", "b"}}
    assert redact_value(clean) is clean


@pytest.mark.parametrize(
    ("key", "value"),
    [("pw", PLAIN), ("pass", PLAIN), ("jwt", PLAIN), ("dsn", "postgres://db/app"), ("database_url", PLAIN),
     ("otp", "123456"), ("pin", 4321), ("DB_PASS", PLAIN), ("sentryDsn", PLAIN), ("x-api-key", PLAIN)],
)  # fmt: skip
def test_more_secret_key_names(key: str, value: Any) -> None:
    """pw, pass, jwt, dsn, database_url, otp, pin (numbers too) and their variants are secrets."""
    assert redact_value({key: value}) == {key: REDACTED}


def test_key_named_key_is_replaced_only_when_it_looks_like_a_credential() -> None:
    """``key`` often names a dict key or a setting: its value is replaced only if credential-shaped."""
    names = {"key": "theme", "items": [{"key": "user_id", "value": 3}, {"key": "messages.0.content"}]}
    assert redact_value(names) is names
    out = redact_value(
        {"mailgun": {"key": "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"}, "key": "a1B2c3D4e5F6g7H8"}
    )
    assert out == {"mailgun": {"key": REDACTED}, "key": REDACTED}
    assert redact_value({"max_tokens": 5, "token_count": 2, "sort_key": "name"}) == {
        "max_tokens": 5, "token_count": 2, "sort_key": "name",
    }  # fmt: skip


def test_header_pairs_are_redacted() -> None:
    """``[("Authorization", "Bearer ...")]`` and httpx's raw ``(b"authorization", b"...")`` pairs."""
    out = redact_value({"headers": [("Authorization", f"Basic {PLAIN}"), ("Accept", "application/json")]})
    assert out == {"headers": [("Authorization", REDACTED), ("Accept", "application/json")]}
    raw = redact_value([(b"host", b"api.example.com"), (b"x-api-key", PLAIN.encode())])
    assert raw == [(b"host", b"api.example.com"), (b"x-api-key", REDACTED.encode())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic dXNlcjpodW50ZXIy", "Authorization: Basic [REDACTED]"),
        ('{"Authorization": "Basic dXNlcjpodW50ZXIy"}', '{"Authorization": "Basic [REDACTED]"}'),
        ("Cookie: session=abc123; theme=dark", "Cookie: [REDACTED]"),
        ("host=db user=app password=hunter2 dbname=shop", "host=db user=app password=[REDACTED] dbname=shop"),
        ("host=db password='two words' port=5432", "host=db password='[REDACTED]' port=5432"),
        ("Server=db;Uid=app;Pwd=hunter2;Database=shop", "Server=db;Uid=app;Pwd=[REDACTED];Database=shop"),
        ('{"password": "hun\\"ter2", "user": "ann"}', '{"password": "[REDACTED]", "user": "ann"}'),
        ("DB_PASSWORD=hunter2 GITHUB_TOKEN=abc123", "DB_PASSWORD=[REDACTED] GITHUB_TOKEN=[REDACTED]"),
        ("use Bearer abc123 here", "use Bearer [REDACTED] here"),
        ("postgres://app:p@ss@w0rd@db.internal:5432/shop", "postgres://app:[REDACTED]@db.internal:5432/shop"),
        ("mcp-server --api-key CANARY1 --verbose", "mcp-server --api-key [REDACTED] --verbose"),
        ("mcp-server --api-key=CANARY1", "mcp-server --api-key=[REDACTED]"),
        ("['--token', 'CANARY1', '--port', '80']", "['--token', '[REDACTED]', '--port', '80']"),
        ("curl -u admin:hunter2 https://x", "curl -u admin:[REDACTED] https://x"),
    ],
)
def test_more_secret_shapes_in_text(text: str, expected: str) -> None:
    """Basic auth, cookies, libpq/ODBC passwords, short bearer tokens, "@" in URL passwords, CLI flags."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the bearer of bad news",
        "Bearer token in the Authorization header",
        "--max-tokens 100 --token-limit 5",
        "Enter your password: ",
        "max_tokens=100",
        "https://example.com:443/docs@latest",
        "ssh://git@github.com:22/repo.git",
    ],
)
def test_lookalikes_are_left_alone(text: str) -> None:
    """Prose and options that only resemble the new shapes pass unchanged."""
    assert redact_text(text) is text


def _chain(depth: int, secret: str) -> BaseException:
    """An exception chain ``depth`` long whose innermost exception names ``secret``."""
    error: BaseException = KeyError(f"lookup failed with {secret}")
    for i in range(depth - 1):
        try:
            raise RuntimeError(f"level {i}") from error
        except RuntimeError as exc:
            error = exc
    return error


def test_exception_chains_of_any_length_are_redacted() -> None:
    """A secret 10 exceptions down a chain is replaced; the copy keeps types and links."""
    original = _chain(10, OPENAI_KEY)
    copy = get_redactor().exception(original)
    assert isinstance(copy, RuntimeError) and copy is not original
    links, e = [], copy
    while e is not None:
        links.append(type(e).__name__)
        e = e.__cause__
    assert links == ["RuntimeError"] * 9 + ["KeyError"]
    _assert_no_canary("exception chain", _reachable_text(copy))
    assert OPENAI_KEY in _reachable_text(original)


def test_exception_chain_beyond_the_limit_is_cut_not_passed() -> None:
    """Past MAX_CHAIN exceptions the chain is cut from the copy: what was not checked is not passed on."""
    from llmhooks.core.redaction._exceptions import MAX_CHAIN

    copy = get_redactor().exception(_chain(MAX_CHAIN + 20, OPENAI_KEY))
    assert isinstance(copy, RuntimeError)
    _assert_no_canary("long chain", _reachable_text(copy))


def test_tags_user_id_and_tool_call_id_are_redacted() -> None:
    """Identity fields copied onto every event are redacted once per run, and by redact_event."""
    rec = RecordingCallbacks()
    with run_context(user_id=f"user {OPENAI_KEY}", tags=[f"key={OPENAI_KEY}", "beta"]):
        with tool_run("search", tool_call_id=f"call {ANTHROPIC_KEY}", callbacks=rec) as t:
            t.finish(result="ok")
        with llm_run(model="m", tags=[f"Bearer {BEARER}"], callbacks=rec) as run:
            run.token("hi")
            run.finish()
    assert rec.events[0].tags == ["key=[REDACTED]", "beta"] and rec.events[0].user_id == "user [REDACTED]"
    assert rec.events[0].tool_call_id == "call [REDACTED]"  # type: ignore[attr-defined]
    assert rec.events[-1].tags == ["key=[REDACTED]", "beta", "Bearer [REDACTED]"]
    for e in rec.events:
        _assert_no_canary(e.type, json.dumps(e.to_dict()))
    built = redact_event(MCPProgressEvent(server_name="s", user_id=OPENAI_KEY, tags=[OPENAI_KEY]))
    assert built.user_id == REDACTED and built.tags == [REDACTED]


async def test_mcp_start_error_quoting_the_command_line_leaks_no_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real MCP stdio server command that cannot start: its --api-key/--token reach no event or log."""
    pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")
    import sys

    from llmhooks.handlers.logging import LoggingCallbacks
    from llmhooks.integrations.mcp import MCPClient, MCPConnectionError

    server = Path(__file__).parents[1] / "integrations" / "mcp_servers" / "tools_server.py"
    caplog.set_level(logging.DEBUG)
    rec = RecordingCallbacks()
    handlers = CallbackManager([rec, LoggingCallbacks(level=logging.INFO, include_payloads=True)])
    for flags in (["--api-key", "CANARYk1"], ["--api-key=CANARYk1"], ["--token", "CANARYk1"]):
        config = {"name": "tools", "command": sys.executable, "args": [str(server), "stdio", *flags]}
        client = MCPClient([{**config, "cwd": "/no/such/directory"}], callbacks=handlers)
        with pytest.raises(MCPConnectionError, match="could not start"):
            async with agent_run(goal="use the tools", callbacks=handlers):
                await client.connect()
    assert [e.type for e in rec.events].count("agent.error") == 3
    for e in rec.events:
        _assert_no_canary(e.type, json.dumps(e.to_dict()) + _reachable_text(vars_of(e)))
    _assert_no_canary("log lines", caplog.text + repr([r.__dict__ for r in caplog.records]))


# issue 10: hangs and cost


def _shared(levels: int) -> dict[str, Any]:
    """A dict whose two children are one dict, ``levels`` deep: 2**levels paths, levels+1 dicts."""
    node: dict[str, Any] = {"leaf": "nothing secret down here"}
    for _ in range(levels):
        node = {"left": node, "right": node}
    return node


@pytest.mark.timeout(30)
def test_shared_and_self_referencing_structures_take_linear_time() -> None:
    """2**30 paths through 31 dicts, and a dict referencing itself twice, finish (each dict once)."""
    shared = _shared(30)
    assert redact_value(shared) is shared
    loop: dict[str, Any] = {"text": "hello"}
    loop["a"] = loop
    loop["b"] = [loop, loop]
    assert redact_value(loop) is loop


def test_a_cycle_with_a_secret_is_copied_with_its_cycles() -> None:
    """The copy of a self-referencing dict points to the copy, never back to the caller's dict."""
    loop: dict[str, Any] = {"password": PLAIN, "note": f"key {OPENAI_KEY}"}
    loop["self"] = loop
    loop["list"] = [loop, {"back": loop}]
    out = redact_value(loop)
    assert out is not loop and out["self"] is out and out["list"][0] is out and out["list"][1]["back"] is out
    assert out["password"] == REDACTED and out["note"] == "key [REDACTED]"
    _assert_no_canary("copied cycle", _reachable_text(out))
    assert loop["password"] == PLAIN


@pytest.mark.timeout(30)
def test_jwt_like_text_is_scanned_in_linear_time() -> None:
    """2 MB of '-eyJ...' runs (quadratic for the old pattern: minutes) is scanned in one pass."""
    text = "eyJhbGciOi-" * 200_000
    assert Redactor(time_budget=float("inf")).text(text) is text


def test_big_clean_strings_are_remembered() -> None:
    """A clean history over 64 KB is scanned once, not on every call that carries it."""
    calls: list[int] = []

    def rule(s: str) -> str:
        calls.append(len(s))
        return s

    r = Redactor(redact=rule)
    history = "a long and perfectly clean conversation line\n" * 20_000  # 900 KB
    for _ in range(3):
        assert (
            r.value({"messages": [{"role": "user", "content": history}]})["messages"][0]["content"] is history
        )
    assert calls.count(len(history)) == 1


def test_node_budget_fails_closed() -> None:
    """Past max_nodes, what was not checked is replaced by a marker, never passed on."""
    r = Redactor(max_nodes=10)
    out = r.value([{"text": f"note {i}: {PLAIN}-{i}"} for i in range(50)])
    assert len(out) == 50
    assert all(isinstance(item, dict) or "not checked" in item for item in out)
    assert sum(1 for item in out if isinstance(item, str)) >= 40
    _assert_no_canary("over budget", _reachable_text([i for i in out if isinstance(i, str)]))


def test_time_budget_fails_closed() -> None:
    """Past the CPU-time budget, the unchecked rest of a long text is replaced by a marker."""
    r = Redactor(time_budget=1e-9)
    text = ("line with nothing secret\n" * 40_000) + f"tail {OPENAI_KEY}\n"  # 1 MB
    out = r.text(text)
    assert "chars not checked]" in out and OPENAI_KEY not in out
    assert out.startswith("line with nothing secret")


def test_too_deep_fails_closed() -> None:
    """Below 32 levels of nesting, values are replaced by a marker."""
    deep: Any = f"key {PLAIN}"
    for _ in range(40):
        deep = [deep]
    out = redact_value({"deep": deep})
    _assert_no_canary("too deep", _reachable_text(out))
    assert "nested deeper than" in _reachable_text(out)


class _Stuck(Exception):
    """An exception whose ``__str__`` never returns until the test lets it."""

    release = threading.Event()

    def __str__(self) -> str:
        self.release.wait()
        return "finally"


@pytest.mark.timeout(30)
def test_exception_whose_str_never_returns_does_not_block_the_caller() -> None:
    """The error event is emitted and serialised; the message is reported unavailable."""
    rec = RecordingCallbacks()
    try:
        with pytest.raises(_Stuck), llm_run(model="m", callbacks=rec):
            raise _Stuck("x")
        error = rec.events[-1]
        assert error.type == "llm.error"
        assert error.error == "_Stuck: [REDACTED: message unavailable]"  # type: ignore[attr-defined]
        assert json.loads(json.dumps(error.to_dict()))["error_type"] == "_Stuck"
    finally:
        _Stuck.release.set()


def test_same_output_from_cold_and_warm_caches() -> None:
    """The cache pre-check returns exactly what the full walk returned (same objects when clean)."""
    payloads = [
        {
            "messages": [{"role": "user", "content": "hello there, how are you today?"}],
            "params": {"top_p": 1},
        },
        {"messages": [{"role": "user", "content": f"key {OPENAI_KEY}"}, {"role": "tool", "content": None}]},
        {"inputs": {"messages": [{"role": "user", "content": "what is up?"}], "step": 1, "pair": ("a", "b")}},
        {"headers": [("Authorization", "Bearer abc"), ("Accept", "x")], "key": "name"},
    ]
    for payload in payloads:
        cold = Redactor()
        first = cold.fields(payload)
        second = cold.fields(payload)
        assert first == second
        if first is payload:
            assert second is payload
        for name, value in payload.items():
            assert (first[name] is value) == (second[name] is value)


def test_budgets_are_checked_at_construction() -> None:
    """A budget that is not a positive number is refused by name."""
    with pytest.raises(ValueError, match="time_budget"):
        Redactor(time_budget=0)
    with pytest.raises(TypeError, match="max_nodes"):
        Redactor(max_nodes="many")  # type: ignore[arg-type]


def test_the_anchor_scan_finds_what_the_full_patterns_find() -> None:
    """The cheap two-step scan gives exactly the matches of the full patterns, on varied text."""
    import random

    from llmhooks.core.redaction._rules import rules
    from llmhooks.core.redaction._text import find_secrets

    pieces = [
        f"key={OPENAI_KEY}", "Bearer abc123", "Authorization: Basic dXNl", "password='a b'", "Pwd=x;",
        "postgres://u:p@ss@h/db", "--api-key v", "['--token', 'v']", "?sig=abc&x=1", "eyJhbGciOi.eyJzdWIi.s",
        "AKIAABCDEFGHIJKLMNOP", "GITHUB_TOKEN=x", '"api_key": "v"', "-----BEGIN RSA PRIVATE KEY-----\nMII",
        "curl -u a:b", "İ", "é", " ", "\n", "-", "_", ":", "=", '"', "'", "@", "/", "?", "&", "key", "Token",
        "sk-", "eyJ", "--", "password", "x" * 30, "the bearer of news",
    ]  # fmt: skip
    rng = random.Random(10)
    full = rules().secrets
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        found, cut = find_secrets(text, None)
        assert cut is None
        assert [m.span() for m in found] == [m.span() for m in full.finditer(text)], text


def test_namedtuple_fields_are_redacted_by_name_and_keep_their_type() -> None:
    """Cred(user, password, token): the password goes (its field name says so), the type stays,
    and to_dict() shows the same shape as for a clean one, with the value replaced."""
    import collections

    Cred = collections.namedtuple("Cred", "user password token")
    Point = collections.namedtuple("Point", "x y")
    rec = RecordingCallbacks()
    clean = Point(1, 2)
    with llm_run(
        provider="openai",
        model="m",
        prompt="hi",
        callbacks=[rec],
        metadata={"cred": Cred("bob", "hunter2", "t0ps3cr3t"), "point": clean, "pair": ("pin", "1234")},
    ) as run:
        run.finish(response="ok")
    metadata = rec.events[0].metadata
    cred = metadata["cred"]
    assert type(cred) is Cred and cred.user == "bob"
    assert cred.password == REDACTED and cred.token == REDACTED
    assert metadata["point"] is clean  # nothing to hide: the very same object
    as_dict = rec.events[0].to_dict()["metadata"]
    assert as_dict["cred"] == ["bob", REDACTED, REDACTED]
    assert as_dict["point"] == [1, 2]
    assert "hunter2" not in json.dumps(rec.events[0].to_dict())
