/**
 * Chunks of COPY_MIN_ROWS rows or more travel by COPY into a staging table and
 * are merged from there. What the writer reports and stores must not depend on
 * that: a refused row still costs only itself, a re-send updates exactly the rows
 * that changed, counts add up per type across months, values come back as sent,
 * and a writer that meets rows another one inserted after its look-up writes again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EcgRecord, HealthRecord, HeartRateRecord, QuantityRecord } from '../../src/ingest/records.js';
import type { Database } from '../../src/storage/database.js';
import { readColumns, TABLES, type TableSpec } from '../../src/storage/samples/tables.js';
import { COPY_MIN_ROWS } from '../../src/storage/samples/upsert.js';
import { databaseKinds, hookedDatabase, resetDatabase, workerDatabase } from '../helpers/databases.js';
import { writeRecords } from '../helpers/writer.js';
import { until } from '../helpers/until.js';

const minute = (month: number, i: number) => new Date(Date.UTC(2024, month, 1) + i * 60_000);

const heartRate = (i: number, bpm: number): HeartRateRecord => {
  const start = minute(0, i);
  return { kind: 'heart_rate', type: 'heart_rate', start, end: start, source: 'Watch', min: bpm, avg: bpm, max: bpm, context: null, raw: { i, bpm } };
};

const quantity = (type: string, start: Date, value: number, source = 'Watch', extra: Record<string, unknown> | null = null): QuantityRecord => ({
  kind: 'quantity', type, start, end: start, source, qualifier: '', value, unit: 'count', sentValue: value, sentUnit: 'count', extra, raw: { type, value },
});

describe.each(databaseKinds())('chunks written by COPY (%s database)', (kind) => {
  let db: Database;
  let userId: string;
  beforeAll(async () => {
    db = (await workerDatabase(kind)).db;
    await resetDatabase(db);
  });
  beforeEach(async () => {
    userId = (await db.query<{ id: string }>(`INSERT INTO users (email) VALUES ('copy-${Math.random()}@example.com') RETURNING id`)).rows[0]!.id;
  });
  afterAll(() => resetDatabase(db));

  const write = (records: HealthRecord[], chunkSize = COPY_MIN_ROWS * 2, target = db) => writeRecords(target, userId, records, chunkSize);

  const storedCount = async (table: string) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [userId])).rows[0]!.n;

  it('rejects a row a CHECK constraint refuses alone, with exact counts, and stores the rest of its chunk', async () => {
    const records = Array.from({ length: COPY_MIN_ROWS + 100 }, (_, i) => heartRate(i, 60 + (i % 30)));
    records[321] = heartRate(321, 500); // past the schema's outer limit of 400: refused by the database, not by validation
    const { counts, rejected } = await write(records);
    expect(counts).toEqual({ heart_rate: { inserted: records.length - 1, updated: 0, unchanged: 0, rejected: 1 } });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatch(/refused by the database: .*check constraint/i);
    expect(rejected[0]!.sample).toEqual({ i: 321, bpm: 500 });
    expect(await storedCount('heart_rate_samples')).toBe(records.length - 1);
  });

  it('updates exactly the rows whose values changed when a chunk is sent again', async () => {
    const records = Array.from({ length: COPY_MIN_ROWS + 50 }, (_, i) => heartRate(i, 60 + (i % 30)));
    await write(records);
    const changed = new Set([0, 7, 300, COPY_MIN_ROWS + 49]);
    const again = records.map((record, i) => (changed.has(i) ? heartRate(i, 120) : record));
    const { counts } = await write(again);
    expect(counts).toEqual({ heart_rate: { inserted: 0, updated: changed.size, unchanged: records.length - changed.size, rejected: 0 } });
    const stored = await db.query<{ i: number; avg: number }>(
      `SELECT (extract(epoch FROM start_at - '2024-01-01T00:00:00Z') / 60)::int AS i, avg FROM heart_rate_samples WHERE user_id = $1 ORDER BY start_at`,
      [userId],
    );
    expect(stored.rows).toHaveLength(records.length);
    for (const row of stored.rows) expect(row.avg).toBe(changed.has(row.i) ? 120 : 60 + (row.i % 30));
  });

  it('counts each type exactly when one chunk spans several months', async () => {
    // Two metrics over three monthly partitions, in one chunk; some of them stored before, one of those changed since.
    const records: QuantityRecord[] = [];
    for (let i = 0; i < COPY_MIN_ROWS; i++) {
      records.push(quantity('step_count', minute(i % 3, i), i), quantity('heart_rate_variability', minute(i % 3, i), 40 + (i % 5)));
    }
    const before = records.filter((_, i) => i % 4 === 0);
    await write(before);
    const resent = records.map((record, i) => (i === 8 ? quantity('step_count', record.start, 99_999) : record));
    const { counts } = await write(resent, records.length);
    const stepsBefore = before.filter((r) => r.type === 'step_count').length;
    const hrvBefore = before.length - stepsBefore;
    expect(counts).toEqual({
      step_count: { inserted: COPY_MIN_ROWS - stepsBefore, updated: 1, unchanged: stepsBefore - 1, rejected: 0 },
      heart_rate_variability: { inserted: COPY_MIN_ROWS - hrvBefore, updated: 0, unchanged: hrvBefore, rejected: 0 },
    });
    const months = await db.query<{ month: string; n: number }>(
      `SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*)::int AS n FROM quantity_samples WHERE user_id = $1 GROUP BY 1 ORDER BY 1`,
      [userId],
    );
    expect(months.rows.map((row) => row.month)).toEqual(['2024-01', '2024-02', '2024-03']);
    expect(months.rows.reduce((sum, row) => sum + row.n, 0)).toBe(records.length);
  });

  it('gives back text, JSON and arrays exactly as sent, tabs, newlines and backslashes included', async () => {
    const awkward = 'Watch\t"2"\\ of\nAnna\r';
    const extra = { note: 'a\tb\\c\nd "quoted" \u00e9\u{1F600}', nested: [1.5, null, { deep: '\\N' }] };
    const quantities = Array.from({ length: COPY_MIN_ROWS }, (_, i) => quantity('blood_glucose', minute(4, i), 5.5 + i / 1000, i % 2 ? awkward : '\\N', i % 3 ? extra : null));
    const ecgs = Array.from({ length: COPY_MIN_ROWS }, (_, i): EcgRecord => ({
      kind: 'ecg', type: 'ecg', start: minute(5, i), end: minute(5, i + 1), source: awkward, raw: null,
      classification: i % 2 ? null : 'Sinus Rhythm', averageHeartRate: 61.25, samplingFrequency: 512,
      voltages: [0.1, -2.5e-7, 1e21, i], voltageTimes: [0, null, 0.5, 1 / 3], voltageUnit: 'µV',
      data: { text: awkward }, canonical: null,
    }));
    await write([...quantities, ...ecgs]);
    const readBack = async <R extends HealthRecord>(spec: TableSpec<R>) => {
      const { rows } = await db.query(`SELECT ${readColumns(spec)} FROM ${spec.table} t WHERE t.user_id = $1 ORDER BY t.start_at`, [userId]);
      return rows.map((row) => spec.fromRow(row));
    };
    expect(await readBack(TABLES.quantity)).toEqual(quantities.map((record) => ({ ...record, raw: null })));
    expect(await readBack(TABLES.ecg)).toEqual(ecgs);
  });

  // Only PostgreSQL has two connections: the embedded database runs one transaction at a time.
  it.skipIf(kind === 'embedded')('stores new rows once when another writer inserts them between its look-up and its insert', async () => {
    const records = Array.from({ length: COPY_MIN_ROWS * 2 }, (_, i) => heartRate(i, 70));
    // The first writer merges, then waits to commit until the second one's merge waits on its rows: the second
    // looked them up before they were committed, so its insert meets them (a unique violation) and must write again.
    let secondWaits = false;
    let firstMerged = false;
    const first = hookedDatabase(db, {
      beforeCommit: async () => {
        firstMerged = true;
        await until('the second merge to wait for the first', async () => {
          const waiting = await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO heart_rate_samples%'",
          );
          return waiting.rows[0]!.n > 0;
        });
        secondWaits = true;
      },
    });
    const firstDone = write(records, records.length, first);
    // Its transaction's last statement is the rollups' (not the merge): wait on the writer itself.
    await until('the first merge to be sent', async () => firstMerged);
    expect(await storedCount('heart_rate_samples')).toBe(0);
    const [one, two] = await Promise.all([firstDone, write(records)]);
    expect(secondWaits).toBe(true);
    expect(one.counts).toEqual({ heart_rate: { inserted: records.length, updated: 0, unchanged: 0, rejected: 0 } });
    expect(two.counts).toEqual({ heart_rate: { inserted: 0, updated: 0, unchanged: records.length, rejected: 0 } });
    expect(await storedCount('heart_rate_samples')).toBe(records.length);
  });

  it('writes the other tables of a small upload when one table’s row is refused in their shared transaction', async () => {
    // What is left at the end goes in one transaction for every table; a refusal in one must not cost the others.
    const records: HealthRecord[] = [heartRate(0, 60), heartRate(1, 500), heartRate(2, 62), quantity('step_count', minute(0, 5), 10), quantity('step_count', minute(0, 6), 11)];
    const { counts, rejected } = await write(records);
    expect(counts).toEqual({
      heart_rate: { inserted: 2, updated: 0, unchanged: 0, rejected: 1 },
      step_count: { inserted: 2, updated: 0, unchanged: 0, rejected: 0 },
    });
    expect(rejected.map((r) => r.sample)).toEqual([{ i: 1, bpm: 500 }]);
    expect(await storedCount('heart_rate_samples')).toBe(2);
    expect(await storedCount('quantity_samples')).toBe(2);
  });
});
