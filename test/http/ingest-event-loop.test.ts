/**
 * The thread that answers requests stays free while a large upload is parsed:
 * /health answers (within a generous second, as the issue asks; the benchmark
 * reports the real p99) while a ~100 MB upload and a 27 MB body of
 * `{"x":[{},{},…]}` are processed. Parsing the 27 MB body at once blocked the
 * loop for 13.4 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const MB = 1024 * 1024;

/** About `megabytes` of `{"data": {"futureThings": [...]}}`: an array no parser knows, so every entry is parsed and rejected. */
function unknownArrayBody(megabytes: number): Buffer {
  const entry = (i: number) => `{"date":"2024-01-01 00:00:${String(i % 60).padStart(2, '0')} +0000","qty":${i},"source":"Watch"}`;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < megabytes * MB - 100; i++) {
    const text = entry(i);
    parts.push(text);
    size += text.length + 1;
  }
  return Buffer.from(`{"data":{"futureThings":[${parts.join(',')}]}}`);
}

describe.each(databaseKinds())('the event loop during a large upload (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    // Answered 202 at once: what follows the answer is the parsing, watched from /health. Few
    // rejections kept in full: embedded, their inserts run on this thread (PGlite lives here).
    t = await createTestApp(kind, { env: { INGEST_SYNC_BUDGET_MS: '0', MAX_PAYLOAD_MB: '110', REJECTIONS_KEPT_MAX: '100' } });
  });
  afterAll(() => t.close());

  /** Asks /health every 20 ms until the ingestion ends; returns the ingestion and the longest wait for an answer. */
  async function watchHealth(id: string) {
    let slowestMs = 0;
    let answers = 0;
    for (let probe = 0; ; probe++) {
      const asked = performance.now();
      await sleep(20);
      const health = await t.app.inject({ method: 'GET', url: '/health' });
      // A blocked loop shows as a late timer or a late answer: both count.
      slowestMs = Math.max(slowestMs, performance.now() - asked - 20);
      expect(health.statusCode).toBe(200);
      answers++;
      if (probe % 10 !== 0) continue;
      const row = (await t.db.query<{ status: string; counts: { received: number; rejected: number } | null; error: { code: string } | null }>(
        'SELECT status, counts, error FROM raw_ingestions WHERE id = $1',
        [id],
      )).rows[0]!;
      if (row.status === 'completed' || row.status === 'failed') return { row, slowestMs, answers };
    }
  }

  it('answers /health within a second while a ~100 MB upload is parsed, which completes with every entry counted', async () => {
    const body = unknownArrayBody(100);
    const entries = (body.toString('latin1').match(/"source"/g) ?? []).length;
    const response = await t.ingest(body);
    expect(response.statusCode).toBe(202);
    const { row, slowestMs, answers } = await watchHealth(response.json().id);
    expect(row).toMatchObject({ status: 'completed', counts: { received: entries, rejected: entries } });
    expect(answers).toBeGreaterThan(10);
    expect(slowestMs).toBeLessThan(1000);
  }, 600_000);

  it('answers /health within a second while a 27 MB body of {"x":[{},{},…]} is checked, then refuses it for its format', async () => {
    const body = Buffer.from(`{"x":[${Array.from({ length: (27 * MB) / 3 }, () => '{}').join(',')}]}`);
    const response = await t.ingest(body);
    expect(response.statusCode).toBe(202);
    const { row, slowestMs } = await watchHealth(response.json().id);
    expect(row).toMatchObject({ status: 'failed', error: { code: 'UNPROCESSABLE_PAYLOAD' } });
    expect(slowestMs).toBeLessThan(1000);
  }, 600_000);
});
