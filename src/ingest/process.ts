/**
 * One ingestion's journey after the archive: parse the JSON, detect the format,
 * validate and normalise each sample, write in chunks, keep every rejection with
 * its reason, and report counts that add up.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { ingestionsRepository, type Counts } from '../storage/repositories/ingestions.js';
import { createSampleWriter } from '../storage/samples/writer.js';
import { isHaePayload, parseHae } from './hae/parse.js';
import { checkJsonText, firstInvalidUtf8, type JsonLimits } from './json-guard.js';
import type { ParseContext, ParsedItem, Rejection } from './records.js';
import { isStandardPayload, parseStandard } from './standard/parse.js';
import { Tally } from './tally.js';

export type Format = 'hae' | 'standard';

export interface ProcessOutcome {
  format: Format;
  counts: Counts;
  byType: Record<string, Counts>;
}

const REJECTION_CHUNK = 1000;

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
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    // V8 quotes the text around the error, control characters included; PostgreSQL cannot store U+0000.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const message = (error as Error).message.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    throw new AppError('INVALID_JSON', `body is not valid JSON: ${message}`);
  }
}

export function detectFormat(body: unknown, ctx: ParseContext): { format: Format; items: Generator<ParsedItem> } {
  if (isHaePayload(body)) return { format: 'hae', items: parseHae(body, ctx) };
  if (isStandardPayload(body)) return { format: 'standard', items: parseStandard(body, ctx) };
  throw new AppError(
    'UNPROCESSABLE_PAYLOAD',
    'body is JSON but in neither accepted format: expected a Health Auto Export payload {"data": {"metrics": [...], ...}} or the standard format {"samples": [...]}',
  );
}

export async function processBody(
  deps: { db: Database; config: Config; postgis: boolean; logger: Logger; now: () => Date },
  target: { userId: string; ingestionId: string },
  bytes: Buffer,
): Promise<ProcessOutcome> {
  const { db, config } = deps;
  const repository = ingestionsRepository(db);
  const ctx: ParseContext = { limits: config.ingest.limits, now: deps.now() };
  const { format, items } = detectFormat(parseJson(bytes, config.edge.json), ctx);

  const tally = new Tally();
  let pending: Rejection[] = [];
  let seq = 0;
  const saveRejections = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await repository.insertRejections(target.userId, target.ingestionId, seq, batch);
    seq += batch.length;
  };
  const reject = (rejection: Rejection) => {
    tally.add(rejection.type, 'rejected');
    pending.push(rejection);
  };

  await repository.clearRejections(target.userId, target.ingestionId);
  const writer = createSampleWriter({
    db,
    userId: target.userId,
    ingestionId: target.ingestionId,
    batch: config.batch,
    postgis: deps.postgis,
    logger: deps.logger,
    sink: { outcome: (type, outcome, count) => tally.add(type, outcome, count), reject },
  });

  for (const item of items) {
    if (item.ok) {
      tally.add(item.record.type, 'received');
      const wait = writer.add(item.record);
      if (wait) await wait;
    } else {
      tally.add(item.rejection.type, 'received');
      reject(item.rejection);
      if (pending.length >= REJECTION_CHUNK) await saveRejections();
    }
  }
  await writer.finish();
  await saveRejections();

  const unbalanced = tally.unbalanced();
  if (unbalanced.length > 0) deps.logger.error({ types: unbalanced }, 'counts do not add up: this is a bug');
  return { format, counts: tally.totals(), byType: tally.toJSON() };
}
