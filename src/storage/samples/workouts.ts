/**
 * Workouts are few but carry hundreds of route and series points each. A workout
 * is written in one transaction: its summary row, then its points, which are only
 * ever added or updated (a re-send with fewer points erases nothing), then its
 * bounding box and, with PostGIS, its line, both recomputed from every stored point.
 */
import type { WorkoutRecord } from '../../ingest/records.js';
import type { Database, Queryable } from '../database.js';
import { routeLineSql } from '../postgis.js';
import { asDate, nullable } from './tables.js';
import type { Outcome } from './writer.js';

const SUMMARY = [
  'name', 'start_at', 'end_at', 'duration_s', 'distance_m', 'active_energy_kcal', 'total_energy_kcal',
  'location', 'is_indoor', 'min_heart_rate', 'avg_heart_rate', 'max_heart_rate', 'original',
] as const;

export async function writeWorkout(
  db: Database,
  sent: WorkoutRecord,
  ids: { userId: string; ingestionId: string | null },
  postgis: boolean,
): Promise<Outcome> {
  return db.transaction(async (tx) => {
    const workout = sent.appNames ? await mergedWithApp(tx, ids.userId, sent, sent.appNames) : sent;
    const summary = {
      name: workout.name,
      start_at: workout.start.toISOString(),
      end_at: workout.end.toISOString(),
      duration_s: workout.durationS,
      distance_m: workout.distanceM,
      active_energy_kcal: workout.activeEnergyKcal,
      total_energy_kcal: workout.totalEnergyKcal,
      location: workout.location,
      is_indoor: workout.isIndoor,
      min_heart_rate: workout.minHeartRate,
      avg_heart_rate: workout.avgHeartRate,
      max_heart_rate: workout.maxHeartRate,
      original: workout.original,
    };
    const row = (alias: string) => `ROW(${SUMMARY.map((c) => `${alias}.${c}`).join(', ')})`;
    const written = await tx.query<{ id: string; existed: boolean; changed: boolean }>(
      `WITH input AS (
         SELECT * FROM json_populate_record(NULL::workouts, $1::json)
       ), prior AS (
         SELECT w.id, ${row('w')} IS DISTINCT FROM ${row('i')} AS changed
         FROM workouts w, input i WHERE w.user_id = $2 AND w.workout_key = $3
       ), upserted AS (
         INSERT INTO workouts AS w (user_id, workout_key, ingestion_id, ${SUMMARY.join(', ')})
         SELECT $2, $3, $4, ${SUMMARY.join(', ')} FROM input
         ON CONFLICT (user_id, workout_key) DO UPDATE
         SET ${[...SUMMARY, 'ingestion_id'].map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = now()
         WHERE ${row('w')} IS DISTINCT FROM ${row('excluded')}
         RETURNING w.id
       )
       SELECT coalesce((SELECT id FROM upserted), (SELECT id FROM prior)) AS id,
              EXISTS (SELECT 1 FROM prior) AS existed,
              coalesce((SELECT changed FROM prior), true) AS changed`,
      [JSON.stringify(summary), ids.userId, workout.workoutKey, ids.ingestionId],
    );
    const { id, existed, changed } = written.rows[0]!;
    const routeChanged = await writeRoute(tx, ids.userId, id, workout);
    const seriesChanged = await writeSeries(tx, ids.userId, id, workout);
    if (routeChanged > 0) {
      await tx.query(
        `UPDATE workouts w SET (route_min_lon, route_min_lat, route_max_lon, route_max_lat) =
           (SELECT min(lon), min(lat), max(lon), max(lat) FROM workout_route_points p WHERE p.user_id = w.user_id AND p.workout_id = w.id)
           ${postgis ? `, route = ${routeLineSql('w')}` : ''}
         WHERE w.user_id = $1 AND w.id = $2`,
        [ids.userId, id],
      );
    }
    if (!existed) return 'inserted';
    return changed || routeChanged > 0 || seriesChanged > 0 ? 'updated' : 'unchanged';
  });
}

/** How far apart the same workout's start (and end) may be in the app's upload and in Apple Health's export. */
const SAME_WORKOUT_MS = 1000;

/**
 * An exported workout the app already sent (same activity, start and end within a
 * second) becomes that workout: the app's key, name, times and values are kept,
 * the export fills what the app left empty, and the export's own fields go under
 * `original.apple_health`. Computed the same way on every import, so importing
 * again finds it unchanged.
 */
async function mergedWithApp(tx: Queryable, userId: string, workout: WorkoutRecord, names: string[]): Promise<WorkoutRecord> {
  const found = await tx.query<{ stored: Record<string, unknown> }>(
    `SELECT json_build_object(${['workout_key', ...SUMMARY].map((c) => `'${c}', ${c}`).join(', ')}) AS stored
     FROM workouts
     WHERE user_id = $1 AND workout_key NOT LIKE 'apple:%'
       AND start_at BETWEEN $2::timestamptz - make_interval(secs => $4::float8) AND $2::timestamptz + make_interval(secs => $4::float8)
       AND end_at BETWEEN $3::timestamptz - make_interval(secs => $4::float8) AND $3::timestamptz + make_interval(secs => $4::float8)
       AND lower(regexp_replace(name, '[^[:alnum:]]', '', 'g')) = ANY($5::text[])
     ORDER BY abs(extract(epoch FROM start_at - $2::timestamptz)), workout_key
     LIMIT 1`,
    [userId, workout.start.toISOString(), workout.end.toISOString(), SAME_WORKOUT_MS / 1000, names],
  );
  const stored = found.rows[0]?.stored;
  if (!stored) return workout;
  const pick = <T>(column: string, exported: T | null): T | null => (stored[column] ?? exported) as T | null;
  const { apple_health: _earlier, ...appOriginal } = stored.original as Record<string, unknown>;
  return {
    ...workout,
    workoutKey: stored.workout_key as string,
    name: stored.name as string,
    start: asDate(stored.start_at),
    end: asDate(stored.end_at),
    durationS: pick('duration_s', workout.durationS),
    distanceM: pick('distance_m', workout.distanceM),
    activeEnergyKcal: pick('active_energy_kcal', workout.activeEnergyKcal),
    totalEnergyKcal: pick('total_energy_kcal', workout.totalEnergyKcal),
    location: pick('location', workout.location),
    isIndoor: pick('is_indoor', workout.isIndoor),
    minHeartRate: pick('min_heart_rate', workout.minHeartRate),
    avgHeartRate: pick('avg_heart_rate', workout.avgHeartRate),
    maxHeartRate: pick('max_heart_rate', workout.maxHeartRate),
    original: { ...appOriginal, apple_health: workout.original },
  };
}

/** Upserts the route points; returns how many were new or changed. */
async function writeRoute(tx: Queryable, userId: string, workoutId: string, workout: WorkoutRecord): Promise<number> {
  if (workout.route.length === 0) return 0;
  const points = new Map(
    workout.route.map((p) => [
      p.time.getTime(),
      {
        point_time: p.time.toISOString(),
        lat: p.lat,
        lon: p.lon,
        altitude: p.altitude,
        speed: p.speed,
        course: p.course,
        horizontal_accuracy: p.horizontalAccuracy,
        vertical_accuracy: p.verticalAccuracy,
      },
    ]),
  );
  const values = ['lat', 'lon', 'altitude', 'speed', 'course', 'horizontal_accuracy', 'vertical_accuracy'];
  const result = await tx.query(
    `INSERT INTO workout_route_points AS p (user_id, workout_id, point_time, ${values.join(', ')})
     SELECT $2, $3, point_time, ${values.join(', ')}
     FROM json_to_recordset($1::json) AS i(point_time timestamptz, lat float8, lon float8, altitude float8,
       speed float8, course float8, horizontal_accuracy float8, vertical_accuracy float8)
     ON CONFLICT (user_id, workout_id, point_time) DO UPDATE SET ${values.map((c) => `${c} = excluded.${c}`).join(', ')}
     WHERE ROW(${values.map((c) => `p.${c}`).join(', ')}) IS DISTINCT FROM ROW(${values.map((c) => `excluded.${c}`).join(', ')})`,
    [JSON.stringify([...points.values()]), userId, workoutId],
  );
  return result.rowCount;
}

async function writeSeries(tx: Queryable, userId: string, workoutId: string, workout: WorkoutRecord): Promise<number> {
  if (workout.series.length === 0) return 0;
  const points = new Map(
    workout.series.map((p) => [
      `${p.series}\u0000${p.time.getTime()}\u0000${p.source}`,
      { series: p.series, point_time: p.time.toISOString(), source: p.source, qty: p.qty, min: p.min, avg: p.avg, max: p.max, unit: p.unit },
    ]),
  );
  const values = ['qty', 'min', 'avg', 'max', 'unit'];
  const result = await tx.query(
    `INSERT INTO workout_series AS s (user_id, workout_id, series, point_time, source, ${values.join(', ')})
     SELECT $2, $3, series, point_time, source, ${values.join(', ')}
     FROM json_to_recordset($1::json) AS i(series text, point_time timestamptz, source text, qty float8, min float8,
       avg float8, max float8, unit text)
     ON CONFLICT (user_id, workout_id, series, point_time, source) DO UPDATE SET ${values.map((c) => `${c} = excluded.${c}`).join(', ')}
     WHERE ROW(${values.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM ROW(${values.map((c) => `excluded.${c}`).join(', ')})`,
    [JSON.stringify([...points.values()]), userId, workoutId],
  );
  return result.rowCount;
}

/** The summary columns a workout record is rebuilt from (the inverse of the writer above). */
export const WORKOUT_COLUMNS = ['id', 'workout_key', ...SUMMARY] as const;
export const ROUTE_POINT_COLUMNS = ['point_time', 'lat', 'lon', 'altitude', 'speed', 'course', 'horizontal_accuracy', 'vertical_accuracy'] as const;
export const SERIES_POINT_COLUMNS = ['series', 'point_time', 'source', 'qty', 'min', 'avg', 'max', 'unit'] as const;

type Columns<C extends readonly string[]> = { [K in C[number]]: unknown };
export type WorkoutRow = Columns<typeof WORKOUT_COLUMNS>;
export type RoutePointRow = Columns<typeof ROUTE_POINT_COLUMNS>;
export type SeriesPointRow = Columns<typeof SERIES_POINT_COLUMNS>;


/** A stored workout as the record it was written from; workouts carry no source. */
export function workoutFromRows(row: WorkoutRow, route: RoutePointRow[], series: SeriesPointRow[]): WorkoutRecord {
  return {
    kind: 'workout',
    type: 'workouts',
    start: asDate(row.start_at),
    end: asDate(row.end_at),
    source: '',
    raw: null,
    workoutKey: row.workout_key as string,
    name: row.name as string,
    durationS: nullable(row.duration_s),
    distanceM: nullable(row.distance_m),
    activeEnergyKcal: nullable(row.active_energy_kcal),
    totalEnergyKcal: nullable(row.total_energy_kcal),
    location: nullable(row.location),
    isIndoor: nullable(row.is_indoor),
    minHeartRate: nullable(row.min_heart_rate),
    avgHeartRate: nullable(row.avg_heart_rate),
    maxHeartRate: nullable(row.max_heart_rate),
    original: row.original as Record<string, unknown>,
    route: route.map((p) => ({
      time: asDate(p.point_time),
      lat: p.lat as number,
      lon: p.lon as number,
      altitude: nullable(p.altitude),
      speed: nullable(p.speed),
      course: nullable(p.course),
      horizontalAccuracy: nullable(p.horizontal_accuracy),
      verticalAccuracy: nullable(p.vertical_accuracy),
    })),
    series: series.map((p) => ({
      series: p.series as string,
      time: asDate(p.point_time),
      qty: nullable(p.qty),
      min: nullable(p.min),
      avg: nullable(p.avg),
      max: nullable(p.max),
      unit: nullable(p.unit),
      source: p.source as string,
    })),
  };
}
