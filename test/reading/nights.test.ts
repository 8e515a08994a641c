/**
 * One definition of a night: /data/sleep?detail=nights and /summary/daily read the
 * same nights, so for every date of every fixture the summary's sleep is the night
 * item the api.md rules choose (segments first, then the source with most samples,
 * then the longer sleep). Before, a month sent only as segments had 29 nights in the
 * summary and none in the list, and the night of 2024-03-14 said asleep 0 in the list
 * and 6.275 h in the summary. Also the identity of a summarised night (issue 17, 1a).
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestionsRepository } from '../../src/storage/repositories/ingestions.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { FIXTURES_DIR, readFixture } from '../helpers/fixtures.js';

type Night = Record<string, any>;
const SLEEP_FIELDS = ['asleep_h', 'core_h', 'deep_h', 'rem_h', 'awake_h', 'in_bed_h'] as const;

/** api.md's choice among one date's nights, written out again from the rules (not from the server's SQL). */
function chosen(nights: Night[]): Night {
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return [...nights].sort(
    (a, b) =>
      Number(b.origin === 'segments') - Number(a.origin === 'segments') ||
      b.samples - a.samples ||
      (b.asleep_h ?? -Infinity) - (a.asleep_h ?? -Infinity) ||
      byteOrder(a.source, b.source),
  )[0]!;
}

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe.each(databaseKinds())('nights (%s database)', (kind) => {
  let t: TestApp;
  let users = 0;
  beforeAll(async () => {
    // The real metrics fixture must finish within the answer (200) even on a busy machine.
    t = await createTestApp(kind, { env: { INGEST_SYNC_BUDGET_MS: '600000' } });
  });
  afterAll(() => t.close());

  let userId = '';
  /** A new user's key; `userId` is then that user's id. */
  async function newUser(): Promise<string> {
    const user = await t.userWithKey(`nights-${(users += 1)}@example.com`);
    userId = user.userId;
    return user.key;
  }

  async function get(key: string, url: string) {
    const response = await t.app.inject({ url, headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  async function nights(key: string, query: Record<string, string> = {}): Promise<Night[]> {
    const items: Night[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ limit: '7', ...query, ...(cursor ? { cursor } : {}) });
      const page: { items: Night[]; next: string | null } = await get(key, `/api/v1/data/sleep?${params}`);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return items;
  }

  async function summaryDays(key: string, first: string, last: string, tz: string): Promise<Night[]> {
    return (await get(key, `/api/v1/summary/daily?${new URLSearchParams({ start: first, end: last, tz })}`)).items;
  }

  /** For every date from the day before the first night to the day after the last, the summary's sleep is the chosen night's. */
  async function expectAgreement(key: string, tz: string): Promise<Night[]> {
    const all = await nights(key, { tz });
    const dates = all.map((n) => n.date as string).sort();
    const first = addDays(dates[0]!, -1);
    const last = addDays(dates.at(-1)!, 1);
    const days = await summaryDays(key, first, last, tz);
    for (const day of days) {
      const ofDate = all.filter((n) => n.date === day.date);
      if (ofDate.length === 0) {
        expect(day.sleep, day.date).toEqual(Object.fromEntries(SLEEP_FIELDS.map((f) => [f, null])));
        continue;
      }
      const night = chosen(ofDate);
      for (const field of SLEEP_FIELDS) {
        if (night[field] === null) expect(day.sleep[field], `${day.date} ${field}`).toBeNull();
        else expect(day.sleep[field], `${day.date} ${field}`).toBeCloseTo(night[field], 9);
      }
    }
    return all;
  }

  const fixtures = readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json'));
  it.each(fixtures.flatMap((name) => ['UTC', 'America/New_York'].map((tz) => [name, tz])))(
    'agrees with the daily summary on every date of %s (%s)',
    async (name, tz) => {
      const key = await newUser();
      const response = await t.ingest(readFixture(name), key);
      expect(response.statusCode, response.body).toBe(200);
      const all = await nights(key, { tz });
      if (!response.json().by_type.sleep_analysis) {
        expect(all).toEqual([]);
        return;
      }
      await expectAgreement(key, tz);
    },
  );

  it('lists the 29 nights of the month sent only as segments, which it used to answer with []', async () => {
    const key = await newUser();
    expect((await t.ingest(readFixture('real-sleep-segments-2025-04.json'), key)).statusCode).toBe(200);
    const all = await expectAgreement(key, 'America/New_York');
    expect(all.every((n) => n.origin === 'segments')).toBe(true);
    expect(new Set(all.map((n) => n.date)).size).toBe(29);
    const days = await summaryDays(key, '2025-03-01', '2025-06-01', 'America/New_York');
    expect(days.filter((d) => d.sleep.asleep_h !== null)).toHaveLength(29);
  });

  it('gives the night of 2024-03-14 the 6.275 h asleep the summary gives, not asleep 0 as sent', async () => {
    const key = await newUser();
    expect((await t.ingest(readFixture('real-metrics-2024-03.json'), key)).statusCode).toBe(200);
    await expectAgreement(key, 'UTC');
    const [night] = await nights(key, { start: '2024-03-14T00:00:00Z', end: '2024-03-15T00:00:00Z' });
    expect(night).toMatchObject({ date: '2024-03-14', origin: 'summarised', samples: 1, total_sleep_h: null, rem_h: 1.375 });
    expect(night!.asleep_h).toBeCloseTo(6.275, 9);
    const [day] = await summaryDays(key, '2024-03-14', '2024-03-14', 'UTC');
    expect(day!.sleep.asleep_h).toBeCloseTo(6.275, 9);
  });

  it('selects nights by the local midnight of their date in tz, and by exact source', async () => {
    const key = await newUser();
    expect((await t.ingest(readFixture('real-metrics-2024-03.json'), key)).statusCode).toBe(200);
    const all = await nights(key, { tz: 'America/New_York' });
    const some = await nights(key, { tz: 'America/New_York', start: '2024-03-14T00:00:00-04:00', end: '2024-03-16T00:00:00-04:00' });
    expect(some.map((n) => n.date)).toEqual(['2024-03-14', '2024-03-15']);
    // A start after a date's midnight leaves that date out.
    const later = await nights(key, { tz: 'America/New_York', start: '2024-03-14T00:00:01-04:00', end: '2024-03-16T00:00:00-04:00' });
    expect(later.map((n) => n.date)).toEqual(['2024-03-15']);
    const source = all[0]!.source as string;
    expect((await nights(key, { source })).every((n) => n.source === source)).toBe(true);
    const backwards = await nights(key, { tz: 'America/New_York', order: 'desc' });
    expect(backwards).toEqual([...all].reverse());
  });

  it('keeps two naps ending the same day from one watch as two, which one used to overwrite', async () => {
    const key = await newUser();
    const nap = (start: string, end: string, core: number) => ({
      date: '2025-04-12 00:00:00 -0400', sleepStart: start, sleepEnd: end, inBedStart: start, inBedEnd: end,
      asleep: 0, core, deep: 0, rem: 0, awake: 0, inBed: core, source: 'Watch',
    });
    const body = {
      data: {
        metrics: [
          {
            name: 'sleep_analysis',
            units: 'hr',
            data: [nap('2025-04-12 15:59:00 -0400', '2025-04-12 17:28:00 -0400', 1.4), nap('2025-04-12 17:28:00 -0400', '2025-04-12 18:26:00 -0400', 0.9)],
          },
        ],
      },
    };
    const first = await t.ingest(body, key);
    expect(first.json().counts).toMatchObject({ received: 2, inserted: 2, updated: 0 });
    // Re-sent, nothing changes: before, the second nap replaced the first on every send.
    const again = await t.ingest({ ...body, resent: true }, key);
    expect(again.json().counts).toMatchObject({ received: 2, inserted: 0, updated: 0, unchanged: 2 });
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sleep_nights WHERE user_id = $1', [userId]);
    expect(stored.rows[0]!.n).toBe(2);
    const [night] = await nights(key, { tz: 'America/New_York' });
    expect(night).toMatchObject({ date: '2025-04-12', samples: 2, start: '2025-04-12T19:59:00.000Z', end: '2025-04-12T22:26:00.000Z' });
    expect(night!.asleep_h).toBeCloseTo(2.3, 9);
    const [day] = await summaryDays(key, '2025-04-12', '2025-04-12', 'America/New_York');
    expect(day!.sleep.asleep_h).toBeCloseTo(2.3, 9);
  });

  it('brings back a nap an earlier version overwrote by reprocessing the ingestions that carried sleep data (reprocess --type sleep_analysis)', async () => {
    const key = await newUser();
    const nap = (start: string, end: string) => ({ sleepStart: start, sleepEnd: end, asleep: 1, source: 'Watch' });
    const sleep = await t.ingest(
      { data: { metrics: [{ name: 'sleep_analysis', units: 'hr', data: [nap('2025-04-12 15:59:00 -0400', '2025-04-12 17:28:00 -0400'), nap('2025-04-12 17:28:00 -0400', '2025-04-12 18:26:00 -0400')] }] } },
      key,
    );
    const steps = await t.ingest({ data: { metrics: [{ name: 'step_count', units: 'count', data: [{ date: '2025-04-12 09:00:00 -0400', qty: 5 }] }] } }, key);
    // What the old identity left: the first nap overwritten by the second.
    await t.db.query("DELETE FROM sleep_nights WHERE user_id = $1 AND start_at = '2025-04-12T19:59:00Z'", [userId]);
    const targets = (await ingestionsRepository(t.db).idsToReprocess({ type: 'sleep_analysis' })).map((row) => row.id);
    expect(targets).toContain(sleep.json().id);
    expect(targets).not.toContain(steps.json().id);
    for (const id of [sleep.json().id as string]) {
      const response = await t.app.inject({ method: 'POST', url: `/api/v1/ingestions/${id}/reprocess`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(response.statusCode, response.body).toBe(200);
    }
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sleep_nights WHERE user_id = $1', [userId]);
    expect(stored.rows[0]!.n).toBe(2);
  });

  it('updates a night in place while it grows (same start, later end), even past midnight', async () => {
    const key = await newUser();
    const night = (end: string, core: number) => ({
      data: {
        metrics: [
          {
            name: 'sleep_analysis',
            units: 'hr',
            data: [{ date: '2025-04-12', sleepStart: '2025-04-12 22:30:00 -0400', sleepEnd: end, asleep: 0, core, deep: 0, rem: 0, source: 'Watch' }],
          },
        ],
      },
    });
    expect((await t.ingest(night('2025-04-12 23:50:00 -0400', 1.2), key)).json().counts).toMatchObject({ inserted: 1 });
    expect((await t.ingest(night('2025-04-13 06:40:00 -0400', 7.5), key)).json().counts).toMatchObject({ inserted: 0, updated: 1 });
    const rows = await t.db.query<{ night_date: string; core: number }>('SELECT night_date::text, core FROM sleep_nights WHERE user_id = $1', [userId]);
    expect(rows.rows).toEqual([{ night_date: '2025-04-13', core: 7.5 }]);
  });

  it('identifies a night without sleepStart by its inBedStart', async () => {
    const key = await newUser();
    const body = {
      data: {
        metrics: [
          {
            name: 'sleep_analysis',
            units: 'hr',
            data: [{ date: '2025-04-13', inBedStart: '2025-04-12 22:30:00 -0400', inBedEnd: '2025-04-13 06:40:00 -0400', asleep: 7, inBed: 8.1, source: 'Phone' }],
          },
        ],
      },
    };
    expect((await t.ingest(body, key)).json().counts).toMatchObject({ received: 1, inserted: 1, rejected: 0 });
    const rows = await t.db.query<{ start_at: Date; end_at: Date }>('SELECT start_at, end_at FROM sleep_nights WHERE user_id = $1', [userId]);
    expect(rows.rows.map((r) => [r.start_at.toISOString(), r.end_at.toISOString()])).toEqual([['2025-04-13T02:30:00.000Z', '2025-04-13T10:40:00.000Z']]);
  });

  it('refuses a zone the database does not know, and tz on a bad name, with 400', async () => {
    const key = await newUser();
    const response = await t.app.inject({ url: '/api/v1/data/sleep?tz=Mars/Olympus', headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('tz');
  });
});
