/**
 * The fixtures through the whole HTTP path into a real database: every sample
 * accounted for, stored in canonical units, and re-sends harmless.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { databaseKinds } from '../helpers/databases.js';
import { parseHaeDate } from '../../src/ingest/dates.js';
import { fixtureJson, readFixture } from '../helpers/fixtures.js';

/** The same data with every object's keys in reverse order and other spacing. */
function reserialise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reserialise);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reserialise(v)]));
  }
  return value;
}

describe.each(databaseKinds())('ingesting the fixtures (%s database)', (kind) => {
  let t: TestApp;
  /** The real metrics export, stored once for the three tests that look at it (none of them changes it). */
  let metricsUser: { key: string; userId: string };
  let metricsResponse: { statusCode: number; body: any };
  let users = 0;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
    metricsUser = await t.userWithKey('metrics@example.com');
    const response = await t.ingest(readFixture('real-metrics-2024-03.json'), metricsUser.key, { 'automation-name': 'Hourly', 'session-id': 'ABC-1' });
    metricsResponse = { statusCode: response.statusCode, body: response.json() };
  });
  afterAll(() => t.close());

  /** Each test stores its fixture for a user of its own and counts only that user's rows. */
  const newUser = () => t.userWithKey(`fixtures-${(users += 1)}@example.com`);
  const count = async (sql: string, params: unknown[] = []) => (await t.db.query<{ n: number }>(sql, params)).rows[0]!.n;

  it('stores all 16,341 points of the real metrics export, distance in metres, heart rate with min/avg/max', async () => {
    const { userId } = metricsUser;
    expect(metricsResponse.statusCode).toBe(200);
    const body = metricsResponse.body;
    expect(body.status).toBe('completed');
    expect(body.format).toBe('hae');
    expect(expectCountsAddUp(body)).toMatchObject({ received: 16_341, rejected: 0 });
    expect(Object.keys(body.by_type).length).toBeGreaterThan(10);

    const stored =
      (await count('SELECT count(*)::int AS n FROM quantity_samples WHERE user_id = $1', [userId])) +
      (await count('SELECT count(*)::int AS n FROM heart_rate_samples WHERE user_id = $1', [userId])) +
      (await count('SELECT count(*)::int AS n FROM sleep_nights WHERE user_id = $1', [userId]));
    expect(stored).toBe(body.counts.inserted);
    expect(body.counts.inserted + body.counts.updated + body.counts.unchanged).toBe(16_341);

    const distance = await t.db.query<{ value: number; sent_value: number; sent_unit: string; unit: string }>(
      "SELECT value, sent_value, sent_unit, unit FROM quantity_samples WHERE user_id = $1 AND metric = 'walking_running_distance' AND sent_value > 0 LIMIT 1",
      [userId],
    );
    const row = distance.rows[0]!;
    expect(row.unit).toBe('m');
    expect(row.sent_unit).toBe('mi');
    expect(row.value).toBeCloseTo(row.sent_value * 1609.344, 6);

    // Every heart-rate point keeps its own Min/Avg/Max, and every night its stages, exactly as sent.
    const metrics = fixtureJson('real-metrics-2024-03.json').data.metrics as { name: string; data: any[] }[];
    const sent = metrics.find((m) => m.name === 'heart_rate')!.data;
    const heartRates = await t.db.query<{ start_at: Date; source: string; min: number; avg: number; max: number }>(
      'SELECT start_at, source, min, avg, max FROM heart_rate_samples WHERE user_id = $1',
      [userId],
    );
    const byKey = new Map(heartRates.rows.map((r) => [`${new Date(r.start_at).toISOString()}|${r.source}`, r]));
    expect(sent.some((p) => p.Min !== p.Max)).toBe(true);
    for (const point of sent) {
      const row = byKey.get(`${parseHaeDate(point.date)!.instant.toISOString()}|${point.source ?? ''}`);
      expect(row, point.date).toMatchObject({ min: point.Min, avg: point.Avg, max: point.Max });
    }

    const nights = await t.db.query<{ core: number; deep: number; rem: number }>('SELECT core, deep, rem FROM sleep_nights WHERE user_id = $1 ORDER BY night_date', [userId]);
    const sentNights = metrics.find((m) => m.name === 'sleep_analysis')!.data;
    expect(nights.rows).toHaveLength(4);
    expect(nights.rows.map(({ core, deep, rem }) => [core, deep, rem]).sort()).toEqual(sentNights.map((n) => [n.core, n.deep, n.rem]).sort());

    const ingestion = await t.app.inject({ url: body.status_url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(ingestion.json().headers).toEqual({ 'automation-name': 'Hourly', 'session-id': 'ABC-1' });
  });

  it('answers identical bytes with the first ingestion, duplicate_of and "duplicate": true (its counts alone read as a second insertion), recording nothing new', async () => {
    const { key, userId } = metricsUser;
    const before = await count('SELECT count(*)::int AS n FROM raw_ingestions WHERE user_id = $1', [userId]);
    const response = await t.ingest(readFixture('real-metrics-2024-03.json'), key);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.duplicate_of).toBe(metricsResponse.body.id);
    expect(body.id).toBe(metricsResponse.body.id);
    expect(body.duplicate).toBe(true);
    expect(expectCountsAddUp(body)).toEqual(metricsResponse.body.counts);
    expect(await count('SELECT count(*)::int AS n FROM raw_ingestions WHERE user_id = $1', [userId])).toBe(before);
  });

  it('counts every sample unchanged when the same data comes re-serialised', async () => {
    const json = JSON.stringify(reserialise(fixtureJson('real-metrics-2024-03.json')), null, 1);
    const response = await t.ingest(json, metricsUser.key);
    const body = response.json();
    expect(body.duplicate_of).toBeUndefined();
    expect(body.duplicate).toBeUndefined();
    expect(expectCountsAddUp(body)).toEqual({ received: 16_341, inserted: 0, updated: 0, unchanged: 16_341, rejected: 0 });
  });

  it('stores the 741 sleep segments, InBed and the 56 pairs that differ only in stage', async () => {
    const { key, userId } = await newUser();
    const body = (await t.ingest(readFixture('real-sleep-segments-2025-04.json'), key)).json();
    expect(expectCountsAddUp(body)).toMatchObject({ received: 741, inserted: 741, rejected: 0 });
    expect(await count('SELECT count(*)::int AS n FROM sleep_segments WHERE user_id = $1', [userId])).toBe(741);
    expect(await count("SELECT count(*)::int AS n FROM sleep_segments WHERE user_id = $1 AND stage = 'InBed'", [userId])).toBeGreaterThan(0);
    const pairs = await count(
      'SELECT count(*)::int AS n FROM (SELECT 1 FROM sleep_segments WHERE user_id = $1 GROUP BY start_at, end_at, source HAVING count(*) = 2) p',
      [userId],
    );
    expect(pairs).toBe(56);
  });

  it('rejects exactly the three bad edge-case points, each with a reason, and stores the rest', async () => {
    const { key, userId } = await newUser();
    const response = await t.ingest(readFixture('edge-cases-metrics.json'), key);
    const body = response.json();
    expect(expectCountsAddUp(body).rejected).toBe(3);
    const rejections = (
      await t.app.inject({ url: `${body.status_url}/rejections`, headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json();
    expect(rejections.items).toHaveLength(3);
    for (const item of rejections.items) expect(item.reason.length).toBeGreaterThan(5);
    expect(rejections.items.map((i: { type: string }) => i.type).sort()).toEqual(['blood_pressure', 'step_count', 'step_count']);

    const mine = [userId];
    expect(await count("SELECT count(*)::int AS n FROM quantity_samples WHERE user_id = $1 AND metric = 'a_metric_from_a_future_ios' AND unit = 'zorks'", mine)).toBe(1);
    expect(await count("SELECT count(*)::int AS n FROM quantity_samples WHERE user_id = $1 AND metric = 'step_count' AND start_at = '2024-09-20T22:00:00Z'", mine)).toBe(2);
    const twelveHour = await t.db.query<{ start_at: Date }>(
      "SELECT start_at FROM heart_rate_samples WHERE user_id = $1 AND start_at IN ('2024-09-20T21:57:00Z', '2024-09-21T09:57:00Z') ORDER BY start_at",
      mine,
    );
    expect(twelveHour.rows.map((r) => new Date(r.start_at).toISOString())).toEqual(['2024-09-20T21:57:00.000Z', '2024-09-21T09:57:00.000Z']);
  });

  it('stores both workout versions with their routes and series, and a partial re-send deletes nothing', async () => {
    const { key, userId } = await newUser();
    const mine = [userId];
    const fixture = fixtureJson('workouts-v1-v2-with-routes.json');
    const body = (await t.ingest(readFixture('workouts-v1-v2-with-routes.json'), key)).json();
    expectCountsAddUp(body);
    expect(body.by_type.workouts).toMatchObject({ received: 2, inserted: 2 });
    const points = await t.db.query<{ name: string; n: number }>(
      `SELECT w.name, count(p.*)::int AS n FROM workouts w JOIN workout_route_points p ON p.workout_id = w.id
       WHERE w.user_id = $1 GROUP BY w.name ORDER BY n DESC`,
      mine,
    );
    expect(points.rows.map((r) => r.n)).toEqual([600, 240]);
    if (t.postgis) {
      const vertices = await t.db.query<{ n: number }>('SELECT ST_NPoints(route)::int AS n FROM workouts WHERE user_id = $1 ORDER BY n DESC', mine);
      expect(vertices.rows.map((r) => r.n)).toEqual([600, 240]);
    }
    const seriesBefore = await count('SELECT count(*)::int AS n FROM workout_series WHERE user_id = $1', mine);
    expect(seriesBefore).toBeGreaterThan(0);

    const v2 = fixture.data.workouts.find((w: { id?: string }) => w.id);
    const partial = { ...v2, heartRateData: v2.heartRateData.slice(0, v2.heartRateData.length / 2) };
    const again = (await t.ingest({ data: { workouts: [partial] } }, key)).json();
    expectCountsAddUp(again);
    expect(again.by_type.workouts).toMatchObject({ received: 1, unchanged: 1 });
    expect(await count('SELECT count(*)::int AS n FROM workout_series WHERE user_id = $1', mine)).toBe(seriesBefore);
    expect(await count('SELECT count(*)::int AS n FROM workout_route_points WHERE user_id = $1', mine)).toBe(840);
  });

  it('stores every record of the other data types, the ECG with its 600 voltages', async () => {
    const { key, userId } = await newUser();
    const body = (await t.ingest(readFixture('other-data-types.json'), key)).json();
    expect(expectCountsAddUp(body)).toMatchObject({ received: 6, inserted: 6, rejected: 0 });
    expect(await count('SELECT count(*)::int AS n FROM health_events WHERE user_id = $1', [userId])).toBe(5);
    expect(await count('SELECT cardinality(voltages)::int AS n FROM ecg_recordings WHERE user_id = $1', [userId])).toBe(600);
  });
});
