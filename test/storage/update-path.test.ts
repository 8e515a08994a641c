/**
 * A re-sent sample with the same identity replaces the stored value in the
 * database (aggregated buckets grow while they fill), for every sample table:
 * each re-send here comes in a request of its own, so the in-memory collapsing
 * of one payload's duplicates plays no part; only the upsert's DO UPDATE does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { databaseKinds } from '../helpers/databases.js';

type Sample = Record<string, unknown>;

const at = (i: number, minutes = 0) => new Date(Date.UTC(2024, 4, 1 + i, 8, minutes)).toISOString();

interface TableCase {
  table: string;
  /** The by_type name the samples count under. */
  type: string;
  /** Sample i carrying value v in the column that changes. */
  sample(i: number, v: number): Sample;
  /** That value as stored, one row per sample, in sample order. */
  stored: string;
}

const CASES: TableCase[] = [
  {
    table: 'quantity_samples',
    type: 'step_count',
    sample: (i, v) => ({ kind: 'quantity', type: 'step_count', start: at(i), end: at(i, 60), source: 'Apple Watch', value: v, unit: 'count' }),
    stored: 'SELECT value AS v FROM quantity_samples WHERE user_id = $1 ORDER BY start_at',
  },
  {
    table: 'heart_rate_samples',
    type: 'heart_rate',
    sample: (i, v) => ({ kind: 'heart_rate', type: 'heart_rate', start: at(i), source: 'Apple Watch', min: 50, avg: v, max: 150 }),
    stored: 'SELECT avg AS v FROM heart_rate_samples WHERE user_id = $1 ORDER BY start_at',
  },
  {
    table: 'blood_pressure_samples',
    type: 'blood_pressure',
    sample: (i, v) => ({ kind: 'blood_pressure', type: 'blood_pressure', start: at(i), source: 'Omron', systolic: v + 60, diastolic: 70, pulse: 60 }),
    stored: 'SELECT systolic - 60 AS v FROM blood_pressure_samples WHERE user_id = $1 ORDER BY start_at',
  },
  {
    table: 'sleep_segments',
    type: 'sleep_analysis',
    sample: (i, v) => ({ kind: 'sleep_segment', type: 'sleep_analysis', start: at(i), end: at(i, 30), source: 'Apple Watch', stage: 'Core', hours: v / 100 }),
    stored: 'SELECT hours * 100 AS v FROM sleep_segments WHERE user_id = $1 ORDER BY start_at',
  },
  {
    table: 'sleep_nights',
    type: 'sleep_analysis',
    sample: (i, v) => ({
      kind: 'sleep_night', type: 'sleep_analysis', start: at(i), end: at(i, 59), source: 'iPhone', night_date: at(i).slice(0, 10), total_sleep: v / 10,
    }),
    stored: 'SELECT total_sleep * 10 AS v FROM sleep_nights WHERE user_id = $1 ORDER BY night_date',
  },
  {
    table: 'health_events',
    type: 'symptoms',
    sample: (i, v) => ({ kind: 'event', type: 'symptoms', start: at(i), source: 'iPhone', qualifier: 'Headache', data: { name: 'Headache', severity: v } }),
    stored: "SELECT (data->>'severity')::float8 AS v FROM health_events WHERE user_id = $1 ORDER BY start_at",
  },
  {
    table: 'ecg_recordings',
    type: 'ecg',
    sample: (i, v) => ({ kind: 'ecg', type: 'ecg', start: at(i), end: at(i, 1), source: 'Apple Watch', average_heart_rate: v, voltages: [0.1, 0.2, v] }),
    stored: 'SELECT average_heart_rate AS v FROM ecg_recordings WHERE user_id = $1 ORDER BY start_at',
  },
  {
    table: 'workouts',
    type: 'workouts',
    sample: (i, v) => ({ kind: 'workout', type: 'workouts', start: at(i), end: at(i, 45), workout_key: `W-${i}`, name: 'Outdoor Run', distance_m: v * 100 }),
    stored: 'SELECT distance_m / 100 AS v FROM workouts WHERE user_id = $1 ORDER BY start_at',
  },
];

describe.each(databaseKinds())('a re-send through the database update path (%s database)', (kind) => {
  let t: TestApp;
  let users = 0;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
  });
  afterAll(() => t.close());

  /** Each payload differs in bytes (`attempt`, a field the server ignores), so none is answered as a duplicate upload. */
  async function send(key: string, samples: Sample[], attempt: number) {
    const response = await t.ingest({ samples, attempt }, key);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.duplicate_of).toBeUndefined();
    expectCountsAddUp(body);
    return body;
  }

  it.each(CASES)('$table: a changed value updates exactly that row (updated: 1), the same values are all unchanged', async (c) => {
    const { key, userId } = await t.userWithKey(`update-${c.table}-${(users += 1)}@example.com`);
    const stored = async () => (await t.db.query<{ v: number }>(c.stored, [userId])).rows.map((row) => Number(row.v));

    const first = await send(key, [c.sample(0, 60), c.sample(1, 61), c.sample(2, 62)], 1);
    expect(first.counts).toEqual({ received: 3, inserted: 3, updated: 0, unchanged: 0, rejected: 0 });
    expect(await stored()).toEqual([60, 61, 62]);

    // The middle bucket grew while it filled: re-sent in a later upload, it replaces the stored one.
    const grown = await send(key, [c.sample(0, 60), c.sample(1, 75), c.sample(2, 62)], 2);
    expect(grown.counts).toEqual({ received: 3, inserted: 0, updated: 1, unchanged: 2, rejected: 0 });
    expect(grown.by_type[c.type]).toEqual({ received: 3, inserted: 0, updated: 1, unchanged: 2, rejected: 0 });
    expect(await stored()).toEqual([60, 75, 62]);

    // The same values again: nothing to write, all unchanged, and the stored rows are the grown ones.
    const again = await send(key, [c.sample(0, 60), c.sample(1, 75), c.sample(2, 62)], 3);
    expect(again.counts).toEqual({ received: 3, inserted: 0, updated: 0, unchanged: 3, rejected: 0 });
    expect(await stored()).toEqual([60, 75, 62]);

    // The row records the ingestion that last changed it.
    const writers = await t.db.query<{ ingestion_id: string }>(
      `SELECT ingestion_id FROM ${c.table} WHERE user_id = $1 ORDER BY ${c.table === 'sleep_nights' ? 'night_date' : 'start_at'}`,
      [userId],
    );
    expect(writers.rows.map((row) => row.ingestion_id)).toEqual([first.id, grown.id, first.id]);
  });

  it('updates in the database when the chunk holding the change also collapses duplicates of the same payload', async () => {
    const { key, userId } = await t.userWithKey(`update-mixed-${(users += 1)}@example.com`);
    const c = CASES[0]!;
    await send(key, [c.sample(0, 10), c.sample(1, 11)], 1);
    // Sample 0 twice in one payload (collapsed in memory, last wins), sample 1 changed against the database.
    const body = await send(key, [c.sample(0, 10), c.sample(0, 12), c.sample(1, 13)], 2);
    expect(body.counts).toEqual({ received: 3, inserted: 0, updated: 3, unchanged: 0, rejected: 0 });
    expect((await t.db.query<{ v: number }>(c.stored, [userId])).rows.map((row) => row.v)).toEqual([12, 13]);
  });
});
