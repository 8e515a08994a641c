/**
 * Applies the numbered SQL files in migrations/ in order, once each. An advisory
 * lock makes a second process that starts at the same moment wait instead of
 * migrating too; a checksum per file refuses to run against an edited history.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Database } from './database.js';
import { enablePostgis } from './postgis.js';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
const LOCK_ID = 4_242_001; // any constant shared by every process of this service

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * The files are part of the deployed code, so they are read and hashed once per
 * process, not on every /ready probe.
 */
const loaded = new Map<string, Promise<MigrationFile[]>>();

export function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  let files = loaded.get(dir);
  if (!files) {
    files = loadMigrations(dir);
    loaded.set(dir, files);
    files.catch(() => loaded.delete(dir));
  }
  return files;
}

async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => /^\d+_.+\.sql$/.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export interface MigrationOutcome {
  applied: string[];
  postgis: boolean;
}

export async function migrate(db: Database, logger: Logger, dir = MIGRATIONS_DIR): Promise<MigrationOutcome> {
  const files = await readMigrations(dir);
  const applied = await db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    try {
      await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Map(
        (await session.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map(
          (row) => [row.name, row.checksum],
        ),
      );
      checkHistory(files, done);
      const pending = files.filter((file) => !done.has(file.name));
      for (const file of pending) {
        logger.info({ migration: file.name }, 'applying migration');
        // One transaction per file: a failed file leaves no half-applied schema.
        await session.exec(`BEGIN;\n${file.sql}\n;INSERT INTO schema_migrations (name, checksum) VALUES ('${file.name}', '${file.checksum}');\nCOMMIT;`).catch(async (error: unknown) => {
          await session.exec('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}`);
        });
      }
      return pending.map((file) => file.name);
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
    }
  });
  const postgis = await enablePostgis(db, logger);
  return { applied, postgis };
}

/** Pending migrations, or a MigrationError if the applied history differs from the files. */
export async function pendingMigrations(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readMigrations(dir);
  const exists = await db.query<{ ok: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok");
  if (!exists.rows[0]?.ok) return files.map((file) => file.name);
  const done = new Map(
    (await db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map((row) => [
      row.name,
      row.checksum,
    ]),
  );
  checkHistory(files, done);
  return files.filter((file) => !done.has(file.name)).map((file) => file.name);
}

function checkHistory(files: MigrationFile[], done: Map<string, string>): void {
  const byName = new Map(files.map((file) => [file.name, file]));
  for (const [name, checksum] of done) {
    const file = byName.get(name);
    if (!file) throw new MigrationError(`migration ${name} was applied but its file is missing from migrations/`);
    if (file.checksum !== checksum) {
      throw new MigrationError(`migration ${name} was edited after it was applied (checksum differs); add a new migration instead`);
    }
  }
}
