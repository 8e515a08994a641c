import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHae } from '../../src/ingest/hae/parse.js';
import { parseHaeWorkouts } from '../../src/ingest/hae/workouts.js';
import type { ParsedItem, WorkoutRecord } from '../../src/ingest/records.js';
import { FIXTURES_DIR as fixtures } from '../helpers/fixtures.js';
import { defaultContext as context } from '../helpers/parse-context.js';


function fixtureText(name: string): string {
  return readFileSync(path.join(fixtures, name), 'utf8');
}


type Sent = Record<string, unknown>;

const text = fixtureText('workouts-v1-v2-with-routes.json');
const sentWorkouts = (JSON.parse(text) as { data: { workouts: Sent[] } }).data.workouts;
const sentV2 = sentWorkouts[0]!;
const sentV1 = sentWorkouts[1]!;

function parse(workouts: unknown): ParsedItem[] {
  return [...parseHaeWorkouts(workouts, context())];
}

function workouts(items: ParsedItem[]): WorkoutRecord[] {
  return items.map((item) => {
    if (!item.ok) throw new Error(`unexpected rejection: ${item.rejection.reason}`);
    if (item.record.kind !== 'workout') throw new Error(`unexpected ${item.record.kind}`);
    return item.record;
  });
}

function rejectionOf(items: ParsedItem[]): { reason: string; category: string } {
  expect(items).toHaveLength(1);
  const item = items[0]!;
  if (item.ok) throw new Error('expected a rejection');
  expect(item.rejection.type).toBe('workouts');
  return item.rejection;
}

/** A deep copy of the fixture's v2 workout, changed by `edit`. */
function v2With(edit: (workout: Sent) => void): Sent {
  const copy = structuredClone(sentV2);
  edit(copy);
  return copy;
}

const [v2, v1] = workouts(parse(sentWorkouts));

describe('parseHaeWorkouts on workouts-v1-v2-with-routes.json', () => {
  it('yields one workout record per workout, through parseHae too', () => {
    const items = [...parseHae(JSON.parse(text), context())];
    expect(items).toHaveLength(2);
    expect(workouts(items).map((w) => w.name)).toEqual(['Outdoor Run', 'Walking']);
    expect(items.every((item) => item.ok && item.record.type === 'workouts' && item.record.source === '')).toBe(true);
  });

  it('reads the v2 route from latitude/longitude, not as 0,0', () => {
    const route = sentV2.route as Sent[];
    expect(v2!.route).toHaveLength(600);
    expect(v2!.route.some((p) => p.lat === 0 || p.lon === 0)).toBe(false);
    v2!.route.forEach((point, i) => {
      expect(point.lat).toBe(route[i]!.latitude);
      expect(point.lon).toBe(route[i]!.longitude);
    });
    expect(v2!.route[0]).toEqual({
      time: new Date('2025-06-01T14:00:00Z'),
      lat: 47.6062,
      lon: -122.3321,
      altitude: 30,
      speed: 2.8,
      course: 0,
      horizontalAccuracy: 4.8,
      verticalAccuracy: 3.1,
    });
  });

  it('reads the v1 route from lat/lon', () => {
    const route = sentV1.route as Sent[];
    expect(v1!.route).toHaveLength(240);
    v1!.route.forEach((point, i) => {
      expect(point.lat).toBe(route[i]!.lat);
      expect(point.lon).toBe(route[i]!.lon);
      expect(point.altitude).toBe(route[i]!.altitude);
    });
    expect(v1!.route[0]!.speed).toBeNull();
  });

  it('stores v2 summary columns in canonical units: miles to metres, kJ to kcal', () => {
    expect(v2!.workoutKey).toBe('6F1C2B7E-3D4A-4C55-9E61-0B2F7A1D9C33');
    expect(v2!.start).toEqual(new Date('2025-06-01T14:00:00Z'));
    expect(v2!.end).toEqual(new Date('2025-06-01T14:30:00Z'));
    expect(v2!.durationS).toBe(1800);
    expect(v2!.distanceM).toBeCloseTo(3.11 * 1609.344, 6);
    expect(v2!.activeEnergyKcal).toBeCloseTo(1412.3 / 4.184, 6);
    expect(v2!.totalEnergyKcal).toBeNull();
    expect(v2!.location).toBe('Outdoor');
    expect(v2!.isIndoor).toBe(false);
    expect([v2!.minHeartRate, v2!.avgHeartRate, v2!.maxHeartRate]).toEqual([98, 151, 176]);
  });

  it('stores v1 summary columns from {qty, units} objects, with duration from start and end', () => {
    expect(v1!.durationS).toBe(42 * 60 + 30);
    expect(v1!.distanceM).toBeCloseTo(3420, 9);
    expect(v1!.activeEnergyKcal).toBe(160.2);
    expect(v1!.totalEnergyKcal).toBe(201.5);
    expect([v1!.minHeartRate, v1!.avgHeartRate, v1!.maxHeartRate]).toEqual([null, 104, 131]);
    expect(v1!.location).toBeNull();
    expect(v1!.isIndoor).toBeNull();
  });

  it('stores the heart-rate series and recovery of both versions', () => {
    const hr = v2!.series.filter((p) => p.series === 'heartRateData');
    expect(hr).toHaveLength(30);
    expect(hr[0]).toEqual({
      series: 'heartRateData',
      time: new Date('2025-06-01T14:00:00Z'),
      qty: null,
      min: 120,
      avg: 130,
      max: 140,
      unit: 'count/min',
      source: 'Jo\u2019s Apple\u00a0Watch',
    });
    expect(v2!.series.filter((p) => p.series === 'heartRateRecovery')).toHaveLength(3);

    const v1Hr = v1!.series.filter((p) => p.series === 'heartRateData');
    expect(v1Hr).toHaveLength(20);
    expect(v1Hr[0]).toMatchObject({ qty: 95, min: null, unit: 'count/min', source: '' });
  });

  it('keeps count series in their sent unit and converts distance series to metres', () => {
    const steps = v2!.series.filter((p) => p.series === 'stepCount');
    expect(steps).toHaveLength(30);
    expect(steps[0]).toMatchObject({ qty: 160, unit: 'count' });
    const distance = v2!.series.filter((p) => p.series === 'walkingAndRunningDistance');
    expect(distance).toHaveLength(30);
    expect(distance[0]!.unit).toBe('m');
    expect(distance[0]!.qty).toBeCloseTo(0.1 * 1609.344, 9);
  });

  it('keeps the workout as sent in original, without route and series arrays', () => {
    expect(v2!.original).not.toHaveProperty('route');
    expect(v2!.original).not.toHaveProperty('heartRateData');
    expect(v2!.original).not.toHaveProperty('stepCount');
    expect(v2!.original.metadata).toEqual({ HKIndoorWorkout: '0', HKElevationAscended: '3000 cm' });
    expect(v2!.original.distance).toEqual({ qty: 3.11, units: 'mi' });
    // In v1, stepCount is a summary object, not a series: it stays.
    expect(v1!.original.stepCount).toEqual({ qty: 4521, units: 'steps' });
    expect(v1!.original).not.toHaveProperty('route');
    expect(v1!.original).not.toHaveProperty('heartRateData');
  });

  it('gives a v1 workout the same key when the same JSON is re-serialised with keys reordered', () => {
    const reordered = JSON.stringify(JSON.parse(text), (_key, value: unknown) =>
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).reverse())
        : value,
    );
    const again = workouts([...parseHae(JSON.parse(reordered), context())]);
    expect(v1!.workoutKey).toBe('v1:Walking|2021-09-12T16:05:10.000Z');
    expect(again.map((w) => w.workoutKey)).toEqual([v2!.workoutKey, v1!.workoutKey]);
  });
});

describe('parseHaeWorkouts, one workout is one sample', () => {
  /** A v1 workout (no id) with one edit. */
  const v1With = (edit: (workout: Sent) => void): Sent => {
    const sent = structuredClone(sentV1);
    edit(sent);
    return sent;
  };

  // Each bad field rejects the whole workout (one sample), with a reason naming where it was.
  it.each<{ what: string; sent: () => Sent; reason: string | RegExp; category?: string }>([
    {
      what: 'a route point outside the globe',
      sent: () => v2With((w) => void ((w.route as Sent[])[5]!.latitude = 95)),
      reason: 'workouts[0] (Outdoor Run): route[5] latitude 95 is outside -90..90',
      category: 'range',
    },
    {
      what: 'a route point without coordinates',
      sent: () => v2With((w) => delete (w.route as Sent[])[7]!.longitude),
      reason: 'workouts[0] (Outdoor Run): route[7].longitude (or lon) is missing',
    },
    {
      what: 'a route point without a timestamp',
      sent: () => v2With((w) => delete (w.route as Sent[])[3]!.timestamp),
      reason: 'workouts[0] (Outdoor Run): route[3].timestamp is missing',
    },
    {
      what: 'an out-of-range heart rate in its series',
      sent: () => v2With((w) => void ((w.heartRateData as Sent[])[2]!.Max = 400)),
      reason: 'workouts[0] (Outdoor Run): heartRateData[2] heart rate Max 400 is outside the allowed range 15-300',
    },
    {
      what: 'a v1 heart-rate point below the limit',
      sent: () => v1With((w) => void ((w.heartRateData as Sent[])[4]!.qty = 3)),
      reason: /heartRateData\[4\].*3 is outside the allowed range 15-300/,
    },
    {
      what: 'a series point without a date',
      sent: () => v2With((w) => delete (w.stepCount as Sent[])[1]!.date),
      reason: 'workouts[0] (Outdoor Run): stepCount[1].date is missing',
    },
    {
      what: 'a missing start',
      sent: () => v2With((w) => delete w.start),
      reason: 'workouts[0] (Outdoor Run): start is missing',
    },
    {
      what: 'an end before its start',
      sent: () => v2With((w) => (w.end = '2025-06-01 06:00:00 -0700')),
      reason: /end 2025-06-01T13:00:00\.000Z is before start/,
      category: 'time',
    },
    {
      what: 'neither id nor name, which cannot be identified',
      sent: () => v1With((w) => delete w.name),
      reason: /name is missing/,
    },
  ])('rejects the whole workout for $what, naming it', ({ sent, reason, category }) => {
    const rejection = rejectionOf(parse([sent()]));
    if (typeof reason === 'string') expect(rejection.reason).toBe(reason);
    else expect(rejection.reason).toMatch(reason);
    if (category) expect(rejection.category).toBe(category);
  });

  it("stores Apple's -1 (invalid) speed, course and accuracies as null", () => {
    const sent = v2With((w) => {
      Object.assign((w.route as Sent[])[0]!, { speed: -1, course: -1, horizontalAccuracy: -1, verticalAccuracy: -1 });
    });
    const [record] = workouts(parse([sent]));
    expect(record!.route[0]).toMatchObject({ speed: null, course: null, horizontalAccuracy: null, verticalAccuracy: null });
    expect(record!.route[0]!.altitude).toBe(30);
  });

  it('upper-cases a v2 id so a re-send in another case is the same workout', () => {
    const [record] = workouts(parse([v2With((w) => (w.id = (w.id as string).toLowerCase()))]));
    expect(record!.workoutKey).toBe('6F1C2B7E-3D4A-4C55-9E61-0B2F7A1D9C33');
  });

  it('reads heartRate members sent as bare numbers', () => {
    const [record] = workouts(parse([v2With((w) => (w.heartRate = { min: 90, avg: 140, max: 170 }))]));
    expect([record!.minHeartRate, record!.avgHeartRate, record!.maxHeartRate]).toEqual([90, 140, 170]);
  });

  it('takes v2 activeEnergy as a series and activeEnergyBurned as the summary', () => {
    const sent = v2With((w) => {
      w.activeEnergy = [{ date: '2025-06-01 07:00:00 -0700', qty: 41.84, units: 'kJ', source: 'Watch' }];
    });
    const [record] = workouts(parse([sent]));
    expect(record!.activeEnergyKcal).toBeCloseTo(1412.3 / 4.184, 6);
    const energy = record!.series.filter((p) => p.series === 'activeEnergy');
    expect(energy).toHaveLength(1);
    expect(energy[0]!.unit).toBe('kcal');
    expect(energy[0]!.qty).toBeCloseTo(10, 9);
    expect(record!.original).not.toHaveProperty('activeEnergy');
  });

  it('leaves a summary column null for a unit it cannot convert, keeping the value in original', () => {
    const [record] = workouts(parse([v2With((w) => (w.distance = { qty: 3, units: 'furlong' }))]));
    expect(record!.distanceM).toBeNull();
    expect(record!.original.distance).toEqual({ qty: 3, units: 'furlong' });
  });

  it('rejects entries that are not objects and a workouts value that is not an array', () => {
    const items = parse([sentV1, 42]);
    expect(items[0]!.ok).toBe(true);
    expect(items[1]).toMatchObject({ ok: false, rejection: { type: 'workouts', reason: 'workouts[1]: a workout must be an object' } });
    expect(rejectionOf(parse({ name: 'Run' })).reason).toBe('data.workouts must be an array, got object');
  });
});
