"""The deployments people run: /metrics mounted in a WSGI app, in an ASGI app, and gunicorn-style
worker processes in prometheus-client's multiprocess mode whose counts add up exactly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

pytest.importorskip("prometheus_client", reason="needs the prometheus extra")

from prometheus_client import CollectorRegistry, generate_latest, make_asgi_app, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from llmhooks import llm_run, tool_run
from llmhooks.handlers.prometheus import PrometheusCallbacks

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


def one_call(handler: PrometheusCallbacks) -> None:
    with llm_run(provider="openai", model="gpt-x", callbacks=handler) as run:
        run.finish(input_tokens=4, output_tokens=2)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_metrics_mounted_in_a_wsgi_app() -> None:
    """``make_wsgi_app(registry)`` under /metrics of an app with its own routes, served by wsgiref."""
    registry = CollectorRegistry()
    handler = PrometheusCallbacks(registry)
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/metrics":
            return metrics_app(environ, start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        one_call(handler)
        base = f"http://127.0.0.1:{server.server_port}"
        assert get(base + "/") == (200, "hello")
        status, text = get(base + "/metrics")
        assert status == 200
        assert samples(text, "llmhooks_llm_requests_total") == {
            (("model", "gpt-x"), ("outcome", "success"), ("provider", "openai")): 1.0
        }
    finally:
        server.shutdown()
        server.server_close()
        handler.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_mounted_in_an_asgi_app() -> None:
    """``make_asgi_app(registry)`` mounted at /metrics in a Starlette app, served by uvicorn."""
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    registry = CollectorRegistry()
    handler = PrometheusCallbacks(registry)

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", home), Mount("/metrics", app=make_asgi_app(registry))])
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with tool_run("search", callbacks=handler):
            pass
        assert get(f"http://127.0.0.1:{port}/") == (200, "hello")
        status, text = get(f"http://127.0.0.1:{port}/metrics/")
        assert status == 200
        assert samples(text, "llmhooks_tool_calls_total") == {
            (("outcome", "success"), ("server", ""), ("tool", "search")): 1.0
        }
    finally:
        server.should_exit = True
        thread.join(10)
        handler.close()


WORKER = textwrap.dedent(
    """
    import sys
    from llmhooks import Callbacks, llm_run, set_global_callbacks
    from llmhooks.handlers.prometheus import PrometheusCallbacks

    class Flaky(Callbacks):
        def on_llm_end(self, event):
            if event.input_tokens % 3 == 0:
                raise RuntimeError("every third call")

    calls = int(sys.argv[1])
    set_global_callbacks([PrometheusCallbacks(health_interval=0.05), Flaky()])
    for i in range(calls):
        with llm_run(provider="openai", model="gpt-x") as run:
            run.finish(input_tokens=i, output_tokens=1)
    print("done")   # the handler-health copy is made at exit
    """
)


@pytest.fixture
def multiproc_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "prometheus-multiproc"
    path.mkdir()
    yield path


def test_multiprocess_workers_counts_add_up_exactly(multiproc_dir: Path) -> None:
    """Four worker processes write to PROMETHEUS_MULTIPROC_DIR; one MultiProcessCollector sums them."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "PYTHONPATH": str(ROOT / "src"),
    }
    sizes = [5, 7, 11, 13]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in sizes
    ]
    for proc in workers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "done"
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc_dir))
    text = generate_latest(registry).decode()
    total = sum(sizes)
    assert samples(text, "llmhooks_llm_requests_total") == {
        (("model", "gpt-x"), ("outcome", "success"), ("provider", "openai")): float(total)
    }
    tokens = {dict(k)["kind"]: v for k, v in samples(text, "llmhooks_llm_tokens_total").items()}
    assert tokens == {"input": float(sum(sum(range(n)) for n in sizes)), "output": float(total)}
    assert samples(text, "llmhooks_llm_request_duration_seconds_count") == {
        (("model", "gpt-x"), ("provider", "openai")): float(total)
    }
    failures = sum(len([i for i in range(n) if i % 3 == 0]) for n in sizes)
    executions = samples(text, "llmhooks_handler_executions_total")
    assert executions[(("handler", "Flaky"), ("status", "error"))] == failures
    assert executions[(("handler", "Flaky"), ("status", "success"))] == total - failures
    assert executions[(("handler", "PrometheusCallbacks"), ("status", "success"))] == total
    assert samples(text, "llmhooks_handler_errors_total") == {
        (("handler", "Flaky"),): float(failures),
        (("handler", "PrometheusCallbacks"),): 0.0,
    }
    assert samples(text, "llmhooks_active_handlers") == {(): 2.0}


PRELOAD = textwrap.dedent(
    """
    import os, sys
    from llmhooks import llm_run, set_global_callbacks
    from llmhooks.handlers.prometheus import PrometheusCallbacks

    set_global_callbacks([PrometheusCallbacks(health_interval=60)])   # made once, in the master
    def calls(n):
        for _ in range(n):
            with llm_run(provider="openai", model="m") as run:
                run.finish()
    calls(3)                                # the master's own calls, before forking
    children = []
    for n in (4, 5, 6):
        pid = os.fork()
        if pid == 0:                        # a worker: serves, then exits normally
            calls(n)
            sys.exit(0)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    print("done")
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_workers_forked_from_a_master_that_made_the_handler_count_only_their_own(multiproc_dir: Path) -> None:
    """gunicorn --preload style: the handler is made before fork; nothing is counted twice."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", PRELOAD], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "done"
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc_dir))
    text = generate_latest(registry).decode()
    assert samples(text, "llmhooks_llm_requests_total") == {
        (("model", "m"), ("outcome", "success"), ("provider", "openai")): 18.0
    }
    executions = samples(text, "llmhooks_handler_executions_total")
    assert executions[(("handler", "PrometheusCallbacks"), ("status", "success"))] == 18
