"""OpenTelemetry export: runs as spans following the GenAI semantic conventions, and their metrics.

    from llmhooks.handlers.otel import OpenTelemetryCallbacks
    set_global_callbacks([OpenTelemetryCallbacks()])

Needs the ``otel`` extra: ``pip install 'llmhooks[otel]'``. Every convention name lives
in ``llmhooks.handlers.otel.conventions``.
"""

from __future__ import annotations

from llmhooks.handlers.otel.callbacks import OpenTelemetryCallbacks

__all__ = ["OpenTelemetryCallbacks"]
