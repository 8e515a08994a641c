/**
 * The daily summary's rollups are a cache of the raw samples' answer: for every fixture
 * and for a generated year, in zones with whole-hour, half-hour and 45-minute offsets and
 * DST changes, the summary from the rollups equals the summary from the samples, value for
 * value. It stays equal when a finer-grained upload arrives after a coarse one, after
 * erasures and after a reprocess, and a zone whose midnights are off the quarter hour is
 * answered from the samples.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryRepository, type DailySummaryRow } from '../../src/storage/repositories/summary.js';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { expectCountsAddUp } from '../helpers/counts.js';
import { databaseKinds } from '../helpers/databases.js';
import { FIXTURES_DIR, readFixture } from '../helpers/fixtures.js';
import { readdirSync } from 'node:fs';

type Sample = Record<string, unknown>;

/** Zones whose offsets are multiples of 15 minutes: whole hours with DST, +05:30, +05:45, -03:30 with DST, Lord Howe's 30-minute DST. */
const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns', 'Australia/Lord_Howe'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const quantity = (type: string, start: number, end: number, value: number, source: string, unit = 'count'): Sample => ({
  kind: 'quantity', type, start: iso(start), end: iso(end), source, value, unit,
});
const heartRate = (start: number, avg: number, source: string): Sample => ({
  kind: 'heart_rate', type: 'heart_rate', start: iso(start), source, min: avg - 7, avg, max: avg + 11,
});

/** mulberry32: the same year every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 2024 (366 days, both DST changes) as a phone and a watch would send it, every grain rule
 * exercised: the watch's per-minute steps inside its own hourly buckets (the buckets give
 * way), hourly buckets alone (they count), buckets on UTC hours that straddle Kathmandu's
 * and Kolkata's midnights, the phone's day-long samples holding its own hourly ones,
 * points, energy at two grains, heart rate from two sources, resting heart rate and HRV.
 * Shuffled, so finer and coarser samples land in either order across chunks.
 */
function generatedYear(): Sample[] {
  const rnd = random(2024);
  const int = (n: number) => Math.floor(rnd() * n);
  const samples: Sample[] = [];
  const first = Date.UTC(2024, 0, 1);
  for (let day = 0; day < 366; day++) {
    const midnight = first + day * DAY;
    for (let minute = 5 * 60; minute < 23 * 60; minute += 30) {
      samples.push(heartRate(midnight + minute * MINUTE + int(20) * MINUTE, 55 + int(60), day % 3 === 0 ? 'Polar H10' : 'Watch'));
    }
    const fineHour = 6 + int(14);
    for (let hour = 4; hour < 23; hour += 2 + int(2)) {
      samples.push(quantity('step_count', midnight + hour * HOUR, midnight + (hour + 1) * HOUR, 200 + int(900), 'Watch'));
    }
    samples.push(quantity('step_count', midnight + fineHour * HOUR, midnight + (fineHour + 1) * HOUR, 1000 + int(500), 'Watch'));
    for (let minute = 0; minute < 60; minute += 1 + int(3)) {
      const start = midnight + fineHour * HOUR + minute * MINUTE;
      samples.push(quantity('step_count', start, start + MINUTE, int(120), 'Watch'));
    }
    // Around 18:00-19:00 UTC: Kathmandu's midnight is 18:15Z, Kolkata's 18:30Z.
    samples.push(quantity('step_count', midnight + 18 * HOUR, midnight + 19 * HOUR, 50 + int(300), 'Watch'));
    for (let point = 0; point < 12 + int(20); point++) samples.push(quantity('step_count', midnight + int(DAY), midnight + int(DAY), int(400), 'iPhone'));
    if (day % 7 === 3) {
      // A day-long phone sample from noon to noon, with hourly phone samples inside it on the next morning.
      samples.push(quantity('step_count', midnight + 12 * HOUR, midnight + 36 * HOUR, 5000 + int(3000), 'iPhone'));
      for (let hour = 26; hour < 30; hour++) samples.push(quantity('step_count', midnight + hour * HOUR, midnight + (hour + 1) * HOUR, int(700), 'iPhone'));
    }
    for (let quarter = 24; quarter < 88; quarter += 1 + int(6)) {
      const start = midnight + quarter * 15 * MINUTE;
      samples.push(quantity('active_energy', start, start + 15 * MINUTE, 5 + rnd() * 40, 'Watch', 'kcal'));
      if (quarter % 5 === 0) for (let five = 0; five < 3; five++) samples.push(quantity('active_energy', start + five * 5 * MINUTE, start + (five + 1) * 5 * MINUTE, rnd() * 15, 'Watch', 'kcal'));
    }
    samples.push(quantity('flights_climbed', midnight + int(DAY), midnight + int(DAY), 1 + int(5), 'iPhone'));
    samples.push(quantity('resting_heart_rate', midnight + 7 * HOUR, midnight + 7 * HOUR, 48 + int(15), 'Watch', 'count/min'));
    for (let i = 0; i < 2; i++) samples.push(quantity('heart_rate_variability', midnight + int(DAY), midnight + int(DAY), 20 + rnd() * 60, 'Watch', 'ms'));
  }
  for (let i = samples.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [samples[i], samples[j]] = [samples[j]!, samples[i]!];
  }
  return samples;
}

/** Values that are not null, so a comparison of two empty answers cannot pass for a real one. */
const filled = (rows: DailySummaryRow[]) =>
  rows.reduce((n, row) => n + Object.entries(row).filter(([field, value]) => field !== 'date' && value !== null).length, 0);

describe.each(databaseKinds())('summary rollups (%s database)', (kind) => {
  let t: TestApp;
  let users = 0;
  beforeAll(async () => {
    // Small chunks: an upload is many transactions, and a chunk's finer samples meet coarser ones stored by another.
    t = await createTestApp(kind, { env: { ...WAIT_FOR_OUTCOME, BATCH_CHUNK_SIZE: '997' } });
  });
  afterAll(() => t.close(), 300_000);

  async function newUser(): Promise<{ userId: string; key: string }> {
    return t.userWithKey(`rollups-${(users += 1)}@example.com`);
  }

  async function upload(key: string, body: object | Buffer): Promise<void> {
    const response = await t.ingest(body, key);
    expect(response.statusCode, response.body).toBe(200);
    expectCountsAddUp(response.json());
  }

  /** The summary from the rollups and from the samples, which must be the same; returns it. */
  async function sameAnswer(userId: string, first: string, last: string, zone: string): Promise<DailySummaryRow[]> {
    const summary = summaryRepository(t.db);
    expect(await summary.inputFor(userId, first, last, zone)).toBe('rollups');
    const fromRollups = await summary.daily(userId, first, last, zone, 'rollups');
    expect(fromRollups, `${zone} ${first}..${last}`).toEqual(await summary.daily(userId, first, last, zone, 'samples'));
    return fromRollups;
  }

  /** The days holding a user's quantity and heart-rate samples, one more on each side. */
  async function span(userId: string): Promise<[string, string] | null> {
    const { rows } = await t.db.query<{ first: string | null; last: string | null }>(
      `SELECT ((min(start_at) AT TIME ZONE 'UTC')::date - 1)::text AS first, ((max(start_at) AT TIME ZONE 'UTC')::date + 1)::text AS last
       FROM (SELECT start_at FROM quantity_samples WHERE user_id = $1 UNION ALL SELECT start_at FROM heart_rate_samples WHERE user_id = $1) s`,
      [userId],
    );
    const { first, last } = rows[0]!;
    return first && last ? [first, last] : null;
  }

  it.each(readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json')))('gives the samples\' answer for the fixture %s in every zone', async (name) => {
    const { userId, key } = await newUser();
    await upload(key, readFixture(name));
    const days = await span(userId);
    if (!days) {
      // Sleep, workouts and events only: nothing for the rollups, and the answer is still the samples'.
      expect(await summaryRepository(t.db).daily(userId, '2024-01-01', '2024-01-02', 'UTC')).toEqual(await summaryRepository(t.db).daily(userId, '2024-01-01', '2024-01-02', 'UTC', 'samples'));
      return;
    }
    let values = 0;
    for (const zone of ZONES) values += filled(await sameAnswer(userId, days[0], days[1], zone));
    expect(values).toBeGreaterThan(0);
  });

  it('gives the samples\' answer for a generated year in zones with hour, half-hour and 45-minute offsets and DST changes', async () => {
    const { userId, key } = await newUser();
    await upload(key, { samples: generatedYear() });
    for (const zone of ZONES) {
      const year = await sameAnswer(userId, '2024-01-01', '2024-12-31', zone);
      expect(year).toHaveLength(366);
      // Every day has steps, energy and heart rate: the comparison covered the whole year.
      expect(year.filter((day) => day.steps !== null && day.active_energy_kcal !== null && day.hr_avg !== null).length, zone).toBeGreaterThanOrEqual(364);
    }
    // Across the ranges the app is asked for: a month ending in the middle of a noon-to-noon sample.
    await sameAnswer(userId, '2024-03-01', '2024-03-25', 'Asia/Kathmandu');
    await sameAnswer(userId, '2024-10-20', '2024-10-31', 'Europe/Berlin');
    // About 50,000 samples, written and read in six zones both ways: minutes on a loaded machine.
  }, 900_000);

  it('lets a finer-grained upload arriving after a coarse one take the coarse samples out of the count', async () => {
    const { userId, key } = await newUser();
    const at = Date.UTC(2024, 4, 1, 10);
    await upload(key, { samples: [quantity('step_count', at, at + HOUR, 1000, 'Watch'), quantity('step_count', at + 2 * HOUR, at + 3 * HOUR, 50, 'Watch')] });
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-01', 'UTC'))[0]!.steps).toBe(1050);
    // The per-minute samples of the first hour, later and in chunks of their own.
    await upload(key, { samples: Array.from({ length: 60 }, (_, m) => quantity('step_count', at + m * MINUTE, at + (m + 1) * MINUTE, 10, 'Watch')) });
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-01', 'UTC'))[0]!.steps).toBe(650);
    // A coarser one arriving last does not count either.
    await upload(key, { samples: [quantity('step_count', at - HOUR, at + 2 * HOUR, 9999, 'Watch')] });
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-01', 'Asia/Kathmandu'))[0]!.steps).toBe(650);
  });

  it('stays equal to the samples after erasing a range of steps, of heart rate, and the whole user', async () => {
    const { userId, key } = await newUser();
    const at = Date.UTC(2024, 4, 1, 10);
    await upload(key, {
      samples: [
        quantity('step_count', at, at + HOUR, 1000, 'Watch'),
        ...Array.from({ length: 30 }, (_, m) => quantity('step_count', at + (30 + m) * MINUTE, at + (31 + m) * MINUTE, 10, 'Watch')),
        ...Array.from({ length: 24 }, (_, h) => heartRate(at - 10 * HOUR + h * HOUR, 60 + h, 'Watch')),
      ],
    });
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-02', 'UTC'))[0]!.steps).toBe(300);
    const created = await t.app.inject({
      method: 'POST', url: '/api/v1/auth/keys', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { name: 'eraser', scopes: ['delete'], user_id: userId },
    });
    const eraser = { authorization: `Bearer ${created.json().key}` };
    const erase = async (type: string, start: number, end: number) => {
      const response = await t.app.inject({ method: 'DELETE', url: `/api/v1/data/${type}?start=${iso(start)}&end=${iso(end)}`, headers: eraser });
      expect(response.statusCode, response.body).toBe(200);
      return response.json().deleted;
    };
    // The minutes go: the hourly bucket they had taken out of the count counts again.
    expect(await erase('step_count', at + 1, at + HOUR)).toBe(30);
    const [day] = await sameAnswer(userId, '2024-05-01', '2024-05-02', 'UTC');
    expect(day!.steps).toBe(1000);
    expect(await erase('heart_rate', at - 10 * HOUR, at + 3 * HOUR)).toBe(13);
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-02', 'Asia/Kolkata'))[0]!.hr_min).toBe(66);

    const erased = await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${userId}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(erased.statusCode, erased.body).toBe(200);
    const left = await t.db.query<{ n: number }>(
      'SELECT (SELECT count(*) FROM quantity_rollups WHERE user_id = $1)::int + (SELECT count(*) FROM heart_rate_rollups WHERE user_id = $1)::int AS n',
      [userId],
    );
    expect(left.rows[0]!.n).toBe(0);
  });

  it('counts what a reprocess with a wider threshold stores', async () => {
    const { userId, key } = await newUser();
    const at = Date.UTC(2024, 4, 1, 10);
    const response = await t.ingest({ samples: [heartRate(at, 70, 'Watch'), heartRate(at + MINUTE, 320, 'Watch')] }, key);
    expect(expectCountsAddUp(response.json())).toMatchObject({ inserted: 1, rejected: 1 });
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-01', 'UTC'))[0]!.hr_max).toBe(81);
    const wider = await createTestApp(kind, { env: { ...WAIT_FOR_OUTCOME, VALIDATION_HEART_RATE_MAX: '350' }, reset: false });
    try {
      const again = await wider.app.inject({ method: 'POST', url: `/api/v1/ingestions/${response.json().id}/reprocess`, headers: { authorization: `Bearer ${key}` } });
      expect(again.statusCode, again.body).toBe(200);
      expect(expectCountsAddUp(again.json())).toMatchObject({ inserted: 1, unchanged: 1, rejected: 0 });
    } finally {
      await wider.close();
    }
    expect((await sameAnswer(userId, '2024-05-01', '2024-05-01', 'UTC'))[0]).toMatchObject({ hr_max: 331, hr_avg: 195 });
  });

  it('answers Monrovia before 1972 (-0:44:30) from the samples, and from the rollups once its offset is whole', async () => {
    const { userId, key } = await newUser();
    await upload(key, {
      samples: [
        heartRate(Date.parse('1971-12-31T00:44:29Z'), 60, 'clinic'),
        heartRate(Date.parse('1971-12-31T00:44:31Z'), 70, 'clinic'),
        quantity('step_count', Date.parse('1971-12-31T00:30:00Z'), Date.parse('1971-12-31T00:50:00Z'), 100, 'clinic'),
        quantity('step_count', Date.parse('1971-12-31T00:40:00Z'), Date.parse('1971-12-31T00:41:00Z'), 7, 'clinic'),
        heartRate(Date.parse('1972-01-09T00:10:00Z'), 80, 'clinic'),
      ],
    });
    const summary = summaryRepository(t.db);
    expect(await summary.inputFor(userId, '1971-12-30', '1971-12-31', 'Africa/Monrovia')).toBe('samples');
    // A range reaching across the change has one midnight off the quarter hour: the samples answer it all.
    expect(await summary.inputFor(userId, '1972-01-06', '1972-01-09', 'Africa/Monrovia')).toBe('samples');
    const response = await t.app.inject({
      url: '/api/v1/summary/daily?start=1971-12-30&end=1971-12-31&tz=Africa/Monrovia', headers: { authorization: `Bearer ${key}` },
    });
    const items = response.json().items;
    // Midnight of the 31st was 00:44:30Z: the first sample is the 30th's, the second the 31st's.
    expect(items.map((item: { heart_rate: { max: number | null } }) => item.heart_rate.max)).toEqual([71, 81]);
    expect(items.map((item: { steps: number | null }) => item.steps)).toEqual([7, null]);
    const raw = await summary.daily(userId, '1971-12-30', '1971-12-31', 'Africa/Monrovia', 'samples');
    expect(raw.map((day) => [day.hr_max, day.steps])).toEqual([[71, 7], [81, null]]);
    expect((await sameAnswer(userId, '1972-01-08', '1972-01-10', 'Africa/Monrovia'))[1]!.hr_avg).toBe(80);
  });
});
