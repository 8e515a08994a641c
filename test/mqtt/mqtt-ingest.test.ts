/**
 * MQTT intake against the real Mosquitto: every message archived (acknowledged
 * only after that), processed like an HTTP upload, and the persistent session
 * keeping QoS 1 messages while the server is away. Each run uses its own topic
 * prefix and client id, so parallel runs and the shared broker do not interfere.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Database } from '../../src/storage/database.js';
import { UNCLAIMED_USER } from '../../src/storage/repositories/users.js';
import { ADMIN_KEY, createTestApp, TEST_ENV, type TestApp } from '../helpers/app.js';
import { databaseKinds, hookedDatabase, silent, workerDatabase, type DatabaseKind } from '../helpers/databases.js';
import { FIXTURES_DIR, readFixture } from '../helpers/fixtures.js';
import { scrape, total } from '../helpers/prometheus.js';
import { testServices } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

const BROKER = testServices.mqttUrl ?? 'mqtt://127.0.0.1:1883';
const MAX_MB = 2;
const FIXTURES = readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json')).sort();

type Ingestion = { id: string; status: string; source: string; topic: string | null; counts: any; by_type: any; error: { code: string } | null; sha256: string | null; size_bytes: number };

/** A small HAE payload whose one step sample is unique to `n`, so no two are duplicates. */
const steps = (n: number) =>
  JSON.stringify({ data: { metrics: [{ name: 'step_count', units: 'count', data: [{ date: `2024-05-01 10:${String(n % 60).padStart(2, '0')}:00 +0000`, qty: 100 + n, source: `mqtt-test-${n}` }] }] } });

function mqttEnv(prefix: string, clientId: string, url = BROKER) {
  return { MQTT_URL: url, MQTT_TOPIC: `${prefix}/+`, MQTT_CLIENT_ID: clientId, MQTT_MAX_MESSAGE_MB: String(MAX_MB), INGEST_WORKERS: '1', INGEST_POLL_INTERVAL_MS: '50' };
}

async function ingestions(t: TestApp, key: string, userId?: string): Promise<Ingestion[]> {
  const query = userId ? `?user_id=${userId}&limit=1000` : '?limit=1000';
  const response = await t.app.inject({ url: `/api/v1/ingestions${query}`, headers: { authorization: `Bearer ${key}` } });
  return (response.json().items as Ingestion[]).reverse();
}

/** The first `n` ingestions of a user, oldest first, once all of them have finished. */
const finished = (t: TestApp, key: string, n: number, userId?: string) =>
  until(`${n} finished ingestions`, async () => {
    const items = await ingestions(t, key, userId);
    return items.length >= n && items.every((i) => i.status === 'completed' || i.status === 'failed') && items.slice(0, n);
  });

const ready = async (t: TestApp) => (await t.app.inject({ url: '/ready' })).json();
const connected = (t: TestApp) => until('the subscriber to connect and subscribe', async () => (await ready(t)).checks.mqtt === 'ok');

async function startApp(kind: DatabaseKind, env: Record<string, string>, reset = true): Promise<TestApp> {
  const t = await createTestApp(kind, { env, reset });
  t.app.services.ingest.start();
  t.app.services.mqtt!.start();
  return t;
}

async function stopApp(t: TestApp): Promise<void> {
  await t.app.services.mqtt?.stop();
  await t.close();
}

/** The same database, with `hook` run before each write of an ingestion row (written in a transaction, with the duplicate check). */
const beforeArchiveWrite = (db: Database, hook: () => Promise<void>): Database =>
  hookedDatabase(db, { query: (text) => (text.includes('INSERT INTO raw_ingestions') ? hook() : undefined) });

/** Ends the broker's session for this client id, so test runs leave nothing behind. */
async function forgetSession(clientId: string): Promise<void> {
  const client = await connectAsync(BROKER, { clientId, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
  await client.endAsync();
}

describe.skipIf(!inject('mqttAvailable')).each(databaseKinds())('MQTT ingestion (%s database)', (kind) => {
  const run = `hea-test-${randomBytes(4).toString('hex')}-${kind}`;
  const env = mqttEnv(run, run);
  let t: TestApp;
  let publisher: MqttClient;
  /** Each test publishes for an owner of its own and counts only that owner's ingestions. */
  let owner: { userId: string; key: string; keyId: string };
  let owners = 0;
  const publish = (keyId: string, payload: string | Buffer) => publisher.publishAsync(`${run}/${keyId}`, payload, { qos: 1 });

  beforeAll(async () => {
    t = await startApp(kind, env);
    publisher = await connectAsync(BROKER, { clientId: `${run}-pub`, reconnectPeriod: 0 });
    await connected(t);
  });
  afterAll(async () => {
    await publisher?.endAsync();
    if (t) await stopApp(t);
    await forgetSession(run);
  });
  beforeEach(async () => {
    owner = await t.userWithKey(`mqtt-${kind}-${(owners += 1)}@example.com`, ['ingest', 'read']);
  });

  it('reports the connection as ok on /ready', async () => {
    const response = await t.app.inject({ url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', checks: { mqtt: 'ok' } });
  });

  it('stores each fixture published on a key topic with the same counts as posting it over HTTP', async () => {
    const http = await t.userWithKey(`http-${kind}@example.com`, ['ingest', 'read']);
    let count = 0;
    for (const name of FIXTURES) {
      const posted = (await t.ingest(readFixture(name), http.key)).json() as Ingestion;
      await publish(owner.keyId, readFixture(name));
      count += 1;
      const viaHttp = (await finished(t, http.key, count)).find((i) => i.id === posted.id)!;
      const viaMqtt = (await finished(t, owner.key, count)).at(-1)!;
      expect(viaHttp.status, name).toBe('completed');
      expect(viaMqtt, name).toMatchObject({ status: 'completed', source: 'mqtt', topic: `${run}/${owner.keyId}` });
      expect(viaMqtt.counts, name).toEqual(viaHttp.counts);
      expect(viaMqtt.by_type, name).toEqual(viaHttp.by_type);
    }
  }, 180_000);

  it('archives garbage, an unknown key, a revoked key, a read-only key and an oversize message as failed, and stores the next valid message', async () => {
    const revoked = await t.userWithKey(`revoked-${kind}@example.com`, ['ingest']);
    await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/keys/${revoked.keyId}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const readOnly = await t.userWithKey(`reader-${kind}@example.com`, ['read']);
    const unknown = randomUUID();
    const unclaimedBefore = (await ingestions(t, ADMIN_KEY, UNCLAIMED_USER.id)).length;
    const before = (await scrape(t.app)).series;

    await publish(owner.keyId, '{"data": {"metrics": [');
    await publish(unknown, steps(1));
    await publish('not-a-key', steps(2));
    await publish(revoked.keyId, steps(3));
    await publish(readOnly.keyId, steps(4));
    await publish(owner.keyId, Buffer.alloc(MAX_MB * 1024 * 1024 + 1, 'x'));
    await publish(owner.keyId, steps(5));

    const own = await finished(t, owner.key, 3);
    expect(own.map((i) => [i.status, i.error?.code ?? null])).toEqual([
      ['failed', 'INVALID_JSON'],
      ['failed', 'PAYLOAD_TOO_LARGE'],
      ['completed', null],
    ]);
    expect(own[1]).toMatchObject({ sha256: null, size_bytes: MAX_MB * 1024 * 1024 + 1 });
    expect(own[2]!.counts).toMatchObject({ received: 1, inserted: 1 });

    const unclaimed = (await finished(t, ADMIN_KEY, unclaimedBefore + 4, UNCLAIMED_USER.id)).slice(unclaimedBefore);
    expect(unclaimed.map((i) => [i.topic, i.status, i.error?.code])).toEqual([
      [`${run}/${unknown}`, 'failed', 'UNAUTHORIZED'],
      [`${run}/not-a-key`, 'failed', 'UNAUTHORIZED'],
      [`${run}/${revoked.keyId}`, 'failed', 'UNAUTHORIZED'],
      [`${run}/${readOnly.keyId}`, 'failed', 'FORBIDDEN'],
    ]);
    // Kept with its body, so an admin can see what arrived.
    expect(unclaimed.every((i) => i.sha256 !== null)).toBe(true);
    // The owner of a key that cannot ingest never sees it, nor does anyone else.
    expect((await ingestions(t, readOnly.key)).length).toBe(0);
    const asUser = await t.app.inject({ url: `/api/v1/ingestions/${unclaimed[0]!.id}`, headers: { authorization: `Bearer ${owner.key}` } });
    expect(asUser.statusCode).toBe(404);

    // Counted where operators look: each message by what became of it, and garbage as a refused upload.
    const { series } = await scrape(t.app);
    const added = (name: string, labels: Record<string, string>) => total(series, name, labels) - total(before, name, labels);
    expect(added('health_export_mqtt_messages_total', { outcome: 'unclaimed' })).toBe(4);
    expect(added('health_export_mqtt_messages_total', { outcome: 'too_large' })).toBe(1);
    // The garbage and the valid message are queued; the oversize one is recorded failed without its body.
    expect(added('health_export_mqtt_messages_total', { outcome: 'queued' })).toBe(2);
    // Six refusals: the garbage, the four unclaimed and the oversize message.
    expect(added('health_export_ingest_requests_total', { outcome: 'refused' })).toBe(6);
  });

  it('stores a message published at QoS 1 while the server was stopped once it starts again', async () => {
    await stopApp(t);
    await publish(owner.keyId, steps(6));
    t = await startApp(kind, env, false);
    const [latest] = await finished(t, owner.key, 1);
    expect(latest).toMatchObject({ status: 'completed', source: 'mqtt', counts: { received: 1, inserted: 1 } });
    const stored = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM quantity_samples WHERE source = 'mqtt-test-6'");
    expect(stored.rows[0]!.n).toBe(1);
  });
});

describe.skipIf(!inject('mqttAvailable')).each(databaseKinds())('MQTT delivery guarantees (%s database)', (kind) => {
  const run = `hea-test-${randomBytes(4).toString('hex')}-${kind}-g`;
  let publisher: MqttClient;
  beforeAll(async () => {
    publisher = await connectAsync(BROKER, { clientId: `${run}-pub`, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await publisher?.endAsync();
    await forgetSession(run);
    await forgetSession(`${run}-proxy`);
  });

  it('does not acknowledge a message whose archive write failed: it arrives again after a restart and is stored once', async () => {
    const { db, postgis } = await workerDatabase(kind);
    let failing = true;
    let failures = 0;
    // The ingestion row is written in a transaction (with the duplicate check): lost there too.
    const flaky = beforeArchiveWrite(db, async () => {
      if (!failing) return;
      failures += 1;
      throw new Error('connection terminated unexpectedly');
    });
    const t = await startApp(kind, mqttEnv(run, run));
    const owner = await t.userWithKey(`flaky-${kind}@example.com`, ['ingest', 'read']);
    await connected(t);
    await stopApp(t);

    // The same database through a connection that loses every archive write.
    const config = loadConfig({ ...TEST_ENV, ...mqttEnv(run, run) });
    const app = await buildApp(config, { db: flaky, logger: silent, postgis });
    app.services.mqtt!.start();
    await publisher.publishAsync(`${run}/${owner.keyId}`, steps(7), { qos: 1 });
    await until('a failed archive write', async () => failures >= 2);
    await app.services.mqtt!.stop();
    await app.close();
    failing = false;

    const again = await startApp(kind, mqttEnv(run, run), false);
    const [stored] = await finished(again, owner.key, 1);
    expect(stored).toMatchObject({ status: 'completed', counts: { received: 1, inserted: 1 } });
    // Delivered again and stored once, not lost and not doubled.
    expect((await ingestions(again, owner.key)).length).toBe(1);
    await stopApp(again);
  });

  it('stopped while archiving a message: finishes it and acknowledges it (not delivered again), and keeps the subscription for what comes while stopped', async () => {
    const { db, postgis } = await workerDatabase(kind);
    const clientId = `${run}-stop`;
    const env = mqttEnv(`${run}-s`, clientId);
    const t = await startApp(kind, env);
    const owner = await t.userWithKey(`stopping-${kind}@example.com`, ['ingest', 'read']);
    await connected(t);
    await stopApp(t);

    // The same database, through a connection whose archive write waits until released.
    let arrived = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = beforeArchiveWrite(db, async () => {
      arrived = true;
      await released;
    });
    const app = await buildApp(loadConfig({ ...TEST_ENV, ...env }), { db: held, logger: silent, postgis });
    try {
      app.services.mqtt!.start();
      await publisher.publishAsync(`${run}-s/${owner.keyId}`, steps(10), { qos: 1 });
      await until('the archive write to begin', async () => arrived);
      const stopped = app.services.mqtt!.stop();
      release();
      await stopped;
    } finally {
      await app.close();
    }

    // Published while no instance runs: only a subscription the broker kept receives it.
    await publisher.publishAsync(`${run}-s/${owner.keyId}`, steps(11), { qos: 1 });
    const again = await startApp(kind, env, false);
    try {
      const stored = await finished(again, owner.key, 2);
      expect(stored.map((i) => i.counts)).toEqual([expect.objectContaining({ received: 1, inserted: 1 }), expect.objectContaining({ received: 1, inserted: 1 })]);
      const sources = await again.db.query<{ source: string }>("SELECT source FROM quantity_samples WHERE source IN ('mqtt-test-10', 'mqtt-test-11') ORDER BY source");
      expect(sources.rows.map((r) => r.source)).toEqual(['mqtt-test-10', 'mqtt-test-11']);
      // An unacknowledged message would arrive again now and be counted as a duplicate.
      const series = (await scrape(again.app)).series;
      expect(total(series, 'health_export_mqtt_messages_total', { outcome: 'queued' })).toBe(1);
      expect(total(series, 'health_export_mqtt_messages_total', { outcome: 'duplicate' })).toBe(0);
    } finally {
      await stopApp(again);
      await forgetSession(clientId);
    }
  });

  it('reports mqtt down (degraded, 200) while the broker is unreachable, reconnects, and stores what comes next', async () => {
    const proxy = await startTcpProxy(BROKER);
    const clientId = `${run}-proxy`;
    const t = await startApp(kind, { ...mqttEnv(`${run}-p`, clientId, proxy.url) });
    try {
      const owner = await t.userWithKey(`proxy-${kind}@example.com`, ['ingest', 'read']);
      await connected(t);

      proxy.refuse();
      const down = await until('mqtt to be reported down', async () => {
        const response = await t.app.inject({ url: '/ready' });
        return response.json().checks.mqtt === 'down' && response;
      });
      expect(down.statusCode).toBe(200);
      expect(down.json()).toMatchObject({ status: 'degraded', checks: { database: 'ok', mqtt: 'down' } });

      proxy.restore();
      await connected(t);
      await publisher.publishAsync(`${run}-p/${owner.keyId}`, steps(8), { qos: 1 });
      const [stored] = await finished(t, owner.key, 1);
      expect(stored).toMatchObject({ status: 'completed', counts: { received: 1, inserted: 1 } });
    } finally {
      await stopApp(t);
      await proxy.close();
    }
  });
});
