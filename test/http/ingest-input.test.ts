/**
 * What the ingest endpoint does with bodies that are not a clean upload: every
 * refusal is a clear 4xx, kept for examination, and never touches other data.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

describe.each(databaseKinds())('ingest input handling (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: { MAX_PAYLOAD_MB: '2' } });
  });
  afterAll(() => t.close());

  const latest = async () =>
    (await t.db.query<{ status: string; has_body: boolean; error: { code: string } | null; size_bytes: number }>(
      'SELECT status, body_encoding IS NOT NULL AS has_body, error, size_bytes::int AS size_bytes FROM raw_ingestions ORDER BY received_at DESC LIMIT 1',
    )).rows[0]!;

  it('answers a body that is not JSON with 400 naming the position, and keeps it as a failed ingestion', async () => {
    const response = await t.ingest('{"data": {"metrics": [}');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_JSON');
    expect(response.json().error.message).toMatch(/position 22/);
    expect(await latest()).toMatchObject({ status: 'failed', has_body: true, error: { code: 'INVALID_JSON' } });
  });

  it('answers JSON in neither format with 422 saying what was expected', async () => {
    const response = await t.ingest({ metrics: [] });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.message).toMatch(/\{"data":/);
    expect(await latest()).toMatchObject({ status: 'failed', has_body: true, error: { code: 'UNPROCESSABLE_PAYLOAD' } });
  });

  it('refuses a body over MAX_PAYLOAD_MB with 413 naming the limit, recorded without its body', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, ' ');
    const response = await t.ingest(big);
    expect(response.statusCode).toBe(413);
    expect(response.json().error.message).toMatch(/2 MB/);
    expect(await latest()).toMatchObject({ status: 'failed', has_body: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('refuses gzip that inflates past the limit with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, ' '));
    const response = await t.ingest(bomb, ADMIN_KEY, { 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(413);
  });

  it('refuses an unsupported Content-Encoding or Content-Type with 415, recorded without a body', async () => {
    const encoding = await t.ingest('{}', ADMIN_KEY, { 'content-encoding': 'br' });
    expect(encoding.statusCode).toBe(415);
    expect(encoding.json().error.code).toBe('UNSUPPORTED_ENCODING');
    expect(await latest()).toMatchObject({ status: 'failed', has_body: false });
    const type = await t.ingest('data=1', ADMIN_KEY, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(type.statusCode).toBe(415);
    expect(type.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts a gzip body and hashes the decompressed bytes', async () => {
    const plain = readFixture('other-data-types.json');
    const response = await t.ingest(gzipSync(plain), ADMIN_KEY, { 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(200);
    expect(response.json().counts.received).toBe(6);
    const again = await t.ingest(plain);
    expect(again.json().duplicate_of).toBe(response.json().id);
  });

  it('accepts the standard format and rejects its bad samples one by one', async () => {
    const response = await t.ingest({
      samples: [
        { kind: 'quantity', type: 'step_count', start: '2024-05-01T10:00:00+02:00', value: 120, unit: 'count', source: 'script' },
        { kind: 'heart_rate', type: 'heart_rate', start: '2024-05-01T10:00:00Z', min: 60, avg: 70, max: 80 },
        { kind: 'quantity', type: 'step_count', start: '2024-05-01T10:01:00Z', value: 'many', unit: 'count' },
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ format: 'standard', counts: { received: 3, inserted: 2, rejected: 1 } });
  });

  it('ends a generated payload of 100,000+ samples completed, with counts that add up', async () => {
    const { payload, samples } = generateHaePayload({ samples: 100_000, seed: 7 });
    expect(samples).toBeGreaterThanOrEqual(100_000);
    const big = await createTestApp(kind, { reset: false, env: { INGEST_SYNC_BUDGET_MS: '600000' } });
    try {
      const response = await big.ingest(payload);
      const body = response.json();
      expect(body.status).toBe('completed');
      expect(body.counts.received).toBe(samples);
      expect(body.counts.inserted + body.counts.updated + body.counts.unchanged + body.counts.rejected).toBe(samples);
      expect(body.counts.rejected).toBe(0);
      const stored = await big.db.query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM quantity_samples WHERE ingestion_id = $1) + (SELECT count(*) FROM heart_rate_samples WHERE ingestion_id = $1)
          + (SELECT count(*) FROM sleep_segments WHERE ingestion_id = $1) + (SELECT count(*) FROM sleep_nights WHERE ingestion_id = $1)
          + (SELECT count(*) FROM blood_pressure_samples WHERE ingestion_id = $1) + (SELECT count(*) FROM workouts WHERE ingestion_id = $1))::int AS n`,
        [body.id],
      );
      expect(stored.rows[0]!.n).toBe(body.counts.inserted);
    } finally {
      await big.close();
    }
  });
});

describe.each(databaseKinds())('thresholds and reprocessing (%s database)', (kind) => {
  it('stores a sample rejected by a threshold once the threshold is relaxed and the ingestion reprocessed', async () => {
    const strict = await createTestApp(kind, { env: { VALIDATION_HEART_RATE_MIN: '20' } });
    const first = (await strict.ingest(readFixture('edge-cases-metrics.json'))).json();
    await strict.close();
    expect(first.counts.rejected).toBe(4);
    expect(first.by_type.heart_rate.rejected).toBe(1);

    const relaxed = await createTestApp(kind, { reset: false });
    const again = await relaxed.app.inject({
      method: 'POST',
      url: `/api/v1/ingestions/${first.id}/reprocess`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.id, status: 'completed', counts: { rejected: 3 } });
    expect(again.json().by_type.heart_rate).toMatchObject({ received: 3, inserted: 1, unchanged: 2, rejected: 0 });
    const stored = await relaxed.db.query("SELECT 1 FROM heart_rate_samples WHERE start_at = '2024-09-21T09:57:00Z' AND min = 17");
    expect(stored.rowCount).toBe(1);
    const rejections = (await relaxed.app.inject({ url: `/api/v1/ingestions/${first.id}/rejections`, headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    expect(rejections.items).toHaveLength(3);
    await relaxed.close();
  });
});
