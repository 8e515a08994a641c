/**
 * The standard format: this server's own JSON shape for health samples. It is
 * what `GET /api/v1/export?format=json` writes and what `POST /api/v1/ingest`
 * accepts besides Health Auto Export payloads, so an export can be imported
 * again with identical results. Declared once here, for validation, the
 * TypeScript types and the OpenAPI document.
 *
 *   {"samples": [{"kind": "quantity", "type": "step_count", "start": "...", "value": 42, "unit": "count"}, ...]}
 *
 * Field names are snake_case; times are ISO 8601 with an offset (or Z); a
 * missing `end` equals `start`, a missing `source` is ''. `kind` selects the
 * shape; `type` is the name counted in `by_type` (a metric's name, or
 * `workouts`, `ecg`, `state_of_mind`, `symptoms`, `medications`,
 * `cycle_tracking`, `heart_rate_notifications`). Unknown fields are ignored.
 */
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time with an offset or Z');
const optionalNumber = z.number().nullable().optional();
const jsonObject = z.record(z.string(), z.unknown());

const timed = {
  start: instant,
  end: instant.optional().describe('Defaults to start'),
  source: z.string().optional().describe('The device or app that recorded the sample, exactly as sent; defaults to ""'),
};
const metricType = z.string().min(1).describe('The metric name, e.g. step_count (aliases such as vo2max are accepted)');
/** The type of a kind whose table holds one (SINGLE_TYPE_KINDS): any other is rejected, naming the kind to use. */
const singleType = (type: string) => z.string().min(1).describe(`${type}: the only type this kind holds`);

export const QuantitySampleSchema = z.object({
  kind: z.literal('quantity'),
  type: metricType,
  ...timed,
  qualifier: z
    .string()
    .optional()
    .describe('Tells same-time samples of one metric apart (insulin reason, ...); defaults to ""'),
  value: z.number(),
  unit: z.string().describe('Converted to the metric\'s canonical unit on ingest'),
  sent_value: z.number().optional().describe('The value as the phone first sent it; defaults to value'),
  sent_unit: z.string().optional().describe('The unit the phone first sent; defaults to unit'),
  extra: jsonObject.nullable().optional().describe('Fields that are neither identity nor value (glucose mealTime, ...)'),
});

export const HeartRateSampleSchema = z.object({
  kind: z.literal('heart_rate'),
  type: singleType('heart_rate'),
  ...timed,
  min: z.number(),
  avg: z.number(),
  max: z.number(),
  context: z.string().nullable().optional().describe('Sedentary, Active, Not Set'),
});

export const BloodPressureSampleSchema = z.object({
  kind: z.literal('blood_pressure'),
  type: singleType('blood_pressure'),
  ...timed,
  systolic: z.number(),
  diastolic: z.number(),
  pulse: optionalNumber,
});

export const SLEEP_STAGES = ['Awake', 'Asleep', 'Core', 'REM', 'Deep', 'Unspecified', 'InBed'] as const;

export const SleepSegmentSampleSchema = z.object({
  kind: z.literal('sleep_segment'),
  type: singleType('sleep_analysis'),
  ...timed,
  stage: z.enum(SLEEP_STAGES),
  sent_stage: z
    .string()
    .max(200)
    .optional()
    .describe('A stage name this server does not know, as the app sent it (stage is then Unspecified); part of the identity'),
  hours: z.number(),
});

export const SleepNightSampleSchema = z.object({
  kind: z.literal('sleep_night'),
  type: singleType('sleep_analysis'),
  ...timed,
  night_date: z.iso.date().describe('Local date of the night\'s end (YYYY-MM-DD)'),
  total_sleep: optionalNumber,
  asleep: optionalNumber,
  core: optionalNumber,
  deep: optionalNumber,
  rem: optionalNumber,
  awake: optionalNumber,
  in_bed: optionalNumber,
  in_bed_start: instant.nullable().optional(),
  in_bed_end: instant.nullable().optional(),
});

export const RoutePointSchema = z.object({
  time: instant,
  lat: z.number(),
  lon: z.number(),
  altitude: optionalNumber.describe('metres'),
  speed: optionalNumber.describe('m/s'),
  course: optionalNumber.describe('degrees'),
  horizontal_accuracy: optionalNumber.describe('metres'),
  vertical_accuracy: optionalNumber.describe('metres'),
});

export const SeriesPointSchema = z.object({
  series: z.string().min(1).describe('heartRateData, heartRateRecovery, stepCount, walkingAndRunningDistance, ...'),
  time: instant,
  qty: optionalNumber,
  min: optionalNumber,
  avg: optionalNumber,
  max: optionalNumber,
  unit: z.string().nullable().optional(),
  source: z.string().optional(),
});

export const WorkoutSampleSchema = z.object({
  kind: z.literal('workout'),
  type: z.literal('workouts'),
  ...timed,
  workout_key: z.string().min(1).describe('The app\'s workout id (upper-cased), or v1:<name>|<start> for workouts without one'),
  name: z.string(),
  duration_s: optionalNumber,
  distance_m: optionalNumber,
  active_energy_kcal: optionalNumber,
  total_energy_kcal: optionalNumber,
  location: z.string().nullable().optional(),
  is_indoor: z.boolean().nullable().optional(),
  min_heart_rate: optionalNumber,
  avg_heart_rate: optionalNumber,
  max_heart_rate: optionalNumber,
  original: jsonObject.optional().describe('The workout as first sent, without route and series'),
  route: z.array(RoutePointSchema).optional(),
  series: z.array(SeriesPointSchema).optional(),
});

export const EVENT_TYPES = [
  'state_of_mind',
  'symptoms',
  'medications',
  'cycle_tracking',
  'heart_rate_notifications',
] as const;

/** The types that name no metric: workouts, ECGs and the events. */
export const NON_METRIC_TYPES: ReadonlySet<string> = new Set(['workouts', 'ecg', ...EVENT_TYPES]);

export const EventSampleSchema = z.object({
  kind: z.literal('event'),
  type: z.enum(EVENT_TYPES),
  ...timed,
  qualifier: z
    .string()
    .optional()
    .describe('Tells same-time events apart: state-of-mind id, symptom name, medication displayText, ...'),
  data: jsonObject,
});

export const EcgSampleSchema = z.object({
  kind: z.literal('ecg'),
  type: z.literal('ecg'),
  ...timed,
  classification: z.string().nullable().optional(),
  average_heart_rate: optionalNumber,
  sampling_frequency: optionalNumber,
  voltages: z.array(z.number()),
  voltage_times: z
    .array(z.number().nullable())
    .optional()
    .describe('One per voltage, as the phone sent them (their epoch is undocumented)'),
  voltage_unit: z.string().nullable().optional(),
  data: jsonObject.optional().describe('The reading as first sent, without its voltage points'),
});

export const StandardSampleSchema = z.discriminatedUnion('kind', [
  QuantitySampleSchema,
  HeartRateSampleSchema,
  BloodPressureSampleSchema,
  SleepSegmentSampleSchema,
  SleepNightSampleSchema,
  WorkoutSampleSchema,
  EventSampleSchema,
  EcgSampleSchema,
]);

export const StandardPayloadSchema = z.object({
  samples: z.array(StandardSampleSchema).describe('Each sample is validated on its own: one bad sample is one rejection'),
});

export type QuantitySample = z.infer<typeof QuantitySampleSchema>;
export type HeartRateSample = z.infer<typeof HeartRateSampleSchema>;
export type BloodPressureSample = z.infer<typeof BloodPressureSampleSchema>;
export type SleepSegmentSample = z.infer<typeof SleepSegmentSampleSchema>;
export type SleepNightSample = z.infer<typeof SleepNightSampleSchema>;
export type RoutePointSample = z.infer<typeof RoutePointSchema>;
export type SeriesPointSample = z.infer<typeof SeriesPointSchema>;
export type WorkoutSample = z.infer<typeof WorkoutSampleSchema>;
export type EventSample = z.infer<typeof EventSampleSchema>;
export type EcgSample = z.infer<typeof EcgSampleSchema>;
export type StandardSample = z.infer<typeof StandardSampleSchema>;
export type StandardPayload = z.infer<typeof StandardPayloadSchema>;
