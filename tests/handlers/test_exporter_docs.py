"""docs/otel.md and docs/prometheus.md name every attribute and metric the exporters write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^(gen_ai|mcp|llmhooks|error|network)\.[a-z0-9_]+(\.[a-z0-9_]+)*$")


def test_the_otel_page_names_every_name_of_the_conventions_module() -> None:
    """Each attribute, metric and event name in conventions.py appears on the page."""
    pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")
    from llmhooks.handlers.otel import conventions as C

    page = (ROOT / "docs" / "otel.md").read_text()
    internal = {C.PENDING_CONTEXT_KEY}  # an OpenTelemetry context key: never exported
    names = {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str) and NAME.match(v)}
    missing = sorted(n for n in names - internal if f"`{n}" not in page)
    assert missing == [], f"docs/otel.md does not name: {missing}"


def test_the_prometheus_page_names_every_metric_family() -> None:
    """Each metric a ``PrometheusCallbacks`` registers appears in full on the page."""
    pytest.importorskip("prometheus_client", reason="needs the prometheus extra")
    from prometheus_client import CollectorRegistry

    from llmhooks import PrometheusCallbacks

    registry = CollectorRegistry()
    handler = PrometheusCallbacks(registry)
    try:
        page = (ROOT / "docs" / "prometheus.md").read_text()
        names = {m.name + ("_total" if m.type == "counter" else "") for m in registry.collect()}
        assert len(names) > 20
        missing = sorted(n for n in names if f"`{n}`" not in page)
        assert missing == [], f"docs/prometheus.md does not name: {missing}"
    finally:
        handler.close()
