/**
 * The only module that reads the environment. `loadConfig` turns a source of
 * strings (process.env after the ENV_FILE, `.env` by default) into a typed,
 * frozen Config, and reports every bad variable at once.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { DEFAULT_METRIC_BOUNDS } from '../ingest/metric-bounds.js';
import type { ValidationLimits } from '../ingest/records.js';
import { SETTINGS, type SettingName } from './schema.js';

type Raw = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type EnvSource = Record<string, string | undefined>;

/**
 * The environment with ENV_FILE (default .env in `cwd`) applied underneath it:
 * real environment variables win. ENV_FILE set but empty reads no file, so a
 * process started by the tests is never configured by a developer's .env. A
 * missing default .env is normal; a missing ENV_FILE the user named is an error.
 */
export function readEnvironment(env: EnvSource = process.env, cwd = process.cwd()): EnvSource {
  const named = env.ENV_FILE;
  const file = (named ?? SETTINGS.ENV_FILE.default).trim();
  if (file === '') return env;
  const result = dotenv.config({ path: path.resolve(cwd, file), processEnv: env as Record<string, string>, quiet: true });
  if (result.error && named !== undefined) throw new ConfigError([`ENV_FILE=${JSON.stringify(named)}: cannot read it (${result.error.message}); leave it empty to read no file`]);
  return env;
}

/** `terminal`: whether standard output is a terminal (LOG_PRETTY=auto is pretty there). */
export function loadConfig(source: EnvSource = readEnvironment(), terminal = Boolean(process.stdout.isTTY)): Config {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const given = source[name]?.trim();
    // An empty variable counts as unset, unless empty is a value of that setting (MAP_TILE_URL=: no tiles).
    const unset = given === undefined || (given === '' && !('emptyIsValue' in setting));
    const value = unset ? ('default' in setting ? setting.default : undefined) : given;
    const result = setting.schema.safeParse(value);
    if (result.success) raw[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(given ?? '')}: ${[...new Set(result.error.issues.map((i) => i.message))].join('; ')}`);
  }
  if (problems.length === 0) problems.push(...crossChecks(raw as Raw));
  const pepper = problems.length === 0 ? configuredPepper(raw as Raw, problems) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(shape(raw as Raw, pepper, ignoredVariables(source), terminal));
}

const SETTING_NAMES = Object.keys(SETTINGS);

/** First words that several settings share (RATE_LIMIT_…, INGEST_…, MQTT_…): our namespaces. */
const NAMESPACES = new Set(SETTING_NAMES.map((name) => name.split('_')[0]!).filter((word, i, words) => words.indexOf(word) !== i));

/**
 * Variables that look like settings but are none: a misspelt name (DATABSE_URL,
 * within an edit or two of a setting's) or an unknown one in our namespaces
 * (RATE_LIMIT_REQUESTS_PER_MINUTE), whose setting would silently keep its
 * default. Each is named with the setting closest to it.
 */
function ignoredVariables(source: EnvSource): string[] {
  const ignored: string[] = [];
  for (const name of Object.keys(source).sort()) {
    if (name in SETTINGS || !source[name]?.trim()) continue;
    const namespace = name.split('_')[0]!;
    const near = closest(name, NAMESPACES.has(namespace) ? SETTING_NAMES.filter((s) => s.startsWith(`${namespace}_`)) : SETTING_NAMES);
    // Short names (HOME, HOST) are one edit from each other by chance: allow them fewer.
    const typo = distance(name, near) <= (name.length >= 8 ? 2 : 1);
    if (typo || NAMESPACES.has(namespace)) ignored.push(`${name} (closest setting: ${near})`);
  }
  return ignored;
}

function crossChecks(raw: Raw): string[] {
  const problems: string[] = [];
  const pairs: [SettingName, SettingName][] = [
    ['VALIDATION_HEART_RATE_MIN', 'VALIDATION_HEART_RATE_MAX'],
    ['VALIDATION_BP_SYSTOLIC_MIN', 'VALIDATION_BP_SYSTOLIC_MAX'],
    ['VALIDATION_BP_DIASTOLIC_MIN', 'VALIDATION_BP_DIASTOLIC_MAX'],
    ['VALIDATION_PULSE_MIN', 'VALIDATION_PULSE_MAX'],
    ['BATCH_INITIAL_BACKOFF_MS', 'BATCH_MAX_BACKOFF_MS'],
  ];
  for (const [low, high] of pairs) {
    if ((raw[low] as number) > (raw[high] as number)) problems.push(`${low} (${raw[low]}) must not exceed ${high} (${raw[high]})`);
  }
  if (raw.NODE_ENV === 'production' && raw.LOG_PRETTY === true) problems.push('LOG_PRETTY: pretty logs are not allowed when NODE_ENV=production');
  if (raw.METRICS_PORT !== null && raw.METRICS_PORT !== 0 && raw.METRICS_PORT === raw.PORT) problems.push(`METRICS_PORT (${raw.METRICS_PORT}) must differ from PORT`);
  const wildcard = raw.CORS_ALLOWED_ORIGINS.includes('*');
  if (raw.NODE_ENV === 'production' && wildcard) {
    problems.push('CORS_ALLOWED_ORIGINS: * (any origin) is not allowed when NODE_ENV=production; list the origins that may call the API');
  }
  if (wildcard && raw.CORS_ALLOW_CREDENTIALS) problems.push('CORS_ALLOW_CREDENTIALS: browsers refuse credentials with CORS_ALLOWED_ORIGINS=*; list the origins instead');
  if (raw.HEADERS_TIMEOUT_SECONDS > raw.REQUEST_TIMEOUT_SECONDS) {
    problems.push(`HEADERS_TIMEOUT_SECONDS (${raw.HEADERS_TIMEOUT_SECONDS}) must not exceed REQUEST_TIMEOUT_SECONDS (${raw.REQUEST_TIMEOUT_SECONDS})`);
  }
  return problems;
}

/** API_KEY_PEPPER, or the content of API_KEY_PEPPER_FILE (a mounted secret); undefined when neither is set. */
function configuredPepper(raw: Raw, problems: string[]): string | undefined {
  if (raw.API_KEY_PEPPER_FILE === undefined) return raw.API_KEY_PEPPER;
  if (raw.API_KEY_PEPPER !== undefined) {
    problems.push('API_KEY_PEPPER and API_KEY_PEPPER_FILE: set one of them, not both');
    return undefined;
  }
  let content: string;
  try {
    content = readFileSync(raw.API_KEY_PEPPER_FILE, 'utf8').trim();
  } catch (error) {
    problems.push(`API_KEY_PEPPER_FILE=${JSON.stringify(raw.API_KEY_PEPPER_FILE)}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return undefined;
  }
  if (content.length < 16) problems.push(`API_KEY_PEPPER_FILE=${JSON.stringify(raw.API_KEY_PEPPER_FILE)}: the pepper in it must be at least 16 characters`);
  return content;
}

function shape(raw: Raw, pepper: string | undefined, ignored: string[], terminal: boolean) {
  const limits: ValidationLimits = {
    heartRate: { min: raw.VALIDATION_HEART_RATE_MIN, max: raw.VALIDATION_HEART_RATE_MAX },
    systolic: { min: raw.VALIDATION_BP_SYSTOLIC_MIN, max: raw.VALIDATION_BP_SYSTOLIC_MAX },
    diastolic: { min: raw.VALIDATION_BP_DIASTOLIC_MIN, max: raw.VALIDATION_BP_DIASTOLIC_MAX },
    pulse: { min: raw.VALIDATION_PULSE_MIN, max: raw.VALIDATION_PULSE_MAX },
    metricBounds: new Map([...DEFAULT_METRIC_BOUNDS].map(([name, bound]) => [name, { ...bound, max: raw.VALIDATION_METRIC_MAX.get(name) ?? bound.max }])),
    minDate: new Date(`${raw.VALIDATION_MIN_DATE}T00:00:00Z`),
    maxFutureHours: raw.VALIDATION_MAX_FUTURE_HOURS,
  };
  return {
    env: raw.NODE_ENV,
    http: { host: raw.HOST, port: raw.PORT },
    log: { level: raw.LOG_LEVEL, pretty: raw.LOG_PRETTY === 'auto' ? terminal && raw.NODE_ENV !== 'production' : raw.LOG_PRETTY },
    database: {
      url: raw.DATABASE_URL,
      dataDir: raw.DATA_DIR,
      poolSize: raw.DATABASE_POOL_SIZE,
      connectTimeoutMs: raw.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: raw.DATABASE_STATEMENT_TIMEOUT_MS,
      migrateOnStart: raw.MIGRATE_ON_START,
    },
    redisUrl: raw.REDIS_URL,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    auth: {
      adminApiKey: raw.ADMIN_API_KEY,
      adminEmail: raw.ADMIN_EMAIL,
      pepper,
      cacheSeconds: raw.API_KEY_CACHE_SECONDS,
      cachePrefix: raw.API_KEY_CACHE_KEY_PREFIX,
      argon2: { memoryCost: raw.ARGON2_MEMORY_KIB, timeCost: raw.ARGON2_ITERATIONS, parallelism: raw.ARGON2_PARALLELISM },
    },
    ingest: {
      maxPayloadBytes: raw.MAX_PAYLOAD_MB * 1024 * 1024,
      /** Apple Health exports: per upload, and per user in 24 hours. */
      importMaxBytes: raw.IMPORT_MAX_MB * 1024 * 1024,
      importMaxBytesPerUserPerDay: raw.IMPORT_MAX_MB_PER_USER_PER_DAY * 1024 * 1024,
      syncBudgetMs: raw.INGEST_SYNC_BUDGET_MS,
      maxConcurrent: raw.INGEST_MAX_CONCURRENT,
      maxBytesInFlight: raw.INGEST_MAX_BYTES_IN_FLIGHT * 1024 * 1024,
      workers: raw.INGEST_WORKERS,
      pollIntervalMs: raw.INGEST_POLL_INTERVAL_MS,
      leaseSeconds: raw.INGEST_LEASE_SECONDS,
      rejectionsKeptMax: raw.REJECTIONS_KEPT_MAX,
      limits,
    },
    batch: {
      chunkSize: raw.BATCH_CHUNK_SIZE,
      maxRetries: raw.BATCH_MAX_RETRIES,
      initialBackoffMs: raw.BATCH_INITIAL_BACKOFF_MS,
      maxBackoffMs: raw.BATCH_MAX_BACKOFF_MS,
    },
    /** port null: no metrics listener (METRICS_PORT=off). */
    metrics: { port: raw.METRICS_PORT, host: raw.METRICS_HOST },
    edge: {
      rateLimit: {
        windowMs: raw.RATE_LIMIT_WINDOW_SECONDS * 1000,
        perKey: raw.RATE_LIMIT_REQUESTS_PER_HOUR,
        perUser: raw.RATE_LIMIT_USER_REQUESTS_PER_HOUR ?? 5 * raw.RATE_LIMIT_REQUESTS_PER_HOUR,
        failuresPerAddress: raw.RATE_LIMIT_IP_REQUESTS_PER_HOUR,
        anonymousPerAddress: raw.RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR,
        keyCreationsPerUser: raw.KEY_CREATIONS_PER_USER_PER_HOUR,
        redisPrefix: raw.RATE_LIMIT_KEY_PREFIX,
      },
      cors: { origins: raw.CORS_ALLOWED_ORIGINS, credentials: raw.CORS_ALLOW_CREDENTIALS, maxAgeSeconds: raw.CORS_MAX_AGE },
      trustProxy: raw.TRUST_PROXY,
      timeouts: {
        requestMs: raw.REQUEST_TIMEOUT_SECONDS * 1000,
        headersMs: raw.HEADERS_TIMEOUT_SECONDS * 1000,
        keepAliveMs: raw.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      },
      json: { maxDepth: raw.MAX_JSON_DEPTH, maxStringBytes: raw.MAX_STRING_KB * 1024 },
    },
    /** tileUrl null: no map tiles (MAP_TILE_URL empty or off). */
    dashboard: { tileUrl: raw.MAP_TILE_URL },
    reading: {
      compressMinBytes: raw.COMPRESS_MIN_BYTES,
      exportBatchRows: raw.EXPORT_BATCH_ROWS,
    },
    mqtt: {
      url: raw.MQTT_URL,
      username: raw.MQTT_USERNAME,
      password: raw.MQTT_PASSWORD,
      clientId: raw.MQTT_CLIENT_ID ?? `health-export-${hostname()}`,
      topic: raw.MQTT_TOPIC,
      maxMessageBytes: raw.MQTT_MAX_MESSAGE_MB * 1024 * 1024,
      sessionExpirySeconds: raw.MQTT_SESSION_EXPIRY_HOURS * 3600,
    },
    /** Variables that look like settings but are none (see ignoredVariables); the server warns about them. */
    ignoredVariables: ignored,
  };
}

export type Config = ReturnType<typeof shape>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
