/**
 * The pepper: the server secret behind every key's lookup value (an HMAC) and
 * the Redis cache's signatures. It never lives in the database, so a dump of
 * the database alone does not allow fast offline guessing of low-entropy keys
 * (chosen UUIDs, a short ADMIN_API_KEY).
 *
 * Where it comes from, first match wins: API_KEY_PEPPER or API_KEY_PEPPER_FILE;
 * the `settings` table of an install made before this rule (kept working, with
 * a warning at every start until `npm run cli -- pepper move-out`); with the
 * embedded database, DATA_DIR/api-key-pepper, generated on the first run (mode
 * 0600). With PostgreSQL and none of these, start-up stops and says how to make one.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/config.js';
import type { Database } from '../storage/database.js';
import { newPepper } from './key-material.js';

const SETTING = 'api_key_pepper';
const PEPPER_FILE_NAME = 'api-key-pepper';

const MOVE_OUT = 'npm run cli -- pepper move-out';

/** The embedded database's own pepper file. */
export function embeddedPepperFile(config: Config): string {
  return path.join(path.resolve(config.database.dataDir), PEPPER_FILE_NAME);
}

/** The pepper an older install kept in the database, if any. */
export async function storedPepper(db: Database): Promise<string | null> {
  const row = await db.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [SETTING]);
  return row.rows[0]?.value ?? null;
}

export async function deleteStoredPepper(db: Database): Promise<void> {
  await db.query('DELETE FROM settings WHERE name = $1', [SETTING]);
}

/**
 * Writes `pepper` to `file` readable by its owner only, never over a different
 * one (that would invalidate every key made under it); true when it was written.
 */
export async function writePepperFile(file: string, pepper: string): Promise<boolean> {
  try {
    await writeFile(file, `${pepper}\n`, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing !== pepper) throw new Error(`${file} already holds a different pepper; not overwritten`);
    return false;
  }
}

export async function loadPepper(db: Database, config: Config, logger: Logger): Promise<string> {
  const configured = config.auth.pepper;
  const stored = await storedPepper(db);
  if (configured !== undefined) {
    if (stored === configured) {
      logger.warn(`the API key pepper is still also stored in the database (settings table); delete that copy with: ${MOVE_OUT}`);
    } else if (stored !== null) {
      logger.warn(
        `the database holds a different API key pepper (settings table) than API_KEY_PEPPER: keys created under that one do not work; ${MOVE_OUT} prints it`,
      );
    }
    return configured;
  }
  if (stored !== null) {
    logger.warn(
      `the API key pepper is stored in the database (settings table), so a dump of the database allows fast offline guessing of keys; move it out with: ${MOVE_OUT}`,
    );
    return stored;
  }
  if (db.kind === 'pglite') {
    const file = embeddedPepperFile(config);
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // No other process writes here: the data-folder lock is held (src/storage/data-dir-lock.ts).
    const pepper = newPepper();
    await writePepperFile(file, pepper);
    logger.info({ file }, 'generated the API key pepper (keep this file with the data: without it no key works)');
    return pepper;
  }
  throw new ConfigError([
    'API_KEY_PEPPER: not set. With PostgreSQL the pepper (the secret behind every API key\'s lookup hash) comes from the environment, never the database. ' +
      'Create one with `openssl rand -base64 32` and set API_KEY_PEPPER=<it> in .env, or put it in a file and set API_KEY_PEPPER_FILE=<that file>. ' +
      'Every instance needs the same one; changing it later invalidates every key.',
  ]);
}
