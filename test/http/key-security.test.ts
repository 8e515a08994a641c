/**
 * Keys that must not let anyone in: a key revoked while its first verification
 * is in flight stays revoked; only an admin registers a UUID, and no answer
 * tells a user that a UUID is someone's key; no key creates one that outlives
 * it; Redis cache entries are not proof of a key; ADMIN_API_KEY is registered
 * once however many instances start together, and never when it is short.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Redis } from 'ioredis';
import { lookupValue } from '../../src/auth/key-material.js';
import { loadConfig } from '../../src/config/config.js';
import { createServices } from '../../src/services.js';
import { createPostgresDatabase } from '../../src/storage/database.js';
import { ADMIN_KEY, createTestApp, TEST_ENV, TEST_PEPPER, type TestApp } from '../helpers/app.js';
import { createPostgres, databaseKinds, resetDatabase, silent, workerDatabase } from '../helpers/databases.js';
import { readyRedis } from '../helpers/redis.js';
import { testServices } from '../helpers/services.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe.each(databaseKinds())('revocation (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, {
      env: {
        API_KEY_CACHE_SECONDS: '3600',
        // argon2 slow enough (hundreds of milliseconds) that a revocation fits inside one verification.
        ARGON2_MEMORY_KIB: '19456',
        ARGON2_ITERATIONS: '40',
      },
    });
  });
  afterAll(() => t.close());

  it('refuses a key revoked while its first verification was in flight, from the 204 on', async () => {
    const { key, keyId } = await t.userWithKey(`race-${kind}@example.com`);
    const before = t.app.services.keys.verifications;
    const first = t.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) });
    // argon2 is running for the first request (the real flow): revoke now.
    while (t.app.services.keys.verifications === before) await new Promise((resolve) => setImmediate(resolve));
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/keys/${keyId}`, headers: bearer(ADMIN_KEY) });
    expect(revoked.statusCode).toBe(204);
    expect([200, 401]).toContain((await first).statusCode);
    for (let i = 0; i < 3; i++) {
      const after = await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) });
      expect(after.statusCode).toBe(401);
      expect(after.json().error.message).toBe('API key is not valid (unknown or revoked)');
    }
  });

});

describe.each(databaseKinds())('keys that must not let anyone in (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: { API_KEY_CACHE_SECONDS: '3600' } });
  });
  afterAll(() => t.close());

  it('lets only an admin register a UUID as a key, and answers a user the same whether or not the UUID is a key', async () => {
    const victim = await t.userWithKey(`victim-${kind}@example.com`);
    const registered = randomUUID4();
    const admin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: bearer(ADMIN_KEY),
      payload: { name: 'old phone', scopes: ['ingest'], user_id: victim.userId, uuid: registered },
    });
    expect(admin.statusCode).toBe(201);

    const { key } = await t.userWithKey(`prober-${kind}@example.com`, ['read']);
    const tryUuid = (uuid: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: bearer(key), payload: { name: 'probe', scopes: ['read'], uuid } });
    const taken = await tryUuid(registered);
    const fresh = await tryUuid(randomUUID4());
    expect(taken.statusCode).toBe(403);
    expect(fresh.statusCode).toBe(403);
    expect(taken.json().error.message).toBe('uuid: only an admin key may register a UUID as a key');
    expect(fresh.json().error.message).toBe(taken.json().error.message);
    const keys = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM api_keys WHERE format = 'uuid'");
    expect(keys.rows[0]!.n).toBe(1);
  });

  it('never lets a key create one that outlives it: the new key ends with its parent, and a later expiry is refused', async () => {
    const user = await t.userWithKey(`parent-${kind}@example.com`);
    const parentExpiry = new Date(Date.now() + 3000).toISOString();
    const parent = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/keys',
        headers: bearer(ADMIN_KEY),
        payload: { name: 'short-lived', scopes: ['ingest', 'read'], user_id: user.userId, expires_at: parentExpiry },
      })
    ).json() as { key: string; expires_at: string };

    const later = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: bearer(parent.key),
      payload: { name: 'longer', scopes: ['read'], expires_at: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(later.statusCode).toBe(403);
    expect(later.json().error.message).toMatch(/^expires_at: this key expires at .*; a key it creates cannot outlive it$/);

    const child = await t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: bearer(parent.key), payload: { name: 'child', scopes: ['read'] } });
    expect(child.statusCode).toBe(201);
    expect(child.json().expires_at).toBe(parent.expires_at);
    expect((await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(child.json().key) })).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(parent.expires_at) - Date.now() + 100));
    const expired = await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(child.json().key) });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.message).toBe('API key has expired');
  });
});

/** A random version-4 UUID. */
function randomUUID4(): string {
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe.skipIf(!inject('redisAvailable'))('the key cache in Redis', () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:key:`;
  const env = { API_KEY_CACHE_SECONDS: '3600', API_KEY_CACHE_KEY_PREFIX: prefix };
  let redis: Redis[];
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    redis = [await readyRedis(testServices.redisUrl!), await readyRedis(testServices.redisUrl!)];
    first = await createTestApp('embedded', { redis: redis[0], env });
    second = await createTestApp('embedded', { redis: redis[1], env, reset: false });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
    for (const client of redis) client.disconnect();
  });

  it('keeps its entries under API_KEY_CACHE_KEY_PREFIX', async () => {
    const { key } = await first.userWithKey('cache-prefix@example.com', ['read']);
    expect((await first.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(200);
    expect(await redis[0]!.exists(`${prefix}${lookupValue(TEST_PEPPER, key)}`)).toBe(1);
  });

  it('is not proof of a key: an entry written or altered by anyone who can write to Redis grants nothing', async () => {
    const reader = await first.userWithKey('cache-reader@example.com', ['read']);
    expect((await first.app.inject({ url: '/api/v1/ingestions', headers: bearer(reader.key) })).statusCode).toBe(200);
    // Entry names can be read from Redis: make the reader's entries say admin, under any naming.
    const forged = JSON.stringify({ keyId: reader.keyId, userId: reader.userId, scopes: ['admin'], expiresAt: null });
    const names = (key: string) => [`hea:key:${createHash('sha256').update(key).digest('hex')}`, `${prefix}${lookupValue(TEST_PEPPER, key)}`];
    const [, entry] = names(reader.key);
    const signed = (await redis[0]!.get(entry!)) ?? forged;
    await redis[0]!.set(entry!, signed.replace('"read"', '"admin"'), 'EX', 600);
    await redis[0]!.set(names(reader.key)[0]!, forged, 'EX', 600);
    // And plant a key of one's own.
    const planted = `hea_planted-${randomBytes(16).toString('hex')}`;
    for (const name of names(planted)) await redis[0]!.set(name, forged, 'EX', 600);

    // The second instance has nothing in memory: only the database can vouch for a key.
    const before = second.app.services.keys.verifications;
    expect((await second.app.inject({ url: '/api/v1/admin/users', headers: bearer(reader.key) })).statusCode).toBe(403);
    expect((await second.app.inject({ url: '/api/v1/ingestions', headers: bearer(reader.key) })).statusCode).toBe(200);
    expect(second.app.services.keys.verifications).toBe(before + 1);
    expect((await second.app.inject({ url: '/api/v1/admin/users', headers: bearer(planted) })).statusCode).toBe(401);
    for (const name of names(planted)) await redis[0]!.del(name);
  });
});

describe.skipIf(!inject('postgresTemplate'))('ADMIN_API_KEY bootstrap on PostgreSQL', () => {
  it('registers the key once when two instances bootstrap a new database at the same moment', async () => {
    const { db, url, postgis } = await createPostgres();
    const other = createPostgresDatabase({ url, poolSize: 5, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'tests' }, silent);
    // argon2 at its real cost: both instances are past their "is there an admin key?" check before either inserts.
    const config = loadConfig({ ...TEST_ENV, ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2' });
    try {
      for (let round = 0; round < 5; round++) {
        await db.query('TRUNCATE api_keys, users, audit_log CASCADE');
        const instances = await Promise.all([db, other].map((each) => createServices(config, { db: each, logger: silent, postgis })));
        const results = await Promise.all(instances.map((services) => services.keys.bootstrap()));
        expect(results.filter(Boolean)).toHaveLength(1);
        const keys = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM api_keys WHERE 'admin' = ANY (scopes)");
        expect(keys.rows[0]!.n).toBe(1);
        for (const services of instances) expect((await services.keys.authenticate(ADMIN_KEY, {})).scopes).toEqual(['admin']);
      }
    } finally {
      await other.close();
      await db.close();
    }
  });
});

describe.each(databaseKinds())('a short ADMIN_API_KEY (%s database)', (kind) => {
  const SHORT = 'short-admin-key-0123';
  it('is refused as a new bootstrap key, saying how long it must be, while one registered before keeps working', async () => {
    const { db, postgis } = await workerDatabase(kind);
    await resetDatabase(db);
    const config = loadConfig({ ...TEST_ENV, ADMIN_API_KEY: SHORT });
    const services = await createServices(config, { db, logger: silent, postgis });
    await expect(services.keys.bootstrap()).rejects.toThrow(/ADMIN_API_KEY: 20 characters is too short to register as a new admin key \(at least 32\); create one with `openssl rand -base64 32`/);
    const keys = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
    expect(keys.rows[0]!.n).toBe(0);

    // Registered by an earlier version (which took 16 characters): still the admin key.
    const user = await db.query<{ id: string }>("INSERT INTO users (email) VALUES ('admin@localhost') RETURNING id");
    await services.keys.create({ userId: user.rows[0]!.id, name: 'bootstrap (ADMIN_API_KEY)', scopes: ['admin'], secret: SHORT });
    expect(await services.keys.bootstrap()).toBe(false);
    expect((await services.keys.authenticate(SHORT, {})).scopes).toEqual(['admin']);
  });
});
