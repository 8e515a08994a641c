/**
 * Everything a user has, as the records it was stored from, a batch at a time.
 * Each table is walked by keyset pages along its own primary key, type by type
 * (metric by metric), so memory holds one batch whatever the range and no query
 * scans what it does not return. Records come back through each table's
 * `fromRow`, the inverse of the writer's `toRow`.
 */
import type { HealthRecord } from '../../ingest/records.js';
import type { Queryable } from '../database.js';
import { TABLES, type TableSpec } from '../samples/tables.js';
import { workoutFromRows, WORKOUT_COLUMNS, type WorkoutRow } from '../samples/workouts.js';
import { keysetBatches, type KeyColumn, type KeyType } from './keyset.js';
import { sampleConditions, sampleQuery } from './readings.js';
import { readRoute, readSeries, WORKOUT_KEY } from './workouts.js';

export interface ExportFilter {
  /** ISO 8601 instants: start inclusive, end exclusive, on each sample's start. */
  start?: string;
  end?: string;
  /** `by_type` names; all when absent. */
  types?: string[];
}

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

export async function* exportRecords(db: Queryable, userId: string, filter: ExportFilter, batch: number): AsyncGenerator<HealthRecord[]> {
  const wanted = (type: string) => filter.types === undefined || filter.types.includes(type);
  const range = { start: filter.start, end: filter.end };

  for (const spec of Object.values(TABLES) as TableSpec[]) {
    const size = spec.table === 'ecg_recordings' ? ECG_BATCH : batch;
    if ('column' in spec.type) {
      const column = spec.type.column;
      for (const type of (await typesStored(db, spec.table, column, userId)).filter(wanted)) {
        const query = sampleQuery(spec, keyOf(spec, ['user_id', column]), userId, range, (n) => `t.${column} = $${n}`, type);
        for await (const rows of keysetBatches(db, query, size)) yield rows.map((row) => spec.fromRow(row));
      }
    } else if (wanted(spec.type.name)) {
      const query = sampleQuery(spec, keyOf(spec, ['user_id']), userId, range);
      for await (const rows of keysetBatches(db, query, size)) yield rows.map((row) => spec.fromRow(row));
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
      yield records;
    }
  }
}
