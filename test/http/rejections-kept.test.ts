/**
 * Rejections cannot fill the disk. A 3 MB body of a million `{}` samples wrote a
 * million rejection rows (184 MB); now only the first REJECTIONS_KEPT_MAX of an
 * ingestion are kept in full, every one is still counted per type and category,
 * and the ingestion and /rejections say how many were not kept. And the same
 * invalid body sent three times was archived three times: a byte-identical
 * re-send of a failed upload now runs that ingestion again in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const flood = (n: number, tag: string) => JSON.stringify({ data: { metrics: [{ name: 'step_count', units: tag, data: Array.from({ length: n }, () => ({})) }] } });

describe.each(databaseKinds())('rejections kept and counted (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const rows = async (sql: string, params: unknown[] = []) => (await t.db.query<{ n: number }>(sql, params)).rows[0]!.n;

  it('keeps 10,000 by default', () => {
    expect(loadConfig({}).ingest.rejectionsKeptMax).toBe(10_000);
  });

  it('keeps only the first REJECTIONS_KEPT_MAX rejections of a flood and counts every one (a million {} wrote a million rows)', async () => {
    const response = await t.ingest(flood(12_000, 'count'));
    expect(response.statusCode).toBe(200);
    const ingestion = response.json();
    expect(ingestion.counts).toEqual({ received: 12_000, inserted: 0, updated: 0, unchanged: 0, rejected: 12_000 });
    expect(ingestion.by_type.step_count.rejected).toBe(12_000);
    expect(ingestion.rejected_by_category).toEqual({ missing_field: 12_000 });
    expect(ingestion.rejections_not_kept).toBe(2_000);
    expect(await rows('SELECT count(*)::int AS n FROM rejected_samples WHERE ingestion_id = $1', [ingestion.id])).toBe(10_000);

    const status = (await get(`/api/v1/ingestions/${ingestion.id}`)).json();
    expect(status).toMatchObject({ rejections_not_kept: 2_000, rejected_by_category: { missing_field: 12_000 } });
    const first = (await get(`/api/v1/ingestions/${ingestion.id}/rejections?limit=1000`)).json();
    expect(first.items).toHaveLength(1000);
    expect(first.rejections_not_kept).toBe(2_000);
    expect(first.items[0]).toMatchObject({ type: 'step_count', category: 'missing_field', sample: {} });
  });

  it('says rejections_not_kept: 0 when every rejection was kept', async () => {
    const ingestion = (await t.ingest(flood(3, 'count '))).json();
    expect(ingestion.rejections_not_kept).toBe(0);
    expect((await get(`/api/v1/ingestions/${ingestion.id}/rejections`)).json()).toMatchObject({ rejections_not_kept: 0, next: null });
    expect((await get(`/api/v1/ingestions/${ingestion.id}/rejections`)).json().items).toHaveLength(3);
  });

  it('runs a byte-identical re-send of a failed upload again in place instead of archiving it again (three sends were three archives)', async () => {
    const body = '{"data": {"metrics": [}';
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const response = await t.ingest(body);
      expect(response.statusCode).toBe(400);
      ids.add(/kept as ingestion ([0-9a-f-]{36})/.exec(response.json().error.message)![1]!);
    }
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await rows("SELECT count(*)::int AS n FROM raw_ingestions WHERE status = 'failed' AND error->>'code' = 'INVALID_JSON'")).toBe(1);
    expect((await get(`/api/v1/ingestions/${id}`)).json()).toMatchObject({ id, status: 'failed', error: { code: 'INVALID_JSON' } });
  });

  it('completes the failed ingestion in place when the re-send succeeds under today\'s settings, as a reprocess would', async () => {
    const deep = JSON.stringify({ data: { metrics: [{ name: 'step_count', units: 'count', data: [{ date: '2024-05-01 10:00:00 +0000', qty: 5, source: 'x', a: { b: { c: { d: { e: { f: { g: {} } } } } } } }] }] } });
    const strict = await createTestApp(kind, { reset: false, env: { MAX_JSON_DEPTH: '8' } });
    let failedId: string;
    try {
      const refused = await strict.ingest(deep);
      expect(refused.statusCode).toBe(422);
      failedId = /kept as ingestion ([0-9a-f-]{36})/.exec(refused.json().error.message)![1]!;
    } finally {
      await strict.close();
    }
    const before = await rows('SELECT count(*)::int AS n FROM raw_ingestions');
    const again = await t.ingest(deep);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: failedId, status: 'completed', error: null, counts: { received: 1, inserted: 1 } });
    expect(again.json().duplicate_of).toBeUndefined();
    expect(await rows('SELECT count(*)::int AS n FROM raw_ingestions')).toBe(before);
    // Now it completed, a further re-send is an ordinary duplicate.
    expect((await t.ingest(deep)).json()).toMatchObject({ id: failedId, duplicate_of: failedId });
  });
});
