/**
 * Small readers shared by every parser: they turn one field of a sample into a
 * typed value or a reason the sample is rejected. A reader never throws; it
 * returns a `Problem` that the parser turns into a Rejection.
 */
import { MAX_OFFSET_MINUTES, parseHaeDate, type ParsedDate } from './dates.js';
import type { ParseContext, ValidationCategory } from './records.js';

export class Problem {
  constructor(
    readonly category: ValidationCategory,
    readonly reason: string,
  ) {}
}

export type Read<T> = T | Problem;

export function isProblem(value: unknown): value is Problem {
  return value instanceof Problem;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A `source` as sent: a string kept exactly (U+2019, U+00A0 and `|` included),
 * an object identified by its `name`, or '' when absent.
 */
export function readSource(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.name === 'string') return value.name;
  return '';
}

/** A finite number; numeric strings are accepted because some builds quote them. */
export function readNumber(sample: Record<string, unknown>, field: string): Read<number> {
  const value = sample[field];
  if (value === undefined || value === null) return new Problem('missing_field', `${field} is missing`);
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number') return new Problem('format', `${field} must be a number, got ${typeof value}`);
  if (!Number.isFinite(number)) return new Problem('format', `${field} must be a finite number`);
  return number;
}

/** Like readNumber, but an absent field is null rather than a problem. */
export function readOptionalNumber(sample: Record<string, unknown>, field: string): Read<number | null> {
  const value = sample[field];
  return value === undefined || value === null ? null : readNumber(sample, field);
}

export function readNonNegative(sample: Record<string, unknown>, field: string): Read<number> {
  const value = readNumber(sample, field);
  if (isProblem(value)) return value;
  return value < 0 ? new Problem('range', `${field} must not be negative, got ${value}`) : value;
}

export function readInRange(
  sample: Record<string, unknown>,
  field: string,
  range: { min: number; max: number },
  label = field,
): Read<number> {
  const value = readNumber(sample, field);
  if (isProblem(value)) return value;
  if (value < range.min || value > range.max) {
    return new Problem('range', `${label} ${value} is outside the allowed range ${range.min}-${range.max}`);
  }
  return value;
}

/** A date that must be present, parseable and inside the configured window. */
export function readTime(sample: Record<string, unknown>, field: string, ctx: ParseContext): Read<ParsedDate> {
  const value = sample[field];
  if (value === undefined || value === null || value === '') return new Problem('missing_field', `${field} is missing`);
  const parsed = parseHaeDate(value);
  if (!parsed) return new Problem('format', `${field} ${JSON.stringify(value)} is not a date this server understands`);
  return checkTimeWindow(parsed, field, ctx);
}

export function readOptionalTime(
  sample: Record<string, unknown>,
  field: string,
  ctx: ParseContext,
): Read<ParsedDate | null> {
  const value = sample[field];
  return value === undefined || value === null || value === '' ? null : readTime(sample, field, ctx);
}

export function checkTimeWindow(parsed: ParsedDate, field: string, ctx: ParseContext): Read<ParsedDate> {
  if (parsed.offsetMinutes !== null && Math.abs(parsed.offsetMinutes) > MAX_OFFSET_MINUTES) {
    const minutes = Math.abs(parsed.offsetMinutes);
    const written = `${parsed.offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    return new Problem('format', `${field} has the UTC offset ${written}, outside -14:00..+14:00`);
  }
  const ms = parsed.instant.getTime();
  if (ms < ctx.limits.minDate.getTime()) {
    return new Problem('time', `${field} ${parsed.instant.toISOString()} is before ${ctx.limits.minDate.toISOString()}`);
  }
  const latest = ctx.now.getTime() + ctx.limits.maxFutureHours * 3_600_000;
  if (ms > latest) {
    return new Problem('time', `${field} ${parsed.instant.toISOString()} is more than ${ctx.limits.maxFutureHours} h in the future`);
  }
  return parsed;
}

/**
 * One time sent under several names (newer builds send a segment's `startDate` and
 * `start`, older ones one of them): the first present name wins, and every other
 * present name must be the same instant, or the point is rejected (there would be no
 * telling which is right). `fallback` (`date`) is read only when none is present: it is
 * not always the same instant (a wrist temperature's `date` is not its `start`).
 * Null when none is present and there is no fallback.
 */
export function readSpelledTime(sample: Record<string, unknown>, names: string[], ctx: ParseContext, fallback: string): Read<Date>;
export function readSpelledTime(sample: Record<string, unknown>, names: string[], ctx: ParseContext): Read<Date | null>;
export function readSpelledTime(sample: Record<string, unknown>, names: string[], ctx: ParseContext, fallback?: string): Read<Date | null> {
  let first: { name: string; instant: Date } | null = null;
  for (const name of names) {
    // Most points carry none of the names: skip them without a call (500,000-point uploads).
    const value = sample[name];
    if (value === undefined || value === null || value === '') continue;
    const time = readTime(sample, name, ctx);
    if (isProblem(time)) return time;
    if (first === null) first = { name, instant: time.instant };
    else if (time.instant.getTime() !== first.instant.getTime()) {
      return new Problem('time', `${first.name} ${first.instant.toISOString()} and ${name} ${time.instant.toISOString()} disagree`);
    }
  }
  if (first !== null) return first.instant;
  if (fallback === undefined) return null;
  const time = readTime(sample, fallback, ctx);
  return isProblem(time) ? time : time.instant;
}

/** End not before start; a missing end equals the start. */
export function checkOrder(start: Date, end: Date | null): Read<Date> {
  if (end === null) return start;
  return end.getTime() < start.getTime()
    ? new Problem('time', `end ${end.toISOString()} is before start ${start.toISOString()}`)
    : end;
}

export function readOptionalString(sample: Record<string, unknown>, field: string): string | null {
  const value = sample[field];
  return typeof value === 'string' ? value : null;
}
