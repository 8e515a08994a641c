/**
 * Samples read back, one keyset page at a time, always for one user: heart rate,
 * blood pressure, raw sleep segments (nights: nights.ts), any quantity metric,
 * and the list of metrics a user has. Filters: `start` inclusive and `end`
 * exclusive on the sample's start, and an exact `source`.
 */
import type { Queryable } from '../database.js';
import type { EventType } from '../../ingest/records.js';
import { readColumns, TABLES, type TableSpec } from '../samples/tables.js';
import { keysetPage, type KeyColumn, type KeysetQuery, type Key, type Order, type Page } from './keyset.js';
import { readColumnsWithIsoTimes } from './times.js';

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
  events: [ts('start_at'), ts('end_at'), text('source'), text('qualifier')],
  ecg: [ts('start_at'), ts('end_at'), text('source')],
} satisfies Record<string, KeyColumn[]>;

/**
 * One list of samples: the table it reads, the key it is ordered (and paged) by,
 * and, for a table holding several types in a column, the one type it lists. A
 * page request's cursor is checked against this key, so a list cannot be paged
 * with another list's key.
 */
export interface ReadingTable {
  spec: TableSpec;
  key: KeyColumn[];
  /** The value of the spec's type column this list keeps (health_events holds five types). */
  type?: string;
  /** Columns of the spec left out of the list (an ECG's 15,000 voltages). */
  omit?: string[];
  /** Columns beyond the spec's (a stable id the writer never sets). */
  also?: string[];
}

const event = (type: EventType): ReadingTable => ({ spec: TABLES.event, key: READING_KEYS.events, type });

export const READINGS = {
  heartRate: { spec: TABLES.heart_rate, key: READING_KEYS.heartRate },
  bloodPressure: { spec: TABLES.blood_pressure, key: READING_KEYS.bloodPressure },
  sleepSegments: { spec: TABLES.sleep_segment, key: READING_KEYS.sleepSegments },
  stateOfMind: event('state_of_mind'),
  symptoms: event('symptoms'),
  medications: event('medications'),
  cycleTracking: event('cycle_tracking'),
  heartRateNotifications: event('heart_rate_notifications'),
  ecg: { spec: TABLES.ecg, key: READING_KEYS.ecg, omit: ['voltages', 'voltage_times'], also: ['id'] },
} satisfies Record<string, ReadingTable>;

/** One quantity metric's samples. */
export const metricReading = (metric: string): ReadingTable => ({ spec: TABLES.quantity, key: READING_KEYS.metricSamples, type: metric });

/** The select list of a reading: the spec's columns without those omitted (times as ISO text), and the extra ones. */
function readingColumns(reading: ReadingTable): string {
  const columns = Object.fromEntries(Object.entries(reading.spec.columns).filter(([column]) => !reading.omit?.includes(column)));
  return [readColumnsWithIsoTimes({ columns }), ...(reading.also ?? []).map((column) => `t.${column}`)].join(', ');
}

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

/** Where the types that are not metrics are kept. */
export type OtherStore = 'events' | 'ecg' | 'workouts';

export interface TypeSummaryRow {
  name: string;
  /** The canonical unit of a metric's values; null for the other types. */
  unit: string | null;
  count: number;
  first: Date;
  last: Date;
  store: MetricStore | OtherStore;
}

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
  /** A page of one user's rows of a reading, in its key's order. */
  const list = (reading: ReadingTable, userId: string, filter: SampleFilter, page: PageRequest): Promise<Page<Row>> => {
    const column = 'column' in reading.spec.type ? reading.spec.type.column : null;
    const query = column && reading.type !== undefined
      ? sampleQuery(reading.spec, reading.key, userId, filter, (n) => `t.${column} = $${n}`, reading.type)
      : sampleQuery(reading.spec, reading.key, userId, filter);
    return keysetPage(db, { ...query, select: readingColumns(reading) }, page);
  };

  const repository = {
    list,

    /** One ECG recording of the user's, voltages included, by its id; null when there is none (or it is another user's). */
    async ecg(userId: string, id: string): Promise<Row | null> {
      const result = await db.query(`SELECT t.id, ${readColumns(TABLES.ecg)} FROM ${TABLES.ecg.table} t WHERE t.user_id = $1 AND t.id = $2`, [userId, id]);
      return result.rows[0] ?? null;
    },

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

    /** Every type the user has: the metrics, then each event type, ECG and workouts. */
    async types(userId: string): Promise<TypeSummaryRow[]> {
      const summary = (table: string, name: string, store: OtherStore) =>
        `SELECT ${name} AS name, NULL::text AS unit, count(*)::int AS count, min(start_at) AS first, max(end_at) AS last, '${store}' AS store
         FROM ${table} WHERE user_id = $1`;
      const others = [
        `${summary(TABLES.event.table, 'type', 'events')} GROUP BY type`,
        `${summary(TABLES.ecg.table, "'ecg'", 'ecg')} HAVING count(*) > 0`,
        `${summary('workouts', "'workouts'", 'workouts')} HAVING count(*) > 0`,
      ].map((sql) => db.query<TypeSummaryRow>(sql, [userId]));
      const [measured, rest] = await Promise.all([repository.metrics(userId), Promise.all(others)]);
      return [...measured, ...rest.flatMap((result) => result.rows)];
    },
  };
  return repository;
}

export type ReadingsRepository = ReturnType<typeof readingsRepository>;
