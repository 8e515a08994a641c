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
 * The additive metrics and the vitals come from the rollups (src/storage/rollups.ts)
 * where they can: the same aggregates of the same samples, kept per 15-minute bucket
 * when the samples are written, so a year is a few hundred thousand rows less to read.
 * Each part has one definition fed by either input (`KEPT_FROM`, `VITAL_BINS_FROM`).
 *
 * Sums and averages of stored values are taken in numeric, not float8: rows stored
 * before the upper bounds existed (a step count of 1.7e308) overflowed float8 and
 * made the whole answer a 500. A day's total too large for a float8 is null. Numeric
 * sums are also exact in any order, so the rollups' answer is the raw samples' to the bit.
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

/** The averaged metrics (every source) and the quantity each comes from. */
export const AVERAGED_METRICS = {
  resting_heart_rate: 'resting_heart_rate',
  hrv_ms: 'heart_rate_variability',
} as const;

/** Every quantity metric the summary reads: the ones quantity_rollups keeps. */
export const SUMMARY_METRICS: readonly string[] = [...Object.values(ADDITIVE_METRICS), ...Object.values(AVERAGED_METRICS)];

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

/**
 * The finer-grain rule for the quantity sample `s` (an alias): true when the same source
 * sent a finer-grained sample of the metric starting inside its period, which then
 * counts instead. Points (no period) neither hide nor are hidden. OFFSET 0 keeps it a
 * probe per sample on the index's time range: as an anti-join, the planner scanned all of
 * the source's samples for each one (1.6 s for a month of a test's unanalysed table).
 */
export const finerSampleInside = (s: string) => `EXISTS (
        SELECT 1 FROM quantity_samples t
        WHERE t.user_id = ${s}.user_id AND t.metric = ${s}.metric AND t.source = ${s}.source
          AND t.start_at >= ${s}.start_at AND t.start_at < ${s}.end_at
          AND t.end_at > t.start_at AND t.end_at - t.start_at < ${s}.end_at - ${s}.start_at
        OFFSET 0)`;

/** Where a summary's additive metrics and vitals are aggregated from: the rollups, or the raw samples. */
export type SummaryInput = 'rollups' | 'samples';

// $1 user, $2 first day, $3 last day (inclusive), $4 IANA zone.
const DAY_START = '($2::date::timestamp AT TIME ZONE $4)';
const DAY_END = '(($3::date + 1)::timestamp AT TIME ZONE $4)';
const localDay = (column: string) => `(${column} AT TIME ZONE $4)::date`;

const metricList = (names: readonly string[]) => names.map((name) => `'${name}'`).join(', ');

/** The local midnights from the first day to the one after the last, as seconds since the epoch. */
const MIDNIGHTS = `(SELECT extract(epoch FROM d::timestamp AT TIME ZONE $4) AS e
  FROM generate_series($2::date::timestamp, ($3::date + 1)::timestamp, interval '1 day') d) midnights`;

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
    WHEN bool_and(mod(e - origin, 86400) = 0) THEN interval '86400 seconds'
    WHEN bool_and(mod(e - origin, 3600) = 0) THEN interval '3600 seconds'
    WHEN bool_and(mod(e - origin, 900) = 0) THEN interval '900 seconds'
    ELSE interval '1 second' END
  FROM ${MIDNIGHTS}, (SELECT extract(epoch FROM ${ORIGIN}) AS origin) first)`;
const bin = (column: string) => `date_bin(${STRIDE}, ${column}, ${ORIGIN})`;

/*
 * Rollups hold 15-minute buckets of UTC: a local day is a whole number of them when every
 * midnight of the range falls on a quarter hour of UTC (any zone with an offset in
 * multiples of 15 minutes, +05:30, +05:45 and DST changes included). Otherwise (Monrovia's
 * -0:44:30 before 1972) buckets would straddle midnights, and the raw samples answer.
 */
const INPUT_SQL = `
SELECT NOT EXISTS (SELECT 1 FROM rollups_pending WHERE user_id = $1)
  AND (SELECT bool_and(mod(e, 900) = 0) FROM ${MIDNIGHTS}) AS rollups`;

const additiveColumns = Object.entries(ADDITIVE_METRICS)
  .map(([field, metric]) => `${asFloat(`sum(total) FILTER (WHERE metric = '${metric}')${field === 'exercise_min' ? ' / 60' : ''}`)} AS ${field}`)
  .join(',\n    ');

/**
 * The additive metrics' kept samples, per metric, source and bin: `n` samples adding up to
 * `total`, after the finer-grain rule.
 */
const KEPT_FROM: Record<SummaryInput, string> = {
  samples: `
binned AS MATERIALIZED (
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
  -- A bin of the source's finest grain in the range is kept whole when its samples end
  -- within the range: no finer sample of theirs can start outside it.
  SELECT b.metric, b.source, b.bin, b.n, b.total FROM binned b JOIN finest f USING (metric, source)
  WHERE b.grain = interval '0' OR (b.grain <= f.grain AND b.bin + ${STRIDE} + b.grain <= ${DAY_END})
),
coarse AS (
  -- Only the other samples are looked at one by one (LATERAL keeps it to those bins):
  -- each is left out when the same source has a finer sample starting inside it.
  SELECT c.metric, c.source, c.bin, k.n, k.total
  FROM binned c JOIN finest f USING (metric, source)
  CROSS JOIN LATERAL (
    SELECT count(*) AS n, sum(s.value::numeric) AS total
    FROM quantity_samples s
    WHERE s.user_id = $1 AND s.metric = c.metric AND s.source = c.source
      AND s.start_at >= c.bin AND s.start_at < c.bin + ${STRIDE} AND s.end_at - s.start_at = c.grain
      AND NOT ${finerSampleInside('s')}
  ) k
  WHERE c.grain > interval '0' AND (c.grain > f.grain OR c.bin + ${STRIDE} + c.grain > ${DAY_END}) AND k.n > 0
),
kept AS (SELECT * FROM fine UNION ALL SELECT * FROM coarse)`,
  rollups: `
kept AS (
  SELECT r.metric, r.source, ${bin('r.bucket')} AS bin, sum(r.kept) AS n, sum(r.kept_total) AS total
  FROM quantity_rollups r
  WHERE r.user_id = $1 AND r.bucket >= ${DAY_START} AND r.bucket < ${DAY_END}
    AND r.metric IN (${metricList(Object.values(ADDITIVE_METRICS))}) AND r.kept > 0
  GROUP BY 1, 2, 3
)`,
};

const additiveSql = (input: SummaryInput) => `
WITH ${KEPT_FROM[input]},
chosen AS (
  SELECT DISTINCT ON (metric, day) metric, day, total
  FROM (
    SELECT metric, ${localDay('bin')} AS day, source, sum(n) AS n, sum(total) AS total
    FROM kept
    GROUP BY 1, 2, 3
  ) per_source
  ORDER BY metric, day, n DESC, total DESC, source COLLATE "C"
)
SELECT day::text AS date,
    ${additiveColumns}
FROM chosen GROUP BY day`;

/** Heart rate per bin (low, sum of averages, samples, high) and the averaged metrics per metric and bin (samples, total). */
const VITAL_BINS_FROM: Record<SummaryInput, string> = {
  samples: `
heart_bins AS (
  SELECT ${bin('h.start_at')} AS bin, min(h.min) AS low, sum(h.avg::numeric) AS avgs, count(*) AS n, max(h.max) AS high
  FROM heart_rate_samples h
  WHERE h.user_id = $1 AND h.start_at >= ${DAY_START} AND h.start_at < ${DAY_END}
  GROUP BY 1
),
average_bins AS (
  SELECT s.metric, ${bin('s.start_at')} AS bin, count(*) AS n, sum(s.value::numeric) AS total
  FROM quantity_samples s
  WHERE s.user_id = $1 AND s.metric IN (${metricList(Object.values(AVERAGED_METRICS))})
    AND s.start_at >= ${DAY_START} AND s.start_at < ${DAY_END}
  GROUP BY 1, 2
)`,
  rollups: `
heart_bins AS (
  SELECT ${bin('r.bucket')} AS bin, min(r.low) AS low, sum(r.avg_total) AS avgs, sum(r.samples) AS n, max(r.high) AS high
  FROM heart_rate_rollups r
  WHERE r.user_id = $1 AND r.bucket >= ${DAY_START} AND r.bucket < ${DAY_END}
  GROUP BY 1
),
average_bins AS (
  SELECT r.metric, ${bin('r.bucket')} AS bin, sum(r.samples) AS n, sum(r.total) AS total
  FROM quantity_rollups r
  WHERE r.user_id = $1 AND r.bucket >= ${DAY_START} AND r.bucket < ${DAY_END}
    AND r.metric IN (${metricList(Object.values(AVERAGED_METRICS))})
  GROUP BY 1, 2
)`,
};

const averageColumns = Object.entries(AVERAGED_METRICS)
  .map(([field, metric]) => `${asFloat(`sum(total) FILTER (WHERE metric = '${metric}') / sum(n) FILTER (WHERE metric = '${metric}')`)} AS ${field}`)
  .join(',\n    ');

const vitalsSql = (input: SummaryInput) => `
WITH ${VITAL_BINS_FROM[input]},
heart AS (
  SELECT ${localDay('bin')} AS day, min(low) AS hr_min, ${asFloat('sum(avgs) / sum(n)')} AS hr_avg, max(high) AS hr_max
  FROM heart_bins GROUP BY 1
),
averages AS (
  SELECT ${localDay('bin')} AS day,
    ${averageColumns}
  FROM average_bins GROUP BY 1
)
SELECT coalesce(h.day, a.day)::text AS date, h.hr_min, h.hr_avg, h.hr_max, a.resting_heart_rate, a.hrv_ms
FROM heart h FULL JOIN averages a ON a.day = h.day`;

const SQL: Record<SummaryInput, string[]> = {
  samples: [additiveSql('samples'), vitalsSql('samples')],
  rollups: [additiveSql('rollups'), vitalsSql('rollups')],
};

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
  /** Rollups, once the user's are built and the zone's local days are whole buckets; else the raw samples. */
  async function inputFor(userId: string, first: string, last: string, timeZone: string): Promise<SummaryInput> {
    const { rows } = await db.query<{ rollups: boolean }>(INPUT_SQL, [userId, first, last, timeZone]).catch(unknownZone(timeZone));
    return rows[0]?.rollups ? 'rollups' : 'samples';
  }

  return {
    inputFor,

    /**
     * One row per local day from `first` to `last` (YYYY-MM-DD, inclusive) in `timeZone`.
     * `from` forces the input (the tests compare both); by default, inputFor decides.
     */
    async daily(userId: string, first: string, last: string, timeZone: string, from?: SummaryInput): Promise<DailySummaryRow[]> {
      const params = [userId, first, last, timeZone];
      const input = from ?? (await inputFor(userId, first, last, timeZone));
      // Independent statements: on PostgreSQL they run at once on separate connections.
      // JIT compilation would cost seconds on these plans and save milliseconds. A year's
      // rollups (50,000 rows of steps from two sources) outgrow the default 4 MB of work_mem:
      // sorted on disk by source name instead of hashed in memory, 370 ms instead of ~60.
      const parts = await Promise.all(
        [...SQL[input], SLEEP_SQL].map((sql) =>
          db.transaction(async (tx) => {
            await tx.query('SET LOCAL jit = off');
            await tx.query("SET LOCAL work_mem = '32MB'");
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
