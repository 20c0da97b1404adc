"""Images in LLM requests, in the four formats the SDKs take: counted, sized, and kept out of events.

    messages, images = scan_images([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}])
    images                     # Images(count=1, image_bytes=8)
    messages[0]["content"][1]  # {"type": "image_url", "image_url": {"url": "<image/png: 8 bytes>"}}

Recognised parts: Chat Completions ``image_url`` (``{"url", "detail"}`` or a bare
URL), Responses and Realtime ``input_image`` (``image_url`` or ``file_id``), and
Anthropic ``image`` blocks (``source`` of type ``base64``, ``url`` or ``file``),
also inside Anthropic ``tool_result`` blocks and Responses ``function_call_output``
items. Inline image data (base64, ``data:`` URLs) is replaced by a short
placeholder naming its media type and decoded size; web URLs and file ids stay.
The caller's messages are never changed: what changes is copied, the rest shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["IMAGE_PART_TYPES", "Images", "base64_size", "scan_images"]

IMAGE_PART_TYPES = frozenset({"image_url", "input_image", "image"})
_NESTED = ("content", "output")  # tool_result blocks, function_call_output items
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Images:
    """How many images a request holds, and the decoded size of those sent inline."""

    count: int
    image_bytes: int


def base64_size(data: str) -> int:
    """The decoded size of base64 ``data`` without decoding it (standard alphabet, no line breaks)."""
    n = len(data)
    if n == 0:
        return 0
    pad = 2 if data.endswith("==") else 1 if data.endswith("=") else 0
    return n * 3 // 4 - pad


class _Tally:
    __slots__ = ("count", "size")

    def __init__(self) -> None:
        self.count = 0
        self.size = 0


def _placeholder(media: str, size: int) -> str:
    return f"<{media or 'image'}: {size} bytes>"


def _data_url(url: Any, tally: _Tally) -> Any:
    """A ``data:`` URL's placeholder (its size added to ``tally``), or ``url`` unchanged."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return url
    head, _, payload = url.partition(",")
    media = head[5:].split(";", 1)[0]
    size = base64_size(payload) if head.endswith(";base64") else len(payload)
    tally.size += size
    return _placeholder(media, size)


def _image(part: Mapping[str, Any], tally: _Tally) -> Mapping[str, Any]:
    """Count one image part; return it with inline data replaced (the same object if none)."""
    tally.count += 1
    kind = part.get("type")
    if kind == "image":  # Anthropic: {"source": {"type": "base64", "media_type", "data"}}
        source = part.get("source")
        if isinstance(source, Mapping) and isinstance(source.get("data"), str):
            data = source["data"]
            size = base64_size(data) if source.get("type", "base64") == "base64" else len(data)
            tally.size += size
            media = source.get("media_type")
            summary = _placeholder(media if isinstance(media, str) else "", size)
            return {**part, "source": {**source, "data": summary}}
        return part
    value = part.get("image_url")
    if isinstance(value, Mapping):  # Chat Completions: {"image_url": {"url", "detail"}}
        url = value.get("url")
        new = _data_url(url, tally)
        return part if new is url else {**part, "image_url": {**value, "url": new}}
    new = _data_url(value, tally)  # Responses / Realtime: {"image_url": "data:..." | "https://..."}
    return part if new is value else {**part, "image_url": new}


def _item(item: Any, tally: _Tally, depth: int) -> Any:
    """A message, part or item with its images counted and their data replaced."""
    if not isinstance(item, Mapping) or depth > _MAX_DEPTH:
        return item
    if item.get("type") in IMAGE_PART_TYPES:
        return _image(item, tally)
    changed: dict[str, Any] | None = None
    for key in _NESTED:
        value = item.get(key)
        if type(value) is list:  # a str content (the common case) is skipped at once
            new = _items(value, tally, depth + 1)
            if new is not value:
                if changed is None:
                    changed = dict(item)
                changed[key] = new
    return item if changed is None else changed


def _items(items: list[Any], tally: _Tally, depth: int) -> list[Any]:
    out: list[Any] | None = None
    for i, item in enumerate(items):
        new = _item(item, tally, depth)
        if new is not item:
            if out is None:
                out = list(items)
            out[i] = new
    return items if out is None else out


def scan_images(messages: Any) -> tuple[Any, Images | None]:
    """``(messages, Images)`` for a request's messages or items, or ``(messages, None)`` without images.

    The returned messages have inline image data replaced (copied where changed);
    anything not a list of dicts is returned as it is, with None.
    """
    if type(messages) is not list:
        return messages, None
    tally = _Tally()
    out = _items(messages, tally, 0)
    if not tally.count:
        return messages, None
    return out, Images(tally.count, tally.size)
