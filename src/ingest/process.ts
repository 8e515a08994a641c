/**
 * One ingestion's journey after the archive: parse the JSON, detect the format,
 * validate and normalise each sample, write in chunks, keep every rejection with
 * its reason, and report counts that add up.
 *
 * Stage timings: the parser is a generator and the writer works while it runs,
 * so validation and writing overlap. What is measured is what each stage costs
 * the pipeline: `parse` is JSON.parse and format detection; `write` is the time
 * spent waiting for the database (the writer's back-pressure, the final flush and
 * the rejection inserts); `validate` is the rest of the loop: walking the payload,
 * validating, normalising and buffering each sample. Database time that overlapped
 * with validation is not in `write`; batch_write_duration_seconds shows it per chunk.
 */
import { isUtf8 } from 'node:buffer';
import { parse as parseTolerant, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Metrics } from '../monitoring/metrics.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { ingestionsRepository, type Counts } from '../storage/repositories/ingestions.js';
import { erasuresFor } from '../storage/erasure.js';
import { createSampleWriter } from '../storage/samples/writer.js';
import { parseAppleHealth, type ReadPosition } from './apple-health/parse.js';
import type { BodySource } from './body.js';
import { isHaePayload, parseHae } from './hae/parse.js';
import { checkJsonText, firstInvalidUtf8, type JsonLimits } from './json-guard.js';
import type { ParseContext, ParsedItem, Rejection, ValidationCategory } from './records.js';
import { isStandardPayload, parseStandard } from './standard/parse.js';
import { Tally } from './tally.js';

export type Format = 'hae' | 'standard' | 'apple_health';

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
const PROGRESS_EVERY = 5000;

/**
 * Parses a JSON body, the one way every body is parsed: UTF-8 only (a wrong
 * encoding would be stored silently mangled), hostile shapes refused before
 * parsing (json-guard.ts), and a syntax error becomes a 400 that says where.
 */
export function parseJson(bytes: Buffer, limits: JsonLimits): unknown {
  if (bytes.length === 0) throw new AppError('INVALID_JSON', 'body is empty; expected JSON');
  if (!isUtf8(bytes)) {
    throw new AppError('INVALID_JSON', `body is not valid UTF-8 (first bad byte at ${firstInvalidUtf8(bytes)}); JSON must be sent as UTF-8`);
  }
  checkJsonText(bytes, limits);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error, control characters included, and
    // PostgreSQL cannot store U+0000: prefer the position, else escape the quote.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const message = (error as Error).message.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    throw new AppError('INVALID_JSON', `body is not valid JSON: ${locateSyntaxError(text) ?? message}`);
  }
}

/** Where JSON.parse gave up, found again by a parser that reports offsets (only on this failure path). */
function locateSyntaxError(text: string): string | null {
  const errors: ParseError[] = [];
  parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return null;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  return `${printParseErrorCode(first.error)} at line ${line}, column ${column} (position ${first.offset})`;
}

export function detectFormat(body: unknown, ctx: ParseContext): { format: Format; items: Generator<ParsedItem> } {
  if (isHaePayload(body)) return { format: 'hae', items: parseHae(body, ctx) };
  if (isStandardPayload(body)) return { format: 'standard', items: parseStandard(body, ctx) };
  throw new AppError(
    'UNPROCESSABLE_PAYLOAD',
    'body is JSON but in neither accepted format: expected a Health Auto Export payload {"data": {"metrics": [...], ...}} or the standard format {"samples": [...]}',
  );
}

/**
 * The body's format and its items. An Apple Health export (uploaded to its own
 * route, so its ingestion's format is known from the start) is parsed as it
 * streams; JSON is read whole and its format detected.
 */
async function openBody(
  body: BodySource,
  format: Format | null,
  ctx: ParseContext,
  config: Config,
): Promise<{ format: Format; items: Iterable<ParsedItem> | AsyncIterable<ParsedItem>; position: ReadPosition }> {
  if (format === 'apple_health') {
    const position: ReadPosition = { bytesDone: 0 };
    return { format, items: parseAppleHealth(body, await firstBytes(body), ctx, position), position };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body.open()) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  return { ...detectFormat(parseJson(bytes, config.edge.json), ctx), position: { bytesDone: bytes.length } };
}

/** Enough of the body's start to tell a zip from XML. */
async function firstBytes(body: BodySource): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body.open()) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= 64) break;
  }
  return Buffer.concat(chunks);
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
  const { format, items, position } = await openBody(body, target.format ?? null, ctx, config);
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

  await repository.clearRejections(target.userId, target.ingestionId);
  const erased = await erasuresFor(db, target.userId, target.ingestionId);
  const writer = createSampleWriter({
    db,
    userId: target.userId,
    ingestionId: target.ingestionId,
    batch: config.batch,
    postgis: deps.postgis,
    logger: deps.logger,
    metrics: deps.metrics,
    sink: { outcome: (type, outcome, count) => tally.add(type, outcome, count), reject },
  });

  let waitedMs = 0;
  const waitFor = async (work: Promise<void>) => {
    const started = performance.now();
    await work;
    waitedMs += performance.now() - started;
  };
  let samplesDone = 0;
  for await (const item of items) {
    samplesDone += 1;
    if (samplesDone % PROGRESS_EVERY === 0) onProgress({ bytesDone: position.bytesDone, samplesDone });
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
  const loopEnd = performance.now();
  await writer.finish();
  await saveRejections();
  const end = performance.now();

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
      validate: (loopEnd - parseEnd - waitedMs) / 1000,
      write: (waitedMs + end - loopEnd) / 1000,
    },
  };
}
