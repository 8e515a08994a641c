/**
 * An upload that stops the server (out of memory, killed) is taken over by a
 * worker once its lease runs out; one that stopped the server in every attempt
 * used to be taken over again and again, each time stopping the server anew.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

describe.each(databaseKinds())('an upload whose processing never ended (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: { INGEST_WORKERS: '1', INGEST_POLL_INTERVAL_MS: '50' } });
  });
  afterAll(() => t.close());

  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const status = async (id: string) => (await t.app.inject({ method: 'GET', url: `/api/v1/ingestions/${id}`, headers })).json();
  /** As the database looks after the server died while processing: still processing, its lease run out. */
  const interrupted = (id: string, attempts: number) =>
    t.db.query(
      `UPDATE raw_ingestions SET status = 'processing', attempts = $2, counts = NULL, finished_at = NULL,
         lease_until = now() - interval '1 minute' WHERE id = $1`,
      [id, attempts],
    );

  it('is failed with a reason once the server stopped in every attempt, not run again; an upload interrupted once still completes', async () => {
    const poison = (await t.ingest(readFixture('edge-cases-metrics.json'))).json();
    const once = (await t.ingest(readFixture('other-data-types.json'))).json();
    await interrupted(poison.id, 5);
    await interrupted(once.id, 1);

    t.app.services.ingest.start();
    let abandoned = await status(poison.id);
    let resumed = await status(once.id);
    for (let waited = 0; (abandoned.status === 'processing' || resumed.status === 'processing') && waited < 20_000; waited += 50) {
      await sleep(50);
      [abandoned, resumed] = await Promise.all([status(poison.id), status(once.id)]);
    }

    expect(abandoned.status).toBe('failed');
    expect(abandoned.error.code).toBe('INTERNAL');
    expect(abandoned.error.message).toMatch(/the server stopped during each of 5 attempts/);
    expect(resumed.status).toBe('completed');
    expect(resumed.counts.received).toBe(6);

    // The archive is kept: a reprocess is a new run, with its own attempts.
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${poison.id}/reprocess`, headers });
    expect(again.statusCode).toBe(200);
    expect(again.json().status).toBe('completed');
    expect(again.json().counts.received).toBe(18);
    const { rows } = await t.db.query<{ attempts: number }>('SELECT attempts FROM raw_ingestions WHERE id = $1', [poison.id]);
    expect(rows[0]!.attempts).toBe(1);
  });
});
