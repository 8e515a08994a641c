/**
 * HTTP load with autocannon, keeping every response time itself: autocannon's
 * own histogram rounds to whole milliseconds, too coarse for overheads of a
 * fraction of one.
 *
 * With `overallRate`, autocannon gives each connection a budget of requests per
 * second that it spends as fast as it can at the start of each second: arrivals
 * come in bursts of up to `connections` concurrent requests, not evenly spaced.
 */
import autocannon from 'autocannon';
import { percentile, round } from './stats.js';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  /** Requests per second over all connections; unset: as fast as the server answers (closed loop). */
  overallRate?: number;
  /** The body of the i-th request (0-based, over all connections). */
  body?: (index: number) => Buffer;
  /** Checks a response body; a response it refuses counts as a failure. */
  accept?: (status: number, body: string) => boolean;
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Responses that were not 2xx, connection errors and timeouts, and bodies `accept` refused. */
  failures: { non2xx: number; errors: number; timeouts: number; refused: number };
  statusCodes: Record<string, number>;
  /** Requests started (bodies handed out), some possibly cut off when the time was up. */
  sent: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let sent = 0;
  let refused = 0;
  const request: autocannon.Request = {
    method: options.method ?? 'GET',
    ...(options.body
      ? {
          setupRequest: (req: autocannon.Request) => ({ ...req, body: options.body!(sent++) }),
        }
      : {}),
    ...(options.accept
      ? {
          onResponse: (status: number, body: string) => {
            if (!options.accept!(status, body)) refused += 1;
          },
        }
      : {}),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        headers: options.headers ?? {},
        connections: options.connections,
        duration: options.seconds,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        requests: [request],
        timeout: 30,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  });
  const stats = Float64Array.from(latencies);
  const statusCodes: Record<string, number> = {};
  for (const [code, entry] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = entry.count ?? 0;
  return {
    requests: latencies.length,
    perSecond: round(latencies.length / result.duration, 1),
    latencyMs: {
      p50: round(percentile(stats, 50), 3),
      p90: round(percentile(stats, 90), 3),
      p99: round(percentile(stats, 99), 3),
      max: round(percentile(stats, 100), 3),
      mean: round(stats.reduce((a, b) => a + b, 0) / Math.max(1, stats.length), 3),
    },
    failures: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, refused },
    statusCodes,
    sent: options.body ? sent : result.requests.sent,
  };
}

export function failed(result: LoadResult): number {
  const f = result.failures;
  return f.non2xx + f.errors + f.timeouts + f.refused;
}
