/**
 * Counting inserted / updated / unchanged reads the stored rows a chunk is about
 * to replace. That read must touch only the months the chunk holds: it used to
 * scan every monthly partition, so each small upload got slower with every month
 * of history (110 ms of database CPU per 100-sample upload against 5 years).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { HeartRateRecord } from '../../src/ingest/records.js';
import type { Database, Queryable } from '../../src/storage/database.js';
import { createSampleWriter } from '../../src/storage/samples/writer.js';
import { databaseKinds, resetDatabase, silent, workerDatabase } from '../helpers/databases.js';

const heartRate = (month: number, minute: number, bpm: number): HeartRateRecord => {
  const start = new Date(Date.UTC(2023, month, 10, 0, minute));
  return { kind: 'heart_rate', type: 'heart_rate', start, end: start, source: 'Watch', min: bpm, avg: bpm, max: bpm, context: null, raw: {} };
};

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Partitions a plan actually scanned (run-time pruned or never executed ones are not). */
function scannedPartitions(node: PlanNode, found = new Set<string>()): Set<string> {
  if (/Scan/.test(node['Node Type']) && node['Relation Name']?.startsWith('heart_rate_samples_p') && (node['Actual Loops'] ?? 0) > 0) {
    found.add(node['Relation Name']);
  }
  for (const child of node.Plans ?? []) scannedPartitions(child, found);
  return found;
}

describe.each(databaseKinds())('writing a chunk into one month of a long history (%s database)', (kind) => {
  let db: Database;
  let userId: string;
  beforeAll(async () => {
    db = (await workerDatabase(kind)).db;
    await resetDatabase(db);
    userId = (await db.query<{ id: string }>("INSERT INTO users (email) VALUES ('history@example.com') RETURNING id")).rows[0]!.id;
  });
  afterAll(() => resetDatabase(db));

  /** Writes the records; returns each statement the writer sent with its parameters. */
  async function write(records: HeartRateRecord[]) {
    const sent: { text: string; params: unknown[] }[] = [];
    const watching = (target: Queryable) =>
      (async (text: string, params?: unknown[]) => {
        sent.push({ text, params: params ?? [] });
        return target.query(text, params);
      }) as Database['query'];
    // Chunks are written in transactions of their own.
    const watched: Database = { ...db, query: watching(db), transaction: (fn) => db.transaction((tx) => fn({ query: watching(tx) })) };
    const writer = createSampleWriter({
      db: watched,
      userId,
      ingestionId: null,
      batch: loadConfig({}).batch,
      postgis: false,
      logger: silent,
      sink: { outcome: () => undefined, reject: () => undefined },
    });
    for (const record of records) await writer.add(record);
    await writer.finish();
    return sent.filter((statement) => statement.text.includes('json_to_recordset'));
  }

  it('reads only the partition of that month, not every month stored', async () => {
    // A year of history: some rows in each of twelve monthly partitions.
    await write(Array.from({ length: 12 * 20 }, (_, i) => heartRate(Math.floor(i / 20), i % 20, 60)));
    const [upsert] = await write([heartRate(5, 30, 70), heartRate(5, 31, 71), heartRate(5, 0, 65)]);
    // EXPLAIN ANALYZE runs the statement: inside a transaction that is then rolled back.
    let plan: { Plan: PlanNode }[] = [];
    const rollback = new Error('rollback');
    await db
      .transaction(async (tx) => {
        const result = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${upsert!.text}`, upsert!.params);
        const raw = result.rows[0]!['QUERY PLAN'];
        plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
        throw rollback;
      })
      .catch((error: unknown) => {
        if (error !== rollback) throw error;
      });
    expect([...scannedPartitions(plan[0]!.Plan)]).toEqual(['heart_rate_samples_p202306']);
  });
});
