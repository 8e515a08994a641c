/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests:
 * a page that records console errors, and the checks every dashboard page gets
 * (drawn charts, no horizontal overflow, an axe-core scan).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { checkBuildIsCurrent } from './process.js';

export const CHROMIUM = '/usr/bin/chromium';

/** The browser loads the dashboard built into dist/public: it must be the current build. */
export function launchChromium(): Promise<Browser> {
  checkBuildIsCurrent();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught exceptions and CSP violations so far. */
  errors: string[];
}

export async function openPage(browser: Browser, options: BrowserContextOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`exception: ${error.message}`));
  return { page, errors };
}

/** Waits until the dashboard has drawn the page it navigated to (main's aria-busy goes false). */
export async function settled(page: Page): Promise<void> {
  await page.waitForSelector('main[aria-busy="false"]', { timeout: 60_000 });
}

/**
 * Pixels of a figure's canvases in the colours its data are drawn in (the
 * figure's data-colors): the axes and grid are other colours, so an empty chart
 * counts none.
 */
export function dataPixels(figure: Locator): Promise<number> {
  // Runs in the page; the test program has no DOM types, so the page's objects are loosely typed.
  return figure.evaluate((element: any) => {
    const probe = (globalThis as any).document.createElement('canvas').getContext('2d');
    const rgb = (css: string) => {
      probe.fillStyle = '#000';
      probe.fillStyle = css;
      const value = probe.fillStyle;
      if (value.startsWith('#')) return [1, 3, 5].map((i) => parseInt(value.slice(i, i + 2), 16));
      return value.match(/[\d.]+/g)!.slice(0, 3).map(Number);
    };
    const colours: number[][] = (element.dataset.colors as string).split(/,(?![^(]*\))/).map(rgb);
    let count = 0;
    for (const canvas of element.querySelectorAll('canvas')) {
      const data: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! < 40) continue;
        if (colours.some((c) => Math.abs(c[0]! - data[i]!) <= 24 && Math.abs(c[1]! - data[i + 1]!) <= 24 && Math.abs(c[2]! - data[i + 2]!) <= 24)) count++;
      }
    }
    return count;
  });
}

/** How far the page is wider than the window (0: nothing overflows). */
export function overflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical, as "rule: target" lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
    return result.violations;
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
