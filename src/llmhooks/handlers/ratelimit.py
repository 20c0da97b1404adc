"""``RateLimiter``: delay LLM calls to stay within requests and tokens per period.

    limiter = RateLimiter(requests_per_minute=60, tokens_per_minute=90_000)
    llm = LLM(provider="openai", callbacks=[limiter])

On ``llm.start`` each call takes a ticket under a lock: the earliest start time
at which it keeps both limits, never earlier than the ticket before it. The call
then waits until that time (``time.sleep`` in sync code, ``await asyncio.sleep``
in async code, so other tasks run meanwhile) instead of failing. Tickets are
handed out in arrival order and their times never decrease, so calls start in
the order they asked: no call is overtaken, however many threads and tasks compete.

Requests: at most ``requests_per_minute`` starts in any ``period`` seconds
(sliding window). Tokens: each call reserves its estimated tokens at its start
time (prompt at about three characters per token, plus ``max_tokens`` or
``default_max_tokens``); its ``llm.end`` replaces the estimate with the real
``total_tokens``. A call is admitted when the tokens of the last ``period``
seconds plus its estimate fit, or when nothing else is in the window (so one call
larger than the limit still runs, alone). ``max_wait`` turns waits longer than
it into ``RateLimitExceeded`` (an ``Abort``) raised before the call is made.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque

from llmhooks._validate import check_int, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import RateLimitExceeded
from llmhooks.events import LLMEndEvent, LLMErrorEvent, LLMStartEvent
from llmhooks.handlers._estimate import estimate_prompt_tokens, requested_max_tokens
from llmhooks.handlers._values import usage

__all__ = ["RateLimiter"]


class RateLimiter(Callbacks):
    """Delays LLM calls to keep within ``requests_per_minute`` and ``tokens_per_minute``.

    Args:
        requests_per_minute: most calls started in any ``period`` seconds.
        tokens_per_minute: most tokens (estimated at start, real once ended) in any ``period``.
        period: the window, in seconds (60 by default; shorter in tests).
        max_wait: longest delay accepted; a call that would wait longer raises
            ``RateLimitExceeded`` instead (None: wait as long as needed).
        default_max_tokens: output tokens assumed for a call without ``max_tokens``.

    Raises:
        TypeError: an argument of the wrong kind (a string for a number...).
        ValueError: no limit given, a limit or period that is not positive, a NaN or infinite
            ``period`` or ``max_wait``.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        *,
        period: float = 60.0,
        max_wait: float | None = None,
        default_max_tokens: int = 0,
    ) -> None:
        check_int("requests_per_minute", requests_per_minute, minimum=1, allow_none=True)
        check_int("tokens_per_minute", tokens_per_minute, minimum=1, allow_none=True)
        if requests_per_minute is None and tokens_per_minute is None:
            raise ValueError("RateLimiter needs requests_per_minute=... and/or tokens_per_minute=...")
        check_number("period", period, minimum=0, exclusive_minimum=True)
        check_number("max_wait", max_wait, minimum=0, allow_none=True)
        check_int("default_max_tokens", default_max_tokens, minimum=0)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.period = float(period)
        self.max_wait = max_wait
        self.default_max_tokens = default_max_tokens
        self._lock = threading.Lock()
        self._last = -math.inf  # the latest ticket's start time: tickets never go back
        self._starts: deque[float] = deque()  # the last `requests_per_minute` ticket times
        self._window: deque[list[float]] = deque()  # [start time, tokens], oldest first
        self._window_tokens = 0.0
        self._entries: dict[str, list[float]] = {}
        self._delayed = 0
        self._waited = 0.0

    # admission

    def _ticket(self, event: LLMStartEvent) -> float:
        """Take this call's start time; return how long to wait for it (seconds)."""
        tpm = self.tokens_per_minute
        est = 0
        if tpm is not None:
            max_out = requested_max_tokens(event, self)
            est = estimate_prompt_tokens(event) + (self.default_max_tokens if max_out is None else max_out)
        rpm = self.requests_per_minute
        period = self.period
        with self._lock:
            now = time.monotonic()
            t = now if now > self._last else self._last
            if rpm is not None and len(self._starts) >= rpm:
                t = max(t, self._starts[0] + period)
            if tpm is not None:
                window = self._window
                cutoff = now - period
                while window and window[0][0] <= cutoff:
                    self._window_tokens -= window.popleft()[1]
                used = self._window_tokens
                for start, tokens in window:  # oldest first: wait for entries to leave until this fits
                    if start > t - period:
                        if used + est <= tpm:
                            break
                        t = start + period
                    used -= tokens
            wait = t - now
            if self.max_wait is not None and wait > self.max_wait:
                raise RateLimitExceeded(
                    f"rate limit: this call would wait {wait:.3f}s, more than max_wait={self.max_wait}s "
                    f"({self.requests_per_minute} requests / {self.tokens_per_minute} tokens per {period:g}s)"
                )
            self._last = t
            if rpm is not None:
                self._starts.append(t)
                if len(self._starts) > rpm:
                    self._starts.popleft()
            if tpm is not None:
                entry = [t, float(est)]
                self._window.append(entry)
                self._window_tokens += est
                self._entries[event.run_id] = entry
            if wait > 0:
                self._delayed += 1
                self._waited += wait
        return wait

    def on_llm_start(self, event: LLMStartEvent) -> None:
        """Sync code: sleep until this call's turn."""
        wait = self._ticket(event)
        if wait > 0:
            time.sleep(wait)

    async def on_llm_start_async(self, event: LLMStartEvent) -> None:
        """Async code: ``await asyncio.sleep`` until this call's turn."""
        wait = self._ticket(event)
        if wait > 0:
            await asyncio.sleep(wait)

    # accounting

    def on_llm_end(self, event: LLMEndEvent) -> None:
        """Replace the call's token estimate with what it really used."""
        if self.tokens_per_minute is None:
            return
        i, o, actual, _c, _r = usage(event, self)  # NaN would poison the window for good
        if actual is None and (i is not None or o is not None):
            actual = (i or 0) + (o or 0)
        with self._lock:
            entry = self._entries.pop(event.run_id, None)
            if entry is None or actual is None:
                return
            if entry[0] > time.monotonic() - self.period:  # still counted in the window
                self._window_tokens += actual - entry[1]
                entry[1] = float(actual)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        """Forget the call (its estimate stays counted: the provider may have counted it too)."""
        if self.tokens_per_minute is not None:
            with self._lock:
                self._entries.pop(event.run_id, None)

    # state

    def stats(self) -> dict[str, float]:
        """``delayed`` calls, ``waited_s`` in total, and ``window_tokens`` counted now."""
        with self._lock:
            return {"delayed": self._delayed, "waited_s": self._waited, "window_tokens": self._window_tokens}
