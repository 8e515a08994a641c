/**
 * The HAE arrays that are neither metrics nor workouts (hae-format.md section
 * 6): state of mind, symptoms, medications, cycle tracking, heart-rate
 * notifications and ECG. Each entry is one sample, stored as sent; what tells
 * two entries at the same time apart (the qualifier) differs per array.
 */
import { canonicalValues } from '../translations/canonical.js';
import type { EcgRecord, EventRecord, EventType, ParseContext, ParsedItem, ValidationCategory } from '../records.js';
import {
  Problem,
  checkOrder,
  isObject,
  isProblem,
  readNumber,
  readOptionalString,
  readOptionalTime,
  readSource,
  readTime,
  type Read,
} from '../sample-fields.js';

interface EventArray {
  /** The key under `data`. */
  key: string;
  type: EventType;
  qualifier(entry: Record<string, unknown>): string;
}

const STATE_OF_MIND: EventArray = {
  key: 'stateOfMind',
  type: 'state_of_mind',
  // The app's own id (a UUID, compared case-insensitively like a workout id).
  qualifier: (entry) => text(entry.id).toUpperCase(),
};
const SYMPTOMS: EventArray = { key: 'symptoms', type: 'symptoms', qualifier: (entry) => text(entry.name) };
const MEDICATIONS: EventArray = { key: 'medications', type: 'medications', qualifier: (entry) => text(entry.displayText) };
const CYCLE_TRACKING: EventArray = { key: 'cycleTracking', type: 'cycle_tracking', qualifier: (entry) => text(entry.name) };
const HEART_RATE_NOTIFICATIONS: EventArray = {
  key: 'heartRateNotifications',
  type: 'heart_rate_notifications',
  // Real entries name their kind (`high_heart_rate_notification`); the documented
  // form has none, only an optional threshold.
  qualifier: (entry) => text(entry.heartNotification) || text(entry.threshold),
};

export function parseHaeStateOfMind(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  return parseEvents(entries, STATE_OF_MIND, ctx, first);
}

export function parseHaeSymptoms(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  return parseEvents(entries, SYMPTOMS, ctx, first);
}

/** A medication's `end` is optional: it then equals its start. */
export function parseHaeMedications(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  return parseEvents(entries, MEDICATIONS, ctx, first);
}

export function parseHaeCycleTracking(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  return parseEvents(entries, CYCLE_TRACKING, ctx, first);
}

/** Dates may be numbers (seconds since 2001-01-01Z); `source` may be an object with a `name`. */
export function parseHaeHeartRateNotifications(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  return parseEvents(entries, HEART_RATE_NOTIFICATIONS, ctx, first);
}

function* parseEvents(entries: unknown, array: EventArray, ctx: ParseContext, first: number): Generator<ParsedItem> {
  for (const item of eachEntry(entries, array.key, array.type, first)) {
    if ('rejected' in item) {
      yield item.rejected;
      continue;
    }
    const { index, entry } = item;
    const times = readTimes(entry, ctx);
    if (isProblem(times)) {
      yield reject(array.type, `${array.key}[${index}].${times.reason}`, times.category, entry);
      continue;
    }
    const record: EventRecord = {
      kind: 'event',
      type: array.type,
      start: times.start,
      end: times.end,
      source: readSource(entry.source),
      raw: entry,
      qualifier: array.qualifier(entry),
      data: entry,
      canonical: canonicalValues(array.type, entry),
    };
    yield { ok: true, record };
  }
}

/**
 * ECG readings: the voltages become a number array; the points' numeric times
 * are kept as sent (their epoch is undocumented, so they are not checked
 * against start and end). Identity is start, end and source.
 */
export function* parseHaeEcg(entries: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  for (const item of eachEntry(entries, 'ecg', 'ecg', first)) {
    if ('rejected' in item) {
      yield item.rejected;
      continue;
    }
    const { index, entry } = item;
    const record = readEcg(entry, ctx);
    if (isProblem(record)) yield reject('ecg', `ecg[${index}].${record.reason}`, record.category, entry);
    else yield { ok: true, record };
  }
}

function readEcg(entry: Record<string, unknown>, ctx: ParseContext): Read<EcgRecord> {
  const times = readTimes(entry, ctx);
  if (isProblem(times)) return times;
  const averageHeartRate = readMeasure(entry, 'averageHeartRate');
  if (isProblem(averageHeartRate)) return averageHeartRate;
  const samplingFrequency = readMeasure(entry, 'samplingFrequency');
  if (isProblem(samplingFrequency)) return samplingFrequency;

  const measurements = entry.voltageMeasurements ?? [];
  if (!Array.isArray(measurements)) {
    return new Problem('format', `voltageMeasurements must be an array, got ${typeof measurements}`);
  }
  const voltages = new Array<number>(measurements.length);
  const voltageTimes = new Array<number | null>(measurements.length);
  let voltageUnit: string | null = null;
  for (let i = 0; i < measurements.length; i++) {
    const point: unknown = measurements[i];
    if (!isObject(point)) return new Problem('format', `voltageMeasurements[${i}] must be an object`);
    const voltage = readNumber(point, 'voltage');
    if (isProblem(voltage)) return new Problem(voltage.category, `voltageMeasurements[${i}].${voltage.reason}`);
    voltages[i] = voltage;
    voltageTimes[i] = typeof point.date === 'number' && Number.isFinite(point.date) ? point.date : null;
    const units = readOptionalString(point, 'units');
    if (units !== null) {
      // One unit per reading: a mix could not be read back from one array.
      if (voltageUnit !== null && units !== voltageUnit) {
        return new Problem('unit', `voltageMeasurements[${i}].units ${JSON.stringify(units)} differs from ${JSON.stringify(voltageUnit)}`);
      }
      voltageUnit = units;
    }
  }

  const data: Record<string, unknown> = {};
  for (const key of Object.keys(entry)) if (key !== 'voltageMeasurements') data[key] = entry[key];
  return {
    kind: 'ecg',
    type: 'ecg',
    start: times.start,
    end: times.end,
    source: readSource(entry.source),
    raw: entry,
    classification: readOptionalString(entry, 'classification'),
    averageHeartRate,
    samplingFrequency,
    voltages,
    voltageTimes,
    voltageUnit,
    data,
    canonical: canonicalValues('ecg', entry),
  };
}

/** A plain number, or a `{qty, units}` object's qty (some builds wrap these); null when absent. */
function readMeasure(entry: Record<string, unknown>, field: string): Read<number | null> {
  const value = entry[field];
  if (value === undefined || value === null) return null;
  if (isObject(value)) {
    const qty = readNumber(value, 'qty');
    return isProblem(qty) ? new Problem(qty.category, `${field}.${qty.reason}`) : qty;
  }
  return readNumber(entry, field);
}

/** Start is required; a missing end equals the start. */
function readTimes(entry: Record<string, unknown>, ctx: ParseContext): Read<{ start: Date; end: Date }> {
  const start = readTime(entry, 'start', ctx);
  if (isProblem(start)) return start;
  const end = readOptionalTime(entry, 'end', ctx);
  if (isProblem(end)) return end;
  const ordered = checkOrder(start.instant, end?.instant ?? null);
  return isProblem(ordered) ? ordered : { start: start.instant, end: ordered };
}

type Entry = { index: number; entry: Record<string, unknown> } | { rejected: ParsedItem };

/**
 * Each entry of `data[key]` that is an object, or a rejection naming it; a non-array is one rejection.
 * `first`: the index of `entries[0]` in the upload, when this is a slice of it.
 */
function* eachEntry(entries: unknown, key: string, type: string, first: number): Generator<Entry> {
  if (entries === undefined || entries === null) return;
  if (!Array.isArray(entries)) {
    yield { rejected: reject(type, `data.${key} must be an array, got ${describe(entries)}`, 'format', entries) };
    return;
  }
  for (let index = first; index < first + entries.length; index++) {
    const entry: unknown = entries[index - first];
    if (isObject(entry)) yield { index, entry };
    else yield { rejected: reject(type, `${key}[${index}] must be an object, got ${describe(entry)}`, 'format', entry) };
  }
}

function reject(type: string, reason: string, category: ValidationCategory, sample: unknown): ParsedItem {
  return { ok: false, rejection: { type, reason, category, sample } };
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** A qualifier as text: strings as sent, numbers and booleans spelled out, anything else ''. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}
