"""README.md stays true: its set-up commands match CI, and its quick start runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quick_start_runs_and_prints_what_it_promises() -> None:
    """The README's Python example runs as written and shows start, tokens and end."""
    code = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("-> offline/echo")
    assert "Hello there<- 3 tokens in " in proc.stdout


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls exactly the test command the README gives."""
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert len(commands) == 2
    assert "llmhooks demo" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_every_docs_page_is_linked_from_the_readme() -> None:
    """A newcomer finds every page of docs/ from the README, and every link there resolves."""
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", README))
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages - linked == set(), "pages the README does not link"
    assert linked - pages == set(), "README links to pages that do not exist"
