/**
 * The sliding-window store on its own, in memory and in real Redis: concurrent
 * requests from several processes never count past the limit, a request is
 * counted in all of its windows or in none, a slot given back frees its place,
 * peeking counts nothing, and Redis forgetting the script (a restart) costs nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRateLimitStore, type Bucket, type RateLimitStore } from '../../src/storage/rate-limit/index.js';
import { createRedisGuard } from '../../src/storage/redis-guard.js';
import { silent } from '../helpers/databases.js';
import { readyRedis } from '../helpers/redis.js';
import { testServices } from '../helpers/services.js';

const HOUR = 3_600_000;
const kinds = inject('redisAvailable') ? (['memory', 'redis'] as const) : (['memory'] as const);
const counting = (key: string, limit: number): Bucket => ({ key, limit, windowMs: HOUR, count: true });

describe.each(kinds)('the sliding-window store (%s)', (kind) => {
  const clients: Redis[] = [];
  let now = Date.parse('2031-05-01T00:00:00Z');
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  let stores: RateLimitStore[];
  const hit = (store: RateLimitStore, key: string, limit: number) => store.take([counting(key, limit)]);

  beforeAll(async () => {
    const connect = async () => {
      if (kind === 'memory') return null;
      const redis = await readyRedis(testServices.redisUrl!);
      clients.push(redis);
      return createRedisGuard({ redis, logger: silent });
    };
    // Two "processes": with Redis they share one window, in memory each has its own.
    stores = await Promise.all([0, 1].map(async () => createRateLimitStore({ guard: await connect(), prefix, now: () => now })));
  });
  afterAll(() => {
    for (const redis of clients) redis.disconnect();
  });

  it('lets exactly the limit through when many requests arrive at once', async () => {
    const store = stores[0]!;
    const results = await Promise.all(Array.from({ length: 40 }, () => hit(store, 'burst', 10)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(Math.max(...results.map((r) => r.states[0]!.count))).toBe(10);
  });

  if (kind === 'redis') it('shares one window between processes, even under concurrency', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => hit(stores[i % 2]!, 'shared-burst', 10)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('counts a request in all of its windows or in none, and only checks the windows that do not count', async () => {
    const store = stores[0]!;
    const request = [counting('all-key', 3), counting('all-user', 5), { key: 'all-address', limit: 1, windowMs: HOUR, count: false }];
    for (let i = 0; i < 3; i++) expect((await store.take(request)).allowed).toBe(true);
    // The key's window is full: the user's is not counted either.
    const refused = await store.take(request);
    expect(refused.allowed).toBe(false);
    expect(refused.states.map((s) => [s.count, s.allowed])).toEqual([[3, false], [3, true], [0, true]]);
    expect((await store.peek('all-user', 5, HOUR)).count).toBe(3);
    expect((await store.peek('all-address', 1, HOUR)).count).toBe(0);
  });

  it('gives a slot back: a guess returned frees its place in the window', async () => {
    const store = stores[0]!;
    const first = await hit(store, 'guesses', 2);
    await hit(store, 'guesses', 2);
    expect((await hit(store, 'guesses', 2)).allowed).toBe(false);
    const after = await store.take([counting('valid-key', 10)], { key: 'guesses', member: first.member });
    expect(after.allowed).toBe(true);
    expect((await store.peek('guesses', 2, HOUR)).count).toBe(1);
    expect((await hit(store, 'guesses', 2)).allowed).toBe(true);
  });

  it('counts nothing when peeking, and reports when the oldest request leaves', async () => {
    const store = stores[0]!;
    expect(await store.peek('peek', 3, HOUR)).toEqual({ count: 0, allowed: true, resetMs: 0 });
    await hit(store, 'peek', 3);
    now += 60_000;
    await hit(store, 'peek', 3);
    for (let i = 0; i < 3; i++) expect(await store.peek('peek', 3, HOUR)).toEqual({ count: 2, allowed: true, resetMs: HOUR - 60_000 });
  });

  if (kind === 'redis') it('keeps working after Redis forgets its scripts (a restart or SCRIPT FLUSH)', async () => {
    const store = stores[0]!;
    await hit(store, 'flush', 5);
    await clients[0]!.script('FLUSH');
    expect((await hit(store, 'flush', 5)).states[0]).toMatchObject({ count: 2, allowed: true });
    expect(store.degraded).toBe(false);
  });
});
