"""One Redis for the cross-process handlers: short timeouts, no hidden retries, a breaker.

redis-py's own defaults would let a call hang: a 5 s socket timeout, retried ten times
with backoff. Every llmhooks component that talks to Redis goes through a
``RedisConnection`` instead, which

- builds its clients with ``timeout`` (default 0.5 s) for connecting and for each reply,
  and no retries of its own: whoever calls decides whether to retry (the operations are
  written to be safe to retry, keyed by run or event id);
- turns every way of not getting an answer (refused, timed out, the server still loading
  its data after a restart, a read-only replica) into one error, ``RedisUnavailable``;
- is a circuit breaker: after a failure it fails fast for ``down_for`` seconds (default
  1 s) without touching the network; then one caller probes Redis while every other one
  still fails at once, so while Redis is away (or frozen) one call per ``down_for`` pays
  the timeout, not every concurrent caller, and the first answer closes the breaker;
- bounds every ``async`` call by ``timeout`` in all, waiting for a pooled connection
  included; a task that got its connection after the breaker opened fails at once instead
  of sending to a server that just stopped answering;
- keeps one ``redis.asyncio`` client per running event loop for the ``async`` paths.

    conn = RedisConnection("redis://127.0.0.1:6379/0", timeout=0.25)
    conn.run(lambda r: r.ping())
    await conn.arun(lambda r: r.ping())
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from llmhooks._validate import check_number
from llmhooks.errors import MissingExtraError, RedisUnavailable

try:
    import redis
    import redis.asyncio as aredis
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, ReadOnlyError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "llmhooks' Redis handlers need 'redis' (redis-py): pip install 'llmhooks[redis]'"
    ) from None

__all__ = ["DEFAULT_URL", "RedisConnection", "RedisTarget", "RedisUnavailable", "Script", "connect"]

T = TypeVar("T")
DEFAULT_URL = "redis://127.0.0.1:6379/0"
_ASYNC_CONNECTIONS = 64  # per event loop

# what "no answer" looks like; BusyLoadingError (a restarted server loading its AOF) is a ConnectionError
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    OSError,
    asyncio.TimeoutError,
)


class Script:
    """A Lua script run with ``EVALSHA``, loaded again when the server forgot it (a restart)."""

    __slots__ = ("lua", "sha")

    def __init__(self, lua: str) -> None:
        self.lua = lua
        self.sha = hashlib.sha1(lua.encode()).hexdigest()

    def __call__(self, client: redis.Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.lua, len(keys), *keys, *args)

    async def acall(self, client: aredis.Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.lua, len(keys), *keys, *args)

    def pipelined(
        self, client: redis.Redis, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
    ) -> list[Any]:
        """Run the script once per ``(keys, args)`` in one round trip; results in order."""
        if not calls:
            return []
        for attempt in (0, 1):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            results = pipe.execute(raise_on_error=False)
            if attempt == 0 and any(isinstance(r, NoScriptError) for r in results):
                client.script_load(self.lua)  # every call of it failed the same way: none ran
                continue
            for r in results:
                if isinstance(r, Exception):
                    raise r
            return list(results)
        raise AssertionError("unreachable")  # pragma: no cover


def _describe(kwargs: dict[str, Any]) -> str:
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _plain_kwargs(pool_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The connection settings of a client that a client of the other kind can take."""
    keep = ("host", "port", "db", "username", "password", "client_name", "path")
    out = {k: pool_kwargs[k] for k in keep if pool_kwargs.get(k) is not None}
    if "path" in out:
        out["unix_socket_path"] = out.pop("path")
    return out


class RedisConnection:
    """Sync and async clients for one Redis, with a short timeout and a breaker; thread-safe.

    Args:
        redis: a URL (``redis://``, ``rediss://``, ``unix://``), or a ``redis.Redis`` /
            ``redis.asyncio.Redis`` you configured (then its own timeouts and retries
            apply to calls through it; the client of the other kind is built with the same
            host, port, db and credentials and this ``timeout``).
        timeout: seconds to connect and to wait for each reply (> 0).
        down_for: after a failure, seconds during which calls fail at once (>= 0).
    """

    def __init__(
        self,
        redis: str | redis.Redis | aredis.Redis = DEFAULT_URL,
        *,
        timeout: float = 0.5,
        down_for: float = 1.0,
    ) -> None:
        self.timeout = float(check_number("timeout", timeout, minimum=0, exclusive_minimum=True))
        self.down_for = float(check_number("down_for", down_for, minimum=0))
        self._url: str | None = None
        self._sync: Any = None
        self._async_given: aredis.Redis | None = None
        self._kwargs: dict[str, Any] = {}
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError(f"redis must be a redis://, rediss:// or unix:// URL, got {redis!r}")
            self._url = redis
            self._sync = _sync_from_url(redis, self.timeout)
            self._kwargs = dict(self._sync.connection_pool.connection_kwargs)
        elif isinstance(redis, aredis.Redis):
            self._async_given = redis
            self._kwargs = dict(redis.connection_pool.connection_kwargs)
        elif hasattr(redis, "connection_pool") and hasattr(redis, "evalsha"):
            self._sync = redis
            self._kwargs = dict(redis.connection_pool.connection_kwargs)
        else:
            raise TypeError(
                f"redis must be a URL, a redis.Redis or a redis.asyncio.Redis, got {type(redis).__name__}"
            )
        self.where = _describe(self._kwargs)
        self._down_until = 0.0  # open (failing fast) until then
        self._broken = False  # a failure not yet followed by an answer
        self._probe_until = 0.0  # half-open: a probe is on the network until then
        self._failed_at = 0.0
        self._last_error: BaseException | None = None
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._blocking: Any = None

    def __repr__(self) -> str:
        return f"RedisConnection({self.where!r}, timeout={self.timeout})"

    # clients

    @property
    def client(self) -> redis.Redis:
        """The sync client (built on first use when only an async one was given)."""
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = _sync_client(_plain_kwargs(self._kwargs), self.timeout)
        return self._sync  # type: ignore[no-any-return]

    def blocking_client(self, block: float) -> redis.Redis:
        """A sync client whose reply timeout allows a ``BLOCK`` of ``block`` seconds (for readers)."""
        if self._blocking is None:
            with self._lock:
                if self._blocking is None:
                    kwargs = _plain_kwargs(self._kwargs)
                    if self._url is not None:
                        self._blocking = _sync_from_url(self._url, self.timeout, read=self.timeout + block)
                    else:
                        self._blocking = _sync_client(kwargs, self.timeout, read=self.timeout + block)
        return self._blocking  # type: ignore[no-any-return]

    def async_client(self) -> aredis.Redis:
        """The ``redis.asyncio`` client of the running event loop (one per loop)."""
        if self._async_given is not None:
            return self._async_given
        loop = asyncio.get_running_loop()
        client = self._loops.get(loop)
        if client is None:
            if self._url is not None:
                client = _async_from_url(self._url, self.timeout)
            else:
                client = _async_client(_plain_kwargs(self._kwargs), self.timeout)
            pool = client.connection_pool
            if isinstance(pool, _CheckedPool):
                pool.owner = weakref.ref(self)
            self._loops[loop] = client
        return client

    # calls

    @contextmanager
    def _call(self) -> Iterator[None]:
        """Around one call: fail fast while down; a failure to get an answer becomes
        ``RedisUnavailable`` (and opens the breaker); any answer closes it."""
        self._check()
        try:
            yield
        except _UNAVAILABLE as exc:
            raise self._failed(exc) from exc
        except Exception:
            self._answered()  # Redis answered, with an error of the command's own
            raise
        if self._broken:
            self._answered()

    def run(self, op: Callable[[redis.Redis], T]) -> T:
        """``op(client)``, with every failure to get an answer raised as ``RedisUnavailable``."""
        with self._call():
            return op(self.client)

    async def arun(self, op: Callable[[aredis.Redis], Awaitable[T]]) -> T:
        """``await op(async_client)``, within ``timeout`` in all, failures as ``RedisUnavailable``."""
        with self._call():
            # wait_for as well: a reply that never comes, or a connection that is never
            # free, must not outlast the timeout
            return await asyncio.wait_for(op(self.async_client()), self.timeout)

    def run_blocking(self, op: Callable[[redis.Redis], T], block: float) -> T:
        """Like ``run`` on ``blocking_client(block)``."""
        with self._call():
            return op(self.blocking_client(block))

    @property
    def available(self) -> bool:
        """False while failing fast after a recent failure."""
        return time.monotonic() >= self._down_until

    @property
    def last_error(self) -> BaseException | None:
        """The last failure to reach Redis, if any."""
        return self._last_error

    def _check(self) -> None:
        if not self._broken:
            return
        now = time.monotonic()
        if now < self._down_until:
            raise RedisUnavailable(
                f"Redis at {self.where} is unavailable (failed {self._last_error!r} less than "
                f"{self.down_for:g}s ago)"
            )
        with self._lock:  # half-open: one caller probes, the others fail at once meanwhile
            if now < self._probe_until:
                raise RedisUnavailable(
                    f"Redis at {self.where} is unavailable (failed {self._last_error!r}; "
                    "another call is checking whether it is back)"
                )
            self._probe_until = now + 2 * self.timeout + 0.1  # a probe that never returns expires

    def _failed(self, exc: BaseException) -> RedisUnavailable:
        self._last_error = exc
        now = time.monotonic()
        with self._lock:
            self._failed_at = now
            self._down_until = now + self.down_for
            self._probe_until = 0.0
            self._broken = True
        return RedisUnavailable(f"Redis at {self.where} did not answer within {self.timeout:g}s: {exc!r}")

    def _answered(self) -> None:
        """Redis answered: close the breaker."""
        with self._lock:
            self._broken = False
            self._down_until = self._probe_until = 0.0

    def failed_since(self, when: float) -> bool:
        """True if a call failed after ``when`` (monotonic seconds)."""
        return self._broken and self._failed_at > when

    def mark_up(self) -> None:
        """Forget a recent failure (the next call goes to the network)."""
        self._answered()

    def close(self) -> None:
        """Close the sync clients' connections (async clients close with their loops)."""
        for client in (self._sync, self._blocking):
            if client is not None:
                try:
                    client.close()
                except Exception:  # closing a broken connection must not raise
                    pass


RedisTarget = str | redis.Redis | aredis.Redis | RedisConnection
"""What ``redis=`` takes: a URL, a client of either kind, or a ``RedisConnection`` to share."""


def connect(redis: RedisTarget = DEFAULT_URL, **kwargs: Any) -> RedisConnection:
    """``redis`` as a ``RedisConnection`` (a given one is returned as is, to be shared)."""
    if isinstance(redis, RedisConnection):
        if kwargs:
            raise TypeError(f"options {sorted(kwargs)} cannot apply to an existing RedisConnection")
        return redis
    return RedisConnection(redis, **kwargs)


def _sync_from_url(url: str, timeout: float, read: float | None = None) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=read or timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def _sync_client(kwargs: dict[str, Any], timeout: float, read: float | None = None) -> redis.Redis:
    return redis.Redis(
        **kwargs,
        socket_timeout=read or timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


class _CheckedPool(aredis.BlockingConnectionPool):
    """A blocking pool whose waiters fail at once if their connection's breaker opened while they waited."""

    owner: weakref.ref[RedisConnection] | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        connection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        owner = self.owner() if self.owner is not None else None
        if owner is not None and owner.failed_since(started):
            await self.release(connection)
            raise RedisConnectionError(f"Redis at {owner.where} failed while this call waited to connect")
        return connection


def _async_from_url(url: str, timeout: float) -> aredis.Redis:
    # a blocking pool: a burst of tasks waits (up to the timeout) for a connection instead of failing
    pool = _CheckedPool.from_url(
        url,
        max_connections=_ASYNC_CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=AsyncRetry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return aredis.Redis(connection_pool=pool)


def _async_client(kwargs: dict[str, Any], timeout: float) -> aredis.Redis:
    connection_class: Any = (
        aredis.UnixDomainSocketConnection if "unix_socket_path" in kwargs else aredis.Connection
    )
    if "unix_socket_path" in kwargs:
        kwargs = {**kwargs, "path": kwargs["unix_socket_path"]}
        del kwargs["unix_socket_path"]
    pool = _CheckedPool(
        max_connections=_ASYNC_CONNECTIONS,
        timeout=timeout,
        connection_class=connection_class,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=AsyncRetry(NoBackoff(), 0),
        **kwargs,
    )
    return aredis.Redis(connection_pool=pool)
