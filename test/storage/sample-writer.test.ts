/**
 * The chunked writer on its own: a row the database refuses costs only itself,
 * transient errors are retried, and duplicates within a payload collapse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeartRateRecord } from '../../src/ingest/records.js';
import type { Database } from '../../src/storage/database.js';
import { databaseKinds, hookedDatabase, resetDatabase, workerDatabase } from '../helpers/databases.js';
import { writeRecords } from '../helpers/writer.js';

const heartRate = (minute: number, bpm: number, source = 'Watch'): HeartRateRecord => {
  const start = new Date(Date.UTC(2024, 2, 1, 0, minute));
  return { kind: 'heart_rate', type: 'heart_rate', start, end: start, source, min: bpm, avg: bpm, max: bpm, context: null, raw: { minute, bpm } };
};

describe.each(databaseKinds())('the sample writer (%s database)', (kind) => {
  let db: Database;
  let userId: string;
  beforeAll(async () => {
    db = (await workerDatabase(kind)).db;
    await resetDatabase(db);
    userId = (await db.query<{ id: string }>("INSERT INTO users (email) VALUES ('writer@example.com') RETURNING id")).rows[0]!.id;
  });
  afterAll(() => resetDatabase(db));

  const write = async (records: HeartRateRecord[], target: Database = db, chunkSize = 4) => {
    const { counts, rejected } = await writeRecords(target, userId, records, chunkSize);
    return { outcomes: counts.heart_rate ?? { inserted: 0, updated: 0, unchanged: 0, rejected: 0 }, rejected };
  };

  it('rejects a row that breaks a CHECK constraint alone, with the database reason, and stores its chunk', async () => {
    const records = Array.from({ length: 10 }, (_, i) => heartRate(i, 60 + i));
    records[5] = heartRate(5, 500); // past the schema's outer limit of 400
    const { outcomes, rejected } = await write(records);
    expect(outcomes.inserted).toBe(9);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatch(/refused by the database: .*check constraint/i);
    expect(rejected[0]!.sample).toEqual({ minute: 5, bpm: 500 });
    const stored = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM heart_rate_samples WHERE user_id = $1', [userId]);
    expect(stored.rows[0]!.n).toBe(9);
  });

  it('collapses duplicates within a payload, last one wins, and counts them so the total adds up', async () => {
    const { outcomes } = await write([heartRate(100, 70), heartRate(100, 70), heartRate(101, 70), heartRate(101, 75)], db, 100);
    expect(outcomes).toEqual({ inserted: 2, updated: 1, unchanged: 1, rejected: 0 });
    const row = await db.query<{ avg: number }>("SELECT avg FROM heart_rate_samples WHERE user_id = $1 AND start_at = '2024-03-01T01:41:00Z'", [userId]);
    expect(row.rows[0]!.avg).toBe(75);
  });

  it('retries a chunk after a transient error (serialisation failure) and stores it once', async () => {
    let failures = 1;
    const flaky = hookedDatabase(db, {
      query: (text) => {
        if (text.includes('json_to_recordset') && failures-- > 0) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      },
    });
    const { outcomes } = await write([heartRate(200, 80), heartRate(201, 81)], flaky);
    expect(outcomes.inserted).toBe(2);
    expect(failures).toBe(-1);
  });
});
