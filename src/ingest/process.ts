/**
 * One ingestion's journey after the archive: check the JSON and detect the
 * format, parse, validate and normalise each sample (on a parse thread, a slice
 * at a time: parse-thread.ts, body-plan.ts), write in chunks, keep every
 * rejection with its reason, and report counts that add up.
 *
 * Stage timings: the parse thread and the writer work at the same time. What is
 * measured is what each stage costs the pipeline: `parse` is the first read of
 * the body (the checks and the format); `validate` is the time the writer waited
 * for the parse thread's samples; `write` is the time spent waiting for the
 * database (the writer's back-pressure, the final flush and the rejection
 * inserts). batch_write_duration_seconds shows the database time per chunk.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Metrics } from '../monitoring/metrics.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { ingestionsRepository, type Counts } from '../storage/repositories/ingestions.js';
import { erasuresFor } from '../storage/erasure.js';
import { createSampleWriter } from '../storage/samples/writer.js';
import { appleHealthBatches } from './apple-health/parse.js';
import type { Format as JsonFormat } from './body-plan.js';
import type { BodySource } from './body.js';
import { JsonScanner, firstInvalidUtf8, type JsonLimits } from './json-guard.js';
import { parseOffThread, type ParsedBatch } from './parse-thread.js';
import type { ParseContext, Rejection, ValidationCategory } from './records.js';
import { Tally } from './tally.js';

export type Format = JsonFormat | 'apple_health';

export interface ProcessOutcome {
  format: Format;
  counts: Counts;
  byType: Record<string, Counts>;
  /** Rejected samples per validation category. */
  rejectedByCategory: Partial<Record<ValidationCategory, number>>;
  /** Rejections counted but not kept in full: those after the first REJECTIONS_KEPT_MAX. */
  rejectionsNotKept: number;
  /** Seconds per stage, as described at the top of this file. */
  timings: { parse: number; validate: number; write: number };
}

/** How far an ingestion has come, reported while it runs. */
export interface Progress {
  /** Decompressed bytes of the body read so far. */
  bytesDone: number;
  samplesDone: number;
}

const REJECTION_CHUNK = 1000;

/**
 * Parses a small JSON body at once (other routes' bodies; an upload goes
 * through processBody), with the checks every body passes: UTF-8 only (a wrong
 * encoding would be stored silently mangled), hostile shapes refused before
 * parsing, and a syntax error becomes a 400 that says where (json-guard.ts).
 */
export function parseJson(bytes: Buffer, limits: JsonLimits): unknown {
  if (bytes.length === 0) throw new AppError('INVALID_JSON', 'body is empty; expected JSON');
  if (!isUtf8(bytes)) {
    throw new AppError('INVALID_JSON', `body is not valid UTF-8 (first bad byte at ${firstInvalidUtf8(bytes)}); JSON must be sent as UTF-8`);
  }
  const scanner = new JsonScanner(limits, { strict: true });
  scanner.write(bytes);
  scanner.end();
  return JSON.parse(bytes.toString('utf8'));
}

export async function processBody(
  deps: { db: Database; config: Config; postgis: boolean; logger: Logger; metrics: Metrics; now: () => Date },
  /** `format`: the ingestion's, when known before parsing (Apple Health imports). */
  target: { userId: string; ingestionId: string; format?: Format | null },
  body: BodySource,
  onProgress: (progress: Progress) => void = () => undefined,
): Promise<ProcessOutcome> {
  const { db, config } = deps;
  const repository = ingestionsRepository(db);
  const ctx: ParseContext = { limits: config.ingest.limits, now: deps.now() };
  const parseStart = performance.now();
  // An Apple Health export is XML (or a zip of it), read on this thread as it streams.
  const parsed = target.format === 'apple_health' ? appleHealthBatches(body, ctx) : parseOffThread(body, config.edge.json, ctx);
  const format = (await parsed.next()).value as Format;
  const parseEnd = performance.now();

  const tally = new Tally();
  const rejectedByCategory: Partial<Record<ValidationCategory, number>> = {};
  let pending: Rejection[] = [];
  let seq = 0;
  // Kept in full up to the limit, counted always: a body of a million {} must not write a million rows.
  let kept = 0;
  let notKept = 0;
  const saveRejections = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await repository.insertRejections(target.userId, target.ingestionId, seq, batch);
    seq += batch.length;
  };
  const reject = (rejection: Rejection) => {
    tally.add(rejection.type, 'rejected');
    rejectedByCategory[rejection.category] = (rejectedByCategory[rejection.category] ?? 0) + 1;
    if (kept < config.ingest.rejectionsKeptMax) {
      kept += 1;
      pending.push(rejection);
    } else notKept += 1;
  };

  // Declared out here for after the loop; the parse thread is let go however the loop ends.
  let writer: ReturnType<typeof createSampleWriter>;
  let waitedMs = 0;
  let parsingMs = 0;
  try {
    await repository.clearRejections(target.userId, target.ingestionId);
    const erased = await erasuresFor(db, target.userId, target.ingestionId);
    writer = createSampleWriter({
      db,
      userId: target.userId,
      ingestionId: target.ingestionId,
      batch: config.batch,
      postgis: deps.postgis,
      logger: deps.logger,
      metrics: deps.metrics,
      sink: { outcome: (type, outcome, count) => tally.add(type, outcome, count), reject },
    });

    const waitFor = async (work: Promise<void>) => {
      const started = performance.now();
      await work;
      waitedMs += performance.now() - started;
    };
    let samplesDone = 0;
    for (;;) {
      const started = performance.now();
      const next = await parsed.next();
      parsingMs += performance.now() - started;
      if (next.done) break;
      const batch = next.value as ParsedBatch;
      for (const item of batch.items) {
        if (item.ok) {
          tally.add(item.record.type, 'received');
          const erasure = erased(item.record);
          if (erasure !== null) {
            // Counted, never stored, and without the sample's JSON: keeping it would undo the erasure.
            reject({ type: item.record.type, category: 'erased', reason: erasure, sample: null });
            continue;
          }
          const wait = writer.add(item.record);
          if (wait) await waitFor(wait);
        } else {
          tally.add(item.rejection.type, 'received');
          reject(item.rejection);
          if (pending.length >= REJECTION_CHUNK) await waitFor(saveRejections());
        }
      }
      samplesDone += batch.items.length;
      onProgress({ bytesDone: batch.bytesDone, samplesDone });
      // Batches already waiting would otherwise be taken one after another without a turn of the event loop.
      await new Promise(setImmediate);
    }
  } finally {
    await parsed.return(undefined);
  }
  const loopEnd = performance.now();
  await writer.finish();
  await saveRejections();

  const unbalanced = tally.unbalanced();
  if (unbalanced.length > 0) deps.logger.error({ types: unbalanced }, 'counts do not add up: this is a bug');
  return {
    format,
    counts: tally.totals(),
    byType: tally.toJSON(),
    rejectedByCategory,
    rejectionsNotKept: notKept,
    timings: {
      parse: (parseEnd - parseStart) / 1000,
      validate: parsingMs / 1000,
      write: (waitedMs + performance.now() - loopEnd) / 1000,
    },
  };
}
