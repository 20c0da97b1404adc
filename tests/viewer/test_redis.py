"""``llmhooks view redis://...``: the events a shipper put in a Redis Stream, viewed like a file."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmhooks
from llmhooks import EventRecorder, agent_run, callbacks_context, llm_run, tool_run
from llmhooks.cli import main
from llmhooks.viewer import load
from llmhooks.viewer.source import open_source

redis = pytest.importorskip("redis", reason="needs the redis extra")


@pytest.fixture
def stream(redis_url: str) -> Iterator[str]:
    """A stream key of this test's own, deleted afterwards."""
    key = f"viewer-test:{secrets.token_hex(4)}:events"
    yield key
    redis.Redis.from_url(redis_url).delete(key)


def ship(redis_url: str, stream: str, jsonl: Path, runs: int = 2) -> None:
    """Record the same runs to a Redis Stream (RedisStreamShipper) and to ``jsonl``."""
    from llmhooks import RedisStreamShipper

    with (
        EventRecorder(jsonl) as recorder,
        callbacks_context([RedisStreamShipper(redis_url, stream=stream), recorder]),
    ):
        for i in range(runs):
            with agent_run(goal=f"goal {i}", agent_name=f"shipped-{i}"):
                with llm_run(provider="openai", model="gpt-4o", messages=[]) as run:
                    run.finish(input_tokens=10 + i, output_tokens=2, cost=0.001)
                with pytest.raises(RuntimeError), tool_run("explode", arguments={"i": i}):
                    raise RuntimeError("boom")
    llmhooks.flush()


def view(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["view", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stream_reads_as_the_file_of_the_same_events(
    redis_url: str,
    stream: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table, the trees and the HTML report of the stream are those of the JSONL recording."""
    monkeypatch.setenv("COLUMNS", "200")
    jsonl = tmp_path / "same.jsonl"
    ship(redis_url, stream, jsonl)
    code, remote, err = view(capsys, redis_url, "--stream", stream, "--tree")
    assert code == 0, err
    _, local, _ = view(capsys, str(jsonl), "--tree")
    head, *rest = remote.splitlines()
    assert head.startswith(f"{redis_url}: ") and head.endswith(": 12 events, 2 traces")
    assert rest == local.splitlines()[1:]
    assert "x tool explode RuntimeError: boom" in remote.replace("✘", "x")
    code, out, _ = view(capsys, redis_url, "--stream", stream, "--html", str(tmp_path / "r.html"))
    assert code == 0 and "wrote" in out and "shipped-1" in (tmp_path / "r.html").read_text()


def test_viewing_takes_nothing_from_the_collectors(redis_url: str, stream: str, tmp_path: Path) -> None:
    """No consumer group is made or read: a collector started afterwards still gets every event."""
    from llmhooks import Collector, RedisStreamConsumer
    from llmhooks.testing import RecordingCallbacks

    ship(redis_url, stream, tmp_path / "x.jsonl", runs=1)
    assert len(load(open_source(redis_url, stream=stream)).runs) == 3
    client = redis.Redis.from_url(redis_url)
    assert client.xinfo_groups(stream) == []
    seen = RecordingCallbacks()
    stats = Collector(RedisStreamConsumer(redis_url, stream=stream, group="after"), [seen], block=0.1).run(
        idle_exit=0.3
    )
    assert stats.handled == 6 and len(seen.events) == 6


def test_an_event_shipped_twice_is_shown_once_and_junk_is_counted(
    redis_url: str, stream: str, tmp_path: Path
) -> None:
    """A batch the shipper resent (same event_id) counts once; an entry that is no event is skipped."""
    ship(redis_url, stream, tmp_path / "x.jsonl", runs=1)
    client = redis.Redis.from_url(redis_url)
    first = client.xrange(stream, count=1)[0][1]
    client.xadd(stream, first)  # the same event again
    client.xadd(stream, {"e": "not json"})
    recording = load(open_source(redis_url, stream=stream))
    assert recording.events == 6 and recording.skipped == 1
    assert json.loads(first[b"e"])["event_id"]


def test_follow_polls_what_was_added(redis_url: str, stream: str, tmp_path: Path) -> None:
    """``poll`` returns everything first, then only the entries added since."""
    ship(redis_url, stream, tmp_path / "x.jsonl", runs=1)
    source = open_source(redis_url, stream=stream)
    assert len(source.poll()) == 6
    assert source.poll() == []
    ship(redis_url, stream, tmp_path / "y.jsonl", runs=1)
    assert [e.type for e in source.poll()][:2] == ["agent.start", "llm.start"]


def test_redis_errors_are_one_clear_line(
    redis_url: str, stream: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No such stream, no Redis there, --stream with a file: exit status 1 and one line on stderr."""
    code, _, err = view(capsys, redis_url, "--stream", stream)
    assert code == 1 and err == f"llmhooks view: no stream {stream!r} at {redis_url}\n"
    code, _, err = view(capsys, "redis://127.0.0.1:1/0")
    assert code == 1 and err.startswith("llmhooks view: cannot read redis://127.0.0.1:1/0: ")
    assert len(err.splitlines()) == 1
    code, _, err = view(capsys, "redis://:hunter2@127.0.0.1:1/0")  # a password is never printed
    assert code == 1 and err.startswith("llmhooks view: cannot read redis://:***@127.0.0.1:1/0: ")
    assert "hunter2" not in err
    code, _, err = view(capsys, str(tmp_path / "x.jsonl"), "--stream", "k")
    assert code == 1 and "--stream goes with a redis:// URL" in err
