/**
 * Per-request overheads: the cost of one layer is the latency difference between
 * two endpoints that differ only by that layer, measured in the same run. One
 * connection, closed loop, so no request ever waits behind another and the
 * difference is the layer's own time. Repetitions alternate the endpoints; each
 * overhead is the median of its per-repetition differences.
 *
 * To add a layer: start a probe without it in SERVERS (bench/servers/probe.ts
 * says how one is switched off), name the endpoints in ENDPOINTS, and compare
 * them in OVERHEADS.
 */
import { runLoad, failed, type LoadResult } from '../lib/load.js';
import { median, round } from '../lib/stats.js';
import { startServerProcess, type ServerProcess } from '../../test/helpers/process.js';
import { BENCH_ENV, targetEnv, type Target } from '../lib/server.js';
import { logFile } from '../lib/services.js';

interface ServerSpec {
  entry: string;
  env: Record<string, string>;
}

/** Processes to start: the bare reference, and the real app with probe routes under each setting compared. */
const SERVERS: Record<string, ServerSpec> = {
  bare: { entry: 'bench/servers/bare.ts', env: {} },
  app: { entry: 'bench/servers/probe.ts', env: { LOG_LEVEL: 'info' } },
  // Fastify logs each request at info: at warn the same app writes no request lines.
  'app-quiet': { entry: 'bench/servers/probe.ts', env: { LOG_LEVEL: 'warn' } },
  'app-unlimited': { entry: 'bench/servers/probe.ts', env: { LOG_LEVEL: 'info', BENCH_PROBE_WITHOUT: 'rate-limit' } },
  'app-unmetered': { entry: 'bench/servers/probe.ts', env: { LOG_LEVEL: 'info', BENCH_PROBE_WITHOUT: 'metrics' } },
};

interface Endpoint {
  server: keyof typeof SERVERS;
  path: string;
  key?: boolean;
}

const ENDPOINTS: Record<string, Endpoint> = {
  'bare route': { server: 'bare', path: '/health' },
  'app route, no request logs': { server: 'app-quiet', path: '/bench/open' },
  'app route': { server: 'app', path: '/bench/open' },
  'app route with a cached key': { server: 'app', path: '/bench/key', key: true },
  'app route with a cached key, no rate limiting': { server: 'app-unlimited', path: '/bench/key', key: true },
  'app route, no metrics': { server: 'app-unmetered', path: '/bench/open' },
};

export interface OverheadDefinition {
  name: string;
  /** The endpoint with the layer, and the one without it. */
  subject: string;
  base: string;
  /** Target for the p99 difference, ms. */
  targetMs?: number;
}

export const OVERHEADS: OverheadDefinition[] = [
  { name: 'authentication with a cached key', subject: 'app route with a cached key, no rate limiting', base: 'app route', targetMs: 0.5 },
  {
    name: 'rate limiting against Redis (the address checked and the key counted, one round trip for a remembered key)',
    subject: 'app route with a cached key',
    base: 'app route with a cached key, no rate limiting',
    targetMs: 0.5,
  },
  { name: 'metrics hooks (a counter and a histogram per request)', subject: 'app route', base: 'app route, no metrics', targetMs: 0.5 },
  { name: 'logging hooks (one line per request at LOG_LEVEL=info)', subject: 'app route', base: 'app route, no request logs', targetMs: 0.5 },
  { name: "the app's other global hooks (request id, error handler, plugins) over bare Fastify", subject: 'app route, no request logs', base: 'bare route' },
];

export interface EndpointFigure {
  name: string;
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
  runs: Pick<LoadResult, 'latencyMs' | 'perSecond' | 'requests'>[];
}

export interface OverheadFigure extends OverheadDefinition {
  p50DiffMs: number;
  p99DiffMs: number;
}

export async function measureOverheads(
  target: Target,
  userKey: string,
  options: { seconds: number; reps: number; log: (line: string) => void },
): Promise<{ endpoints: EndpointFigure[]; overheads: OverheadFigure[] }> {
  const started = new Map<string, ServerProcess>();
  try {
    await Promise.all(
      Object.entries(SERVERS).map(async ([name, spec]) => {
        const env = spec.entry.endsWith('bare.ts') ? {} : { ...BENCH_ENV, ...targetEnv(target), ...spec.env };
        started.set(name, await startServerProcess(env, 120_000, { entry: spec.entry, logFile: logFile(name) }));
      }),
    );
    const runs = new Map<string, LoadResult[]>(Object.keys(ENDPOINTS).map((name) => [name, []]));
    const measure = async (name: string, seconds: number) => {
      const endpoint = ENDPOINTS[name]!;
      const result = await runLoad({
        url: started.get(endpoint.server)!.url + endpoint.path,
        headers: endpoint.key ? { authorization: `Bearer ${userKey}` } : {},
        connections: 1,
        seconds,
      });
      if (failed(result) > 0) throw new Error(`${name}: ${JSON.stringify(result.failures)} ${JSON.stringify(result.statusCodes)}`);
      return result;
    };
    // A first pass warms the JIT and the key cache (argon2 runs once, on the first keyed request).
    for (const name of Object.keys(ENDPOINTS)) await measure(name, 1);
    for (let rep = 0; rep < options.reps; rep++) {
      const order = Object.keys(ENDPOINTS);
      if (rep % 2 === 1) order.reverse();
      for (const name of order) runs.get(name)!.push(await measure(name, options.seconds));
    }
    const endpoints = [...runs].map(([name, list]) => ({
      name,
      p50Ms: round(median(list.map((r) => r.latencyMs.p50)), 3),
      p99Ms: round(median(list.map((r) => r.latencyMs.p99)), 3),
      perSecond: round(median(list.map((r) => r.perSecond))),
      runs: list.map((r) => ({ latencyMs: r.latencyMs, perSecond: r.perSecond, requests: r.requests })),
    }));
    const difference = (subject: string, base: string, field: 'p50' | 'p99') =>
      round(median(runs.get(subject)!.map((r, i) => r.latencyMs[field] - runs.get(base)![i]!.latencyMs[field])), 3);
    for (const e of endpoints) options.log(`  ${e.name}: p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms, ${e.perSecond}/s`);
    const overheads = OVERHEADS.map((o) => ({ ...o, p50DiffMs: difference(o.subject, o.base, 'p50'), p99DiffMs: difference(o.subject, o.base, 'p99') }));
    return { endpoints, overheads };
  } finally {
    await Promise.all([...started.values()].map((server) => server.stop()));
  }
}
