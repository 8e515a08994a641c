/**
 * Accepted work survives a crash: an upload answered 202 whose server is killed
 * with SIGKILL mid-way is completed by the next start (its lease runs out and a
 * worker takes it over), with no duplicate rows and counts that add up. The kill
 * comes once the ingestion is processing and some of its rows exist, never after a
 * guessed delay.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import type { Queryable } from '../../src/storage/database.js';
import { readServerDatabase, sampleRowCount, serverDatabases } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { until } from '../helpers/until.js';

const ADMIN = 'crash-admin-key-0123456789-abcdefghij';
/** Opening an embedded folder a killed server left behind means recovering its WAL: slow on a loaded machine. */
const START_TIMEOUT_MS = 180_000;

interface Stored {
  total: number;
  heartRate: number;
}

async function storedRows(db: Queryable): Promise<Stored> {
  const heartRate = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM heart_rate_samples');
  return { total: await sampleRowCount(db), heartRate: heartRate.rows[0]!.n };
}

const modes = serverDatabases('hea-crash-').map(({ kind, env }) => ({
  name: kind,
  samples: kind === 'postgres' ? 150_000 : 60_000,
  env,
  /** The rows stored, read once the last server has stopped. */
  rows: (env: Record<string, string>) => readServerDatabase(env, storedRows),
}));

describe.each(modes)('an ingestion interrupted by SIGKILL ($name)', (mode) => {
  const servers: ServerProcess[] = [];
  let env: Record<string, string>;
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    if (env?.DATA_DIR) await rm(env.DATA_DIR, { recursive: true, force: true });
  });

  it('is completed after a restart, exactly once', async () => {
    env = {
      ...(await mode.env()),
      ADMIN_API_KEY: ADMIN,
      INGEST_SYNC_BUDGET_MS: '0',
      INGEST_LEASE_SECONDS: '5',
      INGEST_POLL_INTERVAL_MS: '200',
      BATCH_CHUNK_SIZE: '500',
      LOG_LEVEL: 'debug',
    };
    const { payload, samples } = generateHaePayload({ samples: mode.samples, seed: 11 });
    let server = await startServerProcess(env, START_TIMEOUT_MS);
    servers.push(server);
    const headers = { authorization: `Bearer ${ADMIN}` };
    const get = async (url: string) => (await fetch(`${server.url}${url}`, { headers })).json() as Promise<any>;
    const accepted = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };

    // Mid-way, seen through the server's own API (the embedded folder has one opener):
    // the ingestion is processing and some of its rows are readable.
    const written = await until('processing with rows written', async () => {
      const { status } = await get(`/api/v1/ingestions/${id}`);
      if (status === 'completed' || status === 'failed') throw new Error(`the ingestion ended (${status}) before the kill: give it more samples`);
      if (status !== 'processing') return undefined;
      const metrics = (await get('/api/v1/data/metrics?limit=1000')).items as { count: number }[];
      const rows = metrics.reduce((sum, metric) => sum + metric.count, 0);
      return rows > 0 ? rows : undefined;
    });
    expect(written).toBeLessThan(samples);
    process.kill(server.pid, 'SIGKILL');
    await server.exited;

    server = await startServerProcess(env, START_TIMEOUT_MS);
    servers.push(server);
    const done = await until('completion', async () => {
      const status = await get(`/api/v1/ingestions/${id}`);
      return status.status === 'completed' || status.status === 'failed' ? status : undefined;
    });
    expect(done.status).toBe('completed');
    const c = done.counts;
    expect(c.received).toBe(samples);
    expect(c.inserted + c.updated + c.unchanged + c.rejected).toBe(samples);
    expect(c.rejected).toBe(0);
    // Rows written before the crash count as unchanged the second time: together, every sample once.
    expect(c.inserted + c.unchanged).toBe(samples);
    expect(c.unchanged).toBeGreaterThan(0);

    // No duplicate rows on either database: every sample of the payload is exactly one row.
    await server.stop('SIGTERM');
    const rows = await mode.rows(env);
    const heartRate = (payload.data.metrics as { name: string; data: unknown[] }[]).find((m) => m.name === 'heart_rate')!.data.length;
    expect(rows).toEqual({ total: samples, heartRate });
    // Two server starts and a large upload: minutes on a loaded two-core machine.
  }, 600_000);
});
