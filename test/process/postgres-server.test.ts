/**
 * The server against a real PostgreSQL: a fresh database is migrated once even
 * when two processes start together, PostGIS is switched on, and /ready says
 * which dependency failed while /health stays up.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createEmptyPostgres } from '../helpers/databases.js';
import { runProcess, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

describe.skipIf(!inject('postgresTemplate'))('the server on PostgreSQL', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  });

  it('migrates a fresh database once when two servers start at the same moment, with PostGIS on', async () => {
    const url = await createEmptyPostgres();
    const started = await Promise.all([startServerProcess({ DATABASE_URL: url }), startServerProcess({ DATABASE_URL: url })]);
    servers.push(...started);
    for (const server of started) {
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
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
    const server = await startServerProcess({ DATABASE_URL: proxy.url, DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    servers.push(server);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);

    proxy.refuse();
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    const text = await ready.text();
    expect(JSON.parse(text)).toEqual({ status: 'down', checks: { database: 'down', migrations: 'down', redis: 'off', mqtt: 'off' } });
    // /ready has no key: it showed the database's host and port to anyone.
    expect(text).not.toContain(new URL(proxy.url).port);
    expect(server.output()).toContain('not ready');
    expect(server.output()).toContain(new URL(proxy.url).port);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    proxy.restore();
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    await proxy.close();
  });
});

describe('start-up with bad configuration', () => {
  it('stops with a message naming PORT', async () => {
    const result = await runProcess(['src/main.ts'], { PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT="eighty"/);
  });

  it('stops with a message naming DATABASE_URL and every other bad variable at once', async () => {
    const result = await runProcess(['src/main.ts'], { DATABASE_URL: 'mysql://localhost/x', VALIDATION_HEART_RATE_MAX: '500' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DATABASE_URL="mysql:\/\/localhost\/x": must be a URL starting with postgres:/);
    expect(result.stderr).toMatch(/VALIDATION_HEART_RATE_MAX="500"/);
  });
});
