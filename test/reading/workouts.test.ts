/**
 * Workouts read back: the list, one workout with its series and its route as
 * GeoJSON built from the stored points (the same on both databases), and the
 * bounding-box search.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { fixtureJson } from '../helpers/fixtures.js';

const FIXTURE = 'workouts-v1-v2-with-routes.json';

function haeInstant(text: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(text)!;
  return Date.parse(`${match[1]}T${match[2]}${match[3]}:${match[4]}`);
}

describe.each(databaseKinds())('workouts (%s database)', (kind) => {
  let t: TestApp;
  let key: string;
  const payload = fixtureJson(FIXTURE);
  const v2 = payload.data.workouts.find((w: any) => w.id);
  /** The v2 route in time order, as GeoJSON positions. */
  const expected = [...v2.route]
    .sort((a: any, b: any) => haeInstant(a.timestamp) - haeInstant(b.timestamp))
    .map((p: any) => [p.longitude, p.latitude, p.altitude]);

  beforeAll(async () => {
    t = await createTestApp(kind);
    ({ key } = await t.userWithKey('runner@example.com'));
    // The route arrives reversed: the line must still follow time, not arrival.
    const shuffled = structuredClone(payload);
    shuffled.data.workouts.find((w: any) => w.id).route.reverse();
    expect((await t.ingest(shuffled, key)).statusCode).toBe(200);
  });
  afterAll(() => t.close());

  const get = (url: string, as = key) => t.app.inject({ url, headers: { authorization: `Bearer ${as}` } });
  const list = async (query = '') => {
    const response = await get(`/api/v1/data/workouts${query}`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  it('lists workouts by start time with the summary fields of api.md', async () => {
    const { items, next } = await list();
    expect(next).toBeNull();
    expect(items.map((w: any) => w.name)).toEqual(['Walking', 'Outdoor Run']);
    const run = items[1];
    expect(run).toMatchObject({ start: '2025-06-01T14:00:00.000Z', end: '2025-06-01T14:30:00.000Z', duration_s: 1800, has_route: true });
    expect(run.distance_m).toBeCloseTo(3.11 * 1609.344, 6);
    expect(run.active_energy_kcal).toBeCloseTo(1412.3 / 4.184, 6);
    expect((await list('?order=desc')).items.map((w: any) => w.name)).toEqual(['Outdoor Run', 'Walking']);
    expect((await list('?start=2025-01-01T00:00:00Z')).items.map((w: any) => w.name)).toEqual(['Outdoor Run']);
    const first = await list('?limit=1');
    expect(first.items.map((w: any) => w.name)).toEqual(['Walking']);
    expect((await list(`?limit=1&cursor=${first.next}`)).items.map((w: any) => w.name)).toEqual(['Outdoor Run']);
  });

  it('gives the v2 workout its route as a GeoJSON LineString of 600 [lon, lat, altitude] in time order, with its series', async () => {
    const { items } = await list();
    const response = await get(`/api/v1/data/workouts/${items[1].id}`);
    expect(response.statusCode).toBe(200);
    const workout = response.json();
    expect(workout.route.type).toBe('LineString');
    expect(workout.route.coordinates).toHaveLength(600);
    expect(workout.route.coordinates).toEqual(expected);
    expect(Object.keys(workout.series).sort()).toEqual(['heartRateData', 'heartRateRecovery', 'stepCount', 'walkingAndRunningDistance']);
    expect(workout.series.heartRateData).toHaveLength(v2.heartRateData.length);
    const times = workout.series.stepCount.map((p: any) => p.time);
    expect(times).toEqual([...times].sort());
    expect(workout.original.metadata).toEqual(v2.metadata);
  });

  it('gives a workout without route points a null route', async () => {
    const { key: other } = await t.userWithKey('indoor@example.com');
    const sample = { kind: 'workout', type: 'workouts', workout_key: 'INDOOR-1', name: 'Yoga', start: '2025-06-02T07:00:00Z', end: '2025-06-02T07:45:00Z' };
    expect((await t.ingest({ samples: [sample] }, other)).json().counts.inserted).toBe(1);
    const [item] = (await (await get('/api/v1/data/workouts', other)).json()).items;
    expect(item.has_route).toBe(false);
    expect((await get(`/api/v1/data/workouts/${item.id}`, other)).json().route).toBeNull();
  });

  it('finds the workout whose route crosses a box around its start, and not with a box elsewhere', async () => {
    const near = await list('?bbox=-122.34,47.60,-122.32,47.61');
    expect(near.items.map((w: any) => w.name)).toEqual(['Outdoor Run']);
    const berlin = await list('?bbox=13.3,52.5,13.5,52.6');
    expect(berlin.items.map((w: any) => w.name)).toEqual(['Walking']);
    const elsewhere = await list('?bbox=2.2,48.8,2.4,48.9');
    expect(elsewhere.items).toEqual([]);
  });

  it('refines the box search with the line itself where PostGIS exists (a corner of the route box the line never crosses)', async () => {
    const corner = await list('?bbox=-122.33,47.75,-122.30,47.78');
    expect(corner.items.map((w: any) => w.name)).toEqual(t.postgis ? [] : ['Outdoor Run']);
  });

  it('refuses a malformed box with 400 saying what a box is', async () => {
    for (const bbox of ['1,2,3', 'a,b,c,d', '10,0,5,1', '0,-91,1,1']) {
      const response = await get(`/api/v1/data/workouts?bbox=${bbox}`);
      expect(response.statusCode, bbox).toBe(400);
      expect(response.json().error.message).toMatch(/bbox must be minLon,minLat,maxLon,maxLat/);
    }
  });

  it("answers 404 for another user's workout, exactly as for one that does not exist, and 400 for a malformed id", async () => {
    const { items } = await list();
    const { key: stranger } = await t.userWithKey('stranger@example.com');
    const theirs = await get(`/api/v1/data/workouts/${items[1].id}`, stranger);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'workout not found' });
    expect((await get('/api/v1/data/workouts/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await get('/api/v1/data/workouts/not-a-uuid')).statusCode).toBe(400);
    expect((await (await get('/api/v1/data/workouts', stranger)).json()).items).toEqual([]);
  });
});
