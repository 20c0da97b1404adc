"""Seed 001's examples (ai-infra's keyword-style handlers), verbatim apart from imports.

Written once for the two ways a migrating user runs them: subclassing our plain
``Callbacks`` (as the seed writes it) and ``KeywordCallbacks``; ``examples(base)`` defines
them on either.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime
from time import time
from types import SimpleNamespace

__all__ = ["examples"]


def examples(Callbacks: type) -> SimpleNamespace:
    """The seed's example classes, each a subclass of ``Callbacks``."""

    class MyCallbacks(Callbacks):
        async def on_llm_start(self, prompt, **kwargs):
            print(f"Starting LLM call with prompt: {prompt[:50]}...")

        async def on_llm_end(self, response, **kwargs):
            print(f"LLM complete: {response.token_count} tokens")

    class ContextAwareCallbacks(Callbacks):
        async def on_llm_start(self, prompt, **kwargs):
            provider = kwargs.get("provider")
            model = kwargs.get("model")
            request_id = kwargs.get("request_id")
            trace_id = kwargs.get("trace_id")  # noqa: F841 - as the seed wrote it

            print(f"[{request_id}] {provider}/{model}: {prompt[:50]}...")

        async def on_llm_end(self, response, **kwargs):
            tokens = kwargs.get("token_count")
            cost = kwargs.get("cost")
            duration_ms = kwargs.get("duration_ms")

            print(f"Completed in {duration_ms}ms, {tokens} tokens, ${cost:.4f}")

    class CostLimiter(Callbacks):
        def __init__(self, max_cost: float):
            self.max_cost = max_cost
            self.total_cost = 0.0

        async def on_llm_end(self, response, **kwargs):
            cost = kwargs.get("cost", 0)
            self.total_cost += cost

            if self.total_cost >= self.max_cost:
                raise Exception(f"Cost limit ${self.max_cost} exceeded")

    class AuditCallback(Callbacks):
        def __init__(self, audit_log):
            self.audit_log = audit_log

        async def on_llm_start(self, prompt, **kwargs):
            self.audit_log.record({
                "event": "llm_request",
                "timestamp": datetime.utcnow().isoformat(),
                "user_id": kwargs.get("user_id"),
                "prompt_preview": prompt[:100],
                "provider": kwargs.get("provider"),
                "model": kwargs.get("model"),
            })  # fmt: skip

        async def on_tool_start(self, tool_name, args, **kwargs):
            self.audit_log.record({
                "event": "tool_call",
                "timestamp": datetime.utcnow().isoformat(),
                "tool": tool_name,
                "args": args,
            })  # fmt: skip

    class RateLimiter(Callbacks):
        def __init__(self, requests_per_minute: int):
            self.rpm = requests_per_minute
            self.timestamps = deque()  # type: ignore[var-annotated]

        async def on_llm_start(self, prompt, **kwargs):
            now = time()

            # Remove timestamps older than 1 minute
            while self.timestamps and self.timestamps[0] < now - 60:
                self.timestamps.popleft()

            # Wait if at limit
            if len(self.timestamps) >= self.rpm:
                wait_time = 60 - (now - self.timestamps[0])
                await asyncio.sleep(wait_time)

            self.timestamps.append(now)

    class ProgressReporter(Callbacks):
        def __init__(self, on_progress):
            self.on_progress = on_progress
            self.step = 0

        async def on_agent_step(self, step, **kwargs):
            self.step += 1
            self.on_progress({
                "step": self.step,
                "action": step.action,
                "status": "in_progress",
            })  # fmt: skip

        async def on_agent_end(self, result, **kwargs):
            self.on_progress({
                "step": self.step,
                "status": "complete",
                "result": result,
            })  # fmt: skip

    return SimpleNamespace(
        MyCallbacks=MyCallbacks,
        ContextAwareCallbacks=ContextAwareCallbacks,
        CostLimiter=CostLimiter,
        AuditCallback=AuditCallback,
        RateLimiter=RateLimiter,
        ProgressReporter=ProgressReporter,
    )
