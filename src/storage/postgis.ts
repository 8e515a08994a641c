/**
 * PostGIS objects are optional: created by an idempotent step that runs after the
 * migrations on every start, so a server that gains PostGIS later switches them on.
 * Embedded mode never has PostGIS; routes then work from the plain bbox columns.
 */
import type { Logger } from 'pino';
import type { Database } from './database.js';

export async function enablePostgis(db: Database, logger: Logger): Promise<boolean> {
  const available = await db.query<{ installed: boolean }>(
    "SELECT installed_version IS NOT NULL AS installed FROM pg_available_extensions WHERE name = 'postgis'",
  );
  if (available.rows.length === 0) {
    logger.info('PostGIS is not available: workout routes use bounding-box columns only (no ST_Intersects refinement, no geometry column)');
    return false;
  }
  await db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock(4242002)');
    try {
      await session.exec(`
        CREATE EXTENSION IF NOT EXISTS postgis;
        ALTER TABLE workouts ADD COLUMN IF NOT EXISTS route geometry(LineString, 4326);
        CREATE INDEX IF NOT EXISTS workouts_route_gix ON workouts USING gist (route);`);
      // Workouts stored before PostGIS was installed get their line now.
      await session.query(`UPDATE workouts w SET route = ${routeLineSql('w')}
        WHERE w.route IS NULL AND w.route_min_lon IS NOT NULL`);
    } finally {
      await session.query('SELECT pg_advisory_unlock(4242002)');
    }
  });
  return true;
}

/** SQL expression building a workout's LineString from its stored route points, in time order. */
export function routeLineSql(alias: string): string {
  return `(SELECT CASE WHEN count(*) >= 2 THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(p.lon, p.lat) ORDER BY p.point_time), 4326) END
    FROM workout_route_points p WHERE p.user_id = ${alias}.user_id AND p.workout_id = ${alias}.id)`;
}
