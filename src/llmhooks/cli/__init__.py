"""The ``llmhooks`` command: ``demo``, ``view``, ``collect`` and ``--version``.

A subcommand is one module here plus one line in ``COMMANDS``. The module defines
``register(add_parser)``: it calls ``add_parser(name, help=...)``, adds its arguments and
sets ``command_main``, a function of the parsed arguments returning the exit code (not
``run``: an option named ``--run`` would overwrite it)::

    def register(add_parser: AddParser) -> None:
        parser = add_parser("demo", help="a short tour")
        parser.add_argument("--quiet", action="store_true")
        parser.set_defaults(command_main=run)

Command modules import only what building their parser needs; the heavy imports go
inside ``run``, so ``llmhooks --help`` stays fast.

What every command gets from ``main``: a reader that goes away (``llmhooks demo | head``)
ends the program quietly with exit status 1, Python's convention for a closed pipe
(https://docs.python.org/3/library/signal.html#note-on-sigpipe), and Ctrl-C ends it
with 130, the shell's status for SIGINT, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from llmhooks._version import __version__

__all__ = ["COMMANDS", "AddParser", "build_parser", "main"]

AddParser = Callable[..., argparse.ArgumentParser]

# one line per subcommand: the module that registers it (see the module docstring)
COMMANDS: tuple[str, ...] = ("llmhooks.cli.demo", "llmhooks.cli.view", "llmhooks.cli.collect")

EXIT_BROKEN_PIPE = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The ``llmhooks`` argument parser, with every subcommand in ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="llmhooks", description="Typed events for LLM applications.")
    parser.add_argument("--version", action="version", version=f"llmhooks {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub.add_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmhooks`` console script and ``python -m llmhooks``."""
    try:
        try:
            args = build_parser().parse_args(argv)
            code: int = args.command_main(args)
        finally:  # --help and --version exit through here too
            _flush_all()
    except BrokenPipeError:
        _output_gone()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


def _flush_all() -> None:
    # inside main's try: a reader that left shows here, not as "Exception ignored" at exit
    from llmhooks.core import flush

    flush(timeout=5.0)
    sys.stdout.flush()
    sys.stderr.flush()


def _output_gone() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit is quiet.

    stderr too when it is the same pipe (``2>&1 | head``); a stderr that still works is kept.
    """
    try:
        out = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests, embedding)
        return
    targets = [out]
    try:
        err = sys.stderr.fileno()
        same = os.path.samestat(os.fstat(out), os.fstat(err))
    except (AttributeError, OSError, ValueError):
        same = False
    if same:
        targets.append(err)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in targets:
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
