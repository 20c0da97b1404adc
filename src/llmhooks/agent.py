"""``Agent``: a tool-calling loop over our ``LLM``, reporting every step as events.

    agent = Agent(tools=[get_weather, add], callbacks=PrintCallbacks())
    agent.run("What is 2 + 2?")            # or: await agent.arun(...)

One run: agent start, then per model call an LLM start/end, then for each tool call the
model asked for (several run in parallel) a tool start/end or error, an agent step, and
so on until the model answers without tool calls or ``max_steps`` is reached; then agent
end. A tool that raises, gets bad arguments or does not exist gives a tool error event
and the model sees the error text as the tool's result; the agent goes on. Every child
run ends before the agent's; a stream stopped early by its reader ends the model call in
progress, then the agent run with ``incomplete=True`` (see ``Agent.stream``). MCP tools
(which report their own tool runs) work in ``run`` and ``arun`` alike. See docs/agent.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmhooks.core.context import CallbacksLike, _flatten, callbacks_context
from llmhooks.core.executor import ContextExecutor
from llmhooks.core.generators import aisolated, isolated
from llmhooks.core.runs import agent_run, tool_run
from llmhooks.errors import Abort, MaxStepsExceeded
from llmhooks.tools import Tool, ToolArgumentError, as_tools
from llmhooks.vlm import IMAGE_PART_TYPES, scan_images

if TYPE_CHECKING:
    from llmhooks.llm import LLM, ChatStream
    from llmhooks.llm.response import ToolCall

__all__ = ["Agent", "AgentResult", "MaxStepsExceeded"]


@dataclass
class AgentResult:
    """What an agent run produced: the final text, the steps taken and the conversation."""

    output: str
    steps: int
    messages: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.output


class Agent:
    """Runs an LLM with tools until it answers.

    Args:
        tools: plain functions (sync or async), ``Tool`` objects, or MCP tools.
        llm: the model; default ``LLM()`` (the offline provider when no API key is set).
        callbacks: handlers for everything this agent does (its LLM and tool runs too).
        max_steps: most model calls in one run.
        system_prompt: prepended as a system message.
        name: reported as ``agent_name``.
        raise_on_max_steps: raise ``MaxStepsExceeded`` instead of returning the last text.
    """

    def __init__(
        self,
        tools: Sequence[Callable[..., Any] | Tool] = (),
        *,
        llm: LLM | None = None,
        callbacks: CallbacksLike = None,
        max_steps: int = 10,
        system_prompt: str | None = None,
        name: str = "agent",
        raise_on_max_steps: bool = False,
    ) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.tools = as_tools(tools)
        self._by_name = {t.name: t for t in self.tools}
        if llm is None:
            from llmhooks.llm import LLM

            llm = LLM()
        self.llm = llm
        self.callbacks = _flatten(callbacks)
        self.max_steps = max_steps
        self.system_prompt = system_prompt
        self.name = name
        self.raise_on_max_steps = raise_on_max_steps

    # conversation

    def _start_messages(self, goal: str | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        if isinstance(goal, str):
            messages.append({"role": "user", "content": goal})
        else:
            messages.extend(dict(m) for m in goal)
        return messages

    # sync

    def run(self, goal: str | Sequence[dict[str, Any]]) -> AgentResult:
        """Run to a final answer (sync). Tool calls of one model turn run in parallel threads."""
        messages = self._start_messages(goal)
        with callbacks_context(self.callbacks), agent_run(goal=_goal_text(goal), agent_name=self.name) as run:
            for step in range(1, self.max_steps + 1):
                response = self.llm.chat(messages, tools=self.tools)
                messages.append(response.to_message())
                if not response.tool_calls:
                    run.step(action="final_answer", observation=response.text)
                    return self._finish(run, response.text, step, messages)
                results = self._call_tools(response.tool_calls)
                messages.extend(results)
                run.step(**_step_fields(response.tool_calls, results))
            return self._out_of_steps(run, messages)

    def _call_tools(self, calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
        if len(calls) == 1:
            return [self._call_tool(calls[0])]
        with ContextExecutor(max_workers=min(8, len(calls))) as pool:
            return list(pool.map(self._call_tool, calls))

    def _call_tool(self, call: ToolCall) -> dict[str, Any]:
        tool = self._by_name.get(call.name)
        refused = self._refusal(call, tool)
        if refused is not None:
            return self._report(call, tool, refused)
        assert tool is not None
        if tool.emits_events:  # MCP tools report their own tool run
            try:
                return call.result_message(tool.invoke(call.arguments, tool_call_id=call.id))
            except Abort:
                raise  # a handler refused the call: stop the agent, as for any run
            except Exception as exc:
                return call.result_message(_error_text(exc))
        try:
            with tool_run(
                tool.name, arguments=call.arguments, tool_call_id=call.id, server_name=tool.server_name
            ) as run:
                result = tool.invoke(call.arguments)
                run.finish(result=result)
        except Abort:
            raise
        except Exception as exc:
            return call.result_message(_error_text(exc))
        return call.result_message(result)

    def _refusal(self, call: ToolCall, tool: Tool | None) -> Exception | None:
        """Why ``call`` cannot be made at all, for what would not report it as a tool run itself."""
        if tool is None:
            known = ", ".join(self._by_name) or "none"
            return LookupError(f"unknown tool {call.name!r}; available tools: {known}")
        if tool.emits_events:  # it reports its run only once called: its arguments are checked here
            try:
                tool.validate(call.arguments)
            except ToolArgumentError as exc:
                return exc
        return None

    def _report(self, call: ToolCall, tool: Tool | None, error: Exception) -> dict[str, Any]:
        """A tool run that fails with ``error`` before the tool is called (as a local tool's would)."""
        try:
            with tool_run(**_run_fields(call, tool)):
                raise error
        except Exception as exc:
            if exc is not error:  # an Abort from a start handler
                raise
        return call.result_message(_error_text(error))

    async def _areport(self, call: ToolCall, tool: Tool | None, error: Exception) -> dict[str, Any]:
        """Async ``_report``: async handlers are awaited."""
        try:
            async with tool_run(**_run_fields(call, tool)):
                raise error
        except Exception as exc:
            if exc is not error:
                raise
        return call.result_message(_error_text(error))

    # async

    async def arun(self, goal: str | Sequence[dict[str, Any]]) -> AgentResult:
        """Run to a final answer (async). Tool calls of one model turn are gathered."""
        messages = self._start_messages(goal)
        with callbacks_context(self.callbacks):
            async with agent_run(goal=_goal_text(goal), agent_name=self.name) as run:
                for step in range(1, self.max_steps + 1):
                    response = await self.llm.achat(messages, tools=self.tools)
                    messages.append(response.to_message())
                    if not response.tool_calls:
                        await run.astep(action="final_answer", observation=response.text)
                        return await self._afinish(run, response.text, step, messages)
                    results = await asyncio.gather(*(self._acall_tool(c) for c in response.tool_calls))
                    messages.extend(results)
                    await run.astep(**_step_fields(response.tool_calls, results))
                return await self._aout_of_steps(run, messages)

    async def _acall_tool(self, call: ToolCall) -> dict[str, Any]:
        tool = self._by_name.get(call.name)
        refused = self._refusal(call, tool)
        if refused is not None:
            return await self._areport(call, tool, refused)
        assert tool is not None
        if tool.emits_events:
            try:
                return call.result_message(await tool.ainvoke(call.arguments, tool_call_id=call.id))
            except Abort:
                raise  # a handler refused the call: stop the agent, as for any run
            except Exception as exc:
                return call.result_message(_error_text(exc))
        try:
            async with tool_run(
                tool.name, arguments=call.arguments, tool_call_id=call.id, server_name=tool.server_name
            ) as run:
                result = await tool.ainvoke(call.arguments)
                await run.afinish(result=result)
        except Abort:
            raise
        except Exception as exc:
            return call.result_message(_error_text(exc))
        return call.result_message(result)

    # streaming of the final answer

    def stream(self, goal: str | Sequence[dict[str, Any]]) -> Iterator[str]:
        """Run the loop, yielding the model's text as it streams (``"\\n"`` between turns).

        Stopped early (``break`` then dropped, ``close()``): the model call in progress
        ends first (``llm.end``, ``incomplete=True``), then the agent run ends with
        ``incomplete=True`` and ``result`` the text of that call so far; no error event.
        The generator runs in its own context (``isolated``): the agent's run and
        handlers stay out of the code that consumes the stream.
        """
        return isolated(self._stream(goal))

    def _stream(self, goal: str | Sequence[dict[str, Any]]) -> Generator[str, None, None]:
        messages = self._start_messages(goal)
        with callbacks_context(self.callbacks), agent_run(goal=_goal_text(goal), agent_name=self.name) as run:
            turn: ChatStream | None = None
            try:
                for step in range(1, self.max_steps + 1):
                    # the with block closes the model call's run before the agent's, whatever stops us
                    with self.llm.stream(messages, tools=self.tools) as turn:
                        yielded = False
                        for delta in turn:
                            yielded = True
                            yield delta
                    response = turn.response
                    assert response is not None  # read to the end above
                    messages.append(response.to_message())
                    if not response.tool_calls:
                        run.step(action="final_answer", observation=response.text)
                        self._finish(run, response.text, step, messages)
                        return
                    if yielded:
                        yield "\n"
                    results = self._call_tools(response.tool_calls)
                    messages.extend(results)
                    run.step(**_step_fields(response.tool_calls, results))
                self._out_of_steps(run, messages)
            except GeneratorExit:  # the consumer stopped reading: an early stop, not a failure
                run.finish(result=turn.text if turn is not None else "", incomplete=True)
                raise

    def astream(self, goal: str | Sequence[dict[str, Any]]) -> AsyncIterator[str]:
        """Async ``stream`` (``await aclose()`` stops it early the same way), also in its own context."""
        return aisolated(self._astream(goal))

    async def _astream(self, goal: str | Sequence[dict[str, Any]]) -> AsyncGenerator[str, None]:
        messages = self._start_messages(goal)
        with callbacks_context(self.callbacks):
            async with agent_run(goal=_goal_text(goal), agent_name=self.name) as run:
                turn: ChatStream | None = None
                paused = False  # True while the consumer holds a delta: what is thrown in then is theirs
                try:
                    for step in range(1, self.max_steps + 1):
                        async with self.llm.stream(messages, tools=self.tools) as turn:
                            yielded = False
                            async for delta in turn:
                                yielded = True
                                paused = True
                                yield delta
                                paused = False
                        response = turn.response
                        assert response is not None  # read to the end above
                        messages.append(response.to_message())
                        if not response.tool_calls:
                            await run.astep(action="final_answer", observation=response.text)
                            await self._afinish(run, response.text, step, messages)
                            return
                        if yielded:
                            paused = True
                            yield "\n"
                            paused = False
                        results = await asyncio.gather(*(self._acall_tool(c) for c in response.tool_calls))
                        messages.extend(results)
                        await run.astep(**_step_fields(response.tool_calls, results))
                    await self._aout_of_steps(run, messages)
                except (GeneratorExit, asyncio.CancelledError) as exc:
                    # a cancellation thrown in while paused comes from the loop finalising a
                    # dropped stream at shutdown (its aclose task cancelled before it ran):
                    # an early stop like GeneratorExit, not a cancelled run
                    if isinstance(exc, GeneratorExit) or paused:
                        await run.afinish(result=turn.text if turn is not None else "", incomplete=True)
                    raise

    # endings

    def _finish(self, run: Any, text: str, steps: int, messages: list[dict[str, Any]]) -> AgentResult:
        run.finish(result=text)
        return AgentResult(output=text, steps=steps, messages=messages)

    async def _afinish(self, run: Any, text: str, steps: int, messages: list[dict[str, Any]]) -> AgentResult:
        await run.afinish(result=text)
        return AgentResult(output=text, steps=steps, messages=messages)

    def _last_text(self, messages: list[dict[str, Any]]) -> str:
        for m in reversed(messages):
            if m.get("role") == "assistant" and m.get("content"):
                return str(m["content"])
        return ""

    def _out_of_steps(self, run: Any, messages: list[dict[str, Any]]) -> AgentResult:
        if self.raise_on_max_steps:
            raise MaxStepsExceeded(f"{self.name}: no final answer after max_steps={self.max_steps}")
        return self._finish(run, self._last_text(messages), self.max_steps, messages)

    async def _aout_of_steps(self, run: Any, messages: list[dict[str, Any]]) -> AgentResult:
        if self.raise_on_max_steps:
            raise MaxStepsExceeded(f"{self.name}: no final answer after max_steps={self.max_steps}")
        return await self._afinish(run, self._last_text(messages), self.max_steps, messages)


def _goal_text(goal: str | Sequence[dict[str, Any]]) -> str:
    """The last user message as text; an image in it reads as its placeholder, never its data."""
    if isinstance(goal, str):
        return goal
    messages, _ = scan_images(list(goal))
    for m in reversed(messages):
        if m.get("role") == "user":
            return _content_text(m.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if not isinstance(content, list):
        return str(content)
    words = []
    for part in content:
        if not isinstance(part, dict):
            words.append(str(part))
        elif isinstance(part.get("text"), str):
            words.append(part["text"])
        elif part.get("type") in IMAGE_PART_TYPES:
            words.append(_image_text(part))
    return " ".join(words)


def _image_text(part: dict[str, Any]) -> str:
    """What an (already scanned) image part shows in place of the image: its placeholder or URL."""
    value = part.get("image_url") or part.get("source") or part.get("file_id")
    if isinstance(value, dict):
        value = value.get("url") or value.get("data") or value.get("file_id")
    return str(value) if value else "<image>"


def _run_fields(call: ToolCall, tool: Tool | None) -> dict[str, Any]:
    """The tool run of ``call``, named as the tool's own runs are (an MCP tool by its server's name)."""
    fields: dict[str, Any] = {"tool_name": call.name, "arguments": call.arguments, "tool_call_id": call.id}
    if tool is not None:
        fields.update(tool_name=tool.name, server_name=tool.server_name)
        if tool.emits_events:  # as its own runs: its server's name for it, its handlers (callbacks=)
            fields.update(
                tool_name=getattr(tool.fn, "tool_name", None) or tool.name,
                callbacks=getattr(tool.fn, "callbacks", None),
            )
    return fields


def _error_text(exc: BaseException) -> str:
    return f"Error: {type(exc).__name__}: {exc}"


def _step_fields(calls: Sequence[ToolCall], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    names = [c.name for c in calls]
    return {
        "action": names[0] if len(names) == 1 else names,
        "action_input": calls[0].arguments if len(calls) == 1 else [c.arguments for c in calls],
        "observation": [r.get("content") for r in results] if len(results) > 1 else results[0].get("content"),
    }
