/**
 * The operator's CLI on a database no server holds: users, keys, import through
 * the same pipeline as HTTP, and reprocess that changes nothing the second time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPgliteDatabase, type Database } from '../../src/storage/database.js';
import { createPostgres } from '../helpers/databases.js';
import { fixturePath } from '../helpers/fixtures.js';
import { runCli } from '../helpers/process.js';

describe('the CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let postgres: Database | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-cli-'));
    if (inject('postgresTemplate')) {
      const created = await createPostgres();
      postgres = created.db;
      env = { DATABASE_URL: created.url };
    } else env = { DATA_DIR: dataDir };
  });
  afterAll(async () => {
    await postgres?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Reads the database the CLI wrote, once no CLI process holds it. */
  async function query<R>(sql: string): Promise<R[]> {
    if (postgres) return (await postgres.query<R>(sql)).rows;
    const embedded = await createPgliteDatabase(dataDir);
    try {
      return (await embedded.query<R>(sql)).rows;
    } finally {
      await embedded.close();
    }
  }

  it('prints its help', async () => {
    const result = await runCli(['--help'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/keys create --user <email>/);
  });

  it('creates a user and a key, printed once as JSON, listed without the secret', async () => {
    const user = await runCli(['users', 'create', '--email', 'owner@example.com'], env);
    expect(user.stderr).toBe('');
    expect(user.stdout).toMatch(/created user owner@example.com/);
    const created = await runCli(['keys', 'create', '--user', 'owner@example.com', '--name', 'phone', '--scopes', 'ingest,read', '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ name: 'phone', scopes: ['ingest', 'read'], format: 'generated' });
    expect(key.key).toMatch(/^hea_/);
    const list = await runCli(['keys', 'list', '--json'], env);
    expect(JSON.parse(list.stdout).map((k: { id: string }) => k.id)).toContain(key.id);
    expect(list.stdout).not.toContain(key.key);
    const bad = await runCli(['keys', 'create', '--user', 'owner@example.com', '--name', 'x', '--scopes', 'everything'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--scopes: unknown scope everything/);
  });

  it('audits a user created by the CLI with the server stopped (the audit log missed them)', async () => {
    const user = await runCli(['users', 'create', '--email', 'audited@example.com'], env);
    expect(user.code).toBe(0);
    const id = /\(([0-9a-f-]{36})\)/.exec(user.stdout)![1];
    const entries = await query<{ action: string; user_id: string; reason: string }>(`SELECT action, user_id, reason FROM audit_log WHERE user_id = '${id}'`);
    expect(entries).toEqual([{ action: 'user.created', user_id: id, reason: 'by CLI' }]);
  });

  it('imports files and prints the outcome counts; reprocessing twice changes nothing the second time', async () => {
    const imported = await runCli(
      ['import', '--user', 'owner@example.com', fixturePath('edge-cases-metrics.json'), fixturePath('real-sleep-segments-2025-04.json')],
      env,
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/edge-cases-metrics.json: completed; received 18, inserted 15, updated 0, unchanged 0, rejected 3/);
    expect(imported.stdout).toMatch(/real-sleep-segments-2025-04.json: completed; received 741, inserted 741/);

    const first = await runCli(['reprocess', '--all'], env);
    expect(first.stdout).toMatch(/reprocessed 2 ingestion/);
    const second = await runCli(['reprocess', '--all'], env);
    expect(second.stdout).toMatch(/received 741, inserted 0, updated 0, unchanged 741, rejected 0/);
    expect(second.stdout).toMatch(/received 18, inserted 0, updated 0, unchanged 15, rejected 3/);
  });

  it('erases from the command line: a type in a range that reprocess --all does not bring back, one archived body, then the user', async () => {
    const deleted = await runCli(
      ['data', 'delete', '--user', 'owner@example.com', '--type', 'sleep_analysis', '--start', '2000-01-01T00:00:00Z', '--end', '2100-01-01T00:00:00Z'],
      env,
    );
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout).toMatch(/^deleted \d+ sleep_analysis sample\(s\) of owner@example.com starting in \[2000-01-01T00:00:00.000Z, 2100-01-01T00:00:00.000Z\)/);
    expect(Number(/deleted (\d+)/.exec(deleted.stdout)![1])).toBeGreaterThanOrEqual(741);

    const reprocessed = await runCli(['reprocess', '--all'], env);
    // Every segment of the sleep file is counted, and none is stored again.
    expect(reprocessed.stdout).toMatch(/received 741, inserted 0, updated 0, unchanged 0, rejected 741/);
    const sleepIngestion = /^([0-9a-f-]{36}): completed; received 741/m.exec(reprocessed.stdout)![1]!;

    const body = await runCli(['ingestions', 'delete-body', sleepIngestion], env);
    expect(body.stdout).toMatch(`deleted the archived body of ingestion ${sleepIngestion}; its samples stay`);
    expect((await runCli(['reprocess', '--all'], env)).stdout).toMatch(/reprocessed 1 ingestion/);

    const erased = await runCli(['users', 'erase', '--user', 'owner@example.com'], env);
    expect(erased.stderr).toBe('');
    expect(erased.stdout).toMatch(/^erased user [0-9a-f-]{36}: \d+ sample\(s\), 2 archived upload\(s\), \d+ rejection\(s\), 1 key\(s\)/);
    expect((await runCli(['keys', 'list', '--json'], env)).stdout).not.toContain('phone');
    expect((await runCli(['users', 'erase', '--user', 'owner@example.com'], env)).stderr).toMatch(/no user owner@example.com/);
  });
});
