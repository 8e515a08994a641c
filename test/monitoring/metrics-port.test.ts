/**
 * METRICS_PORT: the scrape moves to a listener of its own, and the API port no
 * longer serves it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { TEST_ENV } from '../helpers/app.js';
import { silent } from '../helpers/databases.js';
import { parseScrape, total } from '../helpers/prometheus.js';

describe('METRICS_PORT', () => {
  let dataDir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hea-metrics-port-'));
    const config = loadConfig({ ...TEST_ENV, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir });
    server = await startServer(config, silent);
  });
  afterAll(async () => {
    await server?.shutdown();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves /metrics on its own port and not on the API port', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port);

    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);

    const scrape = await fetch(server.metricsUrl!);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const series = parseScrape(await scrape.text());
    expect(total(series, 'health_export_http_requests_total', { route: '/health', status: '200' })).toBe(1);
    expect(total(series, 'health_export_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);

    expect((await fetch(new URL('/other', server.metricsUrl!))).status).toBe(404);
  });

  it('refuses the same port for both', () => {
    expect(() => loadConfig({ ...TEST_ENV, PORT: '9100', METRICS_PORT: '9100' })).toThrow(/METRICS_PORT \(9100\) must differ from PORT/);
  });
});
