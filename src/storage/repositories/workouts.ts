/**
 * Workouts read back: a keyset list (optionally only those whose route crosses a
 * bounding box) and one workout with its series and route points. The bbox search
 * is one query on both databases: it filters on the plain bounding-box columns,
 * and where PostGIS exists it adds ST_Intersects on the indexed line, so a route
 * whose box overlaps but whose line does not is left out there.
 */
import type { Queryable } from '../database.js';
import {
  ROUTE_POINT_COLUMNS,
  SERIES_POINT_COLUMNS,
  WORKOUT_COLUMNS,
  type RoutePointRow,
  type SeriesPointRow,
  type WorkoutRow,
} from '../samples/workouts.js';
import { keysetPage, type KeyColumn, type Page } from './keyset.js';
import { sampleConditions, type PageRequest } from './readings.js';

export interface BoundingBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

export interface WorkoutFilter {
  start?: string;
  end?: string;
  bbox?: BoundingBox;
}

export type WorkoutListRow = WorkoutRow & { has_route: boolean };

export const WORKOUT_KEY: KeyColumn[] = [
  { column: 'start_at', type: 'timestamptz' },
  { column: 'id', type: 'uuid' },
];

const HAS_ROUTE = 't.route_min_lon IS NOT NULL AS has_route';
const SELECT = [...WORKOUT_COLUMNS.map((c) => `t.${c}`), HAS_ROUTE].join(', ');
/** Lists leave out the original object, which can be large. */
const LIST_SELECT = [...WORKOUT_COLUMNS.filter((c) => c !== 'original').map((c) => `t.${c}`), HAS_ROUTE].join(', ');

export function workoutsRepository(db: Queryable, options: { postgis: boolean }) {
  return {
    list(userId: string, filter: WorkoutFilter, page: PageRequest): Promise<Page<WorkoutListRow>> {
      const { where, params } = sampleConditions(userId, { start: filter.start, end: filter.end });
      if (filter.bbox) {
        const { minLon, minLat, maxLon, maxLat } = filter.bbox;
        params.push(minLon, minLat, maxLon, maxLat);
        const [x1, y1, x2, y2] = [params.length - 3, params.length - 2, params.length - 1, params.length].map((n) => `$${n}::float8`);
        where.push(`t.route_min_lon <= ${x2} AND t.route_max_lon >= ${x1} AND t.route_min_lat <= ${y2} AND t.route_max_lat >= ${y1}`);
        // A route of one point has a box but no line: the box alone decides, as without PostGIS.
        if (options.postgis) where.push(`(t.route IS NULL OR ST_Intersects(t.route, ST_MakeEnvelope(${x1}, ${y1}, ${x2}, ${y2}, 4326)))`);
      }
      return keysetPage<WorkoutListRow>(db, { from: 'workouts t', select: LIST_SELECT, key: WORKOUT_KEY, where, params }, page);
    },

    /** One of the user's workouts with its route line (time order) and series, or null (also for another user's). */
    async find(userId: string, id: string): Promise<{ workout: WorkoutListRow; route: RouteLinePoint[]; series: SeriesPointRow[] } | null> {
      const found = await db.query<WorkoutListRow>(`SELECT ${SELECT} FROM workouts t WHERE t.user_id = $1 AND t.id = $2`, [userId, id]);
      const workout = found.rows[0];
      if (!workout) return null;
      const [route, series] = await Promise.all([readRouteLine(db, userId, id), readSeries(db, userId, id)]);
      return { workout, route, series };
    },
  };
}

/** A route point as the GeoJSON line needs it. */
export type RouteLinePoint = Pick<RoutePointRow, 'lon' | 'lat' | 'altitude'>;

/**
 * A workout's route as its line: the coordinates only, in time order. The other
 * five columns (a Date parsed per point among them) are the export's, not the line's.
 */
export async function readRouteLine(db: Queryable, userId: string, workoutId: string): Promise<RouteLinePoint[]> {
  const result = await db.query<RouteLinePoint>('SELECT lon, lat, altitude FROM workout_route_points WHERE user_id = $1 AND workout_id = $2 ORDER BY point_time', [userId, workoutId]);
  return result.rows;
}

/** A workout's route points in time order. */
export async function readRoute(db: Queryable, userId: string, workoutId: string): Promise<RoutePointRow[]> {
  const result = await db.query<RoutePointRow>(
    `SELECT ${ROUTE_POINT_COLUMNS.join(', ')} FROM workout_route_points WHERE user_id = $1 AND workout_id = $2 ORDER BY point_time`,
    [userId, workoutId],
  );
  return result.rows;
}

/** A workout's series points, by series then time. */
export async function readSeries(db: Queryable, userId: string, workoutId: string): Promise<SeriesPointRow[]> {
  const result = await db.query<SeriesPointRow>(
    `SELECT ${SERIES_POINT_COLUMNS.join(', ')} FROM workout_series WHERE user_id = $1 AND workout_id = $2
     ORDER BY series, point_time, source`,
    [userId, workoutId],
  );
  return result.rows;
}

export type WorkoutsRepository = ReturnType<typeof workoutsRepository>;
