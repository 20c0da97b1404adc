"""The run scope that makes a run's span the current OpenTelemetry span inside the run.

The core calls ``enter(run)`` when a run becomes current in a context (its start
event already delivered, so its span exists) and ``exit(run, token)`` when it stops
being current; it asks ``ambient_trace_id()`` when a root run opens, so a run inside
a foreign trace (a web request traced by another instrumentation) takes that trace's id.

``exit`` may run in another context than ``enter`` (a generator finished elsewhere,
a stream closed by the garbage collector). OpenTelemetry's ``detach`` then logs
"Failed to detach context"; here the token is reset only in its own context, and in
any other the previous context is restored only where the run's span is still current.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from llmhooks.handlers.otel._watch import PENDING

__all__ = ["SpanScope"]


class SpanScope:
    """Attaches the span of a run (from ``live``: run id -> object with ``span``) while it is current.

    It holds the handler's table of open runs, not the handler, so a handler dropped
    by its owner is collected (and its finalizer unregisters this scope).
    """

    __slots__ = ("_live",)

    def __init__(self, live: Mapping[str, Any]) -> None:
        self._live = live

    def enter(self, run: Any) -> Any:
        """Make the run's span current here; returns what ``exit`` needs, or None."""
        live = self._live.get(run.run_id)
        if live is None:
            return None
        span = live.span
        if span is None:
            if live.pending is None:
                return None
            # a pending LLM run: no span yet, but the span watch must find the run in here
            return otel_context.attach(otel_context.set_value(PENDING, live)), None
        return otel_context.attach(trace.set_span_in_context(span)), span

    def exit(self, run: Any, token: Any) -> None:
        """Undo ``enter``, in whatever context this runs."""
        if token is None:
            return
        otel_token, span = token
        if not isinstance(otel_token, contextvars.Token):  # another runtime context: its own rules
            otel_context.detach(otel_token)
            return
        try:
            otel_token.var.reset(otel_token)
        except ValueError:  # created in another Context
            if span is not None and trace.get_current_span() is span:
                old = otel_token.old_value
                otel_token.var.set(otel_context.Context() if old is contextvars.Token.MISSING else old)
        except RuntimeError:  # reset twice: nothing left to undo
            pass

    def ambient_trace_id(self) -> str | None:
        """The trace id of the current OpenTelemetry span, if there is a valid one."""
        ctx = trace.get_current_span().get_span_context()
        return f"{ctx.trace_id:032x}" if ctx.is_valid else None
