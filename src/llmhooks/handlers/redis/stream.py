"""Events through a Redis Stream: ``RedisStreamShipper`` writes, ``RedisStreamConsumer`` reads.

    # in every worker
    set_global_callbacks([RedisStreamShipper("redis://redis:6379/0")])
    # in one or more collector processes: llmhooks collect --redis redis://redis:6379/0 metrics

Writing: each batch is one pipeline of ``XADD <stream> MAXLEN ~ <maxlen> * e <json>``.
``maxlen`` (default 1,000,000 entries) bounds the stream's memory; entries trimmed before
any collector read them are lost, so size it for the longest collector outage you accept.
They are not lost silently: each read first compares, in one script, how many entries
the stream ever had before its first one with how many the group read (``XINFO``, Redis
7); the difference, entries trimmed unread, is added to ``<stream>:trimmed:<group>``,
counted in ``trimmed`` and moved past (``XGROUP SETID ... ENTRIESREAD``, which also keeps
the group's ``lag`` right). A pending entry trimmed before it was acknowledged counts too.

Reading, as one consumer of a consumer group (several collectors share one group, each
entry going to one of them):

- ``read``: first this consumer's own entries left pending by its previous run (same
  ``consumer`` name), then new ones (``XREADGROUP ... >``, blocking up to ``block``);
- ``claim_stale``: entries another consumer was given more than ``claim_idle`` seconds
  ago and never acknowledged (``XAUTOCLAIM``): that collector died;
- ``begin``: each event id is claimed for the entry that carries it (``<consumer>|<entry
  id>``, for ``claim_idle`` seconds, extended by ``touch`` while a batch takes long). An id
  already ``done``, or claimed for another entry (a batch the shipper resent after a
  timeout), is ``"seen"``: acknowledged unhandled. This very entry claimed by another
  consumer whose claim still runs is ``"busy"``: left pending (a slow collector, not a dead
  one); once the claim ran out, the entry is taken over and handled;
- ``complete``: marks the handled ids ``done`` (kept ``dedupe_window``, default a day) and
  acknowledges the rest (``XACK``), in one script, so an id is never done but unacknowledged.

A group that does not exist is created reading from the start of the stream (so a
collector started after the workers misses nothing), and created again if Redis lost it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from redis.exceptions import ResponseError  # after _connection, which explains a missing extra

from llmhooks._validate import check_int, check_number
from llmhooks.handlers.collector import Claim, Delivery
from llmhooks.handlers.redis._connection import (
    DEFAULT_URL,
    RedisConnection,
    RedisTarget,
    RedisUnavailable,
    Script,
    connect,
)
from llmhooks.handlers.shipping import EventShipper

__all__ = ["DEFAULT_STREAM", "RedisStreamConsumer", "RedisStreamExporter", "RedisStreamShipper"]

DEFAULT_STREAM = "llmhooks:events"

# A seen key holds "done" (kept for the dedupe window) or "<consumer>|<entry id>", the claim of
# the consumer handling that entry (kept for claim_idle, extended by touch).
# KEYS: seen keys. ARGV: consumer, claim (ms), then each key's entry id.
# Returns per key: 1 new (claimed now, or ours already), 0 seen (done, or another entry
# carries this event id), 2 busy (another consumer's live claim on this very entry).
_BEGIN = Script(
    """
local out = {}
for i, key in ipairs(KEYS) do
  local entry = '|' .. ARGV[i + 2]
  local mine = ARGV[1] .. entry
  local held = redis.call('GET', key)
  if not held or held == mine then
    redis.call('SET', key, mine, 'PX', ARGV[2])
    out[i] = 1
  elseif held ~= 'done' and string.sub(held, -#entry) == entry then
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
"""
)

# KEYS: seen keys. ARGV: consumer, claim (ms), then each key's entry id: extend our own claims.
_TOUCH = Script(
    """
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] .. '|' .. ARGV[i + 2] then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 1
"""
)

# KEYS: stream, then the seen keys of the handled events. ARGV: group, window (ms), entry ids to ack.
_COMPLETE = Script(
    """
for i = 2, #KEYS do redis.call('SET', KEYS[i], 'done', 'PX', ARGV[2]) end
for i = 3, #ARGV, 500 do
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
return 1
"""
)

# Entries trimmed before the group read them, then a read of new entries, in one script.
# KEYS: stream, trimmed counter. ARGV: group, consumer, count. Returns {trimmed now, XREADGROUP reply}.
_READ = Script(
    """
local function older(a, b)
  local ams, aseq = string.match(a, '(%d+)-(%d+)')
  local bms, bseq = string.match(b, '(%d+)-(%d+)')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then return ams < bms end
  return tonumber(aseq) < tonumber(bseq)
end
local gap = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == ARGV[1] and f['entries-read'] then
      local s = redis.call('XINFO', 'STREAM', KEYS[1])
      local info = {}
      for i = 1, #s, 2 do info[s[i]] = s[i + 1] end
      local first = info['first-entry']
      local before = info['entries-added'] - info['length']
      -- with no XDEL (no tombstones), every entry the group read is among the 'before' ones
      if first and info['max-deleted-entry-id'] == '0-0' and before > f['entries-read']
         and older(f['last-delivered-id'], first[1]) then
        gap = before - f['entries-read']
        redis.call('INCRBY', KEYS[2], gap)
        redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], f['last-delivered-id'], 'ENTRIESREAD', before)
      end
    end
  end
end
return {gap, redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')}
"""
)

_CLAIMS: dict[int, Claim] = {0: "seen", 1: "new", 2: "busy"}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(reply: Any) -> list[tuple[Any, dict[Any, Any] | None]]:
    """The entries of an ``XREADGROUP`` reply returned by a script (flat field lists)."""
    out: list[tuple[Any, dict[Any, Any] | None]] = []
    for _stream, items in reply:
        for entry_id, fields in items:
            out.append((entry_id, None if not fields else dict(zip(fields[::2], fields[1::2], strict=True))))
    return out


class RedisStreamExporter:
    """Appends encoded events to a Redis Stream, one pipeline per batch.

    Args:
        redis: a URL, a client, or a ``RedisConnection`` to share.
        stream: the stream's key.
        maxlen: about how many entries the stream keeps (None: no trimming).
        timeout: seconds to wait for Redis (when ``redis`` is a URL).
    """

    retryable: tuple[type[BaseException], ...] = (RedisUnavailable,)

    def __init__(
        self,
        redis: RedisTarget = DEFAULT_URL,
        *,
        stream: str = DEFAULT_STREAM,
        maxlen: int | None = 1_000_000,
        timeout: float = 0.5,
    ) -> None:
        if not isinstance(stream, str) or not stream:
            raise TypeError(f"stream must be a non-empty string, got {stream!r}")
        self.maxlen = check_int("maxlen", maxlen, minimum=1, allow_none=True)
        self.stream = stream
        self.connection: RedisConnection = (
            redis if isinstance(redis, RedisConnection) else connect(redis, timeout=timeout)
        )

    def __repr__(self) -> str:
        return f"RedisStreamExporter({self.connection.where!r}, stream={self.stream!r})"

    def export(self, payloads: Sequence[str]) -> None:
        """Append ``payloads`` in order (raises ``RedisUnavailable``: resend, consumers deduplicate)."""
        stream, maxlen = self.stream, self.maxlen

        def send(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for payload in payloads:
                pipe.xadd(stream, {"e": payload}, maxlen=maxlen, approximate=True)
            pipe.execute()

        self.connection.run(send)

    def close(self) -> None:
        self.connection.close()


class RedisStreamShipper(EventShipper):
    """An ``EventShipper`` writing to a Redis Stream (``RedisStreamExporter``).

    Args:
        redis, stream, maxlen, timeout: as for ``RedisStreamExporter``.
        types, retry_for, queue_size, overflow, batch_size: as for ``EventShipper``.
    """

    def __init__(
        self,
        redis: RedisTarget = DEFAULT_URL,
        *,
        stream: str = DEFAULT_STREAM,
        maxlen: int | None = 1_000_000,
        timeout: float = 0.5,
        types: Iterable[str] | None = None,
        retry_for: float = 30.0,
        queue_size: int = 10_000,
        overflow: Literal["drop_oldest", "drop_newest", "block"] = "drop_oldest",
        batch_size: int = 512,
    ) -> None:
        super().__init__(
            RedisStreamExporter(redis, stream=stream, maxlen=maxlen, timeout=timeout),
            types=types,
            retry_for=retry_for,
            queue_size=queue_size,
            overflow=overflow,
            batch_size=batch_size,
        )


class RedisStreamConsumer:
    """One consumer of a consumer group on the event stream (see the module docstring).

    Args:
        redis: a URL, a client, or a ``RedisConnection`` to share.
        stream: the stream's key.
        group: the consumer group: collectors of one group share the entries.
        consumer: this consumer's name, unique in the group (default: host, pid, random).
            A collector restarted under the same name first handles what it left pending.
        claim_idle: seconds after which another consumer's unacknowledged entries are taken
            over, and how long this consumer's claims last unless it extends them.
        dedupe_window: seconds a handled event id is remembered.
        timeout: seconds to wait for Redis (when ``redis`` is a URL).

    Raises:
        RedisUnavailable: Redis cannot be reached to create the group.
    """

    retryable: tuple[type[BaseException], ...] = (RedisUnavailable,)

    def __init__(
        self,
        redis: RedisTarget = DEFAULT_URL,
        *,
        stream: str = DEFAULT_STREAM,
        group: str = "llmhooks",
        consumer: str | None = None,
        claim_idle: float = 30.0,
        dedupe_window: float = 86400.0,
        timeout: float = 0.5,
    ) -> None:
        for arg, value in (("stream", stream), ("group", group)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{arg} must be a non-empty string, got {value!r}")
        check_number("claim_idle", claim_idle, minimum=0.1)
        check_number("dedupe_window", dedupe_window, minimum=1)
        self.stream = stream
        self.group = group
        self.name = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.connection: RedisConnection = (
            redis if isinstance(redis, RedisConnection) else connect(redis, timeout=timeout)
        )
        self.claim_idle = float(claim_idle)
        self._claim_ms = int(claim_idle * 1000)
        self._window_ms = int(dedupe_window * 1000)
        self._seen = f"{stream}:seen:{group}:"
        self._trimmed_key = f"{stream}:trimmed:{group}"
        self.trimmed = 0
        """Entries this consumer found trimmed from the stream before they were handled."""
        self._own_first = True  # entries this consumer name left pending in a previous run
        self._cursor = "0-0"
        self.ensure_group()

    def __repr__(self) -> str:
        return f"RedisStreamConsumer({self.connection.where!r}, stream={self.stream!r}, group={self.group!r})"

    def ensure_group(self) -> None:
        """Create the group (reading from the stream's start) unless it exists."""

        def create(r: Any) -> None:
            try:
                r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

        self.connection.run(create)

    def _grouped(self, op: Any, block: float | None = None) -> Any:
        """Run a group command, creating the group again if Redis lost it (a restart without data)."""
        run = self.connection.run if block is None else lambda f: self.connection.run_blocking(f, block)
        try:
            return run(op)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()
            self._own_first = False
            return run(op)

    # reading

    def _deliveries(self, entries: Iterable[Any]) -> list[Delivery]:
        out: list[Delivery] = []
        gone: list[str] = []
        for entry_id, fields in entries:
            eid = _text(entry_id)
            if fields is None:  # trimmed from the stream before it was handled: nothing to read
                gone.append(eid)
                continue
            raw = fields.get(b"e", fields.get("e"))
            try:
                data = json.loads(raw)
                event_id = data.pop("event_id", None) if isinstance(data, dict) else None
            except (TypeError, ValueError):
                data, event_id = None, None
            if not isinstance(data, dict):
                data = None
            out.append(Delivery(eid, data, event_id if isinstance(event_id, str) else None))
        if gone:
            self._ack_trimmed(gone)
        return out

    def read(self, count: int, block: float) -> list[Delivery]:
        """This consumer's own pending entries first (once, and again after a failed read), then new ones."""
        try:
            return self._read(count, block)
        except Exception:
            # the reply may be lost after Redis gave us entries (a kill -9 mid-read): they
            # are pending under our name, so look there first next time
            self._own_first = True
            raise

    def _read(self, count: int, block: float) -> list[Delivery]:
        if self._own_first:
            resp = self._grouped(
                lambda r: r.xreadgroup(self.group, self.name, {self.stream: "0"}, count=count)
            )
            entries = resp[0][1] if resp else []
            if entries:
                return self._deliveries(entries)
            self._own_first = False
        gap, entries = self._grouped(
            lambda r: _READ(r, [self.stream, self._trimmed_key], [self.group, self.name, count])
        )
        self.trimmed += int(gap)
        if entries:
            return self._deliveries(_entries(entries))
        block_ms = max(1, int(block * 1000))
        resp = self._grouped(
            lambda r: r.xreadgroup(self.group, self.name, {self.stream: ">"}, count=count, block=block_ms),
            block=block,
        )
        return self._deliveries(resp[0][1]) if resp else []

    def claim_stale(self, count: int) -> list[Delivery]:
        """Take entries other consumers left unacknowledged for ``claim_idle`` seconds."""
        resp = self._grouped(
            lambda r: r.xautoclaim(
                self.stream, self.group, self.name, self._claim_ms, start_id=self._cursor, count=count
            )
        )
        self._cursor = _text(resp[0])
        if len(resp) > 2 and resp[2]:
            self._ack_trimmed([_text(x) for x in resp[2]])  # trimmed while pending, never handled
        return self._deliveries(resp[1])

    # deduplication and acknowledgement

    def begin(self, deliveries: Sequence[Delivery]) -> list[Claim]:
        """Claim each delivery's event id for this consumer (see ``EventConsumer.begin``)."""
        if not deliveries:
            return []
        keys = [self._seen + (d.event_id or "") for d in deliveries]
        args = [self.name, self._claim_ms, *(d.entry_id for d in deliveries)]
        result = self.connection.run(lambda r: _BEGIN(r, keys, args))
        return [_CLAIMS[int(x)] for x in result]

    def touch(self, deliveries: Sequence[Delivery]) -> None:
        """Extend this consumer's claims on ``deliveries`` by ``claim_idle``."""
        if deliveries:
            keys = [self._seen + (d.event_id or "") for d in deliveries]
            args = [self.name, self._claim_ms, *(d.entry_id for d in deliveries)]
            self.connection.run(lambda r: _TOUCH(r, keys, args))

    def complete(self, acknowledge: Sequence[Delivery], handled: Sequence[Delivery]) -> None:
        """Mark the ``handled`` event ids done and acknowledge ``acknowledge``, atomically."""
        if not acknowledge and not handled:
            return
        keys = [self.stream] + [self._seen + (d.event_id or "") for d in handled]
        args = [self.group, self._window_ms, *(d.entry_id for d in acknowledge)]
        self.connection.run(lambda r: _COMPLETE(r, keys, args))

    def _ack_trimmed(self, entry_ids: list[str]) -> None:
        """Acknowledge pending entries the stream no longer holds, counting them as trimmed unread."""

        def ack(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.xack(self.stream, self.group, *entry_ids)
            pipe.incrby(self._trimmed_key, len(entry_ids))
            pipe.execute()

        self.connection.run(ack)
        self.trimmed += len(entry_ids)

    # state

    def backlog(self) -> Mapping[str, int | None]:
        """``pending`` and ``lag`` (entries not yet delivered to the group), the stream
        ``length``, and ``trimmed``: entries trimmed before the group read them (all its consumers)."""

        def read(r: Any) -> tuple[Any, Any, Any]:
            pipe = r.pipeline(transaction=False)
            pipe.xinfo_groups(self.stream)
            pipe.xlen(self.stream)
            pipe.get(self._trimmed_key)
            groups, length, trimmed = pipe.execute()
            return groups, length, trimmed

        groups, length, trimmed = self.connection.run(read)
        for g in groups:
            info = {_text(k): v for k, v in g.items()}
            if _text(info.get("name")) == self.group:
                lag = info.get("lag")
                return {
                    "pending": int(info.get("pending") or 0),
                    "lag": None if lag is None else int(lag),
                    "length": int(length),
                    "trimmed": int(trimmed or 0),
                }
        return {"pending": None, "lag": None, "length": int(length), "trimmed": int(trimmed or 0)}

    def close(self) -> None:
        self.connection.close()
