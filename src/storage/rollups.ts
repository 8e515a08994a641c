/**
 * Rollups: the daily summary's inputs aggregated per 15-minute bucket of UTC, so a year's
 * summary reads tens of thousands of rows instead of a million samples. They are a cache
 * of the raw samples, never a second definition (summary.ts reads them with the same SQL
 * it applies to the samples), and never stale: every change to the samples recomputes the
 * buckets it touches from the samples, in the transaction that makes the change:
 *
 * - a chunk written by the ingest engine or by a reprocess (`maintainRollups`),
 * - a type's samples erased over a time range (`recomputeRollups`),
 * - a user's whole history when it is first built or rebuilt (`rebuildRollups`).
 *
 * quantity_rollups (the additive and averaged metrics) is keyed by bucket, metric, source
 * and grain, and counts both every sample and those the finer-grain rule keeps. A sample
 * is left out when the same source sent a finer-grained one starting inside its period,
 * so a change at time t also changes the buckets of that source's coarser samples whose
 * period holds t: those start at most the source's longest grain before t, which the
 * rollups' own grain column tells.
 *
 * Changes of one user's rollups take a transaction-level advisory lock after the samples
 * are written, then recompute: under READ COMMITTED each statement sees what committed
 * before it, so two chunks of one user written at once (the writer keeps two in flight)
 * cannot each recompute a shared bucket without the other's samples. The lock is taken
 * after the samples' row locks, always in that order, so it cannot deadlock with them.
 */
import type { Logger } from 'pino';
import type { Database, Queryable } from './database.js';
import { finerSampleInside, SUMMARY_METRICS } from './repositories/summary.js';
import { TABLES, type Row, type TableSpec } from './samples/tables.js';
import type { Owner } from './samples/upsert.js';

const BUCKET = "interval '15 minutes'";
/** Buckets are counted from any quarter hour of UTC. */
const ORIGIN = "timestamptz '2000-01-01T00:00:00Z'";
const bucketOf = (column: string) => `date_bin(${BUCKET}, ${column}, ${ORIGIN})`;

const LOCK_SPACE = 4_242_018;
const lockUser = (q: Queryable, userId: string) => q.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_SPACE, userId]);

const summaryMetrics = new Set(SUMMARY_METRICS);

/** The quantity rollup rows of the samples `s` that `from` and `where` select. */
const quantityRows = (bucket: string, from: string, where: string) => `
  SELECT ${bucket} AS bucket, s.metric, s.source, s.end_at - s.start_at AS grain,
    count(*)::int AS samples, sum(s.value::numeric) AS total,
    (count(*) FILTER (WHERE rule.kept))::int AS kept, coalesce(sum(s.value::numeric) FILTER (WHERE rule.kept), 0) AS kept_total
  FROM ${from}
  CROSS JOIN LATERAL (SELECT s.end_at = s.start_at OR NOT ${finerSampleInside('s')} AS kept) rule
  WHERE ${where}
  GROUP BY 1, 2, 3, 4`;

/** The heart-rate rollup rows of the samples `h` that `from` and `where` select. */
const heartRateRows = (bucket: string, from: string, where: string) => `
  SELECT ${bucket} AS bucket, count(*)::int AS samples, min(h.min) AS low, sum(h.avg::numeric) AS avg_total, max(h.max) AS high
  FROM ${from}
  WHERE ${where}
  GROUP BY 1`;

interface RollupTable {
  table: string;
  /** The key columns after user_id. */
  key: string[];
  values: string[];
}
const QUANTITY: RollupTable = { table: 'quantity_rollups', key: ['bucket', 'metric', 'source', 'grain'], values: ['samples', 'total', 'kept', 'kept_total'] };
const HEART_RATE: RollupTable = { table: 'heart_rate_rollups', key: ['bucket'], values: ['samples', 'low', 'avg_total', 'high'] };

/**
 * Replaces the rows of `scope` (a condition on r) by those of the CTE `fresh`: stale ones
 * deleted, the others inserted or updated, unchanged ones left alone (a re-sent upload
 * rewrites nothing). The deleted and written keys are disjoint, so one statement does both.
 */
const replaceRows = (spec: RollupTable, ctes: string, scope: string) => `
WITH ${ctes},
stale AS (
  DELETE FROM ${spec.table} r
  WHERE r.user_id = $1 AND ${scope}
    AND (${spec.key.map((c) => `r.${c}`).join(', ')}) NOT IN (SELECT ${spec.key.join(', ')} FROM fresh)
)
INSERT INTO ${spec.table} AS r (user_id, ${[...spec.key, ...spec.values].join(', ')})
SELECT $1, ${[...spec.key, ...spec.values].join(', ')} FROM fresh
ON CONFLICT (user_id, ${spec.key.join(', ')}) DO UPDATE SET ${spec.values.map((c) => `${c} = excluded.${c}`).join(', ')}
WHERE (${spec.values.map((c) => `r.${c}`).join(', ')}) IS DISTINCT FROM (${spec.values.map((c) => `excluded.${c}`).join(', ')})`;

/*
 * After a chunk: its buckets ($2-$4), and the buckets of stored coarser samples of the same
 * source that may hold one of its samples' start (per metric and source, $5-$9: the first
 * and last start of the chunk's samples that have a period, and their finest grain).
 */
// The lookups are LATERAL ... OFFSET 0 (which the planner cannot flatten into a join): one
// index probe per key, where a join over parameters whose contents it cannot see was planned
// as a hash of the user's whole history (2.3 s for a chunk of 997 samples over a month).
const MAINTAIN_QUANTITY_SQL = replaceRows(
  QUANTITY,
  `direct AS (
  SELECT * FROM unnest($2::timestamptz[], $3::text[], $4::text[]) AS d(bucket, metric, source)
),
spans AS (
  SELECT * FROM unnest($5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::float8[]) AS p(metric, source, first_start, last_start, finest)
),
longest AS MATERIALIZED (
  SELECT p.*, (SELECT max(g.grain) FROM quantity_rollups g WHERE g.user_id = $1 AND g.metric = p.metric AND g.source = p.source) AS grain
  FROM spans p
),
covering AS (
  SELECT r.bucket, r.metric, r.source
  FROM longest p
  CROSS JOIN LATERAL (
    SELECT r.bucket, r.metric, r.source FROM quantity_rollups r
    WHERE r.user_id = $1 AND r.metric = p.metric AND r.source = p.source
      AND r.bucket > p.first_start - p.grain - ${BUCKET} AND r.bucket <= p.last_start
      AND r.grain > p.finest * interval '1 second'
    OFFSET 0
  ) r
),
keys AS MATERIALIZED (SELECT * FROM direct UNION SELECT * FROM covering),
fresh AS (${quantityRows(
    'k.bucket',
    `keys k CROSS JOIN LATERAL (
      SELECT * FROM quantity_samples s
      WHERE s.user_id = $1 AND s.metric = k.metric AND s.source = k.source AND s.start_at >= k.bucket AND s.start_at < k.bucket + ${BUCKET}
      OFFSET 0
    ) s`,
    'true',
  )})`,
  '(r.bucket, r.metric, r.source) IN (SELECT bucket, metric, source FROM keys)',
);

const MAINTAIN_HEART_RATE_SQL = replaceRows(
  HEART_RATE,
  `keys AS MATERIALIZED (SELECT DISTINCT bucket FROM unnest($2::timestamptz[]) AS k(bucket)),
fresh AS (${heartRateRows(
    'k.bucket',
    `keys k CROSS JOIN LATERAL (
      SELECT * FROM heart_rate_samples h WHERE h.user_id = $1 AND h.start_at >= k.bucket AND h.start_at < k.bucket + ${BUCKET}
      OFFSET 0
    ) h`,
    'true',
  )})`,
  'r.bucket IN (SELECT bucket FROM keys)',
);

/*
 * Over a time range [$2, $3) (-infinity to infinity for a whole history), widened to whole
 * buckets, and for quantities back by the longest grain of the metrics $4: a coarser
 * sample starting that much earlier may have held a deleted one.
 */
const wholeBuckets = (from: string) => `
  SELECT CASE WHEN isfinite($2::timestamptz) THEN ${bucketOf(from)} ELSE $2::timestamptz END AS lo,
    CASE WHEN isfinite($3::timestamptz) THEN ${bucketOf('$3::timestamptz')} + ${BUCKET} ELSE $3::timestamptz END AS hi`;

const RANGE_QUANTITY_SQL = replaceRows(
  QUANTITY,
  `bounds AS (${wholeBuckets(
    `$2::timestamptz - coalesce((SELECT max(g.grain) FROM quantity_rollups g WHERE g.user_id = $1 AND g.metric = ANY($4::text[])), interval '0')`,
  )}),
fresh AS (${quantityRows(
    bucketOf('s.start_at'),
    'quantity_samples s',
    's.user_id = $1 AND s.metric = ANY($4::text[]) AND s.start_at >= (SELECT lo FROM bounds) AND s.start_at < (SELECT hi FROM bounds)',
  )})`,
  'r.metric = ANY($4::text[]) AND r.bucket >= (SELECT lo FROM bounds) AND r.bucket < (SELECT hi FROM bounds)',
);

const RANGE_HEART_RATE_SQL = replaceRows(
  HEART_RATE,
  `bounds AS (${wholeBuckets('$2::timestamptz')}),
fresh AS (${heartRateRows(
    bucketOf('h.start_at'),
    'heart_rate_samples h',
    'h.user_id = $1 AND h.start_at >= (SELECT lo FROM bounds) AND h.start_at < (SELECT hi FROM bounds)',
  )})`,
  'r.bucket >= (SELECT lo FROM bounds) AND r.bucket < (SELECT hi FROM bounds)',
);

const QUARTERS = ['00', '15', '30', '45'];
const isoOf = (value: unknown) => (typeof value === 'string' ? value : (value as Date).toISOString());

/** The bucket of an instant as toISOString writes it, read from the text: no Date per sample. */
function bucketText(iso: string): string {
  if (iso.length === 24 && iso.endsWith('Z')) return `${iso.slice(0, 14)}${QUARTERS[Math.floor(Number(iso.slice(14, 16)) / 15)]}:00Z`;
  return new Date(Math.floor(Date.parse(iso) / 900_000) * 900_000).toISOString();
}

/** Starts more than this apart begin a new stretch (below). */
const STRETCH_GAP_MS = 3_600_000;

/**
 * The starts of a chunk's samples (of one metric and source) as stretches of time without
 * an hour's gap: the stored coarser samples that may hold them are looked for over each
 * stretch, not over all the time between the chunk's first and last sample (an upload in
 * time order is one stretch; one in no order, many short ones).
 */
function stretches(starts: number[]): [number, number][] {
  starts.sort((a, b) => a - b);
  const found: [number, number][] = [];
  for (const start of starts) {
    const last = found[found.length - 1];
    if (last && start - last[1] <= STRETCH_GAP_MS) last[1] = start;
    else found.push([start, start]);
  }
  return found;
}

/** Recomputes the rollups a chunk of `spec`'s rows (just written, in this transaction) touches; other tables have none. */
export async function maintainRollups(q: Queryable, spec: TableSpec<never>, owner: Owner, rows: Row[]): Promise<void> {
  if (spec.table === TABLES.heart_rate.table) {
    const buckets = new Set<string>();
    for (const row of rows) buckets.add(bucketText(isoOf(row.start_at)));
    if (buckets.size === 0) return;
    await lockUser(q, owner.userId);
    await q.query(MAINTAIN_HEART_RATE_SQL, [owner.userId, [...buckets]]);
    return;
  }
  if (spec.table !== TABLES.quantity.table) return;
  const direct = new Map<string, [string, string, string]>();
  const periods = new Map<string, { metric: string; source: string; starts: number[]; finest: number }>();
  for (const row of rows) {
    const metric = row.metric as string;
    if (!summaryMetrics.has(metric)) continue;
    const source = row.source as string;
    const start = isoOf(row.start_at);
    const end = isoOf(row.end_at);
    const bucket = bucketText(start);
    direct.set(`${bucket}\u0000${metric}\u0000${source}`, [bucket, metric, source]);
    if (end === start) continue;
    const startMs = Date.parse(start);
    const grain = Date.parse(end) - startMs;
    if (!(grain > 0)) continue;
    const key = `${metric}\u0000${source}`;
    const found = periods.get(key);
    if (!found) periods.set(key, { metric, source, starts: [startMs], finest: grain });
    else {
      found.starts.push(startMs);
      if (grain < found.finest) found.finest = grain;
    }
  }
  if (direct.size === 0) return;
  const keys = [...direct.values()];
  const spans = [...periods.values()].flatMap(({ metric, source, starts, finest }) =>
    stretches(starts).map(([first, last]) => ({ metric, source, first: new Date(first).toISOString(), last: new Date(last).toISOString(), finest: finest / 1000 })),
  );
  await lockUser(q, owner.userId);
  await q.query(MAINTAIN_QUANTITY_SQL, [
    owner.userId,
    keys.map((k) => k[0]),
    keys.map((k) => k[1]),
    keys.map((k) => k[2]),
    spans.map((p) => p.metric),
    spans.map((p) => p.source),
    spans.map((p) => p.first),
    spans.map((p) => p.last),
    spans.map((p) => p.finest),
  ]);
}

/**
 * Recomputes a user's rollups of the samples of `table` (and, for quantities, of
 * `metric`) starting in [start, end), after they were deleted; other tables and metrics
 * have none.
 */
export async function recomputeRollups(q: Queryable, userId: string, table: string, metric: string | null, start: string, end: string): Promise<void> {
  if (table === TABLES.heart_rate.table) {
    await lockUser(q, userId);
    await q.query(RANGE_HEART_RATE_SQL, [userId, start, end]);
  } else if (table === TABLES.quantity.table && metric !== null && summaryMetrics.has(metric)) {
    await lockUser(q, userId);
    await q.query(RANGE_QUANTITY_SQL, [userId, start, end, [metric]]);
  }
}

/** Builds (or rebuilds) all of a user's rollups from their samples, in the caller's transaction, and takes them off the pending list. */
export async function rebuildRollups(tx: Queryable, userId: string): Promise<void> {
  await lockUser(tx, userId);
  await tx.query(RANGE_QUANTITY_SQL, [userId, '-infinity', 'infinity', SUMMARY_METRICS]);
  await tx.query(RANGE_HEART_RATE_SQL, [userId, '-infinity', 'infinity']);
  await tx.query('DELETE FROM rollups_pending WHERE user_id = $1', [userId]);
}

/**
 * Builds the rollups of the users an upgrade left pending (migration 080), one user per
 * transaction, until none is left or `running` says to stop. Several processes share the
 * work (SKIP LOCKED); the summary of a user still pending reads the raw samples.
 */
export async function buildPendingRollups(db: Database, logger: Logger, running: () => boolean = () => true): Promise<number> {
  let built = 0;
  while (running()) {
    const started = performance.now();
    const userId = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ user_id: string }>('SELECT user_id FROM rollups_pending LIMIT 1 FOR UPDATE SKIP LOCKED');
      const pending = rows[0]?.user_id;
      if (pending) await rebuildRollups(tx, pending);
      return pending;
    });
    if (!userId) break;
    built += 1;
    logger.info({ userId, ms: Math.round(performance.now() - started) }, 'summary rollups built for a user');
  }
  return built;
}

/** The background build a server starts: `stop` lets the user in progress finish and waits for it. */
export function startRollupBuild(db: Database, logger: Logger): { stop(): Promise<void> } {
  let running = true;
  const work = buildPendingRollups(db, logger, () => running).catch((error: unknown) => {
    // Those users' summaries keep reading the raw samples; the next start tries again.
    logger.error({ err: error }, 'building the summary rollups failed');
  });
  return {
    async stop() {
      running = false;
      await work;
    },
  };
}
