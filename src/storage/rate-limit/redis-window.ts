/**
 * The sliding window in Redis, shared by every process: one sorted set of
 * request times per key, read and updated by one Lua script so that concurrent
 * requests from any number of processes never count past the limit. The time
 * comes from the caller (the app's clock), not from Redis, so tests can move it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WindowState, WindowStore } from './window.js';

/** KEYS[1]: the key's sorted set. ARGV: now (ms), window (ms), limit, member, 1 to count this request or 0 to peek. */
const SLIDING_WINDOW = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then allowed = 1 end
if ARGV[5] == '1' and allowed == 1 then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
end
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {count, allowed, reset}
`;

/** The script as a command of the client: ioredis sends EVALSHA, and the script again when Redis lost it. */
type WithSlidingWindow = Redis & { slidingWindow(key: string, ...args: (string | number)[]): Promise<[number, number, number]> };

export function redisWindow(redis: Redis, prefix: string): WindowStore {
  // Members must be unique even for requests in the same millisecond from different processes.
  const processId = randomBytes(6).toString('hex');
  let sequence = 0;
  redis.defineCommand('slidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW });

  async function run(key: string, now: number, limit: number, windowMs: number, count: boolean): Promise<WindowState> {
    const [counted, allowed, reset] = await (redis as WithSlidingWindow).slidingWindow(
      prefix + key, now, windowMs, limit, `${now}:${processId}:${sequence++}`, count ? 1 : 0,
    );
    return { count: counted, allowed: allowed === 1, resetMs: Math.max(0, reset) };
  }

  return {
    hit: (key, now, limit, windowMs) => run(key, now, limit, windowMs, true),
    peek: (key, now, limit, windowMs) => run(key, now, limit, windowMs, false),
  };
}
