/**
 * The `metrics` array of a Health Auto Export payload (hae-format.md section 4).
 *
 * Yields exactly one ParsedItem per point, in order, so that received =
 * stored + rejected. Payloads reach 500,000 points: the per-point path uses
 * plain field readers, and everything that depends only on the metric entry
 * (name, rule, unit conversion) is worked out once per entry.
 *
 * Entries: an entry without `data` has no points and yields nothing; an entry
 * that is not an object, or whose `data` is not an array, yields one rejection
 * (something arrived that cannot be stored); the points of an entry without a
 * name are each rejected rather than stored under a made-up name.
 */
import { canonicalMetricName, metricRule, type MetricRule } from '../metric-names.js';
import { checkBloodPressure, checkHeartRate, checkQuantity } from '../plausibility.js';
import type {
  BloodPressureRecord,
  HealthRecord,
  HeartRateRecord,
  ParseContext,
  ParsedItem,
  QuantityRecord,
} from '../records.js';
import {
  Problem,
  checkOrder,
  isObject,
  isProblem,
  readNonNegative,
  readNumber,
  readOptionalNumber,
  readOptionalString,
  readSource,
  readSpelledTime,
  type Read,
} from '../sample-fields.js';
import { canonicalConversion, convertUnit, type UnitConversion } from '../units.js';
import { parseSleepPoint } from './sleep.js';

interface MetricEntry {
  /** Canonical name: the records' `type`. */
  type: string;
  /** The name as sent, to say where a rejected point was. */
  label: string;
  /** The unit as sent ('' when none). */
  units: string;
  rule: MetricRule;
  conversion: UnitConversion;
  /** Factor from the entry's unit to hours, for sleep. */
  toHours: number;
  parsePoint: PointParser;
}

type PointParser = (point: Record<string, unknown>, entry: MetricEntry, ctx: ParseContext) => Read<HealthRecord>;

/** `first`: the index of `metrics[0]` in the upload, when this is a slice of it. */
export function* parseHaeMetrics(metrics: unknown, ctx: ParseContext, first = 0): Generator<ParsedItem> {
  if (metrics === undefined || metrics === null) return;
  if (!Array.isArray(metrics)) {
    yield rejection('unknown', `metrics must be an array, got ${describe(metrics)}`, 'format', metrics);
    return;
  }
  for (let e = 0; e < metrics.length; e++) {
    const raw: unknown = metrics[e];
    if (!isObject(raw)) {
      yield rejection('unknown', `metrics[${first + e}] must be an object, got ${describe(raw)}`, 'format', raw);
      continue;
    }
    const data = raw.data;
    if (data === undefined || data === null) continue;
    if (!Array.isArray(data)) {
      const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : null;
      yield rejection(name === null ? 'unknown' : canonicalMetricName(name), `${name ?? `metrics[${first + e}]`}: data must be an array, got ${describe(data)}`, 'format', raw);
      continue;
    }
    yield* parseHaeMetricPoints(raw, first + e, data, 0, ctx);
  }
}

/**
 * Points of one metric entry: `metric` is the entry (its `data` is not read: a
 * large entry's points come a slice at a time), `index` its place in `metrics`,
 * `points` the points from `first` on.
 */
export function* parseHaeMetricPoints(
  metric: Record<string, unknown>,
  index: number,
  points: unknown[],
  first: number,
  ctx: ParseContext,
): Generator<ParsedItem> {
  const name = typeof metric.name === 'string' && metric.name !== '' ? metric.name : null;
  if (name === null) {
    for (let i = 0; i < points.length; i++) {
      yield rejection('unknown', `metrics[${index}][${first + i}]: the metric has no name`, 'missing_field', points[i]);
    }
    return;
  }
  const entry = metricEntry(name, canonicalMetricName(name), typeof metric.units === 'string' ? metric.units : '');
  for (let i = 0; i < points.length; i++) {
    yield parsePoint(points[i], first + i, entry, ctx);
  }
}

/**
 * One metric's points read one at a time, by the rules the metrics array uses
 * (name, unit conversion, plausibility): for formats that carry single samples,
 * such as Apple Health's export.xml. Everything per metric is worked out once here.
 */
export function metricPointParser(name: string, units: string): (point: Record<string, unknown>, ctx: ParseContext) => Read<HealthRecord> {
  const entry = metricEntry(name, canonicalMetricName(name), units);
  return (point, ctx) => entry.parsePoint(point, entry, ctx);
}

function metricEntry(label: string, type: string, units: string): MetricEntry {
  return {
    type,
    label,
    units,
    rule: metricRule(type),
    conversion: canonicalConversion(units, type),
    // The app documents sleep in hours; an unknown unit is taken at its word as hours.
    toHours: type === 'sleep_analysis' ? (convertUnit(1, units, 'hr') ?? 1) : 1,
    parsePoint: POINT_PARSERS.get(type) ?? parseQuantity,
  };
}

function parsePoint(point: unknown, index: number, entry: MetricEntry, ctx: ParseContext): ParsedItem {
  const record = isObject(point)
    ? entry.parsePoint(point, entry, ctx)
    : new Problem('format', `point must be an object, got ${describe(point)}`);
  if (isProblem(record)) {
    return rejection(entry.type, `${entry.label}[${index}]: ${record.reason}`, record.category, point);
  }
  return { ok: true, record };
}

function parseQuantity(point: Record<string, unknown>, entry: MetricEntry, ctx: ParseContext): Read<QuantityRecord> {
  const time = readInterval(point, ctx);
  if (isProblem(time)) return time;
  const sent = entry.rule.range === 'non_negative' ? readNonNegative(point, 'qty') : readNumber(point, 'qty');
  if (isProblem(sent)) return sent;
  const value = sent * entry.conversion.factor + entry.conversion.offset;
  const problem = checkQuantity(
    { metric: entry.type, value, unit: entry.conversion.unit, start: time.start, end: time.end },
    ctx,
    entry.rule.range === 'heart_rate' ? 'heart rate qty' : 'qty',
  );
  if (problem) return problem;
  return {
    kind: 'quantity',
    type: entry.type,
    start: time.start,
    end: time.end,
    source: readSource(point.source),
    raw: point,
    qualifier: entry.rule.qualifier === null ? '' : (readOptionalString(point, entry.rule.qualifier) ?? ''),
    value,
    unit: entry.conversion.unit,
    sentValue: sent,
    sentUnit: entry.units,
    extra: readExtra(point, entry.rule.extras),
  };
}

function parseHeartRate(point: Record<string, unknown>, entry: MetricEntry, ctx: ParseContext): Read<HeartRateRecord> {
  const time = readInterval(point, ctx);
  if (isProblem(time)) return time;
  // A plain quantity point is one reading: Min = Avg = Max.
  const plain = point.Min === undefined && point.Avg === undefined && point.Max === undefined && point.qty !== undefined;
  const min = readConverted(point, plain ? 'qty' : 'Min', entry);
  if (isProblem(min)) return min;
  const avg = plain ? min : readConverted(point, 'Avg', entry);
  if (isProblem(avg)) return avg;
  const max = plain ? min : readConverted(point, 'Max', entry);
  if (isProblem(max)) return max;
  const problem = checkHeartRate(min, avg, max, ctx);
  if (problem) return problem;
  return {
    kind: 'heart_rate',
    type: entry.type,
    start: time.start,
    end: time.end,
    source: readSource(point.source),
    raw: point,
    min,
    avg,
    max,
    context: readOptionalString(point, 'context'),
  };
}

function parseBloodPressure(
  point: Record<string, unknown>,
  entry: MetricEntry,
  ctx: ParseContext,
): Read<BloodPressureRecord> {
  const time = readInterval(point, ctx);
  if (isProblem(time)) return time;
  const systolic = readConverted(point, 'systolic', entry);
  if (isProblem(systolic)) return systolic;
  const diastolic = readConverted(point, 'diastolic', entry);
  if (isProblem(diastolic)) return diastolic;
  const pulse = readOptionalNumber(point, 'pulse');
  if (isProblem(pulse)) return pulse;
  const problem = checkBloodPressure(systolic, diastolic, pulse, ctx);
  if (problem) return problem;
  return {
    kind: 'blood_pressure',
    type: entry.type,
    start: time.start,
    end: time.end,
    source: readSource(point.source),
    raw: point,
    systolic,
    diastolic,
    pulse,
  };
}

/** A number field in the entry's canonical unit (bpm for heart rate, mmHg for blood pressure when sent so). */
function readConverted(point: Record<string, unknown>, field: string, entry: MetricEntry): Read<number> {
  const sent = readNumber(point, field);
  return isProblem(sent) ? sent : sent * entry.conversion.factor + entry.conversion.offset;
}

const SEXUAL_ACTIVITY_COUNTS = ['Unspecified', 'Protection Used', 'Protection Not Used'];

/** One sample per point: the total is the value, the three counts stay in `extra`. */
function parseSexualActivity(
  point: Record<string, unknown>,
  entry: MetricEntry,
  ctx: ParseContext,
): Read<QuantityRecord> {
  let total = 0;
  let counts: Record<string, number> | null = null;
  for (const field of SEXUAL_ACTIVITY_COUNTS) {
    const count = readOptionalNumber(point, field);
    if (isProblem(count)) return count;
    if (count === null) continue;
    if (count < 0) return new Problem('range', `${field} must not be negative, got ${count}`);
    total += count;
    (counts ??= {})[field] = count;
  }
  if (counts === null) return parseQuantity(point, entry, ctx);
  const time = readInterval(point, ctx);
  if (isProblem(time)) return time;
  const problem = checkQuantity({ metric: entry.type, value: total, unit: 'count', start: time.start, end: time.end }, ctx, 'total');
  if (problem) return problem;
  return {
    kind: 'quantity',
    type: entry.type,
    start: time.start,
    end: time.end,
    source: readSource(point.source),
    raw: point,
    qualifier: '',
    value: total,
    unit: 'count',
    sentValue: total,
    sentUnit: entry.units || 'count',
    extra: counts,
  };
}

const POINT_PARSERS = new Map<string, PointParser>([
  ['heart_rate', parseHeartRate],
  ['blood_pressure', parseBloodPressure],
  ['sleep_analysis', (point, entry, ctx) => parseSleepPoint(point, ctx, entry.toHours)],
  ['sexual_activity', parseSexualActivity],
]);

/**
 * `start`/`end` (or `startDate`/`endDate`) when a newer build sent them, else the instant
 * `date`; a missing end is the start.
 */
const START_NAMES = ['start', 'startDate'];
const END_NAMES = ['end', 'endDate'];

function readInterval(point: Record<string, unknown>, ctx: ParseContext): Read<{ start: Date; end: Date }> {
  const start = readSpelledTime(point, START_NAMES, ctx, 'date');
  if (isProblem(start)) return start;
  const sentEnd = readSpelledTime(point, END_NAMES, ctx);
  if (isProblem(sentEnd)) return sentEnd;
  const end = checkOrder(start, sentEnd);
  return isProblem(end) ? end : { start, end };
}

function readExtra(point: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> | null {
  let extra: Record<string, unknown> | null = null;
  for (const field of fields) {
    if (point[field] !== undefined) (extra ??= {})[field] = point[field];
  }
  return extra;
}

function rejection(type: string, reason: string, category: Problem['category'], sample: unknown): ParsedItem {
  return { ok: false, rejection: { type, reason, category, sample } };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
