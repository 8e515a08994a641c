/**
 * The rate-limit store the HTTP layer uses: the sliding windows in Redis when
 * REDIS_URL is set, in memory otherwise. While Redis is unreachable or hangs the
 * limits fall back to this process's memory (each process then applies them on
 * its own); the Redis guard (src/storage/redis-guard.ts) makes sure a request
 * waits on a hung Redis at most once, for the whole outage.
 */
import type { RedisGuard } from '../redis-guard.js';
import { memoryWindow } from './memory-window.js';
import { redisWindow } from './redis-window.js';
import type { Bucket, Slot, Taken, WindowState } from './window.js';

export type { Bucket, Slot, Taken, WindowState } from './window.js';

export interface RateLimitStore {
  /** Counts a request in every counting bucket if all have room (see WindowStore.take). */
  take(buckets: Bucket[], giveBack?: Slot): Promise<Taken>;
  /** One window's state, counting nothing. */
  peek(key: string, limit: number, windowMs: number): Promise<WindowState>;
  /** Redis is configured but the limits are kept in this process's memory (exported as rate_limit_store_degraded). */
  readonly degraded: boolean;
  /** The clock the windows are measured with (the app's, so tests can move it). */
  now(): number;
}

export function createRateLimitStore(deps: { guard: RedisGuard | null; prefix: string; now: () => number }): RateLimitStore {
  const { guard, now } = deps;
  const memory = memoryWindow();
  const shared = guard ? redisWindow(guard.redis, deps.prefix) : null;
  // The real script, so a Redis that answers PING but not EVAL stays degraded.
  guard?.addProbe(() => shared!.take(now(), [{ key: 'probe', limit: 1, windowMs: 1000, count: false }]));

  const take = (buckets: Bucket[], giveBack?: Slot) =>
    guard
      ? guard.run(() => shared!.take(now(), buckets, giveBack), () => memory.take(now(), buckets, giveBack))
      : memory.take(now(), buckets, giveBack);

  return {
    take,
    async peek(key, limit, windowMs) {
      return (await take([{ key, limit, windowMs, count: false }])).states[0]!;
    },
    get degraded() {
      return guard?.degraded ?? false;
    },
    now,
  };
}
