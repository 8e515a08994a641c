/**
 * Shapes the app really sends, as its users reported them in its public issue
 * tracker (issue 17, section 3): each is stored faithfully, or rejected with a
 * reason, on both databases. Asserted on the rows stored and the answers read back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

describe.each(databaseKinds())('shapes the app really sends (%s database)', (kind) => {
  let t: TestApp;
  let users = 0;
  let key = '';
  let userId = '';
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  /** A new user for each test: `key` and `userId` are theirs. */
  async function newUser() {
    ({ key, userId } = await t.userWithKey(`shapes-${(users += 1)}@example.com`));
  }

  async function ingest(data: Record<string, unknown>) {
    const response = await t.ingest({ data }, key);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  async function rows<R>(sql: string): Promise<R[]> {
    return (await t.db.query<R & Record<string, unknown>>(sql, [userId])).rows;
  }

  async function rejections(id: string) {
    return (await t.app.inject({ url: `/api/v1/ingestions/${id}/rejections`, headers: { authorization: `Bearer ${key}` } })).json().items;
  }

  const sleep = (data: unknown[]) => ({ metrics: [{ name: 'sleep_analysis', units: 'hr', data }] });

  it('stores a heart-rate notification with epoch-second dates, a heartRateData array and an object source as sent', async () => {
    await newUser();
    const heartRateData = [
      { date: 760280400, qty: 121, units: 'bpm' },
      { date: 760280460.5, qty: 123, units: 'bpm' },
    ];
    const notification = {
      heartNotification: 'high_heart_rate_notification',
      threshold: 120,
      // Seconds since 2001-01-01Z, like the series inside: 2025-02-03 13:00 and 13:10 UTC.
      start: 760280400,
      end: 760281000,
      source: { name: 'Apple Watch', identifier: 'com.apple.health.X' },
      heartRateData,
    };
    const body = await ingest({ heartRateNotifications: [notification] });
    expect(body.counts).toMatchObject({ received: 1, inserted: 1, rejected: 0 });
    const [row] = await rows<{ start_at: Date; end_at: Date; source: string; qualifier: string; data: any }>(
      "SELECT start_at, end_at, source, qualifier, data FROM health_events WHERE user_id = $1 AND type = 'heart_rate_notifications'",
    );
    expect(row!.start_at.toISOString()).toBe('2025-02-03T13:00:00.000Z');
    expect(row!.end_at.toISOString()).toBe('2025-02-03T13:10:00.000Z');
    expect(row).toMatchObject({ source: 'Apple Watch', qualifier: 'high_heart_rate_notification' });
    expect(row!.data).toEqual(notification);
  });

  it('stores state of mind sent with slugs (daily_mood, slightly_pleasant) rather than the documented numbers, as sent', async () => {
    await newUser();
    const mood = {
      id: 'a1b2c3d4-0000-4000-8000-000000000002',
      start: '2025-02-03 21:10:00 +0100',
      end: '2025-02-03 21:10:00 +0100',
      kind: 'daily_mood',
      valence: 0.21,
      valenceClassification: 'slightly_pleasant',
      labels: ['calm'],
      associations: ['family'],
      metadata: {},
    };
    expect((await ingest({ stateOfMind: [mood] })).counts).toMatchObject({ received: 1, inserted: 1, rejected: 0 });
    const stored = await rows<{ qualifier: string; data: any; canonical: unknown }>(
      "SELECT qualifier, data, canonical FROM health_events WHERE user_id = $1 AND type = 'state_of_mind'",
    );
    expect(stored).toEqual([{ qualifier: 'A1B2C3D4-0000-4000-8000-000000000002', data: mood, canonical: null }]);
  });

  it('keeps medication, ECG, symptom and cycle-tracking values as sent in the phone\'s language, with their canonical form where recognised', async () => {
    await newUser();
    const at = (hour: number) => `2025-02-03 ${String(hour).padStart(2, '0')}:00:00 +0100`;
    const body = await ingest({
      medications: [
        { displayText: 'Medication A', start: at(8), status: 'Tomado', isArchived: false, codings: [] },
        { displayText: 'Medication A', start: at(20), status: 'Taken', isArchived: false, codings: [] },
        { displayText: 'Dexketoprofeno ', start: at(9), status: 'Estado desconocido', isArchived: false, codings: [] },
      ],
      symptoms: [{ start: at(9), end: at(12), name: 'Fatiga', severity: 'Moderate', userEntered: true, source: 'iPhone' }],
      cycleTracking: [{ start: at(0), end: at(23), name: 'Flujo Menstrual', value: 'Pesado', isCycleStart: true }],
      ecg: [
        { start: at(15), end: '2025-02-03 15:00:30 +0100', classification: 'Sinus Rhythm', averageHeartRate: 72, source: 'Apple Watch', voltageMeasurements: [] },
        { start: at(16), end: '2025-02-03 16:00:30 +0100', classification: 'Ritmo desconocido', averageHeartRate: 70, source: 'Apple Watch', voltageMeasurements: [] },
      ],
    });
    expect(body.counts).toMatchObject({ received: 7, inserted: 7, rejected: 0 });
    const events = await rows<{ type: string; qualifier: string; value: string; canonical: unknown }>(
      `SELECT type, qualifier, coalesce(data->>'status', data->>'value', data->>'severity') AS value, canonical
       FROM health_events WHERE user_id = $1 ORDER BY type, start_at`,
    );
    expect(events).toEqual([
      { type: 'cycle_tracking', qualifier: 'Flujo Menstrual', value: 'Pesado', canonical: { name: 'menstrual_flow', value: 'heavy' } },
      { type: 'medications', qualifier: 'Medication A', value: 'Tomado', canonical: { status: 'taken' } },
      // Not recognised: stored as sent, canonical null; the qualifier keeps its trailing space.
      { type: 'medications', qualifier: 'Dexketoprofeno ', value: 'Estado desconocido', canonical: null },
      { type: 'medications', qualifier: 'Medication A', value: 'Taken', canonical: { status: 'taken' } },
      { type: 'symptoms', qualifier: 'Fatiga', value: 'Moderate', canonical: { name: 'fatigue', severity: 'moderate' } },
    ]);
    const ecg = await rows<{ classification: string; canonical: unknown }>('SELECT classification, canonical FROM ecg_recordings WHERE user_id = $1 ORDER BY start_at');
    expect(ecg).toEqual([
      { classification: 'Sinus Rhythm', canonical: { classification: 'sinus_rhythm' } },
      { classification: 'Ritmo desconocido', canonical: null },
    ]);
  });

  it('stores samples that carry start/end and startDate/endDate/date together, and rejects them with a reason when the two disagree', async () => {
    await newUser();
    const body = await ingest({
      metrics: [
        {
          name: 'sleep_analysis',
          units: 'hr',
          data: [
            {
              startDate: '2025-04-18 23:16:55 -0400', endDate: '2025-04-18 23:20:55 -0400',
              start: '2025-04-18 23:16:55 -0400', end: '2025-04-18 23:20:55 -0400', date: '2025-04-18 23:16:55 -0400',
              qty: 0.0667, value: 'Core', source: 'Watch',
            },
            {
              startDate: '2025-04-18 23:20:55 -0400', endDate: '2025-04-18 23:30:55 -0400',
              start: '2025-04-18 23:20:55 -0400', end: '2025-04-18 23:31:55 -0400',
              qty: 0.1667, value: 'Deep', source: 'Watch',
            },
          ],
        },
        {
          name: 'step_count',
          units: 'count',
          data: [{ date: '2025-04-18 10:00:00 -0400', start: '2025-04-18 10:00:00 -0400', end: '2025-04-18 10:01:00 -0400', startDate: '2025-04-18 10:00:00 -0400', qty: 12 }],
        },
      ],
    });
    expect(body.counts).toMatchObject({ received: 3, inserted: 2, rejected: 1 });
    const segments = await rows<{ start_at: Date; end_at: Date; stage: string }>('SELECT start_at, end_at, stage FROM sleep_segments WHERE user_id = $1');
    expect(segments.map((s) => [s.start_at.toISOString(), s.end_at.toISOString(), s.stage])).toEqual([['2025-04-19T03:16:55.000Z', '2025-04-19T03:20:55.000Z', 'Core']]);
    const steps = await rows<{ start_at: Date; end_at: Date }>("SELECT start_at, end_at FROM quantity_samples WHERE user_id = $1 AND metric = 'step_count'");
    expect(steps.map((s) => [s.start_at.toISOString(), s.end_at.toISOString()])).toEqual([['2025-04-18T14:00:00.000Z', '2025-04-18T14:01:00.000Z']]);
    expect(await rejections(body.id)).toEqual([
      expect.objectContaining({ type: 'sleep_analysis', reason: 'sleep_analysis[1]: endDate 2025-04-19T03:30:55.000Z and end 2025-04-19T03:31:55.000Z disagree' }),
    ]);
  });

  it('stores aggregated sleep without totalSleep, and reads its asleep time from the stages', async () => {
    await newUser();
    const body = await ingest(
      sleep([
        {
          date: '2025-04-13 00:00:00 -0400', sleepStart: '2025-04-12 23:00:00 -0400', sleepEnd: '2025-04-13 06:30:00 -0400',
          inBedStart: '2025-04-12 22:50:00 -0400', inBedEnd: '2025-04-13 06:35:00 -0400',
          asleep: 0, core: 4, deep: 1.25, rem: 1.5, awake: 0.5, inBed: 7.75, source: 'Watch',
        },
      ]),
    );
    expect(body.counts).toMatchObject({ received: 1, inserted: 1, rejected: 0 });
    const [night] = await rows<Record<string, unknown>>('SELECT total_sleep, asleep, core, deep, rem FROM sleep_nights WHERE user_id = $1');
    expect(night).toEqual({ total_sleep: null, asleep: 0, core: 4, deep: 1.25, rem: 1.5 });
    const list = await t.app.inject({ url: '/api/v1/data/sleep?tz=America/New_York', headers: { authorization: `Bearer ${key}` } });
    expect(list.json().items).toEqual([expect.objectContaining({ date: '2025-04-13', origin: 'summarised', source: 'Watch', total_sleep_h: null, asleep_h: 6.75 })]);
  });

  it('stores two unknown stages over one interval as two Unspecified segments with their names, which the summary counts as asleep', async () => {
    await newUser();
    const segment = (value: string) => ({ startDate: '2025-04-13 01:00:00 -0400', endDate: '2025-04-13 02:00:00 -0400', qty: 1, value, source: 'SleepApp' });
    const body = await ingest(sleep([segment('Light'), segment('Napping'), segment('Core')]));
    expect(body.counts).toMatchObject({ received: 3, inserted: 3, rejected: 0 });
    const stored = await rows<{ stage: string; sent_stage: string }>('SELECT stage, sent_stage FROM sleep_segments WHERE user_id = $1 ORDER BY stage, sent_stage');
    expect(stored).toEqual([
      { stage: 'Core', sent_stage: '' },
      { stage: 'Unspecified', sent_stage: 'Light' },
      { stage: 'Unspecified', sent_stage: 'Napping' },
    ]);
    const segments = await t.app.inject({ url: '/api/v1/data/sleep?detail=segments', headers: { authorization: `Bearer ${key}` } });
    expect(segments.json().items.map((s: any) => [s.stage, s.sent_stage])).toEqual([
      ['Core', ''],
      ['Unspecified', 'Light'],
      ['Unspecified', 'Napping'],
    ]);
    const summary = await t.app.inject({ url: '/api/v1/summary/daily?start=2025-04-13&end=2025-04-13&tz=America/New_York', headers: { authorization: `Bearer ${key}` } });
    expect(summary.json().items[0].sleep).toMatchObject({ asleep_h: 3, core_h: 1 });
    // Exported and imported again, the names come back as they were sent.
    const exported = await t.app.inject({ url: '/api/v1/export?format=json&types=sleep_analysis', headers: { authorization: `Bearer ${key}` } });
    const samples = exported.json().samples as Record<string, unknown>[];
    expect(samples.map((s) => s.sent_stage ?? '')).toEqual(['', 'Light', 'Napping']);
    await newUser();
    const again = await t.ingest(exported.body, key);
    expect(again.json().counts).toMatchObject({ received: 3, inserted: 3 });
    expect(await rows('SELECT stage, sent_stage FROM sleep_segments WHERE user_id = $1 ORDER BY stage, sent_stage')).toEqual(stored);
  });

  it('stores the heart-rate series of a version-1 workout in count/min like version 2, not bpm', async () => {
    await newUser();
    const response = await t.ingest(readFixture('workouts-v1-v2-with-routes.json'), key);
    expect(response.statusCode).toBe(200);
    const units = await rows<{ unit: string; n: number }>(
      "SELECT unit, count(*)::int AS n FROM workout_series WHERE user_id = $1 AND series IN ('heartRateData', 'heartRateRecovery') GROUP BY unit",
    );
    expect(units.map((u) => u.unit)).toEqual(['count/min']);
    const v1 = await rows<{ qty: number }>(
      "SELECT s.qty FROM workout_series s JOIN workouts w ON w.id = s.workout_id WHERE s.user_id = $1 AND s.series = 'heartRateData' AND w.original->>'id' IS NULL ORDER BY s.point_time LIMIT 1",
    );
    expect(v1).toEqual([{ qty: 95 }]);
  });
});
