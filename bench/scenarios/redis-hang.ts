/**
 * New keys while Redis hangs: the server reaches Redis through a TCP proxy the
 * benchmark owns, the proxy is made to stall (connections open, nothing
 * answered), and each of a set of keys the server has never verified is used
 * once, one request at a time, timed to the last byte of the answer. The first
 * request that meets the hung Redis waits one command timeout (1 s) and is not
 * counted; after it the key cache and the rate limits work from memory, so a new
 * key costs argon2 and the database, not Redis (before the fix: 2 s each). The
 * same number of new keys with Redis answering, just before, is the reference:
 * on a busy machine argon2 alone can pass the target.
 */
import { startTcpProxy } from '../../test/helpers/tcp-proxy.js';
import { startBenchServer, type Target } from '../lib/server.js';
import { SERVICES } from '../lib/services.js';
import { percentile, round } from '../lib/stats.js';

export interface RedisHangFigure {
  keys: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first request after the stall, which pays the one command timeout. */
  firstMs: number;
  /** The same measure with Redis answering. */
  reference: { p50Ms: number; p99Ms: number };
}

const figures = (latencies: number[]) => ({ p50Ms: round(percentile(latencies, 50), 1), p99Ms: round(percentile(latencies, 99), 1) });

async function timedGet(url: string, key: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/api/v1/ingestions?limit=1`, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`a new key while Redis hangs: ${response.status}`);
  return performance.now() - started;
}

export async function measureRedisHang(target: Target, options: { keys: number; log: (line: string) => void }): Promise<RedisHangFigure> {
  const proxy = await startTcpProxy(SERVICES.redisUrl);
  try {
    const server = await startBenchServer(target, { REDIS_URL: proxy.url });
    try {
      const keys: string[] = [];
      for (let i = 0; i <= 2 * options.keys; i++) keys.push((await server.newKey(`redis-hang-${i}`)).key);
      const reference: number[] = [];
      for (const key of keys.slice(0, options.keys)) reference.push(await timedGet(server.url, key));
      proxy.stall();
      const firstMs = await timedGet(server.url, keys[options.keys]!);
      const latencies: number[] = [];
      for (const key of keys.slice(options.keys + 1)) latencies.push(await timedGet(server.url, key));
      const figure = { keys: latencies.length, ...figures(latencies), maxMs: round(Math.max(...latencies), 1), firstMs: round(firstMs), reference: figures(reference) };
      options.log(
        `  ${figure.keys} new keys while Redis hangs: p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms, max ${figure.maxMs} ms (first request ${figure.firstMs} ms); ` +
          `with Redis answering: p50 ${figure.reference.p50Ms} ms, p99 ${figure.reference.p99Ms} ms`,
      );
      return figure;
    } finally {
      proxy.restore();
      await server.stop();
    }
  } finally {
    await proxy.close();
  }
}
