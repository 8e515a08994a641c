/**
 * POST /api/v1/import/apple-health with hand-made exports: every element the
 * import reads lands on the rows the app's JSON would have written, the zip's
 * XML is found whatever its name (zip64 too), importing again changes nothing,
 * and a day covered by the export and the app is not counted twice.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import {
  ECG_VOLTAGES,
  ORPHAN_ROUTE_FILE,
  ROUTE_POINTS,
  exportXml,
  exportZip,
  record,
} from '../helpers/apple-health.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { databaseKinds } from '../helpers/databases.js';
import { watchedBody } from '../helpers/memory.js';
import type { Counts } from '../../src/storage/repositories/ingestions.js';
import { until } from '../helpers/until.js';

interface View {
  id: string;
  status: string;
  status_url: string;
  format: string | null;
  counts: Counts | null;
  by_type: Record<string, Counts> | null;
  error: { code: string; message: string } | null;
  duplicate?: boolean;
}

describe.each(databaseKinds())('importing an Apple Health export (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  async function importExport(key: string, body: Buffer | string, contentType = 'application/zip'): Promise<View> {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/import/apple-health',
      headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
      payload: body,
    });
    if (response.statusCode === 200) return response.json();
    expect(response.statusCode, response.body).toBe(202);
    return finished(key, response.json<View>().status_url);
  }

  async function finished(key: string, url: string): Promise<View> {
    return until('the import to finish', async () => {
      const view = (await t.app.inject({ url, headers: { authorization: `Bearer ${key}` } })).json<View>();
      return view.status === 'completed' || view.status === 'failed' ? view : null;
    });
  }

  const rows = async (sql: string, params: unknown[]) => (await t.db.query<Record<string, unknown>>(sql, params)).rows;
  const iso = (value: unknown) => new Date(value as string).toISOString();

  it('stores every element of a zip whose export.xml has a localized name, as the app would have (zip64)', async () => {
    const user = await t.userWithKey('zip@example.com');
    const view = await importExport(user.key, await exportZip('导出.xml', { zip64: true }));
    expect(view.status, JSON.stringify(view.error)).toBe('completed');
    expect(view.format).toBe('apple_health');
    const c = expectCountsAddUp({ counts: view.counts!, by_type: view.by_type! });
    expect(view.by_type!.heart_rate).toMatchObject({ received: 2, inserted: 1, rejected: 1 });
    expect(view.by_type!.blood_pressure).toMatchObject({ received: 1, inserted: 1 });
    expect(view.by_type!.clinical_records).toMatchObject({ received: 2, rejected: 2 });
    expect(view.by_type!.workout_routes).toMatchObject({ received: 1, inserted: 1 });
    const id = user.userId;

    const heart = await rows('SELECT start_at, source, min, avg, max, context FROM heart_rate_samples WHERE user_id = $1', [id]);
    expect(heart.map((r) => ({ ...r, start_at: iso(r.start_at) }))).toEqual([
      { start_at: '2024-03-13T07:00:00.000Z', source: 'Arun’s Apple\u00a0Watch', min: 72, avg: 72, max: 72, context: 'Sedentary' },
    ]);

    const quantities = await rows('SELECT metric, start_at, end_at, source, value, unit, sent_value, sent_unit, extra FROM quantity_samples WHERE user_id = $1 ORDER BY metric, start_at', [id]);
    const byMetric = new Map(quantities.map((r) => [r.metric as string, r]));
    expect(byMetric.get('step_count')).toMatchObject({ source: 'iPhone', value: 1200, unit: 'count' });
    expect(iso(byMetric.get('step_count')!.end_at)).toBe('2024-03-13T08:10:00.000Z');
    expect(byMetric.get('walking_running_distance')).toMatchObject({ value: 900, unit: 'm', sent_value: 0.9, sent_unit: 'km' });
    expect(byMetric.get('basal_energy_burned')!.value).toBeCloseTo(100, 6);
    // HealthKit writes a fraction with unit %; the app sends percents.
    expect(byMetric.get('blood_oxygen_saturation')).toMatchObject({ value: 97, unit: '%' });
    expect(byMetric.get('heart_rate_variability')).toMatchObject({
      value: 45.5,
      unit: 'ms',
      extra: { beats: [{ bpm: 62, time: '8:00:01.23 AM' }, { bpm: 64, time: '8:00:02.18 AM' }] },
    });
    expect(byMetric.get('weight_body_mass')).toMatchObject({ unit: 'kg', sent_value: 154.3, sent_unit: 'lb', extra: { metadata: { HKWasUserEntered: '1' } } });
    expect(byMetric.get('headphone_audio_exposure')).toMatchObject({ source: 'AirPods', value: 71.2, unit: 'dBASPL' });
    expect(byMetric.get('apple_stand_hour')).toMatchObject({ value: 1, unit: 'count' });
    expect(byMetric.get('mindful_minutes')).toMatchObject({ source: 'Breathe', value: 600, unit: 's' });
    expect(byMetric.get('dietary_energy')).toMatchObject({ source: 'MyFitnessPal', value: 95, unit: 'kcal', extra: { food: { HKFoodType: 'Apple' } } });
    expect(byMetric.get('carbohydrates')).toMatchObject({ value: 25, unit: 'g' });
    expect(byMetric.get('activity_summary')).toMatchObject({ value: 450, unit: 'kcal', extra: { appleExerciseTime: 35, appleStandHours: 11, activeEnergyBurnedGoal: 500 } });
    // Unknown types are stored under their identifiers.
    expect(byMetric.get('HKQuantityTypeIdentifierFutureThing')).toMatchObject({ value: 3, unit: 'zz' });
    expect(byMetric.get('HKCategoryTypeIdentifierHeadphoneAudioExposureEvent')).toMatchObject({ source: 'AirPods', extra: { value: 'HKCategoryValueHeadphoneAudioExposureEventSevenDayLimit' } });
    // The correlation's Records are the blood_pressure reading; a systolic no correlation holds stays a sample.
    expect(quantities.filter((r) => String(r.metric).includes('BloodPressure')).map((r) => [r.metric, r.value])).toEqual([
      ['HKQuantityTypeIdentifierBloodPressureSystolic', 131],
    ]);
    const pressure = await rows('SELECT start_at, source, systolic, diastolic FROM blood_pressure_samples WHERE user_id = $1', [id]);
    expect(pressure.map((r) => ({ ...r, start_at: iso(r.start_at) }))).toEqual([{ start_at: '2024-03-13T06:30:00.000Z', source: 'Omron', systolic: 121, diastolic: 79 }]);

    const sleep = await rows('SELECT start_at, end_at, stage, hours FROM sleep_segments WHERE user_id = $1 ORDER BY start_at, stage', [id]);
    expect(sleep.map((r) => [iso(r.start_at), r.stage, Number((r.hours as number).toFixed(3))])).toEqual([
      ['2024-03-12T22:00:00.000Z', 'InBed', 7.5],
      ['2024-03-12T22:10:00.000Z', 'Core', 2],
      ['2024-03-13T00:10:00.000Z', 'Deep', 0.833],
      ['2024-03-13T01:00:00.000Z', 'Awake', 0.083],
    ]);

    const events = await rows('SELECT type, qualifier, data FROM health_events WHERE user_id = $1', [id]);
    expect(events).toEqual([
      expect.objectContaining({ type: 'heart_rate_notifications', qualifier: 'high_heart_rate_notification', data: expect.objectContaining({ threshold: '120 count/min' }) }),
    ]);

    const workouts = await rows('SELECT id, workout_key, name, duration_s, distance_m, active_energy_kcal, total_energy_kcal, is_indoor, min_heart_rate, avg_heart_rate, max_heart_rate, original FROM workouts WHERE user_id = $1 ORDER BY start_at', [id]);
    const run = workouts.find((w) => w.name === 'Running')!;
    expect(run).toMatchObject({ duration_s: 1800, distance_m: 5200, active_energy_kcal: 300, total_energy_kcal: 340, is_indoor: false, min_heart_rate: 100, avg_heart_rate: 150, max_heart_rate: 175 });
    expect(run.original).toMatchObject({ events: [expect.objectContaining({ type: 'HKWorkoutEventTypePause', duration: 1 }), expect.anything()], statistics: expect.any(Object) });
    const points = await rows('SELECT point_time, lat, lon, altitude, speed, course FROM workout_route_points WHERE user_id = $1 AND workout_id = $2 ORDER BY point_time', [id, run.id]);
    expect(points.map((p) => [iso(p.point_time), p.lat, p.lon, p.altitude, p.speed, p.course])).toEqual(
      ROUTE_POINTS.map((p) => [new Date(p.time).toISOString(), p.lat, p.lon, p.ele, p.speed < 0 ? null : p.speed, null]),
    );
    expect(workouts.find((w) => w.name === 'Walking')).toMatchObject({ distance_m: 3100, active_energy_kcal: 150, duration_s: 2700 });
    // A route whose workout is not in export.xml is kept, as a workout of its own.
    expect(workouts.find((w) => w.workout_key === `apple-route:${ORPHAN_ROUTE_FILE}`)).toBeDefined();

    const ecg = await rows('SELECT start_at, classification, sampling_frequency, voltages, voltage_unit, data FROM ecg_recordings WHERE user_id = $1', [id]);
    expect(ecg).toHaveLength(1);
    expect(ecg[0]).toMatchObject({ classification: 'Sinus Rhythm', sampling_frequency: 512, voltages: ECG_VOLTAGES, voltage_unit: 'µV' });
    expect(ecg[0]!.data).not.toHaveProperty('Name');
    expect(iso(ecg[0]!.start_at)).toBe('2024-03-13T15:00:00.000Z');

    // Run again through today's parser: every sample is found unchanged.
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${view.id}/reprocess`, headers: { authorization: `Bearer ${user.key}` } });
    const reprocessed = again.statusCode === 200 ? again.json<View>() : await finished(user.key, again.json<View>().status_url);
    expect(expectCountsAddUp({ counts: reprocessed.counts!, by_type: reprocessed.by_type! })).toEqual({ ...c, inserted: 0, updated: 0, unchanged: c.inserted + c.updated + c.unchanged });
  });

  it('imports export.xml alone, and an export already imported from its zip is all unchanged', async () => {
    const user = await t.userWithKey('xml@example.com');
    const zip = await importExport(user.key, await exportZip());
    expect(zip.status).toBe('completed');
    const xml = await importExport(user.key, exportXml(), 'application/xml');
    expect(xml.status, JSON.stringify(xml.error)).toBe('completed');
    expect(xml.counts).toMatchObject({ inserted: 0, updated: 0 });
    expect(xml.counts!.unchanged).toBeGreaterThan(20);
    // The same bytes again: the earlier ingestion, nothing written.
    const same = await importExport(user.key, exportXml(), 'application/xml');
    expect(same).toMatchObject({ duplicate: true, id: xml.id });
  });

  it('merges a workout the app already sent (same activity, start and end within a second) instead of storing it twice', async () => {
    const user = await t.userWithKey('merge@example.com');
    const app = await t.ingest(
      {
        data: {
          workouts: [
            {
              id: 'd1c3e0c4-9a2b-4bfe-8a55-0c1f1e2d3a4b',
              name: 'Outdoor Walk',
              start: '2024-03-13 18:00:00 +0100',
              end: '2024-03-13 18:45:01 +0100',
              duration: 2701,
              distance: { qty: 3.05, units: 'km' },
            },
          ],
        },
      },
      user.key,
    );
    expect(app.json().counts).toMatchObject({ inserted: 1 });
    const view = await importExport(user.key, exportXml(), 'application/xml');
    expect(view.status).toBe('completed');
    const walks = await rows(`SELECT workout_key, distance_m, active_energy_kcal, original FROM workouts WHERE user_id = $1 AND name ILIKE '%walk%'`, [user.userId]);
    expect(walks).toHaveLength(1);
    // The app's values stay; the export fills what the app did not send, and keeps its own fields apart.
    expect(walks[0]).toMatchObject({ workout_key: 'D1C3E0C4-9A2B-4BFE-8A55-0C1F1E2D3A4B', distance_m: 3050, active_energy_kcal: 150 });
    expect(walks[0]!.original).toMatchObject({ name: 'Outdoor Walk', apple_health: { workoutActivityType: 'HKWorkoutActivityTypeWalking' } });
    const again = await importExport(user.key, `${exportXml()}\n`, 'application/xml');
    expect(again.by_type!.workouts).toMatchObject({ inserted: 0, updated: 0 });
  });

  it('counts a day covered by the raw samples of the export and the app\'s hourly buckets once', async () => {
    const user = await t.userWithKey('overlap@example.com');
    // The app: one hourly bucket of the iPhone's steps, 09:00-10:00 local.
    const app = await t.ingest(
      { data: { metrics: [{ name: 'step_count', units: 'count', data: [{ date: '2024-03-13 09:00:00 +0100', start: '2024-03-13 09:00:00 +0100', end: '2024-03-13 10:00:00 +0100', qty: 1500, source: 'iPhone' }] }] } },
      user.key,
    );
    expect(app.json().counts).toMatchObject({ inserted: 1 });
    // The export: the same hour as HealthKit's raw samples, 1200 + 310 (the bucket was sent before the hour ended).
    const extra = record('HKQuantityTypeIdentifierStepCount', { sourceName: 'iPhone', unit: 'count', startDate: '2024-03-13 09:10:00 +0100', endDate: '2024-03-13 09:20:00 +0100', value: '310' });
    const view = await importExport(user.key, exportXml(extra), 'application/xml');
    expect(view.status).toBe('completed');
    const summary = await t.app.inject({ url: '/api/v1/summary/daily?start=2024-03-13&end=2024-03-13&tz=Europe/Berlin', headers: { authorization: `Bearer ${user.key}` } });
    // Within the iPhone's steps the finer grain (the raw samples) wins: not 1500 + 1510.
    expect(summary.json().items[0].steps).toBe(1510);
  });

  it('fails an XML body that is not an export, saying so, and keeps it', async () => {
    const user = await t.userWithKey('notexport@example.com');
    const view = await importExport(user.key, '<?xml version="1.0"?><gpx><trk/></gpx>', 'application/xml');
    expect(view.status).toBe('failed');
    expect(view.error).toMatchObject({ code: 'UNPROCESSABLE_PAYLOAD', message: expect.stringMatching(/neither export.zip nor Apple Health's export.xml: the root element is <gpx>/) });
    const zip = await importExport(user.key, await exportZip().then(() => Buffer.from('PK\u0003\u0004 not really a zip')));
    expect(zip.status).toBe('failed');
    expect(zip.error!.message).toMatch(/zip/);
  });

  it('refuses an upload over IMPORT_MAX_MB, and uploads past IMPORT_MAX_MB_PER_USER_PER_DAY (413)', async () => {
    const limited = await createTestApp(kind, { reset: false, env: { IMPORT_MAX_MB: '1', IMPORT_MAX_MB_PER_USER_PER_DAY: '2' } });
    try {
      const user = await limited.userWithKey('limits@example.com');
      const send = (body: string) =>
        limited.app.inject({ method: 'POST', url: '/api/v1/import/apple-health', headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/xml' }, payload: body });
      const big = await send(exportXml(`<!-- ${'x'.repeat(1024 * 1024)} -->\n`));
      expect(big.statusCode).toBe(413);
      expect(big.json().error.message).toMatch(/IMPORT_MAX_MB/);
      // Streamed without a Content-Length: refused once the archive passes the limit, naming the same setting.
      const streamed = await limited.app.inject({
        method: 'POST',
        url: '/api/v1/import/apple-health',
        headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/xml' },
        payload: Readable.from([Buffer.from(exportXml(`<!-- ${'y'.repeat(1024 * 1024)} -->\n`))]),
      });
      expect(streamed.statusCode).toBe(413);
      expect(streamed.json().error.message).toBe('body is larger than the limit of 1 MB (IMPORT_MAX_MB)');
      for (let i = 0; i < 2; i++) expect((await send(exportXml(`<!-- ${i} ${'x'.repeat(900 * 1024)} -->\n`))).statusCode).toBe(202);
      const third = await send(exportXml(`<!-- 3 ${'x'.repeat(900 * 1024)} -->\n`));
      expect(third.statusCode).toBe(413);
      expect(third.json().error.message).toMatch(/IMPORT_MAX_MB_PER_USER_PER_DAY/);
      const json = await limited.app.inject({ method: 'POST', url: '/api/v1/import/apple-health', headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/json' }, payload: '{}' });
      expect(json.statusCode).toBe(415);
    } finally {
      await limited.close();
    }
  });

  it('holds no more than a few chunks of a 200 MB export on the request path (it read the whole body into memory before archiving it)', async () => {
    const user = await t.userWithKey('big-export@example.com');
    const size = 200 * 1024 * 1024;
    const step = (i: number) =>
      record('HKQuantityTypeIdentifierStepCount', { sourceName: `Watch ${i % 97}`, unit: 'count', value: String(i % 500), startDate: '2024-03-13 08:00:00 +0100', endDate: '2024-03-13 08:01:00 +0100' });
    function* text() {
      yield '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n';
      let sent = 0;
      for (let i = 0; sent < size; i += 1) {
        const piece = Array.from({ length: 1000 }, (_, j) => step(i * 1000 + j)).join('\n');
        sent += piece.length;
        yield piece;
      }
      yield '\n</HealthData>\n';
    }
    const body = watchedBody(text);
    // An identical earlier import, so this one is archived and answered without being processed:
    // what is measured is the request path alone.
    await t.db.query(`INSERT INTO raw_ingestions (user_id, source, headers, size_bytes, sha256, status, format) VALUES ($1, 'http', '{}', $2, $3, 'completed', 'apple_health')`, [
      user.userId,
      body.length,
      body.sha256,
    ]);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/import/apple-health',
      headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/xml' },
      payload: body.send(),
    });
    const growth = body.growth();
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ duplicate: true, size_bytes: body.length, format: 'apple_health' });
    console.log(`import request path, ${(body.length / 1048576).toFixed(0)} MB body: arrayBuffers grew by ${(growth / 1048576).toFixed(1)} MB`);
    expect(growth).toBeLessThan(100 * 1024 * 1024);
  }, 300_000);
});
