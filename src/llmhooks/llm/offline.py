"""The offline provider: a small deterministic stand-in for an LLM, so demos and tests need no network.

It is not a language model. Given the same messages it always gives the same answer:

- after tool results (``role: "tool"`` messages), it reports them:
  ``"The result of add is 4."``;
- when tools are offered and the last user message names one (``get_weather``, or
  ``get weather``), it calls it, arguments filled from the prompt by the tool's JSON
  schema (see ``_offline_args``); ``tool_choice`` ``"required"`` or a named tool
  forces a call, ``"none"`` prevents it;
- simple arithmetic is computed (``"What is 2+2?"`` -> ``"4"``), greetings are
  answered, a story is told when asked for, and anything else is echoed
  (``"You said: ..."``).

Its tokens are whitespace-separated words: ``input_tokens`` counts the words of
every message, ``output_tokens`` the words of the answer (one ``LLMTokenEvent``
each when streamed, word by word), so counts are exact for this model and are not
marked estimated. ``max_tokens`` cuts the answer to that many words
(``finish_reason="length"``). Option ``token_delay`` (seconds) paces streamed words.
"""

from __future__ import annotations

import ast
import asyncio
import json
import operator
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llmhooks.llm._offline_args import extract_arguments
from llmhooks.llm.messages import content_text
from llmhooks.llm.providers.base import ChatRequest, Provider, StreamItem
from llmhooks.llm.response import ChatResponse, ToolCall, Usage

__all__ = ["OfflineProvider", "split_words"]

_WORDS = re.compile(r"\s*\S+")
_GREETING = re.compile(r"^\s*(hi|hello|hey|howdy|greetings|good (morning|afternoon|evening))\b", re.I)
_WORD_OPS = (
    (re.compile(r"\bmultiplied by\b|\btimes\b", re.I), "*"),
    (re.compile(r"\bdivided by\b|\bover\b", re.I), "/"),
    (re.compile(r"\bplus\b", re.I), "+"),
    (re.compile(r"\bminus\b", re.I), "-"),
    (re.compile(r"\bto the power of\b", re.I), "**"),
)
_EXPR = re.compile(r"[-+*/%^().\d\s\u00d7\u00f7x]*\d[-+*/%^().\d\s\u00d7\u00f7x]*")
_BINOPS: dict[type[ast.operator], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_STORY = (
    "Once upon a time a small program wanted to know what its language model was doing. "
    "It added a few hooks, and every call, token and tool told it their story. "
    "From then on nothing happened in the dark, and the program slept well."
)
GREETING = "Hello! I am the offline model of llmhooks, a small deterministic stand-in that needs no network."


def split_words(text: str) -> list[str]:
    """Word deltas with their leading spaces, joining back to ``text`` (trailing space aside)."""
    return _WORDS.findall(text)


def _count(text: str) -> int:
    return len(text.split())


class OfflineProvider(Provider):
    """The deterministic offline stand-in (see the module docstring)."""

    name = "offline"
    default_model = "llmhooks-offline"

    def __init__(self, *, token_delay: float = 0.0) -> None:
        if token_delay < 0:
            raise ValueError(f"token_delay must be >= 0, got {token_delay}")
        self.token_delay = token_delay

    # the model

    def answer(self, request: ChatRequest) -> ChatResponse:
        """The answer to ``request``; the same request always gets the same answer."""
        messages = request.messages
        calls: list[ToolCall] = []
        if messages[-1].get("role") == "tool":
            text = _report_tool_results(messages)
        else:
            prompt = _last_user_text(messages)
            calls = _tool_calls(prompt, request, messages)
            text = "" if calls else _text_answer(prompt)
        finish = "tool_calls" if calls else "stop"
        if request.max_tokens is not None and _count(text) > request.max_tokens:
            text = "".join(split_words(text)[: max(request.max_tokens, 0)]).lstrip()
            finish = "length"
        input_tokens = sum(_message_words(m) for m in messages)
        output_tokens = _count(text) + sum(_count(c.name + " " + json.dumps(c.arguments)) for c in calls)
        usage = Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
            cached_input_tokens=0,
            reasoning_tokens=0,
        )
        return ChatResponse(
            text=text,
            tool_calls=calls,
            finish_reason=finish,
            usage=usage,
            model=request.model,
            provider="offline",
        )

    # Provider

    def _delay(self, request: ChatRequest) -> float:
        delay = request.options.get("token_delay", self.token_delay)
        return float(delay or 0.0)

    def complete(self, request: ChatRequest) -> ChatResponse:
        return self.answer(request)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return self.answer(request)

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        response = self.answer(request)
        delay = self._delay(request)
        for piece in split_words(response.text):
            if delay:
                time.sleep(delay)
            yield piece
        yield response

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        response = self.answer(request)
        delay = self._delay(request)
        for piece in split_words(response.text):
            if delay:
                await asyncio.sleep(delay)
            yield piece
        yield response


def _message_words(message: dict[str, Any]) -> int:
    n = _count(content_text(message.get("content")))
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        n += _count(f"{fn.get('name', '')} {fn.get('arguments', '')}")
    return n


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def _report_tool_results(messages: list[dict[str, Any]]) -> str:
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            names[call.get("id", "")] = (call.get("function") or {}).get("name", "")
    parts = []
    for result in results:
        name = names.get(result.get("tool_call_id", "")) or result.get("name") or "the tool"
        parts.append((name, content_text(result.get("content")).strip()))
    if len(parts) == 1:
        name, value = parts[0]
        return f"The result of {name} is {value}."
    return "Results: " + "; ".join(f"{name}: {value}" for name, value in parts) + "."


def _mentions(prompt: str, name: str) -> re.Match[str] | None:
    spaced = re.escape(name).replace("_", "[_ ]").replace("\\-", "[- ]")
    return re.search(rf"(?<![\w]){spaced}(?![\w])", prompt, re.IGNORECASE)


def _tool_calls(prompt: str, request: ChatRequest, messages: list[dict[str, Any]]) -> list[ToolCall]:
    tools = request.tools or []
    choice = request.tool_choice
    if not tools or choice == "none":
        return []
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    forced: str | None = None
    if isinstance(choice, dict):
        forced = (choice.get("function") or {}).get("name") or choice.get("name")
    hits = sorted((m.start(), m.end(), name) for name in by_name if (m := _mentions(prompt, name)))
    if forced in by_name:
        hits = [h for h in hits if h[2] == forced] or [(0, 0, forced)]
    elif not hits and choice in ("required", "any"):
        hits = [(0, 0, next(iter(by_name)))]
    turn = 1 + sum(1 for m in messages if m.get("role") == "assistant")
    calls = []
    for i, (start, end, name) in enumerate(hits):
        # arguments come from the words after the tool's name (up to the next tool named),
        # else from the whole prompt without the name
        stop = hits[i + 1][0] if i + 1 < len(hits) else len(prompt)
        schema = by_name[name].get("parameters")
        args = extract_arguments(schema, prompt[end:stop])
        required = (schema or {}).get("required") or list((schema or {}).get("properties") or ())
        if any(r not in args for r in required):
            wider = extract_arguments(schema, prompt[:start] + " " + prompt[end:])
            args = {**wider, **args}
        calls.append(ToolCall(id=f"call_{turn}_{i}", name=name, arguments=args))
    return calls


def _text_answer(prompt: str) -> str:
    value = _arithmetic(prompt)
    if value is not None:
        return value
    if _GREETING.search(prompt):
        return GREETING
    if re.search(r"\bstor(y|ies)\b", prompt, re.IGNORECASE):
        return _STORY
    text = " ".join(prompt.split())
    return f"You said: {text}" if text else "I received an empty message."


def _arithmetic(prompt: str) -> str | None:
    text = prompt
    for pattern, symbol in _WORD_OPS:
        text = pattern.sub(symbol, text)
    best: str | None = None
    for m in _EXPR.finditer(text):
        candidate = m.group(0).strip()
        if re.search(r"\d\s*(\*\*|[-+*/%^\u00d7\u00f7x])\s*[-(]*\s*\d", candidate):
            best = candidate
            break
    if best is None:
        return None
    expr = best.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/").replace("x", "*")
    try:
        value = _evaluate(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 100 or abs(left) > 1e6):
            raise ValueError("exponent too large")
        return _BINOPS[type(node.op)](left, right)  # type: ignore[no-any-return]
    raise ValueError("not arithmetic")
