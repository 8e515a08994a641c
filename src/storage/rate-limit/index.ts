/**
 * The rate-limit store the HTTP layer uses: the sliding window in Redis when
 * REDIS_URL is set, in memory otherwise. While Redis is unreachable the limits
 * fall back to this process's memory (each process then applies them on its
 * own), and a request never waits on Redis longer than the client's command
 * timeout, once: after a failure, requests go straight to memory while one
 * probe at a time checks whether Redis answers again. Each switch is logged once.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { memoryWindow } from './memory-window.js';
import { redisWindow } from './redis-window.js';
import type { WindowState } from './window.js';

export type { WindowState } from './window.js';

export interface RateLimitStore {
  hit(key: string, limit: number, windowMs: number): Promise<WindowState>;
  peek(key: string, limit: number, windowMs: number): Promise<WindowState>;
  /** Redis is configured but the limits are kept in this process's memory (exported as rate_limit_store_degraded). */
  readonly degraded: boolean;
  /** The clock the windows are measured with (the app's, so tests can move it). */
  now(): number;
}

export function createRateLimitStore(deps: {
  redis: Redis | null;
  prefix: string;
  now: () => number;
  logger: Logger;
  /** Told each time the store switches between Redis and per-process memory (a metric). */
  onDegraded?: (degraded: boolean) => void;
}): RateLimitStore {
  const { redis, now, logger } = deps;
  const memory = memoryWindow();
  const shared = redis ? redisWindow(redis, deps.prefix) : null;
  let degraded = false;
  let probing = false;

  const fallBack = (reason: string) => {
    if (degraded) return;
    degraded = true;
    deps.onDegraded?.(true);
    logger.warn({ reason }, 'rate limits fall back to per-process memory until Redis answers again');
  };
  const recover = () => {
    if (!degraded) return;
    degraded = false;
    deps.onDegraded?.(false);
    logger.info('rate limits are shared through Redis again');
  };

  /** One probe at a time, and only over a live connection: the real script, so a Redis that answers PING but not EVAL stays degraded. */
  const probe = () => {
    if (probing || redis?.status !== 'ready') return;
    probing = true;
    shared!
      .peek('probe', now(), 1, 1000)
      .then(recover, () => undefined)
      .finally(() => {
        probing = false;
      });
  };

  // Back to Redis as soon as the connection is, not only at the next request (the degraded flag is a metric).
  redis?.on('ready', probe);

  async function run(op: 'hit' | 'peek', key: string, limit: number, windowMs: number): Promise<WindowState> {
    if (shared && !degraded) {
      if (redis!.status === 'ready') {
        try {
          return await shared[op](key, now(), limit, windowMs);
        } catch (error) {
          fallBack((error as Error).message);
        }
      } else {
        fallBack(`redis connection is ${redis!.status}`);
      }
    } else if (shared) {
      probe();
    }
    return memory[op](key, now(), limit, windowMs);
  }

  return {
    hit: (key, limit, windowMs) => run('hit', key, limit, windowMs),
    peek: (key, limit, windowMs) => run('peek', key, limit, windowMs),
    get degraded() {
      return degraded;
    },
    now,
  };
}
