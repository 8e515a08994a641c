/**
 * /metrics as an operator scrapes it: the same numbers the ingestions report,
 * labels that stay bounded, and gauges read from the database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { startMetricsServer } from '../../src/monitoring/metrics-server.js';
import { ingestionsRepository, type Counts } from '../../src/storage/repositories/ingestions.js';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds, resetDatabase, silent, workerDatabase } from '../helpers/databases.js';
import { fixtureJson, readFixture } from '../helpers/fixtures.js';
import { parseScrape, scrape, total } from '../helpers/prometheus.js';

const OUTCOMES = ['inserted', 'updated', 'unchanged', 'rejected'] as const;
const SAMPLES = 'health_export_ingest_samples_total';

describe.each(databaseKinds())('/metrics (%s database)', (kind) => {
  // Each test scrapes an app of its own (its own registry), over the one database, as
  // a user of its own: no test reads numbers another one left behind.
  let t: TestApp;
  let users = 0;
  beforeAll(async () => resetDatabase((await workerDatabase(kind)).db));
  beforeEach(async () => {
    t = await createTestApp(kind, { reset: false, env: WAIT_FOR_OUTCOME });
  });
  afterEach(() => t.close());
  const newUser = () => t.userWithKey(`metrics-${(users += 1)}@example.com`);

  it('answers without a key in the Prometheus text format, with the Node.js process metrics', async () => {
    const listener = await startMetricsServer(t.app.services.metrics, '127.0.0.1', 0, silent);
    try {
      const response = await fetch(listener.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await response.text();
      for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'process_cpu_user_seconds_total']) {
        expect(body).toContain(`# TYPE ${name} `);
      }
      expect(total(parseScrape(body), SAMPLES)).toBe(0);
    } finally {
      await listener.close();
    }
  });

  it('shows the samples of the real export per type and outcome, equal to the ingestion counts', async () => {
    const { key, userId } = await newUser();
    const response = await t.ingest(readFixture('real-metrics-2024-03.json'), key);
    expect(response.statusCode).toBe(200);
    const byType = response.json().by_type as Record<string, Counts>;
    const { series } = await scrape(t.app);

    const shown = series.filter((s) => s.name === SAMPLES);
    const expected = Object.entries(byType).flatMap(([type, counts]) =>
      OUTCOMES.filter((outcome) => counts[outcome] > 0).map((outcome) => ({ type, outcome, value: counts[outcome] })),
    );
    expect(expected.length).toBeGreaterThan(20);
    expect(shown.map((s) => ({ type: s.labels.type, outcome: s.labels.outcome, value: s.value })).sort(byLabels)).toEqual(expected.sort(byLabels));

    expect(total(series, 'health_export_ingest_requests_total', { format: 'hae', outcome: 'completed' })).toBe(1);
    expect(total(series, 'health_export_ingest_payload_bytes_count')).toBe(1);
    expect(total(series, 'health_export_ingest_payload_bytes_sum')).toBe(readFixture('real-metrics-2024-03.json').length);
    for (const stage of ['archive', 'parse', 'validate', 'write']) {
      expect(total(series, 'health_export_ingest_stage_duration_seconds_count', { stage })).toBe(1);
    }
    const stored = await t.db.query<{ table: string; n: number }>(
      `SELECT 'quantity_samples' AS table, count(*)::int AS n FROM quantity_samples WHERE user_id = $1
       UNION ALL SELECT 'heart_rate_samples', count(*)::int FROM heart_rate_samples WHERE user_id = $1
       UNION ALL SELECT 'sleep_nights', count(*)::int FROM sleep_nights WHERE user_id = $1`,
      [userId],
    );
    for (const { table, n } of stored.rows) expect(total(series, 'health_export_batch_rows_total', { table })).toBe(n);
    expect(total(series, 'health_export_batch_write_duration_seconds_count', { table: 'quantity_samples' })).toBeGreaterThan(0);
    expect(total(series, 'health_export_http_requests_total', { method: 'POST', route: '/api/v1/ingest', status: '200' })).toBe(1);
    expect(total(series, 'health_export_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/ingest' })).toBe(1);
  });

  it('counts a re-sent upload as a duplicate without counting its samples twice', async () => {
    const { key } = await newUser();
    expect((await t.ingest(readFixture('edge-cases-metrics.json'), key)).json().duplicate_of).toBeUndefined();
    const before = total((await scrape(t.app)).series, SAMPLES);
    expect(before).toBeGreaterThan(0);
    expect((await t.ingest(readFixture('edge-cases-metrics.json'), key)).json().duplicate_of).toBeDefined();
    const { series } = await scrape(t.app);
    expect(total(series, 'health_export_ingest_requests_total', { format: 'hae', outcome: 'duplicate' })).toBe(1);
    expect(total(series, SAMPLES)).toBe(before);
  });

  it('counts an unknown metric name as other, never as its own label, and rejections by category', async () => {
    const body = fixtureJson('edge-cases-metrics.json');
    const response = await t.ingest(body, (await newUser()).key);
    const { id, counts, by_type: byType } = response.json() as { id: string; counts: Counts; by_type: Record<string, Counts> };
    const unknownName = 'a_metric_from_a_future_ios';
    expect((body.data.metrics as { name: string }[]).map((m) => m.name)).toContain(unknownName);
    const { text, series } = await scrape(t.app);
    expect(text).not.toContain(unknownName);
    const other = byType[unknownName!]!;
    expect(total(series, SAMPLES, { type: 'other', outcome: 'inserted' })).toBe(other.inserted);

    expect(counts.rejected).toBe(3);
    const rejected = await t.db.query<{ category: string; n: number }>(
      'SELECT category, count(*)::int AS n FROM rejected_samples WHERE ingestion_id = $1 GROUP BY category',
      [id],
    );
    expect(rejected.rows.length).toBeGreaterThan(0);
    for (const { category, n } of rejected.rows) expect(total(series, 'health_export_validation_errors_total', { category })).toBe(n);
    expect(total(series, 'health_export_validation_errors_total')).toBe(3);
  });

  it('labels requests with route templates: no id and no unmatched path becomes a label', async () => {
    const id = randomUUID();
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/ingestions/${id}`, headers: auth })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/no/such/path-xyz?who=sam' })).statusCode).toBe(404);
    const { text, series } = await scrape(t.app);
    expect(text).not.toContain(id);
    expect(text).not.toContain('path-xyz');
    expect(total(series, 'health_export_http_requests_total', { route: '/api/v1/ingestions/:id', status: '404' })).toBe(1);
    expect(total(series, 'health_export_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
  });

  it('counts key verifications by result, without naming the key', async () => {
    const before = (await scrape(t.app)).series;
    await t.app.inject({ method: 'GET', url: '/api/v1/ingestions' });
    await t.app.inject({ method: 'GET', url: '/api/v1/ingestions', headers: { authorization: 'Bearer not-a-key-that-exists-0000' } });
    await t.app.inject({ method: 'GET', url: '/api/v1/ingestions', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const { text, series } = await scrape(t.app);
    const delta = (result: string) =>
      total(series, 'health_export_auth_attempts_total', { result }) - total(before, 'health_export_auth_attempts_total', { result });
    expect(delta('missing')).toBe(1);
    expect(delta('invalid')).toBe(1);
    expect(delta('ok')).toBe(1);
    expect(text).not.toContain(ADMIN_KEY);
    expect(text).not.toContain('not-a-key-that-exists');
  });

  it('shows the database pool', async () => {
    const { series } = await scrape(t.app);
    const state = (name: string) => total(series, 'health_export_db_pool_connections', { state: name });
    expect(state('max')).toBeGreaterThanOrEqual(1);
    expect(state('in_use') + state('idle')).toBeLessThanOrEqual(state('max'));
    if (kind === 'postgres') expect(total(series, 'health_export_db_pool_wait_seconds_count')).toBeGreaterThan(0);
  });

  it('keeps each app instance to its own registry', async () => {
    expect((await t.ingest(readFixture('other-data-types.json'), (await newUser()).key)).statusCode).toBe(200);
    const other = await createTestApp(kind, { reset: false });
    try {
      expect(total((await scrape(other.app)).series, SAMPLES)).toBe(0);
      expect(total((await scrape(t.app)).series, SAMPLES)).toBeGreaterThan(0);
    } finally {
      await other.app.close();
    }
  });
});

describe.each(databaseKinds())('/metrics gauges read from the database (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  it('shows the queue depth, the age of the oldest queued ingestion and the users active in 24 hours', async () => {
    const sam = await t.userWithKey('sam@example.com', ['ingest']);
    expect((await t.ingest(readFixture('edge-cases-metrics.json'), sam.key)).statusCode).toBe(200);
    expect((await t.ingest(readFixture('other-data-types.json'))).statusCode).toBe(200);
    const queued = await ingestionsRepository(t.db).archive({
      userId: sam.userId,
      source: 'http',
      headers: {},
      id: null,
      sizeBytes: 0,
      sha256: null,
      status: 'queued',
    });
    await t.db.query("UPDATE raw_ingestions SET received_at = now() - interval '15 minutes' WHERE id = $1", [queued.id]);
    await t.db.query("UPDATE raw_ingestions SET received_at = now() - interval '2 days' WHERE user_id <> $1", [sam.userId]);

    const { series } = await scrape(t.app);
    expect(total(series, 'health_export_ingest_queue_depth')).toBe(1);
    const oldest = total(series, 'health_export_ingest_oldest_queued_seconds');
    expect(oldest).toBeGreaterThanOrEqual(900);
    expect(oldest).toBeLessThan(1200);
    expect(total(series, 'health_export_active_users_24h')).toBe(1);
  });
});

describe('the recording API', () => {
  const sources = {
    queue: async () => ({ depth: 0, oldestSeconds: 0 }),
    activeUsers: async () => 0,
    pool: () => ({ total: 0, idle: 0, waiting: 0, max: 1 }),
  };

  it('records rate-limit refusals by scope and the degraded store for the rate limiter', async () => {
    const metrics = createMetrics(sources);
    let series = parseScrape((await metrics.scrape()).body);
    expect(total(series, 'health_export_rate_limit_store_degraded')).toBe(0);
    metrics.rateLimited('key');
    metrics.rateLimited('ip');
    metrics.rateLimited('ip');
    metrics.setRateLimitDegraded(true);
    series = parseScrape((await metrics.scrape()).body);
    expect(total(series, 'health_export_rate_limited_requests_total', { scope: 'key' })).toBe(1);
    expect(total(series, 'health_export_rate_limited_requests_total', { scope: 'ip' })).toBe(2);
    expect(total(series, 'health_export_rate_limit_store_degraded')).toBe(1);
  });

  it('still answers a scrape when the database does not, and counts the failure', async () => {
    const metrics = createMetrics({ ...sources, queue: () => Promise.reject(new Error('down')), activeUsers: () => Promise.reject(new Error('down')) });
    const series = parseScrape((await metrics.scrape()).body);
    expect(total(series, 'health_export_errors_total', { kind: 'metrics' })).toBe(2);
    expect(series.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });
});

function byLabels(a: { type?: string; outcome?: string }, b: { type?: string; outcome?: string }): number {
  return `${a.type} ${a.outcome}`.localeCompare(`${b.type} ${b.outcome}`);
}
