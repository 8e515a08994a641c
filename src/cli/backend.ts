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

export interface CallOptions {
  /** Another key than ADMIN_API_KEY (one minted for a user, for routes that act only on the caller's own data). */
  key?: string;
  headers?: Record<string, string>;
  /** Called as the body is handed to the connection, with the bytes sent so far. */
  onSent?: (bytes: number) => void;
}

export interface Remote {
  mode: 'remote';
  owner: LockOwner;
  /** Calls the running server's API with the admin key (`body`: JSON, a Buffer, or a stream of Buffers); throws a CliError with the server's message on 4xx/5xx. */
  call<T>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<T>;
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
    async call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}) {
      if (!owner.url) throw refuse('it has not started listening yet');
      if (!config.auth.adminApiKey) throw refuse('ADMIN_API_KEY is not set');
      const key = options.key ?? config.auth.adminApiKey;
      const streamed = isStream(body);
      const raw = Buffer.isBuffer(body);
      const payload = body === undefined || streamed ? undefined : raw ? body : Buffer.from(JSON.stringify(body));
      let response: Response;
      try {
        response = await fetch(new URL(path, owner.url), {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...options.headers,
          },
          ...(streamed
            ? { body: sent(body, options.onSent), duplex: 'half' }
            : payload && options.onSent
              ? { body: counted(payload, options.onSent), duplex: 'half' }
              : { body: payload }),
        } as RequestInit);
      } catch (error) {
        const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
        throw new CliError(`cannot reach the server at ${owner.url} (pid ${owner.pid}): ${cause}`);
      }
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // Not the API's JSON (a proxy's page, say): the status and the text say what happened.
      }
      if (!response.ok) {
        const message = (parsed as { error?: { message?: string } } | null)?.error?.message ?? text.slice(0, 200);
        throw new CliError(`the server answered ${response.status}: ${message}`);
      }
      return parsed as T;
    },
  };
}

const CHUNK_BYTES = 256 * 1024;

/** The body as a stream of chunks, reporting each one handed over (for the progress line). */
function counted(body: Buffer, onSent: (bytes: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= body.length) return controller.close();
      const chunk = body.subarray(offset, offset + CHUNK_BYTES);
      offset += chunk.length;
      controller.enqueue(chunk);
      onSent(offset);
    },
  });
}

function isStream(body: unknown): body is AsyncIterable<Buffer> {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && Symbol.asyncIterator in body;
}

/** A streamed body (a file too large to hold: an Apple Health export), reporting the bytes handed over. */
async function* sent(body: AsyncIterable<Buffer>, onSent: (bytes: number) => void = () => undefined): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of body) {
    yield chunk;
    bytes += chunk.length;
    onSent(bytes);
  }
}

/** For commands that cannot go through the API. */
export function refuseRemote(backend: Remote, command: string): never {
  throw new CliError(
    `the embedded database is in use by the server (pid ${backend.owner.pid}); \`${command}\` needs the database itself: stop the server first`,
  );
}
