/**
 * The adversarial suite: hundreds of hostile or malformed uploads generated
 * from edge-cases-metrics.json (test/helpers/hostile-corpus.ts). Each must be
 * refused whole with its 4xx and a message, or accepted with exactly its bad
 * samples rejected; never a 5xx. The server stays up, and the real export sent
 * afterwards is stored completely. The whole corpus runs on the embedded
 * database; PostgreSQL gets a sample of every family (the parsing is the same,
 * the storage is what differs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';
import { hostileCorpus, type HostileCase } from '../helpers/hostile-corpus.js';

const corpus = hostileCorpus();
const PER_FAMILY_ON_POSTGRES = 8;

function sample(cases: HostileCase[]): HostileCase[] {
  const byFamily = new Map<string, HostileCase[]>();
  for (const c of cases) byFamily.set(c.family, [...(byFamily.get(c.family) ?? []), c]);
  return [...byFamily.values()].flatMap((family) => {
    const step = Math.max(1, Math.floor(family.length / PER_FAMILY_ON_POSTGRES));
    return family.filter((_, i) => i % step === 0).slice(0, PER_FAMILY_ON_POSTGRES);
  });
}

it('generates well over 200 hostile bodies, from every family the issue names', () => {
  expect(corpus.length).toBeGreaterThan(200);
  const families = new Set(corpus.map((c) => c.family));
  for (const family of ['truncation', 'type swap', 'missing field', 'extra field', 'deep nesting', 'huge value', 'encoding', 'content type', 'content encoding', 'prototype poisoning']) {
    expect(families).toContain(family);
  }
  expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
});

describe.each(databaseKinds())('the hostile corpus (%s database)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { env: { MAX_PAYLOAD_MB: '4', ...WAIT_FOR_OUTCOME } });
  });
  afterAll(() => t.close());

  const cases = kind === 'embedded' ? corpus : sample(corpus);

  it(`refuses or accepts each of ${cases.length} bodies exactly as it should, never with a 5xx`, async () => {
    const problems: string[] = [];
    for (const c of cases) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/ingest', headers: { authorization: `Bearer ${ADMIN_KEY}`, ...c.headers }, payload: c.body });
      const what = `${c.family} / ${c.name}`;
      const body = response.json();
      if ('status' in c.expect) {
        if (response.statusCode !== c.expect.status) problems.push(`${what}: expected ${c.expect.status}, got ${response.statusCode} ${response.body.slice(0, 200)}`);
        else if (!body.error?.code || !(body.error.message?.length > 10)) problems.push(`${what}: refusal without a code and message: ${response.body.slice(0, 200)}`);
      } else {
        const counts = body.counts;
        if (response.statusCode !== 200 || body.status !== 'completed') {
          problems.push(`${what}: expected a completed ingestion, got ${response.statusCode} ${response.body.slice(0, 300)}`);
        } else if (counts.received !== c.expect.received || counts.rejected !== c.expect.rejected) {
          problems.push(`${what}: expected ${c.expect.received} received / ${c.expect.rejected} rejected, got ${counts.received} / ${counts.rejected}`);
        } else if (counts.inserted + counts.updated + counts.unchanged + counts.rejected !== counts.received) {
          problems.push(`${what}: counts do not add up: ${JSON.stringify(counts)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps the rejected samples with reasons, and the refused bodies as failed ingestions with their error', async () => {
    const rejections = await t.db.query<{ n: number; reasons: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE length(reason) > 5)::int AS reasons FROM rejected_samples",
    );
    expect(rejections.rows[0]!.n).toBeGreaterThan(0);
    expect(rejections.rows[0]!.reasons).toBe(rejections.rows[0]!.n);
    const failed = await t.db.query<{ code: string }>("SELECT DISTINCT error->>'code' AS code FROM raw_ingestions WHERE status = 'failed' ORDER BY 1");
    expect(failed.rows.map((r) => r.code)).toEqual(expect.arrayContaining(['INVALID_JSON', 'UNPROCESSABLE_PAYLOAD']));
  });

  it('stays up, and then stores the real export completely: 16,341 received, 0 rejected', async () => {
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
    const response = await t.ingest(readFixture('real-metrics-2024-03.json'));
    expect(response.statusCode).toBe(200);
    const { counts } = response.json();
    expect(counts.received).toBe(16_341);
    expect(counts.rejected).toBe(0);
    expect(counts.inserted + counts.updated + counts.unchanged).toBe(16_341);
  });
});

describe('hostile JSON on routes other than /ingest', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded');
  });
  afterAll(() => t.close());

  const createUser = (payload: string | Buffer) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      payload,
    });

  it.each([
    ['prototype poisoning', '{"email": "a@example.com", "__proto__": {"admin": true}}', 422, 'forbidden key "__proto__"'],
    ['deep nesting', `{"email": "a@example.com", "x": ${'['.repeat(100)}${']'.repeat(100)}}`, 422, 'MAX_JSON_DEPTH'],
    ['a huge string', JSON.stringify({ email: 'a@example.com', x: 'x'.repeat(70_000) }), 422, 'MAX_STRING_KB'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"email": "a'), Buffer.from([0xff]), Buffer.from('@example.com"}')]), 400, 'not valid UTF-8'],
    ['a syntax error', '{"email": ', 400, 'not valid JSON'],
    ['an empty body', '', 400, 'body is empty'],
  ])('refuses %s the same way as an upload', async (_what, payload, status, message) => {
    const response = await createUser(payload);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.message).toContain(message);
    expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', ['a@example.com'])).toMatchObject({ rows: [] });
  });
});
