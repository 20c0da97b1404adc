"""to_dict(): JSON-safe, bounded, never raising, and never running a value's own __repr__/__str__ inline."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import pathlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llmhooks import LLMEndEvent, LLMErrorEvent, LLMStartEvent, ToolEndEvent
from llmhooks.events import to_jsonable
from llmhooks.events.serialize import MAX_CHARS, MAX_DEPTH, MAX_NODES
from llmhooks.handlers.record import EventRecorder


class _Never:
    """Its __repr__ and __str__ never return until the test lets them."""

    release = threading.Event()

    def __repr__(self) -> str:
        self.release.wait()
        return "never"

    __str__ = __repr__


class _NeverError(Exception):
    release = threading.Event()

    def __str__(self) -> str:
        self.release.wait()
        return "never"


@pytest.fixture(autouse=True)
def _release() -> Iterator[None]:
    """Fresh gates per test, opened at its end so that no watchdog thread stays stuck."""
    _Never.release = _NeverError.release = threading.Event()
    yield
    _Never.release.set()


@pytest.mark.timeout(30)
def test_an_object_whose_repr_never_returns_does_not_hang_to_dict() -> None:
    """Objects are named, not repr()'d: a hanging __repr__ is never called."""
    event = LLMStartEvent(params={"client": _Never(), _Never(): "as a key"})
    out = json.loads(json.dumps(event.to_dict()))
    assert out["params"] == {"client": {"__type__": f"{__name__}._Never"}, "<_Never>": "as a key"}


@pytest.mark.timeout(30)
def test_an_exception_whose_str_never_returns_does_not_hang_to_dict() -> None:
    """The message of an exception with its own __str__ is read on a watchdog thread, bounded."""
    out = LLMErrorEvent(error=_NeverError("x")).to_dict()
    assert out["error"] == {"error_type": "_NeverError", "message": "<message unavailable>"}
    assert LLMErrorEvent(error=_NeverError("x")).error_message == "_NeverError"


@pytest.mark.timeout(30)
def test_the_recorder_is_not_hung_by_a_hanging_repr(tmp_path: Path) -> None:
    """A JSONL recorder writes the event and closes, whatever objects the payload holds."""
    recorder = EventRecorder(tmp_path / "events.jsonl")
    recorder.on_event(ToolEndEvent(tool_name="t", result=[_Never(), "done"]))
    recorder.close()
    (line,) = (tmp_path / "events.jsonl").read_text().splitlines()
    assert json.loads(line)["result"] == [{"__type__": f"{__name__}._Never"}, "done"]


def _wide(levels: int, width: int) -> list[Any]:
    """``width`` references to one list, ``levels`` deep: width**levels paths, levels lists."""
    node: list[Any] = ["leaf"]
    for _ in range(levels):
        node = [node] * width
    return node


@pytest.mark.timeout(30)
def test_shared_structures_are_bounded_by_a_node_budget() -> None:
    """10**11 paths through 11 lists are cut at MAX_NODES values, with a marker."""
    text = json.dumps(to_jsonable(_wide(11, 10)))
    assert "<truncated: too many values>" in text
    assert text.count('"leaf"') <= MAX_NODES


def test_total_text_is_bounded() -> None:
    """A payload of 100 M characters is written as at most MAX_CHARS of them, cut with markers."""
    out = LLMEndEvent(response="r", tool_calls=["x" * 100_000] * 1000).to_dict()
    written = sum(len(s) for s in out["tool_calls"])
    assert written < MAX_CHARS + 100_000
    assert out["tool_calls"][-1].endswith("...<truncated 100000 chars>")


def test_cycles_depth_and_width_are_marked() -> None:
    """A reference cycle, nesting past MAX_DEPTH and containers past MAX_ITEMS say so."""
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    deep: Any = "bottom"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    out = to_jsonable({"loop": loop, "deep": deep, "wide": list(range(1500))})
    assert out["loop"] == {"name": "loop", "self": "<dict reference cycle>"}
    assert "nested too deep" in json.dumps(out["deep"])
    assert out["wide"][-1] == "<500 more items>" and len(out["wide"]) == 1001


class _Broken(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no")

    def __len__(self) -> int:
        return 1


def test_never_raises() -> None:
    """A mapping whose iteration raises becomes a marker; the other fields are written."""
    out = LLMStartEvent(model="m", params=_Broken()).to_dict()  # type: ignore[arg-type]
    assert out["model"] == "m" and out["params"] == "<unserialisable _Broken: RuntimeError>"


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    label: str


class Slotted:
    __slots__ = ("_hidden", "name")

    def __init__(self) -> None:
        self.name = "slotted"
        self._hidden = "not written"


class Plain:
    def __init__(self) -> None:
        self.visible = 1
        self._private = "not written"


def test_values_are_written_from_their_data() -> None:
    """Dataclasses, pydantic models, plain objects and stdlib values, without calling their repr."""
    import pydantic

    class Model(pydantic.BaseModel):
        title: str

        @pydantic.model_serializer
        def _serialize(self) -> dict[str, Any]:
            raise RuntimeError("model_dump is user code: not called")

    when = datetime.datetime(2025, 1, 2, 3, 4, 5)
    ident = uuid.UUID(int=1)
    out = to_jsonable(
        {
            "point": Point(1, "a"),
            "model": Model(title="t"),
            "slotted": Slotted(),
            "plain": Plain(),
            "when": when,
            "delta": datetime.timedelta(seconds=90),
            "id": ident,
            "amount": decimal.Decimal("1.50"),
            "path": pathlib.PurePosixPath("/tmp/x"),
            "color": Color.RED,
            "bytes": b"\x00\x01",
            "set": {1},
            1: "int key",
        }
    )
    assert out == {
        "point": {"x": 1, "label": "a"},
        "model": {"title": "t"},
        "slotted": {"__type__": f"{__name__}.Slotted", "name": "slotted"},
        "plain": {"__type__": f"{__name__}.Plain", "visible": 1},
        "when": "2025-01-02T03:04:05",
        "delta": 90.0,
        "id": str(ident),
        "amount": "1.50",
        "path": "/tmp/x",
        "color": "red",
        "bytes": {"bytes": 2},
        "set": [1],
        "1": "int key",
    }


def test_langchain_messages_are_written_as_their_fields() -> None:
    """A LangChain message (a pydantic model) becomes the dict of its fields."""
    messages = pytest.importorskip("langchain_core.messages")
    out = to_jsonable(messages.HumanMessage(content="hi", id="m1"))
    assert out["content"] == "hi" and out["type"] == "human" and out["id"] == "m1"
