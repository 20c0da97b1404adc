"""Chain and graph inputs and outputs with images: the messages that hold one become dicts with
placeholders (``llmhooks.vlm``), so image data never reaches a chain, node or agent event.

    scrub({"messages": [HumanMessage(content=[{"type": "image_url", ...}])]})
    # {"messages": [{"role": "user", "content": [
    #     {"type": "image_url", "image_url": {"url": "<image/png: 8 bytes>"}}]}]}

Everything without an image is returned as the very same object; a message with no
image stays the message it was.
"""

from __future__ import annotations

from typing import Any

from llmhooks.integrations.langchain._fields import message_dict
from llmhooks.vlm import scan_images

__all__ = ["scrub"]

_MAX_DEPTH = 4  # state dict -> list of messages -> message: deep enough for graph states


def scrub(value: Any, depth: int = 0) -> Any:
    """``value`` with every image-holding LangChain message (or content list) made image-free."""
    if depth > _MAX_DEPTH or isinstance(value, (str, bytes, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        changed = {k: scrub(v, depth + 1) for k, v in value.items()}
        if any(changed[k] is not v for k, v in value.items()):
            return changed
        if "content" in value or "type" in value:  # a message or part as a dict
            out, images = scan_images([value])
            return out[0] if images else value
        return value
    if isinstance(value, (list, tuple)):
        items = [scrub(v, depth + 1) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    content = getattr(value, "content", None)
    if type(content) is list and isinstance(getattr(value, "type", None), str):  # a LangChain message
        out, images = scan_images([message_dict(value)])
        return out[0] if images else value
    return value
