/**
 * The daily summary, aggregated in SQL where the data lives (a year of per-minute
 * samples never leaves the database). Local days are taken in the caller's IANA
 * zone with AT TIME ZONE (the same on PostgreSQL and PGlite).
 *
 * The rules (api.md, "Reading"), so any two implementations agree:
 * - additive metrics (steps, distance, energy, exercise, flights): per metric and
 *   day, the source string with the most samples wins, a tie going to the larger
 *   total (then to the source string first in byte order, so both databases agree);
 * - grain (end − start; points with only a date have none): a sample is left out
 *   when the same source sent a finer-grained sample of that metric starting inside
 *   its period (hourly buckets beside per-minute samples); applied before choosing
 *   the source;
 * - sleep is one of the day's nights, as nights.ts defines them (the same nights
 *   /data/sleep?detail=nights lists): raw segments win over summarised nights, and,
 *   like the additive metrics, one source per day (most segments or nights, then the
 *   longer sleep), so a phone and a watch recording the same night are not added;
 * - heart rate min/avg/max, resting heart rate and HRV average every source;
 * - a value is null when no sample contributes to it.
 *
 * Sums and averages of stored values are taken in numeric, not float8: rows stored
 * before the upper bounds existed (a step count of 1.7e308) overflowed float8 and
 * made the whole answer a 500. A day's total too large for a float8 is null.
 */
import type { Database } from '../database.js';
import { asFloat } from './exact-sum.js';
import { NIGHT_CHOICE, nightsSql, unknownZone } from './nights.js';

/** The additive metrics and the quantity each comes from (values in canonical units). */
export const ADDITIVE_METRICS = {
  steps: 'step_count',
  distance_m: 'walking_running_distance',
  active_energy_kcal: 'active_energy',
  basal_energy_kcal: 'basal_energy_burned',
  exercise_min: 'apple_exercise_time',
  flights: 'flights_climbed',
} as const;

export interface DailySummaryRow {
  date: string;
  steps: number | null;
  distance_m: number | null;
  active_energy_kcal: number | null;
  basal_energy_kcal: number | null;
  exercise_min: number | null;
  flights: number | null;
  resting_heart_rate: number | null;
  hrv_ms: number | null;
  hr_min: number | null;
  hr_avg: number | null;
  hr_max: number | null;
  asleep_h: number | null;
  core_h: number | null;
  deep_h: number | null;
  rem_h: number | null;
  awake_h: number | null;
  in_bed_h: number | null;
}

// $1 user, $2 first day, $3 last day (inclusive), $4 IANA zone.
const DAY_START = '($2::date::timestamp AT TIME ZONE $4)';
const DAY_END = '(($3::date + 1)::timestamp AT TIME ZONE $4)';
const localDay = (column: string) => `(${column} AT TIME ZONE $4)::date`;

const metricList = (names: readonly string[]) => names.map((name) => `'${name}'`).join(', ');

/*
 * Converting every sample's time to the zone costs more than the rest of the work, so
 * samples are first grouped into bins by plain arithmetic (date_bin from the first local
 * midnight) and only the bins are converted. A bin never straddles a local midnight: the
 * stride is the longest that every midnight in the range falls on (a day where the
 * offset never changes, an hour across a DST change, down to a second for historical
 * offsets such as -0:44:30), so the result is exact in every zone.
 */
const ORIGIN = DAY_START;
// Strides in seconds: an interval of days would follow the session's zone when added to a time.
const STRIDE = `(SELECT CASE
    WHEN bool_and(mod(e, 86400) = 0) THEN interval '86400 seconds'
    WHEN bool_and(mod(e, 3600) = 0) THEN interval '3600 seconds'
    WHEN bool_and(mod(e, 900) = 0) THEN interval '900 seconds'
    ELSE interval '1 second' END
  FROM (SELECT extract(epoch FROM (d::timestamp AT TIME ZONE $4) - ${ORIGIN}) AS e
        FROM generate_series($2::date::timestamp, ($3::date + 1)::timestamp, interval '1 day') d) midnights)`;
const bin = (column: string) => `date_bin(${STRIDE}, ${column}, ${ORIGIN})`;

const additiveColumns = Object.entries(ADDITIVE_METRICS)
  .map(([field, metric]) => `${asFloat(`sum(total) FILTER (WHERE metric = '${metric}')${field === 'exercise_min' ? ' / 60' : ''}`)} AS ${field}`)
  .join(',\n    ');

const ADDITIVE_SQL = `
WITH binned AS MATERIALIZED (
  SELECT s.metric, s.source, ${bin('s.start_at')} AS bin, s.end_at - s.start_at AS grain, count(*) AS n, sum(s.value::numeric) AS total
  FROM quantity_samples s
  WHERE s.user_id = $1 AND s.metric IN (${metricList(Object.values(ADDITIVE_METRICS))})
    AND s.start_at >= ${DAY_START} AND s.start_at < ${DAY_END}
  GROUP BY 1, 2, 3, 4
),
finest AS (
  SELECT metric, source, min(grain) FILTER (WHERE grain > interval '0') AS grain FROM binned GROUP BY metric, source
),
fine AS (
  SELECT b.metric, b.source, b.bin, b.n, b.total FROM binned b JOIN finest f USING (metric, source)
  WHERE b.grain = interval '0' OR b.grain <= f.grain
),
coarse AS (
  -- Only samples coarser than their source's finest grain are looked at one by one
  -- (LATERAL keeps it to those bins): each is left out when the same source has a
  -- finer sample starting inside it.
  SELECT c.metric, c.source, c.bin, k.n, k.total
  FROM binned c JOIN finest f USING (metric, source)
  CROSS JOIN LATERAL (
    SELECT count(*) AS n, sum(s.value::numeric) AS total
    FROM quantity_samples s
    WHERE s.user_id = $1 AND s.metric = c.metric AND s.source = c.source
      AND s.start_at >= c.bin AND s.start_at < c.bin + ${STRIDE} AND s.end_at - s.start_at = c.grain
      AND NOT EXISTS (
        SELECT 1 FROM quantity_samples t
        WHERE t.user_id = $1 AND t.metric = s.metric AND t.source = s.source
          AND t.start_at >= s.start_at AND t.start_at < s.end_at
          AND t.end_at > t.start_at AND t.end_at - t.start_at < c.grain)
  ) k
  WHERE c.grain > f.grain AND k.n > 0
),
chosen AS (
  SELECT DISTINCT ON (metric, day) metric, day, total
  FROM (
    SELECT metric, ${localDay('bin')} AS day, source, sum(n) AS n, sum(total) AS total
    FROM (SELECT * FROM fine UNION ALL SELECT * FROM coarse) kept
    GROUP BY 1, 2, 3
  ) per_source
  ORDER BY metric, day, n DESC, total DESC, source COLLATE "C"
)
SELECT day::text AS date,
    ${additiveColumns}
FROM chosen GROUP BY day`;

const VITALS_SQL = `
WITH heart AS (
  SELECT ${localDay('bin')} AS day, min(low) AS hr_min, sum(avgs) / sum(n) AS hr_avg, max(high) AS hr_max
  FROM (
    SELECT ${bin('h.start_at')} AS bin, min(h.min) AS low, sum(h.avg) AS avgs, count(*) AS n, max(h.max) AS high
    FROM heart_rate_samples h
    WHERE h.user_id = $1 AND h.start_at >= ${DAY_START} AND h.start_at < ${DAY_END}
    GROUP BY 1
  ) bins
  GROUP BY 1
),
averages AS (
  SELECT ${localDay('s.start_at')} AS day,
    ${asFloat("avg(s.value::numeric) FILTER (WHERE s.metric = 'resting_heart_rate')")} AS resting_heart_rate,
    ${asFloat("avg(s.value::numeric) FILTER (WHERE s.metric = 'heart_rate_variability')")} AS hrv_ms
  FROM quantity_samples s
  WHERE s.user_id = $1 AND s.metric IN ('resting_heart_rate', 'heart_rate_variability')
    AND s.start_at >= ${DAY_START} AND s.start_at < ${DAY_END}
  GROUP BY 1
)
SELECT coalesce(h.day, a.day)::text AS date, h.hr_min, h.hr_avg, h.hr_max, a.resting_heart_rate, a.hrv_ms
FROM heart h FULL JOIN averages a ON a.day = h.day`;

const SLEEP_SQL = `
WITH nights AS (${nightsSql()})
SELECT DISTINCT ON (day) day::text AS date, asleep_h, core_h, deep_h, rem_h, awake_h, in_bed_h
FROM nights ORDER BY ${NIGHT_CHOICE}`;

const FIELDS = [
  'steps', 'distance_m', 'active_energy_kcal', 'basal_energy_kcal', 'exercise_min', 'flights', 'resting_heart_rate', 'hrv_ms',
  'hr_min', 'hr_avg', 'hr_max', 'asleep_h', 'core_h', 'deep_h', 'rem_h', 'awake_h', 'in_bed_h',
] as const satisfies readonly (keyof DailySummaryRow)[];

/** Every date from first to last (YYYY-MM-DD, inclusive), by UTC calendar arithmetic. */
function datesBetween(first: string, last: string): string[] {
  const dates: string[] = [];
  for (let day = new Date(`${first}T00:00:00Z`); day <= new Date(`${last}T00:00:00Z`); day.setUTCDate(day.getUTCDate() + 1)) {
    dates.push(day.toISOString().slice(0, 10));
  }
  return dates;
}

export function summaryRepository(db: Database) {
  return {
    /** One row per local day from `first` to `last` (YYYY-MM-DD, inclusive) in `timeZone`. */
    async daily(userId: string, first: string, last: string, timeZone: string): Promise<DailySummaryRow[]> {
      const params = [userId, first, last, timeZone];
      // Three independent statements: on PostgreSQL they run at once on separate connections.
      // JIT compilation would cost seconds on these plans and save milliseconds.
      const parts = await Promise.all(
        [ADDITIVE_SQL, VITALS_SQL, SLEEP_SQL].map((sql) =>
          db.transaction(async (tx) => {
            await tx.query('SET LOCAL jit = off');
            return tx.query<Partial<DailySummaryRow>>(sql, params);
          }),
        ),
      ).catch(unknownZone(timeZone));
      const days = new Map<string, DailySummaryRow>();
      for (const date of datesBetween(first, last)) {
        days.set(date, { date, ...(Object.fromEntries(FIELDS.map((field) => [field, null])) as Omit<DailySummaryRow, 'date'>) });
      }
      for (const part of parts) {
        for (const row of part.rows) {
          const day = days.get(row.date!);
          if (day) Object.assign(day, row);
        }
      }
      return [...days.values()];
    },
  };
}
