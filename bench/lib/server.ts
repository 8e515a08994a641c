/**
 * The server as a user runs it: a separate process started with environment
 * variables (test/helpers/process.ts), talked to over HTTP with API keys created
 * through the admin API. The pid is the server's own (tsx runs it in a child), so
 * its memory and CPU can be read from /proc.
 */
import { request as httpRequest } from 'node:http';
import { startServerProcess, type ServerProcess, type StartOptions } from '../../test/helpers/process.js';
import { logFile, SERVICES } from './services.js';

export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

/** Settings every benchmarked server gets: the POST waits for the end of processing, and no limit gets in the way. */
export const BENCH_ENV: Record<string, string> = {
  ADMIN_API_KEY: ADMIN_KEY,
  // PostgreSQL installs must set one (it is never kept in the database).
  API_KEY_PEPPER: 'bench-pepper-0123456789abcdef',
  INGEST_SYNC_BUDGET_MS: '600000',
  DATABASE_STATEMENT_TIMEOUT_MS: '0',
  // A 95 MB upload to the embedded database takes minutes on a loaded machine: the connection must outlive it.
  REQUEST_TIMEOUT_SECONDS: '3600',
  // Read by the rate limiter (issue 5) once merged; unknown variables are ignored until then.
  RATE_LIMIT_REQUESTS_PER_HOUR: '10000000',
  RATE_LIMIT_IP_REQUESTS_PER_HOUR: '10000000',
  RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: '10000000',
  KEY_CREATIONS_PER_USER_PER_HOUR: '10000000',
};

export type DatabaseKind = 'postgres' | 'embedded';

export interface Target {
  kind: DatabaseKind;
  /** DATABASE_URL for postgres, DATA_DIR for embedded. */
  location: string;
}

export function targetEnv(target: Target): Record<string, string> {
  return target.kind === 'postgres'
    ? { DATABASE_URL: target.location, REDIS_URL: SERVICES.redisUrl }
    : { DATA_DIR: target.location };
}

export interface BenchServer {
  process: ServerProcess;
  url: string;
  pid: number;
  /** A new user and an API key for it (ingest and read scopes). */
  newKey(label: string): Promise<{ userId: string; key: string }>;
  stop(): Promise<void>;
}

export async function startBenchServer(target: Target, env: Record<string, string> = {}, options: StartOptions = {}): Promise<BenchServer> {
  const server = await startServerProcess({ ...BENCH_ENV, ...targetEnv(target), ...env }, 120_000, { logFile: logFile(`server-${target.kind}`), ...options });
  let users = 0;
  return {
    process: server,
    url: server.url,
    pid: server.pid,
    async newKey(label) {
      users += 1;
      const email = `bench-${label}-${Date.now()}-${users}@example.com`;
      const user = (await call(server.url, 'POST', '/api/v1/admin/users', { email })) as { id: string };
      const key = (await call(server.url, 'POST', '/api/v1/auth/keys', { name: label, scopes: ['ingest', 'read'], user_id: user.id })) as { key: string };
      return { userId: user.id, key: key.key };
    },
    async stop() {
      const code = await server.stop();
      if (code !== 0 && code !== null) throw new Error(`server exited with ${code}:\n${server.output().slice(-2000)}`);
    },
  };
}

/**
 * One HTTP request on a connection of its own. A kept-alive connection can be
 * closed by the server while this process is busy elsewhere (the embedded
 * ceiling runs PGlite here, blocking the event loop for seconds), and a POST
 * sent on it then fails; a fresh connection on localhost costs a fraction of a
 * millisecond.
 */
export function request(url: string, options: { method: string; headers: Record<string, string>; body?: Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function call(base: string, method: string, path: string, body: unknown): Promise<unknown> {
  const response = await request(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
  return JSON.parse(response.text);
}

export interface Upload {
  status: number;
  ms: number;
  body: { status?: string; counts?: { received: number; inserted: number; updated: number; unchanged: number; rejected: number } | null; error?: unknown };
}

/** POSTs a body to /api/v1/ingest and times it to the response. */
export async function upload(url: string, key: string, body: Buffer): Promise<Upload> {
  const started = performance.now();
  const response = await request(`${url}/api/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
  });
  const ms = performance.now() - started;
  return { status: response.status, ms, body: JSON.parse(response.text) as Upload['body'] };
}

/** Throws unless the upload completed with every sample stored as new (what a fresh user's upload must do). */
export function checkCompleted(result: Upload, samples: number): void {
  const counts = result.body.counts;
  const problem =
    result.status !== 200 ? `HTTP ${result.status}` :
    result.body.status !== 'completed' ? `status ${result.body.status}` :
    !counts ? 'no counts' :
    counts.received !== samples ? `received ${counts.received}, sent ${samples}` :
    counts.inserted + counts.updated + counts.unchanged + counts.rejected !== samples ? 'counts do not add up' :
    counts.rejected !== 0 ? `${counts.rejected} rejected` :
    null;
  if (problem) throw new Error(`ingestion did not complete as expected (${problem}): ${JSON.stringify(result.body).slice(0, 500)}`);
}
