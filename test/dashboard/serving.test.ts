/**
 * How the server serves the dashboard: its page for / and for every other GET
 * outside the API (deep links), with the page's own Content-Security-Policy and
 * referrer rule; hashed assets cached for a year; API misses still 404 and still
 * counted against the keyless budget, pages never.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { databaseKinds } from '../helpers/databases.js';

const POLICY_WITHOUT_TILES = "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'";

describe.each(databaseKinds())('dashboard serving (%s)', (kind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(kind, { env: { RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: '3' } });
  });
  afterAll(async () => t.close());

  it('answers / with the page, its CSP (tiles from OpenStreetMap by default) and a referrer rule tile servers accept', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data: https://tile.openstreetmap.org; style-src 'self'; frame-ancestors 'none'",
    );
    expect(page.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<meta name="map-tile-url" content="https://tile.openstreetmap.org/{z}/{x}/{y}.png">');
    // No inline script or style: the CSP allows neither.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=/);
  });

  it('answers every other GET outside the API with the same page, so a reloaded deep link works, and never spends the keyless budget on it', async () => {
    const root = await t.app.inject({ method: 'GET', url: '/' });
    for (const url of ['/workouts/0c1d6a1e-8f3b-4a52-9a55-3d2f1e0c9b11', '/sleep?start=2025-04-01', '/keys', '/no/such/page', '/favicon.ico']) {
      const page = await t.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.7' });
      expect(page.statusCode, url).toBe(200);
      expect(page.body).toBe(root.body);
    }
    // The budget of 3 keyless requests is still whole for this address: API misses are counted, three of them.
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ method: 'GET', url: '/api/v1/nope', remoteAddress: '198.51.100.7' })).statusCode).toBe(404);
    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/nope', remoteAddress: '198.51.100.7' });
    expect(refused.statusCode).toBe(429);
    // Pages still answer from that address.
    expect((await t.app.inject({ method: 'GET', url: '/uploads', remoteAddress: '198.51.100.7' })).statusCode).toBe(200);
  });

  it('keeps the API answering as before: unknown API paths 404 in the error shape, /metrics only on its own listener', async () => {
    // Each miss from an address of its own: the keyless budget here is 3 per address.
    const miss = await t.app.inject({ method: 'GET', url: '/api/v1/data/nothing-here', remoteAddress: '203.0.113.1' });
    expect(miss.statusCode).toBe(404);
    expect(miss.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'no route GET /api/v1/data/nothing-here' });
    expect(miss.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(miss.headers['referrer-policy']).toBe('no-referrer');
    expect((await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.2' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: '/keys', remoteAddress: '203.0.113.3' })).statusCode).toBe(404);
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toEqual({ status: 'ok' });
  });

  it('serves the script and stylesheet the page names under hashed names, cached for a year', async () => {
    const page = (await t.app.inject({ method: 'GET', url: '/' })).body;
    const script = /<script type="module" src="(\/assets\/app-[A-Z0-9]+\.js)">/.exec(page)![1]!;
    const style = /<link rel="stylesheet" href="(\/assets\/app-[A-Z0-9]+\.css)">/.exec(page)![1]!;
    for (const [url, type] of [[script, 'text/javascript; charset=utf-8'], [style, 'text/css; charset=utf-8']] as const) {
      const asset = await t.app.inject({ method: 'GET', url });
      expect(asset.statusCode, url).toBe(200);
      expect(asset.headers['content-type']).toBe(type);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['x-content-type-options']).toBe('nosniff');
      expect(asset.body.length).toBeGreaterThan(1000);
    }
    expect((await t.app.inject({ method: 'GET', url: '/assets/app-OLDBUILD.js', remoteAddress: '203.0.113.4' })).statusCode).toBe(404);
  });

  it('tells the signed-in dashboard which key it holds: GET /api/v1/auth/keys/current', async () => {
    const { key, keyId, userId } = await t.userWithKey('current-key@example.com', ['read']);
    const current = await t.app.inject({ method: 'GET', url: '/api/v1/auth/keys/current', headers: { authorization: `Bearer ${key}` } });
    expect(current.statusCode).toBe(200);
    expect(current.json()).toMatchObject({ id: keyId, user_id: userId, scopes: ['read'], name: 'current-key@example.com key', revoked_at: null });
    expect(current.json()).not.toHaveProperty('key');
    const admin = await t.app.inject({ method: 'GET', url: '/api/v1/auth/keys/current', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(admin.json().scopes).toContain('admin');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/keys/current', remoteAddress: '203.0.113.5' })).statusCode).toBe(401);
  });
});

describe.each(databaseKinds())('dashboard tiles setting (%s)', (kind) => {
  it('MAP_TILE_URL set but empty: no tile origin in the CSP and none in the page', async () => {
    const t = await createTestApp(kind, { env: { MAP_TILE_URL: '' } });
    try {
      const page = await t.app.inject({ method: 'GET', url: '/' });
      expect(page.headers['content-security-policy']).toBe(POLICY_WITHOUT_TILES);
      expect(page.body).toContain('<meta name="map-tile-url" content="">');
    } finally {
      await t.close();
    }
  });

  it('MAP_TILE_URL of a tile server of ones own: its origin is allowed, the template reaches the page escaped', async () => {
    const t = await createTestApp(kind, { env: { MAP_TILE_URL: 'https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?style="a"&b' } });
    try {
      const page = await t.app.inject({ method: 'GET', url: '/' });
      expect(page.headers['content-security-policy']).toContain("img-src 'self' data: https://tiles.example.org:8443;");
      expect(page.body).toContain('content="https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?style=&quot;a&quot;&amp;b"');
    } finally {
      await t.close();
    }
  });
});
