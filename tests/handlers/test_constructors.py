"""Every built-in handler checks its arguments when built: the error names the argument,
what was given and what is allowed, instead of a failure on the first event (or none)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmhooks import (
    CostLimiter,
    CostTracker,
    EventRecorder,
    LoggingCallbacks,
    MetricsCallbacks,
    PrintCallbacks,
    RateLimiter,
    TokenCounter,
)
from llmhooks.handlers.collector import Collector
from llmhooks.handlers.shipping import EventShipper

PRICES = {"m": {"input": 1.0, "output": 1.0}}


class _Exporter:
    def export(self, payloads: Any) -> None:
        pass

    def close(self) -> None:
        pass


class _NotAConsumer:
    def read(self, count: int, block: float) -> list[Any]:
        return []


def _cases(tmp: Path) -> list[tuple[str, Callable[[], object], str, str]]:
    """(label, construction, the argument's name, a piece of what was given)."""
    a_file = tmp / "a-file"
    a_file.write_text("")
    return [
        ("print file name", lambda: PrintCallbacks(file="out.txt"), "file", "'out.txt'"),
        ("print verbose text", lambda: PrintCallbacks(verbose="yes"), "verbose", "'yes'"),
        ("print color text", lambda: PrintCallbacks(color="red"), "color", "'red'"),
        ("print width text", lambda: PrintCallbacks(width="80"), "width", "'80'"),
        ("print width nan", lambda: PrintCallbacks(width=math.nan), "width", "nan"),  # type: ignore[arg-type]
        ("print width negative", lambda: PrintCallbacks(width=-1), "width", "-1"),
        ("print show_tokens int", lambda: PrintCallbacks(show_tokens=1), "show_tokens", "1"),  # type: ignore[arg-type]
        ("logging level nan", lambda: LoggingCallbacks(level=math.nan), "level", "nan"),  # type: ignore[arg-type]
        ("logging logger int", lambda: LoggingCallbacks(logger=5), "logger", "5"),  # type: ignore[arg-type]
        ("metrics max_keys text", lambda: MetricsCallbacks(max_keys="5"), "max_keys", "'5'"),  # type: ignore[arg-type]
        ("tokens max_models nan", lambda: TokenCounter(max_models=math.nan), "max_models", "nan"),  # type: ignore[arg-type]
        ("tracker prices text", lambda: CostTracker(prices="x"), "prices", "str"),  # type: ignore[arg-type]
        ("limiter max_cost text", lambda: CostLimiter(max_cost="5", prices=PRICES), "max_cost", "'5'"),  # type: ignore[arg-type]
        ("limiter max_cost inf", lambda: CostLimiter(max_cost=math.inf, prices=PRICES), "max_cost", "inf"),
        ("limiter estimate negative", lambda: CostLimiter(1.0, estimate=-1, prices=PRICES), "estimate", "-1"),
        ("rate max_wait nan", lambda: RateLimiter(1, max_wait=math.nan), "max_wait", "nan"),
        ("rate max_wait text", lambda: RateLimiter(1, max_wait="1"), "max_wait", "'1'"),  # type: ignore[arg-type]
        ("recorder under a file", lambda: EventRecorder(a_file / "x.jsonl"), "path", "a-file"),
        ("sqlite recorder under a file", lambda: EventRecorder(a_file / "x.db"), "path", "a-file"),
        (
            "recorder flush_every text",
            lambda: EventRecorder(tmp / "r.jsonl", flush_every="1"),
            "flush_every",
            "'1'",
        ),  # type: ignore[arg-type]
        ("shipper types text", lambda: EventShipper(_Exporter(), types="llm.end"), "types", "'llm.end'"),
        ("shipper types int", lambda: EventShipper(_Exporter(), types=5), "types", "5"),  # type: ignore[arg-type]
        ("shipper retry_for nan", lambda: EventShipper(_Exporter(), retry_for=math.nan), "retry_for", "nan"),
        ("collector consumer int", lambda: Collector(5, []), "consumer", "5"),  # type: ignore[arg-type]
        ("collector half a consumer", lambda: Collector(_NotAConsumer(), []), "consumer", "claim_stale"),  # type: ignore[arg-type]
        ("rate period inf", lambda: RateLimiter(1, period=math.inf), "period", "inf"),
    ]


@pytest.mark.parametrize("index", range(26))
def test_bad_argument_is_refused_at_construction_naming_it(tmp_path: Path, index: int) -> None:
    """TypeError or ValueError, whose message has the argument's name and what was given."""
    cases = _cases(tmp_path)
    assert len(cases) == 26
    label, build, name, given = cases[index]
    with pytest.raises((TypeError, ValueError)) as info:
        build()
    message = str(info.value)
    assert message.startswith(name) or f" {name} " in message, (label, message)
    assert given in message, (label, message)
    assert " must " in message or " is under " in message, (label, message)


class _Consumer(_NotAConsumer):
    def claim_stale(self, count: int) -> list[Any]:
        return []

    def begin(self, deliveries: Any) -> list[Any]:
        return []

    def touch(self, deliveries: Any) -> None:
        pass

    def complete(self, acknowledge: Any, handled: Any) -> None:
        pass

    def close(self) -> None:
        pass


def test_collector_handlers_of_the_wrong_kind_are_named() -> None:
    """``handlers=5`` says what handlers must be, not ``'int' object is not iterable``."""
    with pytest.raises(TypeError, match=r"handlers must be a list of handlers or a CallbackManager, got 5"):
        Collector(_Consumer(), 5)  # type: ignore[arg-type]


def test_prometheus_registry_and_labels_of_the_wrong_kind() -> None:
    """A registry that is not one, and ``labels="user"`` (not split into u, s, e, r)."""
    pytest.importorskip("prometheus_client")
    from prometheus_client import CollectorRegistry

    from llmhooks.handlers.prometheus import PrometheusCallbacks

    with pytest.raises(TypeError, match=r"registry must be a prometheus_client CollectorRegistry.*got 'x'"):
        PrometheusCallbacks(registry="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"registry must be .* \(no register\(\), unregister\(\)\)"):
        PrometheusCallbacks(registry=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"labels must be a list of strings, got 'user'.*\['user'\]"):
        PrometheusCallbacks(registry=CollectorRegistry(), labels="user")
    with pytest.raises(TypeError, match=r"managers must be a list of CallbackManager objects, got 5 \(int\)"):
        PrometheusCallbacks(registry=CollectorRegistry(), managers=5)  # type: ignore[arg-type]
    PrometheusCallbacks(registry=CollectorRegistry(), labels=["user"]).close()


@pytest.mark.parametrize("arg", ["tracer_provider", "meter_provider", "logger_provider"])
def test_otel_providers_of_the_wrong_kind(arg: str) -> None:
    """A provider that is not one is refused when built, naming the argument and the kind."""
    pytest.importorskip("opentelemetry")
    from llmhooks.handlers.otel import OpenTelemetryCallbacks

    kind = {"tracer_provider": "TracerProvider", "meter_provider": "MeterProvider"}.get(arg, "LoggerProvider")
    with pytest.raises(TypeError, match=rf"{arg} must be an OpenTelemetry {kind} or None, got 'x' \(str\)"):
        OpenTelemetryCallbacks(**{arg: "x"})
    with pytest.raises(TypeError, match=rf"{arg} must be .*got <object object"):
        OpenTelemetryCallbacks(**{arg: object()})


def test_good_arguments_still_work(tmp_path: Path) -> None:
    """The checks refuse nothing that worked: streams, None colour, Path paths, type lists."""
    import io

    out = io.StringIO()
    PrintCallbacks(file=out, color=None, width=40)
    EventShipper(_Exporter(), types=["llm.end", "tool.end"])
    EventShipper(_Exporter(), types=("llm.end",))
    Collector(_Consumer(), [MetricsCallbacks()])
    EventRecorder(tmp_path / "deep" / "r.jsonl").close()
