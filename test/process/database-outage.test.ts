/**
 * PostgreSQL dropping every connection in the middle of an upload (a TCP proxy
 * between the server and the database is cut) used to end the process: a
 * checked-out connection had no 'error' listener ("uncaught error ... exiting"),
 * and the phone got an empty reply. Now the process lives on; the upload whose
 * archive had committed is answered 202 and finished by a worker once the
 * database is back, exactly once; an upload that could not be archived gets 503
 * with Retry-After and leaves nothing behind; /ready says the database is down
 * without saying where it is. An MQTT message arriving meanwhile stays
 * unacknowledged until it is archived, and is then processed.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { generateHaePayload } from '../../bench/generate.js';
import { createPostgres } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { testServices } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

const ADMIN = 'outage-admin-key-0123456789-abcdefghij';

describe.skipIf(!inject('postgresTemplate'))('PostgreSQL lost during an upload', () => {
  let server: ServerProcess | undefined;
  let proxy: TcpProxy | undefined;
  let direct: pg.Client | undefined;
  let publisher: MqttClient | undefined;
  afterAll(async () => {
    await publisher?.endAsync();
    await server?.stop('SIGKILL');
    await proxy?.close();
    await direct?.end();
  });

  it('does not end the process: the archived upload is answered 202 and finished once the database is back, the unarchived one 503', async () => {
    const { db, url } = await createPostgres();
    await db.close();
    direct = new pg.Client({ connectionString: url });
    await direct.connect();
    proxy = await startTcpProxy(url);
    const topic = `outage-${randomBytes(4).toString('hex')}`;
    server = await startServerProcess({
      MQTT_URL: testServices.mqttUrl ?? 'mqtt://127.0.0.1:1883',
      MQTT_TOPIC: `${topic}/+`,
      MQTT_CLIENT_ID: topic,
      DATABASE_URL: proxy.url,
      API_KEY_PEPPER: 'outage-test-pepper-0123456789',
      ADMIN_API_KEY: ADMIN,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      INGEST_SYNC_BUDGET_MS: '120000',
      INGEST_LEASE_SECONDS: '5',
      INGEST_POLL_INTERVAL_MS: '200',
      BATCH_CHUNK_SIZE: '500',
      BATCH_MAX_RETRIES: '2',
      BATCH_MAX_BACKOFF_MS: '200',
    });
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const keyId = ((await (await fetch(`${server.url}/api/v1/auth/keys`, { headers })).json()) as any).items[0].id as string;
    publisher = await connectAsync(testServices.mqttUrl ?? 'mqtt://127.0.0.1:1883');
    const { payload, samples } = generateHaePayload({ samples: 100_000, seed: 5 });
    const upload = fetch(`${server.url}/api/v1/ingest`, { method: 'POST', headers, body: JSON.stringify(payload) });

    // Cut the database while the upload is being written: archived, and some rows in.
    await until('the first rows', async () => {
      const { rows } = await direct!.query<{ n: number }>('SELECT count(*)::int AS n FROM heart_rate_samples');
      return rows[0]!.n > 0 ? true : undefined;
    });
    proxy.refuse();

    const accepted = await upload;
    expect(accepted.status).toBe(202);
    const body = (await accepted.json()) as { id: string; status_url: string };
    expect(body.status_url).toBe(`/api/v1/ingestions/${body.id}`);
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    const readyText = await ready.text();
    expect(JSON.parse(readyText)).toEqual({ status: 'down', checks: { database: 'down', migrations: 'down', redis: 'off', mqtt: 'ok' } });
    expect(readyText).not.toContain(new URL(proxy.url).port);

    const refused = await fetch(`${server.url}/api/v1/ingest`, { method: 'POST', headers, body: JSON.stringify({ data: { metrics: [] } }) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as any).error.code).toBe('DATABASE_UNAVAILABLE');
    const read = await fetch(`${server.url}/api/v1/ingestions`, { headers });
    expect(read.status).toBe(503);
    expect(((await read.json()) as any).error.code).toBe('DATABASE_UNAVAILABLE');

    const message = { data: { metrics: [{ name: 'step_count', units: 'count', data: [{ date: '2024-05-01 10:00:00 +0000', qty: 42, source: 'mqtt' }] }] } };
    await publisher.publishAsync(`${topic}/${keyId}`, JSON.stringify(message), { qos: 1 });
    await sleep(500);
    expect(server.child.exitCode).toBeNull();

    proxy.restore();
    const done = await until('completion', async () => {
      const response = await fetch(`${server!.url}${body.status_url}`, { headers });
      if (response.status !== 200) return undefined;
      const status = (await response.json()) as any;
      return status.status === 'completed' || status.status === 'failed' ? status : undefined;
    });
    expect(done.status).toBe('completed');
    const c = done.counts;
    expect(c.received).toBe(samples);
    expect(c.rejected).toBe(0);
    // Rows written before the cut count as unchanged the second time: together, every sample once.
    expect(c.inserted + c.unchanged).toBe(samples);
    const heartRate = (payload.data.metrics as { name: string; data: unknown[] }[]).find((m) => m.name === 'heart_rate')!.data.length;
    expect((await direct.query('SELECT count(*)::int AS n FROM heart_rate_samples')).rows[0].n).toBe(heartRate);
    // The upload refused with 503 left nothing behind; the MQTT message is archived once and processed.
    const mqtt = await until('the MQTT message', async () => {
      const { rows } = await direct!.query("SELECT status, counts FROM raw_ingestions WHERE source = 'mqtt'");
      return rows.length > 0 && rows.every((row) => row.status === 'completed') ? rows : undefined;
    });
    expect(mqtt).toEqual([{ status: 'completed', counts: { received: 1, inserted: 1, updated: 0, unchanged: 0, rejected: 0 } }]);
    expect((await direct.query("SELECT count(*)::int AS n FROM raw_ingestions WHERE source = 'http'")).rows[0].n).toBe(1);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/uncaught/i);
    expect(server.output()).toMatch(/"database": "down"|not ready/);
  });
});
