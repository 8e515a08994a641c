/**
 * A read key sees its own user's data and nothing else: another user's workout
 * is not found, and none of their samples appear in lists, the summary or the export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

const FIXTURES = ['real-metrics-2024-03.json', 'real-sleep-segments-2025-04.json', 'workouts-v1-v2-with-routes.json', 'other-data-types.json', 'edge-cases-metrics.json'];

describe.each(databaseKinds())("one user's data stays theirs (%s database)", (kind) => {
  let t: TestApp;
  let a: string;
  let b: string;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
    ({ key: a } = await t.userWithKey('a@example.com'));
    ({ key: b } = await t.userWithKey('b@example.com'));
    for (const fixture of FIXTURES) expect((await t.ingest(readFixture(fixture), b)).statusCode).toBe(200);
    // A has one sample of its own, at a time B also has data.
    const own = { kind: 'quantity', type: 'step_count', start: '2024-03-14T16:00:00Z', value: 7, unit: 'count', source: 'A phone' };
    expect((await t.ingest({ samples: [own] }, a)).json().counts.inserted).toBe(1);
  });
  afterAll(() => t.close());

  const get = (url: string, key: string) => t.app.inject({ url, headers: { authorization: `Bearer ${key}` } });

  it("answers 404 to A for B's workout", async () => {
    const workouts = (await get('/api/v1/data/workouts', b)).json().items;
    expect(workouts).toHaveLength(2);
    for (const workout of workouts) {
      expect((await get(`/api/v1/data/workouts/${workout.id}`, a)).statusCode).toBe(404);
      expect((await get(`/api/v1/data/workouts/${workout.id}`, b)).statusCode).toBe(200);
    }
  });

  it("shows A none of B's samples in any list", async () => {
    for (const url of [
      '/api/v1/data/heart-rate', '/api/v1/data/blood-pressure', '/api/v1/data/sleep', '/api/v1/data/sleep?detail=segments',
      '/api/v1/data/workouts', '/api/v1/data/workouts?bbox=-180,-90,180,90', '/api/v1/data/metrics/walking_running_distance',
    ]) {
      expect((await get(url, b)).json().items.length, url).toBeGreaterThan(0);
      expect((await get(url, a)).json().items, url).toEqual([]);
    }
    expect((await get('/api/v1/data/metrics/step_count', a)).json().items.map((i: any) => i.source)).toEqual(['A phone']);
    expect((await get('/api/v1/data/metrics', a)).json().items.map((i: any) => [i.name, i.count])).toEqual([['step_count', 1]]);
  });

  it("leaves B's data out of A's daily summary", async () => {
    const url = '/api/v1/summary/daily?start=2024-03-13&end=2024-03-17&tz=America/New_York';
    const mine = (await get(url, a)).json().items;
    expect(mine.map((d: any) => d.steps)).toEqual([null, 7, null, null, null]);
    for (const day of mine) {
      expect([day.distance_m, day.active_energy_kcal, day.heart_rate.max, day.sleep.asleep_h]).toEqual([null, null, null, null]);
    }
    expect((await get(url, b)).json().items[1].steps).toBeGreaterThan(1000);
  });

  it("leaves B's data out of A's export", async () => {
    const samples = (await get('/api/v1/export?format=json', a)).json().samples;
    expect(samples.map((s: any) => [s.type, s.source, s.value])).toEqual([['step_count', 'A phone', 7]]);
    expect((await get('/api/v1/export?format=ndjson', b)).body.split('\n').length).toBeGreaterThan(17_000);
  });
});
