/**
 * The archive is written while a body arrives, and the ingestion is recorded only
 * once the body is complete: a server killed mid-body leaves no ingestion, and the
 * chunks it had written are deleted after the restart (at once on the embedded
 * database, which one process owns; on PostgreSQL once no upload can still be
 * arriving, 2 × REQUEST_TIMEOUT_SECONDS). The kill comes once a chunk is written,
 * seen in the server's log, never after a guessed delay.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/storage/database.js';
import { readServerDatabase, serverDatabases } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { until } from '../helpers/until.js';

const ADMIN = 'archive-crash-admin-key-0123456789-abcdef';
/** Opening an embedded folder a killed server left behind means recovering its WAL: slow on a loaded machine. */
const START_TIMEOUT_MS = 180_000;

async function leftovers(db: Queryable): Promise<{ chunks: number; ingestions: number }> {
  const chunks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_ingestion_chunks');
  const ingestions = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_ingestions');
  return { chunks: chunks.rows[0]!.n, ingestions: ingestions.rows[0]!.n };
}

describe.each(serverDatabases('hea-archive-crash-'))('an upload whose server is killed mid-body ($kind)', ({ kind, env: makeEnv }) => {
  const servers: ServerProcess[] = [];
  let env: Record<string, string>;
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    if (env?.DATA_DIR) await rm(env.DATA_DIR, { recursive: true, force: true });
  });

  it('leaves no ingestion, and no chunk once the server is back; the same body sent again is a new upload', async () => {
    env = { ...(await makeEnv()), ADMIN_API_KEY: ADMIN, LOG_LEVEL: 'debug', REQUEST_TIMEOUT_SECONDS: '10', HEADERS_TIMEOUT_SECONDS: '10', INGEST_SYNC_BUDGET_MS: '0' };
    // Random text compresses little: several chunks' worth, and a valid body with no samples.
    const body = Buffer.from(JSON.stringify({ samples: [], note: Array.from({ length: 256 }, () => randomBytes(24 * 1024).toString('base64')) }));
    let server = await startServerProcess(env, START_TIMEOUT_MS);
    servers.push(server);

    // Most of the body, then silence: the server has archived some of it and waits for the rest.
    const upload = request(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-length': body.length },
    });
    upload.on('error', () => undefined);
    upload.write(body.subarray(0, Math.floor(body.length * 0.8)));
    await until('an archive chunk written', () => server.output().includes('archive chunk written'));
    process.kill(server.pid, 'SIGKILL');
    await server.exited;
    upload.destroy();

    server = await startServerProcess(env, START_TIMEOUT_MS);
    servers.push(server);
    const headers = { authorization: `Bearer ${ADMIN}` };
    const listed = (await (await fetch(`${server.url}/api/v1/ingestions`, { headers })).json()) as { items: unknown[] };
    expect(listed.items).toEqual([]);

    if (kind === 'postgres') {
      // Another process could be receiving a body: chunks go once they are older than any upload can take.
      await until('the orphan chunks deleted', async () => (await readServerDatabase(env, leftovers)).chunks === 0, 120_000);
    }
    const again = await fetch(`${server.url}/api/v1/ingest`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    expect([200, 202]).toContain(again.status);
    const accepted = (await again.json()) as { id: string; duplicate?: boolean };
    expect(accepted.duplicate).toBeUndefined();
    await until('the upload completed', async () => {
      const view = (await (await fetch(`${server.url}/api/v1/ingestions/${accepted.id}`, { headers })).json()) as { status: string };
      return view.status === 'completed';
    });
    await server.stop('SIGTERM');

    // One ingestion, and only its chunks: nothing of the killed upload.
    const rows = await readServerDatabase(env, async (db) => ({
      ...(await leftovers(db)),
      ours: (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_ingestion_chunks WHERE ingestion_id = $1', [accepted.id])).rows[0]!.n,
    }));
    expect(rows.ingestions).toBe(1);
    expect(rows.chunks).toBe(rows.ours);
    expect(rows.ours).toBeGreaterThan(1);
  }, 600_000);
});
