"""The scale-out flow of ``bench/scaleout.py`` at a small size: its checks hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_workers_budget_stream_and_collectors_add_up_exactly() -> None:
    """2 worker processes x 100 calls on one budget and stream, 2 collectors: every check passes."""
    proc = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "scaleout.py")),
            *("--workers", "2", "--calls", "100", "--collectors", "2", "--no-cost", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["ok"] and all(result["checks"].values()), result["checks"]
    assert result["refused_calls"] > 0  # the budget ran out part-way, as in the full run
    assert result["events"] == 2 * 200 - result["refused_calls"]  # refused calls emit only their error
