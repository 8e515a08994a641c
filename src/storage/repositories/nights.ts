/**
 * One definition of a night, used by the daily summary and by
 * /data/sleep?detail=nights, so the two cannot disagree (they did: a month sent only
 * as stage segments had 29 nights in the summary and none in the list).
 *
 * A night is one source's sleep for one local date, from one origin (api.md, "Reading"):
 * - `segments`: raw stage segments ending in [18:00 D−1, 18:00 D) local time count
 *   for D; asleep is the time in Core, Deep, REM, Asleep and Unspecified segments;
 * - `summarised`: nights as the app summarised them count for the local date of their
 *   end; asleep is totalSleep, else core + deep + rem if any is above 0, else asleep.
 *   Two naps of one source ending the same day are one night of both.
 * For a date, the summary takes one of its nights (NIGHT_CHOICE): segments win over
 * summarised nights, then the source with the most samples, then the longer sleep.
 */
import { AppError } from '../../shared/errors.js';
import type { Queryable } from '../database.js';
import { exactSum } from './exact-sum.js';
import { keysetPage, type KeyColumn, type Page } from './keyset.js';
import type { PageRequest } from './readings.js';

const ASLEEP_STAGES = "('Core', 'Deep', 'REM', 'Asleep', 'Unspecified')";

/** The SQL of one night row per (day, source, origin), for local days `first` to `last` (date expressions) in zone `$4`, of user `$1`. */
export function nightsSql(first = '$2::date', last = '$3::date'): string {
  const dayStart = `(${first}::timestamp AT TIME ZONE $4)`;
  const dayEnd = `((${last} + 1)::timestamp AT TIME ZONE $4)`;
  const sleepStart = `(((${first} - 1)::timestamp + time '18:00') AT TIME ZONE $4)`;
  const sleepEnd = `((${last}::timestamp + time '18:00') AT TIME ZONE $4)`;
  const hours = 'extract(epoch FROM s.end_at - s.start_at)::float8 / 3600';
  return `
SELECT ((s.end_at AT TIME ZONE $4) + interval '6 hours')::date AS day, s.source, 'segments'::text AS origin,
  count(*)::int AS samples, min(s.start_at) AS start_at, max(s.end_at) AS end_at, NULL::float8 AS total_sleep_h,
  sum(${hours}) FILTER (WHERE s.stage IN ${ASLEEP_STAGES}) AS asleep_h,
  sum(${hours}) FILTER (WHERE s.stage = 'Core') AS core_h,
  sum(${hours}) FILTER (WHERE s.stage = 'Deep') AS deep_h,
  sum(${hours}) FILTER (WHERE s.stage = 'REM') AS rem_h,
  sum(${hours}) FILTER (WHERE s.stage = 'Awake') AS awake_h,
  sum(${hours}) FILTER (WHERE s.stage = 'InBed') AS in_bed_h,
  min(s.start_at) FILTER (WHERE s.stage = 'InBed') AS in_bed_start,
  max(s.end_at) FILTER (WHERE s.stage = 'InBed') AS in_bed_end
FROM sleep_segments s
-- Day D collects segments ending in [18:00 D-1, 18:00 D): six hours later they end on D.
WHERE s.user_id = $1 AND s.end_at >= ${sleepStart} AND s.end_at < ${sleepEnd}
  -- Bounds the partitions read; no segment lasts a day.
  AND s.start_at >= ${sleepStart} - interval '1 day' AND s.start_at < ${sleepEnd}
GROUP BY 1, 2
UNION ALL
SELECT (n.end_at AT TIME ZONE $4)::date, n.source, 'summarised',
  count(*)::int, min(n.start_at), max(n.end_at), ${exactSum('n.total_sleep')},
  ${exactSum(`CASE WHEN n.total_sleep IS NOT NULL THEN n.total_sleep
           WHEN n.core > 0 OR n.deep > 0 OR n.rem > 0 THEN coalesce(n.core, 0) + coalesce(n.deep, 0) + coalesce(n.rem, 0)
           ELSE n.asleep END`)},
  ${['core', 'deep', 'rem', 'awake', 'in_bed'].map((stage) => exactSum(`n.${stage}`)).join(', ')}, min(n.in_bed_start), max(n.in_bed_end)
FROM sleep_nights n
WHERE n.user_id = $1 AND n.end_at >= ${dayStart} AND n.end_at < ${dayEnd}
GROUP BY 1, 2`;
}

/** The order in which the summary takes a date's night: the first one. */
export const NIGHT_CHOICE = `day, origin = 'segments' DESC, samples DESC, asleep_h DESC NULLS LAST, source COLLATE "C"`;

export const NIGHT_KEY: KeyColumn[] = [
  { column: 'day', type: 'date' },
  { column: 'source', type: 'text' },
  { column: 'origin', type: 'text' },
];

export interface NightFilter {
  /** ISO 8601 instants: nights whose date's local midnight is in [start, end). */
  start?: string;
  end?: string;
  source?: string;
  timeZone: string;
}

const FIRST_DAY = "'0001-01-01'::date";
const LAST_DAY = "'9999-12-30'::date";
/** The first local date whose midnight is at or after an instant. */
const dayFrom = (param: string) => `((${param}::timestamptz AT TIME ZONE $4) - interval '1 microsecond')::date + 1`;

/** A zone name the ICU data knows (the query schema checked it) but this database's time zone files do not: a 400. */
export function unknownZone(timeZone: string) {
  return (error: unknown): never => {
    if ((error as { code?: string }).code === '22023') throw new AppError('BAD_REQUEST', `tz: ${JSON.stringify(timeZone)} is not a time zone the database knows`);
    throw error;
  };
}

/** One keyset page of a user's nights, by (date, source, origin). */
export async function nightsPage(db: Queryable, userId: string, filter: NightFilter, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  // The dates to compute are bounded by the range and by the cursor, so a page never
  // aggregates more nights than the range holds from where the last page stopped.
  const afterDay = page.after?.[0] ?? null;
  const params: unknown[] = [
    userId,
    filter.start ?? null,
    filter.end ?? null,
    filter.timeZone,
    page.order === 'asc' ? afterDay : null,
    page.order === 'desc' ? afterDay : null,
  ];
  const first = `greatest(${dayFrom('$2')}, $5::date, ${FIRST_DAY})`;
  const last = `least(${dayFrom('$3')} - 1, $6::date, ${LAST_DAY})`;
  const where = ['true'];
  if (filter.source !== undefined) {
    params.push(filter.source);
    where.push(`t.source = $${params.length}`);
  }
  return keysetPage(
    db,
    {
      from: `(${nightsSql(first, last)}) t`,
      select: 't.day::text AS day, t.source, t.origin, t.samples, t.start_at, t.end_at, t.total_sleep_h, t.asleep_h, t.core_h, t.deep_h, t.rem_h, t.awake_h, t.in_bed_h, t.in_bed_start, t.in_bed_end',
      key: NIGHT_KEY,
      where,
      params,
    },
    page,
  ).catch(unknownZone(filter.timeZone));
}
