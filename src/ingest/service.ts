/**
 * The ingestion service: archive first, then process within a time budget on
 * the request path (200), or leave the rest to a worker (202). Workers in any
 * process take queued work from PostgreSQL; an ingestion whose worker died is
 * taken over once its lease runs out, so accepted work is finished exactly once
 * (writes are idempotent upserts, so a take-over never duplicates rows).
 *
 * A body is archived in chunks while it arrives (`receive`); its ingestion is
 * recorded, and checked for duplicates, in one transaction once the body is
 * complete, and processing starts after that commit. A process killed before it
 * leaves chunks without an ingestion, which the sweep deletes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Metrics } from '../monitoring/metrics.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { archiveRepository } from '../storage/repositories/archive.js';
import { ingestionsRepository, type IngestionRow, type IngestionSource } from '../storage/repositories/ingestions.js';
import { archiveSource, bufferSource, NO_LIMIT, readBody, type BodyLimit, type BodySource, type BodyStream, type ReceivedBody } from './body.js';
import { createBudget } from './budget.js';
import { processBody, type Progress } from './process.js';

/** After this many attempts an ingestion that keeps failing is marked failed instead of retried. */
const MAX_ATTEMPTS = 5;
/** Progress is written at most this often (and with every lease heartbeat): one small UPDATE. */
const PROGRESS_WRITE_MS = 1000;

/** A body read in full, its archive written under `id` (the id its ingestion will have). */
export interface ArchivedBody extends ReceivedBody {
  id: string;
}

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
  /** Told how far processing has come (the CLI's progress line). */
  onProgress?: (progress: Progress & { bytesTotal: number }) => void;
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
  const archives = archiveRepository(db);
  const leaseSeconds = config.ingest.leaseSeconds;
  const active = new Set<Promise<unknown>>();
  let stopping = false;
  const wakers = new Set<() => void>();
  const wakeOne = () => [...wakers][0]?.();
  const budget = createBudget({ maxConcurrent: config.ingest.maxConcurrent, maxBytes: config.ingest.maxBytesInFlight }, wakeOne);
  const loops: Promise<void>[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  const createdAt = performance.now();
  // No upload can still be arriving after the request timeout (Fastify ends it); twice that is a margin.
  const orphanAgeSeconds = (2 * config.edge.timeouts.requestMs) / 1000;

  /** The archived body of an ingestion, read back chunk by chunk. */
  function storedBody(row: IngestionRow): BodySource {
    if (row.body_encoding === 'gzip') {
      // Archived before chunks, as one value.
      return archiveSource(row.size_bytes, async function* () {
        const body = await repository.body(row.user_id, row.id);
        if (!body) throw new Error(`ingestion ${row.id} has no archived body`);
        yield body;
      });
    }
    return archiveSource(row.size_bytes, async function* () {
      for (let seq = 0; ; seq += 1) {
        const chunk = await archives.chunk(row.user_id, row.id, seq);
        if (!chunk) return;
        yield chunk;
      }
    });
  }

  async function sweep(olderThanSeconds: number): Promise<void> {
    const swept = await archives.sweepOrphans(olderThanSeconds).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not delete the chunks of uploads that never completed');
      return 0;
    });
    if (swept > 0) logger.info({ chunks: swept }, 'deleted the archive chunks of uploads that never completed');
  }

  /**
   * Runs a claimed ingestion to its end and records the outcome; never throws.
   * `log` is the request's logger when it runs on the request path, so the summary
   * line carries the request id. The metrics are recorded from the final counts,
   * so /metrics shows the same numbers as the ingestion record.
   */
  async function run(row: IngestionRow, source?: BodySource, log: Logger = logger, onProgress?: RunOptions['onProgress']): Promise<IngestionRow> {
    const started = performance.now();
    let progress: Progress | undefined;
    let lastWrite = 0;
    let writing = false;
    // One write at a time: a slow database must not pile up heartbeats.
    const beat = () => {
      if (writing) return;
      writing = true;
      lastWrite = performance.now();
      void repository
        .extendLease(row.user_id, row.id, leaseSeconds, progress)
        .catch(() => undefined)
        .finally(() => (writing = false));
    };
    const heartbeat = setInterval(beat, (leaseSeconds * 1000) / 3);
    const report = (reached: Progress) => {
      progress = reached;
      onProgress?.({ ...reached, bytesTotal: row.size_bytes });
      if (performance.now() - lastWrite >= PROGRESS_WRITE_MS) beat();
    };
    try {
      const body = source ?? storedBody(row);
      const outcome = await processBody({ ...deps, logger: log, now }, { userId: row.user_id, ingestionId: row.id, format: row.format }, body, report);
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
  async function archive(upload: Upload, body: ArchivedBody, claim: boolean): Promise<IngestResult> {
    const archiving = performance.now();
    const archived = await db.transaction(async (tx): Promise<IngestResult> => {
      const ingestions = ingestionsRepository(tx);
      await ingestions.lockSha(upload.userId, body.sha256);
      const earlier = await ingestions.findDuplicate(upload.userId, body.sha256);
      if (earlier?.status === 'failed') {
        // Claimed unless its body was deleted since: then these bytes are archived anew below.
        const again = await ingestions.claim(earlier.user_id, earlier.id, leaseSeconds);
        if (again) return { ingestion: claim ? again : (await ingestions.finish(again.user_id, again.id, { status: 'queued' }))! };
      } else if (earlier) {
        return { ingestion: earlier, duplicateOf: earlier.id };
      }
      return {
        ingestion: await ingestions.archive({
          ...upload,
          id: body.id,
          sizeBytes: body.size,
          sha256: body.sha256,
          status: 'queued',
          ...(claim ? { leaseSeconds } : {}),
        }),
      };
    });
    if (archived.ingestion.id !== body.id) {
      // The earlier ingestion has these bytes archived already.
      await archives.deleteChunks(upload.userId, body.id).catch((error: unknown) => logger.warn({ err: error, upload: body.id }, 'could not delete the chunks of a duplicate'));
    }
    if (archived.duplicateOf) metrics.ingestRequest(archived.ingestion.format ?? 'unknown', 'duplicate');
    else {
      metrics.stage('archive', (performance.now() - archiving) / 1000);
      metrics.payload(body.size);
    }
    return archived;
  }

  /** Runs a claimed ingestion within its place in the budget, then gives the place back. */
  function runTaken(row: IngestionRow, source?: BodySource, options: RunOptions = {}): Promise<IngestionRow> {
    return track(run(row, source, options.log, options.onProgress).finally(() => budget.release(row.size_bytes)));
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
      const room = budget.reserve();
      const row =
        room === null
          ? null
          : await repository.claimNext(leaseSeconds, room).catch((error: unknown) => {
              metrics.error('queue');
              logger.warn({ err: error }, 'could not look for queued ingestions');
              return null;
            });
      if (row) {
        budget.fill(row.size_bytes);
        if (row.attempts > MAX_ATTEMPTS) await track(abandon(row).finally(() => budget.release(row.size_bytes)));
        else await runTaken(row);
        continue;
      }
      if (room !== null) budget.release(0);
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
     * Reads a body and archives it as it arrives, under the id its ingestion will
     * have; on any refusal or failure its chunks are deleted again. No stream (a
     * request without a body) is an empty body: the parser says so.
     */
    async receive(userId: string, stream: BodyStream | undefined, encoding: 'gzip' | null, limit: BodyLimit): Promise<ArchivedBody> {
      const id = randomUUID();
      const sink = async (seq: number, data: Buffer) => {
        await archives.writeChunk(userId, id, seq, data);
        // trace, not debug: one line per MB, and without the request's id (it is not the request's logger).
        logger.trace({ upload: id, seq, bytes: data.length }, 'archive chunk written');
      };
      try {
        return { id, ...(await readBody(stream ?? [], encoding, limit, sink)) };
      } catch (error) {
        await archives.deleteChunks(userId, id).catch(() => undefined);
        throw error;
      }
    },

    /** Deletes a received body that is refused once read (an empty import). */
    discard(userId: string, body: ArchivedBody): Promise<void> {
      return archives.deleteChunks(userId, body.id);
    },

    /** `receive` for a body already in memory (an MQTT message, a file the CLI read). */
    receiveBytes(userId: string, bytes: Buffer): Promise<ArchivedBody> {
      return this.receive(userId, [bytes], null, NO_LIMIT);
    },

    /**
     * Records the archived upload (checking for a duplicate), then processes it within
     * the time budget when the process has room for it (INGEST_MAX_CONCURRENT,
     * INGEST_MAX_BYTES_IN_FLIGHT); else it stays queued for a worker. `log`: the request's logger.
     */
    async ingest(upload: Upload, body: ArchivedBody, options: RunOptions = {}): Promise<IngestResult> {
      const taken = budget.tryTake(body.size);
      let archived: IngestResult;
      try {
        archived = await archive(upload, body, taken);
      } catch (error) {
        if (taken) budget.release(body.size);
        throw error;
      }
      if (!taken || archived.duplicateOf) {
        if (taken) budget.release(body.size);
        else if (!archived.duplicateOf) wakeOne();
        return archived;
      }
      const source = archived.ingestion.id === body.id && body.bytes ? bufferSource(body.bytes) : undefined;
      const work = runTaken(archived.ingestion, source, options);
      const finished = await within(work, options.budgetMs ?? config.ingest.syncBudgetMs);
      return { ingestion: finished ?? archived.ingestion };
    },

    /**
     * Records an archived upload nobody waits on (an MQTT message) and leaves it to
     * a worker, so the broker's acknowledgement waits for the durable write only.
     */
    async queue(upload: Upload, body: ArchivedBody): Promise<IngestResult> {
      const archived = await archive(upload, body, false);
      if (!archived.duplicateOf) wakeOne();
      return archived;
    },

    /**
     * Records an upload refused before it could be processed (413, 415, an MQTT
     * message for no usable key): reason and headers, and the body when it was read.
     */
    recordRefused(upload: Upload, error: AppError, sizeOrBody: number | ArchivedBody = 0): Promise<IngestionRow> {
      metrics.ingestRequest('unknown', 'refused');
      const body = typeof sizeOrBody === 'number' ? null : sizeOrBody;
      return repository.archive({
        ...upload,
        id: body?.id ?? null,
        sizeBytes: body ? body.size : (sizeOrBody as number),
        sha256: body?.sha256 ?? null,
        status: 'failed',
        error: { code: error.code, message: error.message },
      });
    },

    /** Runs an archived body again through today's parser and thresholds, under the same id. */
    async reprocess(userId: string, id: string, options: RunOptions = {}): Promise<IngestionRow | null> {
      const row = await repository.claim(userId, id, leaseSeconds);
      if (!row) return null;
      if (!budget.tryTake(row.size_bytes)) {
        const queued = await repository.finish(userId, id, { status: 'queued' });
        wakeOne();
        return queued;
      }
      return (await within(runTaken(row, undefined, options), options.budgetMs ?? config.ingest.syncBudgetMs)) ?? row;
    },

    /**
     * Starts the workers, and the sweep of archive chunks whose upload never completed.
     * The embedded database has one process (the data folder's lock), so every such
     * chunk written before this process was created is gone at once. PostgreSQL may be
     * shared by several processes: only chunks older than any upload can be are deleted.
     */
    start(): void {
      stopping = false;
      void track(sweep(db.kind === 'pglite' ? (performance.now() - createdAt) / 1000 : orphanAgeSeconds));
      sweeper = setInterval(() => void track(sweep(orphanAgeSeconds)), config.edge.timeouts.requestMs);
      sweeper.unref();
      for (let i = 0; i < config.ingest.workers; i += 1) loops.push(workerLoop());
    },

    /** Stops taking work and waits for what is running to finish. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(sweeper);
      for (const wake of [...wakers]) wake();
      await Promise.all(loops.splice(0));
      await Promise.allSettled([...active]);
    },
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
