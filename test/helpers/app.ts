/**
 * Builds the real app over a real database for a test file, with an admin key
 * and cheap argon2 parameters; tests talk to it with inject().
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config, type EnvSource } from '../../src/config/config.js';
import type { Database } from '../../src/storage/database.js';
import { resetDatabase, silent, workerDatabase, type DatabaseKind } from './databases.js';

export const ADMIN_KEY = 'test-admin-key-0123456789-abcdefghijk';
/** Tests set the pepper, as PostgreSQL installs must: nothing is written into DATA_DIR. */
export const TEST_PEPPER = 'test-pepper-0123456789abcdef';

export const TEST_ENV: EnvSource = {
  // The configuration is this object alone: a developer's .env never reaches a test.
  ENV_FILE: '',
  ADMIN_API_KEY: ADMIN_KEY,
  API_KEY_PEPPER: TEST_PEPPER,
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_ITERATIONS: '1',
  INGEST_WORKERS: '0',
  LOG_LEVEL: 'silent',
  // Limits out of the way of tests about other things; rate-limit tests set their own.
  RATE_LIMIT_REQUESTS_PER_HOUR: '1000000',
  RATE_LIMIT_IP_REQUESTS_PER_HOUR: '1000000',
  RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: '1000000',
  KEY_CREATIONS_PER_USER_PER_HOUR: '1000000',
};

/**
 * For tests that read an ingestion's outcome from its answer: the request waits for
 * it however slow the machine (200, never a 202 because the default 5 s ran out).
 */
export const WAIT_FOR_OUTCOME: EnvSource = { INGEST_SYNC_BUDGET_MS: '600000' };

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  config: Config;
  postgis: boolean;
  /** A new user with a key of the given scopes. */
  userWithKey(email: string, scopes?: ('ingest' | 'read' | 'admin')[]): Promise<{ userId: string; key: string; keyId: string }>;
  /** POST /api/v1/ingest; `query` such as `?user_id=…`. */
  ingest(body: Buffer | string | object, key?: string, headers?: Record<string, string>, query?: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function createTestApp(
  kind: DatabaseKind,
  options: { env?: EnvSource; redis?: Redis | null; logger?: Logger; reset?: boolean; now?: () => Date } = {},
): Promise<TestApp> {
  const { db, postgis } = await workerDatabase(kind);
  if (options.reset !== false) await resetDatabase(db);
  const config = loadConfig({ ...TEST_ENV, ...options.env });
  const app = await buildApp(config, { db, logger: options.logger ?? silent, redis: options.redis ?? null, postgis, now: options.now });
  await app.services.keys.bootstrap();
  return {
    app,
    db,
    config,
    postgis,
    async userWithKey(email, scopes = ['ingest', 'read']) {
      const user = await app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { email } });
      const userId = (user.json() as { id: string }).id;
      const key = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/keys',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        payload: { name: `${email} key`, scopes, user_id: userId },
      });
      const body = key.json() as { key: string; id: string };
      return { userId, key: body.key, keyId: body.id };
    },
    ingest(body, key = ADMIN_KEY, headers = {}, query = '') {
      const payload = Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
      return app.inject({
        method: 'POST',
        url: `/api/v1/ingest${query}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
        payload,
      });
    },
    async close() {
      await app.close();
      await app.services.ingest.stop();
    },
  };
}
