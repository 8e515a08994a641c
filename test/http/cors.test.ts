/**
 * CORS: off by default, an explicit list of origins otherwise; a refused
 * origin gets no CORS header at all; a wildcard never starts in production.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createTestApp, TEST_ENV, type TestApp } from '../helpers/app.js';
import { START, runProcess } from '../helpers/process.js';

const ALLOWED = 'https://dash.example.com';

const corsHeaders = (response: LightMyRequestResponse) =>
  Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));

const preflight = (t: TestApp, origin: string) =>
  t.app.inject({
    method: 'OPTIONS',
    url: '/api/v1/ingest',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });

describe('CORS with an explicit list of origins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('embedded', { env: { CORS_ALLOWED_ORIGINS: `${ALLOWED}, https://other.example.org:8443`, CORS_MAX_AGE: '900' } });
  });
  afterAll(() => t.close());

  it('gives an allowed origin Access-Control-Allow-Origin, on answers and on errors', async () => {
    const health = await t.app.inject({ url: '/health', headers: { origin: ALLOWED } });
    expect(health.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(health.headers.vary)).toContain('Origin');
    expect(health.headers['access-control-expose-headers']).toContain('X-RateLimit-Remaining');
    expect(health.headers['access-control-allow-credentials']).toBeUndefined();
    // A page must be able to read a refusal too.
    const refused = await t.app.inject({ url: '/api/v1/ingestions', headers: { origin: 'https://other.example.org:8443' } });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('https://other.example.org:8443');
  });

  it('answers an allowed preflight with the methods, headers and max age, before authentication', async () => {
    const response = await preflight(t, ALLOWED);
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(response.headers['access-control-allow-methods']).toBe('GET, POST, PUT, DELETE, OPTIONS');
    expect(response.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, X-API-Key, api-key, X-Request-Id');
    expect(response.headers['access-control-max-age']).toBe('900');
  });

  it('gives any other origin no CORS header at all', async () => {
    for (const origin of ['https://evil.example', 'https://dash.example.com.evil.example', 'http://dash.example.com', 'null']) {
      const get = await t.app.inject({ url: '/health', headers: { origin } });
      expect(get.statusCode).toBe(200);
      expect(corsHeaders(get), origin).toEqual([]);
      const options = await preflight(t, origin);
      expect(corsHeaders(options), origin).toEqual([]);
      expect(options.statusCode).toBe(404);
    }
  });
});

describe('CORS settings', () => {
  it('allows no cross-origin access by default', async () => {
    const t = await createTestApp('embedded');
    try {
      expect(corsHeaders(await t.app.inject({ url: '/health', headers: { origin: ALLOWED } }))).toEqual([]);
      expect(corsHeaders(await preflight(t, ALLOWED))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('sends Access-Control-Allow-Credentials only when CORS_ALLOW_CREDENTIALS is on', async () => {
    const t = await createTestApp('embedded', { env: { CORS_ALLOWED_ORIGINS: ALLOWED, CORS_ALLOW_CREDENTIALS: 'true' } });
    try {
      const response = await t.app.inject({ url: '/health', headers: { origin: ALLOWED } });
      expect(response.headers['access-control-allow-credentials']).toBe('true');
    } finally {
      await t.close();
    }
  });

  it('allows any origin with * outside production', async () => {
    const t = await createTestApp('embedded', { env: { CORS_ALLOWED_ORIGINS: '*' } });
    try {
      const response = await t.app.inject({ url: '/health', headers: { origin: 'https://anywhere.example' } });
      expect(response.headers['access-control-allow-origin']).toBe('*');
    } finally {
      await t.close();
    }
  });

  it('refuses a wildcard in production, a wildcard with credentials, and entries that are not origins', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...TEST_ENV, ...env });
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ NODE_ENV: 'production', CORS_ALLOWED_ORIGINS: '*' })).toEqual([
      'CORS_ALLOWED_ORIGINS: * (any origin) is not allowed when NODE_ENV=production; list the origins that may call the API',
    ]);
    expect(problems({ NODE_ENV: 'production', CORS_ALLOWED_ORIGINS: `${ALLOWED},*` })).toHaveLength(1);
    expect(problems({ NODE_ENV: 'production', CORS_ALLOWED_ORIGINS: ALLOWED })).toEqual([]);
    expect(problems({ CORS_ALLOWED_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' })[0]).toMatch(/^CORS_ALLOW_CREDENTIALS/);
    for (const bad of ['https://dash.example.com/', 'dash.example.com', 'https://dash.example.com/app']) {
      expect(problems({ CORS_ALLOWED_ORIGINS: bad })[0], bad).toMatch(/^CORS_ALLOWED_ORIGINS=.*must be \* or an origin/);
    }
  });

  it('does not start in production with a wildcard, and says why', async () => {
    const failure = await runProcess(START, { NODE_ENV: 'production', CORS_ALLOWED_ORIGINS: '*', DATA_DIR: '/nonexistent/never-created' });
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain('CORS_ALLOWED_ORIGINS: * (any origin) is not allowed when NODE_ENV=production');
  });
});
