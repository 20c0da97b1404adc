"""The ``llmhooks`` command: ``llmhooks demo``, ``llmhooks collect``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmhooks`` console script and ``python -m llmhooks``."""
    parser = argparse.ArgumentParser(prog="llmhooks", description="Typed events for LLM applications.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour on the offline provider (no network, no key)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    from llmhooks.cli import collect

    collect.add_parser(sub)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is not None:
        return int(args.run(args))
    if args.command == "demo":
        from llmhooks.cli.demo import run_demo

        return run_demo(quiet=args.quiet)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse exits first
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
