package redislimit

import "github.com/redis/go-redis/v9"

// The scripts below are the whole server side. They are constants: no user
// string is ever evaluated as Lua, and every key they touch is passed in
// KEYS, all under one hash tag, so a Redis Cluster runs them on one node.
//
// KEYS, in this order for every script:
//
//	1 holders  hash  lease ID -> "weight:token"
//	2 expiry   zset  lease ID, scored by the server time (ms) it expires at
//	3 state    hash  held (running total), limit, seq (last token), ticket, rejected
//	4 queue    zset  waiter ID, scored by its ticket (FIFO across processes)
//	5 wants    hash  waiter ID -> "weight:ttl"
//	6 beats    zset  waiter ID, scored by the time its heartbeat runs out
//	7 wake     stream of grants: one entry {id = lease ID} per grant to a waiter
//
// ARGV common to every script:
//
//	1 now     client time in ms, or 0 to read the server's TIME
//	2 ttl     lease TTL in ms
//	3 wttl    waiter heartbeat TTL in ms
//	4 limit   the caller's limit, used only when the state has none (first use,
//	          or after Redis lost its data)
//
// A lease is live while now < its expiry. Every script first reaps expired
// holders and waiters, so nothing expired is ever counted, refreshed or
// granted over.
const prelude = `
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl = tonumber(ARGV[2])
local wttl = tonumber(ARGV[3])
local limit = tonumber(redis.call('HGET', KEYS[3], 'limit'))
if not limit then
  limit = tonumber(ARGV[4])
  redis.call('HSET', KEYS[3], 'limit', string.format('%d', limit))
end
local held = tonumber(redis.call('HGET', KEYS[3], 'held') or '0')
local granted = {}

local function weight_of(v)
  return tonumber(string.match(v, '^(%d+):'))
end

local function token_of(v)
  return tonumber(string.match(v, ':(%d+)$'))
end

local function drop_waiter(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
end

local function reap()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, id in ipairs(gone) do
    local v = redis.call('HGET', KEYS[1], id)
    if v then
      held = held - weight_of(v)
      redis.call('HDEL', KEYS[1], id)
    end
    redis.call('ZREM', KEYS[2], id)
  end
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now)
  for _, id in ipairs(lapsed) do
    drop_waiter(id)
  end
end

-- grant hands weight to the queue in ticket order: each waiter that fits is
-- granted, a waiter larger than the limit is passed over, and the first
-- waiter that does not fit stops the loop (strict FIFO).
local function grant(quiet)
  local i = 0
  while true do
    local head = redis.call('ZRANGE', KEYS[4], i, i)
    if #head == 0 then return end
    local id = head[1]
    local want = redis.call('HGET', KEYS[5], id)
    local w = tonumber(string.match(want or '0:0', '^(%d+):'))
    local wt = tonumber(string.match(want or '0:0', ':(%d+)$'))
    if w == 0 then
      drop_waiter(id)
    elseif w > limit then
      i = i + 1
    elseif held + w <= limit then
      local seq = tonumber(redis.call('HGET', KEYS[3], 'seq'))
      if not seq then seq = now * 1000 end
      seq = seq + 1
      redis.call('HSET', KEYS[3], 'seq', string.format('%d', seq))
      held = held + w
      redis.call('HSET', KEYS[1], id, string.format('%d:%d', w, seq))
      -- A grant lasts no longer than the waiter's heartbeat would have:
      -- a live waiter confirms it within a poll interval, which refreshes
      -- it to a full TTL; a dead waiter's grant lapses as its place would.
      local exp = now + wt
      local beat = tonumber(redis.call('ZSCORE', KEYS[6], id))
      if beat and beat < exp then exp = beat end
      redis.call('ZADD', KEYS[2], string.format('%d', exp), id)
      drop_waiter(id)
      granted[id] = seq
      if id ~= quiet then
        redis.call('XADD', KEYS[7], 'MAXLEN', '~', '1000', '*', 'id', id)
      end
    else
      return
    end
  end
end

local function finish()
  redis.call('HSET', KEYS[3], 'held', string.format('%d', held))
end
`

// acquireScript enqueues, heartbeats or confirms one request; it is the
// only script Acquire and TryAcquire send, so a retry with the same lease ID
// (ARGV[5]) is safe: it finds the request where the first attempt left it.
//
//	ARGV 5 id, 6 weight, 7 mode ("wait" or "try")
//
// Returns {status, token, limit, held, waiting} where status is 1 granted,
// 0 queued, -1 weight exceeds limit, -2 no capacity (try; nothing left behind).
var acquireScript = redis.NewScript(prelude + `
reap()
local id = ARGV[5]
local w = tonumber(ARGV[6])
local v = redis.call('HGET', KEYS[1], id)
if v then
  -- Live (reap ran first): a retry, or a grant made while we waited.
  redis.call('ZADD', KEYS[2], 'XX', string.format('%d', now + ttl), id)
  finish()
  return {1, token_of(v), limit, held, redis.call('ZCARD', KEYS[4])}
end
if redis.call('ZSCORE', KEYS[4], id) then
  redis.call('ZADD', KEYS[6], string.format('%d', now + wttl), id)
elseif w > limit then
  finish()
  return {-1, 0, limit, held, redis.call('ZCARD', KEYS[4])}
else
  local ticket = redis.call('HINCRBY', KEYS[3], 'ticket', 1)
  redis.call('ZADD', KEYS[4], ticket, id)
  redis.call('HSET', KEYS[5], id, string.format('%d:%d', w, ttl))
  redis.call('ZADD', KEYS[6], string.format('%d', now + wttl), id)
end
grant(id)
local tok = granted[id]
if tok then
  redis.call('ZADD', KEYS[2], string.format('%d', now + ttl), id)
  finish()
  return {1, tok, limit, held, redis.call('ZCARD', KEYS[4])}
end
if ARGV[7] == 'try' then
  drop_waiter(id)
  grant('')
  finish()
  return {-2, 0, limit, held, redis.call('ZCARD', KEYS[4])}
end
finish()
return {0, 0, limit, held, redis.call('ZCARD', KEYS[4])}
`)

// releaseScript releases or withdraws the given IDs: a holder gives its
// weight back, a waiter leaves the queue. An ID that is neither (a replay,
// a forgery, or a lease that already expired) changes nothing but the
// "rejected" counter. The weight freed is granted to the queue at once.
//
//	ARGV 5.. ids
//
// Returns {released, withdrawn, rejected}.
var releaseScript = redis.NewScript(prelude + `
reap()
local released, withdrawn, rejected = 0, 0, 0
for i = 5, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    held = held - weight_of(v)
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    released = released + 1
  elseif redis.call('ZSCORE', KEYS[4], id) then
    drop_waiter(id)
    withdrawn = withdrawn + 1
  else
    rejected = rejected + 1
  end
end
if rejected > 0 then
  redis.call('HINCRBY', KEYS[3], 'rejected', rejected)
end
grant('')
finish()
return {released, withdrawn, rejected}
`)

// heartbeatScript refreshes every lease and waiter one process holds, in
// one round trip. A holder is refreshed only if it is still live (ZADD XX
// after the reap), so a refresh never revives an expired lease.
//
//	ARGV 5 nh, then nh holder IDs, then nw, then nw waiter IDs
//
// Returns {holders, waiters, limit, held, waiting}: holders[i] is 1 if
// refreshed, 0 if gone; waiters[i] is the token if granted (and now
// refreshed), 0 if still queued, -1 if its queue entry is gone.
var heartbeatScript = redis.NewScript(prelude + `
reap()
grant('')
local nh = tonumber(ARGV[5])
local hs = {}
for i = 1, nh do
  local id = ARGV[5 + i]
  if redis.call('HGET', KEYS[1], id) then
    redis.call('ZADD', KEYS[2], 'XX', string.format('%d', now + ttl), id)
    hs[i] = 1
  else
    hs[i] = 0
  end
end
local base = 6 + nh
local nw = tonumber(ARGV[base])
local ws = {}
for i = 1, nw do
  local id = ARGV[base + i]
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    redis.call('ZADD', KEYS[2], 'XX', string.format('%d', now + ttl), id)
    ws[i] = token_of(v)
  elseif redis.call('ZSCORE', KEYS[4], id) then
    redis.call('ZADD', KEYS[6], 'XX', string.format('%d', now + wttl), id)
    ws[i] = 0
  else
    ws[i] = -1
  end
end
finish()
return {hs, ws, limit, held, redis.call('ZCARD', KEYS[4])}
`)

// setLimitScript stores a new shared limit and grants what now fits.
//
//	ARGV 5 new limit
//
// Returns {limit, held, waiting}.
var setLimitScript = redis.NewScript(prelude + `
reap()
limit = tonumber(ARGV[5])
redis.call('HSET', KEYS[3], 'limit', string.format('%d', limit))
grant('')
finish()
return {limit, held, redis.call('ZCARD', KEYS[4])}
`)

// statsScript reaps, grants what fits, and reports the shared state.
//
// Returns {limit, held, waiting, rejected}.
var statsScript = redis.NewScript(prelude + `
reap()
grant('')
finish()
return {limit, held, redis.call('ZCARD', KEYS[4]), tonumber(redis.call('HGET', KEYS[3], 'rejected') or '0')}
`)

// wakeScript adds an empty wake-up, so that a reader blocked on the stream
// returns; Close uses it to stop its own reader without waiting for the
// block to time out. Readers of other processes skip it.
var wakeScript = redis.NewScript(`
redis.call('XADD', KEYS[7], 'MAXLEN', '~', '1000', '*', 'id', '')
return 1
`)
