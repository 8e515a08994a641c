/**
 * The operator's CLI on a database no server holds: users, keys, import through
 * the same pipeline as HTTP, reprocess that changes nothing the second time, and
 * moving an older install's pepper out of the database without losing a key.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createServices } from '../../src/services.js';
import { createPgliteDatabase, type Database } from '../../src/storage/database.js';
import { TEST_ENV } from '../helpers/app.js';
import { exportXml, exportZip } from '../helpers/apple-health.js';
import { createPostgres, silent } from '../helpers/databases.js';
import { fixturePath } from '../helpers/fixtures.js';
import { ROOT, runCli } from '../helpers/process.js';

/** A user's mistake is answered with one line on stderr and a non-zero exit, never a stack trace. */
function expectOneLineRefusal(result: { code: number | null; stderr: string }, message: RegExp) {
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr.trim()).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('the CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let postgres: Database | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-cli-'));
    if (inject('postgresTemplate')) {
      const created = await createPostgres();
      postgres = created.db;
      env = { DATABASE_URL: created.url, API_KEY_PEPPER: 'cli-test-pepper-0123456789' };
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

  it('rebuilds the summary rollups from the samples: rows changed and lost behind its back are put right', async () => {
    const snapshot = () => query<{ row: string }>('SELECT r::text AS row FROM quantity_rollups r ORDER BY r::text');
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(0);
    await query('UPDATE quantity_rollups SET kept_total = kept_total + 1');
    await query("DELETE FROM quantity_rollups WHERE metric = 'step_count'");
    expect(await snapshot()).not.toEqual(before);
    const rebuilt = await runCli(['rollups', 'rebuild', '--user', 'owner@example.com'], env);
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.stdout).toMatch(/rebuilt the summary rollups of 1 user\(s\)/);
    expect(await snapshot()).toEqual(before);
    expect((await runCli(['rollups', 'rebuild', '--user', 'nobody@example.com'], env)).stderr).toMatch(/no user nobody@example.com/);
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

  // After the erasure above: these tests bring their own user.
  it('lists users, and keys with their user\'s email (keys list used to show only user ids)', async () => {
    expect((await runCli(['users', 'create', '--email', 'lister@example.com'], env)).code).toBe(0);
    expect((await runCli(['keys', 'create', '--user', 'lister@example.com', '--name', 'tablet', '--scopes', 'ingest,read'], env)).code).toBe(0);
    const users = await runCli(['users', 'list'], env);
    expect(users.code).toBe(0);
    expect(users.stdout).toMatch(/^[0-9a-f-]{36} {2}active\s+\d{4}-\d{2}-\d{2} {2}lister@example\.com$/m);
    expect(JSON.parse((await runCli(['users', 'list', '--json'], env)).stdout).map((u: { email: string }) => u.email)).toContain('lister@example.com');
    const keys = await runCli(['keys', 'list'], env);
    expect(keys.stdout).toMatch(/active\s+ingest,read\s+lister@example\.com {2}tablet/);
    const listed = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout) as { email: string; name: string }[];
    expect(listed.find((k) => k.name === 'tablet')).toMatchObject({ email: 'lister@example.com' });
  });

  it('refuses an email the API would refuse (users create --email notanemail was accepted); admin@localhost stays valid', async () => {
    expectOneLineRefusal(await runCli(['users', 'create', '--email', 'notanemail'], env), /^--email notanemail: must be an email address$/);
    expect((await runCli(['users', 'create', '--email', 'admin@localhost'], env)).stdout).toMatch(/created user admin@localhost/);
  });

  it('answers a file that does not exist, a folder and an id that is not one with one line, no stack trace (they used to print ENOENT and pg traces)', async () => {
    expectOneLineRefusal(await runCli(['import', '--user', 'lister@example.com', 'nope.json'], env), /^import: cannot read nope\.json: no such file$/);
    expectOneLineRefusal(await runCli(['import', '--user', 'lister@example.com', 'test'], env), /^import: test is a folder/);
    expectOneLineRefusal(await runCli(['reprocess', '--ingestion', 'not-a-uuid'], env), /^--ingestion: not-a-uuid is not an id/);
    expectOneLineRefusal(await runCli(['keys', 'revoke', 'not-a-uuid'], env), /^keys revoke <id>: not-a-uuid is not an id/);
  });

  it('without --user, names --user when the default owner does not exist (it only said to create the user)', async () => {
    const result = await runCli(['import', fixturePath('edge-cases-metrics.json')], { ...env, ADMIN_EMAIL: 'nobody@example.com' });
    expectOneLineRefusal(result, /^no user nobody@example\.com \(ADMIN_EMAIL, the owner when --user is not given\); name the owner with --user <email>/);
  });

  it('says in one line why a file that is not an export failed (it printed "failed; failed; ..."), and exits 2', async () => {
    const result = await runCli(['import', '--user', 'lister@example.com', path.join(ROOT, 'README.md')], env);
    expect(result.code).toBe(2);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/^README\.md: failed: body is not valid JSON: .* \[ingestion [0-9a-f-]{36}\]$/m);
  });

  it('says a byte-identical file is identical to the earlier upload and wrote nothing (it printed the earlier counts as if inserted again)', async () => {
    const first = await runCli(['import', '--user', 'lister@example.com', fixturePath('other-data-types.json')], env);
    const earlier = /\[ingestion ([0-9a-f-]{36})\]/.exec(first.stdout)?.[1];
    expect(earlier).toBeDefined();
    const again = await runCli(['import', '--user', 'lister@example.com', fixturePath('other-data-types.json')], env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`other-data-types.json: identical to upload ${earlier} (nothing written)`);
  });

  it('moves a pepper an older install kept in the database out of it; every key keeps working', async () => {
    const PEPPER = 'an-older-install-pepper-0123456789';
    const postgres = inject('postgresTemplate') ? await createPostgres() : null;
    const dir = await mkdtemp(path.join(tmpdir(), 'hea-cli-pepper-'));
    const legacy: Record<string, string> = postgres ? { DATABASE_URL: postgres.url } : { DATA_DIR: dir };
    const open = async (): Promise<Database> => postgres?.db ?? createPgliteDatabase(path.join(dir, 'pgdata'));
    try {
      expect((await runCli(['users', 'create', '--email', 'old@example.com'], { ...legacy, API_KEY_PEPPER: PEPPER })).code).toBe(0);
      // What an install made before the pepper left the database looks like.
      const db = await open();
      await db.query("INSERT INTO settings (name, value) VALUES ('api_key_pepper', $1)", [PEPPER]);
      if (!postgres) await db.close();

      const created = await runCli(['keys', 'create', '--user', 'old@example.com', '--name', 'phone', '--scopes', 'ingest', '--json'], legacy);
      expect(created.code).toBe(0);
      expect(created.stderr).toMatch(/pepper is stored in the database .*pepper move-out/);
      const key = (JSON.parse(created.stdout) as { key: string }).key;

      const file = path.join(dir, postgres ? 'pepper-secret' : 'api-key-pepper');
      let moved;
      if (postgres) {
        // Nowhere to write it: the line for .env is printed and the database keeps its copy.
        const printed = await runCli(['pepper', 'move-out'], legacy);
        expect(printed.stdout).toContain(`API_KEY_PEPPER=${PEPPER}`);
        expect((await postgres.db.query('SELECT 1 FROM settings')).rowCount).toBe(1);
        moved = await runCli(['pepper', 'move-out', '--file', file], legacy);
        expect(moved.stdout).toContain(`API_KEY_PEPPER_FILE=${file}`);
      } else {
        moved = await runCli(['pepper', 'move-out'], legacy);
      }
      expect(moved.code).toBe(0);
      expect(moved.stdout).toContain(`wrote the API key pepper to ${file} (mode 0600) and deleted the copy in the database`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await readFile(file, 'utf8')).trim()).toBe(PEPPER);

      const after = await open();
      try {
        expect((await after.query('SELECT 1 FROM settings')).rowCount).toBe(0);
        const config = loadConfig({ ...TEST_ENV, API_KEY_PEPPER: undefined, DATA_DIR: dir, ...(postgres ? { API_KEY_PEPPER_FILE: file } : {}) });
        const services = await createServices(config, { db: after, logger: silent, postgis: false });
        expect((await services.keys.authenticate(key, {})).scopes).toEqual(['ingest']);
      } finally {
        await after.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('imports an Apple Health export.zip with the counts per type; its export.xml afterwards, and the zip again after an interrupted run, find everything unchanged', async () => {
    const zip = path.join(dataDir, 'export.zip');
    const xml = path.join(dataDir, 'export.xml');
    await writeFile(zip, await exportZip());
    await writeFile(xml, exportXml());
    expect((await runCli(['users', 'create', '--email', 'apple@example.com'], env)).code).toBe(0);
    const imported = await runCli(['import-apple-health', '--user', 'apple@example.com', zip], env);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/export.zip: completed; received 30, inserted 27, updated 0, unchanged 0, rejected 3/);
    expect(imported.stdout).toMatch(/\n {2}blood_pressure +received 1, inserted 1, updated 0, unchanged 0, rejected 0\n/);
    expect(imported.stdout).toMatch(/\n {2}clinical_records +received 2, inserted 0, updated 0, unchanged 0, rejected 2\n/);
    const again = await runCli(['import-apple-health', '--user', 'apple@example.com', xml], env);
    expect(again.stdout).toMatch(/export.xml: completed; received \d+, inserted 0, updated 0, unchanged \d+, rejected 2/);

    // Stopped half-way (Ctrl-C, a crash: the ingestion stays processing, its lease runs out): the same command finishes it.
    const id = /\[ingestion ([0-9a-f-]{36})\]/.exec(imported.stdout)![1];
    await query(`UPDATE raw_ingestions SET status = 'processing', lease_until = now() - interval '1 second', counts = NULL, by_type = NULL WHERE id = '${id}'`);
    const resumed = await runCli(['import-apple-health', '--user', 'apple@example.com', zip], env);
    expect(resumed.stdout).toMatch(new RegExp(`export.zip: completed; received 30, inserted 0, updated 0, unchanged 27, rejected 3 \\[ingestion ${id}\\]`));
  });
});
