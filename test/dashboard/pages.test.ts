/**
 * The dashboard in a real browser (Debian's Chromium, headless), against the app
 * listening on a free port with the test fixtures loaded: sign in with a pasted
 * key, visit every page on a desktop and at phone width in dark mode. On each:
 * the numbers shown equal what the API answers for the same request, every chart
 * has data drawn (pixels in its data colours), nothing is wider than a 375 px
 * screen, no console error, and axe-core finds nothing serious or critical.
 *
 * SCREENSHOTS=<folder> also saves each page at both widths (npm run screenshots
 * writes docs/screenshots/).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, createTestApp, WAIT_FOR_OUTCOME, type TestApp } from '../helpers/app.js';
import { dataPixels, launchChromium, openPage, overflow, seriousViolations, settled, type WatchedPage } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { readFixture } from '../helpers/fixtures.js';

const ZONE = 'America/New_York';
const SCREENSHOTS = process.env.SCREENSHOTS;
const PHONE = { viewport: { width: 375, height: 812 }, colorScheme: 'dark' as const, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 }, colorScheme: 'light' as const };

/** The text a page shows for a number: en-US, at most `digits` decimals. */
const formatted = (value: number, digits: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(value);

/** The number a <data> element was given (its value) and the text it shows. */
async function shownNumber(page: Page, selector: string): Promise<{ value: string | null; text: string | null }> {
  const element = page.locator(selector).locator('data').first();
  return { value: await element.getAttribute('value'), text: await element.textContent() };
}

const rawValue = (value: number | null) => (value === null ? '' : String(value));

/** A 1x1 grey PNG: every tile the test tile server hands out. */
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==', 'base64');

// The browser tests run on one database: the pages read the API, whose answers
// are the same on both (the reading tests check that); two runs would double the
// slowest file of the suite for nothing.
const kind = databaseKinds().at(-1)!;

describe.skipIf(!inject('chromiumAvailable'))(`dashboard in Chromium (${kind})`, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let desktop: WatchedPage;
  let phone: WatchedPage;
  let readKey: string;
  let userId: string;

  const api = async (url: string, key = readKey) => {
    const response = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode, url).toBe(200);
    return response.json();
  };

  /** Every item of a list, following `next`. */
  const everyItem = async (url: string, key = readKey) => {
    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(`${url}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return items;
  };

  async function signIn(watched: WatchedPage, key: string) {
    await watched.page.goto(`${base}/`);
    await settled(watched.page);
    await watched.page.getByLabel('API key').fill(key);
    await watched.page.getByRole('button', { name: 'Sign in' }).click();
    await watched.page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await settled(watched.page);
  }

  /** Visits `url` at both widths: shown, no alert, nothing overflowing at 375 px, no serious accessibility problem, no console error. */
  async function visit(name: string, url: string): Promise<Page> {
    for (const [watched, width] of [[phone, 'phone'], [desktop, 'desktop']] as const) {
      watched.errors.length = 0;
      await watched.page.goto(`${base}${url}`);
      await settled(watched.page);
      await expect(watched.page.locator('main .notice.alert').count(), `${width}: ${await watched.page.locator('main').textContent()}`).resolves.toBe(0);
      if (width === 'phone') expect(await overflow(watched.page), `${name} overflows at 375 px`).toBe(0);
      expect(await seriousViolations(watched.page), `${name} at ${width} width`).toEqual([]);
      expect(watched.errors, `${name} at ${width} width`).toEqual([]);
      if (SCREENSHOTS) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await watched.page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${width}.png`) });
      }
    }
    return desktop.page;
  }

  /** Every chart (figure with data colours) on the page has its data drawn. */
  async function expectChartsDrawn(page: Page, count: number) {
    const charts = page.locator('main figure[data-colors]');
    await expect(charts.count()).resolves.toBe(count);
    for (let i = 0; i < count; i++) {
      const caption = await charts.nth(i).locator('figcaption').textContent();
      await expect.poll(() => dataPixels(charts.nth(i)), { message: `chart "${caption}" has data drawn`, timeout: 20_000 }).toBeGreaterThan(30);
    }
  }

  beforeAll(async () => {
    // No map tiles: the tests fetch nothing from the internet.
    t = await createTestApp(kind, { env: { ...WAIT_FOR_OUTCOME, MAP_TILE_URL: '' } });
    const owner = await t.userWithKey('dashboard@example.com', ['ingest']);
    userId = owner.userId;
    for (const fixture of ['real-metrics-2024-03.json', 'real-sleep-segments-2025-04.json', 'workouts-v1-v2-with-routes.json', 'other-data-types.json']) {
      expect((await t.ingest(readFixture(fixture), owner.key)).statusCode, fixture).toBe(200);
    }
    // The admin's own upload, with three rejected samples, for the reprocess button.
    expect((await t.ingest(readFixture('edge-cases-metrics.json'))).statusCode).toBe(200);
    const read = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name: 'browser', scopes: ['read'], user_id: userId },
    });
    readKey = read.json().key;
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
    desktop = await openPage(browser, { ...DESKTOP, timezoneId: ZONE });
    phone = await openPage(browser, { ...PHONE, timezoneId: ZONE });
    await signIn(desktop, readKey);
    await signIn(phone, readKey);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with a pasted read key, recommending a separate read key, and refuses a wrong one', async () => {
    const fresh = await openPage(browser, { ...DESKTOP, timezoneId: ZONE });
    const { page } = fresh;
    await page.goto(`${base}/sleep`);
    await settled(page);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    await expect(page.locator('main').textContent()).resolves.toContain('separate read key');
    expect(await seriousViolations(page)).toEqual([]);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'sign-in-desktop.png') });
    await page.getByLabel('API key').fill('not-a-key-of-this-server');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('The server does not accept this key.');
    // The browser reports the refused request itself as a console error; that one is expected here.
    expect(fresh.errors).toEqual([expect.stringContaining('401 (Unauthorized)')]);
    fresh.errors.length = 0;
    await page.getByLabel('API key').fill(readKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The deep link it was opened at, now shown.
    await page.locator('h1', { hasText: /^Sleep$/ }).waitFor();
    await settled(page);
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('hea.key'))).toBe(readKey);
    await expect(page.locator('.who').textContent()).resolves.toBe('browser');

    // Signing out: the key leaves sessionStorage and the sign-in page is back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('h1', { hasText: /^Sign in$/ }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('hea.key'))).toBeNull();
    expect(fresh.errors).toEqual([]);
    await page.context().close();
  });

  it('Today and the last 30 days: the numbers of the daily summary in the browser\'s zone', async () => {
    const page = await visit('today', '/?date=2024-03-16');
    const summary = await api(`/api/v1/summary/daily?start=2024-02-16&end=2024-03-16&tz=${encodeURIComponent(ZONE)}`);
    const day = summary.items.at(-1);
    expect(day.steps).toBeGreaterThan(0);
    const expected: [string, number | null, number, (v: number) => number][] = [
      ['steps', day.steps, 0, (v) => v],
      ['distance', day.distance_m, 2, (v) => v / 1000],
      ['active_energy', day.active_energy_kcal, 0, (v) => v],
      ['exercise', day.exercise_min, 0, (v) => v],
      ['resting_heart_rate', day.resting_heart_rate, 0, (v) => v],
      ['hrv', day.hrv_ms, 1, (v) => v],
      ['sleep', day.sleep.asleep_h, 1, (v) => v],
    ];
    for (const [measure, value, digits, convert] of expected) {
      expect(await shownNumber(page, `[data-measure="${measure}"]`), measure).toEqual({ value: rawValue(value), text: value === null ? '–' : formatted(convert(value), digits) });
    }
    // The table: one row per day, newest first, the same steps as the API.
    const rows = page.locator('table.summary tbody tr');
    await expect(rows.count()).resolves.toBe(30);
    for (const [i, item] of [...summary.items].reverse().entries()) {
      await expect(rows.nth(i).locator('td').first().textContent()).resolves.toBe(item.date);
      await expect(rows.nth(i).locator('td').nth(1).locator('data').getAttribute('value')).resolves.toBe(rawValue(item.steps));
    }
    await expectChartsDrawn(page, 3);
  });

  it('Heart rate: a day as per-minute min/avg/max bands, and a year as daily bands, from the series endpoint', async () => {
    for (const [name, url, query] of [
      ['heart-rate-day', '/heart-rate?date=2024-03-14', `start=${encodeURIComponent('2024-03-14T04:00:00.000Z')}&end=${encodeURIComponent('2024-03-15T04:00:00.000Z')}&bucket=1m`],
      ['heart-rate-year', '/heart-rate?view=year&date=2024-03-14', `start=${encodeURIComponent('2024-01-01T05:00:00.000Z')}&end=${encodeURIComponent('2025-01-01T05:00:00.000Z')}&bucket=1d`],
    ]) {
      const page = await visit(name!, url!);
      const { items } = await api(`/api/v1/data/heart-rate/series?${query}&tz=${encodeURIComponent(ZONE)}`);
      expect(items.length, name).toBeGreaterThan(0);
      const count = items.reduce((total: number, item: any) => total + item.count, 0);
      const sum = items.reduce((total: number, item: any) => total + item.sum, 0);
      const lowest = Math.min(...items.map((item: any) => item.min));
      const highest = Math.max(...items.map((item: any) => item.max));
      expect(await shownNumber(page, '[data-measure="min"]')).toEqual({ value: String(lowest), text: formatted(lowest, 0) });
      expect(await shownNumber(page, '[data-measure="max"]')).toEqual({ value: String(highest), text: formatted(highest, 0) });
      expect(await shownNumber(page, '[data-measure="avg"]')).toEqual({ value: String(sum / count), text: formatted(sum / count, 1) });
      expect(await shownNumber(page, '[data-measure="count"]')).toEqual({ value: String(count), text: formatted(count, 0) });
      await expectChartsDrawn(page, 1);
    }
  });

  it('Sleep: stage totals per night over a range, and the hypnogram of a night from its segments', async () => {
    const page = await visit('sleep', '/sleep?start=2025-04-01&end=2025-04-30');
    const start = encodeURIComponent('2025-04-01T04:00:00.000Z');
    const end = encodeURIComponent('2025-05-01T04:00:00.000Z');
    const nights = await everyItem(`/api/v1/data/sleep?detail=nights&tz=${encodeURIComponent(ZONE)}&start=${start}&end=${end}`);
    expect(nights.length).toBeGreaterThan(5);
    const rows = page.locator('table.nights tbody tr');
    await expect(rows.count()).resolves.toBe(nights.length);
    for (const [i, night] of [...nights].reverse().entries()) {
      const cells = rows.nth(i).locator('td');
      await expect(cells.first().textContent()).resolves.toBe(night.date);
      for (const [column, field] of [[3, 'asleep_h'], [4, 'core_h'], [5, 'deep_h'], [6, 'rem_h'], [7, 'awake_h']] as const) {
        await expect(cells.nth(column).locator('data').getAttribute('value'), `${night.date} ${field}`).resolves.toBe(rawValue(night[field]));
      }
    }
    await expect(page.locator('main figcaption').nth(1).textContent()).resolves.toContain(`Hypnogram, night of ${nights.at(-1).date}`);
    await expectChartsDrawn(page, 2);
    // Another night, chosen from the table.
    await rows.nth(3).locator('a').click();
    await page.locator('main figcaption', { hasText: `night of ${[...nights].reverse()[3].date}` }).waitFor();
    await settled(page);
    await expectChartsDrawn(page, 2);
    expect(desktop.errors).toEqual([]);
  });

  it('Workouts: the list, and a workout with its route drawn without tiles and its heart-rate series', async () => {
    const page = await visit('workouts', '/workouts');
    const workouts = await everyItem('/api/v1/data/workouts?order=desc');
    const rows = page.locator('table.workouts tbody tr');
    await expect(rows.count()).resolves.toBe(workouts.length);
    for (const [i, workout] of workouts.entries()) {
      await expect(rows.nth(i).locator('a').textContent()).resolves.toBe(workout.name);
      await expect(rows.nth(i).locator('td').nth(3).locator('data').getAttribute('value')).resolves.toBe(rawValue(workout.distance_m));
    }
    const run = workouts.find((workout: any) => workout.name === 'Outdoor Run');
    const detailPage = await visit('workout', `/workouts/${run.id}`);
    const detail = await api(`/api/v1/data/workouts/${run.id}`);
    expect(await shownNumber(detailPage, '[data-measure="distance"]')).toEqual({ value: String(detail.distance_m), text: formatted(detail.distance_m / 1000, 2) });
    expect(await shownNumber(detailPage, '[data-measure="active_energy"]')).toEqual({ value: String(detail.active_energy_kcal), text: formatted(detail.active_energy_kcal, 0) });
    expect(await shownNumber(detailPage, '[data-measure="heart_rate_avg"]')).toEqual({ value: String(detail.heart_rate.avg), text: formatted(detail.heart_rate.avg, 0) });
    // The map (no tiles configured: no images, the route on the plain background) and the heart-rate chart.
    await expect(detailPage.locator('.tiles img').count()).resolves.toBe(0);
    await expectChartsDrawn(detailPage, 2);
    // The list's link leads there too.
    await page.goto(`${base}/workouts`);
    await settled(page);
    await page.getByRole('link', { name: 'Outdoor Run' }).click();
    await page.locator('h1', { hasText: /^Outdoor Run$/ }).waitFor();
    await settled(page);
  });

  it('Any metric: a type and a range, in its canonical unit or another', async () => {
    const range = `start=${encodeURIComponent('2024-03-13T04:00:00.000Z')}&end=${encodeURIComponent('2024-03-18T04:00:00.000Z')}`;
    const page = await visit('metric', '/metric?name=step_count&start=2024-03-13&end=2024-03-17');
    const steps = await everyItem(`/api/v1/data/metrics/step_count?${range}`);
    expect(steps.length).toBeGreaterThan(1000);
    expect(await shownNumber(page, '[data-measure="count"]')).toEqual({ value: String(steps.length), text: formatted(steps.length, 0) });
    const highest = Math.max(...steps.map((item: any) => item.value));
    expect(await shownNumber(page, '[data-measure="max"]')).toEqual({ value: String(highest), text: formatted(highest, 3) });
    await expectChartsDrawn(page, 1);

    // Distance in kilometres instead of metres: converted by the server, shown as it answered.
    const km = await visit('metric-unit', '/metric?name=walking_running_distance&start=2024-03-13&end=2024-03-17&unit=km');
    const distances = await everyItem(`/api/v1/data/metrics/walking_running_distance?${range}&unit=km`);
    const longest = Math.max(...distances.map((item: any) => item.value));
    expect(distances[0].unit).toBe('km');
    expect(await shownNumber(km, '[data-measure="max"]')).toEqual({ value: String(longest), text: formatted(longest, 3) });
    await expect(km.locator('[data-measure="max"] dt').textContent()).resolves.toBe('Highest (km)');
    await expectChartsDrawn(km, 1);

    // Choosing another metric with the form.
    await km.getByLabel('Metric').selectOption('flights_climbed');
    await km.getByLabel('Unit (stored in m)').fill('');
    await km.getByRole('button', { name: 'Show' }).click();
    await km.locator('main figcaption', { hasText: /^flights_climbed \(count\)$/ }).waitFor();
    await settled(km);
    await expectChartsDrawn(km, 1);
  });

  it('Uploads: each ingestion with its status and counts; one with its counts per type (a read key cannot reprocess)', async () => {
    const page = await visit('uploads', '/uploads');
    const { items: ingestions } = await api('/api/v1/ingestions?limit=50');
    const rows = page.locator('table.uploads tbody tr');
    await expect(rows.count()).resolves.toBe(ingestions.length);
    for (const [i, ingestion] of ingestions.entries()) {
      await expect(rows.nth(i).locator('td').nth(1).textContent()).resolves.toBe(ingestion.status);
      await expect(rows.nth(i).locator('td').nth(4).locator('data').getAttribute('value')).resolves.toBe(String(ingestion.counts.received));
    }
    const metrics = ingestions.find((ingestion: any) => ingestion.counts.received === 16341);
    const detail = await visit('upload', `/uploads/${metrics.id}`);
    const byType = Object.entries(metrics.by_type as Record<string, any>).sort(([a], [b]) => (a < b ? -1 : 1));
    const typeRows = detail.locator('table.by-type tbody tr');
    await expect(typeRows.count()).resolves.toBe(byType.length + 1);
    for (const [i, [type, counts]] of byType.entries()) {
      await expect(typeRows.nth(i).locator('td').first().textContent()).resolves.toBe(type);
      await expect(typeRows.nth(i).locator('td').nth(2).locator('data').getAttribute('value')).resolves.toBe(String(counts.inserted));
    }
    await expect(detail.getByRole('button', { name: 'Reprocess' }).count()).resolves.toBe(0);
  });

  it('Keys: a read key lists its own user\'s keys', async () => {
    const page = await visit('keys', '/keys');
    const keys = await everyItem('/api/v1/auth/keys?');
    const rows = page.locator('table.keys tbody tr');
    await expect(rows.count()).resolves.toBe(keys.length);
    await expect(page.locator('table.keys').textContent()).resolves.toContain('browser (this browser)');
    // Users and the audit log are for admin keys.
    await expect(page.locator('caption', { hasText: /^(Users|Audit log)/ }).count()).resolves.toBe(0);
  });

  it('is navigable by keyboard: a skip link first, then every page of the navigation', async () => {
    const keyboard = await openPage(browser, { ...DESKTOP, timezoneId: ZONE });
    await signIn(keyboard, readKey);
    const { page } = keyboard;
    await page.goto(`${base}/`);
    await settled(page);
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => (globalThis as any).document.activeElement.textContent)).resolves.toBe('Skip to content');
    await page.keyboard.press('Enter');
    // The skip link moves the focus from its handler: under load, after the key press returns.
    await page.waitForFunction(() => (globalThis as any).document.activeElement?.id === 'main', undefined, { timeout: 10_000 });
    await page.goto(`${base}/`);
    await settled(page);
    await page.keyboard.press('Tab');
    const reached: string[] = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => (globalThis as any).document.activeElement.textContent));
    }
    expect(reached).toEqual(expect.arrayContaining(['Today', 'Heart rate', 'Sleep', 'Workouts', 'Any metric', 'Uploads', 'Keys']));
    // Enter on a focused link shows its page, and the focus moves to the new page's heading.
    await page.getByRole('link', { name: 'Workouts', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: /^Workouts$/ }).waitFor();
    await settled(page);
    await expect(page.evaluate(() => (globalThis as any).document.activeElement.textContent)).resolves.toBe('Workouts');
    expect(keyboard.errors).toEqual([]);
    await page.context().close();
  });

  describe('with map tiles from a tile server (MAP_TILE_URL)', () => {
    let tiles: Server;
    const requested: { url: string; referer: string | undefined }[] = [];
    let tiled: TestApp;
    let tiledBase: string;

    beforeAll(async () => {
      tiles = createServer((request, response) => {
        requested.push({ url: request.url!, referer: request.headers.referer });
        response.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' }).end(TILE);
      });
      await new Promise<void>((resolve) => tiles.listen(0, '127.0.0.1', resolve));
      const { port } = tiles.address() as AddressInfo;
      // A second app over the same database, configured with this tile server.
      tiled = await createTestApp(kind, { env: { MAP_TILE_URL: `http://127.0.0.1:${port}/{z}/{x}/{y}.png` }, reset: false });
      tiledBase = await tiled.app.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await tiled?.close();
      await new Promise((resolve) => tiles?.close(resolve));
    });

    it("draws the route over the tiles, which the page's CSP allows and which get the page's origin as referrer", async () => {
      const watched = await openPage(browser, { ...DESKTOP, timezoneId: ZONE });
      const { page } = watched;
      const { items } = await api('/api/v1/data/workouts?order=desc');
      const run = items.find((workout: any) => workout.name === 'Outdoor Run');
      await page.goto(`${tiledBase}/workouts/${run.id}`);
      await settled(page);
      await page.getByLabel('API key').fill(readKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await settled(page);
      const images = page.locator('.tiles img');
      await expect.poll(() => images.count()).toBeGreaterThan(0);
      await expect
        .poll(() => images.evaluateAll((all: any[]) => all.every((image) => image.complete && image.naturalWidth === 1)), { timeout: 20_000 })
        .toBe(true);
      expect(requested.length).toBe(await images.count());
      for (const tile of requested) {
        expect(tile.url).toMatch(/^\/\d+\/\d+\/\d+\.png$/);
        // strict-origin-when-cross-origin: the origin, never the page's path (it holds the workout id).
        expect(tile.referer).toBe(`${tiledBase}/`);
      }
      await expect(page.locator('.attribution').textContent()).resolves.toBe('Map tiles: 127.0.0.1');
      await expectChartsDrawn(page, 2);
      expect(watched.errors).toEqual([]);
      await page.context().close();
    });
  });

  describe('with an admin key', () => {
    let admin: WatchedPage;

    beforeAll(async () => {
      admin = await openPage(browser, { ...DESKTOP, timezoneId: ZONE, permissions: ['clipboard-read', 'clipboard-write'] });
      await signIn(admin, ADMIN_KEY);
    });

    it('creates a key for a user, shows it once with a copy button, and revokes it; users and the audit log are listed', async () => {
      const { page } = admin;
      await page.goto(`${base}/keys`);
      await settled(page);
      const users = await everyItem('/api/v1/admin/users?', ADMIN_KEY);
      await expect(page.locator('table').filter({ has: page.locator('caption', { hasText: /^Users$/ }) }).locator('tbody tr').count()).resolves.toBe(users.length);
      await page.getByLabel('User', { exact: true }).selectOption({ label: 'dashboard@example.com' });
      await page.getByLabel('Name').fill('laptop');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = await page.locator('.secret').textContent();
      expect(secret).toMatch(/^hea_/);
      await page.getByRole('button', { name: 'Copy' }).click();
      await expect(page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).resolves.toBe(secret);
      const current = await api('/api/v1/auth/keys/current', secret!);
      expect(current).toMatchObject({ name: 'laptop', scopes: ['read'], user_id: userId });

      // Drawn again (as after a reload), the key is no longer shown; it is listed, and revoked with two presses.
      await page.goto(`${base}/keys`);
      await settled(page);
      await expect(page.locator('.secret').count()).resolves.toBe(0);
      const revoke = page.getByRole('button', { name: 'Revoke laptop' });
      await revoke.click();
      await revoke.click();
      await page.locator('table.keys tr', { hasText: 'laptop' }).filter({ hasText: 'revoked' }).waitFor();
      await settled(page);
      const refused = await t.app.inject({ method: 'GET', url: '/api/v1/auth/keys/current', headers: { authorization: `Bearer ${secret}` } });
      expect(refused.statusCode).toBe(401);
      await expect(page.locator('table', { has: page.locator('caption', { hasText: 'Audit log' }) }).textContent()).resolves.toContain('key.revoked');
      expect(await seriousViolations(page)).toEqual([]);
      if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'keys-admin-desktop.png') });
      expect(admin.errors).toEqual([]);
    });

    it('reprocesses an upload from its page and shows its kept rejections with their reasons', async () => {
      const { page } = admin;
      const { items } = await api('/api/v1/ingestions', ADMIN_KEY);
      const upload = items[0];
      const { items: rejections } = await api(`/api/v1/ingestions/${upload.id}/rejections`, ADMIN_KEY);
      expect(rejections).toHaveLength(3);
      await page.goto(`${base}/uploads/${upload.id}`);
      await settled(page);
      const rows = page.locator('table.rejections tbody tr');
      await expect(rows.count()).resolves.toBe(3);
      for (const [i, rejection] of rejections.entries()) await expect(rows.nth(i).locator('td').nth(2).textContent()).resolves.toBe(rejection.reason);
      await page.getByRole('button', { name: 'Reprocess' }).click();
      await page.getByText('Reprocessed: completed.').waitFor();
      const after = await api(`/api/v1/ingestions/${upload.id}`, ADMIN_KEY);
      expect(Date.parse(after.finished_at)).toBeGreaterThan(Date.parse(upload.finished_at));
      await expect(page.locator('[data-field="status"]').textContent()).resolves.toBe('completed');
      expect(admin.errors).toEqual([]);
    });
  });
});
