/**
 * Exports: the JSON export is the standard ingest format, so exporting one user
 * and importing the file into another reproduces every stored sample; NDJSON and
 * CSV carry the same samples; types and time range filter; the answer is an
 * attachment without an ETag.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { until } from '../helpers/until.js';
import { readFixture } from '../helpers/fixtures.js';
import { ensurePartitions } from '../../src/storage/partitions.js';

const FIXTURES = ['real-metrics-2024-03.json', 'real-sleep-segments-2025-04.json', 'workouts-v1-v2-with-routes.json', 'other-data-types.json', 'edge-cases-metrics.json'];

/** Every stored row of a user, without the columns that name the user, the ingestion or the moment of writing. */
const SNAPSHOT: Record<string, string> = {
  quantity_samples: 'SELECT metric, start_at, end_at, source, qualifier, value, unit, sent_value, sent_unit, extra FROM quantity_samples WHERE user_id = $1 ORDER BY 1, 2, 3, 4, 5',
  heart_rate_samples: 'SELECT start_at, end_at, source, min, avg, max, context FROM heart_rate_samples WHERE user_id = $1 ORDER BY 1, 2, 3',
  blood_pressure_samples: 'SELECT start_at, end_at, source, systolic, diastolic, pulse FROM blood_pressure_samples WHERE user_id = $1 ORDER BY 1, 2, 3',
  sleep_segments: 'SELECT start_at, end_at, source, stage, hours FROM sleep_segments WHERE user_id = $1 ORDER BY 1, 2, 3, 4',
  sleep_nights: `SELECT night_date::text, source, start_at, end_at, total_sleep, asleep, core, deep, rem, awake, in_bed, in_bed_start, in_bed_end
    FROM sleep_nights WHERE user_id = $1 ORDER BY 1, 2`,
  health_events: 'SELECT type, start_at, end_at, source, qualifier, data FROM health_events WHERE user_id = $1 ORDER BY 1, 2, 3, 4, 5',
  ecg_recordings: `SELECT start_at, end_at, source, classification, average_heart_rate, sampling_frequency, voltages, voltage_times, voltage_unit, data
    FROM ecg_recordings WHERE user_id = $1 ORDER BY 1, 2, 3`,
  workouts: `SELECT workout_key, name, start_at, end_at, duration_s, distance_m, active_energy_kcal, total_energy_kcal, location, is_indoor,
    min_heart_rate, avg_heart_rate, max_heart_rate, original, route_min_lon, route_min_lat, route_max_lon, route_max_lat
    FROM workouts WHERE user_id = $1 ORDER BY 1`,
  workout_route_points: `SELECT w.workout_key, p.point_time, p.lat, p.lon, p.altitude, p.speed, p.course, p.horizontal_accuracy, p.vertical_accuracy
    FROM workout_route_points p JOIN workouts w ON w.user_id = p.user_id AND w.id = p.workout_id WHERE p.user_id = $1 ORDER BY 1, 2`,
  workout_series: `SELECT w.workout_key, s.series, s.point_time, s.source, s.qty, s.min, s.avg, s.max, s.unit
    FROM workout_series s JOIN workouts w ON w.user_id = s.user_id AND w.id = s.workout_id WHERE s.user_id = $1 ORDER BY 1, 2, 3, 4`,
};

describe.each(databaseKinds())('exports (%s database)', (kind) => {
  let t: TestApp;
  let owner: { userId: string; key: string };
  beforeAll(async () => {
    // Small batches, so every table is read across many batch boundaries.
    t = await createTestApp(kind, { env: { EXPORT_BATCH_ROWS: '500', INGEST_SYNC_BUDGET_MS: '600000' } });
    owner = await t.userWithKey('exporter@example.com');
    for (const fixture of FIXTURES) expect((await t.ingest(readFixture(fixture), owner.key)).json().status).toBe('completed');
  });
  afterAll(() => t.close());

  const exportAs = (key: string, query: string, headers: Record<string, string> = {}) =>
    t.app.inject({ url: `/api/v1/export${query}`, headers: { authorization: `Bearer ${key}`, ...headers } });

  async function snapshot(userId: string): Promise<Record<string, unknown[]>> {
    const tables: Record<string, unknown[]> = {};
    for (const [table, sql] of Object.entries(SNAPSHOT)) tables[table] = (await t.db.query(sql, [userId])).rows;
    return tables;
  }

  it('exports JSON in the standard format that, imported into another user, reproduces every stored sample', async () => {
    const response = await exportAs(owner.key, '?format=json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="health-export-\d{4}-\d{2}-\d{2}\.json"$/);
    expect(response.headers.etag).toBeUndefined();
    const exported = response.json();
    const original = await snapshot(owner.userId);
    const storedRows = Object.entries(original)
      .filter(([table]) => table !== 'workout_route_points' && table !== 'workout_series')
      .reduce((sum, [, rows]) => sum + rows.length, 0);
    expect(exported.samples).toHaveLength(storedRows);

    const copy = await t.userWithKey('importer@example.com');
    const imported = await t.ingest(response.body, copy.key);
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ format: 'standard', status: 'completed', counts: { received: storedRows, inserted: storedRows, rejected: 0 } });
    const reproduced = await snapshot(copy.userId);
    for (const table of Object.keys(SNAPSHOT)) {
      expect(original[table]!.length, table).toBeGreaterThan(0);
      expect(reproduced[table], table).toEqual(original[table]);
    }
    // Importing the same export again changes nothing.
    const again = await t.ingest(Buffer.from(`${response.body}\n`), copy.key);
    expect(again.json().counts).toMatchObject({ inserted: 0, updated: 0, unchanged: storedRows });
  });

  it('exports NDJSON, one standard sample per line, the same samples as JSON', async () => {
    const json = (await exportAs(owner.key, '?format=json')).json().samples;
    const response = await exportAs(owner.key, '?format=ndjson');
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/\.ndjson"$/);
    const lines = response.body.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual(json);
  });

  it('exports CSV with a header, one row per sample and the rest of each sample as JSON in details', async () => {
    const json = (await exportAs(owner.key, '?format=json&types=blood_pressure,insulin_delivery,ecg')).json().samples;
    const response = await exportAs(owner.key, '?format=csv&types=blood_pressure,insulin_delivery,ecg');
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = response.body.trimEnd().split('\r\n');
    expect(rows[0]).toBe('kind,type,start,end,source,qualifier,value,unit,sent_value,sent_unit,min,avg,max,context,systolic,diastolic,pulse,stage,hours,night_date,details');
    expect(rows).toHaveLength(json.length + 1);
    expect(rows.find((row) => row.startsWith('blood_pressure,'))).toBe('blood_pressure,blood_pressure,2024-09-20T22:00:00.000Z,2024-09-20T22:00:00.000Z,Withings,,,,,,,,,,121,79,,,,,');
    expect(rows.find((row) => row.startsWith('quantity,insulin_delivery,'))).toMatch(/^quantity,insulin_delivery,[^,]+,[^,]+,,Bolus,4,IU,/);
    const ecg = rows.find((row) => row.startsWith('ecg,'))!;
    const details = JSON.parse(ecg.slice(ecg.indexOf(',"{') + 2, -1).replaceAll('""', '"'));
    expect(details.voltages).toHaveLength(600);
  });

  it('exports only the requested types and time range (start inclusive, end exclusive)', async () => {
    const typed = (await exportAs(owner.key, '?types=step_count,heart_rate,workouts')).json().samples;
    expect(new Set(typed.map((s: any) => s.type))).toEqual(new Set(['step_count', 'heart_rate', 'workouts']));
    const steps = typed.filter((s: any) => s.type === 'step_count');
    const start = steps[10].start;
    const end = steps[20].start;
    const ranged = (await exportAs(owner.key, `?types=step_count&start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`)).json().samples;
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((s: any) => s.start >= start && s.start < end)).toBe(true);
    expect(ranged[0].start).toBe(start);
    expect(ranged).toHaveLength(steps.filter((s: any) => s.start >= start && s.start < end).length);
    expect((await exportAs(owner.key, '?types=sleep_analysis')).json().samples).toHaveLength(741 + 6);
    expect((await exportAs(owner.key, '?types=nothing_like_this')).json()).toEqual({ samples: [] });
  });

  it('compresses the stream when the client accepts gzip', async () => {
    const plain = await exportAs(owner.key, '?format=ndjson&types=heart_rate');
    const gzip = await exportAs(owner.key, '?format=ndjson&types=heart_rate', { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(plain.body);
  });

  it('refuses a malformed types list or format with 400', async () => {
    for (const query of ['?types=step_count,;DROP', '?types=,', '?format=xml', '?start=yesterday']) {
      const response = await exportAs(owner.key, query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe('BAD_REQUEST');
    }
  });

  it('stops reading the database when the client hangs up', async () => {
    const { userId, key } = await t.userWithKey('quitter@example.com');
    await ensurePartitions(t.db, 'heart_rate_samples', ['2022-01', '2022-02', '2022-03']);
    await t.db.query(
      `INSERT INTO heart_rate_samples (user_id, start_at, end_at, source, min, avg, max)
       SELECT $1, g, g, 'Apple Watch', 60, 70, 80
       FROM generate_series(timestamptz '2022-01-01T00:00:00Z', timestamptz '2022-01-01T00:00:00Z' + interval '99999 minutes', interval '1 minute') g`,
      [userId],
    );
    let queries = 0;
    let reading = 0;
    const query = t.db.query.bind(t.db);
    t.db.query = ((...args: Parameters<typeof query>) => {
      queries += 1;
      reading += 1;
      return query(...args).finally(() => (reading -= 1));
    }) as typeof t.db.query;
    try {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = t.app.server.address() as AddressInfo;
      let serverSide: ServerResponse | undefined;
      t.app.server.once('request', (_request, response: ServerResponse) => (serverSide = response));
      // 100,000 rows (17 MB) in batches of 500: two hundred queries if read to the end; what the
      // sockets' buffers take before the hang-up is noticed is far less.
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/v1/export?format=ndjson&types=heart_rate', headers: { authorization: `Bearer ${key}` } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
        req.end();
      });
      // The server has seen the hang-up, and the read it had under way has come back.
      if (!serverSide!.closed) await once(serverSide!, 'close');
      await until('the read under way at the hang-up to end', async () => reading === 0);
      const afterHangUp = queries;
      // The counter sees the export's reads (else the bound below would prove nothing).
      expect(afterHangUp).toBeGreaterThan(0);
      // A full round trip through the same server: an export still reading would have asked for more by then.
      expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
      expect(reading).toBe(0);
      expect(queries).toBe(afterHangUp);
      expect(queries).toBeLessThan(120);
    } finally {
      t.db.query = query;
    }
  });
});
