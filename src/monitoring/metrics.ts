/**
 * Every Prometheus metric the service exports, and the one small API that
 * records them. Each app instance owns its registry (tests build many apps in
 * one process); only the Node.js process metrics are shared, because there is
 * one process. Labels are bounded: route templates, data types from a fixed
 * list (anything else is `other`), fixed outcome lists; never user or key ids.
 * docs/metrics.md describes each metric and how to query it.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { KNOWN_METRICS } from '../ingest/metric-names.js';
import { NON_METRIC_TYPES } from '../ingest/standard/schema.js';
import type { ValidationCategory } from '../ingest/records.js';
import type { MqttOutcome } from '../mqtt/intake.js';
import type { Counts } from '../storage/repositories/ingestions.js';

const PREFIX = 'health_export_';

/** The `type` label values: every known metric name and the non-metric arrays; anything else counts as `other`. */
export const SAMPLE_TYPES: ReadonlySet<string> = new Set([...KNOWN_METRICS, ...NON_METRIC_TYPES]);

export function sampleTypeLabel(type: string): string {
  return SAMPLE_TYPES.has(type) ? type : 'other';
}

/** How an upload ended: processed, answered as a duplicate, refused as the client's fault (4xx), or failed on our side. */
export type IngestOutcome = 'completed' | 'duplicate' | 'refused' | 'error';
export type IngestFormat = 'hae' | 'standard' | 'apple_health' | 'unknown';
export type IngestStage = 'archive' | 'parse' | 'validate' | 'write';
export type AuthResult = 'ok' | 'missing' | 'malformed' | 'invalid' | 'expired';
export type RateLimitScope = 'key' | 'user' | 'ip' | 'anonymous' | 'key_creation';
/** Failures that have no HTTP status of their own to show up under. */
export type ErrorKind = 'http' | 'ingestion' | 'queue' | 'audit' | 'database_retry' | 'metrics' | 'mqtt';

const SAMPLE_OUTCOMES = ['inserted', 'updated', 'unchanged', 'rejected'] as const;

/** What the gauges read at scrape time; buildApp wires them to the database. */
export interface GaugeSources {
  /** Ingestions not finished yet (queued or processing) and the age of the oldest, in seconds (0 when none). */
  queue(): Promise<{ depth: number; oldestSeconds: number }>;
  /** Distinct users with an ingestion received in the last 24 hours. */
  activeUsers(): Promise<number>;
  pool(): { total: number; idle: number; waiting: number; max: number };
}

/** A scrape waits at most this long for the database; a slow one keeps the previous values. */
const SOURCE_TIMEOUT_MS = 2000;
/** Active users change slowly and the count scans a day of ingestions: computed at most once a minute. */
const ACTIVE_USERS_TTL_MS = 60_000;

let processRegistry: Registry | undefined;

/** Node.js process metrics (event-loop lag, heap, GC, CPU), collected once per process whatever the number of apps. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics(sources: GaugeSources) {
  const registry = new Registry();
  for (const metric of processMetrics().getMetricsAsArray()) registry.registerMetric(metric as unknown as Metric);
  const registers = [registry];

  const httpRequests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from receiving a request to sending the last byte of its response.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const ingestRequests = new Counter({
    name: `${PREFIX}ingest_requests_total`,
    help: 'Uploads (HTTP or MQTT) by detected format and how they ended: completed, duplicate, refused (client error) or error (ours).',
    labelNames: ['format', 'outcome'] as const,
    registers,
  });
  const payloadBytes = new Histogram({
    name: `${PREFIX}ingest_payload_bytes`,
    help: 'Size of each archived upload after decompression.',
    buckets: [1024, 16_384, 131_072, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824],
    registers,
  });
  const samples = new Counter({
    name: `${PREFIX}ingest_samples_total`,
    help: 'Samples processed, by data type (unknown metric names as other) and outcome; outcomes add up to the samples received.',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const stageDuration = new Histogram({
    name: `${PREFIX}ingest_stage_duration_seconds`,
    help: 'Time per ingestion stage: archive (durable write of the body), parse (JSON), validate (walking, validating and normalising samples), write (time the pipeline waited for the database).',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const queueDepth = new Gauge({
    name: `${PREFIX}ingest_queue_depth`,
    help: 'Ingestions accepted but not finished (queued or processing), across every process sharing the database.',
    collect: () => readQueue(failed),
    registers,
  });
  const oldestQueued = new Gauge({
    name: `${PREFIX}ingest_oldest_queued_seconds`,
    help: 'Age of the oldest unfinished ingestion, in seconds (0 when none).',
    collect: () => readQueue(failed),
    registers,
  });
  const batchDuration = new Histogram({
    name: `${PREFIX}batch_write_duration_seconds`,
    help: 'Time to write one chunk (one statement; a workout is one transaction), retries included, by table.',
    labelNames: ['table'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const batchRows = new Counter({
    name: `${PREFIX}batch_rows_total`,
    help: 'Rows sent to the database in chunk writes, by table.',
    labelNames: ['table'] as const,
    registers,
  });
  new Gauge({
    name: `${PREFIX}db_pool_connections`,
    help: 'Database pool: connections in_use and idle, max (the pool size), and waiting (queries waiting for a connection).',
    labelNames: ['state'] as const,
    collect() {
      const { total, idle, waiting, max } = sources.pool();
      this.set({ state: 'in_use' }, total - idle);
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'waiting' }, waiting);
      this.set({ state: 'max' }, max);
    },
    registers,
  });
  const poolWait = new Histogram({
    name: `${PREFIX}db_pool_wait_seconds`,
    help: 'Time a query or transaction waited for a pool connection (PostgreSQL only).',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const validationErrors = new Counter({
    name: `${PREFIX}validation_errors_total`,
    help: 'Rejected samples by category: range, missing_field, format, unit, time; erased: met again by a reprocess after its owner erased it.',
    labelNames: ['category'] as const,
    registers,
  });
  const authAttempts = new Counter({
    name: `${PREFIX}auth_attempts_total`,
    help: 'API key verifications by result: ok, missing, malformed, invalid (unknown or revoked), expired.',
    labelNames: ['result'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: `${PREFIX}rate_limited_requests_total`,
    help: 'Requests refused with 429, by limit scope: key (per API key), user (all of a user\'s keys), ip (failed authentications per address), anonymous (requests without a key per address) or key_creation (keys created per user).',
    labelNames: ['scope'] as const,
    registers,
  });
  const rateLimitDegraded = new Gauge({
    name: `${PREFIX}rate_limit_store_degraded`,
    help: '1 while the rate limiter has fallen back from Redis to per-process memory, else 0.',
    registers,
  });
  const mqttMessages = new Counter({
    name: `${PREFIX}mqtt_messages_total`,
    help: 'MQTT messages archived, by outcome: queued (for a key with the ingest scope), duplicate (same bytes as an earlier upload), unclaimed (no usable key: kept under the unclaimed user), too_large (kept without its body).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const errors = new Counter({
    name: `${PREFIX}errors_total`,
    help: 'Failures by kind: http (5xx), ingestion (processing failed), queue (could not claim work), audit, database_retry (transient error retried), metrics (a scrape source failed), mqtt.',
    labelNames: ['kind'] as const,
    // A failed read keeps the gauge's previous value and is counted here in the same scrape.
    collect: () => Promise.all([readQueue(failed), readActiveUsers(failed)]).then(() => undefined),
    registers,
  });
  const activeUsers = new Gauge({
    name: `${PREFIX}active_users_24h`,
    help: 'Distinct users with at least one ingestion received in the last 24 hours.',
    collect: () => readActiveUsers(failed),
    registers,
  });

  const failed = () => errors.inc({ kind: 'metrics' });
  // Both queue gauges come from one query per scrape; active users from one query a minute.
  const readQueue = reusedFor(1000, () =>
    withTimeout(sources.queue()).then(({ depth, oldestSeconds }) => {
      queueDepth.set(depth);
      oldestQueued.set(oldestSeconds);
    }),
  );
  const readActiveUsers = reusedFor(ACTIVE_USERS_TTL_MS, () => withTimeout(sources.activeUsers()).then((count) => activeUsers.set(count)));
  rateLimitDegraded.set(0);

  // The per-request hook runs on every request: children are looked up by one string, not by prom-client's label hashing.
  const httpChildren = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<'method' | 'route'> }>();

  return {
    registry,

    async scrape(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },

    /** One answered HTTP request; `route` is the route template (never the raw path). */
    httpRequest(method: string, route: string, status: number, seconds: number): void {
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) {
        child = { count: httpRequests.labels(method, route, String(status)), duration: httpDuration.labels(method, route) };
        httpChildren.set(key, child);
      }
      child.count.inc();
      child.duration.observe(seconds);
    },

    ingestRequest(format: IngestFormat, outcome: IngestOutcome): void {
      ingestRequests.inc({ format, outcome });
    },

    payload(bytes: number): void {
      payloadBytes.observe(bytes);
    },

    /** The final counts of one processed ingestion (the same numbers as its by_type). */
    samples(byType: Record<string, Counts>): void {
      for (const [type, counts] of Object.entries(byType)) {
        const label = sampleTypeLabel(type);
        for (const outcome of SAMPLE_OUTCOMES) if (counts[outcome] > 0) samples.inc({ type: label, outcome }, counts[outcome]);
      }
    },

    stage(stage: IngestStage, seconds: number): void {
      stageDuration.observe({ stage }, seconds);
    },

    batchWritten(table: string, seconds: number, rows: number): void {
      batchDuration.observe({ table }, seconds);
      batchRows.inc({ table }, rows);
    },

    /** Adds rows to a table's count without a duration of its own (a workout's points, written in its transaction). */
    batchRows(table: string, rows: number): void {
      if (rows > 0) batchRows.inc({ table }, rows);
    },

    poolWait(seconds: number): void {
      poolWait.observe(seconds);
    },

    validationErrors(byCategory: Partial<Record<ValidationCategory, number>>): void {
      for (const [category, count] of Object.entries(byCategory)) if (count) validationErrors.inc({ category }, count);
    },

    authAttempt(result: AuthResult): void {
      authAttempts.inc({ result });
    },

    /** For the rate limiter: a request refused with 429. */
    rateLimited(scope: RateLimitScope): void {
      rateLimited.inc({ scope });
    },

    /** For the rate limiter: true while it runs on per-process memory because Redis is unreachable. */
    setRateLimitDegraded(degraded: boolean): void {
      rateLimitDegraded.set(degraded ? 1 : 0);
    },

    /** One archived MQTT message (what became of it after processing is in ingestRequest). */
    mqttMessage(outcome: MqttOutcome): void {
      mqttMessages.inc({ outcome });
    },

    error(kind: ErrorKind): void {
      errors.inc({ kind });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Wraps a read so that calls within `ttlMs` of the last one share its promise; a
 * failure is reported once (to the first caller's `onError`) and the next call reads again.
 */
function reusedFor(ttlMs: number, read: () => Promise<void>): (onError: () => void) => Promise<void> {
  let last: { at: number; result: Promise<void> } | null = null;
  return (onError) => {
    if (last && Date.now() - last.at < ttlMs) return last.result;
    const current = {
      at: Date.now(),
      result: read().catch(() => {
        if (last === current) last = null;
        onError();
      }),
    };
    last = current;
    return current.result;
  };
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${SOURCE_TIMEOUT_MS} ms`)), SOURCE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
