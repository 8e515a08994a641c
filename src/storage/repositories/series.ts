/**
 * Chart series: one metric's samples (or heart rate's) aggregated into buckets of
 * local time in an IANA zone, in SQL, so a dashboard draws a year from a few
 * hundred rows instead of a million samples.
 *
 * Buckets follow the zone's clock: a day runs from local midnight to local
 * midnight (23 or 25 hours across a DST change), a week from Monday (ISO), a
 * month from the 1st. Minutes, quarter hours and hours are fixed lengths that
 * start on the local clock's boundary; when the clock goes back, the repeated
 * hour is two buckets of one hour each, not one of two.
 *
 * Converting every sample's time to the zone costs more than the aggregation, so
 * samples are first counted into bins of plain arithmetic (date_bin on the UTC
 * instant) and only the bins are placed in buckets. A bin never straddles a
 * bucket boundary: bins are 15 minutes where every offset in the range is a
 * multiple of 15 minutes (every zone's today), one minute where they are whole
 * minutes, else one second (historical offsets such as Monrovia's -0:44:30).
 *
 * Sums are taken in float8, and again in numeric only when a float8 sum
 * overflows (rows stored before the upper bounds existed, exact-sum.ts): numeric
 * made a year of steps twice as slow (2.1 s against 1.2 s on a loaded machine,
 * 785,000 samples), for rows that cannot be stored any more. JIT is off: it
 * compiled for 170 ms to save nothing on these plans.
 */
import type { Database } from '../database.js';
import { asFloat } from './exact-sum.js';
import { unknownZone } from './nights.js';
import { isoText } from './times.js';

export const SERIES_BUCKETS = ['1m', '15m', '1h', '1d', '1w', '1mo'] as const;
export type SeriesBucket = (typeof SERIES_BUCKETS)[number];

/** A series answers in one response; a longer one is refused rather than paged. */
export const MAX_SERIES_BUCKETS = 5000;

interface BucketRule {
  /** The local time's bucket (a timestamp without zone). */
  trunc: (local: string) => string;
  /** Sub-day buckets are a fixed length from their local start; longer ones end at the next local boundary. */
  length: { fixed: string } | { step: string };
  /** The longest bin that fits the bucket (seconds). */
  maxBin: number;
}

const BUCKETS: Record<SeriesBucket, BucketRule> = {
  '1m': { trunc: (l) => `date_trunc('minute', ${l})`, length: { fixed: "interval '1 minute'" }, maxBin: 60 },
  '15m': { trunc: (l) => `date_bin(interval '15 minutes', ${l}, timestamp '2000-01-01')`, length: { fixed: "interval '15 minutes'" }, maxBin: 900 },
  '1h': { trunc: (l) => `date_trunc('hour', ${l})`, length: { fixed: "interval '1 hour'" }, maxBin: 900 },
  '1d': { trunc: (l) => `date_trunc('day', ${l})`, length: { step: "interval '1 day'" }, maxBin: 900 },
  '1w': { trunc: (l) => `date_trunc('week', ${l})`, length: { step: "interval '7 days'" }, maxBin: 900 },
  '1mo': { trunc: (l) => `date_trunc('month', ${l})`, length: { step: "interval '1 month'" }, maxBin: 900 },
};

/** What is aggregated: the table, the rows kept, and the expressions behind min, max and the sum. */
export interface SeriesSource {
  table: string;
  /** Conditions beyond user, time and source; `$n` from `firstParam` on, with their values. */
  where: (firstParam: number) => string[];
  params: unknown[];
  low: string;
  high: string;
  value: string;
}

/** One quantity metric's values, in one stored unit (a unit the server does not know is kept as sent and never mixed in). */
export const metricSeries = (metric: string, unit: string): SeriesSource => ({
  table: 'quantity_samples',
  where: (n) => [`t.metric = $${n}`, `t.unit = $${n + 1}`],
  params: [metric, unit],
  low: 't.value',
  high: 't.value',
  value: 't.value',
});

/** Heart rate: the lowest min, the highest max, and the samples' avg for the average and the sum. */
export const HEART_RATE_SERIES: SeriesSource = { table: 'heart_rate_samples', where: () => [], params: [], low: 't.min', high: 't.max', value: 't.avg' };

export interface SeriesRequest {
  /** ISO 8601 instants: samples starting in [start, end). */
  start: string;
  end: string;
  timeZone: string;
  bucket: SeriesBucket;
  source?: string;
}

export interface SeriesRow {
  start: string;
  end: string;
  min: number;
  avg: number | null;
  max: number;
  sum: number | null;
  count: number;
}

// $1 start, $2 end, $3 zone.
const START_LOCAL = '($1::timestamptz AT TIME ZONE $3)';
const END_LOCAL = '($2::timestamptz AT TIME ZONE $3)';

/** The bucket holding the instant `at` (whose local time is `local`): its start and end instants. */
function bucketOf(rule: BucketRule, at: string, local: string): { start: string; end: string } {
  if ('fixed' in rule.length) {
    // Back from the instant by how far its local time is past the boundary: the offset in force stays the instant's own.
    const start = `(${at} - (${local} - ${rule.trunc(local)}))`;
    return { start, end: `(${start} + ${rule.length.fixed})` };
  }
  return { start: `(${rule.trunc(local)} AT TIME ZONE $3)`, end: `((${rule.trunc(local)} + ${rule.length.step}) AT TIME ZONE $3)` };
}

/**
 * The buckets [start, end) touches, counted up to one more than the most a series
 * may have (so a century of minutes costs no more than 5,001 of them).
 */
function countSql(rule: BucketRule): string {
  const limit = MAX_SERIES_BUCKETS + 1;
  if ('fixed' in rule.length) {
    const first = bucketOf(rule, '$1::timestamptz', START_LOCAL).start;
    return `SELECT least(ceil(extract(epoch FROM $2::timestamptz - ${first}) / extract(epoch FROM ${rule.length.fixed})), ${limit})::int AS n`;
  }
  return `SELECT count(*)::int AS n FROM (
    SELECT 1 FROM generate_series(${rule.trunc(START_LOCAL)}, ${END_LOCAL} - interval '1 microsecond', ${rule.length.step}) LIMIT ${limit}) b`;
}

/** The bin length: the longest that fits the bucket and that every offset of the zone in the range is a multiple of. */
function binSql(rule: BucketRule): string {
  return `(SELECT make_interval(secs => CASE
      WHEN bool_and(mod(o, ${rule.maxBin}) = 0) THEN ${rule.maxBin}
      WHEN bool_and(mod(o, 60) = 0) THEN 60
      ELSE 1 END)
    FROM (SELECT extract(epoch FROM (d AT TIME ZONE $3) - (d AT TIME ZONE 'UTC'))::int AS o
          FROM (SELECT generate_series($1::timestamptz, $2::timestamptz, interval '1 day') UNION ALL SELECT $2::timestamptz) days(d)) offsets)`;
}

const sums = (exact: boolean) =>
  exact ? `${asFloat('sum(total) / sum(n)')} AS avg, ${asFloat('sum(total)')} AS sum` : 'sum(total) / sum(n) AS avg, sum(total) AS sum';

/** PostgreSQL's "value out of range": a float8 sum that overflowed. */
const overflowed = (error: unknown) => (error as { code?: string }).code === '22003';

function seriesSql(rule: BucketRule, source: SeriesSource, bySource: boolean, exact: boolean): string {
  const where = ['t.user_id = $4', 't.start_at >= $1::timestamptz', 't.start_at < $2::timestamptz', ...source.where(5)];
  if (bySource) where.push(`t.source = $${5 + source.params.length}`);
  const bucket = bucketOf(rule, 'bin', '(bin AT TIME ZONE $3)');
  return `
WITH bins AS (
  SELECT date_bin(${binSql(rule)}, t.start_at, timestamptz '2000-01-01 00:00:00+00') AS bin,
    count(*) AS n, min(${source.low}) AS low, max(${source.high}) AS high, sum(${exact ? `(${source.value})::numeric` : source.value}) AS total
  FROM ${source.table} t
  WHERE ${where.join(' AND ')}
  GROUP BY 1
),
placed AS (
  SELECT ${bucket.start} AS bucket_start, ${bucket.end} AS bucket_end, n, low, high, total FROM bins
)
SELECT ${isoText('bucket_start')} AS start, ${isoText('bucket_end')} AS "end",
  min(low) AS min, ${sums(exact)}, max(high) AS max, sum(n)::int AS count
FROM placed
GROUP BY bucket_start, bucket_end
ORDER BY bucket_start`;
}

export function seriesRepository(db: Database) {
  return {
    /** How many buckets the request spans, or MAX_SERIES_BUCKETS + 1 when more. */
    async bucketCount(request: SeriesRequest): Promise<number> {
      const result = await db.query<{ n: number }>(countSql(BUCKETS[request.bucket]), [request.start, request.end, request.timeZone]).catch(unknownZone(request.timeZone));
      return result.rows[0]!.n;
    },

    /** The user's buckets that hold samples, in time order. */
    async series(userId: string, source: SeriesSource, request: SeriesRequest): Promise<SeriesRow[]> {
      const bySource = request.source !== undefined;
      const params = [request.start, request.end, request.timeZone, userId, ...source.params, ...(bySource ? [request.source] : [])];
      const run = (exact: boolean) =>
        db.transaction(async (tx) => {
          await tx.query('SET LOCAL jit = off');
          return (await tx.query<SeriesRow>(seriesSql(BUCKETS[request.bucket], source, bySource, exact), params)).rows;
        });
      return run(false)
        .catch((error: unknown) => (overflowed(error) ? run(true) : Promise.reject(error)))
        .catch(unknownZone(request.timeZone));
    },
  };
}
