/**
 * What /ready reports. The database and migrations decide up or down; Redis and
 * MQTT only degrade the service (ingestion and reads go on without them).
 * /ready is unauthenticated, so it names only the check that failed; why it failed
 * (a host, a port, a pending migration) goes to the log, once per change.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../storage/database.js';
import { pendingMigrations } from '../storage/migrate.js';

export type CheckState = 'ok' | 'down' | 'off';

export interface ReadinessReport {
  status: 'ok' | 'degraded' | 'down';
  checks: { database: CheckState; migrations: CheckState; redis: CheckState; mqtt: CheckState };
}

const CHECK_TIMEOUT_MS = 3000;

export function createReadiness(deps: { db: Database; redis: Redis | null; logger: Logger; mqttState?: () => CheckState }) {
  let reported = '';
  return {
    async check(): Promise<ReadinessReport> {
      const problems: string[] = [];
      const database = await probe(() => deps.db.query('SELECT 1'), 'database', problems);
      const migrations =
        database === 'ok'
          ? await probe(async () => {
              const pending = await pendingMigrations(deps.db);
              if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
            }, 'migrations', problems)
          : 'down';
      const redis = deps.redis ? await probe(() => deps.redis!.ping(), 'redis', problems) : 'off';
      const mqtt = deps.mqttState?.() ?? 'off';
      if (mqtt === 'down') problems.push('mqtt: not connected to the broker');
      const status = database !== 'ok' || migrations !== 'ok' ? 'down' : redis === 'down' || mqtt === 'down' ? 'degraded' : 'ok';
      // Probes run every few seconds: a problem is logged when it starts or changes, and its end once.
      const now = problems.join('; ');
      if (now !== reported) {
        if (now) deps.logger.warn({ status, problems }, 'not ready');
        else deps.logger.info('ready again');
        reported = now;
      }
      return { status, checks: { database, migrations, redis, mqtt } };
    },
  };
}

async function probe(run: () => Promise<unknown>, name: string, problems: string[]): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
