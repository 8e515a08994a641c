/**
 * Keyset pagination: rows in the order of a unique key, each page starting after
 * the last key of the one before. A page costs the same at row ten and at row ten
 * million (no OFFSET), and rows written meanwhile never shift what comes next.
 * Lists serve one page per request; exports walk every page in batches.
 */
import type { Queryable } from '../database.js';

export type KeyType = 'timestamptz' | 'date' | 'text' | 'uuid' | 'bigint';
export interface KeyColumn {
  column: string;
  type: KeyType;
}
/** A key as it travels in a cursor: one JSON-safe value per key column. */
export type Key = string[];
export type Order = 'asc' | 'desc';

export interface KeysetQuery {
  /** The FROM clause; the main table is aliased `t`, and key columns are `t.<column>`. */
  from: string;
  /** The select list; it must name each key column as itself (dates cast to text). */
  select: string;
  key: KeyColumn[];
  /** Conditions joined with AND; `$n` placeholders refer to `params`. */
  where: string[];
  params: unknown[];
}

export interface Page<R> {
  rows: R[];
  /** The key to continue after, or null on the last page. */
  next: Key | null;
}

// Cursors are issued with toISOString (UTC, Z); the fraction may be longer than milliseconds.
const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,6})?Z$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^\d{1,18}$/;

/**
 * A date (and time) PostgreSQL reads as written: JavaScript rolls 2024-02-31 over to
 * March and accepts year 0, where PostgreSQL refuses both (a 500 from a forged cursor).
 */
function realCalendar(date: string, time = '00:00:00'): boolean {
  const parsed = new Date(`${date}T${time}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === `${date}T${time}` && !date.startsWith('0000');
}

function validValue(type: KeyType, value: unknown): boolean {
  // U+0000 and an unpaired surrogate cannot be sent to PostgreSQL as text.
  if (typeof value !== 'string' || value.includes('\u0000') || /\p{Cs}/u.test(value)) return false;
  if (type === 'timestamptz') {
    const match = ISO_INSTANT.exec(value);
    return match !== null && realCalendar(match[1]!, match[2]!);
  }
  if (type === 'date') return ISO_DATE.test(value) && realCalendar(value);
  if (type === 'uuid') return UUID.test(value);
  if (type === 'bigint') return BIGINT.test(value);
  return true;
}

/** A guard for cursors: only a key this query could have issued reaches SQL. */
export function isKeyOf(key: KeyColumn[]) {
  return (value: unknown): value is Key =>
    Array.isArray(value) && value.length === key.length && value.every((item, i) => validValue(key[i]!.type, item));
}

/** A guard for cursors that are objects (`{created_at, id}`): each named field valid for its type, nothing else. */
export function isKeyRecord<const S extends Record<string, KeyType>>(shape: S) {
  const names = Object.keys(shape);
  return (value: unknown): value is { [K in keyof S]: string } =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === names.length &&
    names.every((name) => validValue(shape[name]!, (value as Record<string, unknown>)[name]));
}

function keyOf(row: Record<string, unknown>, key: KeyColumn[]): Key {
  return key.map(({ column }) => {
    const value = row[column];
    return value instanceof Date ? value.toISOString() : String(value);
  });
}

/** One page of at most `limit` rows after `after` (exclusive), in key order. */
export async function keysetPage<R extends Record<string, unknown>>(
  db: Queryable,
  query: KeysetQuery,
  options: { after?: Key; limit: number; order?: Order },
): Promise<Page<R>> {
  const order = options.order ?? 'asc';
  const params = [...query.params];
  const where = [...query.where];
  if (options.after) {
    const placeholders = query.key.map(({ type }, i) => `$${params.length + i + 1}::${type}`);
    params.push(...options.after);
    where.push(`(${query.key.map((k) => `t.${k.column}`).join(', ')}) ${order === 'asc' ? '>' : '<'} (${placeholders.join(', ')})`);
  }
  params.push(options.limit + 1);
  const direction = order === 'asc' ? '' : ' DESC';
  const result = await db.query<R>(
    `SELECT ${query.select} FROM ${query.from}
     WHERE ${where.join(' AND ')}
     ORDER BY ${query.key.map((k) => `t.${k.column}${direction}`).join(', ')}
     LIMIT $${params.length}`,
    params,
  );
  const rows = result.rows.slice(0, options.limit);
  const more = result.rows.length > options.limit;
  return { rows, next: more && rows.length > 0 ? keyOf(rows.at(-1)!, query.key) : null };
}

/** Every row, `batch` at a time: memory holds one batch whatever the range. */
export async function* keysetBatches<R extends Record<string, unknown>>(
  db: Queryable,
  query: KeysetQuery,
  batch: number,
): AsyncGenerator<R[]> {
  let after: Key | undefined;
  for (;;) {
    const page = await keysetPage<R>(db, query, { after, limit: batch });
    if (page.rows.length > 0) yield page.rows;
    if (!page.next) return;
    after = page.next;
  }
}
