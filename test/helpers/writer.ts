/**
 * The sample writer driven on its own, as one ingestion drives it: records in,
 * counts per type (rejections included) and the rejections out.
 */
import { loadConfig } from '../../src/config/config.js';
import type { HealthRecord, Rejection } from '../../src/ingest/records.js';
import type { Database } from '../../src/storage/database.js';
import { createSampleWriter, type Outcome } from '../../src/storage/samples/writer.js';
import { silent } from './databases.js';

export type WrittenCounts = Record<string, Record<Outcome | 'rejected', number>>;

export async function writeRecords(
  db: Database,
  userId: string,
  records: HealthRecord[],
  chunkSize = loadConfig({}).batch.chunkSize,
): Promise<{ counts: WrittenCounts; rejected: Rejection[] }> {
  const counts: WrittenCounts = {};
  const rejected: Rejection[] = [];
  const count = (type: string, outcome: Outcome | 'rejected', n: number) => {
    counts[type] ??= { inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
    counts[type][outcome] += n;
  };
  const writer = createSampleWriter({
    db,
    userId,
    ingestionId: null,
    batch: { ...loadConfig({}).batch, chunkSize, initialBackoffMs: 1 },
    postgis: false,
    logger: silent,
    sink: {
      outcome: count,
      reject: (rejection) => {
        count(rejection.type, 'rejected', 1);
        rejected.push(rejection);
      },
    },
  });
  for (const record of records) await writer.add(record);
  await writer.finish();
  return { counts, rejected };
}
