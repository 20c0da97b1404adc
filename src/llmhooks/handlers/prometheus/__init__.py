"""Prometheus metrics for everything runs do, and for the handlers themselves.

    from llmhooks.handlers.prometheus import PrometheusCallbacks
    set_global_callbacks([PrometheusCallbacks()])

Needs the ``prometheus`` extra: ``pip install 'llmhooks[prometheus]'``.
"""

from __future__ import annotations

from llmhooks.handlers.prometheus.callbacks import (
    LATENCY_BUCKETS,
    TOOL_BUCKETS,
    TTFT_BUCKETS,
    PrometheusCallbacks,
)

__all__ = ["LATENCY_BUCKETS", "TOOL_BUCKETS", "TTFT_BUCKETS", "PrometheusCallbacks"]
