/**
 * The local services the benchmark runs against, and a database of its own on
 * PostgreSQL (hea_bench_<random>), created for the run and dropped after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { adminUrl } from '../../test/helpers/services.js';

export const SERVICES = {
  /** Any database on the server; the benchmark creates its own next to it. */
  postgresUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
};

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `hea_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(SERVICES.postgresUrl) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: adminUrl(SERVICES.postgresUrl, name),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl(SERVICES.postgresUrl) });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A scratch folder for an embedded database, removed by `drop`. */
export async function createDataDir(): Promise<{ dir: string; drop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hea-bench-'));
  return { dir, drop: () => rm(dir, { recursive: true, force: true }) };
}

let logs: string | null = null;

/**
 * A file for one server's output. Servers write to files, not to pipes read by
 * this process: while autocannon keeps this process busy, a pipe would fill up
 * and hold the server's synchronous log writes, which no real deployment does.
 */
export function logFile(name: string): string {
  logs ??= mkdtempSync(path.join(tmpdir(), 'hea-bench-logs-'));
  return path.join(logs, `${name}-${Date.now()}.log`);
}

/** Removes the server logs of a run that went well (a failed run keeps them and says where). */
export async function removeLogs(): Promise<string | null> {
  const dir = logs;
  logs = null;
  if (dir) await rm(dir, { recursive: true, force: true });
  return dir;
}

export const logsFolder = () => logs;
