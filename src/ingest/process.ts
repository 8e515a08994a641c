/**
 * One ingestion's journey after the archive: parse the JSON, detect the format,
 * validate and normalise each sample, write in chunks, keep every rejection with
 * its reason, and report counts that add up.
 */
import { parse as parseTolerant, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { AppError } from '../shared/errors.js';
import type { Database } from '../storage/database.js';
import { ingestionsRepository, type Counts } from '../storage/repositories/ingestions.js';
import { createSampleWriter } from '../storage/samples/writer.js';
import { isHaePayload, parseHae } from './hae/parse.js';
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

/** Parses the JSON text; a syntax error becomes a 400 that says where. */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new AppError('INVALID_JSON', 'body is empty; expected JSON');
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('INVALID_JSON', `body is not valid JSON: ${locateSyntaxError(text) ?? (error as Error).message}`);
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

export async function processBody(
  deps: { db: Database; config: Config; postgis: boolean; logger: Logger; now: () => Date },
  target: { userId: string; ingestionId: string },
  bytes: Buffer,
): Promise<ProcessOutcome> {
  const { db, config } = deps;
  const repository = ingestionsRepository(db);
  const ctx: ParseContext = { limits: config.ingest.limits, now: deps.now() };
  const { format, items } = detectFormat(parseJson(bytes), ctx);

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
