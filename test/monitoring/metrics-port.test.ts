/**
 * /metrics is served only by the listener of METRICS_PORT (default 9464) on
 * METRICS_HOST (default 127.0.0.1). The API port used to serve it to anyone,
 * unauthenticated, with per-type counts such as sexual_activity and medications:
 * health information about the users of a small instance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { TEST_ENV } from '../helpers/app.js';
import { silent } from '../helpers/databases.js';
import { parseScrape, total } from '../helpers/prometheus.js';

describe('METRICS_PORT', () => {
  const dirs: string[] = [];
  const started: RunningServer[] = [];
  /** A server on its own embedded database, API and metrics on free ports unless `env` says otherwise. */
  async function start(env: Record<string, string> = {}): Promise<RunningServer> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hea-metrics-port-'));
    dirs.push(dataDir);
    const server = await startServer(loadConfig({ ...TEST_ENV, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir, ...env }), silent);
    started.push(server);
    return server;
  }
  let server: RunningServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    for (const running of started) await running.shutdown();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('listens on 9464 on 127.0.0.1 by default', () => {
    const { metrics } = loadConfig({});
    expect(metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  });

  it('serves /metrics on its own listener, and the API port answers 404 for /metrics (it showed per-type health counts to anyone)', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port);

    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const api = await fetch(`${server.url}/metrics`);
    expect(api.status).toBe(404);
    expect(await api.text()).not.toContain('health_export_');

    const scrape = await fetch(server.metricsUrl!);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const series = parseScrape(await scrape.text());
    expect(total(series, 'health_export_http_requests_total', { route: '/health', status: '200' })).toBe(1);
    expect(total(series, 'health_export_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);

    expect((await fetch(new URL('/other', server.metricsUrl!))).status).toBe(404);
  });

  it('binds METRICS_HOST: a listener on 127.0.0.1 is not reached through another address', async () => {
    const other = await start({ METRICS_HOST: '127.0.0.2' });
    expect(other.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/metrics$/);
    expect((await fetch(other.metricsUrl!)).status).toBe(200);
    await expect(fetch(other.metricsUrl!.replace('127.0.0.2', '127.0.0.1'))).rejects.toThrow();
  });

  it('stops start-up with a message naming METRICS_PORT when its port is taken (a second instance on one host)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(start({ METRICS_PORT: String(port) })).rejects.toThrow(new RegExp(`METRICS_PORT ${port} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('serves no metrics at all with METRICS_PORT=off', async () => {
    const off = await start({ METRICS_PORT: 'off' });
    expect(off.metricsUrl).toBeUndefined();
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
  });

  it('refuses the same port for both, and a port that is neither a number nor off', () => {
    expect(() => loadConfig({ ...TEST_ENV, PORT: '9100', METRICS_PORT: '9100' })).toThrow(/METRICS_PORT \(9100\) must differ from PORT/);
    expect(() => loadConfig({ ...TEST_ENV, METRICS_PORT: 'none' })).toThrow(/METRICS_PORT="none": must be off or a whole number/);
  });
});
