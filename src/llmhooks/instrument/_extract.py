"""Read what an LLM call was given and gave back, duck-typed.

Handles plain strings and dicts, LlamaIndex-style ``ChatResponse`` /
``CompletionResponse`` objects (``.message.content``, ``.text``, ``.delta``,
``.raw``), OpenAI- and Anthropic-shaped responses (``choices``, ``content``
blocks, ``usage``). Nothing here raises: an unreadable object yields ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "delta_of",
    "describe_model",
    "split_input",
    "text_of",
    "usage_of",
]

_MODEL_ATTRS = ("model", "model_name", "model_id", "deployment_name", "engine")
_PARAM_ATTRS = (
    "top_p", "top_k", "max_new_tokens", "max_output_tokens", "context_window", "num_output",
    "frequency_penalty", "presence_penalty", "seed", "stop", "is_chat_model",
    "is_function_calling_model", "reasoning_effort", "timeout", "max_retries",
)  # fmt: skip
_PARAM_SET = frozenset(_PARAM_ATTRS)
_WANTED = frozenset((*_MODEL_ATTRS, *_PARAM_ATTRS, "provider", "temperature", "max_tokens", "callbacks"))
_PLAIN = (str, int, float, bool)
_MISSING = object()


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


# messages and prompt


def _message(m: Any) -> Any:
    if type(m) is dict:
        return m
    if isinstance(m, str):
        return {"role": "user", "content": m}
    role = getattr(m, "role", None) or getattr(m, "type", None)
    if role is None:
        return m
    role = getattr(role, "value", role)  # enums such as LlamaIndex MessageRole
    try:
        content = m.content
    except Exception:
        content = None
    return {"role": str(role), "content": content}


def split_input(value: Any) -> tuple[list[Any] | None, str | None]:
    """``(messages, prompt)`` from a call's first input: a string is a prompt,
    a sequence is messages (message objects become ``{"role", "content"}`` dicts)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return None, value
    if isinstance(value, (list, tuple)):
        if type(value) is list:
            for m in value:
                if type(m) is not dict:
                    break
            else:  # already plain dicts: passed as they are (redaction copies if it must)
                return value, None
        return [_message(m) for m in value], None
    if isinstance(value, Mapping) and "role" in value:
        return [dict(value)], None
    if getattr(value, "role", None) is not None:
        return [_message(value)], None
    return None, None


# responses


def _blocks_text(blocks: Any) -> str | None:
    parts = []
    for b in blocks:
        text = b.get("text") if isinstance(b, Mapping) else getattr(b, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts) if parts else None


def text_of(obj: Any) -> str | None:
    """The text of a response: a string, ``.message.content``, ``.text``,
    ``.content`` (string or blocks), ``choices[0]``, or the same keys of a dict."""
    if obj is None or isinstance(obj, str):
        return obj
    try:
        if isinstance(obj, Mapping):
            for key in ("content", "text", "response", "output_text"):
                v = obj.get(key)
                if isinstance(v, str):
                    return v
            message = obj.get("message")
            if message is not None:
                return text_of(message)
            choices = obj.get("choices")
            if choices:
                return text_of(choices[0])
            return None
        message = getattr(obj, "message", None)
        if message is not None and not isinstance(message, str):
            content = getattr(message, "content", None)
            if isinstance(content, str):
                return content
        for attr in ("text", "content", "output_text"):
            v = getattr(obj, attr, None)
            if isinstance(v, str):
                return v
            if attr == "content" and isinstance(v, list):
                return _blocks_text(v)
        choices = getattr(obj, "choices", None)
        if choices:
            first = choices[0]
            msg = getattr(first, "message", None)
            if msg is not None:
                return text_of(msg)
            return text_of(first)
    except Exception:
        return None
    return None


def delta_of(item: Any) -> str:
    """The new text a streamed item carries: ``.delta`` first (LlamaIndex puts the
    running text in ``.text``/``.message.content``), else the item's text."""
    if isinstance(item, str):
        return item
    try:
        delta = item.get("delta") if isinstance(item, Mapping) else getattr(item, "delta", None)
        if isinstance(delta, str):
            return delta
        if delta is not None:
            text = text_of(delta)
            if text is not None:
                return text
        choices = item.get("choices") if isinstance(item, Mapping) else getattr(item, "choices", None)
        if choices:
            d = getattr(choices[0], "delta", None)
            if d is None and isinstance(choices[0], Mapping):
                d = choices[0].get("delta")
            if d is not None:
                text = text_of(d)
                return text or ""
    except Exception:
        return ""
    return text_of(item) or ""


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_of(obj: Any) -> dict[str, Any]:
    """End-event fields read from a response: token counts and finish reason.

    Looks in ``obj.raw`` (LlamaIndex), ``obj.usage``, ``obj["usage"]`` and
    ``obj.additional_kwargs``; returns only what it found.
    """
    out: dict[str, Any] = {}
    if obj is None or isinstance(obj, (str, bytes)):
        return out
    try:
        sources = [obj]
        raw = _get(obj, "raw")
        if raw is not None:
            sources.insert(0, raw)
        extra = _get(obj, "additional_kwargs")
        if isinstance(extra, Mapping):
            sources.append(extra)
        for src in sources:
            usage = _get(src, "usage")
            if usage is None and _get(src, "prompt_tokens") is not None:
                usage = src
            if usage is not None:
                i = _int(_get(usage, "input_tokens"))
                if i is None:
                    i = _int(_get(usage, "prompt_tokens"))
                o = _int(_get(usage, "output_tokens"))
                if o is None:
                    o = _int(_get(usage, "completion_tokens"))
                t = _int(_get(usage, "total_tokens"))
                if i is not None:
                    out["input_tokens"] = i
                if o is not None:
                    out["output_tokens"] = o
                if t is not None:
                    out["total_tokens"] = t
                details = _get(usage, "prompt_tokens_details")
                cached = _int(_get(details, "cached_tokens")) if details is not None else None
                read = _int(_get(usage, "cache_read_input_tokens"))
                written = _int(_get(usage, "cache_creation_input_tokens"))
                if read is not None or written is not None:
                    # Anthropic's input_tokens leaves cache reads and writes out; ours counts them
                    cached = read
                    if i is not None:
                        out["input_tokens"] = i = i + (read or 0) + (written or 0)
                        if t is not None or o is not None:
                            out["total_tokens"] = i + (o or 0)
                    if written is not None:
                        out["cache_write_input_tokens"] = written
                if cached is not None:
                    out["cached_input_tokens"] = cached
                details = _get(usage, "completion_tokens_details")
                reasoning = _int(_get(details, "reasoning_tokens")) if details is not None else None
                if reasoning is not None:
                    out["reasoning_tokens"] = reasoning
                break
        for src in sources:
            reason = _get(src, "finish_reason") or _get(src, "stop_reason")
            if reason is None:
                choices = _get(src, "choices")
                if choices:
                    reason = _get(choices[0], "finish_reason")
            if isinstance(reason, str):
                out["finish_reason"] = reason
                break
    except Exception:
        return out
    return out


# the model, read from ``self`` without secrets


_class_attrs: dict[type, tuple[dict[str, Any], bool]] = {}


def _class_info(cls: type) -> tuple[dict[str, Any], bool]:
    """Plain class-level values of the wanted names, and whether ``metadata`` is defined."""
    info = _class_attrs.get(cls)
    if info is None:
        values: dict[str, Any] = {}
        has_metadata = False
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if name == "metadata":
                    has_metadata = True
                elif name in _WANTED and _plain(value):
                    values[name] = value
        info = (values, has_metadata)
        _class_attrs[cls] = info
    return info


def _instance_values(obj: Any) -> tuple[dict[str, Any], Any]:
    """The wanted values ``obj`` has (``callbacks`` aside), and its ``callbacks`` (or _MISSING)."""
    values, has_metadata = _class_info(type(obj))
    own = getattr(obj, "__dict__", None)
    found = values
    callbacks = _MISSING
    if own is not None:
        hits = own.keys() & _WANTED
        if hits:
            found = dict(values)
            for name in hits:
                found[name] = own[name]
            callbacks = found.pop("callbacks", _MISSING)
    else:  # slotted classes: read the wanted names one by one
        found = dict(values)
        for name in _WANTED:
            v = getattr(obj, name, _MISSING)
            if v is not _MISSING:
                found[name] = v
        callbacks = found.pop("callbacks", _MISSING)
    if has_metadata and (own is None or "metadata" not in own):
        try:
            meta = obj.metadata  # LlamaIndex: a property giving LLMMetadata
        except Exception:
            meta = None
        if meta is not None:
            meta_values = meta if isinstance(meta, Mapping) else getattr(meta, "__dict__", {})
            extra = {
                k: meta_values[k] for k in meta_values.keys() & _WANTED if k not in found and k != "callbacks"
            }
            if extra:
                found = {**found, **extra}
    return found, callbacks


def describe_model(obj: Any) -> dict[str, Any]:
    """What ``obj`` (an LLM object) says about its model: provider, model,
    temperature, max_tokens, plus plain tuning values under ``params``, and its
    ``callbacks``. Only whitelisted names are read, so keys, tokens and clients on
    the object never reach an event."""
    try:
        found, callbacks = _instance_values(obj)
    except Exception:
        return {}
    out: dict[str, Any] | None
    try:  # the same values give the same answer: decided once per distinct set of values
        key: Any = (type(obj), *found.items())
        out = _described.get(key)
    except TypeError:  # an unhashable value (a list): decided afresh
        key, out = None, None
    if out is None:
        out = _describe(found)
        if key is not None:
            if len(_described) >= _MAX_DESCRIBED:
                _described.clear()
            _described[key] = out
    if "params" in out:  # the caller's event gets its own copy
        out = {**out, "params": dict(out["params"])}
    if callbacks is not _MISSING:  # never kept in the cache: it would keep handlers alive
        return {**out, "callbacks": callbacks}
    return out


# what each distinct set of values says, bounded (values are plain: strings, numbers, tuples)
_described: dict[Any, dict[str, Any]] = {}
_MAX_DESCRIBED = 256


def _describe(found: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    provider = found.get("provider")
    if isinstance(provider, str):
        out["provider"] = provider
    for name in _MODEL_ATTRS:
        v = found.get(name)
        if isinstance(v, str) and v:
            out["model"] = v
            break
    t = found.get("temperature")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        out["temperature"] = t
    m = found.get("max_tokens")
    if _int(m) is not None:
        out["max_tokens"] = m
    names = found.keys() & _PARAM_SET
    if names:
        params = {name: found[name] for name in _PARAM_ATTRS if name in names and _plain(found[name])}
        if params:
            out["params"] = params
    return out
