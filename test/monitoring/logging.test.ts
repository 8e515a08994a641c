/**
 * The logs an operator reads: one line per request carrying its request id,
 * one summary line per ingestion, and never a key, an email, a source name or
 * a health value. Logs are captured by writing pino into memory.
 */
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/shared/logger.js';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';
import { fixtureJson, readFixture } from '../helpers/fixtures.js';

type Line = Record<string, unknown> & { msg: string; level: number };

function capturedLogger(level: string) {
  const text: string[] = [];
  const logger = pino(loggerOptions(level, false), { write: (chunk: string) => void text.push(chunk) });
  return {
    logger,
    text,
    lines: (): Line[] => text.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line),
    clear: () => void text.splice(0),
  };
}

describe.each(databaseKinds())('request logs (%s database)', (kind) => {
  const log = capturedLogger('debug');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { logger: log.logger });
  });
  afterAll(() => t.close());
  beforeEach(() => log.clear());

  it('returns X-Request-Id abc-123 and puts it on every line of that request, the ingestion summary included', async () => {
    const response = await t.ingest(readFixture('edge-cases-metrics.json'), ADMIN_KEY, { 'x-request-id': 'abc-123' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('abc-123');
    const lines = log.lines();
    expect(lines.map((line) => line.msg).sort()).toEqual(['ingestion completed', 'request']);
    for (const line of lines) expect(line.request_id).toBe('abc-123');
  });

  it('replaces a malformed X-Request-Id with a generated one', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc 123\u0001' } });
    const id = response.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.lines().map((line) => line.request_id)).toEqual([id]);
  });

  it('writes one line per request, with method, route, path, status and duration', async () => {
    await t.app.inject({ method: 'GET', url: '/health' });
    const [line, ...more] = log.lines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ msg: 'request', method: 'GET', route: '/health', path: '/health', status: 200 });
    expect(typeof line!.ms).toBe('number');
  });

  it('logs a refusal on the request line with its code but not its message, which can echo input', async () => {
    const email = 'taken@example.com';
    await t.userWithKey(email);
    log.clear();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users?note=sam',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { email },
    });
    expect(response.statusCode).toBe(409);
    const [line, ...more] = log.lines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ msg: 'request', route: '/api/v1/admin/users', path: '/api/v1/admin/users', status: 409, code: 'CONFLICT' });
    expect(log.text.join('')).not.toContain(email);
    expect(log.text.join('')).not.toContain('note=sam');
  });

  it('labels a request no route matched, without its query string', async () => {
    await t.app.inject({ method: 'GET', url: '/api/nowhere?source=Sam' });
    const [line, ...more] = log.lines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ route: 'unmatched', path: '/api/nowhere', status: 404, code: 'NOT_FOUND' });
  });
});

describe.each(databaseKinds())('what the logs never hold (%s database)', (kind) => {
  const log = capturedLogger('trace');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { logger: log.logger, env: WAIT_FOR_OUTCOME });
  });
  afterAll(() => t.close());

  it('holds neither the key, nor an email, nor a source, nor a qty value of the fixture ingest', async () => {
    const email = 'sam.jones@example.com';
    const { key } = await t.userWithKey(email, ['ingest', 'read']);
    const fixture = fixtureJson('real-metrics-2024-03.json');
    const response = await t.ingest(readFixture('real-metrics-2024-03.json'), key, { 'x-api-key': key, cookie: `session=${key}` });
    expect(response.statusCode).toBe(200);
    expect(response.json().counts.received).toBe(16_341);
    const edge = await t.ingest(readFixture('edge-cases-metrics.json'), key);
    expect(edge.json().counts.rejected).toBe(3);

    const text = log.text.join('');
    expect(log.lines().some((line) => line.msg === 'ingestion completed')).toBe(true);
    expect(text).not.toContain(key);
    expect(text).not.toContain(email);
    expect(text).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.-]+/);

    const sources = new Set<string>();
    const quantities = new Set<number>();
    collect(fixture, sources, quantities);
    collect(fixtureJson('edge-cases-metrics.json'), sources, quantities);
    expect(sources.size).toBeGreaterThan(0);
    for (const source of sources) expect(text).not.toContain(source);

    // Compared as numbers, not substrings; timing fields are left out because a
    // duration can equal a quantity by chance (they are measurements, not data).
    const logged = new Set<number>();
    for (const line of log.lines()) numbersIn(line, logged);
    const significant = [...quantities].filter((qty) => significantDigits(qty) >= 4);
    expect(significant.length).toBeGreaterThan(100);
    expect(significant.filter((qty) => logged.has(qty))).toEqual([]);
  });
});

describe('the logger options', () => {
  it('redact credentials and personal fields wherever they are', () => {
    const log = capturedLogger('info');
    const logged = {
      req: { headers: { authorization: 'Bearer s3cr3t-a', 'x-api-key': 's3cr3t-b', 'api-key': 's3cr3t-c', cookie: 's3cr3t-d' } },
      headers: { 'Set-Cookie': 's3cr3t-e', Authorization: 's3cr3t-l' },
      password: 's3cr3t-f',
      user: { email: 's3cr3t-g', token: 's3cr3t-h', id: 'user-1' },
      deep: { a: { key: 's3cr3t-i', b: { c: { secret: 's3cr3t-j' } } } },
      list: [{ email: 's3cr3t-k' }],
    };
    log.logger.info(logged, 'redaction');
    log.logger.child({ component: 'x' }).warn({ apiKey: 's3cr3t-m', nested: [{ pepper: 's3cr3t-n' }] }, 'child');
    const text = log.text.join('');
    expect(text).toContain('redaction');
    expect(text).toContain('user-1');
    expect(text).not.toContain('s3cr3t');
    expect(log.lines()[0]).toMatchObject({ password: '[redacted]', user: { email: '[redacted]', id: 'user-1' } });
    // The caller's object is left as it was.
    expect(logged.user.email).toBe('s3cr3t-g');
  });

  it("log an error without PostgreSQL's copy of the failing row", () => {
    const log = capturedLogger('info');
    const error = Object.assign(new Error('new row for relation "heart_rate_samples" violates check constraint'), {
      code: '23514',
      detail: 'Failing row contains (Sam’s Apple Watch, 412.5)',
      where: 'SQL statement with 412.5',
    });
    log.logger.error({ err: error }, 'ingestion failed');
    log.logger.error({ err: new Error('write failed', { cause: error }) }, 'ingestion failed');
    const [line] = log.lines();
    const text = log.text.join('');
    expect(text).toContain('violates check constraint');
    expect(text).toContain('23514');
    expect(text).not.toContain('Sam’s');
    expect(text).not.toContain('412.5');
    expect(line!.err).toBeDefined();
  });
});

function collect(value: unknown, sources: Set<string>, quantities: Set<number>): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, sources, quantities);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [field, inner] of Object.entries(value)) {
    if (field === 'source' && typeof inner === 'string' && inner.length > 0) {
      sources.add(inner);
      for (const part of inner.split('|')) if (part.length >= 4) sources.add(part);
    } else if (['qty', 'Min', 'Avg', 'Max', 'systolic', 'diastolic'].includes(field) && typeof inner === 'number') {
      quantities.add(inner);
    } else {
      collect(inner, sources, quantities);
    }
  }
}

const TIMING = /(^|_)ms$|^time$|^pid$/;

function numbersIn(value: unknown, found: Set<number>, field = ''): void {
  if (TIMING.test(field)) return;
  if (typeof value === 'number') found.add(value);
  else if (typeof value === 'string') for (const match of value.matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi)) found.add(Number(match[0]));
  else if (Array.isArray(value)) for (const item of value) numbersIn(item, found);
  else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) numbersIn(inner, found, key);
}

function significantDigits(value: number): number {
  const digits = Math.abs(value).toExponential().split('e')[0]!.replace('.', '');
  return digits.replace(/0+$/, '').length;
}
