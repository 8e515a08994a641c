/**
 * Runs once before every test file: checks which real services the TEST_*
 * variables name, fails the run when REQUIRE_SERVICES=1 and one is unset or
 * unreachable (or PostGIS or promtool is missing), and otherwise says what will
 * be skipped. With PostgreSQL, migrates a template database that each worker
 * copies (CREATE DATABASE ... TEMPLATE is far faster than migrating again).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import pino from 'pino';
import { createPostgresDatabase } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';
import { randomBytes } from 'node:crypto';
import { adminUrl, runDatabasePrefix, testServices } from './helpers/services.js';
import { CHROMIUM } from './helpers/browser.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresTemplate: string | null;
    databasePrefix: string;
    redisAvailable: boolean;
    mqttAvailable: boolean;
    promtoolAvailable: boolean;
    chromiumAvailable: boolean;
  }
}

async function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject) {
  const { databaseUrl, redisUrl, mqttUrl, required } = testServices;
  const problems: string[] = [];
  const skipped: string[] = [];
  const need = (ok: boolean, what: string) => (ok ? undefined : required ? problems.push(what) : skipped.push(what));

  const pgUp = databaseUrl ? await reachable(databaseUrl, 5432) : false;
  need(Boolean(databaseUrl), 'TEST_DATABASE_URL is not set: PostgreSQL tests skipped (embedded database only)');
  if (databaseUrl) need(pgUp, `PostgreSQL at ${databaseUrl} is unreachable`);
  const redisUp = redisUrl ? await reachable(redisUrl, 6379) : false;
  need(Boolean(redisUrl), 'TEST_REDIS_URL is not set: Redis tests skipped');
  if (redisUrl) need(redisUp, `Redis at ${redisUrl} is unreachable`);
  const mqttUp = mqttUrl ? await reachable(mqttUrl, 1883) : false;
  need(Boolean(mqttUrl), 'TEST_MQTT_URL is not set: MQTT tests skipped');
  if (mqttUrl) need(mqttUp, `MQTT broker at ${mqttUrl} is unreachable`);
  const promtool = hasPromtool();
  need(promtool, 'promtool is not installed: alert-rule check skipped');
  const chromium = existsSync(CHROMIUM);
  need(chromium, `Chromium is not installed at ${CHROMIUM} (apt-get install chromium): dashboard browser tests skipped`);

  const prefix = runDatabasePrefix(randomBytes(4).toString('hex'));
  let template: string | null = null;
  if (databaseUrl && pgUp) {
    const admin = new pg.Client({ connectionString: adminUrl(databaseUrl) });
    await admin.connect();
    const postgis = await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'");
    need(postgis.rowCount === 1, 'PostGIS is not installed on the test PostgreSQL');
    template = `${prefix}template`;
    await admin.query(`CREATE DATABASE ${template}`);
    const db = createPostgresDatabase(
      { url: adminUrl(databaseUrl, template), poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'test-template' },
      pino({ level: 'silent' }),
    );
    await migrate(db, pino({ level: 'silent' }));
    await db.close();
    await admin.end();
  }

  if (problems.length > 0) {
    throw new Error(`REQUIRE_SERVICES=1 but:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  for (const line of skipped) console.warn(`[tests] ${line}`);

  project.provide('postgresTemplate', template);
  project.provide('databasePrefix', prefix);
  project.provide('redisAvailable', redisUp);
  project.provide('mqttAvailable', mqttUp);
  project.provide('promtoolAvailable', promtool);
  project.provide('chromiumAvailable', chromium);

  return async () => {
    if (!databaseUrl || !pgUp) return;
    const admin = new pg.Client({ connectionString: adminUrl(databaseUrl) });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.end();
  };
}
