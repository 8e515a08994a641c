import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHaeMetrics } from '../../src/ingest/hae/metrics.js';
import type {
  BloodPressureRecord,
  HealthRecord,
  HeartRateRecord,
 
  ParsedItem,
  QuantityRecord,
  Rejection,
  SleepNightRecord,
  SleepSegmentRecord,
} from '../../src/ingest/records.js';
import { FIXTURES_DIR as fixtures } from '../helpers/fixtures.js';
import { defaultContext } from '../helpers/parse-context.js';



function fixtureMetrics(file: string): unknown {
  return JSON.parse(readFileSync(path.join(fixtures, file), 'utf8')).data.metrics;
}

function parse(metrics: unknown, ctx = defaultContext()): ParsedItem[] {
  return [...parseHaeMetrics(metrics, ctx)];
}

function records(items: ParsedItem[]): HealthRecord[] {
  return items.flatMap((item) => (item.ok ? [item.record] : []));
}

function rejections(items: ParsedItem[]): Rejection[] {
  return items.flatMap((item) => (item.ok ? [] : [item.rejection]));
}

function ofType<K extends HealthRecord['kind']>(items: ParsedItem[], type: string, kind: K) {
  return records(items).filter((r) => r.type === type && r.kind === kind) as Extract<HealthRecord, { kind: K }>[];
}

function countByType(items: ParsedItem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const type = item.ok ? item.record.type : item.rejection.type;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

describe('real-metrics-2024-03.json', () => {
  const items = parse(fixtureMetrics('real-metrics-2024-03.json'));

  it('yields one item per point, 16,341, none rejected', () => {
    expect(items).toHaveLength(16_341);
    expect(rejections(items)).toEqual([]);
    expect(countByType(items)).toMatchObject({ step_count: 1492, heart_rate: 1086, basal_energy_burned: 5120 });
  });

  it('stores walking_running_distance in metres and keeps the miles that were sent', () => {
    const distances = ofType(items, 'walking_running_distance', 'quantity');
    expect(distances).toHaveLength(1482);
    const first = distances[0]!;
    expect(first).toMatchObject({ unit: 'm', sentUnit: 'mi', sentValue: 0.012187499208969138 });
    expect(first.value).toBeCloseTo(0.012187499208969138 * 1609.344, 9);
    expect(first.start.toISOString()).toBe('2024-03-14T05:23:00.000Z');
    expect(first.end).toEqual(first.start);
    expect(distances.every((d) => d.unit === 'm' && d.sentUnit === 'mi')).toBe(true);
  });

  it('keeps heart rate Min/Avg/Max and the source exactly as sent', () => {
    const heartRates = ofType(items, 'heart_rate', 'heart_rate');
    expect(heartRates).toHaveLength(1086);
    const first = heartRates[0]!;
    expect(first).toMatchObject({ min: 80, avg: 80, max: 80, context: null });
    expect(first.source).toBe("Samantha's Apple\\xa0Watch|Samantha's Apple\\xa0Watch|Samantha's Apple\\xa0Watch");
    for (const hr of heartRates) {
      const raw = hr.raw as { Min: number; Avg: number; Max: number };
      expect([hr.min, hr.avg, hr.max]).toEqual([raw.Min, raw.Avg, raw.Max]);
    }
  });

  it('parses the four summarised sleep nights with their stages', () => {
    const nights = ofType(items, 'sleep_analysis', 'sleep_night');
    expect(nights.map((n) => n.nightDate)).toEqual(['2024-03-14', '2024-03-15', '2024-03-16', '2024-03-17']);
    const first = nights[0]!;
    expect(first.start.toISOString()).toBe('2024-03-14T02:36:04.000Z');
    expect(first.end.toISOString()).toBe('2024-03-14T10:00:30.000Z');
    expect(first).toMatchObject({
      source: "Samantha B's iPhone|Samantha's Apple\\xa0Watch",
      asleep: 0,
      totalSleep: null,
      core: 4.016666666666667,
      deep: 0.8833333333333333,
      rem: 1.375,
      awake: 0.05,
      inBed: 6.858328969180584,
    });
    expect(first.inBedStart?.toISOString()).toBe('2024-03-14T02:36:04.000Z');
    expect(nights.every((n) => n.core !== null && n.deep !== null && n.rem !== null)).toBe(true);
  });

  it('converts each sent unit to its canonical unit', () => {
    const first = (type: string) => ofType(items, type, 'quantity')[0]!;
    expect(first('walking_speed')).toMatchObject({ unit: 'm/s', sentUnit: 'mi/hr' });
    expect(first('walking_speed').value).toBeCloseTo(2.3711524695776665 * 0.44704, 9);
    expect(first('stair_speed_up').value).toBeCloseTo(0.8910259823473732 * 0.3048, 9);
    expect(first('walking_step_length')).toMatchObject({ unit: 'm', sentUnit: 'in' });
    expect(first('walking_step_length').value).toBeCloseTo(0.65, 9);
    expect(first('apple_sleeping_wrist_temperature')).toMatchObject({ unit: 'degC', sentUnit: 'degF' });
    expect(first('apple_sleeping_wrist_temperature').value).toBeCloseTo((96.30128936767571 - 32) * (5 / 9), 9);
    expect(first('apple_exercise_time')).toMatchObject({ value: 60, unit: 's', sentValue: 1, sentUnit: 'min' });
    expect(first('heart_rate_variability')).toMatchObject({ unit: 'ms', sentValue: 21.68859816782159 });
    expect(first('heart_rate_variability').value).toBe(21.68859816782159);
    expect(first('blood_oxygen_saturation')).toMatchObject({ value: 95, unit: '%' });
    expect(first('physical_effort')).toMatchObject({ value: 1, unit: 'kcal/hr·kg' });
    expect(first('active_energy')).toMatchObject({ unit: 'kcal', sentUnit: 'kcal' });
  });
});

describe('real-sleep-segments-2025-04.json', () => {
  const items = parse(fixtureMetrics('real-sleep-segments-2025-04.json'));
  const segments = ofType(items, 'sleep_analysis', 'sleep_segment');

  it('yields 741 segment records, none rejected', () => {
    expect(items).toHaveLength(741);
    expect(segments).toHaveLength(741);
  });

  it('normalises the stages, InBed among them', () => {
    expect(new Set(segments.map((s) => s.stage))).toEqual(new Set(['Core', 'InBed', 'REM', 'Awake', 'Deep', 'Asleep']));
  });

  it('keeps the 56 pairs that share start, end and source and differ in stage', () => {
    const byInterval = new Map<string, SleepSegmentRecord[]>();
    for (const segment of segments) {
      const key = `${segment.start.toISOString()}|${segment.end.toISOString()}|${segment.source}`;
      byInterval.set(key, [...(byInterval.get(key) ?? []), segment]);
    }
    const pairs = [...byInterval.values()].filter((group) => group.length === 2);
    expect(pairs).toHaveLength(56);
    expect(pairs.every(([a, b]) => a!.stage !== b!.stage)).toBe(true);
  });

  it('takes hours from qty and keeps U+2019 and U+00A0 in the source', () => {
    const first = segments[0]!;
    expect(first).toMatchObject({ stage: 'Core', hours: 0.06666666666666667, source: 'arun\u2019s Apple\u00a0Watch' });
    expect(first.start.toISOString()).toBe('2025-04-19T03:16:55.000Z');
    expect(first.end.toISOString()).toBe('2025-04-19T03:20:55.000Z');
  });
});

describe('edge-cases-metrics.json', () => {
  const items = parse(fixtureMetrics('edge-cases-metrics.json'));

  it('rejects exactly the three invalid points, each with a reason', () => {
    expect(items).toHaveLength(18);
    const rejected = rejections(items);
    expect(rejected.map((r) => [r.type, r.category, r.reason])).toEqual([
      ['blood_pressure', 'range', 'blood_pressure[1]: systolic 70 must be above diastolic 95'],
      ['step_count', 'range', 'step_count[2]: qty must not be negative, got -4'],
      ['step_count', 'missing_field', 'step_count[3]: date is missing'],
    ]);
    expect(rejected[2]!.sample).toEqual({ qty: 12, source: 'iPhone' });
  });

  it('keeps both step counts at the same instant', () => {
    const steps = ofType(items, 'step_count', 'quantity');
    expect(steps.map((s) => [s.source, s.value, s.start.toISOString()])).toEqual([
      ['iPhone', 312, '2024-09-20T22:00:00.000Z'],
      ['Apple Watch', 298, '2024-09-20T22:00:00.000Z'],
    ]);
  });

  it('stores the unknown metric with the unit it came in', () => {
    const [unknown] = ofType(items, 'a_metric_from_a_future_ios', 'quantity');
    expect(unknown).toMatchObject({ value: 3.25, unit: 'zorks', sentValue: 3.25, sentUnit: 'zorks', source: 'iPhone' });
  });

  it('reads 12-hour timestamps as the right instants', () => {
    const heartRates = ofType(items, 'heart_rate', 'heart_rate');
    expect(heartRates.map((hr) => hr.start.toISOString())).toEqual([
      '2024-09-20T21:57:00.000Z',
      '2024-09-21T09:57:00.000Z',
      '2024-09-21T10:01:00.000Z',
    ]);
    expect(heartRates[0]).toMatchObject({ min: 61, avg: 61, max: 61, context: 'Sedentary' });
    expect(heartRates[2]).toMatchObject({ min: 58, avg: 71.5, max: 93, context: null, source: 'Apple Watch|iPhone' });
  });

  it('converts lb to kg, degF to degC and mmol/L to mg/dL', () => {
    const [weight] = ofType(items, 'weight_body_mass', 'quantity');
    expect(weight).toMatchObject({ unit: 'kg', sentValue: 176.4, sentUnit: 'lb' });
    expect(weight!.value).toBeCloseTo(80.013694068, 9);
    const [temperature] = ofType(items, 'body_temperature', 'quantity');
    expect(temperature).toMatchObject({ unit: 'degC', sentValue: 98.6, sentUnit: 'degF', source: '' });
    expect(temperature!.value).toBeCloseTo(37, 9);
    const [glucose] = ofType(items, 'blood_glucose', 'quantity');
    expect(glucose).toMatchObject({ unit: 'mg/dL', sentUnit: 'mmol/L', extra: { mealTime: 'Before Meal' } });
    expect(glucose!.value).toBeCloseTo(97.28424, 9);
  });

  it('keeps the insulin reason as qualifier and the handwashing value as extra', () => {
    expect(ofType(items, 'insulin_delivery', 'quantity')[0]).toMatchObject({ qualifier: 'Bolus', value: 4, unit: 'IU' });
    expect(ofType(items, 'handwashing', 'quantity')[0]).toMatchObject({ qualifier: '', value: 1, extra: { value: 'Complete' } });
  });

  it('stores sexual activity as one sample: the total, with the three counts', () => {
    expect(ofType(items, 'sexual_activity', 'quantity')[0]).toMatchObject({
      value: 1,
      unit: 'count',
      extra: { Unspecified: 0, 'Protection Used': 1, 'Protection Not Used': 0 },
    });
  });

  it('stores the blood pressure reading that is valid', () => {
    const readings: BloodPressureRecord[] = ofType(items, 'blood_pressure', 'blood_pressure');
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ systolic: 121, diastolic: 79, pulse: null, source: 'Withings' });
  });

  it('parses both summarised sleep generations', () => {
    const [current, old] = ofType(items, 'sleep_analysis', 'sleep_night') as SleepNightRecord[];
    expect(current).toMatchObject({
      nightDate: '2024-09-21',
      source: 'Apple Watch',
      totalSleep: 6.6,
      asleep: 0,
      core: 3.9,
      deep: 1.1,
      rem: 1.6,
      awake: 0.2,
      inBed: 7.1,
      inBedStart: null,
      inBedEnd: null,
    });
    expect(current!.start.toISOString()).toBe('2024-09-20T13:12:00.000Z');
    expect(current!.end.toISOString()).toBe('2024-09-20T20:20:00.000Z');
    expect(old).toMatchObject({ nightDate: '2024-09-20', source: 'iPhone', asleep: 6.2, inBed: 7, core: null });
    expect(old!.inBedStart?.toISOString()).toBe('2024-09-19T13:05:00.000Z');
    expect(old!.inBedEnd?.toISOString()).toBe('2024-09-19T20:10:00.000Z');
  });

  it('rejects the 17 bpm reading once the heart-rate minimum is raised to 20', () => {
    const ctx = defaultContext({ VALIDATION_HEART_RATE_MIN: '20' });
    const rejected = rejections(parse(fixtureMetrics('edge-cases-metrics.json'), ctx));
    expect(rejected).toHaveLength(4);
    const heartRate = rejected.find((r) => r.type === 'heart_rate')!;
    expect(heartRate.category).toBe('range');
    expect(heartRate.reason).toMatch(/^heart_rate\[1\]: .*17.* outside the allowed range 20-300/);
    expect(heartRate.sample).toMatchObject({ Min: 17, context: 'Not Set' });
  });
});

describe('metric names', () => {
  it('counts the alias vo2max as vo2_max, and the other aliases under their names', () => {
    const items = parse([
      { name: 'vo2max', units: 'mL/min·kg', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 41.2 }] },
      { name: 'walking_heart_rate', units: 'count/min', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 101 }] },
      { name: 'environmental_audio', units: 'dBASPL', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 55 }] },
      { name: 'monosaturated_fat', units: 'g', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 7 }] },
    ]);
    expect(countByType(items)).toEqual({
      vo2_max: 1,
      walking_heart_rate_average: 1,
      environmental_audio_exposure: 1,
      monounsaturated_fat: 1,
    });
    expect(records(items)[0]).toMatchObject({ value: 41.2, unit: 'mL/min·kg' });
  });

  it('names the metric as sent in a rejection reason, and counts it under the canonical name', () => {
    const [item] = parse([{ name: 'vo2max', units: 'mL/min·kg', data: [{ date: '2024-03-14 09:00:00 -0400', qty: -1 }] }]);
    expect(item).toMatchObject({ ok: false, rejection: { type: 'vo2_max', reason: 'vo2max[0]: qty must not be negative, got -1' } });
  });

  it('range-checks resting and walking heart rates, never HRV or cardio recovery', () => {
    const date = '2024-03-14 09:00:00 -0400';
    const items = parse([
      { name: 'resting_heart_rate', units: 'count/min', data: [{ date, qty: 12 }] },
      { name: 'walking_heart_rate_average', units: 'count/min', data: [{ date, qty: 400 }] },
      { name: 'heart_rate_variability', units: 'ms', data: [{ date, qty: 8 }] },
      { name: 'cardio_recovery', units: 'count/min', data: [{ date, qty: 9 }] },
    ]);
    expect(rejections(items).map((r) => [r.type, r.category])).toEqual([
      ['resting_heart_rate', 'range'],
      ['walking_heart_rate_average', 'range'],
    ]);
    expect(records(items).map((r) => r.type)).toEqual(['heart_rate_variability', 'cardio_recovery']);
  });

  it('lets temperatures and unknown metrics be negative', () => {
    const date = '2024-03-14 09:00:00 -0400';
    const items = parse([
      { name: 'under_water_temperature', units: 'degF', data: [{ date, qty: 28.4 }] },
      { name: 'a_metric_from_a_future_ios', units: 'zorks', data: [{ date, qty: -3 }] },
    ]);
    expect(rejections(items)).toEqual([]);
    expect((records(items)[0] as QuantityRecord).value).toBeCloseTo(-2, 9);
  });
});

describe('point shapes', () => {
  const date = '2024-03-14 09:00:00 -0400';

  it('takes the interval from start and end when a newer build sends them', () => {
    const [record] = records(
      parse([
        {
          name: 'apple_sleeping_wrist_temperature',
          units: 'degC',
          data: [{ date, qty: 35.9, start: '2024-03-13 23:30:00 -0400', end: '2024-03-14 06:45:00 -0400' }],
        },
      ]),
    );
    expect(record!.start.toISOString()).toBe('2024-03-14T03:30:00.000Z');
    expect(record!.end.toISOString()).toBe('2024-03-14T10:45:00.000Z');
  });

  it('rejects an end before the start', () => {
    const [item] = parse([
      { name: 'step_count', units: 'count', data: [{ start: date, end: '2024-03-14 08:00:00 -0400', qty: 5 }] },
    ]);
    expect(item).toMatchObject({ ok: false, rejection: { category: 'time' } });
  });

  it('reads a plain qty heart rate as Min = Avg = Max', () => {
    const [record] = records(parse([{ name: 'heart_rate', units: 'count/min', data: [{ date, qty: 64 }] }]));
    expect(record).toMatchObject({ kind: 'heart_rate', min: 64, avg: 64, max: 64 });
  });

  it('rejects a heart rate whose Avg is above its Max', () => {
    const [item] = parse([{ name: 'heart_rate', units: 'count/min', data: [{ date, Min: 60, Avg: 90, Max: 80 }] }]);
    expect(item).toMatchObject({ ok: false, rejection: { type: 'heart_rate', category: 'range' } });
  });

  it('keeps a pulse sent with blood pressure, and range-checks it', () => {
    const items = parse([
      {
        name: 'blood_pressure',
        units: 'mmHg',
        data: [
          { date, systolic: 118, diastolic: 76, pulse: 64 },
          { date, systolic: 118, diastolic: 76, pulse: 900 },
        ],
      },
    ]);
    expect(records(items)[0]).toMatchObject({ pulse: 64 });
    expect(rejections(items)[0]).toMatchObject({ category: 'range' });
  });

  it('computes segment hours from the interval when qty is absent, and reads newer segment fields', () => {
    const [segment] = records(
      parse([
        {
          name: 'sleep_analysis',
          units: 'hr',
          data: [
            {
              start: '2025-04-18 23:00:00 -0400',
              end: '2025-04-19 00:30:00 -0400',
              date: '2025-04-18 23:00:00 -0400',
              value: 'In Bed',
              source: 'Watch',
            },
          ],
        },
      ]),
    );
    expect(segment).toMatchObject({ kind: 'sleep_segment', stage: 'InBed', hours: 1.5, source: 'Watch' });
  });

  it('stores a sleep stage it does not know as Unspecified, keeping the name as sent', () => {
    const [segment] = records(
      parse([{ name: 'sleep_analysis', units: 'hr', data: [{ startDate: date, endDate: '2024-03-14 10:00:00 -0400', qty: 1, value: 'Napping' }] }]),
    );
    expect(segment).toMatchObject({ kind: 'sleep_segment', stage: 'Unspecified', sentStage: 'Napping', hours: 1 });
  });

  it('keeps no sent stage name for the stages it knows, however spelled', () => {
    const segments = records(
      parse([
        {
          name: 'sleep_analysis',
          units: 'hr',
          data: ['In Bed', 'InBed', 'Unspecified'].map((value) => ({ startDate: date, endDate: '2024-03-14 10:00:00 -0400', value })),
        },
      ]),
    );
    expect(segments.map((s) => [(s as SleepSegmentRecord).stage, (s as SleepSegmentRecord).sentStage])).toEqual([
      ['InBed', ''],
      ['InBed', ''],
      ['Unspecified', ''],
    ]);
  });

  it('rejects a segment whose startDate and start name two different instants, saying which', () => {
    const [item] = parse([
      {
        name: 'sleep_analysis',
        units: 'hr',
        data: [{ startDate: date, start: '2024-03-14 09:05:00 -0400', endDate: '2024-03-14 10:00:00 -0400', value: 'Core' }],
      },
    ]);
    expect(item).toMatchObject({
      ok: false,
      rejection: { category: 'time', reason: 'sleep_analysis[0]: startDate 2024-03-14T13:00:00.000Z and start 2024-03-14T13:05:00.000Z disagree' },
    });
  });

  it('rejects a point with an unparseable date, and a non-object point', () => {
    const items = parse([{ name: 'step_count', units: 'count', data: [{ date: 'yesterday', qty: 1 }, 'garbage', null] }]);
    expect(rejections(items).map((r) => [r.category, r.reason])).toEqual([
      ['format', 'step_count[0]: date "yesterday" is not a date this server understands'],
      ['format', 'step_count[1]: point must be an object, got string'],
      ['format', 'step_count[2]: point must be an object, got null'],
    ]);
  });

  it('rejects a point dated before 1970 or too far in the future', () => {
    const items = parse([
      {
        name: 'step_count',
        units: 'count',
        data: [
          { date: '1969-12-31 23:00:00 +0000', qty: 1 },
          { date: '2999-01-01 00:00:00 +0000', qty: 1 },
        ],
      },
    ]);
    expect(rejections(items).map((r) => r.category)).toEqual(['time', 'time']);
  });
});

describe('metric entries', () => {
  it('yields nothing for an absent metrics array or an entry without data', () => {
    expect(parse(undefined)).toEqual([]);
    expect(parse([{ name: 'step_count', units: 'count' }, { name: 'step_count', units: 'count', data: [] }])).toEqual([]);
  });

  it('yields one rejection for an entry whose data is not an array, or that is not an object', () => {
    const items = parse([{ name: 'step_count', units: 'count', data: { qty: 1 } }, 'step_count']);
    expect(rejections(items).map((r) => [r.type, r.category, r.reason])).toEqual([
      ['step_count', 'format', 'step_count: data must be an array, got object'],
      ['unknown', 'format', 'metrics[1] must be an object, got string'],
    ]);
  });

  it('rejects each point of an entry without a name', () => {
    const items = parse([{ units: 'count', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 1 }, {}] }]);
    expect(rejections(items).map((r) => [r.type, r.category, r.reason])).toEqual([
      ['unknown', 'missing_field', 'metrics[0][0]: the metric has no name'],
      ['unknown', 'missing_field', 'metrics[0][1]: the metric has no name'],
    ]);
  });

  it('stores a quantity sent without units under an empty unit', () => {
    const [record] = records(parse([{ name: 'step_count', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 3 }] }]));
    expect(record).toMatchObject({ value: 3, unit: '', sentUnit: '' });
  });
});

describe('record shape', () => {
  it('sets source to the empty string, end to start and raw to the point as received', () => {
    const point = { date: '2024-03-14 09:00:00 -0400', qty: 3 };
    const [record] = records(parse([{ name: 'step_count', units: 'count', data: [point] }])) as QuantityRecord[];
    expect(record!.source).toBe('');
    expect(record!.end).toEqual(record!.start);
    expect(record!.raw).toBe(point);
  });

  it('reads an object source by its name', () => {
    const [record] = records(
      parse([{ name: 'heart_rate', units: 'count/min', data: [{ date: '2024-03-14 09:00:00 -0400', qty: 70, source: { name: 'Polar H10' } }] }]),
    ) as HeartRateRecord[];
    expect(record!.source).toBe('Polar H10');
  });
});
