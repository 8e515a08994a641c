/**
 * Everything a user has, as the records it was stored from, a batch at a time.
 * Each table is walked by keyset pages along its own primary key, type by type
 * (metric by metric), so memory holds one batch whatever the range and no query
 * scans what it does not return. Records come back through each table's
 * `fromRow`, the inverse of the writer's `toRow`, except the two per-minute
 * tables (heart rate and quantities: nearly every row of a year), whose rows go
 * to the encoder as selected, times already ISO text, to be written out
 * directly: a record per row, its two Dates parsed and formatted again, then a
 * standard sample object, cost the export 60 % of its time and most of its
 * garbage (docs/benchmarks.md, the export's profile).
 */
import type { HealthRecord } from '../../ingest/records.js';
import type { Queryable } from '../database.js';
import { TABLES, type TableSpec } from '../samples/tables.js';
import { workoutFromRows, WORKOUT_COLUMNS, type WorkoutRow } from '../samples/workouts.js';
import { keysetBatches, type KeyColumn, type KeysetQuery, type KeyType } from './keyset.js';
import { sampleConditions, sampleQuery } from './readings.js';
import { readColumnsWithIsoTimes } from './times.js';
import { readRoute, readSeries, WORKOUT_KEY } from './workouts.js';

export interface ExportFilter {
  /** ISO 8601 instants: start inclusive, end exclusive, on each sample's start. */
  start?: string;
  end?: string;
  /** `by_type` names; all when absent. */
  types?: string[];
}

/** A quantity sample as selected for the export: the table's columns, times as ISO text. */
export interface QuantityLineRow {
  metric: string;
  start_at: string;
  end_at: string;
  source: string;
  qualifier: string;
  value: number;
  unit: string;
  sent_value: number;
  sent_unit: string;
  extra: Record<string, unknown> | null;
}

/** A heart-rate sample as selected for the export, times as ISO text. */
export interface HeartRateLineRow {
  start_at: string;
  end_at: string;
  source: string;
  min: number;
  avg: number;
  max: number;
  context: string | null;
}

/** A batch of the export: records, or rows of one of the per-minute tables. */
export type ExportBatch =
  | { kind: 'records'; records: HealthRecord[] }
  | { kind: 'quantity'; rows: QuantityLineRow[] }
  | { kind: 'heart_rate'; rows: HeartRateLineRow[] };

/** The tables whose rows are written out as selected. */
const LINE_TABLES = new Map<TableSpec, 'quantity' | 'heart_rate'>([
  [TABLES.quantity as TableSpec, 'quantity'],
  [TABLES.heart_rate as TableSpec, 'heart_rate'],
]);

/** ECG readings carry ~15,000 voltages each: a smaller batch keeps memory flat. */
const ECG_BATCH = 20;

const KEY_TYPES: Record<string, KeyType> = { timestamptz: 'timestamptz', date: 'date', text: 'text', uuid: 'uuid' };

function keyOf(spec: TableSpec, skip: string[]): KeyColumn[] {
  return spec.key.filter((column) => !skip.includes(column)).map((column) => ({ column, type: KEY_TYPES[spec.columns[column]!]! }));
}

/** The distinct values of a type column for a user, found by skipping along the index. */
async function typesStored(db: Queryable, table: string, column: string, userId: string): Promise<string[]> {
  const result = await db.query<{ value: string }>(
    `WITH RECURSIVE v AS (
       SELECT min(${column}) AS value FROM ${table} WHERE user_id = $1
       UNION ALL
       SELECT (SELECT min(${column}) FROM ${table} WHERE user_id = $1 AND ${column} > v.value) FROM v WHERE v.value IS NOT NULL
     )
     SELECT value FROM v WHERE value IS NOT NULL`,
    [userId],
  );
  return result.rows.map((row) => row.value);
}

export async function* exportRecords(db: Queryable, userId: string, filter: ExportFilter, batch: number): AsyncGenerator<ExportBatch> {
  const wanted = (type: string) => filter.types === undefined || filter.types.includes(type);
  const range = { start: filter.start, end: filter.end };

  for (const spec of Object.values(TABLES) as TableSpec[]) {
    const size = spec.table === 'ecg_recordings' ? ECG_BATCH : batch;
    const lines = LINE_TABLES.get(spec);
    const batches = (query: KeysetQuery): AsyncGenerator<ExportBatch> =>
      lines
        ? mapBatches(keysetBatches(db, { ...query, select: readColumnsWithIsoTimes(spec) }, size), (rows) => ({ kind: lines, rows }) as unknown as ExportBatch)
        : mapBatches(keysetBatches(db, query, size), (rows) => ({ kind: 'records', records: rows.map((row) => spec.fromRow(row)) }));
    if ('column' in spec.type) {
      const column = spec.type.column;
      for (const type of (await typesStored(db, spec.table, column, userId)).filter(wanted)) {
        yield* batches(sampleQuery(spec, keyOf(spec, ['user_id', column]), userId, range, (n) => `t.${column} = $${n}`, type));
      }
    } else if (wanted(spec.type.name)) {
      yield* batches(sampleQuery(spec, keyOf(spec, ['user_id']), userId, range));
    }
  }

  if (wanted('workouts')) {
    const select = WORKOUT_COLUMNS.map((c) => `t.${c}`).join(', ');
    const query = { from: 'workouts t', select, key: WORKOUT_KEY, ...sampleConditions(userId, range) };
    // Workouts are few and each carries its route and series: a small batch.
    for await (const rows of keysetBatches<WorkoutRow>(db, query, ECG_BATCH)) {
      const records: HealthRecord[] = [];
      for (const row of rows) {
        const id = row.id as string;
        const [route, series] = await Promise.all([readRoute(db, userId, id), readSeries(db, userId, id)]);
        records.push(workoutFromRows(row, route, series));
      }
      yield { kind: 'records', records };
    }
  }
}

async function* mapBatches<T>(rows: AsyncIterable<Record<string, unknown>[]>, map: (rows: Record<string, unknown>[]) => T): AsyncGenerator<T> {
  for await (const batch of rows) yield map(batch);
}
