/**
 * One chunk of one table, written in one transaction (`writeChunk`, which the
 * caller runs inside `db.transaction`, so a statement that must commit with the
 * samples can follow it on the same connection).
 *
 * The rows travel by COPY, in its text format, into a temporary staging table of
 * the session (`ON COMMIT DELETE ROWS`: empty again at every commit), and one
 * statement merges them into the table; the user and ingestion ids, the same for
 * every row, are two parameters rather than two more fields in each row. Below
 * COPY_MIN_ROWS rows the COPY and the staging table's statement cost more than
 * they save (PostgreSQL CPU per row, 100 rows: 14 µs as JSON, 17 by COPY; equal
 * at 500; 5,000 rows: 10 µs as JSON, 7 by COPY), and the rows travel instead as
 * one JSON parameter expanded by json_to_recordset into the same statement: a
 * small upload's chunk is one round trip. PGlite takes the same path (COPY from
 * a blob): 5,000 new rows cost 17 µs each by COPY against 23 as JSON.
 *
 * The merge first reads the stored row of each incoming identity (same snapshot),
 * which both counts inserted / updated / unchanged per type, without system
 * columns (`xmax` is not usable on partitioned tables), and splits the rows: new
 * identities go in by a plain INSERT, changed ones by ON CONFLICT DO UPDATE,
 * unchanged ones are not written. A plain insert costs PostgreSQL 3 µs a row
 * where ON CONFLICT's speculative insertion costs 5; the price is that an
 * identity another writer stores between the read and the insert fails the
 * chunk with a unique violation (`isRace`), and the chunk is written again.
 *
 * That read is one index lookup per incoming row (LATERAL ... LIMIT 1, which the
 * planner cannot turn into a join), so only the partition holding the row's month
 * is probed. As a plain join, the planner, which cannot see which months a chunk
 * holds, hashed the chunk and scanned every partition of every month: a 100-sample
 * upload cost 110 ms of database CPU against 5 years of history instead of 6 ms.
 *
 * The merge statements are named, one per table and source: PostgreSQL parses
 * them once per connection and, after a few runs, keeps a generic plan instead of
 * planning the insert into every monthly partition again for each chunk (most of
 * a small upload's cost).
 *
 * A value a CHECK constraint refuses fails the merge and so the whole transaction
 * (the staging table has no constraints, and every value is encoded in its
 * column's text form, so the COPY itself does not fail on data): nothing of the
 * chunk is written, and the writer splits it until the row stands alone.
 */
import type { Queryable, Transaction } from '../database.js';
import { OWNER_COLUMNS, type Row, type TableSpec } from './tables.js';

export interface TypeCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** Whose rows a chunk holds, and which ingestion wrote them. */
export interface Owner {
  userId: string;
  ingestionId: string | null;
}

/** Chunks of at least this many rows go by COPY; smaller ones as one JSON parameter (measured: docs/benchmarks.md). */
export const COPY_MIN_ROWS = 500;

type Source = 'copy' | 'json';

interface Compiled {
  /** The per-row columns (all but the owner's), in the staging table's order. */
  perRow: string[];
  stage: string;
  createStage: string;
  encode: (row: Row) => string;
  merge: Record<Source, string>;
}

const compiled = new WeakMap<TableSpec<never>, Compiled>();

function compile(spec: TableSpec<never>): Compiled {
  const cached = compiled.get(spec);
  if (cached) return cached;
  const columns = Object.keys(spec.columns);
  const perRow = columns.filter((column) => !OWNER_COLUMNS.includes(column));
  const recordType = perRow.map((column) => `${column} ${spec.columns[column]}`).join(', ');
  const stage = `stage_${spec.table}`;
  const result: Compiled = {
    perRow,
    stage,
    createStage: `CREATE TEMP TABLE IF NOT EXISTS ${stage} (${recordType}) ON COMMIT DELETE ROWS`,
    encode: rowEncoder(perRow.map((column) => spec.columns[column]!), perRow),
    merge: {
      copy: mergeSql(spec, `pg_temp.${stage} i`),
      json: mergeSql(spec, `json_to_recordset($3::json) AS i(${recordType})`),
    },
  };
  compiled.set(spec, result);
  return result;
}

/** The statement that merges the rows of `from` (aliased i) into the table; $1 the user, $2 the ingestion. */
function mergeSql(spec: TableSpec<never>, from: string): string {
  const columns = Object.keys(spec.columns);
  // The by_type name each row counts under: a column of the row, or the table's one name.
  const typeOf = 'column' in spec.type ? `i.${spec.type.column}` : `'${spec.type.name}'::text`;
  const stored = (alias: string) => `ROW(${spec.values.map((c) => `${alias}.${c}`).join(', ')})`;
  return `
WITH input AS (
  SELECT ${typeOf} AS t, $1::uuid AS user_id, $2::uuid AS ingestion_id, i.* FROM ${from}
), prior AS (
  SELECT i.*, p.same
  FROM input i LEFT JOIN LATERAL (
    SELECT ${stored('e')} IS NOT DISTINCT FROM ${stored('i')} AS same
    FROM ${spec.table} e WHERE ${spec.key.map((c) => `e.${c} = i.${c}`).join(' AND ')}
    LIMIT 1
  ) p ON true
), inserted AS (
  INSERT INTO ${spec.table} (${columns.join(', ')})
  SELECT ${columns.join(', ')} FROM prior WHERE same IS NULL
), updated AS (
  INSERT INTO ${spec.table} AS e (${columns.join(', ')})
  SELECT ${columns.join(', ')} FROM prior WHERE NOT same
  ON CONFLICT (${spec.key.join(', ')}) DO UPDATE
  SET ${[...spec.values, 'ingestion_id'].map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = now()
)
SELECT t, (count(*) FILTER (WHERE same IS NULL))::int AS inserted, (count(*) FILTER (WHERE NOT same))::int AS updated,
  (count(*) FILTER (WHERE same))::int AS unchanged
FROM prior GROUP BY t`;
}

/**
 * A row as one line of COPY text. Values mean what they meant as JSON: a number
 * that is not finite, undefined and null are all NULL (`\N`), as JSON.stringify
 * and json_to_recordset made them.
 */
function rowEncoder(types: string[], names: string[]): (row: Row) => string {
  const copyNumber = numberText();
  const encoders = types.map((type) => fieldEncoder(type, copyNumber));
  return (row) => {
    let line = '';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) line += '\t';
      const value = row[names[i]!];
      line += value === null || value === undefined ? '\\N' : encoders[i]!(value);
    }
    return line;
  };
}

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** A string as a COPY text field: backslash, newline, carriage return and tab escaped. */
const copyText = (text: string): string => (SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c]!) : text);

/**
 * A number as COPY text. Formatting a double is most of a row's encoding, and a
 * row often repeats one (min = avg = max of a heart rate, a value and the value
 * as sent, the same value minute after minute): the last one is kept.
 */
function numberText(): (value: number) => string {
  let last = NaN;
  let text = '\\N';
  return (value) => {
    if (value !== last) {
      last = value;
      text = Number.isFinite(value) ? String(value) : '\\N';
    }
    return text;
  };
}

function fieldEncoder(type: string, copyNumber: (value: number) => string): (value: unknown) => string {
  switch (type) {
    case 'float8':
      return (value) => copyNumber(value as number);
    case 'jsonb':
      return (value) => copyText(JSON.stringify(value));
    case 'float8[]':
      // An array literal: numbers need no quoting; what JSON made null is NULL.
      return (value) => `{${(value as (number | null)[]).map((n) => (typeof n === 'number' && Number.isFinite(n) ? String(n) : 'NULL')).join(',')}}`;
    default:
      // text, timestamptz (ISO strings) and date ('YYYY-MM-DD')
      return (value) => copyText(value as string);
  }
}

/**
 * Writes one chunk of one owner's rows (identities must be unique within it) on
 * `tx`, inside the caller's transaction; returns counts per type.
 */
export async function writeChunk(tx: Transaction, spec: TableSpec<never>, owner: Owner, rows: Row[]): Promise<Map<string, TypeCounts>> {
  const table = compile(spec);
  let result;
  if (rows.length >= COPY_MIN_ROWS) {
    await tx.query(table.createStage);
    let text = '';
    for (const row of rows) text += `${table.encode(row)}\n`;
    await tx.copyFrom(table.stage, table.perRow, text);
    result = await merge(tx, spec, 'copy', [owner.userId, owner.ingestionId]);
  } else {
    result = await merge(tx, spec, 'json', [owner.userId, owner.ingestionId, JSON.stringify(rows)]);
  }
  return new Map(result.rows.map(({ t, inserted, updated, unchanged }) => [t, { inserted, updated, unchanged }]));
}

function merge(tx: Queryable, spec: TableSpec<never>, source: Source, params: unknown[]) {
  return tx.query<{ t: string } & TypeCounts>(compile(spec).merge[source], params, {
    name: `merge_${source}_${spec.table}`,
  });
}

/**
 * Errors about the data itself (a value a constraint refuses), as opposed to the
 * database. A unique violation is not one: identities are unique within a chunk.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code ?? '';
  return (code.startsWith('22') || code.startsWith('23')) && !isRace(error);
}

/**
 * Another writer stored one of the chunk's new identities between the merge's
 * look-up and its insert (the same data uploaded twice at once): written again,
 * the chunk finds the row and counts it as updated or unchanged.
 */
export function isRace(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}
