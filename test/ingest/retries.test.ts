/**
 * A processing fault (a bug, a database error that is not transient) does not
 * lose the upload: it goes back to the queue, the workers try it again, and after
 * the fifth attempt it is marked failed with a reason, its archive kept for a
 * reprocess once the cause is fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ADMIN_KEY, TEST_ENV } from '../helpers/app.js';
import { databaseKinds, hookedDatabase, resetDatabase, silent, workerDatabase } from '../helpers/databases.js';

/** The number of attempts api.md and the ingestion service promise before giving up. */
const ATTEMPTS = 5;

describe.each(databaseKinds())('an upload whose processing keeps failing (%s database)', (kind) => {
  let app: FastifyInstance;
  let broken = true;
  let writes = 0;
  beforeAll(async () => {
    const { db, postgis } = await workerDatabase(kind);
    await resetDatabase(db);
    // Every sample write fails with an internal error (XX000: neither transient nor about the data).
    const faulty = hookedDatabase(db, {
      query: (text) => {
        if (!broken || !text.includes('json_to_recordset')) return;
        writes += 1;
        throw Object.assign(new Error('internal error in the writer'), { code: 'XX000' });
      },
    });
    const config = loadConfig({ ...TEST_ENV, INGEST_WORKERS: '1', INGEST_POLL_INTERVAL_MS: '20', INGEST_SYNC_BUDGET_MS: '600000' });
    app = await buildApp(config, { db: faulty, logger: silent, redis: null, postgis });
    await app.services.keys.bootstrap();
  });
  afterAll(async () => {
    await app.close();
    await app.services.ingest.stop();
  });

  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const status = async (id: string) => (await app.inject({ url: `/api/v1/ingestions/${id}`, headers })).json();

  it(`is attempted ${ATTEMPTS} times, then failed with a reason, and completes on a reprocess once fixed`, async () => {
    const sample = { kind: 'quantity', type: 'step_count', start: '2024-05-01T10:00:00Z', value: 42, unit: 'count' };
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/ingest',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: { samples: [sample] },
    });
    // The first attempt failed on the request path: back in the queue, not failed, not lost.
    expect(response.statusCode).toBe(202);
    expect(response.json().status).toBe('queued');
    const { id } = response.json();

    app.services.ingest.start();
    let current = await status(id);
    for (let polls = 0; current.status !== 'failed' && polls < 1500; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = await status(id);
    }
    expect(current.status).toBe('failed');
    expect(current.error).toEqual({ code: 'INTERNAL', message: 'processing failed repeatedly; see the server log' });
    expect(writes).toBe(ATTEMPTS);
    const { db } = await workerDatabase(kind);
    const row = await db.query<{ attempts: number; body: boolean }>('SELECT attempts, body_encoding IS NOT NULL AS body FROM raw_ingestions WHERE id = $1', [id]);
    expect(row.rows[0]).toEqual({ attempts: ATTEMPTS, body: true });

    broken = false;
    const again = await app.inject({ method: 'POST', url: `/api/v1/ingestions/${id}/reprocess`, headers });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id, status: 'completed', counts: { received: 1, inserted: 1 } });
  });
});
