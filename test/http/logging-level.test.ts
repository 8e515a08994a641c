/**
 * GET and PUT /api/v1/admin/logging/level: an operator turns on debug logs of a
 * running server, and every logger of the process follows without a restart.
 */
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/shared/logger.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const URL = '/api/v1/admin/logging/level';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

describe.each(databaseKinds())('runtime log level (%s database)', (kind) => {
  const text: string[] = [];
  const logger = pino(loggerOptions('info', false), { write: (chunk: string) => void text.push(chunk) });
  const lines = () => text.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; level: number });
  // A long-lived child made before the change, like a service's logger.
  const child = logger.child({ component: 'worker' });
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { logger });
  });
  afterAll(() => t.close());
  // Every test starts at the level the process started with, whatever the one before changed.
  beforeEach(() => {
    logger.level = 'info';
  });

  const health = async () => {
    text.splice(0);
    await t.app.inject({ method: 'GET', url: '/health' });
    child.debug('worker detail');
    return lines().map((line) => line.msg);
  };

  it('reports the level the process started with', async () => {
    const response = await t.app.inject({ method: 'GET', url: URL, headers: admin });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ level: 'info' });
    expect(await health()).toEqual([]);
  });

  it('changes it without a restart: request loggers and existing child loggers follow', async () => {
    const response = await t.app.inject({ method: 'PUT', url: URL, headers: admin, payload: { level: 'debug' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ level: 'debug' });
    expect((await t.app.inject({ method: 'GET', url: URL, headers: admin })).json()).toEqual({ level: 'debug' });
    // /health's line is a debug line; the child's debug line now passes too.
    expect(await health()).toEqual(['request', 'worker detail']);

    const audit = await t.app.inject({ method: 'GET', url: '/api/v1/admin/audit', headers: admin });
    expect(audit.json().items[0]).toMatchObject({ action: 'logging.level', reason: 'info -> debug' });

    expect((await t.app.inject({ method: 'PUT', url: URL, headers: admin, payload: { level: 'warn' } })).statusCode).toBe(200);
    expect(await health()).toEqual([]);
  });

  it('refuses an unknown level with a message naming the field', async () => {
    const response = await t.app.inject({ method: 'PUT', url: URL, headers: admin, payload: { level: 'loud' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toMatch(/level/);
    expect((await t.app.inject({ method: 'GET', url: URL, headers: admin })).json()).toEqual({ level: 'info' });
  });

  it('is for admin keys only', async () => {
    const { key } = await t.userWithKey('reader@example.com', ['ingest', 'read']);
    const headers = { authorization: `Bearer ${key}` };
    expect((await t.app.inject({ method: 'GET', url: URL, headers })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'PUT', url: URL, headers, payload: { level: 'trace' } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'PUT', url: URL, payload: { level: 'trace' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: URL, headers: admin })).json()).toEqual({ level: 'info' });
  });
});
