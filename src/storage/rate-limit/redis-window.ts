/**
 * The sliding windows in Redis, shared by every process: one sorted set of
 * request times per key, read and updated by one Lua script per `take`, so that
 * concurrent requests from any number of processes never count past a limit.
 * The time comes from the caller (the app's clock), not from Redis, so tests
 * can move it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WindowStore } from './window.js';

/**
 * KEYS: the buckets' sorted sets, then the set to give a slot back to (when ARGV[3] is not empty).
 * ARGV: now (ms), member, member to give back or '', then limit, window (ms), 1 to count or 0 per bucket.
 * Returns allowed, then count, room (1/0) and reset (ms) per bucket.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local n = #KEYS
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[n], ARGV[3])
  n = n - 1
end
local counts, rooms = {}, {}
local allowed = 1
for i = 1, n do
  local base = 4 + (i - 1) * 3
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[base + 1]))
  counts[i] = redis.call('ZCARD', KEYS[i])
  rooms[i] = 0
  if counts[i] < tonumber(ARGV[base]) then rooms[i] = 1 else allowed = 0 end
end
local result = {allowed}
for i = 1, n do
  local base = 4 + (i - 1) * 3
  local window = tonumber(ARGV[base + 1])
  if allowed == 1 and ARGV[base + 2] == '1' then
    redis.call('ZADD', KEYS[i], now, ARGV[2])
    redis.call('PEXPIRE', KEYS[i], window)
    counts[i] = counts[i] + 1
  end
  local reset = 0
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
  table.insert(result, counts[i])
  table.insert(result, rooms[i])
  table.insert(result, reset)
end
return result
`;

/** The script as a command of the client: ioredis sends EVALSHA, and the script again when Redis lost it. */
type WithTake = Redis & { slidingWindowTake(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]> };

export function redisWindow(redis: Redis, prefix: string): WindowStore {
  // Members must be unique even for requests in the same millisecond from different processes.
  const processId = randomBytes(6).toString('hex');
  let sequence = 0;
  redis.defineCommand('slidingWindowTake', { lua: TAKE });

  return {
    async take(now, buckets, giveBack) {
      const member = `${now}:${processId}:${sequence++}`;
      const keys = buckets.map((bucket) => prefix + bucket.key);
      if (giveBack) keys.push(prefix + giveBack.key);
      const args = buckets.flatMap((bucket) => [bucket.limit, bucket.windowMs, bucket.count ? 1 : 0]);
      const reply = await (redis as WithTake).slidingWindowTake(keys.length, ...keys, now, member, giveBack?.member ?? '', ...args);
      return {
        allowed: reply[0] === 1,
        member,
        states: buckets.map((_, i) => ({ count: reply[1 + i * 3]!, allowed: reply[2 + i * 3] === 1, resetMs: Math.max(0, reply[3 + i * 3]!) })),
      };
    },
  };
}
