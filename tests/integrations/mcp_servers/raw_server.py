"""A hand-written stdio MCP server (no SDK) that breaks the protocol on purpose.

It answers the handshake and ``tools/list`` correctly, then answers a call to its
one tool, ``corrupt``, with a line that is not JSON, as a server with a stray
``print`` to stdout would.
"""

from __future__ import annotations

import json
import sys


def reply(request_id: object, result: dict[str, object]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    message = json.loads(line)
    method = message.get("method")
    if "id" not in message:
        continue  # a notification
    if method == "initialize":
        reply(
            message["id"],
            {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "raw", "version": "0"},
            },
        )
    elif method == "tools/list":
        reply(message["id"], {"tools": [{"name": "corrupt", "inputSchema": {"type": "object"}}]})
    elif method == "tools/call":
        sys.stdout.write("debug: this is not JSON\n")
        sys.stdout.flush()
    else:
        sys.stdout.write(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": message["id"],
                    "error": {"code": -32601, "message": "Method not found"},
                }
            )
            + "\n"
        )
        sys.stdout.flush()
