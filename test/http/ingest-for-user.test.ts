/**
 * An admin key ingests for another user with ?user_id= (the CLI's import through
 * a running server used to mint and revoke a temporary key for the user, which
 * then showed in `keys list` and the audit log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

describe.each(databaseKinds())('ingesting for a user with an admin key (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const adminKeyId = async () =>
    ((await t.app.inject({ url: '/api/v1/auth/keys', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json().items as { id: string; scopes: string[] }[]).find((k) =>
      k.scopes.includes('admin'),
    )!.id;

  it('stores the samples for that user, records the admin key as the sender, and mints no key', async () => {
    const owner = await t.userWithKey('owner@example.com', ['read']);
    const keysBefore = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]!.n;
    const response = await t.ingest(readFixture('edge-cases-metrics.json'), ADMIN_KEY, {}, `?user_id=${owner.userId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().counts).toMatchObject({ received: 18, inserted: 15, rejected: 3 });
    const row = (await t.db.query('SELECT user_id, key_id FROM raw_ingestions WHERE id = $1', [response.json().id])).rows[0];
    expect(row).toEqual({ user_id: owner.userId, key_id: await adminKeyId() });
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]!.n).toBe(keysBefore);
    // The owner's own key sees the upload as theirs.
    const mine = await t.app.inject({ url: '/api/v1/ingestions', headers: { authorization: `Bearer ${owner.key}` } });
    expect(mine.json().items.map((i: { id: string }) => i.id)).toContain(response.json().id);
  });

  it('refuses user_id from a key without the admin scope (403), and an unknown user (404)', async () => {
    const other = await t.userWithKey('other@example.com', ['ingest']);
    const victim = await t.userWithKey('victim@example.com', ['read']);
    const forbidden = await t.ingest(readFixture('edge-cases-metrics.json'), other.key, {}, `?user_id=${victim.userId}`);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.message).toMatch(/user_id: only an admin key/);
    const unknown = await t.ingest(readFixture('edge-cases-metrics.json'), ADMIN_KEY, {}, '?user_id=0b6c7a52-3f0e-4c1e-9a55-3d2f1e0c9b11');
    expect(unknown.statusCode).toBe(404);
    const malformed = await t.ingest(readFixture('edge-cases-metrics.json'), ADMIN_KEY, {}, '?user_id=me');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toMatch(/user_id/);
    const stored = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_ingestions WHERE user_id = $1', [victim.userId])).rows[0]!.n;
    expect(stored).toBe(0);
  });
});
