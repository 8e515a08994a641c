import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseHae } from '../../src/ingest/hae/parse.js';
import type { HealthRecord, ParsedItem } from '../../src/ingest/records.js';
import { parseStandard, toStandardSample } from '../../src/ingest/standard/parse.js';
import { StandardPayloadSchema, StandardSampleSchema } from '../../src/ingest/standard/schema.js';
import { FIXTURES_DIR as fixtures } from '../helpers/fixtures.js';
import { defaultContext as context } from '../helpers/parse-context.js';



function parse(samples: unknown[]): ParsedItem[] {
  return [...parseStandard({ samples }, context())];
}

function recordOf(sample: unknown): HealthRecord {
  const [item] = parse([sample]);
  if (!item?.ok) throw new Error(`unexpected rejection: ${item?.ok === false ? item.rejection.reason : 'none'}`);
  return item.record;
}

function rejectionOf(sample: unknown) {
  const [item] = parse([sample]);
  if (!item || item.ok) throw new Error('expected a rejection');
  return item.rejection;
}

const START = '2024-03-13T04:19:54.000Z';
const steps = { kind: 'quantity', type: 'step_count', start: START, value: 120, unit: 'count' };
const heartRate = { kind: 'heart_rate', type: 'heart_rate', start: START, min: 60, avg: 70, max: 80 };
const bloodPressure = { kind: 'blood_pressure', type: 'blood_pressure', start: START, systolic: 120, diastolic: 80 };

describe('parseStandard: valid samples', () => {
  it('reads a quantity, defaulting end to start, source to "" and sent value to value', () => {
    expect(recordOf(steps)).toEqual({
      kind: 'quantity',
      type: 'step_count',
      start: new Date(START),
      end: new Date(START),
      source: '',
      raw: steps,
      qualifier: '',
      value: 120,
      unit: 'count',
      sentValue: 120,
      sentUnit: 'count',
      extra: null,
    });
  });

  it('normalises units like the HAE path and resolves aliases', () => {
    const distance = recordOf({ ...steps, type: 'walking_running_distance', value: 2, unit: 'mi', end: '2024-03-13T06:19:54+02:00' });
    expect(distance).toMatchObject({ value: 2 * 1609.344, unit: 'm', sentValue: 2, sentUnit: 'mi', end: new Date(START) });
    expect(recordOf({ ...steps, type: 'vo2max', value: 41, unit: 'mL/min·kg' }).type).toBe('vo2_max');
  });

  it('reads every kind', () => {
    expect(recordOf(heartRate)).toMatchObject({ kind: 'heart_rate', min: 60, avg: 70, max: 80, context: null });
    expect(recordOf({ ...bloodPressure, pulse: 64 })).toMatchObject({ kind: 'blood_pressure', pulse: 64 });
    expect(
      recordOf({ kind: 'sleep_segment', type: 'sleep_analysis', start: START, end: '2024-03-13T05:19:54Z', stage: 'REM', hours: 1 }),
    ).toMatchObject({ kind: 'sleep_segment', stage: 'REM', hours: 1 });
    expect(
      recordOf({ kind: 'sleep_night', type: 'sleep_analysis', start: START, night_date: '2024-03-13', core: 3.5 }),
    ).toMatchObject({ kind: 'sleep_night', nightDate: '2024-03-13', core: 3.5, deep: null, inBedStart: null });
    expect(
      recordOf({ kind: 'event', type: 'symptoms', start: START, qualifier: 'Headache', data: { name: 'Headache' } }),
    ).toMatchObject({ kind: 'event', qualifier: 'Headache', data: { name: 'Headache' } });
    expect(recordOf({ kind: 'ecg', type: 'ecg', start: START, voltages: [1, 2, 3] })).toMatchObject({
      kind: 'ecg',
      voltages: [1, 2, 3],
      voltageTimes: [null, null, null],
      data: {},
    });
    const workout = {
      kind: 'workout',
      type: 'workouts',
      start: START,
      workout_key: 'ABC',
      name: 'Run',
      route: [{ time: START, lat: 47.6, lon: -122.3 }],
    };
    expect(recordOf(workout)).toMatchObject({
      kind: 'workout',
      workoutKey: 'ABC',
      durationS: null,
      route: [{ lat: 47.6, lon: -122.3, altitude: null }],
      series: [],
      original: { kind: 'workout', type: 'workouts', start: START, workout_key: 'ABC', name: 'Run' },
    });
  });

  it('refuses a body that is not a standard payload', () => {
    expect(() => [...parseStandard({ data: {} }, context())]).toThrow(TypeError);
  });

  it('has a JSON schema for the OpenAPI document', () => {
    expect(() => z.toJSONSchema(StandardPayloadSchema)).not.toThrow();
    expect(StandardSampleSchema.safeParse(steps).success).toBe(true);
  });
});

describe('parseStandard: invalid samples are rejected one by one', () => {
  it('rejects a bad sample with its index, field and problem, and keeps the others', () => {
    const items = parse([steps, { ...steps, value: '120' }, heartRate]);
    expect(items.map((item) => item.ok)).toEqual([true, false, true]);
    expect(items[1]).toEqual({
      ok: false,
      rejection: {
        type: 'step_count',
        reason: 'samples[1].value: expected number, received string',
        category: 'format',
        sample: { ...steps, value: '120' },
      },
    });
  });

  it('says which field is missing, which kind is unknown, which time is malformed', () => {
    const { value: _value, ...noValue } = steps;
    expect(rejectionOf(noValue)).toMatchObject({ reason: 'samples[0].value: expected number, received undefined', category: 'missing_field' });
    expect(rejectionOf({ ...steps, kind: 'scalar' }).reason).toBe("samples[0].kind: Invalid discriminator value. Expected 'quantity' | 'heart_rate' | 'blood_pressure' | 'sleep_segment' | 'sleep_night' | 'workout' | 'event' | 'ecg'");
    expect(rejectionOf({ ...steps, start: '2024-03-13 04:19:54' })).toMatchObject({ reason: 'samples[0].start: Invalid ISO datetime', category: 'time' });
    expect(rejectionOf(42)).toMatchObject({ type: 'unknown', reason: 'samples[0]: expected object, received number' });
  });

  it('applies the same plausibility checks as the HAE path', () => {
    expect(rejectionOf({ ...heartRate, max: 400 }).reason).toBe('samples[0]: heart rate Max 400 is outside the allowed range 15-300');
    expect(rejectionOf({ ...heartRate, min: 75 }).reason).toBe('samples[0]: heart rate must have Min ≤ Avg ≤ Max, got Min 75, Avg 70, Max 80');
    expect(rejectionOf({ ...bloodPressure, systolic: 70, diastolic: 95 }).reason).toBe('samples[0]: systolic 70 must be above diastolic 95');
    expect(rejectionOf({ ...bloodPressure, pulse: 400 }).reason).toBe('samples[0]: pulse 400 is outside the allowed range 15-300');
    expect(rejectionOf({ ...steps, value: -4 })).toMatchObject({ reason: 'samples[0]: step_count must not be negative, got -4', category: 'range' });
    expect(rejectionOf({ ...steps, type: 'resting_heart_rate', value: 5, unit: 'count/min' }).reason).toContain('resting_heart_rate 5 is outside');
    expect(recordOf({ ...steps, type: 'body_temperature', value: -1, unit: 'degC' }).kind).toBe('quantity');
    expect(rejectionOf({ ...steps, start: '1960-01-01T00:00:00Z' })).toMatchObject({ category: 'time' });
    expect(rejectionOf({ ...steps, end: '2024-03-13T04:00:00Z' }).reason).toContain('is before start');
  });

  it('rejects an implausible workout point and a metric sample named like a non-metric', () => {
    const workout = {
      kind: 'workout',
      type: 'workouts',
      start: START,
      workout_key: 'ABC',
      name: 'Run',
      route: [{ time: START, lat: 47.6, lon: -122.3 }, { time: START, lat: 95, lon: 0 }],
    };
    expect(rejectionOf(workout)).toMatchObject({ type: 'workouts', reason: 'samples[0]: route[1] latitude 95 is outside -90..90' });
    expect(rejectionOf({ ...steps, type: 'workouts' }).reason).toContain('type workouts is not a metric');
    expect(rejectionOf({ kind: 'ecg', type: 'ecg', start: START, voltages: [1, 2], voltage_times: [1] }).reason).toContain('pair up');
  });

  it('rejects a type a single-type kind cannot hold (it used to be stored under that kind\'s own type, its own name lost)', () => {
    expect(rejectionOf({ ...heartRate, type: 'resting_heart_rate' })).toMatchObject({
      type: 'resting_heart_rate',
      category: 'format',
      reason: 'samples[0]: kind heart_rate holds type heart_rate only, not resting_heart_rate: send resting_heart_rate as kind quantity',
    });
    expect(rejectionOf({ ...bloodPressure, type: 'blood_glucose' }).reason).toContain('kind blood_pressure holds type blood_pressure only');
    const night = { kind: 'sleep_night', start: START, end: '2024-03-13T12:00:00Z', night_date: '2024-03-13' };
    expect(rejectionOf({ ...night, type: 'mindful_minutes' }).reason).toBe('samples[0]: kind sleep_night holds type sleep_analysis only, not mindful_minutes');
    expect(recordOf({ ...night, type: 'sleep_analysis' }).type).toBe('sleep_analysis');
  });
});

describe('toStandardSample: an export is re-imported with identical results', () => {
  const withoutRaw = (records: HealthRecord[]) => records.map(({ raw: _raw, ...rest }) => rest);

  function hae(file: string): HealthRecord[] {
    const body: unknown = JSON.parse(readFileSync(path.join(fixtures, file), 'utf8'));
    return [...parseHae(body, context())].flatMap((item) => (item.ok ? [item.record] : []));
  }

  const roundTrip = (records: HealthRecord[]) => {
    // Through JSON, as an export file would be.
    const exported: unknown = JSON.parse(JSON.stringify({ samples: records.map(toStandardSample) }));
    const items = [...parseStandard(exported, context())];
    const rejected = items.flatMap((item) => (item.ok ? [] : [item.rejection.reason]));
    expect(rejected).toEqual([]);
    return items.flatMap((item) => (item.ok ? [item.record] : []));
  };

  it.each([
    'workouts-v1-v2-with-routes.json',
    'other-data-types.json',
    'edge-cases-metrics.json',
    'real-sleep-segments-2025-04.json',
    'real-metrics-2024-03.json',
  ])('gives back the records parsed from %s', (file) => {
    const records = hae(file);
    expect(records.length).toBeGreaterThan(0);
    expect(withoutRaw(roundTrip(records))).toEqual(withoutRaw(records));
  });

  it('gives back hand-made records of every kind', () => {
    const records = parse([
      steps,
      { ...steps, type: 'insulin_delivery', qualifier: 'Bolus', value: 2, unit: 'IU', source: 'Pump', extra: { note: 1 } },
      { ...heartRate, context: 'Active' },
      { ...bloodPressure, pulse: null },
      { kind: 'sleep_night', type: 'sleep_analysis', start: START, night_date: '2024-03-13', in_bed_start: START, in_bed_end: START },
      { kind: 'ecg', type: 'ecg', start: START, voltages: [1.5], voltage_times: [3.25], voltage_unit: 'mcV', data: { a: 1 } },
    ]).map((item) => {
      if (!item.ok) throw new Error(item.rejection.reason);
      return item.record;
    });
    expect(withoutRaw(roundTrip(records))).toEqual(withoutRaw(records));
  });
});
