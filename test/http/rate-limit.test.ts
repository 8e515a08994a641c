/**
 * Rate limits as a client sees them, with the sliding window in memory and in
 * real Redis: per key, per user (all its keys), per address for failed
 * authentications and, separately, for requests without a key, key creations
 * per user, headers, 429 with Retry-After, and a window that slides (shown by
 * moving the app's clock, not by sleeping).
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { readyRedis } from '../helpers/redis.js';
import { testServices } from '../helpers/services.js';

const MINUTE = 60_000;
const stores = inject('redisAvailable') ? (['memory', 'redis'] as const) : (['memory'] as const);

describe.each(stores)('rate limits (%s store)', (store) => {
  let t: TestApp;
  let redis: Redis | null = null;
  // Each key starts a day after the last, so the admin key that creates it always has budget left.
  let base = Date.parse('2030-01-01T00:00:00Z');
  let clock = base;
  const at = (minutes: number) => {
    clock = base + minutes * MINUTE;
  };

  beforeAll(async () => {
    if (store === 'redis') redis = await readyRedis(testServices.redisUrl!);
    t = await createTestApp('embedded', {
      redis,
      now: () => new Date(clock),
      env: {
        RATE_LIMIT_REQUESTS_PER_HOUR: '5',
        RATE_LIMIT_IP_REQUESTS_PER_HOUR: '3',
        RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: '3',
        RATE_LIMIT_USER_REQUESTS_PER_HOUR: '8',
        KEY_CREATIONS_PER_USER_PER_HOUR: '2',
        RATE_LIMIT_WINDOW_SECONDS: '3600',
        // Each run starts with empty windows, whatever earlier runs left in the shared Redis.
        RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
        TRUST_PROXY: '127.0.0.1',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    redis?.disconnect();
  });

  let addresses = 0;
  const newAddress = () => `10.1.${Math.floor(++addresses / 250)}.${addresses % 250}`;
  const newUser = async () => {
    base += 24 * 60 * MINUTE;
    at(0);
    // Creating the key is itself an admin request, from an address of its own.
    return t.userWithKey(`${randomBytes(4).toString('hex')}@example.com`);
  };
  const newKey = async () => (await newUser()).key;
  const get = (key: string | undefined, remoteAddress = '127.0.0.2', url = '/api/v1/ingestions') =>
    t.app.inject({ url, remoteAddress, headers: key ? { authorization: `Bearer ${key}` } : {} });
  const limitHeaders = (response: LightMyRequestResponse) => ({
    limit: response.headers['x-ratelimit-limit'],
    remaining: response.headers['x-ratelimit-remaining'],
    reset: response.headers['x-ratelimit-reset'],
  });

  it('answers the sixth request in the window with 429, Retry-After and a JSON error saying when to retry', async () => {
    const key = await newKey();
    for (let i = 0; i < 5; i++) {
      at(i);
      const response = await get(key);
      expect(response.statusCode).toBe(200);
      expect(limitHeaders(response)).toEqual({ limit: '5', remaining: String(4 - i), reset: String(3600 - i * 60) });
    }
    at(5);
    const refused = await get(key);
    expect(refused.statusCode).toBe(429);
    // The first request (minute 0) leaves the window at minute 60: 55 minutes from now.
    expect(refused.headers['retry-after']).toBe(String(55 * 60));
    expect(limitHeaders(refused)).toEqual({ limit: '5', remaining: '0', reset: String(55 * 60) });
    const error = refused.json().error;
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toContain('retry in 3300 s');
    expect(error.request_id).toBe(refused.headers['x-request-id']);
  });

  it('slides: requests age out one by one, not all at once at a window boundary', async () => {
    const key = await newKey();
    for (const minute of [0, 10, 20, 30, 40]) {
      at(minute);
      expect((await get(key)).statusCode).toBe(200);
    }
    at(50);
    expect((await get(key)).statusCode).toBe(429);
    // Minute 60: only the request of minute 0 has aged out, so exactly one more is allowed.
    at(60);
    const freed = await get(key);
    expect(freed.statusCode).toBe(200);
    expect(freed.headers['x-ratelimit-remaining']).toBe('0');
    at(61);
    const next = await get(key);
    expect(next.statusCode).toBe(429);
    expect(next.headers['retry-after']).toBe(String(9 * 60)); // the minute-10 request leaves at minute 70
    at(70);
    expect((await get(key)).statusCode).toBe(200);
    at(71);
    expect((await get(key)).statusCode).toBe(429);
    // A fixed window would have let five through at once after a boundary; here the old ones leave one by one.
    at(100);
    const later = await get(key);
    expect(later.statusCode).toBe(200);
    expect(later.headers['x-ratelimit-remaining']).toBe('2'); // minutes 60, 70 and now 100 count
  });

  it('gives each key its own budget', async () => {
    const first = await newKey();
    const second = await newKey();
    for (let i = 0; i < 5; i++) await get(first);
    expect((await get(first)).statusCode).toBe(429);
    expect((await get(second)).statusCode).toBe(200);
  });

  it('counts failed authentications against the address; once used up, no key from there gets an answer, valid or not', async () => {
    const key = await newKey();
    const address = newAddress();
    for (let i = 0; i < 3; i++) {
      const response = await get('wrong-key-' + 'x'.repeat(30), address);
      expect(response.statusCode).toBe(401);
      expect(limitHeaders(response)).toMatchObject({ limit: '3', remaining: String(2 - i) });
    }
    const guessing = await get('another-guess-' + 'y'.repeat(30), address);
    expect(guessing.statusCode).toBe(429);
    expect(guessing.json().error.message).toMatch(/too many failed authentications from this address \(3 per 3600 s\); retry in \d+ s/);
    // A guesser must not learn that this key is valid: 429 as for any other.
    const valid = await get(key, address);
    expect(valid.statusCode).toBe(429);
    expect(valid.headers['retry-after']).toBeDefined();
    // Nor once the key is verified and remembered (its address check then goes out with its count).
    expect((await get(key, newAddress())).statusCode).toBe(200);
    const remembered = await get(key, address);
    expect(remembered.statusCode).toBe(429);
    expect(remembered.json().error.message).toMatch(/too many failed authentications from this address/);
    expect(limitHeaders(remembered)).toMatchObject({ limit: '3', remaining: '0' });
    // Other addresses are not affected.
    expect((await get(key, newAddress())).statusCode).toBe(200);
  });

  it('checks at most RATE_LIMIT_IP_REQUESTS_PER_HOUR guesses when 300 bad keys and a valid one arrive at once from one address', async () => {
    const key = await newKey();
    const address = newAddress();
    const auditBefore = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.failed'");
    const guesses = Array.from({ length: 300 }, (_, i) => get(`hea_guess-${i}-${'g'.repeat(40)}`, address));
    const answers = await Promise.all([...guesses.slice(0, 150), get(key, address), ...guesses.slice(150)]);
    const statuses = answers.map((answer) => answer.statusCode);
    const checked = statuses.filter((status) => status === 401).length;
    // Every answer is a 401 (checked and wrong), a 429 (never checked) or the valid key's 200.
    expect(statuses.filter((status) => ![200, 401, 429].includes(status))).toEqual([]);
    expect(checked).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(297);
    const auditAfter = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.failed'");
    expect(auditAfter.rows[0]!.n - auditBefore.rows[0]!.n).toBe(checked);
  });

  it('gives requests without a key their own budget per address: 404s never lock a valid key out', async () => {
    const key = await newKey();
    const address = newAddress();
    // Unknown API paths: any other GET is the dashboard's page, never counted (test/dashboard/serving.test.ts).
    for (let i = 0; i < 3; i++) expect((await get(undefined, address, `/api/v1/images/${i}.png`)).statusCode).toBe(404);
    const spent = await get(undefined, address, '/api/v1/images/3.png');
    expect(spent.statusCode).toBe(429);
    expect(spent.json().error.message).toMatch(/too many requests without an API key from this address \(3 per 3600 s\)/);
    // A missing key header counts the same way.
    expect((await get(undefined, address)).statusCode).toBe(429);
    // A valid key from that address is answered, and its request does not count against the address.
    for (let i = 0; i < 3; i++) expect((await get(key, address)).statusCode).toBe(200);
    // A wrong key is a failed authentication, with a budget of its own.
    const wrong = await get('wrong-key-' + 'w'.repeat(30), address);
    expect(wrong.statusCode).toBe(401);
    expect(limitHeaders(wrong)).toMatchObject({ limit: '3', remaining: '2' });
  });

  it("counts all of a user's keys together (RATE_LIMIT_USER_REQUESTS_PER_HOUR): a new key buys no budget", async () => {
    const { key } = await newUser();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: { authorization: `Bearer ${key}` }, payload: { name: 'second', scopes: ['read'] } });
    expect(created.statusCode).toBe(201);
    const second = created.json().key as string;
    for (let i = 0; i < 4; i++) expect((await get(key)).statusCode).toBe(200);
    expect((await get(key)).statusCode).toBe(429); // the first key's own five
    for (let i = 0; i < 3; i++) expect((await get(second)).statusCode).toBe(200);
    const refused = await get(second);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/rate limit reached for this user's API keys together \(8 per 3600 s\); retry in \d+ s/);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(limitHeaders(refused)).toMatchObject({ limit: '8', remaining: '0' });
  });

  it('limits the keys one user creates (KEY_CREATIONS_PER_USER_PER_HOUR), with the same answer as the key limit', async () => {
    const { key } = await newUser();
    const create = () => t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: { authorization: `Bearer ${key}` }, payload: { name: 'child', scopes: ['read'] } });
    for (let i = 0; i < 2; i++) expect((await create()).statusCode).toBe(201);
    const refused = await create();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.json().error.message).toMatch(/too many API keys created by this user \(2 per 3600 s\); retry in \d+ s/);
    expect(limitHeaders(refused)).toMatchObject({ limit: '2', remaining: '0' });
    expect(refused.headers['retry-after']).toBeDefined();
  });

  it('does not count requests with a valid key against their address', async () => {
    const key = await newKey();
    const address = newAddress();
    for (let i = 0; i < 5; i++) expect((await get(key, address)).statusCode).toBe(200);
    const failure = await get('wrong-key-' + 'z'.repeat(30), address);
    expect(failure.statusCode).toBe(401);
    expect(failure.headers['x-ratelimit-remaining']).toBe('2');
  });

  it('counts unknown API URLs against the address', async () => {
    const address = newAddress();
    for (let i = 0; i < 3; i++) expect((await get(undefined, address, `/api/wp-admin/${i}.php`)).statusCode).toBe(404);
    const refused = await get(undefined, address, '/api/.env');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
  });

  it('never limits /health, /ready, /docs or /openapi.json, even for an address that used up its budget', async () => {
    const address = newAddress();
    for (let i = 0; i < 4; i++) await get(undefined, address, '/api/nothing-here');
    for (const url of ['/health', '/ready', '/docs', '/openapi.json']) {
      const response = await get(undefined, address, url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['x-ratelimit-limit'], url).toBeUndefined();
    }
  });

  it('treats addresses of one IPv6 /64 as one client', async () => {
    for (let i = 1; i <= 3; i++) expect((await get(undefined, `2001:db8:0:7::${i}`)).statusCode).toBe(401);
    expect((await get(undefined, '2001:db8:0:7::ffff')).statusCode).toBe(429);
    expect((await get(undefined, '2001:db8:0:8::1')).statusCode).toBe(401);
  });

  it('believes X-Forwarded-For only from a trusted proxy (TRUST_PROXY)', async () => {
    const viaProxy = (client: string, remoteAddress: string) =>
      t.app.inject({ url: '/api/v1/ingestions', remoteAddress, headers: { 'x-forwarded-for': client } });
    const client = newAddress();
    for (let i = 0; i < 3; i++) expect((await viaProxy(client, '127.0.0.1')).statusCode).toBe(401);
    expect((await viaProxy(client, '127.0.0.1')).statusCode).toBe(429);
    expect((await viaProxy(newAddress(), '127.0.0.1')).statusCode).toBe(401);
    // From an untrusted peer the header is ignored: the peer's own address is the client.
    const peer = newAddress();
    for (let i = 0; i < 3; i++) expect((await viaProxy(newAddress(), peer)).statusCode).toBe(401);
    expect((await viaProxy(newAddress(), peer)).statusCode).toBe(429);
  });

  it('shows the calling key its limit and usage at GET /api/v1/auth/rate-limit', async () => {
    const key = await newKey();
    at(0);
    await get(key);
    at(15);
    const response = await t.app.inject({ url: '/api/v1/auth/rate-limit', headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      limit: 5,
      remaining: 3, // the earlier request and this one
      reset_at: new Date(base + 60 * MINUTE).toISOString(), // when the minute-0 request leaves the window
      window_seconds: 3600,
    });
    expect(response.headers['x-ratelimit-remaining']).toBe('3');
    const admin = await t.app.inject({ url: '/api/v1/auth/rate-limit', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(admin.json().limit).toBe(5);
  });
});

describe('TRUST_PROXY as a hop count', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded', { env: { TRUST_PROXY: '1', RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: '1', RATE_LIMIT_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:` } });
  });
  afterAll(() => t.close());

  it('takes the address the one proxy appended, whatever the client put before it', async () => {
    const viaProxy = (forwardedFor: string) => t.app.inject({ url: '/api/nothing', remoteAddress: '10.9.0.1', headers: { 'x-forwarded-for': forwardedFor } });
    expect((await viaProxy('1.1.1.1, 198.51.100.7')).statusCode).toBe(404);
    // A different address chosen by the client changes nothing: the proxy saw 198.51.100.7.
    expect((await viaProxy('2.2.2.2, 198.51.100.7')).statusCode).toBe(429);
    expect((await viaProxy('198.51.100.7, 198.51.100.8')).statusCode).toBe(404);
  });
});
