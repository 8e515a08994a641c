/**
 * Erasing data: a type's samples in a range (DELETE /data/{type}), one archived
 * body, and a whole user, each audited; the delete scope no key has unless asked
 * for; and a reprocess that never brings erased samples back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

/** Steps and heart rate on both sides of two month boundaries (three monthly partitions). */
const spanning = (tag = '') => ({
  data: {
    metrics: [
      {
        name: 'step_count',
        units: 'count',
        data: ['2024-01-20 10:00:00 +0000', '2024-01-31 23:30:00 +0000', '2024-02-01 00:30:00 +0000', '2024-02-20 10:00:00 +0000', '2024-03-05 10:00:00 +0000'].map((date, i) => ({
          date,
          qty: 100 + i,
          source: `iPhone${tag}`,
        })),
      },
      {
        name: 'heart_rate',
        units: 'count/min',
        data: ['2024-01-31 23:30:00 +0000', '2024-02-01 00:30:00 +0000'].map((date) => ({ date, Min: 60, Avg: 70, Max: 80, source: 'Apple Watch' })),
      },
    ],
  },
});

const RANGE = `start=${encodeURIComponent('2024-01-25T00:00:00Z')}&end=${encodeURIComponent('2024-02-25T00:00:00+00:00')}`;

describe.each(databaseKinds())('erasing data (%s database)', (kind) => {
  let t: TestApp;
  let owner: { userId: string; key: string; keyId: string };
  let eraser: { key: string; keyId: string };
  let other: { userId: string; key: string };
  // A fresh app (and key cache) over an emptied database for each test; uploads are answered
  // when finished however loaded the machine is (these tests are not about the 202 path).
  beforeEach(async () => {
    t = await createTestApp(kind, { env: { INGEST_SYNC_BUDGET_MS: '600000' } });
    owner = await t.userWithKey('owner@example.com');
    other = await t.userWithKey('other@example.com');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name: 'eraser', scopes: ['delete'], user_id: owner.userId },
    });
    expect(created.statusCode, created.body).toBe(201);
    eraser = { key: created.json().key, keyId: created.json().id };
  });
  afterEach(() => t.close());

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, key: string) => t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` } });
  const rows = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;
  const steps = (userId: string) =>
    rows<{ start: string; partition: string }>(
      `SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS start, tableoid::regclass::text AS partition
       FROM quantity_samples WHERE user_id = $1 AND metric = 'step_count' ORDER BY start_at`,
      [userId],
    );

  it('gives the delete scope to no key unless asked for: an ingest+read key is refused, admin includes it', async () => {
    const refused = await call('DELETE', `/api/v1/data/step_count?${RANGE}`, owner.key);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toBe('this key lacks the delete scope');
    // A user without delete cannot grant it to itself.
    const grant = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: { authorization: `Bearer ${owner.key}` },
      payload: { name: 'sneaky', scopes: ['delete'] },
    });
    expect(grant.statusCode).toBe(403);
    expect((await call('DELETE', `/api/v1/data/step_count?${RANGE}`, ADMIN_KEY)).json()).toEqual({ deleted: 0 });
    const scopes = await rows<{ scopes: string[] }>('SELECT scopes FROM api_keys WHERE user_id = $1 ORDER BY created_at', [owner.userId]);
    expect(scopes.map((r) => r.scopes)).toEqual([['ingest', 'read'], ['delete']]);
  });

  it("deletes one type's samples whose start is in the range, across monthly partitions, and nothing else", async () => {
    expect((await t.ingest(spanning(), owner.key)).statusCode).toBe(200);
    expect((await t.ingest(spanning(), other.key)).statusCode).toBe(200);
    const before = await steps(owner.userId);
    expect(new Set(before.map((r) => r.partition))).toEqual(new Set(['quantity_samples_p202401', 'quantity_samples_p202402', 'quantity_samples_p202403']));

    const response = await call('DELETE', `/api/v1/data/step_count?${RANGE}`, eraser.key);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ deleted: 3 });
    expect((await steps(owner.userId)).map((r) => r.start)).toEqual(['2024-01-20 10:00', '2024-03-05 10:00']);
    // Heart rate in the same range, and the other user's steps, stay.
    expect(await rows('SELECT count(*)::int AS n FROM heart_rate_samples WHERE user_id = $1', [owner.userId])).toEqual([{ n: 2 }]);
    expect(await steps(other.userId)).toHaveLength(5);
    const listed = (await call('GET', '/api/v1/data/metrics/step_count', owner.key)).json();
    expect(listed.items.map((i: { value: number }) => i.value)).toEqual([100, 104]);

    // An alias names the same metric; the same range again deletes nothing more.
    expect((await call('DELETE', `/api/v1/data/heart_rate?${RANGE}`, eraser.key)).json()).toEqual({ deleted: 2 });
    expect((await call('DELETE', `/api/v1/data/step_count?${RANGE}`, eraser.key)).json()).toEqual({ deleted: 0 });

    const audit = await rows<{ action: string; key_id: string; user_id: string; reason: string }>(
      "SELECT action, key_id, user_id, reason FROM audit_log WHERE action = 'data.deleted' ORDER BY id",
    );
    expect(audit).toEqual([
      { action: 'data.deleted', key_id: eraser.keyId, user_id: owner.userId, reason: 'step_count starting in [2024-01-25T00:00:00Z, 2024-02-25T00:00:00+00:00): 3 sample(s)' },
      { action: 'data.deleted', key_id: eraser.keyId, user_id: owner.userId, reason: 'heart_rate starting in [2024-01-25T00:00:00Z, 2024-02-25T00:00:00+00:00): 2 sample(s)' },
      { action: 'data.deleted', key_id: eraser.keyId, user_id: owner.userId, reason: 'step_count starting in [2024-01-25T00:00:00Z, 2024-02-25T00:00:00+00:00): 0 sample(s)' },
    ]);
  });

  it('deletes sleep (nights and segments), workouts with their route and series, events and ECG', async () => {
    for (const fixture of ['real-sleep-segments-2025-04.json', 'workouts-v1-v2-with-routes.json', 'other-data-types.json']) {
      expect((await t.ingest(readFixture(fixture), owner.key)).statusCode).toBe(200);
    }
    const all = `start=${encodeURIComponent('1970-01-01T00:00:00Z')}&end=${encodeURIComponent('2100-01-01T00:00:00Z')}`;
    const count = async (table: string) => (await rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [owner.userId]))[0]!.n;
    const stored = {
      sleep: (await count('sleep_segments')) + (await count('sleep_nights')),
      workouts: await count('workouts'),
      points: (await count('workout_route_points')) + (await count('workout_series')),
    };
    expect(stored.sleep).toBeGreaterThan(700);
    expect(stored.workouts).toBeGreaterThan(0);
    expect(stored.points).toBeGreaterThan(0);

    expect((await call('DELETE', `/api/v1/data/sleep_analysis?${all}`, eraser.key)).json()).toEqual({ deleted: stored.sleep });
    expect((await count('sleep_segments')) + (await count('sleep_nights'))).toBe(0);
    expect((await call('DELETE', `/api/v1/data/workouts?${all}`, eraser.key)).json()).toEqual({ deleted: stored.workouts });
    expect([await count('workouts'), await count('workout_route_points'), await count('workout_series')]).toEqual([0, 0, 0]);
    expect((await call('DELETE', `/api/v1/data/symptoms?${all}`, eraser.key)).json()).toEqual({ deleted: 1 });
    expect((await rows<{ type: string }>('SELECT type FROM health_events WHERE user_id = $1 ORDER BY type', [owner.userId])).map((r) => r.type)).toEqual([
      'cycle_tracking',
      'heart_rate_notifications',
      'medications',
      'state_of_mind',
    ]);
    expect((await call('DELETE', `/api/v1/data/ecg?${all}`, eraser.key)).json()).toEqual({ deleted: 1 });
    expect(await count('ecg_recordings')).toBe(0);
    expect((await call('GET', '/api/v1/data/ecg', owner.key)).json()).toEqual({ items: [], next: null });
  });

  it('refuses a range without start or end, or ending before it starts, naming the parameter', async () => {
    const missing = await call('DELETE', `/api/v1/data/step_count?start=${encodeURIComponent('2024-01-01T00:00:00Z')}`, eraser.key);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toMatch(/end/);
    const backwards = await call('DELETE', `/api/v1/data/step_count?start=2024-02-01T00:00:00Z&end=2024-01-01T00:00:00Z`, eraser.key);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().error.message).toMatch(/end must be after start/);
  });

  it('a reprocess does not bring erased samples back: they count as rejected (erased) without their JSON; a later upload stores them again', async () => {
    const upload = await t.ingest(spanning(), owner.key);
    const id = upload.json().id as string;
    expect((await call('DELETE', `/api/v1/data/step_count?${RANGE}`, eraser.key)).json()).toEqual({ deleted: 3 });

    const again = await call('POST', `/api/v1/ingestions/${id}/reprocess`, owner.key);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().by_type.step_count).toEqual({ received: 5, inserted: 0, updated: 0, unchanged: 2, rejected: 3 });
    expect(again.json().by_type.heart_rate).toEqual({ received: 2, inserted: 0, updated: 0, unchanged: 2, rejected: 0 });
    expect((await steps(owner.userId)).map((r) => r.start)).toEqual(['2024-01-20 10:00', '2024-03-05 10:00']);
    const rejections = (await call('GET', `/api/v1/ingestions/${id}/rejections`, owner.key)).json().items;
    expect(rejections).toHaveLength(3);
    expect(rejections[0]).toMatchObject({ type: 'step_count', category: 'erased', sample: null });
    expect(rejections[0].reason).toMatch(/^erased by its owner on .* \(step_count starting in \[2024-01-25T00:00:00.000Z, 2024-02-25T00:00:00.000Z\)\)$/);

    // A new upload after the erasure is the owner sending the data again: stored.
    const later = await t.ingest(spanning(' '), owner.key);
    expect(later.json().by_type.step_count).toMatchObject({ inserted: 5, rejected: 0 });
  });

  it('a reprocess does not bring erased workouts back, nor their route and series', async () => {
    const id = (await t.ingest(readFixture('workouts-v1-v2-with-routes.json'), owner.key)).json().id as string;
    const all = `start=${encodeURIComponent('1970-01-01T00:00:00Z')}&end=${encodeURIComponent('2100-01-01T00:00:00Z')}`;
    const stored = (await rows<{ n: number }>('SELECT count(*)::int AS n FROM workouts WHERE user_id = $1', [owner.userId]))[0]!.n;
    expect(stored).toBeGreaterThan(0);
    expect((await call('DELETE', `/api/v1/data/workouts?${all}`, eraser.key)).json()).toEqual({ deleted: stored });
    const again = await call('POST', `/api/v1/ingestions/${id}/reprocess`, owner.key);
    expect(again.json().by_type.workouts).toMatchObject({ inserted: 0, rejected: stored });
    const left = await rows<{ n: number }>(
      `SELECT (SELECT count(*) FROM workouts WHERE user_id = $1) + (SELECT count(*) FROM workout_route_points WHERE user_id = $1)
            + (SELECT count(*) FROM workout_series WHERE user_id = $1) AS n`,
      [owner.userId],
    );
    expect(Number(left[0]!.n)).toBe(0);
  });

  it("deletes one archived body, keeping the samples and the record; the rejections lose their JSON; it can no longer be reprocessed", async () => {
    const bad = spanning();
    const stepData: object[] = bad.data.metrics[0]!.data;
    stepData.push({ date: '2024-01-21 10:00:00 +0000', qty: -5, source: 'iPhone' });
    const id = (await t.ingest(bad, owner.key)).json().id as string;
    expect(await rows('SELECT sample IS NOT NULL AS kept FROM rejected_samples WHERE ingestion_id = $1', [id])).toEqual([{ kept: true }]);

    expect((await call('DELETE', `/api/v1/ingestions/${id}/body`, owner.key)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/v1/ingestions/${id}/body`, other.key)).statusCode).toBe(403);
    const response = await call('DELETE', `/api/v1/ingestions/${id}/body`, eraser.key);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id, status: 'completed', body_deleted_at: expect.any(String) });

    expect(await rows('SELECT body IS NULL AS gone, body_encoding, sha256 IS NOT NULL AS hashed FROM raw_ingestions WHERE id = $1', [id])).toEqual([
      { gone: true, body_encoding: null, hashed: true },
    ]);
    expect(await rows('SELECT count(*)::int AS n FROM raw_ingestion_chunks WHERE ingestion_id = $1', [id])).toEqual([{ n: 0 }]);
    expect(await rows('SELECT type, reason, sample FROM rejected_samples WHERE ingestion_id = $1', [id])).toEqual([
      { type: 'step_count', reason: expect.stringMatching(/negative/), sample: null },
    ]);
    expect(await steps(owner.userId)).toHaveLength(5);
    const reprocess = await call('POST', `/api/v1/ingestions/${id}/reprocess`, owner.key);
    expect(reprocess.statusCode).toBe(409);
    expect(reprocess.json().error.message).toBe("this ingestion's body was deleted by its owner, so there is nothing to reprocess");
    expect((await call('GET', `/api/v1/ingestions/${id}`, owner.key)).json().body_deleted_at).toBe(response.json().body_deleted_at);
    expect(await rows("SELECT key_id, user_id, reason FROM audit_log WHERE action = 'ingestion.body_deleted'")).toEqual([
      { key_id: eraser.keyId, user_id: owner.userId, reason: `ingestion ${id}` },
    ]);

    // Another user's ingestion is not found, even with a delete key.
    const theirs = (await t.ingest(spanning(), other.key)).json().id as string;
    expect((await call('DELETE', `/api/v1/ingestions/${theirs}/body`, eraser.key)).statusCode).toBe(404);
    expect(await rows('SELECT body_encoding IS NOT NULL AS kept FROM raw_ingestions WHERE id = $1', [theirs])).toEqual([{ kept: true }]);
  });

  it("an admin erases a user: no table keeps a row of theirs, the other user's rows stay, their keys stop at once, the audit log keeps no email", async () => {
    for (const fixture of ['workouts-v1-v2-with-routes.json', 'other-data-types.json', 'edge-cases-metrics.json', 'real-sleep-segments-2025-04.json']) {
      await t.ingest(readFixture(fixture), owner.key);
      await t.ingest(readFixture(fixture), other.key);
    }
    await t.ingest(spanning(), owner.key);
    await call('DELETE', `/api/v1/data/step_count?${RANGE}`, eraser.key);
    expect((await call('GET', '/api/v1/data/types', owner.key)).statusCode).toBe(200);

    /** Rows of a user in every table with a user_id column (partitioned parents count their partitions). */
    const perTable = async (userId: string) => {
      const tables = await rows<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped)
         ORDER BY 1`,
      );
      const counts: Record<string, number> = {};
      for (const { name } of tables) counts[name] = (await rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${name} WHERE user_id = $1`, [userId]))[0]!.n;
      counts.users = (await rows<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = $1', [userId]))[0]!.n;
      return counts;
    };
    const before = await perTable(owner.userId);
    const otherBefore = await perTable(other.userId);
    for (const table of ['quantity_samples', 'heart_rate_samples', 'sleep_segments', 'workouts', 'workout_route_points', 'health_events', 'ecg_recordings', 'raw_ingestions', 'rejected_samples', 'api_keys', 'erasures']) {
      expect(before[table], table).toBeGreaterThan(0);
    }

    const refused = await call('DELETE', `/api/v1/admin/users/${owner.userId}`, owner.key);
    expect(refused.statusCode).toBe(403);
    const response = await call('DELETE', `/api/v1/admin/users/${owner.userId}`, ADMIN_KEY);
    expect(response.statusCode, response.body).toBe(200);
    const samples = ['quantity_samples', 'heart_rate_samples', 'blood_pressure_samples', 'sleep_segments', 'sleep_nights', 'health_events', 'ecg_recordings', 'workouts'].reduce(
      (sum, table) => sum + before[table]!,
      0,
    );
    expect(response.json()).toEqual({ id: owner.userId, samples, ingestions: before.raw_ingestions, rejections: before.rejected_samples, keys: 2 });

    const after = await perTable(owner.userId);
    expect(Object.entries(after).filter(([table, n]) => table !== 'audit_log' && n > 0)).toEqual([]);
    expect(await perTable(other.userId)).toEqual(otherBefore);

    // The keys were verified (and cached) before; they stop at once.
    expect((await call('GET', '/api/v1/data/types', owner.key)).statusCode).toBe(401);
    expect((await call('DELETE', `/api/v1/data/step_count?${RANGE}`, eraser.key)).statusCode).toBe(401);

    const audit = await rows<{ action: string; user_id: string; reason: string | null }>(
      "SELECT action, user_id, reason FROM audit_log WHERE action = 'user.erased'",
    );
    expect(audit).toEqual([
      { action: 'user.erased', user_id: owner.userId, reason: `${samples} sample(s), ${before.raw_ingestions} archived upload(s), ${before.rejected_samples} rejection(s), 2 key(s)` },
    ]);
    const everything = JSON.stringify(await rows('SELECT * FROM audit_log'));
    expect(everything).not.toContain('owner@example.com');

    expect((await call('DELETE', `/api/v1/admin/users/${owner.userId}`, ADMIN_KEY)).statusCode).toBe(404);
    const adminUser = (await rows<{ user_id: string }>("SELECT user_id FROM api_keys WHERE 'admin' = ANY(scopes)"))[0]!.user_id;
    const self = await call('DELETE', `/api/v1/admin/users/${adminUser}`, ADMIN_KEY);
    expect(self.statusCode).toBe(409);
    expect((await call('DELETE', '/api/v1/admin/users/00000000-0000-4000-8000-000000000000', ADMIN_KEY)).statusCode).toBe(409);
  });

  it('erasing a user is one transaction: a failure at its last step leaves every row of theirs in place', async () => {
    await t.ingest(spanning(), owner.key);
    const count = async () =>
      (await rows<{ n: number }>(
        `SELECT (SELECT count(*) FROM quantity_samples WHERE user_id = $1) + (SELECT count(*) FROM raw_ingestions WHERE user_id = $1)
              + (SELECT count(*) FROM api_keys WHERE user_id = $1) + (SELECT count(*) FROM users WHERE id = $1) AS n`,
        [owner.userId],
      ))[0]!.n;
    const before = Number(await count());
    // The user row goes last: refusing it makes the whole erasure fail after every other table was emptied.
    await t.db.query(`CREATE FUNCTION refuse_user_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
    await t.db.query('CREATE TRIGGER refuse_user_delete BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION refuse_user_delete()');
    try {
      const response = await call('DELETE', `/api/v1/admin/users/${owner.userId}`, ADMIN_KEY);
      expect(response.statusCode).toBe(500);
    } finally {
      await t.db.query('DROP TRIGGER refuse_user_delete ON users');
      await t.db.query('DROP FUNCTION refuse_user_delete()');
    }
    expect(Number(await count())).toBe(before);
    expect(await rows("SELECT action FROM audit_log WHERE action = 'user.erased'")).toEqual([]);
    expect((await call('GET', '/api/v1/data/metrics', owner.key)).statusCode).toBe(200);
  });
});
