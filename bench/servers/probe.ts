/**
 * The real app, as buildApp assembles it (every plugin and hook the server has),
 * plus two probe routes that do nothing themselves, so that the cost of one
 * per-request layer is the difference between two of them: /bench/open and the
 * same behind requireScope (authentication), as every API route is. Started by
 * the benchmark against a database the real server has already migrated.
 *
 * BENCH_PROBE_WITHOUT names one layer to switch off, so that its cost is the
 * difference between this probe and one with everything on:
 * - `rate-limit`: keyed requests are neither checked nor counted in Redis;
 * - `metrics`: requests are not recorded in the Prometheus registry.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { requireScope } from '../../src/http/plugins/app/auth.js';
import { createLogger } from '../../src/shared/logger.js';
import { openDatabase } from '../../src/storage/open.js';
import { createRedis } from '../../src/storage/redis.js';

const config = loadConfig();
const logger = createLogger(config.log.level, false);
const { db } = await openDatabase(config, logger, 'bench-probe');
const redis = config.redisUrl ? createRedis(config.redisUrl, logger) : null;
const app = await buildApp(config, { db, logger, redis, postgis: false });

const without = process.env.BENCH_PROBE_WITHOUT;
if (without === 'rate-limit') {
  // requireScope looks the limiter up on every request: these are all a keyed request runs.
  const none = async () => undefined;
  const guess = async () => ({ key: '', member: '' });
  Object.assign(app.rateLimits, { takeGuess: guess, returnGuess: none, countVerifiedKey: none, countRememberedKey: none });
} else if (without === 'metrics') {
  // The request-telemetry hook records each request through this method; the log line stays.
  Object.assign(app.services.metrics, { httpRequest: () => undefined });
} else if (without) {
  throw new Error(`BENCH_PROBE_WITHOUT=${without}: expected rate-limit or metrics`);
}

await app.register(async (open) => {
  open.get('/bench/open', async () => ({ status: 'ok' }));
});
await app.register(async (keyed) => {
  keyed.addHook('onRequest', requireScope('read'));
  keyed.get('/bench/key', async () => ({ status: 'ok' }));
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
// The line the benchmark (test/helpers/process.ts) waits for, whatever LOG_LEVEL says.
process.stdout.write(`${JSON.stringify({ pid: process.pid, url })}\n`);
