/**
 * The daily summary follows the rules written in api.md, each shown here with a
 * few hand-made samples, and agrees with totals computed independently from the
 * real fixture file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { databaseKinds } from '../helpers/databases.js';
import { fixtureJson, readFixture } from '../helpers/fixtures.js';

type Sample = Record<string, unknown>;
type Day = Record<string, any>;

const quantity = (type: string, start: string, end: string, value: number, source: string, unit = 'count'): Sample => ({
  kind: 'quantity', type, start, end, source, value, unit,
});

/** `2024-03-13 23:32:00 -0400` as an instant, read without the server's parser. */
function haeInstant(text: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(text);
  if (!match) throw new Error(`unexpected date ${text}`);
  return new Date(`${match[1]}T${match[2]}${match[3]}:${match[4]}`);
}

function localDate(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/**
 * api.md's one-source-per-day rule, written independently of the server: per day, the
 * source with the most samples (or nights), a tie going to the larger total.
 */
function oneSourcePerDay(entries: { day: string; source: string; value: number }[]): Map<string, number> {
  const bySource = new Map<string, Map<string, { n: number; total: number }>>();
  for (const { day, source, value } of entries) {
    const sources = bySource.get(day) ?? new Map<string, { n: number; total: number }>();
    bySource.set(day, sources);
    const entry = sources.get(source) ?? { n: 0, total: 0 };
    entry.n += 1;
    entry.total += value;
    sources.set(source, entry);
  }
  const totals = new Map<string, number>();
  for (const [day, sources] of bySource) {
    const best = [...sources.values()].sort((a, b) => b.n - a.n || b.total - a.total)[0]!;
    totals.set(day, best.total);
  }
  return totals;
}

/** The additive rule applied to the fixture's points in a zone. */
function additiveByDay(points: { date: string; qty: number; source?: string }[], timeZone: string, factor = 1): Map<string, number> {
  return oneSourcePerDay(points.map((p) => ({ day: localDate(haeInstant(p.date), timeZone), source: p.source ?? '', value: p.qty * factor })));
}

describe.each(databaseKinds())('daily summary (%s database)', (kind) => {
  let t: TestApp;
  let users = 0;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
  });
  afterAll(() => t.close());

  /** A new user holding exactly these standard-format samples. */
  async function userWith(samples: Sample[]): Promise<string> {
    const { key } = await t.userWithKey(`summary-${(users += 1)}@example.com`);
    if (samples.length > 0) {
      const response = await t.ingest({ samples }, key);
      expect(expectCountsAddUp(response.json())).toMatchObject({ received: samples.length, rejected: 0 });
    }
    return key;
  }

  async function summary(key: string, start: string, end: string, tz?: string) {
    const query = new URLSearchParams({ start, end, ...(tz ? { tz } : {}) });
    return t.app.inject({ url: `/api/v1/summary/daily?${query}`, headers: { authorization: `Bearer ${key}` } });
  }

  async function days(key: string, start: string, end: string, tz?: string): Promise<Day[]> {
    const response = await summary(key, start, end, tz);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().items;
  }

  it('matches totals computed from the real fixture by the api.md rules (13-17 March 2024, America/New_York)', async () => {
    const { key } = await t.userWithKey('fixture@example.com');
    const ingested = await t.ingest(readFixture('real-metrics-2024-03.json'), key);
    expect(ingested.statusCode).toBe(200);
    expectCountsAddUp(ingested.json());
    const metrics: { name: string; data: any[] }[] = fixtureJson('real-metrics-2024-03.json').data.metrics;
    const points = (name: string) => metrics.find((m) => m.name === name)!.data;
    const zone = 'America/New_York';
    const steps = additiveByDay(points('step_count'), zone);
    const distance = additiveByDay(points('walking_running_distance'), zone, 1609.344);
    const energy = additiveByDay(points('active_energy'), zone);
    // Sleep takes one source per day too: nights are never added across sources.
    const sleep = oneSourcePerDay(
      points('sleep_analysis').map((night) => {
        const stages = (night.core ?? 0) + (night.deep ?? 0) + (night.rem ?? 0);
        return { day: localDate(haeInstant(night.sleepEnd), zone), source: night.source ?? '', value: night.totalSleep ?? (stages > 0 ? stages : night.asleep) };
      }),
    );

    const items = await days(key, '2024-03-13', '2024-03-17', zone);
    expect(items.map((item) => item.date)).toEqual(['2024-03-13', '2024-03-14', '2024-03-15', '2024-03-16', '2024-03-17']);
    let checked = 0;
    for (const item of items) {
      const expectations: [unknown, number | undefined][] = [
        [item.steps, steps.get(item.date)],
        [item.distance_m, distance.get(item.date)],
        [item.active_energy_kcal, energy.get(item.date)],
        [item.sleep.asleep_h, sleep.get(item.date)],
      ];
      for (const [actual, expected] of expectations) {
        if (expected === undefined) expect(actual).toBeNull();
        else {
          expect(actual).toBeCloseTo(expected, 6);
          checked += 1;
        }
      }
    }
    // Four days of steps, distance and energy and four nights: the comparison covered real data.
    expect(checked).toBeGreaterThanOrEqual(14);
  });

  it('takes the source with the most samples that day, not the sum of phone and watch', async () => {
    const key = await userWith([
      ...[0, 1, 2].map((i) => quantity('step_count', `2024-05-01T10:0${i}:00Z`, `2024-05-01T10:0${i}:00Z`, 100, 'iPhone')),
      ...[0, 1, 2, 3, 4].map((i) => quantity('step_count', `2024-05-01T10:0${i}:00Z`, `2024-05-01T10:0${i}:00Z`, 50, 'Apple Watch')),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.steps).toBe(250);
  });

  it('breaks a tie in sample count with the larger total', async () => {
    const key = await userWith([
      quantity('flights_climbed', '2024-05-01T08:00:00Z', '2024-05-01T08:00:00Z', 2, 'iPhone'),
      quantity('flights_climbed', '2024-05-01T09:00:00Z', '2024-05-01T09:00:00Z', 2, 'iPhone'),
      quantity('flights_climbed', '2024-05-01T08:00:00Z', '2024-05-01T08:00:00Z', 3, 'Apple Watch'),
      quantity('flights_climbed', '2024-05-01T09:00:00Z', '2024-05-01T09:00:00Z', 4, 'Apple Watch'),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.flights).toBe(7);
  });

  it('counts the finer grain where one source sent per-minute samples and an hourly bucket for the same period', async () => {
    const key = await userWith([
      ...[0, 1, 2].map((i) => quantity('step_count', `2024-05-01T10:0${i}:00Z`, `2024-05-01T10:0${i + 1}:00Z`, 10, 'Apple Watch')),
      quantity('step_count', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 1000, 'Apple Watch'),
      // A bucket with no finer samples inside it still counts.
      quantity('step_count', '2024-05-01T12:00:00Z', '2024-05-01T13:00:00Z', 50, 'Apple Watch'),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.steps).toBe(80);
  });

  it('applies the grain rule within each source before choosing the source', async () => {
    const key = await userWith([
      // iPhone: four samples as sent, three once its hourly bucket gives way to its minutes.
      ...[0, 1, 2].map((i) => quantity('step_count', `2024-05-01T10:0${i}:00Z`, `2024-05-01T10:0${i + 1}:00Z`, 10, 'iPhone')),
      quantity('step_count', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 1000, 'iPhone'),
      ...[0, 1, 2, 3].map((i) => quantity('step_count', `2024-05-01T14:0${i}:00Z`, `2024-05-01T14:0${i + 1}:00Z`, 5, 'Apple Watch')),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.steps).toBe(20);
  });

  it('leaves points with only a date outside the grain rule', async () => {
    const key = await userWith([
      quantity('active_energy', '2024-05-01T10:10:00Z', '2024-05-01T10:10:00Z', 5, 'Apple Watch', 'kcal'),
      quantity('active_energy', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 40, 'Apple Watch', 'kcal'),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.active_energy_kcal).toBe(45);
  });

  it.each([
    { field: 'distance_m', metric: 'walking_running_distance', value: 1, unit: 'mi', expected: 1609.344 },
    { field: 'active_energy_kcal', metric: 'active_energy', value: 41.84, unit: 'kJ', expected: 10 },
    { field: 'basal_energy_kcal', metric: 'basal_energy_burned', value: 418.4, unit: 'kJ', expected: 100 },
    { field: 'exercise_min', metric: 'apple_exercise_time', value: 30, unit: 'min', expected: 30 },
    { field: 'exercise_min', metric: 'apple_exercise_time', value: 1, unit: 'hr', expected: 60 },
    { field: 'steps', metric: 'step_count', value: 1234, unit: 'count', expected: 1234 },
    { field: 'flights', metric: 'flights_climbed', value: 3, unit: 'count', expected: 3 },
  ])('gives $field from $metric sent in $unit ($value → $expected)', async ({ field, metric, value, unit, expected }) => {
    const key = await userWith([quantity(metric, '2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z', value, 'iPhone', unit)]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day![field]).toBeCloseTo(expected, 9);
    // Only that field: each metric feeds exactly one.
    for (const other of ['steps', 'distance_m', 'active_energy_kcal', 'basal_energy_kcal', 'exercise_min', 'flights'].filter((f) => f !== field)) {
      expect(day![other], other).toBeNull();
    }
  });

  it('gives heart rate min/avg/max over every source, and averages resting heart rate and HRV', async () => {
    const key = await userWith([
      { kind: 'heart_rate', type: 'heart_rate', start: '2024-05-01T08:00:00Z', source: 'Apple Watch', min: 50, avg: 60, max: 70 },
      { kind: 'heart_rate', type: 'heart_rate', start: '2024-05-01T09:00:00Z', source: 'Polar', min: 90, avg: 100, max: 150 },
      quantity('resting_heart_rate', '2024-05-01T06:00:00Z', '2024-05-01T06:00:00Z', 55, '', 'count/min'),
      quantity('resting_heart_rate', '2024-05-01T07:00:00Z', '2024-05-01T07:00:00Z', 57, '', 'count/min'),
      quantity('heart_rate_variability', '2024-05-01T06:00:00Z', '2024-05-01T06:00:00Z', 40, '', 'ms'),
      quantity('heart_rate_variability', '2024-05-01T07:00:00Z', '2024-05-01T07:00:00Z', 50, '', 'ms'),
    ]);
    const [day] = await days(key, '2024-05-01', '2024-05-01');
    expect(day!.heart_rate).toEqual({ min: 50, avg: 80, max: 150 });
    expect(day!.resting_heart_rate).toBe(56);
    expect(day!.hrv_ms).toBe(45);
  });

  const segment = (stage: string, start: string, end: string, source = 'Apple Watch'): Sample => ({
    kind: 'sleep_segment', type: 'sleep_analysis', start, end, source, stage, hours: (Date.parse(end) - Date.parse(start)) / 3_600_000,
  });

  it.each([
    // 18:00 local on 1 May 2024 as an instant, in zones east, west and off the hour.
    { zone: 'Europe/Berlin', sixPm: '2024-05-01T16:00:00Z' },
    { zone: 'America/New_York', sixPm: '2024-05-01T22:00:00Z' },
    { zone: 'Asia/Kathmandu', sixPm: '2024-05-01T12:15:00Z' },
  ])('counts a raw sleep segment for day D when it ends from 18:00 on D-1 to before 18:00 on D, local time ($zone)', async ({ zone, sixPm }) => {
    const minutes = (m: number) => new Date(Date.parse(sixPm) + m * 60_000).toISOString();
    const key = await userWith([
      segment('Core', minutes(-60), minutes(-1)), // ends 17:59 on 1 May: counts for 1 May
      segment('Deep', minutes(-60), minutes(0)), // ends 18:00 on 1 May: counts for 2 May
      segment('REM', minutes(360), minutes(420)), // the night of 1-2 May: 2 May
      segment('Asleep', minutes(24 * 60 - 30), minutes(24 * 60)), // ends 18:00 on 2 May: 3 May, outside the range
    ]);
    const items = await days(key, '2024-05-01', '2024-05-02', zone);
    expect(items[0]!.sleep.core_h).toBeCloseTo(59 / 60, 9);
    expect(items[0]!.sleep.deep_h).toBeNull();
    expect(items[1]!.sleep).toMatchObject({ core_h: null, deep_h: 1, rem_h: 1, asleep_h: 2 });
  });

  it('adds Core, Deep, REM, Asleep and Unspecified into asleep_h, and leaves Awake and In Bed out', async () => {
    const key = await userWith([
      segment('InBed', '2024-05-01T21:00:00Z', '2024-05-02T05:00:00Z'),
      segment('Core', '2024-05-01T22:00:00Z', '2024-05-01T23:00:00Z'),
      segment('Deep', '2024-05-01T23:00:00Z', '2024-05-02T00:30:00Z'),
      segment('REM', '2024-05-02T00:30:00Z', '2024-05-02T01:00:00Z'),
      segment('Asleep', '2024-05-02T01:00:00Z', '2024-05-02T02:00:00Z'),
      segment('Unspecified', '2024-05-02T02:00:00Z', '2024-05-02T02:15:00Z'),
      segment('Awake', '2024-05-02T02:15:00Z', '2024-05-02T03:00:00Z'),
    ]);
    const [day] = await days(key, '2024-05-02', '2024-05-02');
    expect(day!.sleep.asleep_h).toBeCloseTo(1 + 1.5 + 0.5 + 1 + 0.25, 9);
    expect(day!.sleep).toMatchObject({ core_h: 1, deep_h: 1.5, rem_h: 0.5, awake_h: 0.75, in_bed_h: 8 });
  });

  it('takes one source per day for raw sleep, as for steps: a phone and a watch recording the same night are not added', async () => {
    const key = await userWith([
      // The watch: three segments, 6 h asleep.
      segment('Core', '2024-05-01T22:00:00Z', '2024-05-02T01:00:00Z', 'Apple Watch'),
      segment('Deep', '2024-05-02T01:00:00Z', '2024-05-02T02:00:00Z', 'Apple Watch'),
      segment('REM', '2024-05-02T02:00:00Z', '2024-05-02T04:00:00Z', 'Apple Watch'),
      // The phone: two segments, 7 h asleep, of the same night.
      segment('Asleep', '2024-05-01T22:00:00Z', '2024-05-02T03:00:00Z', 'iPhone'),
      segment('Asleep', '2024-05-02T03:00:00Z', '2024-05-02T05:00:00Z', 'iPhone'),
    ]);
    const [day] = await days(key, '2024-05-02', '2024-05-02');
    // The source with the most segments wins (the watch), whole: not 13 h, not a mix.
    expect(day!.sleep).toMatchObject({ asleep_h: 6, core_h: 3, deep_h: 1, rem_h: 2 });
  });

  it('breaks a tie in sleep segments between sources with the longer sleep', async () => {
    const key = await userWith([
      segment('Core', '2024-05-01T22:00:00Z', '2024-05-02T02:00:00Z', 'Apple Watch'),
      segment('Asleep', '2024-05-01T22:00:00Z', '2024-05-02T03:00:00Z', 'iPhone'),
    ]);
    const [day] = await days(key, '2024-05-02', '2024-05-02');
    expect(day!.sleep).toMatchObject({ asleep_h: 5, core_h: null });
  });

  it('takes one source per day for summarised nights: the phone and the watch each sending a night are not added', async () => {
    const key = await userWith([
      night('2024-05-02T06:00:00Z', { total_sleep: 7, core: 4, deep: 1, rem: 2 }, 'Apple Watch'),
      night('2024-05-02T06:30:00Z', { total_sleep: 6.5 }, 'iPhone'),
    ]);
    const [day] = await days(key, '2024-05-02', '2024-05-02');
    // One night each: the tie goes to the longer sleep, the watch's, with its own stages.
    expect(day!.sleep).toMatchObject({ asleep_h: 7, core_h: 4, deep_h: 1, rem_h: 2 });
  });

  it('moves the 18:00 sleep boundary with the clock across a daylight-saving change', async () => {
    // Berlin: UTC+1 until 31 March 2024 02:00, UTC+2 after. 18:00 local is 17:00Z on 30 March, 16:00Z on 31 March.
    const key = await userWith([
      segment('Core', '2024-03-30T16:00:00Z', '2024-03-30T16:59:00Z'), // ends 17:59 on 30 March: 30 March
      segment('Deep', '2024-03-30T16:00:00Z', '2024-03-30T17:00:00Z'), // ends 18:00 on 30 March: 31 March
      segment('REM', '2024-03-31T15:00:00Z', '2024-03-31T15:59:00Z'), // ends 17:59 on 31 March: 31 March
      segment('Asleep', '2024-03-31T15:00:00Z', '2024-03-31T16:00:00Z'), // ends 18:00 on 31 March: 1 April
    ]);
    const items = await days(key, '2024-03-30', '2024-04-01', 'Europe/Berlin');
    expect(items.map((item) => [item.sleep.core_h, item.sleep.deep_h, item.sleep.rem_h, item.sleep.asleep_h])).toEqual([
      [59 / 60, null, null, 59 / 60],
      [null, 1, 59 / 60, 1 + 59 / 60],
      [null, null, null, 1],
    ]);
  });

  const night = (end: string, hours: Record<string, number | null>, source = 'iPhone'): Sample => ({
    kind: 'sleep_night', type: 'sleep_analysis', start: new Date(Date.parse(end) - 8 * 3_600_000).toISOString(), end, source,
    night_date: end.slice(0, 10), ...hours,
  });

  it('counts a summarised night for the local date of its sleepEnd: totalSleep, else core + deep + rem, else asleep', async () => {
    const key = await userWith([
      night('2024-05-01T06:00:00Z', { total_sleep: 7, asleep: 1, core: 4, deep: 1, rem: 1 }),
      night('2024-05-02T06:00:00Z', { asleep: 0, core: 4, deep: 1, rem: 1.5, awake: 0.5, in_bed: 7.5 }),
      night('2024-05-03T06:00:00Z', { asleep: 6.25, in_bed: 7 }),
      // Ends at 01:00 on 5 May in New York but 4 May by UTC: the zone decides.
      night('2024-05-05T05:00:00Z', { total_sleep: 5 }),
    ]);
    const items = await days(key, '2024-05-01', '2024-05-05', 'America/New_York');
    expect(items.map((item) => item.sleep.asleep_h)).toEqual([7, 6.5, 6.25, null, 5]);
    expect(items[1]!.sleep).toMatchObject({ core_h: 4, deep_h: 1, rem_h: 1.5, awake_h: 0.5, in_bed_h: 7.5 });
  });

  it('lets raw segments win over a summarised night of the same day', async () => {
    const key = await userWith([
      night('2024-05-02T06:00:00Z', { total_sleep: 9 }),
      segment('Core', '2024-05-01T23:00:00Z', '2024-05-02T05:00:00Z'),
    ]);
    const [day] = await days(key, '2024-05-02', '2024-05-02');
    expect(day!.sleep).toMatchObject({ asleep_h: 6, core_h: 6 });
  });

  it('takes local days in any IANA zone, Etc/GMT+5 included (five hours behind UTC)', async () => {
    const key = await userWith([quantity('step_count', '2024-05-02T03:00:00Z', '2024-05-02T03:00:00Z', 10, 'iPhone')]);
    expect((await days(key, '2024-05-01', '2024-05-02', 'Etc/GMT+5')).map((item) => item.steps)).toEqual([10, null]);
    expect((await days(key, '2024-05-01', '2024-05-02')).map((item) => item.steps)).toEqual([null, 10]);
  });

  it('puts samples next to midnight on the right day in zones whose midnight is not on the hour', async () => {
    const key = await userWith([
      // Kathmandu is UTC+5:45: 23:59 on 1 May is 18:14Z, 00:01 on 2 May is 18:16Z.
      quantity('step_count', '2024-05-01T18:14:00Z', '2024-05-01T18:14:00Z', 1, 'iPhone'),
      quantity('step_count', '2024-05-01T18:16:00Z', '2024-05-01T18:16:00Z', 2, 'iPhone'),
      // Monrovia moved from -0:44:30 to UTC on 7 January 1972: midnight before the 7th was
      // 00:44:30Z, midnight before the 8th 00:00Z.
      { kind: 'heart_rate', type: 'heart_rate', start: '1972-01-07T00:44:29Z', source: 'clinic', min: 60, avg: 60, max: 60 },
      { kind: 'heart_rate', type: 'heart_rate', start: '1972-01-07T00:44:31Z', source: 'clinic', min: 70, avg: 70, max: 70 },
      { kind: 'heart_rate', type: 'heart_rate', start: '1972-01-07T23:59:45Z', source: 'clinic', min: 75, avg: 75, max: 75 },
      { kind: 'heart_rate', type: 'heart_rate', start: '1972-01-08T00:00:10Z', source: 'clinic', min: 90, avg: 90, max: 90 },
    ]);
    expect((await days(key, '2024-05-01', '2024-05-02', 'Asia/Kathmandu')).map((item) => item.steps)).toEqual([1, 2]);
    const monrovia = await days(key, '1972-01-06', '1972-01-08', 'Africa/Monrovia');
    expect(monrovia.map((item) => [item.heart_rate.min, item.heart_rate.max])).toEqual([[60, 60], [70, 75], [90, 90]]);
  });

  it('keeps days apart across a daylight-saving change', async () => {
    // Berlin moved to UTC+2 on 31 March 2024: 1 April starts at 22:00Z on 31 March.
    const key = await userWith([
      quantity('step_count', '2024-03-30T22:59:00Z', '2024-03-30T22:59:00Z', 1, 'iPhone'),
      quantity('step_count', '2024-03-30T23:01:00Z', '2024-03-30T23:01:00Z', 2, 'iPhone'),
      quantity('step_count', '2024-03-31T21:59:00Z', '2024-03-31T21:59:00Z', 4, 'iPhone'),
      quantity('step_count', '2024-03-31T22:01:00Z', '2024-03-31T22:01:00Z', 8, 'iPhone'),
    ]);
    expect((await days(key, '2024-03-30', '2024-04-01', 'Europe/Berlin')).map((item) => item.steps)).toEqual([1, 6, 8]);
  });

  it('answers one item per day with null where there is no data', async () => {
    const key = await userWith([]);
    const items = await days(key, '2024-02-27', '2024-03-02');
    expect(items.map((item) => item.date)).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02']);
    expect(items[0]).toEqual({
      date: '2024-02-27', steps: null, distance_m: null, active_energy_kcal: null, basal_energy_kcal: null, exercise_min: null, flights: null,
      resting_heart_rate: null, hrv_ms: null, heart_rate: { min: null, avg: null, max: null },
      sleep: { asleep_h: null, core_h: null, deep_h: null, rem_h: null, awake_h: null, in_bed_h: null },
    });
    const year = await days(key, '2024-01-01', '2024-12-31', 'Europe/Berlin');
    expect(year).toHaveLength(366);
  });

  it('refuses an unknown zone, more than 366 days, an end before the start and a malformed date with 400', async () => {
    const key = await userWith([]);
    const cases: [string, string, string | undefined, RegExp][] = [
      ['2024-05-01', '2024-05-02', 'Mars/Olympus_Mons', /tz/],
      ['2024-05-01', '2024-05-02', 'UTC+5', /tz/],
      ['2024-01-01', '2025-01-01', undefined, /366 days/],
      ['2024-05-02', '2024-05-01', undefined, /end must not be before start/],
      ['2024-13-01', '2024-05-01', undefined, /start/],
    ];
    for (const [start, end, tz, message] of cases) {
      const response = await summary(key, start, end, tz);
      expect(response.statusCode, `${start} ${end} ${tz}`).toBe(400);
      expect(response.json().error.code).toBe('BAD_REQUEST');
      expect(response.json().error.message).toMatch(message);
    }
  });
});
