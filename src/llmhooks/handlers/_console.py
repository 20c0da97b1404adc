"""Whether to colour a stream, by the conventions users set in their environment.

    wants_color(sys.stdout)              # environment and terminal decide
    wants_color(stream, color=False)     # an explicit choice wins
    paint("summary", "bold", on=True)    # ANSI codes when ``on``

The order is CPython's own (``_colorize.can_colorize`` in 3.13): an explicit ``color``
argument; then ``NO_COLOR`` set to anything but the empty string turns colour off
(https://no-color.org); then ``FORCE_COLOR`` set to anything but the empty string,
whatever the value, turns it on even when the output is not a terminal
(https://force-color.org); then ``TERM=dumb`` turns it off; otherwise colour is on for
a terminal and off for a file or a pipe. ``PrintCallbacks`` and ``llmhooks`` commands
decide with this one function.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ANSI", "RESET", "paint", "wants_color"]

ANSI = {
    "cyan": "\033[36m",
    "green": "\033[32m",
    "red": "\033[31m",
    "dim": "\033[2m",
    "bold": "\033[1m",
    "yellow": "\033[33m",
}
RESET = "\033[0m"


def wants_color(stream: Any, color: bool | None = None) -> bool:
    """True when output to ``stream`` should be coloured (see the module docstring)."""
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def paint(text: str, style: str | None, on: bool) -> str:
    """``text`` in the ANSI ``style`` (a key of ``ANSI``) when ``on``, else as it is."""
    return f"{ANSI[style]}{text}{RESET}" if on and style else text
