/**
 * `sleep_analysis` points, in the three shapes the app has sent over the years
 * (hae-format.md section 4): raw segments, and summarised nights from before
 * and after app 6.6.2. A point is a segment when it carries segment fields
 * (`startDate`, `endDate`, `value`) and a night when it carries night fields
 * (`sleepStart`, `sleepEnd`, `asleep`, `totalSleep`).
 *
 * A segment whose stage this server does not know (third-party sleep apps name
 * their own) is stored as `Unspecified`, which the summary counts as asleep, with
 * the name as sent in `sentStage`: that name is part of the identity, so two
 * different unknown stages over the same interval stay two segments.
 */
import { localDate } from '../dates.js';
import type { ParseContext, SleepNightRecord, SleepSegmentRecord, SleepStage } from '../records.js';
import {
  Problem,
  checkOrder,
  isProblem,
  readOptionalNumber,
  readOptionalTime,
  readSource,
  readSpelledTime,
  readTime,
  type Read,
} from '../sample-fields.js';

const STAGES = new Map<string, SleepStage>([
  ['awake', 'Awake'],
  ['asleep', 'Asleep'],
  ['core', 'Core'],
  ['rem', 'REM'],
  ['deep', 'Deep'],
  ['unspecified', 'Unspecified'],
  ['inbed', 'InBed'],
  // HealthKit's own names for the same stages, should a build pass them through.
  ['asleepcore', 'Core'],
  ['asleepdeep', 'Deep'],
  ['asleeprem', 'REM'],
  ['asleepunspecified', 'Asleep'],
]);
const SEPARATORS = /[\s_-]+/g;

/** `In Bed`, `InBed`, `in_bed` are one stage; matching ignores case and separators. */
export function sleepStage(value: string): SleepStage | null {
  return STAGES.get(value.replace(SEPARATORS, '').toLowerCase()) ?? null;
}

export function isSleepSegment(point: Record<string, unknown>): boolean {
  return point.startDate !== undefined || point.endDate !== undefined || point.value !== undefined;
}

export function isSleepNight(point: Record<string, unknown>): boolean {
  return (
    point.sleepStart !== undefined ||
    point.sleepEnd !== undefined ||
    point.inBedStart !== undefined ||
    point.asleep !== undefined ||
    point.totalSleep !== undefined
  );
}

/**
 * One `sleep_analysis` point. `toHours` converts the entry's unit to hours
 * (1 for the `hr` the app sends).
 */
export function parseSleepPoint(
  point: Record<string, unknown>,
  ctx: ParseContext,
  toHours: number,
): Read<SleepSegmentRecord | SleepNightRecord> {
  if (isSleepSegment(point)) return parseSleepSegment(point, ctx, toHours);
  if (isSleepNight(point)) return parseSleepNight(point, ctx, toHours);
  return new Problem(
    'format',
    'neither a sleep segment (startDate, endDate, value) nor a summarised night (sleepStart, sleepEnd, asleep)',
  );
}

export function parseSleepSegment(
  point: Record<string, unknown>,
  ctx: ParseContext,
  toHours: number,
): Read<SleepSegmentRecord> {
  // Newer builds repeat the times as start/end/date (readSpelledTime).
  const start = readSpelledTime(point, ['startDate', 'start'], ctx, 'date');
  if (isProblem(start)) return start.category === 'missing_field' ? new Problem('missing_field', 'startDate is missing') : start;
  const sentEnd = readSpelledTime(point, ['endDate', 'end'], ctx);
  if (isProblem(sentEnd)) return sentEnd;
  const end = checkOrder(start, sentEnd);
  if (isProblem(end)) return end;

  const value = point.value;
  if (value === undefined || value === null || value === '') return new Problem('missing_field', 'value (the sleep stage) is missing');
  if (typeof value !== 'string') return new Problem('format', `value must be a sleep stage name, got ${JSON.stringify(value)}`);
  const known = sleepStage(value);

  const qty = readOptionalNumber(point, 'qty');
  if (isProblem(qty)) return qty;
  if (qty !== null && qty < 0) return new Problem('range', `qty must not be negative, got ${qty}`);
  const hours = qty === null ? (end.getTime() - start.getTime()) / 3_600_000 : qty * toHours;

  return {
    kind: 'sleep_segment',
    type: 'sleep_analysis',
    start,
    end,
    source: readSource(point.source),
    raw: point,
    stage: known ?? 'Unspecified',
    sentStage: known === null ? value : '',
    hours,
  };
}

const NIGHT_HOURS = ['totalSleep', 'asleep', 'core', 'deep', 'rem', 'awake', 'inBed'] as const;
type NightHours = Record<(typeof NIGHT_HOURS)[number], number | null>;

export function parseSleepNight(
  point: Record<string, unknown>,
  ctx: ParseContext,
  toHours: number,
): Read<SleepNightRecord> {
  // The night's identity is its start: sleepStart, or inBedStart where a build left
  // sleepStart out (its end then is inBedEnd).
  const startField = firstPresent(point, 'sleepStart', 'inBedStart') ?? 'sleepStart';
  const start = readTime(point, startField, ctx);
  if (isProblem(start)) return start;
  const sleepEnd = readTime(point, startField === 'sleepStart' ? 'sleepEnd' : 'inBedEnd', ctx);
  if (isProblem(sleepEnd)) return sleepEnd;
  const end = checkOrder(start.instant, sleepEnd.instant);
  if (isProblem(end)) return end;

  const hours = {} as NightHours;
  for (const field of NIGHT_HOURS) {
    const value = readOptionalNumber(point, field);
    if (isProblem(value)) return value;
    if (value !== null && value < 0) return new Problem('range', `${field} must not be negative, got ${value}`);
    hours[field] = value === null ? null : value * toHours;
  }

  // Some app versions left the in-bed times out.
  const inBedStart = readOptionalTime(point, 'inBedStart', ctx);
  if (isProblem(inBedStart)) return inBedStart;
  const inBedEnd = readOptionalTime(point, 'inBedEnd', ctx);
  if (isProblem(inBedEnd)) return inBedEnd;
  if (inBedStart && inBedEnd && inBedEnd.instant < inBedStart.instant) {
    return new Problem('time', `inBedEnd ${inBedEnd.instant.toISOString()} is before inBedStart ${inBedStart.instant.toISOString()}`);
  }

  return {
    kind: 'sleep_night',
    type: 'sleep_analysis',
    start: start.instant,
    end,
    // Current builds send `source`, older ones `sleepSource`.
    source: readSource(point.source) || readSource(point.sleepSource),
    raw: point,
    // The night belongs to the day the user woke up, in their own offset.
    nightDate: localDate(sleepEnd.instant, sleepEnd.offsetMinutes ?? 0),
    ...hours,
    inBedStart: inBedStart?.instant ?? null,
    inBedEnd: inBedEnd?.instant ?? null,
  };
}

function firstPresent(point: Record<string, unknown>, ...fields: string[]): string | null {
  for (const field of fields) {
    const value = point[field];
    if (value !== undefined && value !== null && value !== '') return field;
  }
  return null;
}
