/**
 * One SQL code path for both ways to run: a `pg` pool against PostgreSQL, or an
 * embedded PGlite database in a folder. Everything above this file sees only
 * `Database`. Timestamps go in as ISO strings, bigints come out cast to int in SQL.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from 'pino';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Names the statement so that PostgreSQL parses it once per connection and can
   * keep its plan (a statement run thousands of times with new parameters); one
   * name, one text. PGlite ignores it.
   */
  name?: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
}

/** One transaction on one connection: statements, and rows streamed in by COPY. */
export interface Transaction extends Queryable {
  /**
   * `COPY table (columns) FROM STDIN` in text format, `data` its input (lines of
   * tab-separated fields); resolves with the rows copied. PGlite reads it as a blob.
   */
  copyFrom(table: string, columns: readonly string[], data: string): Promise<number>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs `fn` on one session (advisory locks are per session). */
  withSession<T>(fn: (session: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
  /** Connections open, idle, waited for, and the most the pool opens (pg; PGlite has one). */
  poolState(): { total: number; idle: number; waiting: number; max: number };
  /**
   * Tells `listener` how long each query or transaction waited for a pool connection,
   * in seconds (pg only: PGlite has no pool); returns the function that stops it.
   */
  onPoolWait(listener: (seconds: number) => void): () => void;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
}

export function createPostgresDatabase(options: PostgresOptions, logger: Logger): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs || undefined,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // A dropped idle connection emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));

  const waitListeners = new Set<(seconds: number) => void>();
  // Every statement goes through session(), so the wait for a connection is measured in one place.
  const session = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const asked = performance.now();
    const client = await pool.connect();
    if (waitListeners.size > 0) {
      const seconds = (performance.now() - asked) / 1000;
      for (const listener of waitListeners) listener(seconds);
    }
    // The pool listens for errors only on idle connections. A connection lost during a
    // query also fails that query, which is how the caller learns of it; the 'error'
    // event itself, unheard, would end the process ("uncaught error ... exiting").
    let broken: Error | undefined;
    const lost = (error: Error) => {
      broken = error;
      logger.warn({ err: error }, 'database connection lost during a query');
    };
    client.on('error', lost);
    try {
      return await fn(client);
    } catch (error) {
      broken ??= isConnectionError(error) ? (error as Error) : undefined;
      throw error;
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  };
  const wrap = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: unknown[], options?: QueryOptions) {
      const result = await client.query({ text, values: params, name: options?.name });
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
  });

  return {
    kind: 'postgres',
    query: <R>(text: string, params?: unknown[], options?: QueryOptions) => session((client) => wrap(client).query<R>(text, params, options)),
    transaction: (fn) =>
      session(async (client) => {
        await client.query('BEGIN');
        try {
          const result = await fn({
            ...wrap(client),
            async copyFrom(table, columns, data) {
              const copy = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
              await pipeline(Readable.from([data]), copy);
              return copy.rowCount;
            },
          });
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    withSession: (fn) =>
      session((client) =>
        fn({
          ...wrap(client),
          exec: async (sql) => {
            await client.query(sql);
          },
        }),
      ),
    poolState: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: options.poolSize }),
    onPoolWait: (listener) => {
      waitListeners.add(listener);
      return () => void waitListeners.delete(listener);
    },
    close: () => pool.end(),
  };
}

/**
 * PGlite's defaults cost an idle embedded server 868 to 913 MB of RSS; these
 * settings bring it to 260 to 320 MB (measured with `npm start` on a new data
 * folder and on restarts, 2-core machine under load; docs/operations.md#sizing).
 * Where it went:
 *
 * - Creating a new folder runs initdb in a second PGlite instance inside
 *   `PGlite.create`; that instance, its WebAssembly memory and initdb's stay
 *   garbage the server never collects while idle (a bare `PGlite.create()` on a
 *   new folder: 767 MB, on an existing one: 290 MB). A short child process
 *   creates the folder instead, and takes that memory with it when it exits.
 * - shared_buffers: PGlite keeps PostgreSQL's 128 MB, which grows its heap to
 *   188 MB and is mostly touched; 16 MB keeps the heap at its 128 MB minimum
 *   (`initialMemory` can only raise it) and an existing folder opens at 191 MB
 *   instead of 314 MB. The files sit in the OS page cache anyway, and ingest
 *   throughput was the same within the noise of a loaded machine (100,000
 *   samples: 3,023 and 3,434/s against 2,919 and 2,881/s; 500,000: 3,882 and
 *   3,147/s against 3,332 and 3,248/s, runs alternated). The cache can now keep
 *   at most 16 MB of the memory a large upload adds, instead of 128 MB.
 *   wal_buffers follows it (1/32); work_mem and the others are only touched
 *   while a statement needs them.
 */
const EMBEDDED_START_PARAMS = ['-c', 'shared_buffers=16MB'];

/** Opens PGlite with the server's settings, creating the folder first if it is new (also used by the benchmark's ceiling). */
export async function openPglite(dataDir: string | undefined) {
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, ...EMBEDDED_START_PARAMS];
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const module = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const script = 'require(process.argv[1]).PGlite.create({ dataDir: process.argv[2], startParams: JSON.parse(process.argv[3]) }).then((db) => db.close())';
    try {
      await promisify(execFile)(process.execPath, ['-e', script, module, dataDir, JSON.stringify(startParams)]);
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`could not create the embedded database in ${dataDir}: ${stderr?.trim() || (error as Error).message}`);
    }
  }
  return PGlite.create({ ...(dataDir ? { dataDir } : {}), startParams });
}

export async function createPgliteDatabase(dataDir: string | undefined): Promise<Database> {
  const db = await openPglite(dataDir);
  const wrap = (target: { query: typeof db.query }): Queryable => ({
    async query<R>(text: string, params?: unknown[]) {
      const result = await target.query<R>(text, params);
      return { rows: result.rows, rowCount: result.rows.length || (result.affectedRows ?? 0) };
    },
  });
  return {
    kind: 'pglite',
    ...wrap(db),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          ...wrap(tx),
          async copyFrom(table, columns, data) {
            const result = await tx.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob([data]) });
            return result.affectedRows ?? 0;
          },
        }),
      ),
    withSession: (fn) => fn({ ...wrap(db), exec: async (sql) => void (await db.exec(sql)) }),
    poolState: () => ({ total: 1, idle: 1, waiting: 0, max: 1 }),
    onPoolWait: () => () => undefined,
    close: () => db.close(),
  };
}

/** Errors worth retrying: serialisation failure, deadlock, lost or refused connection. */
export function isTransientError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01' || code === '57P01' || isConnectionError(error);
}

/**
 * The database cannot be reached or is not taking work (connection lost or refused,
 * shutting down, starting up, out of connections): the request may succeed later.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return isConnectionError(error) || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code ?? '';
  const message = (error as Error | null)?.message ?? '';
  return (
    code.startsWith('08') ||
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message)
  );
}
