/**
 * Accepted work survives a crash: an upload answered 202 whose server is killed
 * with SIGKILL mid-way is completed by the next start (its lease runs out and a
 * worker takes it over), with no duplicate rows and counts that add up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import { createPostgres } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';

const ADMIN = 'crash-admin-key-0123456789-abcdefghij';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Mode = { name: string; samples: number; env: () => Promise<Record<string, string>>; rows: (env: Record<string, string>) => Promise<number | null> };

const modes: Mode[] = [
  ...(inject('postgresTemplate')
    ? [
        {
          name: 'postgres',
          samples: 150_000,
          env: async () => {
            const { db, url } = await createPostgres();
            await db.close();
            return { DATABASE_URL: url, API_KEY_PEPPER: 'crash-recovery-pepper-0123456789' };
          },
          rows: async (env: Record<string, string>) => {
            const client = new pg.Client({ connectionString: env.DATABASE_URL });
            await client.connect();
            const { rows } = await client.query('SELECT count(*)::int AS n FROM heart_rate_samples');
            await client.end();
            return rows[0].n as number;
          },
        },
      ]
    : []),
  {
    name: 'embedded',
    samples: 60_000,
    env: async () => ({ DATA_DIR: await mkdtemp(path.join(tmpdir(), 'hea-crash-')) }),
    // The embedded folder can only be read by its server; progress is watched through the log instead.
    rows: async () => null,
  },
];

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
    let server = await startServerProcess(env);
    servers.push(server);
    const headers = { authorization: `Bearer ${ADMIN}` };
    const accepted = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };

    // Mid-way: some rows written, the ingestion still processing.
    await until('the first rows', async () => {
      const rows = await mode.rows(env);
      if (rows !== null) return rows > 0 ? rows : undefined;
      // Embedded: only the server may open its folder, so give the worker a second of writing.
      await sleep(1000);
      return 1;
    });
    process.kill(server.pid, 'SIGKILL');
    await server.exited;

    server = await startServerProcess(env);
    servers.push(server);
    const done = await until('completion', async () => {
      const status = (await (await fetch(`${server.url}/api/v1/ingestions/${id}`, { headers })).json()) as any;
      return status.status === 'completed' || status.status === 'failed' ? status : undefined;
    });
    expect(done.status).toBe('completed');
    const c = done.counts;
    expect(c.received).toBe(samples);
    expect(c.inserted + c.updated + c.unchanged + c.rejected).toBe(samples);
    expect(c.rejected).toBe(0);
    // Rows written before the crash count as unchanged the second time: together, every sample once.
    expect(c.inserted + c.unchanged).toBe(samples);
    const heartRate = (payload.data.metrics as { name: string; data: unknown[] }[]).find((m) => m.name === 'heart_rate')!.data.length;
    const rows = await mode.rows(env);
    if (rows !== null) expect(rows).toBe(heartRate);
  });
});
