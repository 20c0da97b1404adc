"""Every OpenTelemetry name we write lives in conventions.py and is a real semantic-conventions name.

The source is scanned (``ast``, docstrings skipped) for string literals shaped like
attribute or metric names; any outside ``conventions.py`` is a name that a rename
upstream would miss. Each ``gen_ai.*``/``mcp.*`` name of the module must be in the
installed ``opentelemetry-semantic-conventions`` package, or in the short list below of
names the GenAI conventions repository defines that the package does not have yet.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")
pytest.importorskip("opentelemetry.semconv", reason="needs opentelemetry-semantic-conventions")

from tests.handlers.otel_support import Otel

from llmhooks import agent_run, chain_run, llm_run, node_run, retrieval_run, tool_run
from llmhooks.handlers.otel import conventions as C

SRC = Path(C.__file__).resolve().parents[2]  # src/llmhooks
CONVENTIONS = Path(C.__file__).resolve()
NAME = re.compile(r"^(gen_ai|mcp|llmhooks|error|network|server)\.[a-z0-9_]+(\.[a-z0-9_]+)*$")
# in open-telemetry/semantic-conventions-genai 1.42.0 (see the module's CONVENTIONS_VERSION),
# not in the PyPI package yet; the span name prefix "mcp.session" is ours, not an attribute
NEWER_THAN_PACKAGE = {"gen_ai.client.inference.operation.details"}
OURS_IN_MCP = {C.SPAN_MCP_SESSION}


def literals(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every string literal of ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def package_names() -> set[str]:
    """Every name the installed semantic-conventions package defines (stable and incubating)."""
    names: set[str] = set()
    for package in (
        "opentelemetry.semconv.attributes",
        "opentelemetry.semconv.metrics",
        "opentelemetry.semconv._incubating.attributes",
        "opentelemetry.semconv._incubating.metrics",
    ):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            names.update(v for k, v in vars(module).items() if k.isupper() and isinstance(v, str))
    return names


def convention_values() -> set[str]:
    return {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)}


def test_no_name_is_written_outside_the_conventions_module() -> None:
    """A ``gen_ai.*`` (or ``llmhooks.*``, ``mcp.*``...) literal anywhere else in the source fails."""
    found = [
        f"{path.relative_to(SRC)}:{line}: {value!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path != CONVENTIONS
        for line, value in literals(path)
        if value.startswith("gen_ai.") or (path.parent == CONVENTIONS.parent and NAME.match(value))
    ]
    assert found == [], "names belong in handlers/otel/conventions.py:\n" + "\n".join(found)


def test_every_genai_and_mcp_name_is_one_the_conventions_define() -> None:
    """Each ``gen_ai.*``/``mcp.*`` value of the module is in the package (or the known newer list)."""
    known = package_names()
    assert "gen_ai.operation.name" in known, "the package layout changed: update package_names()"
    ours = {v for v in convention_values() if v.startswith(("gen_ai.", "mcp."))} - OURS_IN_MCP
    made_up = sorted(ours - known - NEWER_THAN_PACKAGE)
    assert made_up == [], f"not semantic-conventions names: {made_up}"
    assert ours >= NEWER_THAN_PACKAGE, "a 'newer' name is no longer used: drop it from the list"


def test_every_attribute_on_exported_spans_and_metrics_comes_from_the_module() -> None:
    """Run every family with content on: each attribute key exported is a value of the module."""
    otel = Otel(capture_content="SPAN_AND_EVENT", capture_user_id=True)
    try:
        cb = otel.callbacks
        with agent_run(agent_name="a", goal="g", callbacks=cb, tags=["t"]) as agent:
            with llm_run(
                provider="anthropic",
                model="m",
                messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                temperature=0.1,
                max_tokens=5,
                tools=[{"name": "add"}],
                params={"top_p": 0.5, "stop": ["x"]},
                streaming=True,
                callbacks=cb,
            ) as run:
                run.token("hi")
                run.finish(input_tokens=2, output_tokens=1, cached_input_tokens=1, response_id="r")
            agent.step(action="add", action_input={"a": 1}, observation=2)
            with tool_run("add", arguments={"a": 1}, tool_call_id="c", callbacks=cb) as tool:
                tool.finish(result=2)
            with (
                chain_run("ch", callbacks=cb),
                node_run("n", step=1, callbacks=cb),
                retrieval_run(query="q", retriever="r", callbacks=cb) as ret,
            ):
                ret.finish(documents=[{"page_content": "d"}])
        allowed = convention_values()
        keys = {k for s in otel.spans() for k in (s.attributes or {})}
        keys |= {k for s in otel.spans() for e in s.events for k in (e.attributes or {})}
        keys -= {"exception.type", "exception.message", "exception.stacktrace", "exception.escaped"}
        for metric in (C.METRIC_OPERATION_DURATION, C.METRIC_TOKEN_USAGE, C.METRIC_TIME_TO_FIRST_CHUNK):
            keys |= {k for p in otel.points(metric) for k in p.attributes}
        keys |= {k for r in otel.logs() for k in (r.attributes or {})}
        assert len(keys) > 20
        assert sorted(keys - allowed) == []
    finally:
        otel.close()
