/**
 * Chart series: every bucket's min, avg, max, sum and count equal what the raw
 * samples give when bucketed here, independently, with the zone rules of Intl,
 * for every bucket size, in UTC, a half-hour zone and across both DST changes;
 * plus the limits, units, sources, scopes and users.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Sample {
  at: number;
  source: string;
  /** The distance in m. */
  value: number;
  /** Heart rate, bpm. */
  min: number;
  avg: number;
  max: number;
}

/** Samples every 7 minutes (so they fall at every minute of the hour over time) from two sources, with values that vary. */
function samplesBetween(from: string, to: string, seed: number): Sample[] {
  const samples: Sample[] = [];
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let at = Date.parse(from); at < Date.parse(to); at += 7 * MINUTE) {
    const value = Math.round(next() * 2000) / 10;
    const avg = 40 + value / 2;
    samples.push({ at, source: next() < 0.8 ? 'Apple Watch' : 'iPhone', value, min: avg - 5, avg, max: avg + Math.round(next() * 300) / 10 });
  }
  return samples;
}

// Both DST changes of New York in 2024 (23 h on 10 March, 25 h on 3 November), a month boundary and whole ISO weeks.
const SAMPLES = [...samplesBetween('2024-03-07T00:00:00Z', '2024-03-13T00:00:00Z', 1), ...samplesBetween('2024-10-26T00:00:00Z', '2024-11-13T00:00:00Z', 2)];

// ---------- the expected buckets, computed from the samples with Intl ----------

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The zone's wall clock at an instant, as if it were UTC (ms). */
function wallClock(at: number, zone: string): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (at % 1000);
}
/** The instant a wall-clock time (midnight, not ambiguous) happens at in the zone. */
function instantOf(wall: number, zone: string): number {
  let guess = wall;
  for (let i = 0; i < 3; i++) guess = wall - (wallClock(guess, zone) - guess);
  return guess;
}

const SIZES = { '1m': MINUTE, '15m': 15 * MINUTE, '1h': HOUR } as const;
type Bucket = '1m' | '15m' | '1h' | '1d' | '1w' | '1mo';

function bucketOf(at: number, zone: string, bucket: Bucket): { start: number; end: number } {
  const wall = wallClock(at, zone);
  if (bucket in SIZES) {
    const size = SIZES[bucket as keyof typeof SIZES];
    const start = at - (wall % size);
    return { start, end: start + size };
  }
  const day = new Date(wall - (wall % DAY));
  let first: Date;
  let next: Date;
  if (bucket === '1d') {
    first = day;
    next = new Date(day.getTime() + DAY);
  } else if (bucket === '1w') {
    first = new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY);
    next = new Date(first.getTime() + 7 * DAY);
  } else {
    first = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1));
    next = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1));
  }
  return { start: instantOf(first.getTime(), zone), end: instantOf(next.getTime(), zone) };
}

interface Expected {
  start: string;
  end: string;
  min: number;
  avg: number;
  max: number;
  sum: number;
  count: number;
}

/** The buckets holding samples in [start, end), from `low`, `high` and `value` of each. */
function expectedSeries(samples: Sample[], query: { start: string; end: string; tz: string; bucket: Bucket }, heart: boolean): Expected[] {
  const buckets = new Map<number, Expected>();
  for (const sample of samples) {
    if (sample.at < Date.parse(query.start) || sample.at >= Date.parse(query.end)) continue;
    const { start, end } = bucketOf(sample.at, query.tz, query.bucket);
    const b = buckets.get(start) ?? { start: new Date(start).toISOString(), end: new Date(end).toISOString(), min: Infinity, avg: 0, max: -Infinity, sum: 0, count: 0 };
    b.min = Math.min(b.min, heart ? sample.min : sample.value);
    b.max = Math.max(b.max, heart ? sample.max : sample.value);
    b.sum += heart ? sample.avg : sample.value;
    b.count += 1;
    buckets.set(start, b);
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b).map(([, b]) => ({ ...b, avg: b.sum / b.count }));
}

function expectSameSeries(actual: Expected[], expected: Expected[]): void {
  expect(actual.map(({ start, end, count }) => ({ start, end, count }))).toEqual(expected.map(({ start, end, count }) => ({ start, end, count })));
  actual.forEach((bucket, i) => {
    const want = expected[i]!;
    expect(bucket.min, bucket.start).toBe(want.min);
    expect(bucket.max, bucket.start).toBe(want.max);
    expect(bucket.sum, bucket.start).toBeCloseTo(want.sum, 6);
    expect(bucket.avg, bucket.start).toBeCloseTo(want.avg, 9);
  });
}

// ---------- the tests ----------

describe.each(databaseKinds())('chart series (%s database)', (kind) => {
  let t: TestApp;
  let owner: { userId: string; key: string };
  let other: { userId: string; key: string };
  beforeAll(async () => {
    t = await createTestApp(kind, { env: WAIT_FOR_OUTCOME });
    owner = await t.userWithKey('charts@example.com');
    other = await t.userWithKey('someone-else@example.com');
    const body = {
      samples: SAMPLES.flatMap((s) => {
        const time = new Date(s.at).toISOString();
        return [
          { kind: 'quantity', type: 'walking_running_distance', start: time, end: time, source: s.source, value: s.value, unit: 'm' },
          { kind: 'heart_rate', type: 'heart_rate', start: time, end: time, source: s.source, min: s.min, avg: s.avg, max: s.max },
        ];
      }),
    };
    const response = await t.ingest(body, owner.key);
    expect(response.json()).toMatchObject({ status: 'completed', counts: { inserted: SAMPLES.length * 2, rejected: 0 } });
    // Another user's samples at the same times, with values that would show in any bucket they leaked into.
    const theirs = SAMPLES.slice(0, 50).map((s) => ({ kind: 'quantity', type: 'walking_running_distance', start: new Date(s.at).toISOString(), source: s.source, value: 99_999, unit: 'm' }));
    expect((await t.ingest({ samples: theirs }, other.key)).json()).toMatchObject({ status: 'completed', counts: { inserted: 50 } });
  });
  afterAll(() => t.close());

  const get = (url: string, key = owner.key) => t.app.inject({ url, headers: { authorization: `Bearer ${key}` } });
  async function series(path: string, query: Record<string, string>, key = owner.key): Promise<Expected[]> {
    const response = await get(`/api/v1/data/${path}/series?${new URLSearchParams(query)}`, key);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.next).toBeNull();
    return body.items;
  }

  const AUTUMN = { start: '2024-10-26T00:00:00Z', end: '2024-11-13T00:00:00Z' };
  // The 25-hour day in New York, minute by minute (1,500 buckets), and the day before and after.
  const FALL_BACK_DAY = { start: '2024-11-02T04:00:00Z', end: '2024-11-05T05:00:00Z' };
  const SPRING = { start: '2024-03-07T00:00:00Z', end: '2024-03-13T00:00:00Z' };

  for (const tz of ['UTC', 'Asia/Kolkata', 'America/New_York']) {
    for (const bucket of ['1m', '15m', '1h', '1d', '1w', '1mo'] as const) {
      it(`buckets ${bucket} in ${tz} hold what the raw samples give, for a metric and for heart rate`, async () => {
        const ranges = bucket === '1m' ? [FALL_BACK_DAY] : [AUTUMN, SPRING];
        for (const range of ranges) {
          const query = { ...range, tz, bucket };
          const expected = expectedSeries(SAMPLES, query, false);
          expect(expected.length).toBeGreaterThan(0);
          expectSameSeries(await series('metrics/walking_running_distance', query), expected);
          expectSameSeries(await series('heart-rate', query), expectedSeries(SAMPLES, query, true));
        }
      });
    }
  }

  it('gives the DST days of New York 23 and 25 hours, and a half-hour zone its own midnights', async () => {
    const length = (item: Expected) => (Date.parse(item.end) - Date.parse(item.start)) / HOUR;
    const autumn = await series('heart-rate', { ...AUTUMN, tz: 'America/New_York', bucket: '1d' });
    expect(autumn.find((item) => item.start === '2024-11-03T04:00:00.000Z')).toMatchObject({ end: '2024-11-04T05:00:00.000Z' });
    expect(autumn.map(length).filter((hours) => hours !== 24)).toEqual([25]);
    const spring = await series('heart-rate', { ...SPRING, tz: 'America/New_York', bucket: '1d' });
    expect(spring.find((item) => item.start === '2024-03-10T05:00:00.000Z')).toMatchObject({ end: '2024-03-11T04:00:00.000Z' });
    expect(spring.map(length).filter((hours) => hours !== 24)).toEqual([23]);
    // The repeated hour of 3 November is two buckets of an hour, one in each offset.
    const hours = await series('heart-rate', { ...FALL_BACK_DAY, tz: 'America/New_York', bucket: '1h' });
    expect(hours.filter((item) => item.start >= '2024-11-03T05:00' && item.start < '2024-11-03T07:00').map((item) => [item.start, item.end])).toEqual([
      ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z'],
      ['2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z'],
    ]);
    const kolkata = await series('heart-rate', { ...AUTUMN, tz: 'Asia/Kolkata', bucket: '1d' });
    expect(kolkata.every((item) => item.start.endsWith('T18:30:00.000Z') && length(item) === 24)).toBe(true);
  });

  it('starts weeks on Monday at local midnight', async () => {
    const weeks = await series('metrics/walking_running_distance', { ...AUTUMN, tz: 'Europe/Berlin', bucket: '1w' });
    expect(weeks.map((item) => item.start)).toEqual(['2024-10-20T22:00:00.000Z', '2024-10-27T23:00:00.000Z', '2024-11-03T23:00:00.000Z', '2024-11-10T23:00:00.000Z']);
    for (const item of weeks) {
      expect(new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'long', hour: 'numeric', hourCycle: 'h23' }).format(Date.parse(item.start))).toBe('Monday, 00');
    }
    // The week of the change to winter time (Sunday 27 October) is 7 days and an hour.
    expect(Date.parse(weeks[0]!.end) - Date.parse(weeks[0]!.start)).toBe(7 * DAY + HOUR);
  });

  it('answers up to 5,000 buckets and refuses 5,001 with 400 and a message saying why', async () => {
    const start = '2024-01-01T00:00:00.000Z';
    const ok = await get(`/api/v1/data/heart-rate/series?start=${start}&end=${new Date(Date.parse(start) + 5000 * HOUR).toISOString()}&bucket=1h`);
    expect(ok.statusCode, ok.body).toBe(200);
    const refused = await get(`/api/v1/data/heart-rate/series?start=${start}&end=${new Date(Date.parse(start) + 5001 * HOUR).toISOString()}&bucket=1h`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toBe(
      'a 1h series from 2024-01-01T00:00:00.000Z to 2024-07-27T09:00:00.000Z spans more than 5,000 buckets; ask for a shorter range or a larger bucket',
    );
    // Days counted on the local calendar: 5,001 days are refused in any zone.
    const days = await get(`/api/v1/data/metrics/walking_running_distance/series?start=2000-01-01T00:00:00-05:00&end=2013-09-10T00:00:00-04:00&tz=America/New_York&bucket=1d`);
    expect(days.statusCode).toBe(400);
    const fewer = await get(`/api/v1/data/metrics/walking_running_distance/series?start=2000-01-01T00:00:00-05:00&end=2013-09-09T00:00:00-04:00&tz=America/New_York&bucket=1d`);
    expect(fewer.statusCode, fewer.body).toBe(200);
  });

  it('refuses a bad bucket, zone, or a range that ends before it starts, naming the parameter', async () => {
    const cases = [
      ['heart-rate/series?start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z&bucket=2d', 'bucket'],
      ['heart-rate/series?start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z&bucket=1d&tz=Mars/Olympus', 'tz'],
      ['heart-rate/series?start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z&bucket=1d', 'end'],
      ['heart-rate/series?end=2024-01-01T00:00:00Z&bucket=1d', 'start'],
    ];
    for (const [path, parameter] of cases) {
      const response = await get(`/api/v1/data/${path}`);
      expect(response.statusCode, path).toBe(400);
      expect(response.json().error.message, path).toContain(parameter);
    }
  });

  it('converts to ?unit= like the sample reads, and refuses a unit of another dimension', async () => {
    const query = { ...AUTUMN, tz: 'UTC', bucket: '1d' };
    const metres = await series('metrics/walking_running_distance', query);
    const km = await series('metrics/walking_running_distance', { ...query, unit: 'km' });
    expect(km.map((item) => item.count)).toEqual(metres.map((item) => item.count));
    km.forEach((item, i) => {
      expect(item.min).toBeCloseTo(metres[i]!.min / 1000, 12);
      expect(item.max).toBeCloseTo(metres[i]!.max / 1000, 12);
      expect(item.sum).toBeCloseTo(metres[i]!.sum / 1000, 9);
      expect(item.avg).toBeCloseTo(metres[i]!.avg / 1000, 12);
    });
    const refused = await get('/api/v1/data/metrics/walking_running_distance/series?start=2024-10-26T00:00:00Z&end=2024-11-13T00:00:00Z&bucket=1d&unit=kg');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toContain('supported units');
  });

  it('converts temperatures with their offset once per sample in the sum', async () => {
    const user = await t.userWithKey('temperature@example.com');
    const readings = [36.5, 37.1, 38.2].map((value, i) => ({ kind: 'quantity', type: 'body_temperature', start: `2024-05-01T0${i}:00:00Z`, value, unit: 'degC' }));
    expect((await t.ingest({ samples: readings }, user.key)).json()).toMatchObject({ counts: { inserted: 3 } });
    const [day] = await series('metrics/body_temperature', { start: '2024-05-01T00:00:00Z', end: '2024-05-02T00:00:00Z', bucket: '1d', unit: 'degF' }, user.key);
    const f = (c: number) => (c * 9) / 5 + 32;
    expect(day!.min).toBeCloseTo(f(36.5), 9);
    expect(day!.max).toBeCloseTo(f(38.2), 9);
    expect(day!.sum).toBeCloseTo(f(36.5) + f(37.1) + f(38.2), 9);
    expect(day!.avg).toBeCloseTo((f(36.5) + f(37.1) + f(38.2)) / 3, 9);
  });

  it('answers a bucket whose float8 sum overflows (rows stored before the upper bounds), with a null sum', async () => {
    const user = await t.userWithKey('overflow@example.com');
    const huge = [0, 1].map((i) => ({ kind: 'quantity', type: 'body_mass', start: `2024-05-01T0${i}:00:00Z`, value: 70, unit: 'kg' }));
    expect((await t.ingest({ samples: huge }, user.key)).json()).toMatchObject({ counts: { inserted: 2 } });
    await t.db.query("UPDATE quantity_samples SET value = 1.7e308 WHERE user_id = $1 AND metric = 'body_mass'", [user.userId]);
    const days = await series('metrics/body_mass', { start: '2024-05-01T00:00:00Z', end: '2024-05-02T00:00:00Z', bucket: '1d' }, user.key);
    expect(days).toEqual([{ start: '2024-05-01T00:00:00.000Z', end: '2024-05-02T00:00:00.000Z', min: 1.7e308, avg: 1.7e308, max: 1.7e308, sum: null, count: 2 }]);
  });

  it('counts every source unless source= names one', async () => {
    const query = { ...AUTUMN, tz: 'UTC', bucket: '1w' as const };
    const all = await series('metrics/walking_running_distance', query);
    const watch = await series('metrics/walking_running_distance', { ...query, source: 'Apple Watch' });
    expectSameSeries(watch, expectedSeries(SAMPLES.filter((s) => s.source === 'Apple Watch'), query, false));
    const phone = await series('heart-rate', { ...query, source: 'iPhone' });
    expectSameSeries(phone, expectedSeries(SAMPLES.filter((s) => s.source === 'iPhone'), query, true));
    expect(watch.reduce((n, item) => n + item.count, 0) + phone.reduce((n, item) => n + item.count, 0)).toBe(all.reduce((n, item) => n + item.count, 0));
  });

  it("never counts another user's samples, and each user sees only their own", async () => {
    const query = { start: '2024-03-07T00:00:00Z', end: '2024-03-08T00:00:00Z', bucket: '1d' as const };
    const mine = await series('metrics/walking_running_distance', query);
    expect(mine[0]!.max).toBeLessThan(99_999);
    expect(mine[0]!.count).toBe(expectedSeries(SAMPLES, { ...query, tz: 'UTC' }, false)[0]!.count);
    const theirs = await series('metrics/walking_running_distance', query, other.key);
    expect(theirs).toEqual([{ start: '2024-03-07T00:00:00.000Z', end: '2024-03-08T00:00:00.000Z', min: 99_999, avg: 99_999, max: 99_999, sum: 50 * 99_999, count: 50 }]);
    expect(await series('heart-rate', query, other.key)).toEqual([]);
  });

  it('needs a read key, like every data read', async () => {
    const path = '/api/v1/data/heart-rate/series?start=2024-03-07T00:00:00Z&end=2024-03-08T00:00:00Z&bucket=1d';
    expect((await t.app.inject({ url: path })).statusCode).toBe(401);
    const ingestOnly = await t.userWithKey('ingest-only@example.com', ['ingest']);
    const forbidden = await get(path, ingestOnly.key);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('FORBIDDEN');
    expect((await get(path.replace('heart-rate', 'metrics/walking_running_distance'), ingestOnly.key)).statusCode).toBe(403);
  });

  it('sends heart rate to its own series, and says blood pressure has none', async () => {
    const range = 'start=2024-03-07T00:00:00Z&end=2024-03-08T00:00:00Z&bucket=1d';
    const heart = await get(`/api/v1/data/metrics/heart_rate/series?${range}`);
    expect(heart.statusCode).toBe(404);
    expect(heart.json().error.message).toBe('heart_rate series are served by /api/v1/data/heart-rate/series');
    expect((await get(`/api/v1/data/metrics/blood_pressure/series?${range}`)).json().error.message).toBe('blood_pressure has no series; its samples are served by /api/v1/data/blood-pressure');
    expect(await series('metrics/vo2_max', { start: '2024-03-07T00:00:00Z', end: '2024-03-08T00:00:00Z', bucket: '1d' })).toEqual([]);
  });
});
