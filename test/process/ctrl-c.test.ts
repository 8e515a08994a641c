/**
 * Ctrl-C on `npm start`, as a terminal sends it: SIGINT to the whole process
 * group. It used to drop the upload in flight (curl: empty reply), exit 130 and
 * leave data/server.lock behind: tsx killed the server that had not yet
 * acknowledged the signal, the shell between npm and node exited 130, and the
 * server took the copy npm forwards milliseconds later as "force".
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { until } from '../helpers/until.js';

const ADMIN = 'ctrl-c-admin-key-0123456789-abcdefghij';

/** Starts a POST /ingest and sends only the first `sent` bytes of the body; `finish()` sends the rest. */
function partialUpload(url: string, body: Buffer, sent: number) {
  const { port } = new URL(url);
  let finish!: () => void;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/ingest',
        headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${ADMIN}` },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, sent));
    finish = () => req.end(body.subarray(sent));
  });
  // A request cut off by a forced exit rejects; the tests that cut it off do not wait for it.
  answer.catch(() => {});
  return { answer, finish: () => finish() };
}

describe('Ctrl-C on npm start (SIGINT to its process group)', () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  /** A data folder of its own for each test. */
  const environment = async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hea-ctrl-c-'));
    dirs.push(dataDir);
    return { DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN, LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_SECONDS: '600' };
  };
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('during a multi-MB upload: the upload is answered and completed, npm exits 0 and the lock is released', async () => {
    const env = await environment();
    const { payload, samples } = generateHaePayload({ samples: 30_000, seed: 13 });
    const body = Buffer.from(JSON.stringify(payload));
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    server = await startServerProcess(env, 120_000, { npm: true });
    const group = server.child.pid!;

    const upload = partialUpload(server.url, body, 1024 * 1024);
    await sleep(300);
    process.kill(-group, 'SIGINT');
    await until('the server to begin its stop', () => server!.output().includes('shutting down'));
    upload.finish();

    const answer = await upload.answer;
    expect([200, 202]).toContain(answer.status);
    const { id } = JSON.parse(answer.body) as { id: string };
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/again: exiting now/);
    expect(existsSync(path.join(env.DATA_DIR, 'server.lock'))).toBe(false);

    server = await startServerProcess(env);
    const ingestion = (await (await fetch(`${server.url}/api/v1/ingestions/${id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as any;
    expect(ingestion.status).toBe('completed');
    expect(ingestion.counts.received).toBe(samples);
  }, 300_000);

  it('a second Ctrl-C more than 1 s after the first forces the exit without waiting for the request in flight', async () => {
    server = await startServerProcess(await environment(), 120_000, { npm: true });
    const group = server.child.pid!;
    // A body that never arrives in full: a graceful stop would wait for it (up to REQUEST_TIMEOUT_SECONDS).
    partialUpload(server.url, Buffer.from(JSON.stringify({ data: { metrics: [] } }).padEnd(4096)), 10);
    await sleep(300);
    process.kill(-group, 'SIGINT');
    await until('the server to begin its stop', () => server!.output().includes('shutting down'));
    await sleep(1500);
    process.kill(-group, 'SIGINT');
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/SIGINT again: exiting now/);
  }, 300_000);
});
