"""The server-side scripts of ``RedisCostLimiter``: reserve, settle, renew (one call each).

Keys (``KEYS``), for one budget: ``spent`` and ``reserved`` (hashes: ``<cycle>|*`` and
``<cycle>|u:<user>`` -> micro-USD), ``res`` (run id -> ``{"a": amount, "f": [fields]}``),
``leases`` (sorted set: run id -> lease end, ms) and ``settled`` (sorted set: run id ->
when, ms, trimmed to the idempotency window). Time is the server's (``TIME``), so the
clocks of the processes sharing the budget do not matter.
"""

from __future__ import annotations

from llmhooks.handlers.redis._connection import Script

__all__ = ["RENEW", "RESERVE", "SETTLE"]

# ARGV: run id, amount, lease (ms), then (field, limit or -1) per budget.
# Returns {1, 0, 0} reserved (or held already), {2, 0, 0} settled already,
# {0, i, used} refused by the i-th budget, which had `used` spent or reserved.
RESERVE = Script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function release(id)
  local raw = redis.call('HGET', KEYS[3], id)
  if raw then
    local r = cjson.decode(raw)
    for _, f in ipairs(r.f) do redis.call('HINCRBY', KEYS[2], f, -tonumber(r.a)) end
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('ZREM', KEYS[4], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100)) do
  release(id)
end
local run = ARGV[1]
if redis.call('HEXISTS', KEYS[3], run) == 1 then return {1, 0, 0} end
if redis.call('ZSCORE', KEYS[5], run) then return {2, 0, 0} end
local amount = tonumber(ARGV[2])
local fields = {}
for i = 4, #ARGV, 2 do
  local f, limit = ARGV[i], tonumber(ARGV[i + 1])
  local used = tonumber(redis.call('HGET', KEYS[1], f) or '0')
  used = used + tonumber(redis.call('HGET', KEYS[2], f) or '0')
  if limit >= 0 and used + amount > limit then return {0, (i - 2) / 2, used} end
  fields[#fields + 1] = f
end
for _, f in ipairs(fields) do redis.call('HINCRBY', KEYS[2], f, amount) end
redis.call('HSET', KEYS[3], run, cjson.encode({a = ARGV[2], f = fields}))
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), run)
return {1, 0, 0}
"""
)

# ARGV: run id, cost (-1: the amount reserved), idempotency window (ms), the amount this
# process reserved, then the fields (used when the reservation is gone: its lease ran out).
# Returns 1 settled, 0 settled before (nothing changes).
SETTLE = Script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local run = ARGV[1]
if redis.call('ZSCORE', KEYS[5], run) then return 0 end
local cost = tonumber(ARGV[2])
local fields = {}
local raw = redis.call('HGET', KEYS[3], run)
if raw then
  local r = cjson.decode(raw)
  for _, f in ipairs(r.f) do redis.call('HINCRBY', KEYS[2], f, -tonumber(r.a)) end
  redis.call('HDEL', KEYS[3], run)
  redis.call('ZREM', KEYS[4], run)
  fields = r.f
  if cost < 0 then cost = tonumber(r.a) end
else
  for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
  if cost < 0 then cost = tonumber(ARGV[4]) end
end
if cost > 0 then
  for _, f in ipairs(fields) do redis.call('HINCRBY', KEYS[1], f, cost) end
end
redis.call('ZADD', KEYS[5], now, run)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[3]))
return 1
"""
)

# KEYS: leases. ARGV: lease (ms), run ids: their leases are extended (released ones stay released).
RENEW = Script(
    """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', until_ms, ARGV[i]) end
return 1
"""
)
