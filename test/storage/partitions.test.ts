/**
 * Time-partitioned tables accept any date: a backfill across years of old months
 * creates each month's partition as it goes, and two processes creating the same
 * partition at once both succeed (the loser of the race must not fail its batch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type Database } from '../../src/storage/database.js';
import { ensurePartitions, PARTITIONED_TABLES } from '../../src/storage/partitions.js';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { createPostgres, databaseKinds, silent } from '../helpers/databases.js';

/** Every month from January 2000 to December 2014, as 'YYYY-MM'. */
const MONTHS = Array.from({ length: 15 * 12 }, (_, i) => `${2000 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);

async function partitionsOf(db: Database, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = $1 ORDER BY 1`,
    [table],
  );
  return rows.map((row) => row.name);
}

describe.each(databaseKinds())('monthly partitions (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
  });
  afterAll(() => t.close());

  it('start each test file with none: no file finds another file\'s partitions', async () => {
    for (const table of PARTITIONED_TABLES) expect(await partitionsOf(t.db, table), table).toEqual([]);
  });

  it('store a backfill of 180 old months (2000-2014) in one upload, each month in its own partition', async () => {
    const { key, userId } = await t.userWithKey('backfill@example.com');
    const samples = MONTHS.flatMap((month) => {
      const start = `${month}-15T12:00:00Z`;
      return [
        { kind: 'quantity', type: 'step_count', start, value: 1000, unit: 'count', source: 'iPod' },
        { kind: 'heart_rate', type: 'heart_rate', start, min: 60, avg: 70, max: 80, source: 'Polar' },
        { kind: 'blood_pressure', type: 'blood_pressure', start, systolic: 120, diastolic: 80, source: 'Omron' },
        { kind: 'sleep_segment', type: 'sleep_analysis', start, end: `${month}-15T13:00:00Z`, stage: 'Core', hours: 1, source: 'Zeo' },
      ];
    });
    const response = await t.ingest({ samples }, key);
    expect(response.statusCode, response.body).toBe(200);
    expect(expectCountsAddUp(response.json())).toEqual({ received: samples.length, inserted: samples.length, updated: 0, unchanged: 0, rejected: 0 });

    for (const table of PARTITIONED_TABLES) {
      const monthly = await t.db.query<{ month: string; n: number }>(
        `SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*)::int AS n FROM ${table} WHERE user_id = $1 GROUP BY 1 ORDER BY 1`,
        [userId],
      );
      expect(monthly.rows, table).toEqual(MONTHS.map((month) => ({ month, n: 1 })));
      expect(await partitionsOf(t.db, table), table).toEqual(MONTHS.map((month) => `${table}_p${month.replace('-', '')}`));
    }
  });

  it('are created once when two batches ask for the same new months at the same time', async () => {
    const months = ['1990-01', '1990-02', '1990-03'];
    await Promise.all([ensurePartitions(t.db, 'quantity_samples', months), ensurePartitions(t.db, 'quantity_samples', months)]);
    expect((await partitionsOf(t.db, 'quantity_samples')).filter((name) => name.includes('_p1990'))).toEqual([
      'quantity_samples_p199001',
      'quantity_samples_p199002',
      'quantity_samples_p199003',
    ]);
  });
});

describe.skipIf(!databaseKinds().includes('postgres'))('two processes creating the same partitions (postgres database)', () => {
  const pools: Database[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
  });

  it('both succeed, whichever creates a month first, and each can write into every month', async () => {
    const { db: first, url } = await createPostgres();
    pools.push(first);
    // A second process: its own connections and its own memory of which partitions exist.
    const second = createPostgresDatabase({ url, poolSize: 5, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'tests-second' }, silent);
    pools.push(second);
    // Many rounds of the same race, one month each, so that both sides really meet on CREATE.
    const months = Array.from({ length: 36 }, (_, i) => `${1980 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);
    for (const month of months) {
      const results = await Promise.allSettled([ensurePartitions(first, 'heart_rate_samples', [month]), ensurePartitions(second, 'heart_rate_samples', [month])]);
      expect(results.map((result) => result.status), month).toEqual(['fulfilled', 'fulfilled']);
    }
    expect((await partitionsOf(first, 'heart_rate_samples')).filter((name) => /_p198[0-2]/.test(name))).toHaveLength(36);

    const user = await first.query<{ id: string }>("INSERT INTO users (email) VALUES ('race@example.com') RETURNING id");
    for (const [i, db] of [first, second].entries()) {
      await db.query(
        `INSERT INTO heart_rate_samples (user_id, start_at, end_at, source, min, avg, max)
         SELECT $1, m, m, $2, 60, 70, 80 FROM generate_series(timestamptz '1980-01-10Z', timestamptz '1982-12-10Z', interval '1 month') m`,
        [user.rows[0]!.id, `process ${i}`],
      );
    }
    const stored = await first.query<{ n: number }>('SELECT count(*)::int AS n FROM heart_rate_samples');
    expect(stored.rows[0]!.n).toBe(72);
  });
});
