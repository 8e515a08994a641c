/**
 * Monthly range partitions, created on demand for whatever months a batch
 * touches (a backfill of 2014 works) and ahead of time for the coming months.
 */
import type { Queryable } from './database.js';

export const PARTITIONED_TABLES = ['quantity_samples', 'heart_rate_samples', 'blood_pressure_samples', 'sleep_segments'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

const MONTHS_AHEAD = 3;
const known = new WeakMap<Queryable, Set<string>>();

/** 'YYYY-MM' of a Date, in UTC. */
export function monthOf(time: Date): string {
  return time.toISOString().slice(0, 7);
}

export async function ensurePartitions(db: Queryable, table: PartitionedTable, months: Iterable<string>): Promise<void> {
  let seen = known.get(db);
  if (!seen) known.set(db, (seen = new Set()));
  for (const month of months) {
    const id = `${table}:${month}`;
    if (seen.has(id)) continue;
    const [year, mm] = month.split('-').map(Number) as [number, number];
    const from = new Date(Date.UTC(year, mm - 1, 1)).toISOString();
    const to = new Date(Date.UTC(year, mm, 1)).toISOString();
    try {
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${table}_p${month.replace('-', '')} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    } catch (error) {
      // Another process created it between our IF NOT EXISTS check and the CREATE.
      const code = (error as { code?: string }).code;
      if (code !== '42P07' && code !== '23505') throw error;
    }
    seen.add(id);
  }
}

/**
 * Forgets which partitions this process has seen in `db`, so the next batch checks
 * again: for when they were dropped behind its back (a restore of an older backup,
 * a test that empties its database between files).
 */
export function forgetPartitions(db: Queryable): void {
  known.delete(db);
}

/** This month and the next few, for every partitioned table. */
export async function ensureUpcomingPartitions(db: Queryable, now = new Date()): Promise<void> {
  const months: string[] = [];
  for (let offset = 0; offset <= MONTHS_AHEAD; offset += 1) {
    months.push(monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))));
  }
  for (const table of PARTITIONED_TABLES) await ensurePartitions(db, table, months);
}
