"""What LangChain's objects carry, as llmhooks event fields (messages, usage, documents...).

    usage_fields(llm_result)   # {"response": ..., "input_tokens": 12, "finish_reason": "stop", ...}

Pure functions over duck-typed LangChain objects: nothing here imports LangChain or
decides which run an event belongs to (that is ``_translate``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "bubble_up_outputs",
    "document_dict",
    "message_dict",
    "model_name",
    "runnable_name",
    "token_text",
    "tool_outcome",
    "usage_fields",
    "user_tags",
]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "function"}


def user_tags(tags: list[str] | None) -> list[str] | None:
    """The caller's own tags, without LangChain's internal ones."""
    # LangChain's own tags ("seq:step:1", "graph:step:2", "langsmith:hidden") all contain ':'
    if not tags:
        return None
    kept = [t for t in tags if ":" not in t]
    return kept or None


def runnable_name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str | None) -> Any:
    """A runnable's name: the ``name`` LangChain passes, else its serialized name or class."""
    name = kwargs.get("name") or (serialized or {}).get("name")
    if not name:
        ids = (serialized or {}).get("id")
        name = ids[-1] if isinstance(ids, list) and ids else default
    return name


def message_dict(message: Any) -> Any:
    """A LangChain message as an OpenAI-style ``{"role", "content", ...}`` dict."""
    role = getattr(message, "type", None)
    if role is None:
        return message
    out: dict[str, Any] = {"role": _ROLES.get(role, role), "content": getattr(message, "content", None)}
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = tool_calls
    tool_call_id = getattr(message, "tool_call_id", None)
    if tool_call_id:
        out["tool_call_id"] = tool_call_id
    return out


def token_text(token: Any) -> str:
    """The text of a streamed token: a string, or the text parts of a list of content blocks."""
    if isinstance(token, str):
        return token
    if isinstance(token, list):  # content blocks (e.g. Anthropic through LangChain)
        parts = []
        for block in token:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return ""


def model_name(serialized: dict[str, Any] | None, metadata: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """The model: LangSmith's metadata, then the invocation params, then the model's class."""
    params = kwargs.get("invocation_params") or {}
    for value in (
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        params.get("model_id"),
        kwargs.get("name"),
    ):
        if value:
            return value
    ids = (serialized or {}).get("id")
    return ids[-1] if isinstance(ids, list) and ids else None


def usage_fields(response: Any) -> dict[str, Any]:
    """Usage, text, finish reason and tool calls of a LangChain ``LLMResult``."""
    fields: dict[str, Any] = {}
    generations = getattr(response, "generations", None) or []
    gen = generations[0][0] if generations and generations[0] else None
    message = getattr(gen, "message", None)
    if gen is not None:
        fields["response"] = gen.text
        info = getattr(gen, "generation_info", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        reason = info.get("finish_reason") or meta.get("finish_reason") or meta.get("stop_reason")
        if reason:
            fields["finish_reason"] = str(reason)
        model = meta.get("model_name") or meta.get("model")
        if isinstance(model, str) and model:
            fields["response_model"] = model
        answer_id = meta.get("id")  # the provider's; message.id may be a LangChain run id
        if isinstance(answer_id, str) and answer_id:
            fields["response_id"] = answer_id
    if message is not None and getattr(message, "tool_calls", None):
        fields["tool_calls"] = list(message.tool_calls)
    usage = getattr(message, "usage_metadata", None)
    if usage:
        fields["input_tokens"] = usage.get("input_tokens")
        fields["output_tokens"] = usage.get("output_tokens")
        fields["total_tokens"] = usage.get("total_tokens")
        cached = (usage.get("input_token_details") or {}).get("cache_read")
        reasoning = (usage.get("output_token_details") or {}).get("reasoning")
        if cached is not None:
            fields["cached_input_tokens"] = cached
        if reasoning is not None:
            fields["reasoning_tokens"] = reasoning
        return fields
    llm_output = getattr(response, "llm_output", None) or {}
    token_usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
    if isinstance(token_usage, dict) and token_usage:
        fields["input_tokens"] = token_usage.get("prompt_tokens", token_usage.get("input_tokens"))
        fields["output_tokens"] = token_usage.get("completion_tokens", token_usage.get("output_tokens"))
        fields["total_tokens"] = token_usage.get("total_tokens")
    return fields


def tool_outcome(output: Any) -> tuple[bool, Any]:
    """``(failed, result)`` of a tool's output; a ``ToolMessage`` may flag an error."""
    content = getattr(output, "content", output) if hasattr(output, "tool_call_id") else output
    return getattr(output, "status", None) == "error", content


def document_dict(doc: Any) -> Any:
    """A LangChain ``Document`` as ``{"page_content", "metadata", "id"}``."""
    if not hasattr(doc, "page_content"):
        return doc
    out: dict[str, Any] = {
        "page_content": doc.page_content,
        "metadata": dict(getattr(doc, "metadata", {}) or {}),
    }
    if getattr(doc, "id", None):
        out["id"] = doc.id
    return out


def bubble_up_outputs(error: BaseException) -> dict[str, Any]:
    """The node end fields for a LangGraph interrupt or parent command (``__interrupt__``...)."""
    value = error.args[0] if error.args else None
    name = type(error).__name__
    key = "__interrupt__" if name == "GraphInterrupt" else f"__{name}__"
    return {"outputs": {key: value}}
