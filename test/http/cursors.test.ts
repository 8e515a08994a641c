/**
 * Every `cursor` parameter the API takes, found in the OpenAPI document, refuses
 * what it did not issue with 400 INVALID_CURSOR: forged cursors used to reach SQL
 * and answer 500 (a text where a uuid goes, a date that does not exist, 1.5 for an
 * integer). And the audit log is newest first, paged without losing an entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { random } from '../../bench/generate.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Values that are wrong for some key type, each put in place of every part of a real cursor. */
const BAD_LEAVES: unknown[] = [
  'x', '', '2024-02-31T00:00:00.000Z', '0000-01-01T00:00:00.000Z', '2024-01-01T00:00:00+23:00', '+275760-09-13T00:00:00.000Z',
  '2024-13-01', '9'.repeat(30), '-1', 'a\u0000b', 'a\ud800b', '00000000-0000-0000-0000-00000000000g', 1.5, 1e308, -1e308, 2 ** 53, -2, null,
  true, {}, [], ['x'],
];

/** Cursors no list issues, whatever its key. */
function garbage(seed: number): string[] {
  const rand = random(seed);
  const fixed = [
    'not-a-cursor', '%%%', 'AAAA', encode(1.5), Buffer.from('1e400').toString('base64url'), encode('x'), encode(null), encode(true), encode([]), encode({}),
    encode([[]]), encode({ a: 1 }), encode({ created_at: 'x', id: 'y' }), encode({ received_at: '2024-01-01T00:00:00.000Z', id: 'nope' }),
    encode({ id: '1; DROP TABLE users' }), encode(['2024-02-31T00:00:00.000Z', 'x', 'y']),
  ];
  const randomBytes = Array.from({ length: 20 }, () =>
    Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 60) }, () => Math.floor(rand() * 256))).toString('base64url'),
  );
  return [...fixed, ...randomBytes];
}

/** The real cursor with one part replaced by each bad value, at every depth. */
function mutations(value: unknown): unknown[] {
  if (value === null || typeof value !== 'object') return BAD_LEAVES;
  const entries = Object.entries(value as Record<string, unknown>);
  const out: unknown[] = [];
  for (const [name, child] of entries) {
    for (const replaced of mutations(child)) {
      out.push(Array.isArray(value) ? value.map((v, i) => (String(i) === name ? replaced : v)) : { ...value, [name]: replaced });
    }
  }
  // One part too many or too few.
  out.push(Array.isArray(value) ? [...value, 'x'] : { ...value, extra: 'x' });
  out.push(Array.isArray(value) ? value.slice(1) : Object.fromEntries(entries.slice(1)));
  return out;
}

describe.each(databaseKinds())('pagination cursors (%s database)', (kind) => {
  let t: TestApp;
  let paths: string[];
  beforeAll(async () => {
    t = await createTestApp(kind);
    const first = (await t.ingest(readFixture('edge-cases-metrics.json'))).json().id as string;
    await t.ingest(readFixture('workouts-v1-v2-with-routes.json'));
    await t.ingest(readFixture('real-metrics-2024-03.json'));
    await t.ingest(readFixture('other-data-types.json'));
    await t.ingest({
      samples: ['2024-03-13T08:00:00Z', '2024-03-13T20:00:00Z'].map((start) => ({ kind: 'blood_pressure', type: 'blood_pressure', start, systolic: 120, diastolic: 80 })),
    });
    await Promise.all(['a', 'b'].map((name) => t.userWithKey(`${name}@example.com`)));
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    paths = Object.entries(document.paths as Record<string, { get?: { parameters?: { name: string }[] } }>)
      .filter(([, item]) => item.get?.parameters?.some((p) => p.name === 'cursor'))
      .map(([path]) => path.replace('{id}', first).replace('{name}', 'step_count'));
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });

  it('finds every list that takes a cursor in the OpenAPI document', () => {
    expect(paths.map((p) => p.replace(/[0-9a-f-]{36}/, '{id}'))).toEqual(
      expect.arrayContaining([
        '/api/v1/admin/audit', '/api/v1/admin/users', '/api/v1/auth/keys', '/api/v1/data/blood-pressure', '/api/v1/data/heart-rate',
        '/api/v1/data/metrics', '/api/v1/data/metrics/step_count', '/api/v1/data/sleep', '/api/v1/data/workouts', '/api/v1/ingestions',
        '/api/v1/ingestions/{id}/rejections', '/api/v1/data/ecg', '/api/v1/data/state-of-mind', '/api/v1/data/types',
      ]),
    );
  });

  it('forged cursors answer 400 INVALID_CURSOR on every list, never 500 (they used to reach SQL)', async () => {
    let refused = 0;
    /** Lists with a single page here: only the garbage cursors are tried on them. */
    const forgedFrom: string[] = [];
    for (const [index, path] of paths.entries()) {
      const page = await get(`${path}?limit=1`);
      expect(page.statusCode, path).toBe(200);
      const next = page.json().next as string | null;
      if (next) expect((await get(`${path}?limit=1&cursor=${next}`)).statusCode, path).toBe(200);
      else forgedFrom.push(path);

      for (const cursor of garbage(index)) {
        const response = await get(`${path}?cursor=${encodeURIComponent(cursor)}`);
        expect(response.statusCode, `${path} ${cursor}`).toBe(400);
        expect(response.json().error.code, `${path} ${cursor}`).toBe('INVALID_CURSOR');
        refused += 1;
      }
      if (!next) continue;
      // Some changed parts are still valid keys (another text): those page on; none is a 500.
      const real: unknown = JSON.parse(Buffer.from(next, 'base64url').toString());
      for (const forged of mutations(real)) {
        const response = await get(`${path}?cursor=${encode(forged)}`);
        expect([200, 400], `${path} ${JSON.stringify(forged)}: ${response.body}`).toContain(response.statusCode);
        if (response.statusCode === 400) {
          expect(response.json().error.code).toBe('INVALID_CURSOR');
          refused += 1;
        }
      }
    }
    // Real cursors were mutated on every list that had a second page: all the long-standing ones.
    expect(forgedFrom.filter((path) => !/state-of-mind|symptoms|medications|cycle-tracking|notifications|ecg|types/.test(path))).toEqual([]);
    expect(refused).toBeGreaterThan(paths.length * 36);
  });

  it('lists the audit log newest first and loses no entry between pages of 5 (it was ordered by the id as text: 9 before 13)', async () => {
    for (let i = 0; i < 13; i++) await t.userWithKey(`audited-${i}@example.com`);
    const { rows } = await t.db.query<{ action: string; key_id: string | null; user_id: string | null }>(
      'SELECT action, key_id, user_id FROM audit_log ORDER BY id DESC',
    );
    expect(rows.length).toBeGreaterThan(26);
    const seen: { action: string; key_id: string | null; user_id: string | null }[] = [];
    let next: string | null = null;
    do {
      const page = (await get(`/api/v1/admin/audit?limit=5${next ? `&cursor=${next}` : ''}`)).json() as { items: typeof seen; next: string | null };
      seen.push(...page.items.map(({ action, key_id, user_id }) => ({ action, key_id, user_id })));
      next = page.next;
    } while (next);
    expect(seen).toEqual(rows);
  });
});
