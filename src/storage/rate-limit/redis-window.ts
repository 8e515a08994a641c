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

export function redisWindow(redis: Redis, prefix: string): WindowStore {
  // Members must be unique even for requests in the same millisecond from different processes.
  const processId = randomBytes(6).toString('hex');
  let sequence = 0;
  let sha: string | undefined;

  async function run(key: string, now: number, limit: number, windowMs: number, count: boolean): Promise<WindowState> {
    const args = [prefix + key, now, windowMs, limit, `${now}:${processId}:${sequence++}`, count ? 1 : 0];
    let reply: unknown;
    try {
      sha ??= (await redis.script('LOAD', SLIDING_WINDOW)) as string;
      reply = await redis.evalsha(sha, 1, ...args);
    } catch (error) {
      // Redis was restarted or flushed its scripts: load the script again next time.
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      sha = undefined;
      reply = await redis.eval(SLIDING_WINDOW, 1, ...args);
    }
    const [counted, allowed, reset] = reply as [number, number, number];
    return { count: counted, allowed: allowed === 1, resetMs: Math.max(0, reset) };
  }

  return {
    hit: (key, now, limit, windowMs) => run(key, now, limit, windowMs, true),
    peek: (key, now, limit, windowMs) => run(key, now, limit, windowMs, false),
  };
}
