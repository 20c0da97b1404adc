"""Handler health from ``CallbackManager.stats()``: executions, errors, timeouts, drops, latency.

In one process a custom collector reads the managers' stats at scrape time, so a
scrape is exact and costs nothing between scrapes. prometheus-client's multiprocess
mode reads only the files workers write and forbids custom collectors, so there a
daemon thread copies the stats into ordinary metrics every ``interval`` seconds (and
once more at exit): counters grow by what changed since the last copy, gauges are set.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import Counter, Gauge
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from llmhooks.core import CallbackManager, global_manager

__all__ = ["HealthCollector", "HealthSync", "handler_stats"]

STATUSES = ("success", "error", "timeout", "dropped")


def handler_stats(managers: Sequence[CallbackManager] | None) -> list[tuple[str, dict[str, Any]]]:
    """(name, stats) of every handler in ``managers`` (the global one when None), nested ones too.

    A handler in several managers is listed once; names are the managers' stats keys
    (class names, ``#2`` appended for a second handler of the same class).
    """
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[int] = set()
    names: set[str] = set()

    def walk(manager: CallbackManager, depth: int) -> None:
        if depth > 8 or id(manager) in seen:
            return
        seen.add(id(manager))
        stats = manager.stats()
        for handler, (key, snapshot) in zip(manager.handlers, stats.items(), strict=False):
            if isinstance(handler, CallbackManager):
                walk(handler, depth + 1)
                continue
            if id(handler) in seen:
                continue
            seen.add(id(handler))
            name, n = key, 1
            while name in names:
                n += 1
                name = f"{type(handler).__name__}#{n}"
            names.add(name)
            out.append((name, snapshot))

    for manager in managers if managers is not None else (global_manager(),):
        walk(manager, 0)
    return out


def _counts(stats: dict[str, Any]) -> dict[str, int]:
    calls, failures = int(stats["calls"]), int(stats["failures"])
    timeouts, dropped = int(stats["timeouts"]), int(stats["dropped"])
    return {
        "success": max(0, calls - failures - timeouts - dropped),
        "error": failures,
        "timeout": timeouts,
        "dropped": dropped,
    }


def _seconds(us: float | None) -> float:
    return float("nan") if us is None else us / 1e6


class HealthCollector:
    """A custom collector: handler health read from the managers at each scrape."""

    def __init__(self, prefix: str, managers: Sequence[CallbackManager] | None) -> None:
        self._prefix = prefix
        self._managers = managers
        # the "success" count is derived from counts read one after the other: never let it go back
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def _families(self) -> dict[str, Metric]:
        p = self._prefix
        return {
            "executions": CounterMetricFamily(
                f"{p}_handler_executions_total",
                "Events delivered to each handler, by outcome (success, error, timeout, dropped).",
                labels=["handler", "status"],
            ),
            "errors": CounterMetricFamily(
                f"{p}_handler_errors_total", "Events a handler raised on.", labels=["handler"]
            ),
            "timeouts": CounterMetricFamily(
                f"{p}_handler_timeouts_total",
                "Events a handler's async method timed out on.",
                labels=["handler"],
            ),
            "dropped": CounterMetricFamily(
                f"{p}_handler_dropped_events_total",
                "Events a background handler's full queue dropped.",
                labels=["handler"],
            ),
            "mean": GaugeMetricFamily(
                f"{p}_handler_duration_mean_seconds",
                "Mean time a handler took per event, sampled on one dispatch in 16 (last 512 samples).",
                labels=["handler"],
            ),
            "p95": GaugeMetricFamily(
                f"{p}_handler_duration_p95_seconds",
                "95th percentile of the time a handler took per event (sampled as the mean).",
                labels=["handler"],
            ),
            "active": GaugeMetricFamily(
                f"{p}_active_handlers", "Handlers registered in the watched managers."
            ),
        }

    def describe(self) -> Iterable[Metric]:
        return list(self._families().values())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        handlers = handler_stats(self._managers)
        with self._lock:
            for name, stats in handlers:
                counts = _counts(stats)
                key = name
                counts["success"] = self._last[key] = max(counts["success"], self._last.get(key, 0))
                for status in STATUSES:
                    families["executions"].add_metric([name, status], counts[status])  # type: ignore[attr-defined]
                families["errors"].add_metric([name], counts["error"])  # type: ignore[attr-defined]
                families["timeouts"].add_metric([name], counts["timeout"])  # type: ignore[attr-defined]
                families["dropped"].add_metric([name], counts["dropped"])  # type: ignore[attr-defined]
                if stats.get("latency_samples"):
                    families["mean"].add_metric([name], _seconds(stats["latency_mean_us"]))  # type: ignore[attr-defined]
                    families["p95"].add_metric([name], _seconds(stats["latency_p95_us"]))  # type: ignore[attr-defined]
        families["active"].add_metric([], len(handlers))  # type: ignore[attr-defined]
        yield from families.values()


class HealthSync:
    """For multiprocess mode: copies handler health into ordinary metrics from a daemon thread."""

    def __init__(
        self, prefix: str, managers: Sequence[CallbackManager] | None, registry: Any, interval: float
    ) -> None:
        self._managers = managers
        self.interval = interval
        self.executions = Counter(
            f"{prefix}_handler_executions",
            "Events delivered to each handler, by outcome (success, error, timeout, dropped).",
            ["handler", "status"],
            registry=registry,
        )
        self.errors = Counter(
            f"{prefix}_handler_errors", "Events a handler raised on.", ["handler"], registry=registry
        )
        self.timeouts = Counter(
            f"{prefix}_handler_timeouts",
            "Events a handler's async method timed out on.",
            ["handler"],
            registry=registry,
        )
        self.dropped = Counter(
            f"{prefix}_handler_dropped_events",
            "Events a background handler's full queue dropped.",
            ["handler"],
            registry=registry,
        )
        self.mean = Gauge(
            f"{prefix}_handler_duration_mean_seconds",
            "Mean time a handler took per event (sampled); the largest over live workers.",
            ["handler"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.p95 = Gauge(
            f"{prefix}_handler_duration_p95_seconds",
            "95th percentile of the time a handler took per event (sampled); the largest over live workers.",
            ["handler"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.active = Gauge(
            f"{prefix}_active_handlers",
            "Handlers registered in the watched managers; the largest over live workers.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _restart_in_child(ref))
        atexit.register(_sync_at_exit, ref)

    def start(self) -> None:
        self._stop.clear()
        thread = threading.Thread(target=self._loop, name="llmhooks-prometheus-health", daemon=True)
        self._thread = thread
        thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync()

    def sync(self) -> None:
        """Copy what changed since the last copy into the metrics."""
        handlers = handler_stats(self._managers)
        with self._lock:
            for name, stats in handlers:
                counts = _counts(stats)
                for status in STATUSES:
                    self._add(self.executions.labels(name, status), (name, status), counts[status])
                self._add(self.errors.labels(name), (name, "errors"), counts["error"])
                self._add(self.timeouts.labels(name), (name, "timeouts"), counts["timeout"])
                self._add(self.dropped.labels(name), (name, "dropped"), counts["dropped"])
                if stats.get("latency_samples"):
                    self.mean.labels(name).set(_seconds(stats["latency_mean_us"]))
                    self.p95.labels(name).set(_seconds(stats["latency_p95_us"]))
            self.active.set(len(handlers))

    def _add(self, child: Any, key: tuple[str, str], value: int) -> None:
        delta = value - self._last.get(key, 0)
        if delta > 0:
            child.inc(delta)
            self._last[key] = value

    def rebaseline(self) -> None:
        """Count only from now on (a forked child inherits its parent's counts)."""
        handlers = handler_stats(self._managers)
        with self._lock:
            self._last.clear()
            for name, stats in handlers:
                counts = _counts(stats)
                for status in STATUSES:
                    self._last[(name, status)] = counts[status]
                self._last[(name, "errors")] = counts["error"]
                self._last[(name, "timeouts")] = counts["timeout"]
                self._last[(name, "dropped")] = counts["dropped"]

    def stop(self) -> None:
        """Stop the thread and make a last copy."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.interval + 1.0)
        self.sync()


def _restart_in_child(ref: weakref.ref[HealthSync]) -> None:
    sync = ref()
    if sync is None or sync._stop.is_set():
        return
    sync._lock = threading.Lock()  # it may have been held by another thread at fork
    sync.rebaseline()
    sync.start()


def _sync_at_exit(ref: weakref.ref[HealthSync]) -> None:
    sync = ref()
    if sync is not None:
        try:
            sync.sync()
        except Exception:  # exiting: nothing to report to
            pass
