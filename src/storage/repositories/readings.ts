/**
 * Samples read back, one keyset page at a time, always for one user: heart rate,
 * blood pressure, raw sleep segments (nights: nights.ts), any quantity metric,
 * and the list of metrics a user has. Filters: `start` inclusive and `end`
 * exclusive on the sample's start, and an exact `source`.
 */
import type { Queryable } from '../database.js';
import { readColumns, TABLES, type TableSpec } from '../samples/tables.js';
import { keysetPage, type KeyColumn, type KeysetQuery, type Key, type Order, type Page } from './keyset.js';

export interface SampleFilter {
  /** ISO 8601 instants. */
  start?: string;
  end?: string;
  source?: string;
}

export interface PageRequest {
  after?: Key;
  limit: number;
  order: Order;
}

export type Row = Record<string, unknown>;

const ts = (column: string): KeyColumn => ({ column, type: 'timestamptz' });
const text = (column: string): KeyColumn => ({ column, type: 'text' });

/** The keys each list is ordered by (the table's identity after user and type). */
export const READING_KEYS = {
  heartRate: [ts('start_at'), ts('end_at'), text('source')],
  bloodPressure: [ts('start_at'), ts('end_at'), text('source')],
  sleepSegments: [ts('start_at'), ts('end_at'), text('source'), text('stage'), text('sent_stage')],
  metricSamples: [ts('start_at'), ts('end_at'), text('source'), text('qualifier')],
} satisfies Record<string, KeyColumn[]>;

/** The user, time range and source conditions, with their parameters. */
export function sampleConditions(userId: string, filter: SampleFilter): { where: string[]; params: unknown[] } {
  const where = ['t.user_id = $1'];
  const params: unknown[] = [userId];
  const add = (condition: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(condition(params.length));
  };
  if (filter.start !== undefined) add((n) => `t.start_at >= $${n}::timestamptz`, filter.start);
  if (filter.end !== undefined) add((n) => `t.start_at < $${n}::timestamptz`, filter.end);
  if (filter.source !== undefined) add((n) => `t.source = $${n}`, filter.source);
  return { where, params };
}

/** One user's rows of a table in keyset order, filtered, with one more condition when given. */
export function sampleQuery(
  spec: TableSpec,
  key: KeyColumn[],
  userId: string,
  filter: SampleFilter,
  extra?: (n: number) => string,
  value?: unknown,
): KeysetQuery {
  const { where, params } = sampleConditions(userId, filter);
  if (extra) {
    params.push(value);
    where.push(extra(params.length));
  }
  return { from: `${spec.table} t`, select: readColumns(spec), key, where, params };
}

/** Where a metric's samples are kept: the quantity table, or a typed table of their own. */
export type MetricStore = 'quantity' | 'heart_rate' | 'blood_pressure' | 'sleep_segments' | 'sleep_nights';

export interface MetricSummaryRow {
  name: string;
  unit: string;
  count: number;
  first: Date;
  last: Date;
  store: MetricStore;
}

/** Samples kept in typed tables rather than as quantities, with the unit their values are in. */
export const TYPED_METRICS = [
  { name: 'heart_rate', store: 'heart_rate', table: 'heart_rate_samples', unit: 'count/min' },
  { name: 'blood_pressure', store: 'blood_pressure', table: 'blood_pressure_samples', unit: 'mmHg' },
  { name: 'sleep_analysis', store: 'sleep_nights', table: 'sleep_nights', unit: 'hr' },
  { name: 'sleep_analysis', store: 'sleep_segments', table: 'sleep_segments', unit: 'hr' },
] as const satisfies readonly { name: string; store: MetricStore; table: string; unit: string }[];

export function readingsRepository(db: Queryable) {
  /** A page of one user's rows of a typed table, in `key` order. */
  const list =
    (spec: TableSpec, key: KeyColumn[]) =>
    (userId: string, filter: SampleFilter, page: PageRequest): Promise<Page<Row>> =>
      keysetPage(db, sampleQuery(spec, key, userId, filter), page);

  return {
    heartRate: list(TABLES.heart_rate, READING_KEYS.heartRate),
    bloodPressure: list(TABLES.blood_pressure, READING_KEYS.bloodPressure),
    sleepSegments: list(TABLES.sleep_segment, READING_KEYS.sleepSegments),

    metricSamples: (userId: string, metric: string, filter: SampleFilter, page: PageRequest): Promise<Page<Row>> =>
      keysetPage(db, sampleQuery(TABLES.quantity, READING_KEYS.metricSamples, userId, filter, (n) => `t.metric = $${n}`, metric), page),

    /** The unit of the user's latest sample of a metric (its canonical unit), or null without samples. */
    async metricUnit(userId: string, metric: string): Promise<string | null> {
      const result = await db.query<{ unit: string }>(
        'SELECT unit FROM quantity_samples WHERE user_id = $1 AND metric = $2 ORDER BY start_at DESC LIMIT 1',
        [userId, metric],
      );
      return result.rows[0]?.unit ?? null;
    },

    /** Every metric the user has: quantities from their table, the typed ones from theirs (counted at once on PostgreSQL). */
    async metrics(userId: string): Promise<MetricSummaryRow[]> {
      const quantities = db.query<MetricSummaryRow>(
        `SELECT a.metric AS name, latest.unit, a.count, a.first, a.last, 'quantity' AS store
         FROM (SELECT metric, count(*)::int AS count, min(start_at) AS first, max(end_at) AS last
               FROM quantity_samples WHERE user_id = $1 GROUP BY metric) a
         CROSS JOIN LATERAL (SELECT unit FROM quantity_samples u WHERE u.user_id = $1 AND u.metric = a.metric
                             ORDER BY u.start_at DESC LIMIT 1) latest`,
        [userId],
      );
      const typed = TYPED_METRICS.map((metric) =>
        db.query<MetricSummaryRow>(
          `SELECT $2 AS name, $3 AS unit, count(*)::int AS count, min(start_at) AS first, max(end_at) AS last, $4 AS store
           FROM ${metric.table} WHERE user_id = $1 HAVING count(*) > 0`,
          [userId, metric.name, metric.unit, metric.store],
        ),
      );
      return (await Promise.all([quantities, ...typed])).flatMap((result) => result.rows);
    },
  };
}

export type ReadingsRepository = ReturnType<typeof readingsRepository>;
