"""``FastWireServer``: the suite's LLM wire server with Nagle off and quiet disconnects.

The server in ``tests/servers/llm_wire`` writes headers and body in separate
sends; with Nagle's algorithm on, each small answer waits for the client's
delayed ACK (about 40 ms), which slows tests and swamps benchmark figures.
A client dropping a keep-alive connection also makes ``socketserver`` print a
traceback. This subclass fixes both without touching that package.
"""

from __future__ import annotations

from typing import Any, Self

from tests.servers.llm_wire import LLMWireServer
from tests.servers.llm_wire import server as _server

__all__ = ["FastWireServer"]


class _NoDelayHandler(_server._Handler):
    disable_nagle_algorithm = True


def _quiet(request: Any, client_address: Any) -> None:
    """Clients closing connections are normal here."""


class FastWireServer(LLMWireServer):
    """``LLMWireServer`` with ``TCP_NODELAY`` on its connections and no tracebacks on resets."""

    def start(self) -> Self:
        super().start()
        httpd = self._httpd
        if httpd is not None:
            httpd.RequestHandlerClass = _NoDelayHandler
            httpd.handle_error = _quiet  # type: ignore[method-assign]
        return self
