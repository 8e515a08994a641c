/**
 * Every stored type has a reading endpoint: state of mind, symptoms, medications,
 * cycle tracking, heart-rate notifications and ECG (list without voltages, one
 * recording with them by a stable id), paged and filtered like the other lists;
 * /data/types lists every type with counts and first/last times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { fixtureJson, readFixture } from '../helpers/fixtures.js';

/** Five moods a day apart, from two sources, for paging and filters. */
const moods = {
  data: {
    stateOfMind: [1, 2, 3, 4, 5].map((day) => ({
      id: `00000000-0000-4000-8000-00000000000${day}`,
      start: `2025-03-0${day} 21:00:00 +0000`,
      end: `2025-03-0${day} 21:00:00 +0000`,
      kind: 'daily_mood',
      valence: day / 10,
      source: day % 2 === 0 ? 'iPhone' : 'Apple Watch',
    })),
  },
};

describe.each(databaseKinds())('reading every other type (%s database)', (kind) => {
  let t: TestApp;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    // Uploads are answered when finished however loaded the machine is (not the 202 path under test here).
    t = await createTestApp(kind, { env: { INGEST_SYNC_BUDGET_MS: '600000' } });
    ({ key } = await t.userWithKey('owner@example.com'));
    ({ key: otherKey } = await t.userWithKey('other@example.com'));
    for (const body of [readFixture('other-data-types.json'), readFixture('workouts-v1-v2-with-routes.json'), readFixture('edge-cases-metrics.json'), JSON.stringify(moods)]) {
      expect((await t.ingest(body, key)).statusCode).toBe(200);
    }
  });
  afterAll(() => t.close());

  const get = (url: string, as = key) => t.app.inject({ url, headers: { authorization: `Bearer ${as}` } });
  const ok = async (url: string, as = key) => {
    const response = await get(url, as);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  it('lists each event type with the record as sent, only the caller\'s', async () => {
    const sent = fixtureJson('other-data-types.json').data;
    const symptoms = await ok('/api/v1/data/symptoms');
    expect(symptoms).toEqual({
      items: [{ start: '2025-02-03T08:00:00.000Z', end: '2025-02-03T11:00:00.000Z', source: 'iPhone', qualifier: 'Fatiga', data: sent.symptoms[0], canonical: { name: 'fatigue' } }],
      next: null,
    });
    const medications = await ok('/api/v1/data/medications');
    expect(medications.items).toHaveLength(1);
    expect(medications.items[0]).toMatchObject({ start: '2025-02-03T07:00:00.000Z', qualifier: 'Ibuprofen 200 mg', data: sent.medications[0], canonical: { status: 'taken' } });
    const cycle = await ok('/api/v1/data/cycle-tracking');
    expect(cycle.items.map((i: any) => [i.start, i.end, i.qualifier, i.data.value, i.canonical])).toEqual([
      ['2025-01-31T23:00:00.000Z', '2025-02-01T23:00:00.000Z', 'Menstrual Flow', 'Medium', { name: 'menstrual_flow', value: 'medium' }],
    ]);
    const notifications = await ok('/api/v1/data/heart-rate-notifications');
    expect(notifications.items).toHaveLength(1);
    expect(notifications.items[0]).toMatchObject({ start: '2025-02-03T13:00:00.000Z', end: '2025-02-03T13:10:00.000Z', source: 'Apple Watch' });
    expect(notifications.items[0].data.heartRateData).toHaveLength(10);

    expect(await ok('/api/v1/data/symptoms', otherKey)).toEqual({ items: [], next: null });
  });

  it('pages state of mind with a cursor and filters by time and source', async () => {
    const first = await ok('/api/v1/data/state-of-mind?limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.next).toEqual(expect.any(String));
    const all = [...first.items];
    let next: string | null = first.next;
    while (next) {
      const page: { items: any[]; next: string | null } = await ok(`/api/v1/data/state-of-mind?limit=2&cursor=${next}`);
      all.push(...page.items);
      next = page.next;
    }
    // The fixture's one mood and the five a day apart, each once, in start order.
    expect(all.map((i) => i.start)).toEqual(['2025-02-03T20:10:00.000Z', ...[1, 2, 3, 4, 5].map((d) => `2025-03-0${d}T21:00:00.000Z`)]);
    expect(all.at(-1)).toMatchObject({ source: 'Apple Watch', qualifier: '00000000-0000-4000-8000-000000000005', data: { valence: 0.5, kind: 'daily_mood' } });

    const ranged = await ok(`/api/v1/data/state-of-mind?start=${encodeURIComponent('2025-03-02T21:00:00Z')}&end=${encodeURIComponent('2025-03-05T00:00:00+03:00')}`);
    expect(ranged.items.map((i: any) => i.data.valence)).toEqual([0.2, 0.3]);
    const bySource = await ok('/api/v1/data/state-of-mind?source=iPhone&order=desc');
    expect(bySource.items.map((i: any) => i.data.valence)).toEqual([0.4, 0.2]);
    // A heart-rate cursor is not a state-of-mind cursor.
    const heartRatePage = await ok('/api/v1/data/heart-rate?limit=1');
    expect(heartRatePage.next).toEqual(expect.any(String));
    expect((await get(`/api/v1/data/state-of-mind?cursor=${heartRatePage.next}`)).statusCode).toBe(400);
  });

  it('lists ECG recordings without voltages and serves one with them by its id', async () => {
    const list = await ok('/api/v1/data/ecg');
    expect(list.items).toHaveLength(1);
    const item = list.items[0];
    expect(item).toMatchObject({ start: '2025-02-03T14:00:00.000Z', end: '2025-02-03T14:00:30.000Z', source: 'Apple Watch', classification: 'Ritmo sinusal', average_heart_rate: 72, sampling_frequency: 512, voltage_unit: 'mcV' });
    expect(item).not.toHaveProperty('voltages');
    expect(item.data).not.toHaveProperty('voltageMeasurements');
    const stored = (await t.db.query<{ id: string; n: number }>('SELECT id, cardinality(voltages)::int AS n FROM ecg_recordings')).rows;
    expect(stored).toEqual([{ id: item.id, n: 600 }]);

    const detail = await ok(`/api/v1/data/ecg/${item.id}`);
    const sent = fixtureJson('other-data-types.json').data.ecg[0].voltageMeasurements;
    expect(detail).toMatchObject({ ...item });
    expect(detail.voltages).toEqual(sent.map((v: any) => v.voltage));
    expect(detail.voltage_times).toEqual(sent.map((v: any) => v.date));

    // The id survives a re-send of the same recording (an upsert in place).
    expect((await t.ingest(readFixture('other-data-types.json'), key)).statusCode).toBe(200);
    expect((await ok('/api/v1/data/ecg')).items[0].id).toBe(item.id);
    // Another user's recording is not found, like a missing one.
    expect((await get(`/api/v1/data/ecg/${item.id}`, otherKey)).statusCode).toBe(404);
    expect((await get('/api/v1/data/ecg/00000000-0000-4000-8000-000000000000')).json().error).toMatchObject({ code: 'NOT_FOUND', message: 'ecg recording not found' });
  });

  it('lists every type the user has with counts, first and last times, and where to read it; /data/metrics keeps its shape', async () => {
    const types = await ok('/api/v1/data/types?limit=1000');
    const byType = Object.fromEntries(types.items.map((i: any) => [`${i.type} ${i.path}`, i]));
    expect(byType['state_of_mind /api/v1/data/state-of-mind']).toEqual({
      type: 'state_of_mind', unit: null, count: 6, first: '2025-02-03T20:10:00.000Z', last: '2025-03-05T21:00:00.000Z', path: '/api/v1/data/state-of-mind',
    });
    for (const [type, path] of [['symptoms', 'symptoms'], ['medications', 'medications'], ['cycle_tracking', 'cycle-tracking'], ['heart_rate_notifications', 'heart-rate-notifications'], ['ecg', 'ecg']]) {
      expect(byType[`${type} /api/v1/data/${path}`], type).toMatchObject({ count: 1, unit: null });
    }
    const workouts = Number((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM workouts')).rows[0]!.n);
    expect(byType['workouts /api/v1/data/workouts']).toMatchObject({ count: workouts });
    expect(workouts).toBeGreaterThan(0);

    const metrics = await ok('/api/v1/data/metrics?limit=1000');
    for (const metric of metrics.items) {
      expect(Object.keys(metric).sort()).toEqual(['count', 'first', 'last', 'name', 'path', 'unit']);
      expect(byType[`${metric.name} ${metric.path}`]).toEqual({ type: metric.name, unit: metric.unit, count: metric.count, first: metric.first, last: metric.last, path: metric.path });
    }
    expect(types.items).toHaveLength(metrics.items.length + 7);

    // Paged in (type, path) order without losing or repeating one.
    const paged: any[] = [];
    let next: string | null = null;
    do {
      const page: { items: any[]; next: string | null } = await ok(`/api/v1/data/types?limit=3${next ? `&cursor=${next}` : ''}`);
      paged.push(...page.items);
      next = page.next;
    } while (next);
    expect(paged).toEqual(types.items);
    expect(await ok('/api/v1/data/types', otherKey)).toEqual({ items: [], next: null });
  });
});
