/**
 * The ingestion service: archive first, then process within a time budget on
 * the request path (200), or leave the rest to a worker (202). Workers in any
 * process take queued work from PostgreSQL; an ingestion whose worker died is
 * taken over once its lease runs out, so accepted work is finished exactly once
 * (writes are idempotent upserts, so a take-over never duplicates rows).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Metrics } from '../monitoring/metrics.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { ingestionsRepository, type IngestionRow, type IngestionSource } from '../storage/repositories/ingestions.js';
import { bufferSource, unarchive, type BodySource, type ReceivedBody } from './body.js';
import { processBody, type Progress } from './process.js';

/** After this many attempts an ingestion that keeps failing is marked failed instead of retried. */
const MAX_ATTEMPTS = 5;

export interface Upload {
  userId: string;
  keyId: string | null;
  source: IngestionSource;
  topic?: string | null;
  clientIp?: string | null;
  userAgent?: string | null;
  headers: Record<string, string>;
  /** Set by a format's own route (Apple Health imports), so the upload counts against that route's limits. */
  format?: 'apple_health';
}

export interface RunOptions {
  /** How long the caller waits for the outcome (default INGEST_SYNC_BUDGET_MS; Infinity: until done). */
  budgetMs?: number;
  /** The request's logger, so the summary line carries the request id. */
  log?: Logger;
  /** Told how far processing has come, while it runs (the CLI's progress bar). */
  onProgress?: (progress: Progress) => void;
}

export interface IngestResult {
  ingestion: IngestionRow;
  /** Set when the same bytes were already ingested by this user. */
  duplicateOf?: string;
}

/** The app's own headers worth keeping with the ingestion; never credentials. */
export function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if ((lower.startsWith('automation-') || lower === 'session-id') && value !== undefined) {
      kept[lower] = (Array.isArray(value) ? value.join(', ') : value).slice(0, 1024);
    }
  }
  return kept;
}

export function createIngestService(deps: {
  db: Database;
  config: Config;
  postgis: boolean;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
}) {
  const { db, config, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const repository = ingestionsRepository(db);
  const leaseSeconds = config.ingest.leaseSeconds;
  const active = new Set<Promise<unknown>>();
  let stopping = false;
  const wakers = new Set<() => void>();
  const loops: Promise<void>[] = [];

  /**
   * Runs a claimed ingestion to its end and records the outcome; never throws.
   * `log` is the request's logger when it runs on the request path, so the summary
   * line carries the request id. The metrics are recorded from the final counts,
   * so /metrics shows the same numbers as the ingestion record.
   */
  async function run(row: IngestionRow, source?: BodySource, log: Logger = logger, onProgress?: (progress: Progress) => void): Promise<IngestionRow> {
    const started = performance.now();
    const heartbeat = setInterval(
      () => void repository.extendLease(row.user_id, row.id, leaseSeconds).catch(() => undefined),
      (leaseSeconds * 1000) / 3,
    );
    try {
      const body = source ?? bufferSource(await unarchive((await repository.body(row.user_id, row.id))!));
      const outcome = await processBody({ ...deps, logger: log, now }, { userId: row.user_id, ingestionId: row.id, format: row.format }, body, onProgress);
      const finished = (await repository.finish(row.user_id, row.id, { status: 'completed', ...outcome }))!;
      const { timings } = outcome;
      metrics.ingestRequest(outcome.format, 'completed');
      metrics.samples(outcome.byType);
      metrics.validationErrors(outcome.rejectedByCategory);
      metrics.stage('parse', timings.parse);
      metrics.stage('validate', timings.validate);
      metrics.stage('write', timings.write);
      // The one line per ingestion: counts, sizes and timings; never types, values or sources.
      log.info(
        {
          ingestion: row.id,
          user: row.user_id,
          via: row.source,
          format: outcome.format,
          bytes: row.size_bytes,
          ...outcome.counts,
          ms: Math.round(performance.now() - started),
          parse_ms: Math.round(timings.parse * 1000),
          validate_ms: Math.round(timings.validate * 1000),
          write_ms: Math.round(timings.write * 1000),
        },
        'ingestion completed',
      );
      return finished;
    } catch (error) {
      if (error instanceof AppError) {
        metrics.ingestRequest('unknown', 'refused');
        log.info({ ingestion: row.id, code: error.code }, 'ingestion refused');
        return (await repository.finish(row.user_id, row.id, { status: 'failed', error: { code: error.code, message: error.message } }))!;
      }
      const retry = row.attempts < MAX_ATTEMPTS;
      metrics.error('ingestion');
      if (!retry) metrics.ingestRequest('unknown', 'error');
      log.error({ err: error, ingestion: row.id, attempt: row.attempts, retry }, 'ingestion failed');
      const finished = await repository
        .finish(row.user_id, row.id, retry ? { status: 'queued' } : { status: 'failed', error: { code: 'INTERNAL', message: 'processing failed repeatedly; see the server log' } })
        .catch(() => null);
      return finished ?? row;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * An ingestion claimed more often than it may be attempted: every earlier attempt
   * ended without an outcome, so the process stopped each time it ran (killed, or
   * out of memory on this body). Running it again would stop the server again; it is
   * failed instead, its archive kept for a reprocess once the cause is fixed.
   */
  async function abandon(row: IngestionRow): Promise<IngestionRow | null> {
    const attempts = row.attempts - 1;
    metrics.error('ingestion');
    metrics.ingestRequest('unknown', 'error');
    logger.error({ ingestion: row.id, user: row.user_id, bytes: row.size_bytes, attempts }, 'ingestion abandoned: the server stopped during each attempt');
    return repository
      .finish(row.user_id, row.id, {
        status: 'failed',
        error: {
          code: 'INTERNAL',
          message: `the server stopped during each of ${attempts} attempts to process this upload (out of memory?); the body is archived: reprocess it once the server has the memory`,
        },
      })
      .catch((error: unknown) => {
        logger.error({ err: error, ingestion: row.id }, 'could not mark the ingestion failed');
        return null;
      });
  }

  /**
   * The duplicate check and the one durable write every upload starts with; `claim` keeps
   * it for this process. The same bytes as an earlier upload that failed are not archived
   * again: that ingestion is claimed to run again in place (`rerun`), as a reprocess does,
   * so resending an invalid 20 MB body costs no second 20 MB.
   */
  async function archive(upload: Upload, body: ReceivedBody, claim: boolean): Promise<IngestResult & { rerun?: boolean }> {
    const earlier = await repository.findDuplicate(upload.userId, body.sha256);
    if (earlier?.status === 'failed') {
      // Claimed unless its body was deleted since: then these bytes are archived anew below.
      const again = await repository.claim(earlier.user_id, earlier.id, leaseSeconds);
      if (again) {
        if (!claim) await repository.finish(again.user_id, again.id, { status: 'queued' });
        return { ingestion: again, rerun: true };
      }
    } else if (earlier) {
      metrics.ingestRequest(earlier.format ?? 'unknown', 'duplicate');
      return { ingestion: earlier, duplicateOf: earlier.id };
    }
    const archiving = performance.now();
    const ingestion = await repository.archive({
      ...upload,
      body: body.archive,
      sizeBytes: body.bytes.length,
      sha256: body.sha256,
      status: 'queued',
      ...(claim ? { leaseSeconds } : {}),
    });
    metrics.stage('archive', (performance.now() - archiving) / 1000);
    metrics.payload(body.bytes.length);
    return { ingestion };
  }

  function track<T>(work: Promise<T>): Promise<T> {
    active.add(work);
    void work.finally(() => active.delete(work)).catch(() => undefined);
    return work;
  }

  /** Waits for `work` up to the budget; resolves to null when the budget ran out first. */
  async function within<T>(work: Promise<T>, budgetMs: number): Promise<T | null> {
    if (!Number.isFinite(budgetMs)) return work;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), budgetMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function workerLoop(): Promise<void> {
    while (!stopping) {
      const row = await repository.claimNext(leaseSeconds).catch((error: unknown) => {
        metrics.error('queue');
        logger.warn({ err: error }, 'could not look for queued ingestions');
        return null;
      });
      if (row) {
        await track(row.attempts > MAX_ATTEMPTS ? abandon(row) : run(row));
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, config.ingest.pollIntervalMs);
        wakers.add(wake);
      });
    }
  }

  return {
    /**
     * Archives the upload (one durable write), answers a duplicate with the earlier
     * ingestion, then processes it within the budget. `log`: the request's logger.
     */
    async ingest(upload: Upload, body: ReceivedBody, options: RunOptions = {}): Promise<IngestResult> {
      const archived = await archive(upload, body, true);
      if (archived.duplicateOf) return archived;
      const work = track(run(archived.ingestion, bufferSource(body.bytes), options.log, options.onProgress));
      const finished = await within(work, options.budgetMs ?? config.ingest.syncBudgetMs);
      return { ingestion: finished ?? archived.ingestion };
    },

    /**
     * Archives an upload nobody waits on (an MQTT message) and leaves it to a
     * worker, so the broker's acknowledgement waits for the durable write only.
     */
    async queue(upload: Upload, body: ReceivedBody): Promise<IngestResult> {
      const archived = await archive(upload, body, false);
      if (!archived.duplicateOf) [...wakers][0]?.();
      return archived;
    },

    /**
     * Records an upload refused before it could be processed (413, 415, an MQTT
     * message for no usable key): reason and headers, and the body when it was read.
     */
    recordRefused(upload: Upload, error: AppError, sizeOrBody: number | ReceivedBody = 0): Promise<IngestionRow> {
      metrics.ingestRequest('unknown', 'refused');
      const body = typeof sizeOrBody === 'number' ? null : sizeOrBody;
      return repository.archive({
        ...upload,
        body: body?.archive ?? null,
        sizeBytes: body ? body.bytes.length : (sizeOrBody as number),
        sha256: body?.sha256 ?? null,
        status: 'failed',
        error: { code: error.code, message: error.message },
      });
    },

    /** Runs an archived body again through today's parser and thresholds, under the same id. */
    async reprocess(userId: string, id: string, options: RunOptions = {}): Promise<IngestionRow | null> {
      const row = await repository.claim(userId, id, leaseSeconds);
      if (!row) return null;
      return (await within(track(run(row, undefined, options.log, options.onProgress)), options.budgetMs ?? config.ingest.syncBudgetMs)) ?? row;
    },

    start(): void {
      stopping = false;
      for (let i = 0; i < config.ingest.workers; i += 1) loops.push(workerLoop());
    },

    /** Stops taking work and waits for what is running to finish. */
    async stop(): Promise<void> {
      stopping = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops.splice(0));
      await Promise.allSettled([...active]);
    },
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
