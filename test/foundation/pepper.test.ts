/**
 * Where the API key pepper comes from: never the database on a new install; a
 * file of its own in DATA_DIR (mode 0600) for the embedded database; the
 * environment or a file for PostgreSQL. An install that kept it in the
 * database keeps every key working and is warned at every start.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createServices } from '../../src/services.js';
import { ADMIN_KEY, TEST_ENV } from '../helpers/app.js';
import { databaseKinds, resetDatabase, workerDatabase } from '../helpers/databases.js';

/** TEST_ENV without a pepper: the server's own defaults decide. */
const { API_KEY_PEPPER: _set, ...WITHOUT_PEPPER } = TEST_ENV;

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

describe('API_KEY_PEPPER_FILE', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hea-pepper-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads the pepper from the file, and refuses it together with API_KEY_PEPPER, missing or short', async () => {
    const file = path.join(dir, 'pepper');
    await writeFile(file, '  a-pepper-from-a-mounted-secret\n');
    expect(loadConfig({ API_KEY_PEPPER_FILE: file }).auth.pepper).toBe('a-pepper-from-a-mounted-secret');
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: file, API_KEY_PEPPER: 'another-pepper-0123456789' })).toThrow(/set one of them, not both/);
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: path.join(dir, 'missing') })).toThrow(/API_KEY_PEPPER_FILE=.*missing.*cannot be read \(ENOENT\)/);
    await writeFile(path.join(dir, 'short'), 'short\n');
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: path.join(dir, 'short') })).toThrow(/at least 16 characters/);
  });
});

describe.each(databaseKinds())('the API key pepper (%s database)', (kind) => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-pepper-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const start = async (env: Record<string, string | undefined>) => {
    const { db, postgis } = await workerDatabase(kind);
    const { lines, logger } = capturingLogger();
    const services = await createServices(loadConfig({ ...WITHOUT_PEPPER, DATA_DIR: dataDir, ...env }), { db, logger, postgis });
    return { db, services, lines };
  };
  const storedPeppers = async () => {
    const { db } = await workerDatabase(kind);
    return (await db.query("SELECT value FROM settings WHERE name = 'api_key_pepper'")).rows;
  };

  if (kind === 'embedded') {
    it('is generated on the first start into DATA_DIR/api-key-pepper (mode 0600), never into the database, and used again after', async () => {
      await resetDatabase((await workerDatabase(kind)).db);
      const first = await start({});
      await first.services.keys.bootstrap();
      const file = path.join(dataDir, 'api-key-pepper');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await readFile(file, 'utf8')).trim()).toMatch(/^[\w-]{43}$/);
      expect(await storedPeppers()).toEqual([]);
      const again = await start({});
      expect((await again.services.keys.authenticate(ADMIN_KEY, {})).scopes).toEqual(['admin']);
    });
  } else {
    it('stops start-up without API_KEY_PEPPER, saying how to create one, and stores none in the database', async () => {
      await resetDatabase((await workerDatabase(kind)).db);
      const refused = start({}).then(
        () => null,
        (error: unknown) => error,
      );
      const error = await refused;
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/API_KEY_PEPPER: not set\. .*openssl rand -base64 32.*API_KEY_PEPPER_FILE/);
      expect(await storedPeppers()).toEqual([]);
    });
  }

  it('keeps every key of an install that stored it in the database working, warning at each start until it is moved out', async () => {
    const { db } = await workerDatabase(kind);
    await resetDatabase(db);
    await db.query("INSERT INTO settings (name, value) VALUES ('api_key_pepper', 'an-older-install-pepper-0123456789')");
    const first = await start({});
    await first.services.keys.bootstrap();
    const user = await db.query<{ id: string }>("INSERT INTO users (email) VALUES ('legacy@example.com') RETURNING id");
    const { key } = await first.services.keys.create({ userId: user.rows[0]!.id, name: 'phone', scopes: ['ingest'] });
    for (const started of [first, await start({})]) {
      expect(started.lines.filter((line) => line.level === 40 && /pepper is stored in the database .*npm run cli -- pepper move-out/.test(line.msg))).toHaveLength(1);
    }
    const again = await start({});
    expect((await again.services.keys.authenticate(key, {})).userId).toBe(user.rows[0]!.id);
    expect((await again.services.keys.authenticate(ADMIN_KEY, {})).scopes).toEqual(['admin']);
    // Moved out into the environment (the CLI deletes the row): the same keys, no warning.
    await db.query("DELETE FROM settings WHERE name = 'api_key_pepper'");
    const moved = await start({ API_KEY_PEPPER: 'an-older-install-pepper-0123456789' });
    expect((await moved.services.keys.authenticate(key, {})).userId).toBe(user.rows[0]!.id);
    expect(moved.lines.filter((line) => line.level === 40)).toEqual([]);
  });
});
