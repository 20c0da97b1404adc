"""Caller-side cost of observing a realtime session, per server audio delta.

Run: python bench/realtime.py   (a few seconds)

The official SDK's sync realtime client connects to the test suite's realtime wire
server (``llmhooks.demo_servers.realtime``) twice: once plain, once through
``instrument_openai``. A response is started on each, then both connections parse
the same ``response.output_audio.delta`` message (100 ms of 24 kHz PCM, 6.4 kB of
base64) with their own ``parse_event``, which is what ``recv()`` and iteration do
for every message after reading it off the socket. The observed connection's
``parse_event`` also reads the event for llmhooks and emits what handlers take.

The baseline is the SDK's own per-message parsing (``json.loads`` plus building its
typed event), timed in the same process, interleaved with the observed one in
alternating order; figures are medians of this thread's CPU time
(``time.thread_time_ns``) per message. Network time, which dwarfs both in a real
session, is left out on purpose. The async connection reads through the same code
(its ``recv`` awaits the handlers instead of calling them).

Cases: ``AudioMeter`` takes every audio output event (sums bytes and durations);
``EndOnly`` takes only ``llm.end`` (a cost tracker: audio events are not even built);
with no handler at connect time the connection is left untouched (cost zero, not
timed). Target: the observed message costs at most 5% more than parsing alone
with ``EndOnly``, and at most 15% more with ``AudioMeter``.
"""

from __future__ import annotations

import base64
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import openai  # noqa: E402

from llmhooks import Callbacks, instrument_openai  # noqa: E402
from llmhooks.demo_servers.realtime import RealtimeDemoServer  # noqa: E402
from llmhooks.events import LLMEndEvent, RealtimeAudioOutputEvent  # noqa: E402

ROUNDS = 31
BATCH = 500  # messages per timed batch
TARGETS = {"EndOnly": 1.05, "AudioMeter": 1.15}
QUIET: Any = {"ping_interval": None}  # nobody reads the idle connection while the other is timed

AUDIO_DELTA = json.dumps(
    {
        "type": "response.output_audio.delta",
        "event_id": "event_bench",
        "response_id": "",  # set to the open response's id below
        "item_id": "item_bench",
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(bytes(4800)).decode(),
    }
)


class AudioMeter(Callbacks):
    """Adds up the audio a session played back."""

    def __init__(self) -> None:
        self.bytes = 0
        self.ms = 0.0

    def on_realtime_audio_output(self, event: RealtimeAudioOutputEvent) -> None:
        self.bytes += event.audio_bytes
        self.ms += event.duration_ms or 0.0


class EndOnly(Callbacks):
    """Adds up usage; takes no realtime events."""

    def __init__(self) -> None:
        self.usage = 0

    def on_llm_end(self, event: LLMEndEvent) -> None:
        self.usage += event.total_tokens or 0


def open_response(conn: Any) -> bytes:
    """Ask for a response and read until it is under way; the delta message for its id."""
    conn.response.create()
    for event in conn:
        if event.type == "response.created":
            message = json.loads(AUDIO_DELTA)
            message["response_id"] = event.response.id
            return json.dumps(message).encode()
    raise RuntimeError("no response.created")


def per_message_ns(parse: Callable[[bytes], Any], data: bytes) -> int:
    clock = time.thread_time_ns
    t0 = clock()
    for _ in range(BATCH):
        parse(data)
    return (clock() - t0) // BATCH


def interleaved(plain: Callable[[], int], observed: Callable[[], int]) -> tuple[float, float]:
    """Median ns per message of each, batches timed in alternating order."""
    for _ in range(3):
        plain()
        observed()
    times: tuple[list[int], list[int]] = ([], [])
    for i in range(ROUNDS):
        order = ((0, plain), (1, observed)) if i % 2 else ((1, observed), (0, plain))
        for k, fn in order:
            times[k].append(fn())
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    results = []
    with RealtimeDemoServer() as server:
        server.reply("x " * 10**4, audio_chunks=1)  # responses that stay open while we measure
        server.reply("x " * 10**4, audio_chunks=1)
        server.reply("x " * 10**4, audio_chunks=1)
        print(
            f"openai {openai.__version__}; {ROUNDS} interleaved rounds of {BATCH} messages, thread CPU time"
        )
        print(f"{'case':<34} {'SDK parse':>10} {'observed':>10}  ratio   added   target")
        plain_client = openai.OpenAI(api_key="bench", websocket_base_url=server.url)
        with plain_client.realtime.connect(model="gpt-realtime", websocket_connection_options=QUIET) as plain:
            plain_data = open_response(plain)
            for name, handler in (("EndOnly", EndOnly()), ("AudioMeter", AudioMeter())):
                client = instrument_openai(
                    openai.OpenAI(api_key="bench", websocket_base_url=server.url), callbacks=handler
                )
                with client.realtime.connect(
                    model="gpt-realtime", websocket_connection_options=QUIET
                ) as conn:
                    data = open_response(conn)
                    base, observed = interleaved(
                        lambda: per_message_ns(plain.parse_event, plain_data),
                        lambda c=conn, d=data: per_message_ns(c.parse_event, d),  # type: ignore[misc]
                    )
                ratio = observed / base
                target = TARGETS[name]
                ok = ratio <= target
                results.append(ok)
                print(
                    f"audio delta, {name:<21} {base / 1000:8.2f}us {observed / 1000:8.2f}us  "
                    f"{ratio:5.3f} {(observed - base) / 1000:+6.2f}us  <= {target:.2f} "
                    f"{'PASS' if ok else 'MISS'}"
                )
                if isinstance(handler, AudioMeter):
                    assert handler.bytes > 0, "the meter saw no audio: the case measured nothing"
    print("overall:", "PASS" if all(results) else "MISS")


if __name__ == "__main__":
    main()
