"""``llmhooks collect``: one collector of a consumer group on the event stream, feeding handlers.

    llmhooks collect --redis redis://redis:6379/0 --group metrics metrics "record(path='events.jsonl')"

Handlers are given as specs, each optionally called with literal arguments:

- a short name: ``print`` (the default), ``metrics``, ``logging``, ``tokens``, ``cost``,
  ``record(path=...)``, ``ledger`` (a ``RedisTokenLedger`` on the same Redis),
  ``prometheus(...)`` (``PrometheusCallbacks``; ``--metrics-port`` serves ``/metrics``) and
  ``otel(...)`` (``OpenTelemetryCallbacks``);
- a public name of ``llmhooks``: ``TokenCounter``, ``PrintCallbacks(verbose=True)``;
- ``module:attribute``: ``myapp.handlers:AuditHandler(level='info')``, a class or a
  function returning a handler, or a handler instance (no arguments then).

A progress line goes to stderr every ``--progress`` seconds (events handled and per
second, duplicates, entries claimed from dead collectors, the group's pending entries and
those not read yet, and event-to-handled lag p50/p99). SIGTERM or Ctrl-C finishes the
current batch, acknowledges it and exits 0; ``--json`` then prints a summary (the
collector's counts and each handler's ``snapshot()`` or ``stats()``) on stdout.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmhooks.core.callbacks import Callbacks
    from llmhooks.handlers.collector import Collector

__all__ = ["build_handler", "register", "run"]

# short name -> (module, attribute): names of other handlers resolve when they are installed
ALIASES: dict[str, tuple[str, str]] = {
    "print": ("llmhooks.handlers.printing", "PrintCallbacks"),
    "metrics": ("llmhooks.handlers.metrics", "MetricsCallbacks"),
    "logging": ("llmhooks.handlers.logging", "LoggingCallbacks"),
    "tokens": ("llmhooks.handlers.tokens", "TokenCounter"),
    "cost": ("llmhooks.handlers.cost", "CostTracker"),
    "record": ("llmhooks.handlers.record", "EventRecorder"),
    "prometheus": ("llmhooks", "PrometheusCallbacks"),
    "otel": ("llmhooks", "OpenTelemetryCallbacks"),
}


class SpecError(ValueError):
    """A handler spec that cannot be built; the message says why."""


def register(add_parser: Any) -> None:
    """Add ``collect`` to the ``llmhooks`` command (see ``llmhooks.cli``)."""
    p = add_parser(
        "collect",
        help="read shipped events from a Redis Stream and feed handlers",
        description="One collector of a consumer group: several share the stream's entries.",
    )
    p.add_argument("handlers", nargs="*", default=["print"], help="handler specs (default: print)")
    p.add_argument("--redis", required=True, metavar="URL", help="redis://host:port/db")
    p.add_argument("--stream", default="llmhooks:events", help="the stream's key (default: llmhooks:events)")
    p.add_argument("--group", default="llmhooks", help="consumer group (default: llmhooks)")
    p.add_argument(
        "--consumer", default=None, help="this collector's name in the group (default: host-pid-random)"
    )
    p.add_argument("--batch", type=int, default=256, help="entries per read (default: 256)")
    p.add_argument(
        "--claim-idle",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="take entries a dead collector left pending this long (default: 30)",
    )
    p.add_argument(
        "--progress", type=float, default=5.0, metavar="SECONDS", help="progress line period (0: off)"
    )
    p.add_argument(
        "--exit-when-idle", type=float, default=None, metavar="SECONDS", help="stop when nothing arrives"
    )
    p.add_argument("--max-events", type=int, default=None, help="stop after this many entries")
    p.add_argument("--json", action="store_true", help="print a JSON summary on exit")
    p.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus /metrics on this port (the prometheus handler; llmhooks[prometheus])",
    )
    p.set_defaults(command_main=run)


def _literal(node: ast.expr, spec: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise SpecError(f"{spec!r}: arguments must be literals (strings, numbers, lists...)") from None


def _parse(spec: str) -> tuple[str, list[Any], dict[str, Any]]:
    head, paren, rest = spec.partition("(")
    head = head.strip()
    if not head:
        raise SpecError(f"{spec!r}: no handler name")
    if not paren:
        return head, [], {}
    try:
        call = ast.parse("f(" + rest, mode="eval").body
    except SyntaxError:
        raise SpecError(f"{spec!r}: cannot read the arguments (write name(key=value, ...))") from None
    assert isinstance(call, ast.Call)
    args = [_literal(a, spec) for a in call.args]
    kwargs = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise SpecError(f"{spec!r}: **arguments are not supported")
        kwargs[kw.arg] = _literal(kw.value, spec)
    return head, args, kwargs


def _resolve(head: str, spec: str) -> Any:
    if head in ALIASES:
        module, attr = ALIASES[head]
    elif ":" in head:
        module, _, attr = head.partition(":")
    else:
        module, attr = "llmhooks", head
    try:
        target: Any = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
    except ImportError as exc:
        raise SpecError(f"{spec!r}: {exc}") from None
    except AttributeError:
        known = ", ".join(sorted(ALIASES))
        raise SpecError(
            f"{spec!r}: {module} has no {attr!r}; use one of {known}, a public llmhooks name, "
            "or module:attribute"
        ) from None
    return target


def build_handler(spec: str, *, redis_url: str | None = None) -> Callbacks:
    """The handler a spec names (see the module docstring).

    Raises:
        SpecError: unknown name, unreadable arguments, or not a handler.
    """
    from llmhooks.core.callbacks import Callbacks

    head, args, kwargs = _parse(spec)
    if head == "ledger":
        from llmhooks.handlers.redis.tokens import RedisTokenLedger

        # written in the collector's thread: acknowledged only once counted; while Redis is
        # away the collector itself retries the batch (extending its claims), not the ledger
        kwargs.setdefault("redis", redis_url)
        kwargs.setdefault("background", False)
        kwargs.setdefault("retry_for", 0.0)
        return RedisTokenLedger(*args, **kwargs)
    target = _resolve(head, spec)
    if isinstance(target, Callbacks):
        if args or kwargs:
            raise SpecError(f"{spec!r}: {head} is a handler instance; it takes no arguments")
        return target
    if not callable(target):
        raise SpecError(f"{spec!r}: {head} is not a handler, a handler class or a function returning one")
    try:
        handler = target(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{spec!r}: {exc}") from None
    if not isinstance(handler, Callbacks):
        raise SpecError(f"{spec!r}: {head}(...) gave {type(handler).__name__}, not an llmhooks handler")
    return handler


def _summary(collector: Collector, specs: list[str], handlers: list[Callbacks]) -> dict[str, Any]:
    out: dict[str, Any] = {"consumer": collector.consumer.name, "collector": collector.stats.as_dict()}
    details: dict[str, Any] = {}
    for spec, handler in zip(specs, handlers, strict=True):
        for method in ("snapshot", "stats"):
            fn = getattr(handler, method, None)
            if callable(fn):
                try:
                    details[spec] = fn()
                except Exception as exc:  # a summary must not hide the others
                    details[spec] = {"error": repr(exc)}
                break
    out["handlers"] = details
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``llmhooks collect`` with parsed arguments; the exit status."""
    from llmhooks.errors import MissingExtraError

    try:
        from llmhooks.handlers.collector import Collector
        from llmhooks.handlers.redis import RedisStreamConsumer, RedisUnavailable
    except MissingExtraError as exc:
        print(f"llmhooks collect: {exc}", file=sys.stderr)
        return 2
    specs = list(args.handlers) or ["print"]
    try:
        handlers = [build_handler(spec, redis_url=args.redis) for spec in specs]
    except (SpecError, ValueError, TypeError, MissingExtraError) as exc:
        print(f"llmhooks collect: handler {exc}", file=sys.stderr)
        return 2
    try:
        consumer = RedisStreamConsumer(
            args.redis,
            stream=args.stream,
            group=args.group,
            consumer=args.consumer,
            claim_idle=args.claim_idle,
        )
    except (ValueError, TypeError) as exc:
        print(f"llmhooks collect: {exc}", file=sys.stderr)
        return 2
    except RedisUnavailable as exc:
        print(f"llmhooks collect: {exc}", file=sys.stderr)
        return 1
    if args.metrics_port is not None:
        try:
            from prometheus_client import start_http_server
        except ImportError:
            print(
                "llmhooks collect: --metrics-port needs pip install 'llmhooks[prometheus]'", file=sys.stderr
            )
            return 2
        start_http_server(args.metrics_port)
    collector = Collector(
        consumer,
        handlers,
        batch_size=args.batch,
        block=min(1.0, args.claim_idle / 4),
        claim_every=max(0.1, min(5.0, args.claim_idle / 2)),
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    last = [time.monotonic(), 0]

    def report(c: Collector) -> None:
        now = time.monotonic()
        rate = (c.stats.handled - last[1]) / max(1e-9, now - last[0])
        last[0], last[1] = now, c.stats.handled
        print(c.stats.line(consumer.name, rate), file=sys.stderr, flush=True)

    print(
        f"llmhooks collect: {consumer.name} in group {args.group!r} on {args.stream!r} at "
        f"{consumer.connection.where}, feeding {', '.join(specs)}",
        file=sys.stderr,
        flush=True,
    )
    collector.run(
        stop=stop,
        idle_exit=args.exit_when_idle,
        max_events=args.max_events,
        progress=report if args.progress > 0 else None,
        progress_every=args.progress or 5.0,
    )
    report(collector)
    for handler in handlers:
        close = getattr(handler, "close", None)
        if callable(close):
            close()
    if args.json:
        print(json.dumps(_summary(collector, specs, handlers), default=str), flush=True)
    consumer.close()
    return 0
