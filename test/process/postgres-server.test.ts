/**
 * The server against a real PostgreSQL: a fresh database is migrated and the
 * ADMIN_API_KEY registered once even when two processes start together, PostGIS
 * is switched on, start-up stops without a pepper, and /ready says which
 * dependency failed while /health stays up.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createEmptyPostgres } from '../helpers/databases.js';
import { until } from '../helpers/until.js';
import { START, runProcess, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** PostgreSQL installs must set the pepper (it is never kept in the database). */
const PEPPER = 'postgres-server-pepper-0123456789';
const ADMIN = 'postgres-server-admin-key-0123456789-abc';

describe.skipIf(!inject('postgresTemplate'))('the server on PostgreSQL', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  });

  it('migrates a fresh database and registers ADMIN_API_KEY once when two servers start at the same moment, with PostGIS on', async () => {
    const url = await createEmptyPostgres();
    const env = { DATABASE_URL: url, API_KEY_PEPPER: PEPPER, ADMIN_API_KEY: ADMIN };
    const started = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    servers.push(...started);
    for (const server of started) {
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
      const keys = await fetch(`${server.url}/api/v1/auth/keys`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(keys.status).toBe(200);
      expect(((await keys.json()) as { items: unknown[] }).items).toHaveLength(1);
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const applied = await client.query('SELECT name, count(*)::int AS n FROM schema_migrations GROUP BY name');
    expect(applied.rows.length).toBeGreaterThanOrEqual(3);
    for (const row of applied.rows) expect(row.n).toBe(1);
    const geometry = await client.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'workouts' AND column_name = 'route'");
    expect(geometry.rowCount).toBe(1);
    await client.end();
    expect(started.filter((s) => s.output().includes('applying migration')).length).toBe(1);
  });

  it('reports the database down on /ready (503, naming only the check; where it is goes to the log) while /health stays 200', async () => {
    const proxy = await startTcpProxy(await createEmptyPostgres());
    const server = await startServerProcess({ DATABASE_URL: proxy.url, API_KEY_PEPPER: PEPPER, DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    servers.push(server);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);

    proxy.refuse();
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    const text = await ready.text();
    expect(JSON.parse(text)).toEqual({ status: 'down', checks: { database: 'down', migrations: 'down', redis: 'off', mqtt: 'off' } });
    // /ready has no key: it showed the database's host and port to anyone.
    expect(text).not.toContain(new URL(proxy.url).port);
    // The log line is written after the answer, and under load may reach the pipe after it.
    await until('the log to say why it is not ready', async () => server.output().includes('not ready'));
    expect(server.output()).toContain(new URL(proxy.url).port);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    proxy.restore();
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    await proxy.close();
  });
});

describe('start-up with bad configuration', () => {
  it('stops with a message naming PORT', async () => {
    const result = await runProcess(START, { PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT="eighty"/);
  });

  it('stops at start-up without API_KEY_PEPPER, saying how to create one, and stores no pepper in the database', async () => {
    const url = await createEmptyPostgres();
    const result = await runProcess(START, { DATABASE_URL: url });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/API_KEY_PEPPER: not set.*openssl rand -base64 32.*API_KEY_PEPPER_FILE/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const stored = await client.query("SELECT 1 FROM settings WHERE name = 'api_key_pepper'");
    await client.end();
    expect(stored.rowCount).toBe(0);
  });

  it('stops with a message naming DATABASE_URL and every other bad variable at once', async () => {
    const result = await runProcess(START, { DATABASE_URL: 'mysql://localhost/x', VALIDATION_HEART_RATE_MAX: '500' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DATABASE_URL="mysql:\/\/localhost\/x": must be a URL starting with postgres:/);
    expect(result.stderr).toMatch(/VALIDATION_HEART_RATE_MAX="500"/);
  });
});
