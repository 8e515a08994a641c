/**
 * Redis holds shared state (rate-limit windows, the key-verification cache)
 * that each process can also keep on its own, so Redis must never hold a
 * request up. Every use goes through one guard: the first command that fails
 * or times out switches every user of Redis to its in-process fallback at once,
 * and from then on requests never wait on Redis, while one background probe at
 * a time (only over a live connection) checks whether it answers again. Each
 * switch is logged once.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisGuard {
  readonly redis: Redis;
  /** `op` on Redis while it answers; otherwise (or when `op` fails) `fallback`, without waiting on Redis. */
  run<T>(op: (redis: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T>;
  /** A check that must pass before Redis is used again (e.g. a script answers, not only PING). */
  addProbe(probe: (redis: Redis) => Promise<unknown>): void;
  /** Redis is configured but not used (exported as rate_limit_store_degraded). */
  readonly degraded: boolean;
}

export function createRedisGuard(deps: {
  redis: Redis;
  logger: Logger;
  /** Told each time the guard switches between Redis and per-process memory (a metric). */
  onDegraded?: (degraded: boolean) => void;
}): RedisGuard {
  const { redis, logger } = deps;
  const probes: ((redis: Redis) => Promise<unknown>)[] = [];
  let degraded = false;
  let probing = false;

  const fallBack = (reason: string) => {
    if (degraded) return;
    degraded = true;
    deps.onDegraded?.(true);
    logger.warn({ reason }, 'Redis is not answering: rate limits and the API key cache fall back to per-process memory until it answers again');
  };
  const recover = () => {
    if (!degraded) return;
    degraded = false;
    deps.onDegraded?.(false);
    logger.info('Redis answers again: rate limits and the API key cache are shared through it again');
  };

  const probe = () => {
    if (probing || redis.status !== 'ready') return;
    probing = true;
    Promise.all(probes.length > 0 ? probes.map((check) => check(redis)) : [redis.ping()])
      .then(recover, () => undefined)
      .finally(() => {
        probing = false;
      });
  };
  // Back to Redis as soon as the connection is, not only at the next request (the degraded flag is a metric).
  redis.on('ready', probe);

  return {
    redis,
    async run(op, fallback) {
      if (degraded) {
        probe();
        return fallback();
      }
      if (redis.status !== 'ready') {
        fallBack(`redis connection is ${redis.status}`);
        return fallback();
      }
      try {
        return await op(redis);
      } catch (error) {
        fallBack((error as Error).message);
        return fallback();
      }
    },
    addProbe(check) {
      probes.push(check);
    },
    get degraded() {
      return degraded;
    },
  };
}
