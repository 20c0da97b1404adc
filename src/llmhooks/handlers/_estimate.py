"""Token estimates for a call that has not been made yet (budgets and rate limits).

No tokenizer is available offline for every model, so the prompt is measured in
characters and rounded up at three characters per token (real tokenizers give
about four for English), plus a few tokens per message: an estimate meant to
err high, because budgets and limits must not be overrun.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmhooks.events import LLMStartEvent
from llmhooks.handlers._values import MAX_TOKENS, usd, wanted_tokens

__all__ = ["CHARS_PER_TOKEN", "estimate_prompt_tokens", "requested_max_tokens", "reserved_cost"]

CHARS_PER_TOKEN = 3
_PER_MESSAGE = 4
_MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _chars(value: Any, depth: int = 0) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if depth > 4:
        return 0
    if isinstance(value, Mapping):
        if "content" in value or "text" in value:
            return _chars(value.get("content"), depth + 1) + _chars(value.get("text"), depth + 1)
        return sum(_chars(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_chars(v, depth + 1) for v in value)
    content = getattr(value, "content", None)  # message objects of SDKs and frameworks
    if content is not None:
        return _chars(content, depth + 1)
    return len(str(value))


def estimate_prompt_tokens(event: LLMStartEvent) -> int:
    """An estimate (erring high) of the input tokens of the call ``event`` starts."""
    messages = event.messages or ()
    chars = _chars(event.prompt) + _chars(messages)
    if event.tools:
        chars += len(str(event.tools))
    return -(-chars // CHARS_PER_TOKEN) + _PER_MESSAGE * len(messages)


def requested_max_tokens(event: LLMStartEvent, owner: Any) -> int | None:
    """The output-token cap the call asked for (``max_tokens`` or its aliases in ``params``).

    Read with ``wanted_tokens``: ``"10"`` is 10, a huge cap is capped, an unreadable one is
    ignored with a warning naming ``owner`` (the handler estimating), so the default applies.
    """
    value = event.max_tokens
    if value is not None:
        if value.__class__ is int and 0 <= value <= MAX_TOKENS:
            return value
        got = wanted_tokens(value, owner, "max_tokens")
        if got is not None:
            return got
    params = event.params
    if params:
        for key in _MAX_TOKEN_KEYS:
            value = params.get(key)
            if value is not None:
                got = wanted_tokens(value, owner, key)
                if got is not None:
                    return got
    return None


def reserved_cost(owner: Any, event: LLMStartEvent) -> float | None:
    """What a budget (``owner``: its ``_estimate``, ``pricer`` and ``default_max_tokens``)
    reserves for the call ``event`` starts, in USD, or None if it cannot be priced.

    A user ``estimate=`` (a number, or a function of the event) wins; one that gives NaN, a
    negative number or a non-number counts as unknown (logged). Otherwise the pricer prices
    the estimated prompt and the requested (or default) output tokens.
    """
    est = owner._estimate
    if est is not None:
        value = est if isinstance(est, (int, float)) else est(event)
        if value is not None:
            return usd(value, owner, "estimate")
    if owner.pricer is None:
        return None
    max_out = requested_max_tokens(event, owner)
    cost = owner.pricer.cost(
        event.provider,
        event.model,
        estimate_prompt_tokens(event),
        owner.default_max_tokens if max_out is None else max_out,
        timestamp=event.timestamp,
    )
    return None if cost is None else cost.usd
