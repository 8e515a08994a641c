/**
 * Reading at volume: keyset pages return each of 100,000 samples exactly once,
 * and a year of per-minute heart rate streams out as NDJSON from a listening
 * server while the process's memory stays flat. Rows are written with
 * generate_series in SQL, which is what a long history looks like to the reader.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePartitions, monthOf } from '../../src/storage/partitions.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

async function partitionsFor(t: TestApp, table: 'heart_rate_samples', from: string, to: string) {
  const months = new Set<string>();
  for (let day = new Date(from); day <= new Date(to); day.setUTCDate(day.getUTCDate() + 1)) months.add(monthOf(day));
  await ensurePartitions(t.db, table, months);
}

describe.each(databaseKinds())('reading at volume (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  it('returns each of 100,000 heart-rate samples exactly once when paging with limit=1000', async () => {
    const { userId, key } = await t.userWithKey('pager@example.com');
    await partitionsFor(t, 'heart_rate_samples', '2024-01-01', '2024-02-05');
    // 50,000 minutes from two sources each: every start time is shared by two samples.
    await t.db.query(
      `INSERT INTO heart_rate_samples (user_id, start_at, end_at, source, min, avg, max)
       SELECT $1, g, g, s, 60, 60 + (extract(epoch FROM g)::bigint / 60) % 50, 120
       FROM generate_series(timestamptz '2024-01-01T00:00:00Z', timestamptz '2024-01-01T00:00:00Z' + interval '49999 minutes', interval '1 minute') g,
            (VALUES ('Apple Watch'), ('Polar H10')) sources(s)`,
      [userId],
    );
    const seen = new Set<string>();
    let previous = '';
    let pages = 0;
    let next: string | null = null;
    do {
      const response = await t.app.inject({
        url: `/api/v1/data/heart-rate?limit=1000${next ? `&cursor=${next}` : ''}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.statusCode).toBe(200);
      const page = response.json() as { items: { start: string; source: string }[]; next: string | null };
      for (const item of page.items) {
        const id = `${item.start}|${item.source}`;
        expect(id > previous).toBe(true);
        seen.add(id);
        previous = id;
      }
      pages += 1;
      next = page.next;
    } while (next);
    expect(seen.size).toBe(100_000);
    expect(pages).toBe(100);
  });

  // The embedded database takes minutes to write and read a year of minutes; PostgreSQL shows the bound.
  // The bound is one only buffering breaks: the 525,600 lines and their joined body alone, held in a
  // bare Node process, grew it by 309 MB (before any row or record), while streaming grew this one by 140-210 MB
  // (V8 keeps the heap it grew under the allocation rate; the benchmark reports the figure). It was
  // 200 MB, and a CI run streaming correctly measured 209.
  it.skipIf(kind === 'embedded')(
    'streams a year of per-minute heart rate (525,600 samples) as NDJSON while the process grows by less than 300 MB',
    async () => {
      const { userId, key } = await t.userWithKey('year@example.com');
      await partitionsFor(t, 'heart_rate_samples', '2023-01-01', '2023-12-31');
      await t.db.query(
        `INSERT INTO heart_rate_samples (user_id, start_at, end_at, source, min, avg, max, context)
         SELECT $1, g, g, 'Apple Watch', 55, 55 + (extract(epoch FROM g)::bigint / 60) % 60, 140, 'Sedentary'
         FROM generate_series(timestamptz '2023-01-01T00:00:00Z', timestamptz '2023-12-31T23:59:00Z', interval '1 minute') g`,
        [userId],
      );
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = t.app.server.address() as AddressInfo;

      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const { lines, status } = await new Promise<{ lines: number; status: number }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/v1/export?format=ndjson&types=heart_rate', headers: { authorization: `Bearer ${key}` } }, (res) => {
          let lines = 0;
          // Count and drop each chunk: the client keeps nothing, so what grows is the server.
          res.on('data', (chunk: Buffer) => {
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
          });
          res.on('end', () => resolve({ lines, status: res.statusCode ?? 0 }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      clearInterval(sampler);
      const growthMb = (peak - baseline) / 1024 / 1024;
      expect(status).toBe(200);
      expect(lines).toBe(525_600);
      expect(growthMb).toBeLessThan(300);
    },
    300_000,
  );
});
