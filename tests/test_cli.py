"""The llmhooks command: the demo tour runs offline and reports what happened."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "llmhooks", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_demo_runs_the_full_tour() -> None:
    """The demo runs an agent with local and MCP tools, streams the answer, prints a summary."""
    proc = _run("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "mcp demo-tools connected (stdio" in out
    for tool in ("add", "word_count", "lookup_capital"):
        assert f"tool {tool}" in out
    assert "answer: Results: lookup_capital: Paris; add: 42; word_count: 4." in out
    assert "summary" in out and "LLM calls      2 (0 errors)" in out and "cost           $0.0000" in out


def test_demo_quiet_prints_only_the_summary() -> None:
    """--quiet leaves out the live event tree."""
    proc = _run("demo", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "▶ agent" not in proc.stdout and "summary" in proc.stdout


def test_unknown_command_fails_with_usage() -> None:
    """A wrong subcommand exits non-zero with argparse's usage message."""
    proc = _run("nope")
    assert proc.returncode == 2 and "usage: llmhooks" in proc.stderr
