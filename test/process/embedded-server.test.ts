/**
 * The server as a user runs it with no configuration: the embedded database in
 * DATA_DIR, kept across restarts, guarded against a second opener, and a clean
 * exit on SIGTERM that lets a request in progress finish.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportZip } from '../helpers/apple-health.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
import { ROOT, runCli, startServerProcess, type ServerProcess } from '../helpers/process.js';

const ADMIN = 'embedded-admin-key-0123456789-abcdef';

describe('the embedded server process', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-embedded-'));
    env = { DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN };
    server = await startServerProcess(env);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  const get = (url: string) => fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });

  // Linux only (/proc). A bound only the old defaults break, far from what a loaded machine adds.
  it.runIf(existsSync('/proc/self/status'))(
    'stays under 500 MB at rest after its first start on a new folder (initdb left PGlite at 868 MB)',
    async () => {
      // Migrated, listening, and a request served: the idle server a person leaves running.
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      const status = await readFile(`/proc/${server.pid}/status`, 'utf8');
      const rssMb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
      expect(rssMb).toBeLessThan(500);
    },
  );

  it('answers /health and /ready, serves the OpenAPI document and renders /docs', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', migrations: 'ok', redis: 'off', mqtt: 'off' } });
    expect(((await (await fetch(`${server.url}/openapi.json`)).json()) as any).openapi).toMatch(/^3\./);
    const docs = await fetch(`${server.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
  });

  it('refuses a second server on the same DATA_DIR, naming the pid that holds it', async () => {
    await expect(startServerProcess(env, 30_000)).rejects.toThrow(new RegExp(`in use by process ${server.pid}`));
  });

  it('lets CLI commands through the running server with the admin key, and refuses without it', async () => {
    const created = await runCli(['users', 'create', '--email', 'cli@example.com'], env);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('created user cli@example.com');
    const refused = await runCli(['keys', 'list'], { DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`process ${server.pid}`);
  });

  it('imports for a user through the API without minting a key (a "cli import" key used to appear), and reprocess --ingestion prints the counts', async () => {
    const imported = await runCli(['import', '--user', 'cli@example.com', fixturePath('edge-cases-metrics.json')], env);
    expect(imported.stderr).toBe('');
    const id = /^edge-cases-metrics\.json: completed; received 18, inserted 15, updated 0, unchanged 0, rejected 3 \[ingestion ([0-9a-f-]{36})\]$/m.exec(imported.stdout)?.[1];
    expect(id, imported.stdout).toBeDefined();
    const keys = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout) as { name: string; email: string }[];
    expect(keys.map((k) => k.name)).not.toContain('cli import');
    expect(keys.every((k) => k.email === 'admin@localhost')).toBe(true);

    const reprocessed = await runCli(['reprocess', '--ingestion', id!], env);
    expect(reprocessed.stdout.trim()).toBe(`${id}: completed; received 18, inserted 0, updated 0, unchanged 15, rejected 3 [ingestion ${id}]`);

    const notJson = await runCli(['import', '--user', 'cli@example.com', path.join(ROOT, 'README.md')], env);
    expect(notJson.code).toBe(2);
    expect(notJson.stdout.trim()).toMatch(/^README\.md: not imported: the server answered 400: body is not valid JSON: .*\(kept as ingestion [0-9a-f-]{36}\)$/);
  });

  it('imports an Apple Health export through the running server, the file streamed as the request body, with the counts per type', async () => {
    const zip = path.join(dataDir, 'export.zip');
    await writeFile(zip, await exportZip());
    const imported = await runCli(['import-apple-health', '--user', 'cli@example.com', zip], env);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/export.zip: completed; received 30, inserted 27, updated 0, unchanged 0, rejected 3/);
    expect(imported.stdout).toMatch(/\n {2}blood_pressure +received 1, inserted 1, updated 0, unchanged 0, rejected 0\n/);
  });

  it('finishes a request in progress on SIGTERM, exits 0, and keeps the data for the next start', async () => {
    const body = readFixture('edge-cases-metrics.json');
    const { port } = new URL(server.url);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/api/v1/ingest', headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${ADMIN}` } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after the signal: the request is in flight when SIGTERM arrives.
      req.write(body.subarray(0, 1000));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.subarray(1000)), 500);
      }, 300);
    });
    const result = await answer;
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body).counts).toMatchObject({ received: 18, rejected: 3 });
    expect(await server.exited).toBe(0);

    server = await startServerProcess(env);
    const list = (await (await get(`${server.url}/api/v1/ingestions`)).json()) as any;
    expect(list.items.map((i: { counts: { received: number } }) => i.counts.received)).toContain(18);
  });
});
