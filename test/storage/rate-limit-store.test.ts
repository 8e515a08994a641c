/**
 * The sliding-window store on its own, in memory and in real Redis: concurrent
 * requests from several processes never count past the limit, peeking counts
 * nothing, and Redis forgetting the script (a restart) costs nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRateLimitStore, type RateLimitStore } from '../../src/storage/rate-limit/index.js';
import { silent } from '../helpers/databases.js';
import { readyRedis } from '../helpers/redis.js';
import { testServices } from '../helpers/services.js';

const HOUR = 3_600_000;
const kinds = inject('redisAvailable') ? (['memory', 'redis'] as const) : (['memory'] as const);

describe.each(kinds)('the sliding-window store (%s)', (kind) => {
  const clients: Redis[] = [];
  let now = Date.parse('2031-05-01T00:00:00Z');
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  let stores: RateLimitStore[];

  beforeAll(async () => {
    const connect = async () => {
      if (kind === 'memory') return null;
      const redis = await readyRedis(testServices.redisUrl!);
      clients.push(redis);
      return redis;
    };
    // Two "processes": with Redis they share one window, in memory each has its own.
    stores = await Promise.all([0, 1].map(async () => createRateLimitStore({ redis: await connect(), prefix, now: () => now, logger: silent })));
  });
  afterAll(() => {
    for (const redis of clients) redis.disconnect();
  });

  it('lets exactly the limit through when many requests arrive at once', async () => {
    const store = stores[0]!;
    const results = await Promise.all(Array.from({ length: 40 }, () => store.hit('burst', 10, HOUR)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(Math.max(...results.map((r) => r.count))).toBe(10);
  });

  if (kind === 'redis') it('shares one window between processes, even under concurrency', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.hit('shared-burst', 10, HOUR)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('counts nothing when peeking, and reports when the oldest request leaves', async () => {
    const store = stores[0]!;
    expect(await store.peek('peek', 3, HOUR)).toEqual({ count: 0, allowed: true, resetMs: 0 });
    await store.hit('peek', 3, HOUR);
    now += 60_000;
    await store.hit('peek', 3, HOUR);
    for (let i = 0; i < 3; i++) expect(await store.peek('peek', 3, HOUR)).toEqual({ count: 2, allowed: true, resetMs: HOUR - 60_000 });
  });

  if (kind === 'redis') it('keeps working after Redis forgets its scripts (a restart or SCRIPT FLUSH)', async () => {
    const store = stores[0]!;
    await store.hit('flush', 5, HOUR);
    await clients[0]!.script('FLUSH');
    expect(await store.hit('flush', 5, HOUR)).toMatchObject({ count: 2, allowed: true });
    expect(store.degraded).toBe(false);
  });
});
