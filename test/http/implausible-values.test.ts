/**
 * Values no body produces and no reading may break on. A step count of 1.7e308
 * was stored, and /summary/daily then answered 500 (float8 overflow in a sum):
 * every metric with a known unit now has an upper bound (VALIDATION_METRIC_MAX),
 * and the sums over rows stored before it are taken so they cannot fail. A UTC
 * offset of +9999 was accepted and moved the sample by 100 hours: offsets beyond
 * ±14:00 are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configReferenceMarkdown } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config/config.js';
import { rebuildRollups } from '../../src/storage/rollups.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const steps = (data: Record<string, unknown>[], units = 'count') => ({ data: { metrics: [{ name: 'step_count', units, data }] } });

describe.each(databaseKinds())('implausible values (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });

  it('answers /summary/daily with 200 over step counts of 1.7e308 stored before the bounds (a float8 sum overflowed into a 500)', async () => {
    const stored = await t.ingest({
      samples: [
        ...['2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', '2024-05-02T10:00:00Z'].map((start) => ({ kind: 'quantity', type: 'step_count', start, value: 10, unit: 'count', source: 'phone' })),
        ...['2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z'].map((start) => ({ kind: 'quantity', type: 'heart_rate_variability', start, value: 40, unit: 'ms', source: 'watch' })),
        { kind: 'sleep_night', type: 'sleep_analysis', start: '2024-05-01T22:00:00Z', end: '2024-05-02T06:00:00Z', night_date: '2024-05-02', core: 3, source: 'watch' },
        { kind: 'sleep_night', type: 'sleep_analysis', start: '2024-05-02T13:00:00Z', end: '2024-05-02T14:00:00Z', night_date: '2024-05-02', core: 1, source: 'watch' },
      ],
    });
    expect(stored.json().counts).toMatchObject({ received: 7, rejected: 0 });
    // As a server without the bounds stored them: written straight into the tables.
    await t.db.query("UPDATE quantity_samples SET value = 1.7e308 WHERE metric IN ('step_count', 'heart_rate_variability')");
    await t.db.query('UPDATE sleep_nights SET core = 1.7e308');
    // An upgrade then builds the summary's rollups from those rows, as the first start does.
    const owners = await t.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM quantity_samples');
    for (const { user_id } of owners.rows) await t.db.transaction((tx) => rebuildRollups(tx, user_id));

    const response = await get('/api/v1/summary/daily?start=2024-05-01&end=2024-05-03');
    expect(response.statusCode, response.body).toBe(200);
    const [first, second, third] = response.json().items;
    // Two of them on one day (two steps, a night and a nap) are more than a float8 holds: no number, rather than a wrong one or a 500.
    expect(first).toMatchObject({ date: '2024-05-01', steps: null, hrv_ms: 1.7e308 });
    expect(second).toMatchObject({ date: '2024-05-02', steps: 1.7e308, sleep: { core_h: null } });
    expect(third).toMatchObject({ date: '2024-05-03', steps: null });
  });

  it('rejects a step count of 1.7e308 in an upload, with a reason naming the bound and the setting', async () => {
    const response = await t.ingest(steps([{ date: '2024-06-01 10:00:00 +0000', qty: 1.7e308, source: 'phone' }]));
    expect(response.statusCode).toBe(200);
    const ingestion = response.json();
    expect(ingestion.counts).toMatchObject({ received: 1, inserted: 0, rejected: 1 });
    const [rejection] = (await get(`/api/v1/ingestions/${ingestion.id}/rejections`)).json().items;
    expect(rejection.category).toBe('range');
    expect(rejection.reason).toMatch(/qty 1\.7e\+308 count is above the plausible maximum of 250000 count per day \(VALIDATION_METRIC_MAX\)/);
  });

  it('bounds an amount per day: a week-long bucket may hold a week of steps, an hour may not', async () => {
    const response = await t.ingest(
      steps([
        { start: '2024-06-03 00:00:00 +0000', end: '2024-06-10 00:00:00 +0000', qty: 1_000_000, source: 'weekly' },
        { start: '2024-06-03 10:00:00 +0000', end: '2024-06-03 11:00:00 +0000', qty: 1_000_000, source: 'hourly' },
      ]),
    );
    expect(response.json().counts).toMatchObject({ received: 2, inserted: 1, rejected: 1 });
    const [rejection] = (await get(`/api/v1/ingestions/${response.json().id}/rejections`)).json().items;
    expect(rejection.sample.source).toBe('hourly');
  });

  it('bounds readings at an instant in their stored unit, whatever unit was sent; a unit it does not know is not compared', async () => {
    const response = await t.ingest({
      data: {
        metrics: [
          { name: 'weight_body_mass', units: 'lb', data: [{ date: '2024-06-01 08:00:00 +0000', qty: 180 }, { date: '2024-06-02 08:00:00 +0000', qty: 2000 }] },
          { name: 'weight_body_mass', units: 'stone-ish', data: [{ date: '2024-06-03 08:00:00 +0000', qty: 5000 }] },
        ],
      },
    });
    expect(response.json().counts).toMatchObject({ received: 3, inserted: 2, rejected: 1 });
    const [rejection] = (await get(`/api/v1/ingestions/${response.json().id}/rejections`)).json().items;
    expect(rejection.reason).toMatch(/above the plausible maximum of 700 kg/);
  });

  it('refuses UTC offsets beyond ±14:00 (+9999 was accepted and moved the sample by 100 hours)', async () => {
    const hae = await t.ingest(
      steps([
        { date: '2024-06-05 10:00:00 +9999', qty: 1, source: 'a' },
        { date: '2024-06-05 10:00:00 +1500', qty: 1, source: 'b' },
        { date: '2024-06-05 10:00:00 -1430', qty: 1, source: 'c' },
        { date: '2024-06-05 10:00:00 +1400', qty: 1, source: 'd' },
        { date: '2024-06-05 10:00:00 -12:00', qty: 1, source: 'e' },
      ]),
    );
    expect(hae.json().counts).toMatchObject({ received: 5, inserted: 2, rejected: 3 });
    const reasons = (await get(`/api/v1/ingestions/${hae.json().id}/rejections`)).json().items.map((r: { reason: string }) => r.reason);
    expect(reasons[0]).toMatch(/"2024-06-05 10:00:00 \+9999" is not a date/);
    expect(reasons[1]).toMatch(/UTC offset \+15:00, outside -14:00\.\.\+14:00/);
    expect(reasons[2]).toMatch(/UTC offset -14:30, outside/);

    const standard = await t.ingest({
      samples: ['+15:00', '+14:00'].map((offset, i) => ({ kind: 'quantity', type: 'step_count', start: `2024-06-06T10:00:00${offset}`, value: 1, unit: 'count', source: `s${i}` })),
    });
    expect(standard.json().counts).toMatchObject({ received: 2, inserted: 1, rejected: 1 });
  });
});

describe('VALIDATION_METRIC_MAX', () => {
  it('replaces the bounds it names, refuses names without a bound, and lists every default in the configuration reference', () => {
    const bounds = loadConfig({ VALIDATION_METRIC_MAX: 'step_count=100000, weight_body_mass=400' }).ingest.limits.metricBounds;
    expect(bounds.get('step_count')).toEqual({ max: 100_000, unit: 'count', per: 'per_day' });
    expect(bounds.get('weight_body_mass')).toEqual({ max: 400, unit: 'kg', per: 'each' });
    expect(bounds.get('flights_climbed')?.max).toBe(5_000);
    expect(() => loadConfig({ VALIDATION_METRIC_MAX: 'steps=5' })).toThrow(/VALIDATION_METRIC_MAX="steps=5": must be name=max pairs/);
    expect(() => loadConfig({ VALIDATION_METRIC_MAX: 'step_count=-1' })).toThrow(/VALIDATION_METRIC_MAX/);
    expect(configReferenceMarkdown()).toMatch(/step_count=250000 \(count per day\)/);
  });
});
