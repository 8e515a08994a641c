/**
 * Opens the database the configuration names: PostgreSQL when DATABASE_URL is
 * set, otherwise the embedded PGlite folder, guarded by the data-folder lock so
 * that nothing ever opens it twice.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { createPgliteDatabase, createPostgresDatabase, type Database } from './database.js';

export interface OpenedDatabase {
  db: Database;
  /** Held while the embedded database is open (null with PostgreSQL). */
  lock: DataDirLock | null;
  /** Human-readable: where the data lives. */
  location: string;
}

export async function openDatabase(config: Config, logger: Logger, role = 'server'): Promise<OpenedDatabase> {
  const { database } = config;
  if (database.url) {
    const db = createPostgresDatabase(
      {
        url: database.url,
        poolSize: database.poolSize,
        connectTimeoutMs: database.connectTimeoutMs,
        statementTimeoutMs: database.statementTimeoutMs,
        applicationName: `health-export-api ${role} ${hostname()}`.slice(0, 63),
      },
      logger,
    );
    const url = new URL(database.url);
    return { db, lock: null, location: `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}` };
  }
  const dataDir = path.resolve(database.dataDir);
  const lock = await acquireDataDirLock(dataDir);
  try {
    const db = await createPgliteDatabase(path.join(dataDir, 'pgdata'));
    return { db, lock, location: `embedded PostgreSQL (PGlite) in ${dataDir}` };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
