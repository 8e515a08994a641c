/**
 * The normalised records every input format is turned into. The storage layer
 * only ever sees these; parsers only ever produce these.
 *
 * `type` is the name counted in `by_type` (a metric's canonical name, or
 * `workouts`, `state_of_mind`, `symptoms`, `medications`, `cycle_tracking`,
 * `ecg`, `heart_rate_notifications`). `source` is '' when none was sent and
 * `end` equals `start` when none was sent, so identity keys never hold NULLs.
 * `raw` is the sample exactly as it arrived, kept for rejections.
 */

/**
 * Why a sample was not stored: a validation check (range, missing_field, format,
 * unit, time), or `erased`: a reprocess met a sample its owner erased after the
 * upload was received.
 */
export type ValidationCategory = 'range' | 'missing_field' | 'format' | 'unit' | 'time' | 'erased';

export interface Rejection {
  type: string;
  reason: string;
  category: ValidationCategory;
  sample: unknown;
}

interface BaseRecord {
  type: string;
  start: Date;
  end: Date;
  source: string;
  raw: unknown;
}

export interface QuantityRecord extends BaseRecord {
  kind: 'quantity';
  /** Tells same-time records of one metric apart: insulin `reason`, ... ('' when none). */
  qualifier: string;
  /** Value in the metric's canonical unit. */
  value: number;
  unit: string;
  sentValue: number;
  sentUnit: string;
  /** Fields that are neither identity nor value (glucose `mealTime`, handwashing `value`, ...). */
  extra: Record<string, unknown> | null;
}

export interface HeartRateRecord extends BaseRecord {
  kind: 'heart_rate';
  min: number;
  avg: number;
  max: number;
  context: string | null;
}

export interface BloodPressureRecord extends BaseRecord {
  kind: 'blood_pressure';
  systolic: number;
  diastolic: number;
  pulse: number | null;
}

/**
 * Kinds whose table holds one type, and that type: their rows have no type
 * column, so a record of such a kind with another type could not be stored as sent.
 */
export const SINGLE_TYPE_KINDS = {
  heart_rate: 'heart_rate',
  blood_pressure: 'blood_pressure',
  sleep_segment: 'sleep_analysis',
  sleep_night: 'sleep_analysis',
} as const;

/** `In Bed` and `InBed` are one stage, stored as `InBed`. */
export type SleepStage = 'Awake' | 'Asleep' | 'Core' | 'REM' | 'Deep' | 'Unspecified' | 'InBed';

export interface SleepSegmentRecord extends BaseRecord {
  kind: 'sleep_segment';
  /** A stage this server does not know (a third-party app's) is `Unspecified`... */
  stage: SleepStage;
  /** ...and its name as sent is kept here, part of the identity; '' for the stages it knows. */
  sentStage: string;
  hours: number;
}

/**
 * A summarised night; start/end are sleepStart/sleepEnd (inBedStart/inBedEnd where
 * those are absent). Identity is (source, start): two naps on one day stay two, and a
 * night re-sent while it grows (same start, later end) replaces itself.
 */
export interface SleepNightRecord extends BaseRecord {
  kind: 'sleep_night';
  /** Local date (YYYY-MM-DD, in sleepEnd's own offset) of the night's end. */
  nightDate: string;
  totalSleep: number | null;
  asleep: number | null;
  core: number | null;
  deep: number | null;
  rem: number | null;
  awake: number | null;
  inBed: number | null;
  inBedStart: Date | null;
  inBedEnd: Date | null;
}

export interface RoutePoint {
  time: Date;
  lat: number;
  lon: number;
  altitude: number | null;
  speed: number | null;
  course: number | null;
  horizontalAccuracy: number | null;
  verticalAccuracy: number | null;
}

/** One point of a workout series (heartRateData, heartRateRecovery, stepCount, ...). */
export interface SeriesPoint {
  series: string;
  time: Date;
  qty: number | null;
  min: number | null;
  avg: number | null;
  max: number | null;
  unit: string | null;
  source: string;
}

export interface WorkoutRecord extends BaseRecord {
  kind: 'workout';
  /** v2: the app's id (upper-cased); v1: derived from name + start. */
  workoutKey: string;
  name: string;
  durationS: number | null;
  distanceM: number | null;
  activeEnergyKcal: number | null;
  totalEnergyKcal: number | null;
  location: string | null;
  isIndoor: boolean | null;
  minHeartRate: number | null;
  avgHeartRate: number | null;
  maxHeartRate: number | null;
  /** The workout object as sent, without `route` and the series arrays (stored apart). */
  original: Record<string, unknown>;
  route: RoutePoint[];
  series: SeriesPoint[];
  /**
   * Set on a workout from Apple Health's export, which carries no id: the names (as
   * spelling keys: lower case, letters and digits only) the app gives the same
   * activity. A workout stored from the app under one of them, starting and ending
   * within a second of this one, is this workout: it is written onto that one.
   */
  appNames?: string[];
}

/** The types kept in the one event table (health_events), by their by_type names. */
export const EVENT_TYPES = ['state_of_mind', 'symptoms', 'medications', 'cycle_tracking', 'heart_rate_notifications'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Language-independent forms of the values sent in the phone's language, by field (`{status: 'taken'}`). */
export type CanonicalValues = Record<string, string>;

export interface EventRecord extends BaseRecord {
  kind: 'event';
  type: EventType;
  qualifier: string;
  /** The record as sent. */
  data: Record<string, unknown>;
  /** What the translation table recognised in `data`; null when nothing. */
  canonical: CanonicalValues | null;
}

export interface EcgRecord extends BaseRecord {
  kind: 'ecg';
  classification: string | null;
  averageHeartRate: number | null;
  samplingFrequency: number | null;
  voltages: number[];
  /** The voltage points' numeric times, stored as sent (their epoch is undocumented). */
  voltageTimes: (number | null)[];
  voltageUnit: string | null;
  /** The record as sent, without `voltageMeasurements`. */
  data: Record<string, unknown>;
  /** The classification's language-independent form when recognised (`{classification: 'sinus_rhythm'}`). */
  canonical: CanonicalValues | null;
}

export type HealthRecord =
  | QuantityRecord
  | HeartRateRecord
  | BloodPressureRecord
  | SleepSegmentRecord
  | SleepNightRecord
  | WorkoutRecord
  | EventRecord
  | EcgRecord;

/** What a parser yields, one per sample received. */
export type ParsedItem = { ok: true; record: HealthRecord } | { ok: false; rejection: Rejection };

export interface Range {
  min: number;
  max: number;
}

/** Plausibility limits, from configuration (see src/config). */
import type { MetricBound } from './metric-bounds.js';

export interface ValidationLimits {
  heartRate: Range;
  systolic: Range;
  diastolic: Range;
  pulse: Range;
  /** Each known metric's highest plausible value (metric-bounds.ts, VALIDATION_METRIC_MAX). */
  metricBounds: ReadonlyMap<string, MetricBound>;
  minDate: Date;
  maxFutureHours: number;
}

export interface ParseContext {
  limits: ValidationLimits;
  now: Date;
}
