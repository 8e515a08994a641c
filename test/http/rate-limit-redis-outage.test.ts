/**
 * Two app instances share their rate limits and key cache through real Redis,
 * reached via a TCP proxy this test owns. Made unreachable (connections
 * refused) or hung (connections open, nothing answered), Redis must never hold
 * a request up: every request is answered, after the first timeout no request
 * waits on Redis again (a new key is verified in well under a second), each
 * instance applies the limits on its own, the switch is logged once and /ready
 * says degraded; once Redis is back, the two instances share one count again.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { readyRedis } from '../helpers/redis.js';
import { testServices } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

/** Generous: an answer that takes longer than this is a hang, not a slow answer. */
const CLIENT_TIMEOUT_MS = 10_000;

async function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CLIENT_TIMEOUT_MS} ms`)), CLIENT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!inject('redisAvailable'))('rate limits while Redis goes away and comes back', () => {
  let proxy: TcpProxy;
  let redisA: Redis;
  let redisB: Redis;
  let a: TestApp;
  let b: TestApp;
  const logA: { msg: string; level: number }[] = [];

  beforeAll(async () => {
    proxy = await startTcpProxy(testServices.redisUrl!);
    [redisA, redisB] = await Promise.all([readyRedis(proxy.url), readyRedis(proxy.url)]);
    const env = { RATE_LIMIT_REQUESTS_PER_HOUR: '5', RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:` };
    const logger = pino({ level: 'info' }, { write: (line: string) => void logA.push(JSON.parse(line)) });
    a = await createTestApp('embedded', { redis: redisA, env, logger });
    b = await createTestApp('embedded', { redis: redisB, env, reset: false });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    redisA.disconnect();
    redisB.disconnect();
    await proxy.close();
  });

  let userId: string;
  // Keys are made through the service: admin requests have a budget of five here too.
  const newKey = async () => {
    userId ??= (await a.userWithKey('outage@example.com')).userId;
    return (await a.app.services.keys.create({ userId, name: 'phone', scopes: ['ingest', 'read'] })).key;
  };
  const call = (t: TestApp, key: string): Promise<LightMyRequestResponse> =>
    within(t.app.inject({ url: '/api/v1/ingestions', headers: { authorization: `Bearer ${key}` } }), 'GET /api/v1/ingestions');
  const statuses = async (t: TestApp, key: string, n: number) => {
    const codes: number[] = [];
    for (let i = 0; i < n; i++) codes.push((await call(t, key)).statusCode);
    return codes;
  };
  const ready = async (t: TestApp) => (await within(t.app.inject({ url: '/ready' }), 'GET /ready')).json();
  const switches = (text: string) => logA.filter((line) => line.msg.includes(text)).length;

  /** Three requests on one instance and two on the other use up one shared budget of five. */
  async function expectOneSharedCount() {
    const key = await newKey();
    expect(await statuses(a, key, 3)).toEqual([200, 200, 200]);
    expect(await statuses(b, key, 2)).toEqual([200, 200]);
    expect((await call(a, key)).statusCode).toBe(429);
    expect((await call(b, key)).statusCode).toBe(429);
  }

  /** Each instance counts on its own: five each, then 429, every request answered. */
  async function expectLimitsPerProcess(key: string) {
    expect(await statuses(a, key, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await statuses(b, key, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(a.app.services.rateLimits.degraded).toBe(true);
    expect(b.app.services.rateLimits.degraded).toBe(true);
    const report = await ready(a);
    expect(report.status).toBe('degraded');
    expect(report.checks.redis).toBe('down');
  }

  async function expectBackToRedis() {
    await until('both instances back on Redis', () => !a.app.services.rateLimits.degraded && !b.app.services.rateLimits.degraded);
    await until('/ready ok', async () => (await ready(a)).status === 'ok');
  }

  it('shares one count between two instances while Redis is up', async () => {
    await expectOneSharedCount();
    expect(a.app.services.rateLimits.degraded).toBe(false);
  });

  it('keeps answering and limits per process while Redis refuses connections, then shares again', async () => {
    const key = await newKey();
    const fellBack = switches('rate limits and the API key cache fall back');
    const cameBack = switches('rate limits and the API key cache are shared through it again');
    proxy.refuse();
    await expectLimitsPerProcess(key);
    proxy.restore();
    await expectBackToRedis();
    await expectOneSharedCount();
    // One switch each way for this outage, whatever earlier tests logged.
    expect(switches('rate limits and the API key cache fall back') - fellBack).toBe(1);
    expect(switches('rate limits and the API key cache are shared through it again') - cameBack).toBe(1);
  });

  it('keeps answering and limits per process while Redis hangs, then shares again', async () => {
    const key = await newKey();
    const fellBack = switches('rate limits and the API key cache fall back');
    proxy.stall();
    await expectLimitsPerProcess(key);
    proxy.restore();
    await expectBackToRedis();
    await expectOneSharedCount();
    expect(switches('rate limits and the API key cache fall back') - fellBack).toBe(1);
  });

  it('verifies new keys without waiting on a hung Redis after its first timeout (the key cache and the limits go to memory together)', async () => {
    proxy.stall();
    // The first request to meet the hung Redis waits for one command timeout.
    expect((await call(a, await newKey())).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) {
      const key = await newKey();
      const started = performance.now();
      expect((await call(a, key)).statusCode).toBe(200);
      // Under the 1 s command timeout: only waiting on the hung Redis takes this long.
      expect(performance.now() - started).toBeLessThan(1000);
    }
    const started = performance.now();
    expect((await call(a, `hea_wrong-${'x'.repeat(40)}`)).statusCode).toBe(401);
    expect(performance.now() - started).toBeLessThan(1000);
    proxy.restore();
    await expectBackToRedis();
  });
});
