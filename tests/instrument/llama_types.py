"""Minimal stand-ins for LlamaIndex's response types (seed 003), duck-typed like the real ones."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class MessageRole(enum.StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass
class ChatMessage:
    role: MessageRole | str = MessageRole.USER
    content: str | None = ""


@dataclass
class ChatResponse:
    message: ChatMessage
    delta: str | None = None
    raw: Any = None
    additional_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompletionResponse:
    text: str
    delta: str | None = None
    raw: Any = None
