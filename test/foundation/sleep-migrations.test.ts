/**
 * Migrations 060-062 over rows stored before them, on both databases: summarised
 * nights re-keyed by their start (a night stored twice because its end moved across
 * a date keeps its grown row), the sleep-segment key replaced on a partitioned table
 * that already has monthly partitions, and version-1 workout heart-rate series
 * renamed from bpm to count/min.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase, createPostgresDatabase, type Database } from '../../src/storage/database.js';
import { MIGRATIONS_DIR, migrate } from '../../src/storage/migrate.js';
import { ensurePartitions } from '../../src/storage/partitions.js';
import { createEmptyPostgres, databaseKinds, silent } from '../helpers/databases.js';

const USER = '00000000-0000-4000-8000-000000000017';
let before = '';

beforeAll(async () => {
  // The migrations as they were before issue 17.
  before = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  for (const name of await readdir(MIGRATIONS_DIR)) {
    if (name.endsWith('.sql') && Number(name.slice(0, 3)) < 60) await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name));
  }
});
afterAll(() => rm(before, { recursive: true, force: true }));

async function open(kind: string): Promise<Database> {
  if (kind === 'embedded') return createPgliteDatabase(undefined);
  const url = await createEmptyPostgres();
  return createPostgresDatabase({ url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'tests' }, silent);
}

describe.each(databaseKinds())('issue 17 migrations over stored rows (%s database)', (kind) => {
  it('re-keys nights by start, keeps segments in their partitions under the new key, and renames bpm series', async () => {
    const db = await open(kind);
    try {
      await migrate(db, silent, before);
      await ensurePartitions(db, 'sleep_segments', new Set(['2025-04']));
      // The same night stored twice under the old key (its end moved past midnight between sends), and a second night.
      await db.query(
        `INSERT INTO sleep_nights (user_id, night_date, source, start_at, end_at, core) VALUES
           ($1, '2025-04-12', 'Watch', '2025-04-13T02:30:00Z', '2025-04-13T03:50:00Z', 1.2),
           ($1, '2025-04-13', 'Watch', '2025-04-13T02:30:00Z', '2025-04-13T10:40:00Z', 7.5),
           ($1, '2025-04-14', 'Watch', '2025-04-14T02:00:00Z', '2025-04-14T10:00:00Z', 8)`,
        [USER],
      );
      await db.query(
        `INSERT INTO sleep_segments (user_id, start_at, end_at, source, stage, hours) VALUES
           ($1, '2025-04-13T02:30:00Z', '2025-04-13T03:00:00Z', 'Watch', 'Core', 0.5),
           ($1, '2025-04-13T02:30:00Z', '2025-04-13T03:00:00Z', 'Watch', 'InBed', 0.5)`,
        [USER],
      );
      await db.query(
        `INSERT INTO workout_series (user_id, workout_id, series, point_time, source, qty, unit) VALUES
           ($1, gen_random_uuid(), 'heartRateData', '2021-09-12T16:05:30Z', '', 95, 'bpm'),
           ($1, gen_random_uuid(), 'stepCount', '2021-09-12T16:05:30Z', '', 12, 'count')`,
        [USER],
      );

      const { applied } = await migrate(db, silent);
      expect(applied).toEqual(expect.arrayContaining(['060_sleep_identities.sql', '061_canonical_values.sql', '062_workout_heart_rate_unit.sql']));

      const nights = await db.query<{ night_date: string; core: number }>('SELECT night_date::text, core FROM sleep_nights ORDER BY start_at');
      expect(nights.rows).toEqual([
        { night_date: '2025-04-13', core: 7.5 },
        { night_date: '2025-04-14', core: 8 },
      ]);
      const key = await db.query<{ columns: string }>(
        `SELECT string_agg(a.attname, ',' ORDER BY k.ord) AS columns
         FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
         WHERE c.conrelid = $1::regclass AND c.contype = 'p'`,
        ['sleep_segments_p202504'],
      );
      expect(key.rows[0]!.columns).toBe('user_id,start_at,end_at,source,stage,sent_stage');
      const segments = await db.query<{ stage: string; sent_stage: string }>('SELECT stage, sent_stage FROM sleep_segments ORDER BY stage');
      expect(segments.rows).toEqual([
        { stage: 'Core', sent_stage: '' },
        { stage: 'InBed', sent_stage: '' },
      ]);
      // Two unknown stages over one interval are now two segments.
      await db.query(
        `INSERT INTO sleep_segments (user_id, start_at, end_at, source, stage, sent_stage, hours) VALUES
           ($1, '2025-04-13T02:30:00Z', '2025-04-13T03:00:00Z', 'Watch', 'Unspecified', 'Napping', 0.5),
           ($1, '2025-04-13T02:30:00Z', '2025-04-13T03:00:00Z', 'Watch', 'Unspecified', 'Dozing', 0.5)`,
        [USER],
      );
      const series = await db.query<{ series: string; qty: number; unit: string }>('SELECT series, qty, unit FROM workout_series ORDER BY series');
      expect(series.rows).toEqual([
        { series: 'heartRateData', qty: 95, unit: 'count/min' },
        { series: 'stepCount', qty: 12, unit: 'count' },
      ]);
    } finally {
      await db.close();
    }
  });
});
