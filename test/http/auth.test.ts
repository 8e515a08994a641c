/**
 * Users and API keys: both key formats work and are never stored in clear,
 * every refusal says why without revealing which keys exist, one user's key
 * never reaches another's data, and argon2 runs once per key per cache period.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';
import { testServices } from '../helpers/services.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe.each(databaseKinds())('API keys (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: { API_KEY_CACHE_SECONDS: '3600' } });
  });
  afterAll(() => t.close());

  it('ingests with a generated key and with a registered UUID key in any case; neither is stored in clear', async () => {
    const { key, userId } = await t.userWithKey('gen@example.com', ['ingest']);
    expect(key).toMatch(/^hea_[A-Za-z0-9_-]{40,}$/);
    expect((await t.ingest(readFixture('other-data-types.json'), key)).statusCode).toBe(200);

    const uuid = '6F1C2B7E-3D4A-4C55-9E61-0B2F7A1D9C33';
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: bearer(ADMIN_KEY),
      payload: { name: 'old app config', scopes: ['ingest'], user_id: userId, uuid },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().key).toBe(uuid);
    expect((await t.ingest(readFixture('edge-cases-metrics.json'), uuid.toLowerCase())).statusCode).toBe(200);

    const stored = await t.db.query<{ row: string }>('SELECT row_to_json(k)::text AS row FROM api_keys k');
    const everything = stored.rows.map((r) => r.row).join('\n');
    for (const secret of [key, uuid, uuid.toLowerCase(), ADMIN_KEY]) expect(everything).not.toContain(secret);
    expect(everything).toContain('$argon2id$');
  });

  it('answers 401 with WWW-Authenticate and the reason: missing, malformed, unknown, revoked', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/ingestions' });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.json().error.message).toMatch(/missing API key/);

    const malformed = await t.app.inject({ url: '/api/v1/ingestions', headers: { 'x-api-key': 'has space' } });
    expect(malformed.json().error.message).toMatch(/malformed API key: .*whitespace/);
    const long = await t.app.inject({ url: '/api/v1/ingestions', headers: { 'api-key': 'x'.repeat(257) } });
    expect(long.json().error.message).toMatch(/longer than 256/);

    const unknown = await t.app.inject({ url: '/api/v1/ingestions', headers: bearer('hea_not-a-real-key-at-all-000000000000') });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.message).toBe('API key is not valid (unknown or revoked)');

    const { key, keyId } = await t.userWithKey('revoked@example.com');
    expect((await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/keys/${keyId}`, headers: bearer(ADMIN_KEY) })).statusCode).toBe(204);
    const revoked = await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.message).toBe(unknown.json().error.message);
  });

  it('refuses an expired key with 401 once its expiry passes on the clock, cached or not', async () => {
    // The clock is the app's, moved by the test: no waiting for a real expiry.
    let clock = Date.now();
    const timed = await createTestApp(kind, { reset: false, env: { API_KEY_CACHE_SECONDS: '3600' }, now: () => new Date(clock) });
    try {
      const user = (await timed.app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: bearer(ADMIN_KEY), payload: { email: 'expiring@example.com' } })).json();
      const expiring = (
        await timed.app.inject({
          method: 'POST',
          url: '/api/v1/auth/keys',
          headers: bearer(ADMIN_KEY),
          payload: { name: 'short', scopes: ['read'], email: 'expiring@example.com', expires_at: new Date(clock + 60_000).toISOString() },
        })
      ).json();
      expect(expiring.user_id).toBe(user.id);
      expect((await timed.app.inject({ url: '/api/v1/ingestions', headers: bearer(expiring.key) })).statusCode).toBe(200);
      // A second before expiry: still good (and now cached for an hour).
      clock += 59_000;
      expect((await timed.app.inject({ url: '/api/v1/ingestions', headers: bearer(expiring.key) })).statusCode).toBe(200);
      // Past it, the cached verification does not outlive the key.
      clock += 2_000;
      const expired = await timed.app.inject({ url: '/api/v1/ingestions', headers: bearer(expiring.key) });
      expect(expired.statusCode).toBe(401);
      expect(expired.headers['www-authenticate']).toBe('Bearer');
      expect(expired.json().error.message).toBe('API key has expired');
      // And a verification not cached (past the cache period too) refuses it the same way.
      clock += 3_600_000;
      expect((await timed.app.inject({ url: '/api/v1/ingestions', headers: bearer(expiring.key) })).json().error.message).toBe('API key has expired');
    } finally {
      await timed.close();
    }
  });

  it('refuses a read key on ingest with 403, and a user granting scopes it lacks', async () => {
    const { key } = await t.userWithKey('reader@example.com', ['read']);
    const refused = await t.ingest('{}', key);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/ingest/);
    const wider = await t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: bearer(key), payload: { name: 'x', scopes: ['ingest'] } });
    expect(wider.statusCode).toBe(403);
    const own = await t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: bearer(key), payload: { name: 'x', scopes: ['read'] } });
    expect(own.statusCode).toBe(201);
  });

  it('answers 403, not 404, when a read key asks to reprocess its own ingestion', async () => {
    const writer = await t.userWithKey('owner-reprocess@example.com', ['ingest', 'read']);
    const ingestion = (await t.ingest(readFixture('other-data-types.json'), writer.key)).json();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/keys', headers: bearer(writer.key), payload: { name: 'reader', scopes: ['read'] } });
    const reader = created.json().key as string;
    const refused = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${ingestion.id}/reprocess`, headers: bearer(reader) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/ingest scope/);
    const allowed = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${ingestion.id}/reprocess`, headers: bearer(writer.key) });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().counts).toMatchObject({ received: 6, unchanged: 6 });
  });

  it("answers 404 for another user's ingestion and its rejections, as for a missing one", async () => {
    const a = await t.userWithKey('a@example.com');
    const b = await t.userWithKey('b@example.com');
    const ingestion = (await t.ingest(readFixture('edge-cases-metrics.json').toString().replace('zorks', 'zorkz'), b.key)).json();
    for (const url of [`/api/v1/ingestions/${ingestion.id}`, `/api/v1/ingestions/${ingestion.id}/rejections`]) {
      const theirs = await t.app.inject({ url, headers: bearer(a.key) });
      const missing = await t.app.inject({ url: url.replace(ingestion.id, '00000000-0000-4000-8000-000000000000'), headers: bearer(a.key) });
      expect(theirs.statusCode).toBe(404);
      expect(theirs.json().error.message).toBe(missing.json().error.message);
      expect((await t.app.inject({ url, headers: bearer(b.key) })).statusCode).toBe(200);
    }
    const reprocess = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${ingestion.id}/reprocess`, headers: bearer(a.key) });
    expect(reprocess.statusCode).toBe(404);
    const list = (await t.app.inject({ url: '/api/v1/ingestions', headers: bearer(a.key) })).json();
    expect(list.items.map((i: { id: string }) => i.id)).not.toContain(ingestion.id);
  });

  it('records a failed attempt in the audit log with IP and user agent, never the key', async () => {
    const attempt = 'hea_guessing-0123456789-abcdefghijklmnop';
    await t.app.inject({ url: '/api/v1/ingestions', headers: { ...bearer(attempt), 'user-agent': 'Guesser/1.0' }, remoteAddress: '203.0.113.9' });
    const audit = (await t.app.inject({ url: '/api/v1/admin/audit', headers: bearer(ADMIN_KEY) })).json();
    const entry = audit.items.find((i: { user_agent: string | null }) => i.user_agent === 'Guesser/1.0');
    expect(entry).toMatchObject({ action: 'auth.failed', ip: '203.0.113.9', reason: 'API key is not valid (unknown or revoked)' });
    expect(JSON.stringify(audit)).not.toContain(attempt);
  });

  it('runs argon2 once for ten thousand requests with one key (API_KEY_CACHE_SECONDS=3600)', async () => {
    const { key } = await t.userWithKey('busy@example.com');
    const before = t.app.services.keys.verifications;
    for (let i = 0; i < 10_000; i++) {
      const response = await t.app.inject({ url: '/api/v1/ingestions?limit=1', headers: bearer(key) });
      if (response.statusCode !== 200) throw new Error(`request ${i}: ${response.statusCode}`);
    }
    expect(t.app.services.keys.verifications - before).toBe(1);
  });

  it('finds a key with one indexed query among 1,000 keys', async () => {
    const userId = (await t.userWithKey('many@example.com')).userId;
    await t.db.query(
      `INSERT INTO api_keys (user_id, name, lookup, hash, scopes, format)
       SELECT $1, 'bulk ' || i, md5(i::text) || md5((i + 1)::text), 'x', ARRAY['read'], 'generated' FROM generate_series(1, 1000) i`,
      [userId],
    );
    await t.db.query('ANALYZE api_keys');
    const plan = await t.db.query<Record<string, string>>(
      `EXPLAIN SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.lookup = 'abc'`,
    );
    const text = plan.rows.map((row) => Object.values(row)[0]).join('\n');
    expect(text).toMatch(/Index Scan using api_keys_lookup_key/);
    expect(text).not.toMatch(/Seq Scan on api_keys/);
  });
});

describe.skipIf(!inject('redisAvailable'))('the verification cache shared through Redis', () => {
  it('lets a second instance skip argon2 for a key the first verified, and forgets a revoked key at once', async () => {
    const redis = [new Redis(testServices.redisUrl!), new Redis(testServices.redisUrl!)];
    const first = await createTestApp('embedded', { redis: redis[0], env: { API_KEY_CACHE_SECONDS: '3600' } });
    const second = await createTestApp('embedded', { redis: redis[1], reset: false, env: { API_KEY_CACHE_SECONDS: '3600' } });
    try {
      const { key, keyId } = await first.userWithKey(`shared-${Date.now()}@example.com`);
      expect((await first.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(200);
      const before = second.app.services.keys.verifications;
      expect((await second.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(200);
      expect(second.app.services.keys.verifications).toBe(before);

      await first.app.inject({ method: 'DELETE', url: `/api/v1/auth/keys/${keyId}`, headers: bearer(ADMIN_KEY) });
      expect((await first.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(401);
      const third = await createTestApp('embedded', { redis: redis[1], reset: false });
      expect((await third.app.inject({ url: '/api/v1/ingestions', headers: bearer(key) })).statusCode).toBe(401);
      await third.close();
    } finally {
      await first.close();
      await second.close();
      for (const client of redis) client.disconnect();
    }
  });
});
