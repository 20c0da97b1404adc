"""Recordings made by real producers, once per session, in JSONL and SQLite at the same time.

- ``agent_rec``: an ``Agent`` on the offline provider streaming its answer, with a local
  tool, a local tool that raises, and tools of the bundled MCP server (a real stdio
  process): one call fails (unknown country), one reports progress and a log message.
- ``graph_rec``: a LangGraph graph (model node, then a ``ToolNode`` running two tool
  calls, one of which divides by zero) through ``CallbackHandler``.
- ``sdk_rec``: instrumented ``openai`` and ``anthropic`` clients against the local wire
  server: a streamed and a plain call inside an agent run, an Anthropic stream, a
  call the server fails.

Each also keeps what ``PrintCallbacks`` printed live, and the raw JSON lines, so tests
can check the viewer against both without going through it.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests._raised import raised

from llmhooks import CostTracker, EventRecorder, PrintCallbacks, agent_run, callbacks_context, run_context

PRICES = {
    "offline*": {"input": 0.15, "output": 0.60},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "claude-haiku*": {"input": 0.80, "output": 4.00},
    "GenericFakeChatModel": {"input": 1.0, "output": 2.0},
}
AGENT_GOAL = (
    "Use lookup_capital for Atlantis, unit_convert with value=5 from_unit=km to_unit=m, "
    "add 19 and 23, and explode with reason=boom"
)
SECRET = "sk-viewertest0123456789abcdefABCDEF"


@dataclass
class Made:
    """One recording: its two files, what PrintCallbacks printed live, and the raw records."""

    jsonl: Path
    db: Path
    live: str
    raw: list[dict[str, Any]] = field(default_factory=list)

    def of(self, type_name: str) -> list[dict[str, Any]]:
        """The raw records of one event type."""
        return [r for r in self.raw if r["type"] == type_name]


def _record(folder: Path, name: str, body: Any) -> Made:
    """Run ``body(handlers)`` with a CostTracker, a live PrintCallbacks and both recorders."""
    live = io.StringIO()
    jsonl, db = folder / f"{name}.jsonl", folder / f"{name}.db"
    with EventRecorder(jsonl) as to_jsonl, EventRecorder(db) as to_db:
        handlers = [
            CostTracker(prices=PRICES, use_genai_prices=False),
            PrintCallbacks(file=live, color=False),
            to_jsonl,
            to_db,
        ]
        body(handlers)
    raw = [json.loads(line) for line in jsonl.read_text().splitlines()]
    return Made(jsonl=jsonl, db=db, live=live.getvalue(), raw=raw)


# -- agent with local and MCP tools ------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def explode(reason: str) -> str:
    """Always fails (a tool that raises)."""
    raise RuntimeError(f"exploded: {reason}")


def lookup_key(service: str, api_key: str) -> str:
    """Takes a secret argument (the recording must hold it redacted)."""
    return f"looked up {service}"


async def _agent(handlers: list[Any]) -> None:
    from llmhooks.agent import Agent
    from llmhooks.demo_servers import demo_server_config
    from llmhooks.integrations.mcp import MCPClient
    from llmhooks.llm import LLM

    llm = LLM(provider="offline", model="offline-1")
    with callbacks_context(handlers), run_context(user_id="viewer-user", tags=["viewer-test"]):
        async with MCPClient([demo_server_config()]) as mcp:
            agent = Agent(tools=[add, explode, *mcp.tools()], llm=llm, name="helper")
            answer = "".join([d async for d in agent.astream(AGENT_GOAL)])
            assert "42" in answer
            keyed = Agent(tools=[lookup_key], llm=llm, name="keyed")
            await keyed.arun(f"Use lookup_key with service=billing api_key={SECRET}")


@pytest.fixture(scope="session")
def agent_rec(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """An agent run with local and MCP tools (see the module docstring)."""
    pytest.importorskip("mcp", reason="needs the mcp extra")
    folder = tmp_path_factory.mktemp("agent")
    return _record(folder, "agent", lambda handlers: asyncio.run(_agent(handlers)))


# -- LangGraph -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def graph_rec(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A LangGraph graph through the LangChain bridge (see the module docstring)."""
    pytest.importorskip("langgraph", reason="needs the langchain extra")
    from tests.viewer._graph import run_graph

    folder = tmp_path_factory.mktemp("graph")
    return _record(folder, "graph", run_graph)


# -- instrumented SDK streams --------------------------------------------------------------------


@pytest.fixture(scope="session")
def _wire() -> Iterator[Any]:
    from tests.llm._wire import FastWireServer

    with FastWireServer() as server:
        yield server


@pytest.fixture(scope="session")
def sdk_rec(tmp_path_factory: pytest.TempPathFactory, _wire: Any) -> Made:
    """openai and anthropic clients against the local wire server (see the module docstring)."""
    anthropic = pytest.importorskip("anthropic")
    openai = pytest.importorskip("openai")
    from llmhooks import instrument_anthropic, instrument_openai

    server = _wire
    msgs = [{"role": "user", "content": "hello wire"}]

    def body(handlers: list[Any]) -> None:
        oa = instrument_openai(openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0))
        an = instrument_anthropic(anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0))
        with callbacks_context(handlers):
            with agent_run(goal="ask twice", agent_name="sdk-caller"):
                server.reply("a b c d", input_tokens=6, output_tokens=4)
                stream = oa.chat.completions.create(
                    model="gpt-4o-mini", messages=msgs, stream=True, stream_options={"include_usage": True}
                )
                assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "a b c d"
                server.reply("plain answer", input_tokens=8, output_tokens=2)
                oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            server.reply("one two three", input_tokens=5, output_tokens=3)
            with an.messages.stream(model="claude-haiku-4", max_tokens=32, messages=msgs) as s:
                assert "".join(s.text_stream) == "one two three"
            server.fail(500, message="the wire server is down")
            raised(lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=msgs))  # a failed call
        server.reset()

    folder = tmp_path_factory.mktemp("sdk")
    return _record(folder, "sdk", body)
