/**
 * Shapes of the reading endpoints (api.md, "Reading"), declared once for
 * validation, types and the OpenAPI document, with the views that turn stored
 * rows into them. Times are ISO 8601 in UTC; hours, metres, kcal as named.
 */
import { z } from 'zod';
import { isoTime, isoTimeOrNull, listQuery, listSchema } from './common.js';
import { SLEEP_STAGES } from '../../ingest/standard/schema.js';
import { convertUnit } from '../../ingest/units.js';
import type { Row } from '../../storage/repositories/readings.js';
import { MAX_SERIES_BUCKETS, SERIES_BUCKETS, type SeriesRow } from '../../storage/repositories/series.js';
import type { DailySummaryRow } from '../../storage/repositories/summary.js';
import type { RouteLinePoint, WorkoutListRow } from '../../storage/repositories/workouts.js';
import type { SeriesPointRow } from '../../storage/samples/workouts.js';

const EXAMPLE_START = '2024-03-13T04:19:54.000Z';
/** Sample lists select their times as ISO text already (storage/repositories/times.ts); other rows carry Dates. */
const iso = (value: unknown) => (typeof value === 'string' ? value : isoTime(value as Date));
const isoOrNull = (value: unknown) => isoTimeOrNull(value as Date | string | null);
const num = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** Text that may reach SQL: PostgreSQL refuses the NUL character. */
const sqlText = (max: number) => z.string().min(1).max(max).refine((value) => !value.includes('\u0000'), 'must not contain the NUL character');

// ---------- query strings ----------

const instant = z.iso.datetime({ offset: true });

export const rangeQuery = z.object({
  start: instant.optional().describe('Samples starting at or after this instant (ISO 8601 with an offset or Z)').meta({ example: '2024-03-13T00:00:00-04:00' }),
  end: instant.optional().describe('Samples starting before this instant (exclusive)').meta({ example: '2024-03-18T00:00:00-04:00' }),
});

/** listQuery, with room for longer (sample) cursors, and an order. */
export const pageQuery = listQuery.extend({
  cursor: z.string().max(1024).optional().describe('The `next` value of the previous page').meta({ example: 'WyIyMDI0LTAzLTE0VDA0OjAzOjAwLjAwMFoiXQ' }),
  order: z.enum(['asc', 'desc']).default('asc').describe('By start time').meta({ example: 'desc' }),
});

export const samplesQuery = rangeQuery.extend(pageQuery.shape).extend({
  source: sqlText(500).optional().describe('Only samples of this source string, exactly as sent').meta({ example: "Samantha's Apple\u00a0Watch" }),
});

export const metricSamplesQuery = samplesQuery.extend({
  unit: sqlText(64).optional().describe("Convert values to this unit (one of the metric's dimension, e.g. km or mi for a distance)").meta({ example: 'km' }),
});

export const erasureParam = z.object({
  type: sqlText(200).describe('A by_type name: a metric (step_count, heart_rate, blood_pressure, sleep_analysis, ...), workouts, state_of_mind, symptoms, medications, cycle_tracking, heart_rate_notifications or ecg').meta({ example: 'step_count' }),
});

export const erasureQuery = z
  .object({
    start: instant.describe('Erase samples starting at or after this instant (ISO 8601 with an offset or Z)').meta({ example: '2024-03-13T00:00:00-04:00' }),
    end: instant.describe('Erase samples starting before this instant (exclusive)').meta({ example: '2024-03-14T00:00:00-04:00' }),
  })
  .refine(({ start, end }) => Date.parse(start) < Date.parse(end), { message: 'end must be after start', path: ['end'] });

export const erasedSchema = z
  .object({ deleted: z.number().int().describe('How many samples were deleted (a workout counts once, with its route and series)') })
  .meta({ id: 'Erased', example: { deleted: 1440 } });

export const metricParam = z.object({ name: sqlText(200).describe('A metric name, e.g. step_count (aliases such as vo2max accepted)').meta({ example: 'walking_running_distance' }) });

const coordinate = (min: number, max: number) => z.number().min(min).max(max);

/** `minLon,minLat,maxLon,maxLat` in degrees (WGS 84). */
export const bboxParam = z
  .string()
  .transform((text, ctx) => {
    const parts = text.split(',').map((part) => Number(part.trim()));
    const box = z
      .tuple([coordinate(-180, 180), coordinate(-90, 90), coordinate(-180, 180), coordinate(-90, 90)])
      .refine(([minLon, minLat, maxLon, maxLat]) => minLon <= maxLon && minLat <= maxLat, 'minimum must not exceed maximum (a box across the antimeridian is two requests)')
      .safeParse(parts.length === 4 && parts.every(Number.isFinite) ? parts : null);
    if (!box.success) {
      ctx.addIssue({ code: 'custom', message: `bbox must be minLon,minLat,maxLon,maxLat in degrees: ${box.error.issues[0]!.message}` });
      return z.NEVER;
    }
    const [minLon, minLat, maxLon, maxLat] = box.data;
    return { minLon, minLat, maxLon, maxLat };
  })
  .describe('Only workouts whose route crosses this box: minLon,minLat,maxLon,maxLat in degrees')
  .meta({ example: '-122.52,37.70,-122.35,37.83' });

export const workoutParam = z.object({ id: z.uuid().describe("The workout's id, from the list").meta({ example: '0c1d6a1e-8f3b-4a52-9a55-3d2f1e0c9b11' }) });

export const workoutsQuery = rangeQuery.extend(pageQuery.shape).extend({ bbox: bboxParam.optional() });

/** A real IANA zone name PostgreSQL and the ICU data both know (no POSIX offsets such as UTC+5). */
const timeZone = z
  .string()
  .max(64)
  .refine((zone) => {
    if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return false;
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone name such as Europe/Berlin or Etc/GMT+5');

export const sleepQuery = samplesQuery.extend({
  detail: z
    .enum(['nights', 'segments'])
    .default('nights')
    .describe('`nights`: one item per local date, source and origin, the nights the daily summary chooses from; `segments`: the raw stage segments')
    .meta({ example: 'segments' }),
  tz: timeZone
    .default('UTC')
    .describe('nights: the IANA zone whose local dates nights belong to (as in /summary/daily); start and end then select the nights whose date begins (local midnight) in [start, end)')
    .meta({ example: 'America/New_York' }),
});

export const seriesQuery = z
  .object({
    start: instant.describe('The series covers samples starting at or after this instant (ISO 8601 with an offset or Z); the first bucket is the one holding it').meta({ example: '2024-01-01T00:00:00+01:00' }),
    end: instant.describe('... and before this instant (exclusive)').meta({ example: '2025-01-01T00:00:00+01:00' }),
    tz: timeZone.default('UTC').describe('IANA zone whose clock the buckets follow (local midnight, Monday, the 1st)').meta({ example: 'Europe/Berlin' }),
    bucket: z
      .enum(SERIES_BUCKETS)
      .describe('1m, 15m and 1h: fixed lengths from the local clock\'s boundary; 1d: local midnight to midnight (23 or 25 h across a DST change); 1w: ISO week from Monday; 1mo: calendar month')
      .meta({ example: '1d' }),
    source: sqlText(500).optional().describe('Only samples of this source string, exactly as sent; all sources when absent').meta({ example: "Samantha's Apple\u00a0Watch" }),
  })
  .refine(({ start, end }) => Date.parse(start) < Date.parse(end), { message: 'end must be after start', path: ['end'] });

export const metricSeriesQuery = seriesQuery.safeExtend({ unit: metricSamplesQuery.shape.unit });

export const MAX_SUMMARY_DAYS = 366;

export const summaryQuery = z
  .object({
    start: z.iso.date().describe('First local day (YYYY-MM-DD)').meta({ example: '2024-03-13' }),
    end: z.iso.date().describe('Last local day, inclusive (YYYY-MM-DD)').meta({ example: '2024-03-17' }),
    tz: timeZone.default('UTC').describe('IANA zone the days are taken in').meta({ example: 'America/New_York' }),
  })
  .refine(({ start, end }) => start <= end, { message: 'end must not be before start', path: ['end'] })
  .refine(({ start, end }) => (Date.parse(end) - Date.parse(start)) / 86_400_000 + 1 <= MAX_SUMMARY_DAYS, {
    message: `at most ${MAX_SUMMARY_DAYS} days per request`,
    path: ['end'],
  });

// ---------- items ----------

const timed = {
  start: z.string().describe('ISO 8601, UTC'),
  end: z.string().describe('ISO 8601, UTC; equals start for a point in time'),
  source: z.string().describe('The device or app, exactly as sent ("" when none)'),
};


export const heartRateItem = z
  .object({ ...timed, min: z.number(), avg: z.number(), max: z.number(), context: z.string().nullable() })
  .meta({ id: 'HeartRateSample', example: { start: EXAMPLE_START, end: EXAMPLE_START, source: 'Apple Watch', min: 58, avg: 61, max: 66, context: null } });

export const bloodPressureItem = z
  .object({ ...timed, systolic: z.number(), diastolic: z.number(), pulse: z.number().nullable() })
  .meta({ id: 'BloodPressureSample', example: { start: EXAMPLE_START, end: EXAMPLE_START, source: 'Omron', systolic: 121, diastolic: 79, pulse: 64 } });

const hours = z.number().nullable();
export const sleepNightItem = z
  .object({
    date: z.string().describe('The local date (in tz) the night counts for in /summary/daily (YYYY-MM-DD)'),
    source: z.string().describe('The device or app, exactly as sent ("" when none)'),
    origin: z
      .enum(['summarised', 'segments'])
      .describe('`summarised`: nights as the app summarised them, counted for the local date of their end; `segments`: built from raw stage segments ending from 18:00 the day before to 18:00'),
    samples: z.number().int().describe('How many summarised nights (naps included) or segments make it up'),
    start: z.string().describe('ISO 8601, UTC: the earliest start among them'),
    end: z.string().describe('ISO 8601, UTC: the latest end among them'),
    total_sleep_h: hours.describe('totalSleep as sent (summarised only)'),
    asleep_h: hours.describe('summarised: totalSleep, else core + deep + rem if any is above 0, else asleep; segments: Core, Deep, REM, Asleep and Unspecified time'),
    core_h: hours,
    deep_h: hours,
    rem_h: hours,
    awake_h: hours,
    in_bed_h: hours,
    in_bed_start: z.string().nullable(),
    in_bed_end: z.string().nullable(),
  })
  .meta({
    id: 'SleepNight',
    example: {
      date: '2024-03-14', source: 'iPhone|Apple Watch', origin: 'summarised', samples: 1, start: '2024-03-14T02:36:04.000Z', end: '2024-03-14T10:00:30.000Z',
      total_sleep_h: null, asleep_h: 6.275, core_h: 4.02, deep_h: 0.88, rem_h: 1.38, awake_h: 0.05, in_bed_h: 6.86,
      in_bed_start: '2024-03-14T02:36:04.000Z', in_bed_end: '2024-03-14T10:00:30.000Z',
    },
  });

export const sleepSegmentItem = z
  .object({
    ...timed,
    stage: z.enum(SLEEP_STAGES),
    sent_stage: z.string().describe('A stage name this server does not know, as sent (stage is then Unspecified); "" otherwise'),
    hours: z.number(),
  })
  .meta({ id: 'SleepSegment', example: { start: '2025-04-19T03:16:55.000Z', end: '2025-04-19T03:20:55.000Z', source: 'Apple Watch', stage: 'Core', sent_stage: '', hours: 0.0667 } });

export const metricSampleItem = z
  .object({
    ...timed,
    qualifier: z.string().describe('Tells same-time samples apart (insulin reason); "" when none'),
    value: z.number(),
    unit: z.string(),
    sent_value: z.number().describe('The value as the phone sent it'),
    sent_unit: z.string(),
    extra: z.record(z.string(), z.unknown()).nullable().describe('Fields kept beside the value (glucose mealTime, ...)'),
  })
  .meta({
    id: 'MetricSample',
    example: { start: EXAMPLE_START, end: EXAMPLE_START, source: 'iPhone', qualifier: '', value: 1609.344, unit: 'm', sent_value: 1, sent_unit: 'mi', extra: null },
  });

export const metricItem = z
  .object({
    name: z.string(),
    unit: z.string().describe('The canonical unit values are stored in'),
    count: z.number().int(),
    first: z.string().describe('Earliest sample start'),
    last: z.string().describe('Latest sample end'),
    path: z.string().describe('Where the samples are served'),
  })
  .meta({ id: 'Metric', example: { name: 'step_count', unit: 'count', count: 1492, first: '2024-03-13T04:00:00.000Z', last: '2024-03-18T03:59:00.000Z', path: '/api/v1/data/metrics/step_count' } });

/** Items of the five event types: when, which source, what tells same-time records apart, and the record as sent. */
const eventItem = (id: string, example: Record<string, unknown>) =>
  z
    .object({
      ...timed,
      qualifier: z.string().describe("What tells same-time records apart (the state of mind's id, a symptom's name, a medication's displayText, ...)"),
      data: z.record(z.string(), z.unknown()).describe('The record exactly as the app sent it'),
      canonical: z.record(z.string(), z.string()).nullable().describe('The recognised values in English whatever language the phone sent them in (null when none is recognised)'),
    })
    .meta({ id, example });

const EVENT_START = '2025-02-03T08:00:00.000Z';
export const stateOfMindItem = eventItem('StateOfMind', {
  start: '2025-02-03T20:10:00.000Z', end: '2025-02-03T20:10:00.000Z', source: '', qualifier: 'A1B2C3D4-0000-4000-8000-000000000001',
  data: { id: 'A1B2C3D4-0000-4000-8000-000000000001', kind: 'daily_mood', labels: ['calm'], valence: 0.62, valenceClassification: 'pleasant' },
  canonical: null,
});
export const symptomItem = eventItem('Symptom', {
  start: EVENT_START, end: '2025-02-03T11:00:00.000Z', source: 'iPhone', qualifier: 'Fatigue', data: { name: 'Fatigue', severity: 'Moderate', userEntered: true }, canonical: { name: 'fatigue', severity: 'moderate' },
});
export const medicationItem = eventItem('Medication', {
  start: EVENT_START, end: EVENT_START, source: '', qualifier: 'Ibuprofen 200 mg', data: { displayText: 'Ibuprofen 200 mg', status: 'Taken', dosage: 1 }, canonical: { status: 'taken' },
});
export const cycleTrackingItem = eventItem('CycleTrackingEntry', {
  start: '2025-01-31T23:00:00.000Z', end: '2025-02-01T23:00:00.000Z', source: '', qualifier: 'Menstrual Flow', data: { name: 'Menstrual Flow', value: 'Medium', isCycleStart: true }, canonical: { name: 'menstrual_flow', value: 'medium' },
});
export const heartRateNotificationItem = eventItem('HeartRateNotification', {
  start: '2025-02-03T13:00:00.000Z', end: '2025-02-03T13:10:00.000Z', source: 'Apple Watch', qualifier: 'high_heart_rate_notification',
  data: { heartNotification: 'high_heart_rate_notification', threshold: 120 }, canonical: null,
});

export const ecgItem = z
  .object({
    id: z.uuid().describe('Stable: /api/v1/data/ecg/{id} gives the recording with its voltages'),
    ...timed,
    classification: z.string().nullable(),
    average_heart_rate: z.number().nullable(),
    sampling_frequency: z.number().nullable().describe('Hz'),
    voltage_unit: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).describe('The recording as sent, without its voltage measurements'),
    canonical: z.record(z.string(), z.string()).nullable().describe('The recognised values in English whatever language the phone sent them in (null when none is recognised)'),
  })
  .meta({
    id: 'EcgRecording',
    example: {
      id: '5e0b6c1a-2f3d-4e5a-8b7c-9d0e1f2a3b4c', start: '2025-02-03T14:00:00.000Z', end: '2025-02-03T14:00:30.000Z', source: 'Apple Watch',
      classification: 'Sinus Rhythm', average_heart_rate: 72, sampling_frequency: 512, voltage_unit: 'mcV',
      data: { classification: 'Sinus Rhythm', averageHeartRate: 72, samplingFrequency: 512, numberOfVoltageMeasurements: 15360 },
      canonical: { classification: 'sinus_rhythm' },
    },
  });

export const ecgDetail = ecgItem
  .extend({
    voltages: z.array(z.number()).describe('In voltage_unit, in the order sent'),
    voltage_times: z.array(z.number().nullable()).describe('The time of each voltage as sent (null where none was)'),
  })
  .meta({
    id: 'EcgRecordingDetail',
    example: { ...(z.globalRegistry.get(ecgItem)?.example as object), voltages: [-0.705, 3.59, 7.12], voltage_times: [1188745353.99, 1188745353.9919531, 1188745353.9939063] },
  });

export const ecgParam = z.object({ id: z.uuid().describe("The recording's id, from the list").meta({ example: '5e0b6c1a-2f3d-4e5a-8b7c-9d0e1f2a3b4c' }) });

export const typeItem = z
  .object({
    type: z.string().describe('The by_type name (a metric, or workouts, state_of_mind, symptoms, medications, cycle_tracking, heart_rate_notifications, ecg)'),
    unit: z.string().nullable().describe("A metric's canonical unit; null for the other types"),
    count: z.number().int(),
    first: z.string().describe('Earliest sample start'),
    last: z.string().describe('Latest sample end'),
    path: z.string().describe('Where the samples are served'),
  })
  .meta({ id: 'StoredType', example: { type: 'state_of_mind', unit: null, count: 12, first: '2025-02-03T20:10:00.000Z', last: '2025-02-14T21:00:00.000Z', path: '/api/v1/data/state-of-mind' } });

export const workoutItem = z
  .object({
    id: z.uuid(),
    name: z.string(),
    start: z.string(),
    end: z.string(),
    duration_s: z.number().nullable(),
    distance_m: z.number().nullable(),
    active_energy_kcal: z.number().nullable(),
    total_energy_kcal: z.number().nullable(),
    location: z.string().nullable(),
    is_indoor: z.boolean().nullable(),
    heart_rate: z.object({ min: z.number().nullable(), avg: z.number().nullable(), max: z.number().nullable() }),
    has_route: z.boolean(),
  })
  .meta({
    id: 'Workout',
    example: {
      id: '0c1d6a1e-8f3b-4a52-9a55-3d2f1e0c9b11', name: 'Outdoor Run', start: '2024-03-14T11:00:00.000Z', end: '2024-03-14T11:40:00.000Z',
      duration_s: 2400, distance_m: 6437.4, active_energy_kcal: 412.5, total_energy_kcal: 480.1, location: 'Outdoor', is_indoor: false,
      heart_rate: { min: 92, avg: 148, max: 171 }, has_route: true,
    },
  });

const lineString = z
  .object({ type: z.literal('LineString'), coordinates: z.array(z.array(z.number())).describe('[longitude, latitude, altitude] in time order; [longitude, latitude] where no altitude was sent') })
  .meta({ id: 'GeoJsonLineString' });

const seriesPoint = z.object({
  time: z.string(),
  qty: z.number().nullable(),
  min: z.number().nullable(),
  avg: z.number().nullable(),
  max: z.number().nullable(),
  unit: z.string().nullable(),
  source: z.string(),
});

export const workoutDetail = workoutItem
  .extend({
    route: lineString.nullable().describe('GeoJSON LineString built from the stored route points; null with fewer than two'),
    series: z.record(z.string(), z.array(seriesPoint)).describe('Series by name (heartRateData, heartRateRecovery, stepCount, ...), points in time order'),
    original: z.record(z.string(), z.unknown()).describe('The workout as sent, without route and series'),
  })
  .meta({
    id: 'WorkoutDetail',
    example: {
      ...(z.globalRegistry.get(workoutItem)?.example as object),
      route: { type: 'LineString', coordinates: [[-122.4194, 37.7749, 12.5], [-122.4189, 37.7753, 13.1], [-122.4183, 37.7758, 13.8]] },
      series: {
        heartRateData: [{ time: '2024-03-14T11:00:00.000Z', qty: null, min: 92, avg: 118, max: 131, unit: 'count/min', source: 'Apple Watch' }],
        stepCount: [{ time: '2024-03-14T11:00:00.000Z', qty: 162, min: null, avg: null, max: null, unit: 'count', source: 'Apple Watch' }],
      },
      original: {
        id: '6F1C2B7E-3D4A-4C55-9E61-0B2F7A1D9C33',
        name: 'Outdoor Run',
        start: '2024-03-14 07:00:00 -0400',
        end: '2024-03-14 07:40:00 -0400',
        duration: 2400,
        location: 'Outdoor',
        isIndoor: false,
        distance: { qty: 4, units: 'mi' },
        activeEnergyBurned: { qty: 1725.9, units: 'kJ' },
      },
    },
  });

export const seriesItem = z
  .object({
    start: z.string().describe('ISO 8601, UTC: where the bucket begins'),
    end: z.string().describe('ISO 8601, UTC: where the next bucket begins'),
    min: z.number(),
    avg: z.number().nullable().describe('Mean of the values (heart rate: of the samples\' avg); null when too large for a float8'),
    max: z.number(),
    sum: z.number().nullable().describe('Total of the values (heart rate: of the samples\' avg); null when too large for a float8'),
    count: z.number().int().describe('Samples in the bucket'),
  })
  .meta({ id: 'SeriesBucket', example: { start: '2024-03-12T23:00:00.000Z', end: '2024-03-13T23:00:00.000Z', min: 0, avg: 41.3, max: 182, sum: 9412, count: 228 } });

const nullableNumber = z.number().nullable();
export const summaryItem = z
  .object({
    date: z.string().describe('Local date (YYYY-MM-DD) in the requested zone'),
    steps: nullableNumber,
    distance_m: nullableNumber.describe('walking_running_distance'),
    active_energy_kcal: nullableNumber,
    basal_energy_kcal: nullableNumber,
    exercise_min: nullableNumber,
    flights: nullableNumber,
    resting_heart_rate: nullableNumber,
    hrv_ms: nullableNumber,
    heart_rate: z.object({ min: nullableNumber, avg: nullableNumber, max: nullableNumber }),
    sleep: z.object({ asleep_h: nullableNumber, core_h: nullableNumber, deep_h: nullableNumber, rem_h: nullableNumber, awake_h: nullableNumber, in_bed_h: nullableNumber }),
  })
  .meta({
    id: 'DailySummary',
    example: {
      date: '2024-03-14', steps: 8412, distance_m: 6120.5, active_energy_kcal: 512.3, basal_energy_kcal: 1702.9, exercise_min: 34, flights: 9,
      resting_heart_rate: 57, hrv_ms: 48.2, heart_rate: { min: 52, avg: 74.3, max: 151 },
      sleep: { asleep_h: 6.28, core_h: 4.02, deep_h: 0.88, rem_h: 1.38, awake_h: 0.05, in_bed_h: 6.86 },
    },
  });

export const sleepList = listSchema(z.union([sleepNightItem, sleepSegmentItem]).meta({ example: z.globalRegistry.get(sleepNightItem)?.example }), 'Nights (one per local date, source and origin), or raw segments with detail=segments');
export const metricSampleList = listSchema(metricSampleItem, "Samples of one metric in its canonical unit (or ?unit=)");
export const metricList = listSchema(metricItem, 'The metrics this user has, with count, first and last time');
export const typeList = listSchema(typeItem, 'Every type this user has, metrics and the others, with count, first and last time');
export const workoutList = listSchema(workoutItem, 'Workouts, by start time');
export const summaryList = listSchema(summaryItem, 'One item per local day of the range');
export const seriesList = listSchema(seriesItem, `The buckets holding samples, in time order (empty buckets are left out); at most ${MAX_SERIES_BUCKETS.toLocaleString('en-US')} per request, never paged (next is null)`);

// ---------- views ----------

export const heartRateView = (row: Row): z.infer<typeof heartRateItem> => ({
  start: iso(row.start_at), end: iso(row.end_at), source: row.source as string,
  min: row.min as number, avg: row.avg as number, max: row.max as number, context: (row.context as string | null) ?? null,
});

export const bloodPressureView = (row: Row): z.infer<typeof bloodPressureItem> => ({
  start: iso(row.start_at), end: iso(row.end_at), source: row.source as string,
  systolic: row.systolic as number, diastolic: row.diastolic as number, pulse: num(row.pulse),
});

export const sleepNightView = (row: Row): z.infer<typeof sleepNightItem> => ({
  date: row.day as string, source: row.source as string, origin: row.origin as z.infer<typeof sleepNightItem>['origin'], samples: row.samples as number,
  start: iso(row.start_at), end: iso(row.end_at),
  total_sleep_h: num(row.total_sleep_h), asleep_h: num(row.asleep_h), core_h: num(row.core_h), deep_h: num(row.deep_h), rem_h: num(row.rem_h),
  awake_h: num(row.awake_h), in_bed_h: num(row.in_bed_h), in_bed_start: isoOrNull(row.in_bed_start), in_bed_end: isoOrNull(row.in_bed_end),
});

export const sleepSegmentView = (row: Row): z.infer<typeof sleepSegmentItem> => ({
  start: iso(row.start_at), end: iso(row.end_at), source: row.source as string,
  stage: row.stage as z.infer<typeof sleepSegmentItem>['stage'], sent_stage: row.sent_stage as string, hours: row.hours as number,
});

export const eventView = (row: Row): z.infer<typeof stateOfMindItem> => ({
  start: iso(row.start_at), end: iso(row.end_at), source: row.source as string, qualifier: row.qualifier as string, data: row.data as Record<string, unknown>,
  canonical: (row.canonical as Record<string, string> | null) ?? null,
});

export const ecgView = (row: Row): z.infer<typeof ecgItem> => ({
  id: row.id as string, start: iso(row.start_at), end: iso(row.end_at), source: row.source as string,
  classification: (row.classification as string | null) ?? null, average_heart_rate: num(row.average_heart_rate),
  sampling_frequency: num(row.sampling_frequency), voltage_unit: (row.voltage_unit as string | null) ?? null, data: row.data as Record<string, unknown>,
  canonical: (row.canonical as Record<string, string> | null) ?? null,
});

export const ecgDetailView = (row: Row): z.infer<typeof ecgDetail> => ({
  ...ecgView(row), voltages: row.voltages as number[], voltage_times: row.voltage_times as (number | null)[],
});

/** A quantity sample, in `unit` when given and convertible, else as stored. */
export function metricSampleView(row: Row, unit?: string): z.infer<typeof metricSampleItem> {
  const stored = { value: row.value as number, unit: row.unit as string };
  const converted = unit === undefined ? null : convertUnit(stored.value, stored.unit, unit);
  return {
    start: iso(row.start_at), end: iso(row.end_at), source: row.source as string, qualifier: row.qualifier as string,
    ...(converted === null ? stored : { value: converted, unit: unit! }),
    sent_value: row.sent_value as number, sent_unit: row.sent_unit as string,
    extra: (row.extra as Record<string, unknown> | null) ?? null,
  };
}

/** A bucket, in `unit` when given; a sum of n values takes the unit's offset (°F from °C) n times, not once. */
export function seriesView(row: SeriesRow, storedUnit?: string, unit?: string): z.infer<typeof seriesItem> {
  if (unit === undefined || storedUnit === undefined || unit === storedUnit) return row;
  const convert = (value: number) => convertUnit(value, storedUnit, unit)!;
  const offset = convert(0);
  return {
    ...row,
    min: convert(row.min), avg: row.avg === null ? null : convert(row.avg), max: convert(row.max),
    sum: row.sum === null ? null : convert(row.sum) + (row.count - 1) * offset,
  };
}

export const workoutView = (row: WorkoutListRow): z.infer<typeof workoutItem> => ({
  id: row.id as string, name: row.name as string, start: iso(row.start_at), end: iso(row.end_at),
  duration_s: num(row.duration_s), distance_m: num(row.distance_m), active_energy_kcal: num(row.active_energy_kcal),
  total_energy_kcal: num(row.total_energy_kcal), location: (row.location as string | null) ?? null, is_indoor: (row.is_indoor as boolean | null) ?? null,
  heart_rate: { min: num(row.min_heart_rate), avg: num(row.avg_heart_rate), max: num(row.max_heart_rate) },
  has_route: row.has_route,
});

/** GeoJSON from the stored points (already in time order), the same on both databases. */
export function routeGeoJson(points: RouteLinePoint[]): z.infer<typeof lineString> | null {
  if (points.length < 2) return null;
  return {
    type: 'LineString',
    coordinates: points.map((p) => (p.altitude === null ? [p.lon as number, p.lat as number] : [p.lon as number, p.lat as number, p.altitude as number])),
  };
}

export function workoutDetailView(row: WorkoutListRow, route: RouteLinePoint[], series: SeriesPointRow[]): z.infer<typeof workoutDetail> {
  const bySeries: Record<string, z.infer<typeof seriesPoint>[]> = {};
  for (const p of series) {
    (bySeries[p.series as string] ??= []).push({
      time: iso(p.point_time), qty: num(p.qty), min: num(p.min), avg: num(p.avg), max: num(p.max),
      unit: (p.unit as string | null) ?? null, source: p.source as string,
    });
  }
  return { ...workoutView(row), route: routeGeoJson(route), series: bySeries, original: row.original as Record<string, unknown> };
}

export const summaryView = (row: DailySummaryRow): z.infer<typeof summaryItem> => ({
  date: row.date, steps: row.steps, distance_m: row.distance_m, active_energy_kcal: row.active_energy_kcal,
  basal_energy_kcal: row.basal_energy_kcal, exercise_min: row.exercise_min, flights: row.flights,
  resting_heart_rate: row.resting_heart_rate, hrv_ms: row.hrv_ms,
  heart_rate: { min: row.hr_min, avg: row.hr_avg, max: row.hr_max },
  sleep: { asleep_h: row.asleep_h, core_h: row.core_h, deep_h: row.deep_h, rem_h: row.rem_h, awake_h: row.awake_h, in_bed_h: row.in_bed_h },
});
