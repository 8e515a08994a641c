/**
 * The standard format (schema.ts) in and out. Each sample is validated on its
 * own: a bad one is one rejection naming its index, field and problem, and
 * the others are kept. A valid sample then passes the same plausibility checks
 * and unit normalisation as a Health Auto Export sample, so the same data gives
 * the same records whichever way it arrives. `toStandardSample` is the inverse
 * used by exports: parsing exported samples gives back the records exported.
 */
import type { z } from 'zod';
import { isoOffsetMinutes } from '../dates.js';
import { canonicalMetricName } from '../metric-names.js';
import { checkBloodPressure, checkHeartRate, checkNonNegative, checkQuantity, checkWorkout } from '../plausibility.js';
import type {
  EcgRecord,
  EventRecord,
  EventType,
  HealthRecord,
  ParseContext,
  ParsedItem,
  RoutePoint,
  SeriesPoint,
  SleepStage,
  ValidationCategory,
  WorkoutRecord,
} from '../records.js';
import { SINGLE_TYPE_KINDS } from '../records.js';
import { Problem, checkOrder, checkTimeWindow, isObject, isProblem, type Read } from '../sample-fields.js';
import { canonicalValues } from '../translations/canonical.js';
import { normaliseUnit } from '../units.js';
import {
  EVENT_TYPES,
  NON_METRIC_TYPES,
  SLEEP_STAGES,
  StandardSampleSchema,
  type EcgSample,
  type StandardSample,
  type WorkoutSample,
} from './schema.js';

// The schema's lists and the record types must name the same values.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _stagesMatch: Same<(typeof SLEEP_STAGES)[number], SleepStage> = true;
const _eventTypesMatch: Same<(typeof EVENT_TYPES)[number], EventType> = true;

/** Names reserved for the non-metric kinds; a metric sample may not use them. */

/** An object with a `samples` array. */
/** Every sample, stored or rejected. Throws a TypeError when `body` is not a standard payload (an object with a `samples` array). */
export function* parseStandard(body: unknown, ctx: ParseContext): Generator<ParsedItem> {
  if (!isObject(body) || !Array.isArray(body.samples)) {
    throw new TypeError('not a standard-format payload: expected an object with a "samples" array');
  }
  yield* parseStandardSamples(body.samples, ctx);
}

/** `first`: the index of `samples[0]` in the upload, when this is a slice of it. */
export function* parseStandardSamples(samples: unknown[], ctx: ParseContext, first = 0): Generator<ParsedItem> {
  for (let i = 0; i < samples.length; i++) {
    const sent = samples[i];
    const at = first + i;
    const parsed = StandardSampleSchema.safeParse(sent);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
      yield reject(sentType(sent), `samples[${at}]${formatPath(issue.path)}: ${formatMessage(issue)}${more}`, issueCategory(issue, sent), sent);
      continue;
    }
    const record = toRecord(parsed.data, sent, ctx);
    if (isProblem(record)) yield reject(recordType(parsed.data), `samples[${at}]: ${record.reason}`, record.category, sent);
    else yield { ok: true, record };
  }
}

function reject(type: string, reason: string, category: ValidationCategory, sample: unknown): ParsedItem {
  return { ok: false, rejection: { type, reason, category, sample } };
}

function recordType(sample: StandardSample): string {
  return sample.kind === 'workout' || sample.kind === 'event' || sample.kind === 'ecg' ? sample.type : canonicalMetricName(sample.type);
}

function sentType(sample: unknown): string {
  return isObject(sample) && typeof sample.type === 'string' && sample.type !== '' ? canonicalMetricName(sample.type) : 'unknown';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
}

function formatMessage(issue: z.core.$ZodIssue): string {
  return issue.message.replace(/^Invalid input: /, '');
}

function issueCategory(issue: z.core.$ZodIssue, sample: unknown): ValidationCategory {
  if (issue.code === 'invalid_type' && valueAt(sample, issue.path) === undefined) return 'missing_field';
  if (issue.code === 'invalid_format' && (issue.format === 'datetime' || issue.format === 'date')) return 'time';
  return 'format';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function toRecord(sample: StandardSample, sent: unknown, ctx: ParseContext): Read<HealthRecord> {
  const start = readInstant(sample.start, 'start', ctx);
  if (isProblem(start)) return start;
  const sentEnd = sample.end === undefined ? null : readInstant(sample.end, 'end', ctx);
  if (isProblem(sentEnd)) return sentEnd;
  const end = checkOrder(start, sentEnd);
  if (isProblem(end)) return end;
  const base = { start, end, source: sample.source ?? '', raw: sent };

  switch (sample.kind) {
    case 'workout':
      return toWorkout(sample, base, sent, ctx);
    case 'event': {
      const record: EventRecord = {
        kind: 'event',
        type: sample.type,
        ...base,
        qualifier: sample.qualifier ?? '',
        data: sample.data,
        canonical: canonicalValues(sample.type, sample.data),
      };
      return record;
    }
    case 'ecg':
      return toEcg(sample, base);
    default:
      break;
  }

  const type = canonicalMetricName(sample.type);
  if (NON_METRIC_TYPES.has(type)) {
    return new Problem('format', `type ${type} is not a metric: a ${sample.kind} sample needs a metric name`);
  }
  if (sample.kind !== 'quantity' && type !== SINGLE_TYPE_KINDS[sample.kind]) {
    return new Problem(
      'format',
      `kind ${sample.kind} holds type ${SINGLE_TYPE_KINDS[sample.kind]} only, not ${type}${sample.kind === 'heart_rate' || sample.kind === 'blood_pressure' ? `: send ${type} as kind quantity` : ''}`,
    );
  }
  switch (sample.kind) {
    case 'quantity': {
      if ((sample.sent_value === undefined) !== (sample.sent_unit === undefined)) {
        return new Problem('missing_field', 'sent_value and sent_unit must be given together');
      }
      const { value, unit } = normaliseUnit(sample.value, sample.unit, type);
      const problem = checkQuantity({ metric: type, value, unit, start: base.start, end: base.end }, ctx);
      if (problem) return problem;
      return {
        kind: 'quantity',
        type,
        ...base,
        qualifier: sample.qualifier ?? '',
        value,
        unit,
        sentValue: sample.sent_value ?? sample.value,
        sentUnit: sample.sent_unit ?? sample.unit,
        extra: sample.extra ?? null,
      };
    }
    case 'heart_rate':
      return (
        checkHeartRate(sample.min, sample.avg, sample.max, ctx) ?? {
          kind: 'heart_rate',
          type,
          ...base,
          min: sample.min,
          avg: sample.avg,
          max: sample.max,
          context: sample.context ?? null,
        }
      );
    case 'blood_pressure': {
      const pulse = sample.pulse ?? null;
      return (
        checkBloodPressure(sample.systolic, sample.diastolic, pulse, ctx) ?? {
          kind: 'blood_pressure',
          type,
          ...base,
          systolic: sample.systolic,
          diastolic: sample.diastolic,
          pulse,
        }
      );
    }
    case 'sleep_segment': {
      const sentStage = sample.sent_stage ?? '';
      if (sentStage !== '' && sample.stage !== 'Unspecified') {
        return new Problem('format', `sent_stage ${JSON.stringify(sentStage)} names a stage this server does not know: stage must then be Unspecified, got ${sample.stage}`);
      }
      return checkNonNegative(sample.hours, 'hours') ?? { kind: 'sleep_segment', type, ...base, stage: sample.stage, sentStage, hours: sample.hours };
    }
    case 'sleep_night': {
      const hours = {
        totalSleep: sample.total_sleep ?? null,
        asleep: sample.asleep ?? null,
        core: sample.core ?? null,
        deep: sample.deep ?? null,
        rem: sample.rem ?? null,
        awake: sample.awake ?? null,
        inBed: sample.in_bed ?? null,
      };
      for (const [field, value] of Object.entries(hours)) {
        const problem = checkNonNegative(value, field);
        if (problem) return problem;
      }
      const inBedStart = readOptionalInstant(sample.in_bed_start, 'in_bed_start', ctx);
      if (isProblem(inBedStart)) return inBedStart;
      const inBedEnd = readOptionalInstant(sample.in_bed_end, 'in_bed_end', ctx);
      if (isProblem(inBedEnd)) return inBedEnd;
      if (inBedStart && inBedEnd && inBedEnd < inBedStart) {
        return new Problem('time', `in_bed_end ${inBedEnd.toISOString()} is before in_bed_start ${inBedStart.toISOString()}`);
      }
      return { kind: 'sleep_night', type, ...base, nightDate: sample.night_date, ...hours, inBedStart, inBedEnd };
    }
  }
}

interface Base {
  start: Date;
  end: Date;
  source: string;
  raw: unknown;
}

function toWorkout(sample: WorkoutSample, base: Base, sent: unknown, ctx: ParseContext): Read<WorkoutRecord> {
  const route: RoutePoint[] = [];
  const sentRoute = sample.route ?? [];
  for (let i = 0; i < sentRoute.length; i++) {
    const point = sentRoute[i]!;
    const time = readInstant(point.time, `route[${i}].time`, ctx);
    if (isProblem(time)) return time;
    route.push({
      time,
      lat: point.lat,
      lon: point.lon,
      altitude: point.altitude ?? null,
      speed: point.speed ?? null,
      course: point.course ?? null,
      horizontalAccuracy: point.horizontal_accuracy ?? null,
      verticalAccuracy: point.vertical_accuracy ?? null,
    });
  }
  const series: SeriesPoint[] = [];
  const sentSeries = sample.series ?? [];
  for (let i = 0; i < sentSeries.length; i++) {
    const point = sentSeries[i]!;
    const time = readInstant(point.time, `series[${i}].time`, ctx);
    if (isProblem(time)) return time;
    series.push({
      series: point.series,
      time,
      qty: point.qty ?? null,
      min: point.min ?? null,
      avg: point.avg ?? null,
      max: point.max ?? null,
      unit: point.unit ?? null,
      source: point.source ?? '',
    });
  }
  const record: WorkoutRecord = {
    kind: 'workout',
    type: 'workouts',
    ...base,
    workoutKey: sample.workout_key,
    name: sample.name,
    durationS: sample.duration_s ?? null,
    distanceM: sample.distance_m ?? null,
    activeEnergyKcal: sample.active_energy_kcal ?? null,
    totalEnergyKcal: sample.total_energy_kcal ?? null,
    location: sample.location ?? null,
    isIndoor: sample.is_indoor ?? null,
    minHeartRate: sample.min_heart_rate ?? null,
    avgHeartRate: sample.avg_heart_rate ?? null,
    maxHeartRate: sample.max_heart_rate ?? null,
    // Without an original (a workout first sent in this format), the sample itself is the original.
    original: sample.original ?? withoutRouteAndSeries(sent),
    route,
    series,
  };
  return checkWorkout(record, ctx) ?? record;
}

function withoutRouteAndSeries(sent: unknown): Record<string, unknown> {
  const original: Record<string, unknown> = {};
  if (!isObject(sent)) return original;
  for (const key of Object.keys(sent)) if (key !== 'route' && key !== 'series') original[key] = sent[key];
  return original;
}

function toEcg(sample: EcgSample, base: Base): Read<EcgRecord> {
  const voltageTimes = sample.voltage_times ?? new Array<number | null>(sample.voltages.length).fill(null);
  if (voltageTimes.length !== sample.voltages.length) {
    return new Problem(
      'format',
      `voltage_times has ${voltageTimes.length} entries for ${sample.voltages.length} voltages: they must pair up`,
    );
  }
  return {
    kind: 'ecg',
    type: 'ecg',
    ...base,
    classification: sample.classification ?? null,
    averageHeartRate: sample.average_heart_rate ?? null,
    samplingFrequency: sample.sampling_frequency ?? null,
    voltages: sample.voltages,
    voltageTimes,
    voltageUnit: sample.voltage_unit ?? null,
    data: sample.data ?? {},
    canonical: canonicalValues('ecg', { classification: sample.classification }),
  };
}

/** A schema-checked ISO 8601 time, inside the configured window. */
function readInstant(text: string, field: string, ctx: ParseContext): Read<Date> {
  const instant = new Date(text);
  if (Number.isNaN(instant.getTime())) return new Problem('format', `${field} ${JSON.stringify(text)} is not a date`);
  const checked = checkTimeWindow({ instant, offsetMinutes: isoOffsetMinutes(text), dateOnly: false }, field, ctx);
  return isProblem(checked) ? checked : instant;
}

function readOptionalInstant(text: string | null | undefined, field: string, ctx: ParseContext): Read<Date | null> {
  return text === undefined || text === null ? null : readInstant(text, field, ctx);
}

/** A stored record as a standard-format sample: the inverse of parseStandard, used by exports. */
export function toStandardSample(record: HealthRecord): StandardSample {
  const timed = { start: record.start.toISOString(), end: record.end.toISOString(), source: record.source };
  switch (record.kind) {
    case 'quantity':
      return {
        kind: 'quantity',
        type: record.type,
        ...timed,
        ...(record.qualifier === '' ? {} : { qualifier: record.qualifier }),
        value: record.value,
        unit: record.unit,
        ...(record.sentValue === record.value && record.sentUnit === record.unit
          ? {}
          : { sent_value: record.sentValue, sent_unit: record.sentUnit }),
        ...(record.extra === null ? {} : { extra: record.extra }),
      };
    case 'heart_rate':
      return { kind: 'heart_rate', type: record.type, ...timed, min: record.min, avg: record.avg, max: record.max, context: record.context };
    case 'blood_pressure':
      return {
        kind: 'blood_pressure',
        type: record.type,
        ...timed,
        systolic: record.systolic,
        diastolic: record.diastolic,
        pulse: record.pulse,
      };
    case 'sleep_segment':
      return {
        kind: 'sleep_segment',
        type: record.type,
        ...timed,
        stage: record.stage,
        ...(record.sentStage === '' ? {} : { sent_stage: record.sentStage }),
        hours: record.hours,
      };
    case 'sleep_night':
      return {
        kind: 'sleep_night',
        type: record.type,
        ...timed,
        night_date: record.nightDate,
        total_sleep: record.totalSleep,
        asleep: record.asleep,
        core: record.core,
        deep: record.deep,
        rem: record.rem,
        awake: record.awake,
        in_bed: record.inBed,
        in_bed_start: record.inBedStart?.toISOString() ?? null,
        in_bed_end: record.inBedEnd?.toISOString() ?? null,
      };
    case 'workout':
      return toWorkoutSample(record, timed);
    case 'event':
      return { kind: 'event', type: record.type, ...timed, qualifier: record.qualifier, data: record.data };
    case 'ecg':
      return {
        kind: 'ecg',
        type: 'ecg',
        ...timed,
        classification: record.classification,
        average_heart_rate: record.averageHeartRate,
        sampling_frequency: record.samplingFrequency,
        voltages: record.voltages,
        voltage_times: record.voltageTimes,
        voltage_unit: record.voltageUnit,
        data: record.data,
      };
  }
}

function toWorkoutSample(record: WorkoutRecord, timed: { start: string; end: string; source: string }): WorkoutSample {
  return {
    kind: 'workout',
    type: 'workouts',
    ...timed,
    workout_key: record.workoutKey,
    name: record.name,
    duration_s: record.durationS,
    distance_m: record.distanceM,
    active_energy_kcal: record.activeEnergyKcal,
    total_energy_kcal: record.totalEnergyKcal,
    location: record.location,
    is_indoor: record.isIndoor,
    min_heart_rate: record.minHeartRate,
    avg_heart_rate: record.avgHeartRate,
    max_heart_rate: record.maxHeartRate,
    original: record.original,
    route: record.route.map((point) => ({
      time: point.time.toISOString(),
      lat: point.lat,
      lon: point.lon,
      altitude: point.altitude,
      speed: point.speed,
      course: point.course,
      horizontal_accuracy: point.horizontalAccuracy,
      vertical_accuracy: point.verticalAccuracy,
    })),
    series: record.series.map((point) => ({
      series: point.series,
      time: point.time.toISOString(),
      qty: point.qty,
      min: point.min,
      avg: point.avg,
      max: point.max,
      unit: point.unit,
      source: point.source,
    })),
  };
}
