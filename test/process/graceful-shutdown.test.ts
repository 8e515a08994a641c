/**
 * SIGTERM on a real server process: the batch being written is finished and
 * recorded before the process exits (a deploy loses nothing and leaves nothing
 * to redo), and SHUTDOWN_TIMEOUT_SECONDS bounds the wait when that work cannot
 * finish (the database hangs), leaving the ingestion for the next start.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import type { Queryable } from '../../src/storage/database.js';
import { readServerDatabase, sampleRowCount, serverDatabases } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

const ADMIN = 'shutdown-admin-key-0123456789-abcdefghij';
const START_TIMEOUT_MS = 180_000;
const headers = { authorization: `Bearer ${ADMIN}` };

/** Posts a large upload answered 202, and waits until it is processing with some of its rows readable. */
async function uploadAndWaitForRows(server: ServerProcess, samples: number) {
  const generated = generateHaePayload({ samples, seed: 23 });
  const get = async (url: string) => (await fetch(`${server.url}${url}`, { headers })).json() as Promise<any>;
  const accepted = await fetch(`${server.url}/api/v1/ingest`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(generated.payload),
  });
  expect(accepted.status).toBe(202);
  const { id } = (await accepted.json()) as { id: string };
  await until('processing with rows written', async () => {
    const { status } = await get(`/api/v1/ingestions/${id}`);
    if (status === 'completed' || status === 'failed') throw new Error(`the ingestion ended (${status}) before the signal: give it more samples`);
    if (status !== 'processing') return undefined;
    const metrics = (await get('/api/v1/data/metrics?limit=1000')).items as { count: number }[];
    return metrics.some((metric) => metric.count > 0) ? true : undefined;
  });
  return { id, samples: generated.samples };
}

interface Outcome {
  status: string;
  attempts: number;
  rows: number;
}

async function outcomeIn(db: Queryable, id: string): Promise<Outcome> {
  const ingestion = await db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM raw_ingestions WHERE id = $1', [id]);
  return { ...ingestion.rows[0]!, rows: await sampleRowCount(db) };
}

const modes = serverDatabases('hea-shutdown-').map(({ kind, env }) => ({
  name: kind,
  samples: kind === 'postgres' ? 150_000 : 60_000,
  env,
  outcome: (env: Record<string, string>, id: string) => readServerDatabase(env, (db) => outcomeIn(db, id)),
}));

describe.each(modes)('SIGTERM during an ingestion ($name)', (mode) => {
  const servers: ServerProcess[] = [];
  let env: Record<string, string>;
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    if (env?.DATA_DIR) await rm(env.DATA_DIR, { recursive: true, force: true });
  });

  it('lets the batch finish and records it completed before the process exits cleanly', async () => {
    env = {
      ...(await mode.env()),
      ADMIN_API_KEY: ADMIN,
      INGEST_SYNC_BUDGET_MS: '0',
      BATCH_CHUNK_SIZE: '500',
      SHUTDOWN_TIMEOUT_SECONDS: '600',
      LOG_LEVEL: 'info',
    };
    // Node itself, not the tsx CLI: tsx relays SIGTERM only to a child that acknowledges it within
    // 30 ms and SIGKILLs one that does not, which a server busy with an ingestion often cannot.
    const server = await startServerProcess(env, START_TIMEOUT_MS, { nodeArgs: [] });
    servers.push(server);
    const { id, samples } = await uploadAndWaitForRows(server, mode.samples);

    expect(await server.stop('SIGTERM')).toBe(0);
    const log = server.output();
    expect(log).not.toContain('killed by timeout');
    expect(log).not.toContain('shutdown step failed');
    const signalled = log.indexOf('"msg":"shutting down');
    const completed = log.indexOf('"msg":"ingestion completed"');
    expect(signalled, `the shutdown was logged:\n${log.slice(-3000)}`).toBeGreaterThan(-1);
    // The signal came while the batch ran: it completed after the shutdown began, in this process.
    expect(completed, 'the ingestion completed after SIGTERM').toBeGreaterThan(signalled);
    expect(await mode.outcome(env, id)).toEqual({ status: 'completed', attempts: 1, rows: samples });
  }, 600_000);
});

describe.skipIf(!inject('postgresTemplate'))('SHUTDOWN_TIMEOUT_SECONDS (postgres)', () => {
  let server: ServerProcess | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await proxy?.close();
  });

  it('ends the process after that long when the work cannot finish, leaving the ingestion to the next start', async () => {
    const [postgres] = serverDatabases('hea-shutdown-').filter((d) => d.kind === 'postgres');
    const database = await postgres!.env();
    proxy = await startTcpProxy(database.DATABASE_URL!);
    server = await startServerProcess(
      { ...database, DATABASE_URL: proxy.url, ADMIN_API_KEY: ADMIN, INGEST_SYNC_BUDGET_MS: '0', BATCH_CHUNK_SIZE: '500', SHUTDOWN_TIMEOUT_SECONDS: '2', LOG_LEVEL: 'info' },
      START_TIMEOUT_MS,
      { nodeArgs: [] },
    );
    const { id } = await uploadAndWaitForRows(server, 150_000);
    // The database hangs mid-batch: the batch can never finish, so only the timeout ends the process.
    proxy.stall();
    expect(await server.stop('SIGTERM')).toBe(1);
    expect(server.output()).toContain('killed by timeout (2000ms)');
    expect(server.output()).not.toContain('"msg":"ingestion completed"');
    proxy.restore();
    // Still processing, its lease running out: the next start takes it over (crash-recovery.test.ts).
    expect((await readServerDatabase(database, (db) => outcomeIn(db, id))).status).toBe('processing');
  }, 600_000);
});
