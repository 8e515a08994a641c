/**
 * One database of each kind per test worker: PGlite takes seconds to start, so
 * it starts once; PostgreSQL gets a per-worker copy of the migrated template.
 * Each test file starts from an empty state via resetDatabase().
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import { createPgliteDatabase, createPostgresDatabase, type Database, type Queryable, type QueryOptions } from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrate.js';
import { forgetPartitions, PARTITIONED_TABLES } from '../../src/storage/partitions.js';
import { enablePostgis } from '../../src/storage/postgis.js';
import { adminUrl, testServices } from './services.js';

export type DatabaseKind = 'embedded' | 'postgres';

export const silent = pino({ level: 'silent' });

/** The kinds these tests run against: always embedded, PostgreSQL when configured. */
export function databaseKinds(): DatabaseKind[] {
  return inject('postgresTemplate') ? ['embedded', 'postgres'] : ['embedded'];
}

const opened = new Map<DatabaseKind, Promise<{ db: Database; postgis: boolean }>>();

export function workerDatabase(kind: DatabaseKind): Promise<{ db: Database; postgis: boolean }> {
  let database = opened.get(kind);
  if (!database) {
    database = kind === 'embedded' ? openEmbedded() : createPostgres();
    opened.set(kind, database);
  }
  return database;
}

async function openEmbedded() {
  const db = await createPgliteDatabase(undefined);
  const { postgis } = await migrate(db, silent);
  return { db, postgis };
}

/** A fresh PostgreSQL database copied from the migrated template; the caller closes it. */
export async function createPostgres(template = inject('postgresTemplate')): Promise<{ db: Database; postgis: boolean; url: string }> {
  if (!template || !testServices.databaseUrl) throw new Error('PostgreSQL is not configured for tests (TEST_DATABASE_URL)');
  const name = `${inject('databasePrefix')}${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(testServices.databaseUrl) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = adminUrl(testServices.databaseUrl, name);
  const db = createPostgresDatabase(
    { url, poolSize: 5, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'tests' },
    silent,
  );
  return { db, postgis: await enablePostgis(db, silent), url };
}

/** An empty, unmigrated PostgreSQL database (for migration tests); returns its URL. */
export async function createEmptyPostgres(): Promise<string> {
  if (!testServices.databaseUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `${inject('databasePrefix')}${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(testServices.databaseUrl) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return adminUrl(testServices.databaseUrl, name);
}

/**
 * Empties every table but the migration history and drops every monthly partition
 * (and this process's memory of them), so a test file starts as a new install does:
 * a file that writes a month must create its partition, not find another file's.
 */
export async function resetDatabase(db: Database): Promise<void> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname NOT IN ('schema_migrations', 'spatial_ref_sys')`,
  );
  await db.query(`TRUNCATE ${rows.map((row) => row.name).join(', ')} CASCADE`);
  const partitions = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = ANY($1::text[])`,
    [[...PARTITIONED_TABLES]],
  );
  if (partitions.rows.length > 0) await db.query(`DROP TABLE ${partitions.rows.map((row) => row.name).join(', ')}`);
  forgetPartitions(db);
}

/** Every table a sample can land in: after an ingestion each sample is in exactly one row of them. */
export const SAMPLE_TABLES = ['quantity_samples', 'heart_rate_samples', 'blood_pressure_samples', 'sleep_segments', 'sleep_nights', 'health_events', 'ecg_recordings', 'workouts'];

/** The rows of all the sample tables together. */
export async function sampleRowCount(db: Queryable): Promise<number> {
  const counts = await db.query<{ n: number }>(SAMPLE_TABLES.map((table) => `SELECT count(*)::int AS n FROM ${table}`).join(' UNION ALL '));
  return counts.rows.reduce((sum, row) => sum + row.n, 0);
}

/**
 * A database for a server process of each kind the tests run: its own fresh
 * PostgreSQL database (with the pepper PostgreSQL requires), or an empty
 * DATA_DIR for the embedded one. `read` opens it from the test once the server
 * has stopped (an embedded folder has one opener at a time).
 */
export function serverDatabases(tmpPrefix: string): { kind: DatabaseKind; env: () => Promise<Record<string, string>> }[] {
  return databaseKinds().map((kind) => ({
    kind,
    env: async (): Promise<Record<string, string>> => {
      if (kind === 'embedded') return { DATA_DIR: await mkdtemp(path.join(tmpdir(), tmpPrefix)) };
      const { db, url } = await createPostgres();
      await db.close();
      return { DATABASE_URL: url, API_KEY_PEPPER: 'process-test-pepper-0123456789' };
    },
  }));
}

export async function readServerDatabase<T>(env: Record<string, string>, read: (db: Queryable) => Promise<T>): Promise<T> {
  // Where the server keeps its embedded database inside DATA_DIR (src/storage/open.ts).
  const db = env.DATABASE_URL ? new pg.Client({ connectionString: env.DATABASE_URL }) : await createPgliteDatabase(path.join(env.DATA_DIR!, 'pgdata'));
  if (db instanceof pg.Client) await db.connect();
  try {
    return await read(db);
  } finally {
    await (db instanceof pg.Client ? db.end() : db.close());
  }
}

export interface StatementHooks {
  /** Before each statement, in a transaction or not; throwing fails that statement. */
  query?(text: string, params: unknown[]): void | Promise<void>;
  /** Before each COPY (chunks of COPY_MIN_ROWS rows or more). */
  copy?(table: string, columns: readonly string[], data: string): void;
  /** As each transaction begins. */
  transaction?(): void;
  /** After a transaction's work, before it commits. */
  beforeCommit?(): Promise<void>;
}

/**
 * The same database with hooks around what is sent to it, in or out of a
 * transaction: faults injected into one kind of statement, statements recorded,
 * a commit held back. Sample chunks and ingestion rows are written in transactions,
 * so a hook on `db.query` alone would miss them.
 */
export function hookedDatabase(db: Database, hooks: StatementHooks): Database {
  const hooked =
    (target: Queryable) =>
    async <R>(text: string, params?: unknown[], options?: QueryOptions) => {
      await hooks.query?.(text, params ?? []);
      return target.query<R>(text, params, options);
    };
  return {
    ...db,
    query: hooked(db),
    transaction: (fn) =>
      db.transaction(async (tx) => {
        hooks.transaction?.();
        const result = await fn({
          query: hooked(tx),
          copyFrom: (table, columns, data) => {
            hooks.copy?.(table, columns, data);
            return tx.copyFrom(table, columns, data);
          },
        });
        await hooks.beforeCommit?.();
        return result;
      }),
  };
}
