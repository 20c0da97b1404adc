"""The public surface: __all__, lazy names, import cost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import llmhooks

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_all_is_sorted_and_every_name_resolves() -> None:
    """__all__ is sorted, and each name in it (and each lazy name) resolves."""
    assert list(llmhooks.__all__) == sorted(llmhooks.__all__)
    for name in llmhooks.__all__:
        assert getattr(llmhooks, name) is not None, name
    for name in llmhooks._LAZY:
        assert getattr(llmhooks, name) is not None, name


def test_every_public_name_is_listed() -> None:
    """Every public module-level name is in __all__ or is a lazy name."""
    public = {
        n for n, v in vars(llmhooks).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)
    } - {"annotations", "Any", "TYPE_CHECKING"}
    assert public <= set(llmhooks.__all__) | set(llmhooks._LAZY)


def test_unknown_attribute_raises_attribute_error() -> None:
    """A missing name gives a normal AttributeError."""
    try:
        llmhooks.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("no AttributeError")


def test_import_loads_no_optional_library() -> None:
    """import llmhooks loads none of the SDKs or exporters."""
    code = (
        "import sys, llmhooks; "
        "bad = [m for m in ('openai','anthropic','mcp','redis','prometheus_client','opentelemetry','rich',"
        "'langchain_core','langgraph','genai_prices','httpx','pydantic') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": SRC}
    )
    assert out.stdout.strip() == ""


def test_version_is_a_string() -> None:
    """llmhooks.__version__ is set."""
    assert isinstance(llmhooks.__version__, str)


def test_read_events_is_importable_from_the_top() -> None:
    """from llmhooks import read_events gives the recorder's reader (lazily, like the handlers)."""
    from llmhooks import read_events
    from llmhooks.handlers import record

    assert read_events is record.read_events
    assert "read_events" in llmhooks.__all__


def test_every_exception_lives_in_errors_py() -> None:
    """All of llmhooks' exception classes are defined in llmhooks.errors (other modules re-export)."""
    import importlib
    import pkgutil

    import llmhooks.errors

    defined_elsewhere = []
    for info in pkgutil.walk_packages(llmhooks.__path__, "llmhooks."):
        if info.name.endswith("__main__"):
            continue  # importing it runs the command
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an extra that is not installed
            continue
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, llmhooks.LLMHooksError)
                and value.__module__ == info.name
                and info.name != "llmhooks.errors"
            ):
                defined_elsewhere.append(f"{info.name}.{name}")
    assert defined_elsewhere == []
    assert set(llmhooks.errors.__all__) == {
        n for n, v in vars(llmhooks.errors).items() if isinstance(v, type) and issubclass(v, Exception)
    }


def test_all_is_the_curated_surface() -> None:
    """``llmhooks.__all__`` is a short, deliberate list (a snapshot): a change to it is a decision."""
    assert llmhooks.__all__ == [
        "Abort", "Agent", "AgentEndEvent", "AgentErrorEvent", "AgentStartEvent", "AgentStepEvent",
        "BudgetExceeded", "CallbackManager", "Callbacks", "CostLimiter", "CostTracker", "Event",
        "EventManager", "EventRecorder", "GraphNodeEndEvent", "GraphNodeErrorEvent",
        "GraphNodeStartEvent", "InvalidHandlerError", "LLM", "LLMEndEvent", "LLMErrorEvent",
        "LLMHooksError", "LLMStartEvent", "LLMTokenEvent", "LoggingCallbacks", "MCPClient",
        "MCPConnectEvent", "MCPDisconnectEvent", "MCPLoggingEvent", "MCPProgressEvent",
        "MetricsCallbacks", "MissingExtraError", "OpenTelemetryCallbacks", "PrintCallbacks",
        "PrometheusCallbacks", "RateLimitExceeded", "RateLimiter", "StreamingProgress",
        "TokenCounter", "Tool", "ToolEndEvent", "ToolErrorEvent", "ToolStartEvent", "agent_run",
        "callbacks_context", "chain_run", "current_run", "flush", "get_global_callbacks",
        "instrument_anthropic", "instrument_llm", "instrument_node", "instrument_openai",
        "instrument_tool", "llm_run", "node_run", "read_events", "retrieval_run", "run_context",
        "set_global_callbacks", "suppress_instrumentation", "to_thread", "tool_run",
        "uninstrument_anthropic", "uninstrument_openai", "use_run",
    ]  # fmt: skip


def test_names_the_seeds_and_docs_import_from_llmhooks_still_resolve() -> None:
    """Every ``from llmhooks import X`` in README.md's and docs' code and in the tests resolves."""
    import ast
    import re

    root = Path(__file__).resolve().parents[1]
    sources = [p.read_text() for p in root.glob("tests/**/*.py")]
    for page in [root / "README.md", *root.glob("docs/*.md")]:
        sources += re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a fragment made to be read, not run
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "llmhooks":
                names |= {alias.name for alias in node.names}
    assert len(names) > 60
    assert sorted(n for n in names if not hasattr(llmhooks, n)) == []


def test_import_loads_no_heavy_stdlib_module() -> None:
    """``import llmhooks`` stays cheap: dataclasses, inspect, asyncio and concurrent.futures wait."""
    heavy = "('dataclasses', 'inspect', 'asyncio', 'concurrent.futures')"
    code = f"import sys, llmhooks; print(','.join(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": SRC}
    )
    assert out.stdout.strip() == ""


def test_star_import_takes_what_this_install_has() -> None:
    """On an install without the optional extras, ``from llmhooks import *`` works and leaves
    out the names that need them; importing one of those by name says what to install."""
    code = textwrap.dedent(
        """
        import sys
        for missing in ("mcp", "opentelemetry", "prometheus_client", "openai", "anthropic", "redis"):
            sys.modules[missing] = None  # as if not installed
        from llmhooks import *
        assert "llm_run" in dir() and "Agent" in dir() and "MCPClient" not in dir()
        try:
            from llmhooks import MCPClient
        except ImportError as exc:
            assert "pip install 'llmhooks[mcp]'" in str(exc), exc
        else:
            raise AssertionError("MCPClient imported without mcp")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
