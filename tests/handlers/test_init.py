"""The handlers package: every built-in handler importable from llmhooks, nothing loaded early."""

from __future__ import annotations

import subprocess
import sys

import llmhooks
import llmhooks.handlers as handlers

TOP_LEVEL = [
    "LoggingCallbacks",
    "PrintCallbacks",
    "MetricsCallbacks",
    "TokenCounter",
    "CostTracker",
    "CostLimiter",
    "RateLimiter",
    "StreamingProgress",
    "EventRecorder",
    "replay",
]


def test_handlers_importable_from_llmhooks() -> None:
    """Each built-in handler resolves from the top-level package and from llmhooks.handlers."""
    for name in TOP_LEVEL:
        assert getattr(llmhooks, name) is getattr(handlers, name)


def test_all_lists_every_name_sorted() -> None:
    """handlers.__all__ is sorted and every name in it resolves."""
    assert handlers.__all__ == sorted(handlers.__all__)
    for name in handlers.__all__:
        assert getattr(handlers, name) is not None


def test_import_loads_no_extra() -> None:
    """Importing the handlers (cost included) loads neither genai_prices nor rich."""
    code = (
        "import sys, llmhooks.handlers as h; h.CostTracker; h.PrintCallbacks; h.EventRecorder; "
        "print(sorted(m for m in ('genai_prices', 'rich', 'sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
