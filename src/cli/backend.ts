/**
 * What CLI commands act on. Against PostgreSQL, or an embedded folder no server
 * holds, the CLI opens the database itself. When a running server holds the
 * embedded folder, commands go through that server's API with ADMIN_API_KEY, or
 * refuse naming the server's pid: nothing ever opens the folder twice.
 */
import pino, { type Logger } from 'pino';
import type { KeyService } from '../auth/key-service.js';
import type { Config } from '../config/config.js';
import type { IngestService } from '../ingest/service.js';
import { createServices } from '../services.js';
import { DataDirLockedError, type LockOwner } from '../storage/data-dir-lock.js';
import type { Database } from '../storage/database.js';
import type { ErasureService } from '../storage/erasure.js';
import { migrate, pendingMigrations } from '../storage/migrate.js';
import { openDatabase } from '../storage/open.js';
import { ensureUpcomingPartitions } from '../storage/partitions.js';
import { enablePostgis } from '../storage/postgis.js';

export interface Local {
  mode: 'local';
  db: Database;
  keys: KeyService;
  ingest: IngestService;
  erasure: ErasureService;
  logger: Logger;
}

export interface Remote {
  mode: 'remote';
  owner: LockOwner;
  /** Calls the running server's API with the admin key; throws with the server's message on 4xx/5xx. */
  call<T>(method: string, path: string, body?: unknown, key?: string, headers?: Record<string, string>): Promise<T>;
}

export class CliError extends Error {
  override name = 'CliError';
}

export async function withBackend<T>(config: Config, run: (backend: Local | Remote) => Promise<T>): Promise<T> {
  const logger = pino({ level: config.log.level === 'info' ? 'warn' : config.log.level }, pino.destination(2));
  let opened;
  try {
    opened = await openDatabase(config, logger, 'cli');
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    return run(remote(config, error));
  }
  const { db, lock } = opened;
  try {
    const pending = await pendingMigrations(db);
    const postgis = pending.length > 0 ? (await migrate(db, logger)).postgis : await enablePostgis(db, logger);
    await ensureUpcomingPartitions(db);
    const { keys, ingest, erasure } = await createServices(config, { db, logger, postgis });
    await keys.bootstrap();
    try {
      return await run({ mode: 'local', db, keys, ingest, erasure, logger });
    } finally {
      await ingest.stop();
    }
  } finally {
    await db.close();
    await lock?.release();
  }
}

function remote(config: Config, locked: DataDirLockedError): Remote {
  const { owner } = locked;
  const refuse = (why: string) =>
    new CliError(`${locked.message}; ${why}. Stop that server (pid ${owner.pid}) or set ADMIN_API_KEY so the CLI can use its API.`);
  return {
    mode: 'remote',
    owner,
    async call<T>(method: string, path: string, body?: unknown, key = config.auth.adminApiKey, headers: Record<string, string> = {}) {
      if (!owner.url) throw refuse('it has not started listening yet');
      if (!key) throw refuse('ADMIN_API_KEY is not set');
      const response = await fetch(new URL(path, owner.url), {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : null;
      if (!response.ok) {
        const message = (parsed as { error?: { message?: string } } | null)?.error?.message ?? text;
        throw new CliError(`the server answered ${response.status}: ${message}`);
      }
      return parsed as T;
    },
  };
}

/** For commands that cannot go through the API. */
export function refuseRemote(backend: Remote, command: string): never {
  throw new CliError(
    `the embedded database is in use by the server (pid ${backend.owner.pid}); \`${command}\` needs the database itself: stop the server first`,
  );
}
