/**
 * An install upgraded to the rollups (migration 080) with samples already stored: its
 * users' summaries read the raw samples until their rollups are built, then the rollups,
 * with the same answer.
 */
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../src/storage/database.js';
import { MIGRATIONS_DIR, migrate } from '../../src/storage/migrate.js';
import { ensurePartitions } from '../../src/storage/partitions.js';
import { summaryRepository } from '../../src/storage/repositories/summary.js';
import { buildPendingRollups } from '../../src/storage/rollups.js';
import { silent } from '../helpers/databases.js';

describe('upgrading to the summary rollups', () => {
  it('reads the raw samples of a user stored before the upgrade until the server has built their rollups', async () => {
    const before = await mkdtemp(path.join(tmpdir(), 'hea-migrations-'));
    const db = await createPgliteDatabase(undefined);
    try {
      for (const name of (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql') && file < '080')) {
        await copyFile(path.join(MIGRATIONS_DIR, name), path.join(before, name));
      }
      await migrate(db, silent, before);
      const user = (await db.query<{ id: string }>("INSERT INTO users (email) VALUES ('old@example.com') RETURNING id")).rows[0]!.id;
      await ensurePartitions(db, 'quantity_samples', ['2024-05']);
      await ensurePartitions(db, 'heart_rate_samples', ['2024-05']);
      await db.query(
        `INSERT INTO quantity_samples (user_id, metric, start_at, end_at, source, qualifier, value, unit, sent_value, sent_unit)
         SELECT $1, 'step_count', t, t + interval '1 minute', 'Watch', '', 10, 'count', 10, 'count'
         FROM generate_series(timestamptz '2024-05-01T10:00:00Z', timestamptz '2024-05-02T09:59:00Z', interval '1 minute') t`,
        [user],
      );
      await db.query(
        `INSERT INTO quantity_samples (user_id, metric, start_at, end_at, source, qualifier, value, unit, sent_value, sent_unit)
         VALUES ($1, 'step_count', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 'Watch', '', 5000, 'count', 5000, 'count')`,
        [user],
      );
      await db.query(
        `INSERT INTO heart_rate_samples (user_id, start_at, end_at, source, min, avg, max)
         VALUES ($1, '2024-05-01T12:00:00Z', '2024-05-01T12:00:00Z', 'Watch', 50, 60, 70)`,
        [user],
      );

      await migrate(db, silent);
      const summary = summaryRepository(db);
      expect(await summary.inputFor(user, '2024-05-01', '2024-05-02', 'Asia/Kolkata')).toBe('samples');
      const raw = await summary.daily(user, '2024-05-01', '2024-05-02', 'Asia/Kolkata');
      // Kolkata's 2 May starts at 18:30Z on 1 May: 510 minutes on the 1st, 930 on the 2nd; the hour gives way to its minutes.
      expect(raw.map((day) => [day.steps, day.hr_max])).toEqual([[5100, 70], [9300, null]]);

      expect(await buildPendingRollups(db, silent)).toBe(1);
      expect(await summary.inputFor(user, '2024-05-01', '2024-05-02', 'Asia/Kolkata')).toBe('rollups');
      expect(await summary.daily(user, '2024-05-01', '2024-05-02', 'Asia/Kolkata')).toEqual(raw);
      expect((await db.query('SELECT 1 FROM rollups_pending')).rows).toHaveLength(0);
      expect(await buildPendingRollups(db, silent)).toBe(0);
    } finally {
      await db.close();
      await rm(before, { recursive: true, force: true });
    }
  });
});
