/**
 * The sample lists: filters, keyset pages that return each sample exactly once,
 * units on request, and the HTTP conventions (read scope, ETag and 304,
 * Cache-Control, compression, clear 400s).
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

describe.each(databaseKinds())('sample lists (%s database)', (kind) => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
    ({ key } = await t.userWithKey('reader@example.com'));
    for (const fixture of ['real-metrics-2024-03.json', 'real-sleep-segments-2025-04.json', 'edge-cases-metrics.json']) {
      expect((await t.ingest(readFixture(fixture), key)).statusCode).toBe(200);
    }
  });
  afterAll(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ url, headers: { authorization: `Bearer ${key}`, ...headers } });
  const ok = async (url: string) => {
    const response = await get(url);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  /** Every item of a list, following `next`. */
  async function all(url: string): Promise<any[]> {
    const items: any[] = [];
    let next: string | null = null;
    do {
      const page: { items: any[]; next: string | null } = await ok(`${url}${url.includes('?') ? '&' : '?'}${next ? `cursor=${next}` : ''}`);
      items.push(...page.items);
      next = page.next;
    } while (next);
    return items;
  }
  const count = async (sql: string) => (await t.db.query<{ n: number }>(sql)).rows[0]!.n;

  it('pages through every heart-rate sample once, in start order, either way', async () => {
    const stored = await count('SELECT count(*)::int AS n FROM heart_rate_samples');
    const items = await all('/api/v1/data/heart-rate?limit=97');
    expect(items).toHaveLength(stored);
    const keys = items.map((i) => `${i.start}|${i.end}|${i.source}`);
    expect(new Set(keys).size).toBe(stored);
    expect(items.map((i) => i.start)).toEqual(items.map((i) => i.start).sort());
    const reversed = await all('/api/v1/data/heart-rate?limit=250&order=desc');
    expect(reversed.map((i) => `${i.start}|${i.end}|${i.source}`)).toEqual([...keys].reverse());
    expect(items.find((i) => i.min < i.max)).toBeDefined();
  });

  it('filters by start (inclusive), end (exclusive) in any offset, and exact source', async () => {
    const items = await all('/api/v1/data/heart-rate?limit=1000');
    const pivot = items[500];
    const from = await all(`/api/v1/data/heart-rate?limit=1000&start=${encodeURIComponent(pivot.start)}`);
    expect(from[0].start).toBe(pivot.start);
    expect(from).toHaveLength(items.filter((i) => i.start >= pivot.start).length);
    // The same instant written with another offset.
    const local = new Date(Date.parse(pivot.start) - 4 * 3_600_000).toISOString().replace('.000Z', '-04:00');
    const before = await all(`/api/v1/data/heart-rate?limit=1000&end=${encodeURIComponent(local)}`);
    expect(before).toHaveLength(items.filter((i) => i.start < pivot.start).length);
    expect(before.at(-1).start < pivot.start).toBe(true);

    const bySource = await all(`/api/v1/data/heart-rate?source=${encodeURIComponent('Apple Watch|iPhone')}`);
    expect(bySource.map((i) => [i.source, i.min, i.avg, i.max])).toEqual([['Apple Watch|iPhone', 58, 71.5, 93]]);
  });

  it('lists blood pressure with systolic, diastolic and pulse', async () => {
    expect((await ok('/api/v1/data/blood-pressure')).items).toEqual([
      { start: '2024-09-20T22:00:00.000Z', end: '2024-09-20T22:00:00.000Z', source: 'Withings', systolic: 121, diastolic: 79, pulse: null },
    ]);
  });

  it('lists nights, summarised and built from segments, and with detail=segments every raw segment once, stage included', async () => {
    const nights = await all('/api/v1/data/sleep');
    expect(nights.filter((n) => n.origin === 'summarised')).toHaveLength(6);
    expect(nights.filter((n) => n.origin === 'segments').length).toBeGreaterThan(0);
    const night = nights.find((n) => n.date === '2024-03-14' && n.origin === 'summarised');
    expect(night).toMatchObject({ total_sleep_h: null, awake_h: 0.05, rem_h: 1.375, in_bed_start: '2024-03-14T02:36:04.000Z' });
    const segments = await all('/api/v1/data/sleep?detail=segments&limit=100');
    expect(segments).toHaveLength(await count('SELECT count(*)::int AS n FROM sleep_segments'));
    expect(segments).toHaveLength(741);
    expect(new Set(segments.map((s) => `${s.start}|${s.end}|${s.source}|${s.stage}`)).size).toBe(741);
    expect(new Set(segments.map((s) => s.stage))).toEqual(new Set(['Core', 'InBed', 'REM', 'Awake', 'Deep', 'Asleep']));
  });

  it('lists the metrics the user has with canonical unit, count, first and last, and where to read them', async () => {
    const metrics = await all('/api/v1/data/metrics');
    const byName = (name: string) => metrics.filter((m) => m.name === name);
    expect(byName('step_count')).toEqual([
      {
        name: 'step_count', unit: 'count', count: await count("SELECT count(*)::int AS n FROM quantity_samples WHERE metric = 'step_count'"),
        first: expect.any(String), last: expect.any(String), path: '/api/v1/data/metrics/step_count',
      },
    ]);
    expect(byName('walking_running_distance')[0].unit).toBe('m');
    expect(byName('a_metric_from_a_future_ios')[0]).toMatchObject({ unit: 'zorks', count: 1 });
    expect(byName('heart_rate')[0]).toMatchObject({ unit: 'count/min', path: '/api/v1/data/heart-rate' });
    expect(byName('sleep_analysis').map((m) => m.path).sort()).toEqual(['/api/v1/data/sleep', '/api/v1/data/sleep?detail=segments']);
    const paged = await all('/api/v1/data/metrics?limit=3');
    expect(paged).toEqual(metrics);
  });

  it('gives a metric in its canonical unit, with the sent value and unit beside it', async () => {
    const weight = (await ok('/api/v1/data/metrics/weight_body_mass')).items;
    expect(weight).toHaveLength(1);
    expect(weight[0]).toMatchObject({ unit: 'kg', sent_value: 176.4, sent_unit: 'lb', source: 'Withings', qualifier: '', extra: null });
    expect(weight[0].value).toBeCloseTo(176.4 * 0.45359237, 9);
    expect((await ok('/api/v1/data/metrics/insulin_delivery')).items[0]).toMatchObject({ qualifier: 'Bolus', value: 4, unit: 'IU' });
    expect((await ok('/api/v1/data/metrics/blood_glucose')).items[0].extra).toEqual({ mealTime: 'Before Meal' });
    expect((await ok('/api/v1/data/metrics/vo2max')).items).toEqual([]);
  });

  it('converts to ?unit= and refuses a unit of another kind, naming the supported ones', async () => {
    const miles = (await ok('/api/v1/data/metrics/walking_running_distance?limit=5&unit=mi')).items;
    expect(miles).toHaveLength(5);
    for (const item of miles) {
      expect(item.unit).toBe('mi');
      expect(item.value).toBeCloseTo(item.sent_value, 9);
    }
    const wrong = await get('/api/v1/data/metrics/walking_running_distance?unit=kg');
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.message).toMatch(/walking_running_distance is stored in m .*supported units: m, km, .*mi/);
    const unknown = await get('/api/v1/data/metrics/a_metric_from_a_future_ios?unit=m');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toMatch(/stored in zorks, a unit this server cannot convert/);
    expect((await get('/api/v1/data/metrics/nothing_stored_yet?unit=parsecs')).statusCode).toBe(400);
    expect((await ok('/api/v1/data/metrics/nothing_stored_yet?unit=km')).items).toEqual([]);
  });

  it('sends heart rate, blood pressure and sleep to their own endpoints from /metrics/:name', async () => {
    const response = await get('/api/v1/data/metrics/heart_rate');
    expect(response.statusCode).toBe(404);
    expect(response.json().error.message).toBe('heart_rate samples are served by /api/v1/data/heart-rate');
  });

  it('refuses bad parameters with 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/api/v1/data/heart-rate?cursor=bm90LWEtY3Vyc29y', /cursor/],
      [`/api/v1/data/heart-rate?cursor=${Buffer.from(JSON.stringify(['2024-01-01T00:00:00Z', 'x', 'y'])).toString('base64url')}`, /cursor/],
      ['/api/v1/data/heart-rate?limit=1001', /limit/],
      ['/api/v1/data/heart-rate?start=2024-03-14T00:00:00', /start/],
      ['/api/v1/data/heart-rate?source=a%00b', /source/],
      ['/api/v1/data/heart-rate?order=sideways', /order/],
      ['/api/v1/data/sleep?detail=everything', /detail/],
    ];
    for (const [url, message] of cases) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error.code).toBe(url.includes('cursor=') ? 'INVALID_CURSOR' : 'BAD_REQUEST');
      expect(response.json().error.message).toMatch(message);
    }
  });

  it('needs a read key: 401 without a key, 403 with an ingest-only key', async () => {
    expect((await t.app.inject({ url: '/api/v1/data/heart-rate' })).statusCode).toBe(401);
    const { key: ingestOnly } = await t.userWithKey('phone@example.com', ['ingest']);
    for (const url of ['/api/v1/data/heart-rate', '/api/v1/summary/daily?start=2024-03-13&end=2024-03-14', '/api/v1/export']) {
      expect((await t.app.inject({ url, headers: { authorization: `Bearer ${ingestOnly}` } })).statusCode, url).toBe(403);
    }
  });

  it('tags data answers with an ETag and Cache-Control: private, answers 304 to If-None-Match, and a new ETag once data changes', async () => {
    const url = '/api/v1/data/blood-pressure';
    const first = await get(url);
    expect(first.headers.etag).toMatch(/^W\/"[\w-]+"$/);
    expect(first.headers['cache-control']).toBe('private');
    const again = await get(url, { 'if-none-match': first.headers.etag as string });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await get(url, { 'if-none-match': '"something-else"' })).statusCode).toBe(200);

    const summary = await get('/api/v1/summary/daily?start=2024-03-13&end=2024-03-17');
    expect(summary.headers.etag).toBeDefined();
    expect((await get('/api/v1/summary/daily?start=2024-03-13&end=2024-03-17', { 'if-none-match': summary.headers.etag as string })).statusCode).toBe(304);

    const sample = { kind: 'blood_pressure', type: 'blood_pressure', start: '2024-09-22T08:00:00Z', systolic: 118, diastolic: 76, source: 'Withings' };
    expect((await t.ingest({ samples: [sample] }, key)).json().counts.inserted).toBe(1);
    const changed = await get(url, { 'if-none-match': first.headers.etag as string });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(first.headers.etag);
  });

  it('compresses large answers with brotli or gzip as the client asks, and leaves small ones alone', async () => {
    const url = '/api/v1/data/heart-rate?limit=1000';
    const plain = await get(url);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const br = await get(url, { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(plain.json());
    const gzip = await get(url, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gzip.rawPayload).toString())).toEqual(plain.json());
    expect(br.headers.etag).toBe(plain.headers.etag);
    const small = await get('/api/v1/data/metrics/insulin_delivery', { 'accept-encoding': 'br, gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('documents every reading endpoint and its parameters, with examples, in the OpenAPI document', async () => {
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    const expected: Record<string, string[]> = {
      '/api/v1/data/heart-rate': ['start', 'end', 'source', 'limit', 'cursor', 'order'],
      '/api/v1/data/blood-pressure': ['start', 'end', 'source', 'limit', 'cursor', 'order'],
      '/api/v1/data/sleep': ['start', 'end', 'source', 'limit', 'cursor', 'order', 'detail', 'tz'],
      '/api/v1/data/workouts': ['start', 'end', 'limit', 'cursor', 'order', 'bbox'],
      '/api/v1/data/workouts/{id}': ['id'],
      '/api/v1/data/metrics': ['limit', 'cursor'],
      '/api/v1/data/metrics/{name}': ['name', 'start', 'end', 'source', 'limit', 'cursor', 'order', 'unit'],
      '/api/v1/summary/daily': ['start', 'end', 'tz'],
      '/api/v1/export': ['start', 'end', 'format', 'types'],
    };
    for (const [path, parameters] of Object.entries(expected)) {
      const operation = document.paths[path]?.get;
      expect(operation, path).toBeDefined();
      expect(operation.parameters.map((p: any) => p.name).sort(), path).toEqual([...parameters].sort());
    }
    const examples = (path: string) =>
      Object.fromEntries(document.paths[path].get.parameters.map((p: any) => [p.name, p.example ?? p.schema?.example]));
    expect(examples('/api/v1/summary/daily')).toEqual({ start: '2024-03-13', end: '2024-03-17', tz: 'America/New_York' });
    for (const [path, parameters] of Object.entries(expected)) {
      for (const [name, example] of Object.entries(examples(path))) expect(example, `${path} ${name}`).toBeDefined();
      expect(Object.keys(examples(path)).sort()).toEqual([...parameters].sort());
    }
    const schemas = document.components.schemas;
    for (const id of ['HeartRateSample', 'BloodPressureSample', 'SleepNight', 'SleepSegment', 'MetricSample', 'Metric', 'Workout', 'DailySummary']) {
      expect(schemas[id]?.example, id).toBeDefined();
    }
  });
});
