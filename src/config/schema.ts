/**
 * Every setting the server reads, declared once: its type, default and one line
 * on what it does. The `.env.example` file and docs/operations.md are generated
 * from this list (npm run cli -- config-reference), so they cannot drift.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { emailAddress } from '../shared/email.js';
import { DEFAULT_METRIC_BOUNDS, describeBounds } from '../ingest/metric-bounds.js';

/** Outer limits held by CHECK constraints in the schema; configuration may narrow them, never widen. */
export const FIXED_LIMITS = {
  heartRate: { min: 1, max: 400 },
  systolic: { min: 20, max: 400 },
  diastolic: { min: 10, max: 300 },
  pulse: { min: 1, max: 400 },
} as const;

/** Messages name the accepted values, so a mistyped setting can be fixed from the error alone. */
const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });
const FLAG_VALUES = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'] as const;
const isOn = (value: string) => ['true', '1', 'yes', 'on'].includes(value);
const flag = oneOf(FLAG_VALUES).transform(isOn);
/** A flag that may also be left to the server to decide (`auto`). */
const flagOrAuto = oneOf(['auto', ...FLAG_VALUES]).transform((v) => (v === 'auto' ? ('auto' as const) : isOn(v)));
const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

/** `name=max` pairs for metrics the bounds table knows, each max a positive number. */
const metricMaxList = z
  .string()
  .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => entry.split('=').map((part) => part.trim())))
  .refine(
    (pairs) => pairs.every((pair) => pair.length === 2 && DEFAULT_METRIC_BOUNDS.has(pair[0]!) && Number(pair[1]) > 0 && Number.isFinite(Number(pair[1]))),
    'must be name=max pairs separated by commas, each name a metric with a default bound (listed in .env.example) and each max a positive number',
  )
  .transform((pairs) => new Map(pairs.map(([name, max]) => [name!, Number(max)])));

/** A comma-separated list of browser origins (scheme://host[:port]) or `*`. */
const originList = z
  .string()
  .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
  .refine(
    (list) => list.every((entry) => entry === '*' || URL.canParse(entry) && new URL(entry).origin === entry),
    'each entry must be * or an origin such as https://dash.example.com (scheme, host and port; no path or trailing slash)',
  );
/**
 * false, true, a hop count, or proxy addresses/CIDRs. Fastify ignores a bare number (it cannot
 * check the peer), so a hop count becomes a function of the hop index in serverOptions.
 */
const trustProxy = z
  .string()
  .refine(
    (value) => /^(true|false|[1-9]|[1-9]\d)$/.test(value) || value.split(',').every((entry) => isIP(entry.trim().replace(/\/\d{1,3}$/, '')) !== 0),
    'must be false, true, a number of proxy hops (1-99), or a comma-separated list of proxy addresses or CIDRs',
  )
  .transform((value): boolean | number | string => (value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value));
/**
 * A map tile URL template with {z}, {x} and {y} (http or https); empty or off: no
 * tiles (null). The dashboard's Content-Security-Policy allows images from its origin.
 */
const tileUrl = z
  .string()
  .refine((value) => {
    if (value === '' || value === 'off') return true;
    if (!['{z}', '{x}', '{y}'].every((part) => value.includes(part))) return false;
    try {
      return ['https:', 'http:'].includes(new URL(value.replace(/\{[xyz]\}/g, '0')).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL template holding {z}, {x} and {y}, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty or off for no tiles')
  .transform((value) => (value === '' || value === 'off' ? null : value));
/** A topic filter with exactly one + level (the key id) and no #; the shared-subscription prefix is added by the server. */
const mqttTopic = z
  .string()
  .refine((value) => {
    const levels = value.split('/');
    return levels.filter((level) => level === '+').length === 1 && !/[#]|^\$/.test(value) && levels.every((level) => level === '+' || !level.includes('+'));
  }, 'must be a topic filter with exactly one + level (where the API key id goes), no #, not starting with $, e.g. health-export/+');

export interface Setting {
  schema: z.ZodType;
  default?: string;
  doc: string;
  /** An empty value is a value (the schema reads it), not unset: for settings where empty means "none". */
  emptyIsValue?: true;
}

/** name → schema (applied to the raw string), default (as a string) and documentation. */
export const SETTINGS = {
  NODE_ENV: { schema: oneOf(['development', 'production', 'test']), default: 'development', doc: 'production forbids a CORS wildcard and pretty logs; nothing else changes.' },
  ENV_FILE: { schema: z.string(), default: '.env', doc: 'dotenv file read at start, under the real environment (its variables never override one already set). Set but empty: no file is read (the tests do this, so a developer\'s .env never changes them).' },
  HOST: { schema: z.string().min(1), default: '0.0.0.0', doc: 'Address the HTTP server listens on.' },
  PORT: { schema: int(0, 65535), default: '3000', doc: 'TCP port the HTTP server listens on (0 picks a free port).' },
  LOG_LEVEL: { schema: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', doc: 'Minimum level written to the log.' },
  LOG_PRETTY: { schema: flagOrAuto, default: 'auto', doc: 'Human-readable log lines instead of JSON: auto (when standard output is a terminal and NODE_ENV is not production), true or false. true is refused when NODE_ENV=production.' },

  DATABASE_URL: { schema: url(['postgres:', 'postgresql:']).optional(), doc: 'PostgreSQL 15+ connection string. Unset: an embedded PostgreSQL (PGlite) in DATA_DIR.' },
  DATA_DIR: { schema: z.string().min(1), default: './data', doc: 'Folder of the embedded database and its lock file (used only without DATABASE_URL).' },
  DATABASE_POOL_SIZE: { schema: int(1, 200), default: '10', doc: 'Maximum PostgreSQL connections held by this process.' },
  DATABASE_CONNECT_TIMEOUT_MS: { schema: int(100, 600_000), default: '5000', doc: 'How long to wait for a new PostgreSQL connection.' },
  DATABASE_STATEMENT_TIMEOUT_MS: { schema: int(0, 86_400_000), default: '120000', doc: 'PostgreSQL statement_timeout for every statement (0 = none).' },
  MIGRATE_ON_START: { schema: flag, default: 'true', doc: 'Apply pending migrations when the server starts.' },

  REDIS_URL: { schema: url(['redis:', 'rediss:']).optional(), doc: 'Redis for shared rate limits and the key-verification cache. Unset: per-process memory.' },
  SHUTDOWN_TIMEOUT_SECONDS: { schema: int(1, 3600), default: '30', doc: 'On SIGTERM/SIGINT, how long in-flight work may take before the process exits anyway.' },

  ADMIN_API_KEY: { schema: z.string().min(16).max(256).regex(/^\S+$/, 'must not contain whitespace').optional(), doc: 'Bootstrap: if no admin key exists at start, this value becomes the first admin key (32-256 characters, no whitespace; e.g. openssl rand -base64 32). A key of 16-31 characters registered before keeps working, but start-up refuses to register a new one.' },
  ADMIN_EMAIL: { schema: emailAddress, default: 'admin@localhost', doc: 'Email of the user that owns the bootstrap key and receives CLI imports by default.' },
  API_KEY_PEPPER: { schema: z.string().min(16).optional(), doc: 'Secret (16+ characters) for key lookup hashes and the key cache; never stored in the database. Changing it invalidates every key. Unset: API_KEY_PEPPER_FILE; else, with the embedded database, generated once into DATA_DIR/api-key-pepper (mode 0600); with DATABASE_URL, start-up stops until one is set (e.g. openssl rand -base64 32).' },
  API_KEY_PEPPER_FILE: { schema: z.string().min(1).optional(), doc: 'A file holding API_KEY_PEPPER (a mounted secret); surrounding whitespace is ignored. Not together with API_KEY_PEPPER.' },
  API_KEY_CACHE_SECONDS: { schema: int(0, 86_400), default: '60', doc: 'How long a verified key is trusted without argon2 (also the longest a revocation takes to reach other instances).' },
  API_KEY_CACHE_KEY_PREFIX: { schema: z.string().regex(/^[\w:.-]{1,64}$/, 'letters, digits and _ : . - only'), default: 'hea:key:', doc: 'Prefix of the key-verification cache entries in Redis; deployments sharing one Redis need different prefixes.' },
  KEY_CREATIONS_PER_USER_PER_HOUR: { schema: int(1, 10_000_000), default: '10', doc: 'API keys one user may create through the API per RATE_LIMIT_WINDOW_SECONDS (each costs an argon2 hash); the CLI is not limited.' },
  ARGON2_MEMORY_KIB: { schema: int(1024, 4_194_304), default: '19456', doc: 'argon2id memory cost for key hashes (OWASP minimum 19456).' },
  ARGON2_ITERATIONS: { schema: int(1, 100), default: '2', doc: 'argon2id time cost.' },
  ARGON2_PARALLELISM: { schema: int(1, 16), default: '1', doc: 'argon2id parallelism.' },

  MAX_PAYLOAD_MB: { schema: int(1, 2048), default: '100', doc: 'Largest ingest body, counted after decompression.' },
  IMPORT_MAX_MB: { schema: int(1, 1_048_576), default: '4096', doc: 'Largest Apple Health export (POST /api/v1/import/apple-health: export.zip or export.xml), counted after decompression.' },
  IMPORT_MAX_MB_PER_USER_PER_DAY: { schema: int(1, 10_485_760), default: '8192', doc: 'Apple Health export bytes one user may upload in 24 hours (imports often run more than once; a whole history is a few GB).' },
  INGEST_SYNC_BUDGET_MS: { schema: int(0, 600_000), default: '5000', doc: 'An ingestion finished within this time is answered 200; otherwise 202 and a worker finishes it.' },
  INGEST_MAX_CONCURRENT: { schema: int(1, 64), default: '2', doc: 'Uploads this process processes at once, on the request path and in workers together; one more is archived, answered 202 and taken by a worker when one finishes.' },
  INGEST_MAX_BYTES_IN_FLIGHT: { schema: int(1, 65_536), default: '256', doc: 'Megabytes of bodies (decompressed size) this process processes at once; an upload that would pass it waits its turn (202), and one larger than it runs alone.' },
  INGEST_WORKERS: { schema: int(0, 64), default: '1', doc: 'Loops taking queued ingestions in this process (0: this process only accepts); what they run counts against INGEST_MAX_CONCURRENT and INGEST_MAX_BYTES_IN_FLIGHT with the request path.' },
  INGEST_POLL_INTERVAL_MS: { schema: int(10, 600_000), default: '1000', doc: 'How often an idle worker looks for queued ingestions.' },
  INGEST_LEASE_SECONDS: { schema: int(5, 3600), default: '60', doc: 'A processing ingestion whose worker has not reported for this long is taken over by another.' },
  REJECTIONS_KEPT_MAX: { schema: int(0, 10_000_000), default: '10000', doc: 'Rejected samples of one ingestion kept in full (sample and reason, listed by /rejections); every later one is only counted (per type and category, and as rejections_not_kept), so a flood of invalid samples cannot fill the disk.' },
  BATCH_CHUNK_SIZE: { schema: int(1, 50_000), default: '5000', doc: 'Rows written per statement.' },
  BATCH_MAX_RETRIES: { schema: int(0, 100), default: '5', doc: 'Retries of a chunk after a transient database error.' },
  BATCH_INITIAL_BACKOFF_MS: { schema: int(0, 60_000), default: '50', doc: 'First retry delay; doubles each time.' },
  BATCH_MAX_BACKOFF_MS: { schema: int(0, 600_000), default: '2000', doc: 'Longest retry delay.' },

  VALIDATION_HEART_RATE_MIN: { schema: int(FIXED_LIMITS.heartRate.min, FIXED_LIMITS.heartRate.max), default: '15', doc: 'Lowest plausible heart rate (bpm) for heart_rate, resting and walking averages and workout series.' },
  VALIDATION_HEART_RATE_MAX: { schema: int(FIXED_LIMITS.heartRate.min, FIXED_LIMITS.heartRate.max), default: '300', doc: 'Highest plausible heart rate (bpm).' },
  VALIDATION_BP_SYSTOLIC_MIN: { schema: int(FIXED_LIMITS.systolic.min, FIXED_LIMITS.systolic.max), default: '50', doc: 'Lowest plausible systolic pressure (mmHg).' },
  VALIDATION_BP_SYSTOLIC_MAX: { schema: int(FIXED_LIMITS.systolic.min, FIXED_LIMITS.systolic.max), default: '250', doc: 'Highest plausible systolic pressure (mmHg).' },
  VALIDATION_BP_DIASTOLIC_MIN: { schema: int(FIXED_LIMITS.diastolic.min, FIXED_LIMITS.diastolic.max), default: '30', doc: 'Lowest plausible diastolic pressure (mmHg).' },
  VALIDATION_BP_DIASTOLIC_MAX: { schema: int(FIXED_LIMITS.diastolic.min, FIXED_LIMITS.diastolic.max), default: '150', doc: 'Highest plausible diastolic pressure (mmHg).' },
  VALIDATION_PULSE_MIN: { schema: int(FIXED_LIMITS.pulse.min, FIXED_LIMITS.pulse.max), default: '15', doc: 'Lowest plausible pulse of a blood-pressure reading (bpm).' },
  VALIDATION_PULSE_MAX: { schema: int(FIXED_LIMITS.pulse.min, FIXED_LIMITS.pulse.max), default: '300', doc: 'Highest plausible pulse of a blood-pressure reading (bpm).' },
  VALIDATION_METRIC_MAX: {
    schema: metricMaxList,
    default: '',
    doc: `Highest plausible value per metric, in its stored unit, as name=max pairs separated by commas; each replaces that metric's default. Amounts that add up are per day and scale with a longer sample (a weekly bucket may hold 7 days' worth); a value in a unit the server does not know is not compared. Defaults: ${describeBounds()}.`,
  },
  VALIDATION_MIN_DATE: { schema: z.iso.date({ error: 'must be a date written YYYY-MM-DD' }), default: '1970-01-01', doc: 'Samples before this date are rejected.' },
  VALIDATION_MAX_FUTURE_HOURS: { schema: int(0, 24 * 366), default: '48', doc: 'Samples later than now plus this many hours are rejected.' },

  // Observability (metrics and logs)
  METRICS_PORT: {
    schema: z.union([z.literal('off').transform(() => null), int(0, 65535)], { error: 'must be off or a whole number from 0 to 65535' }),
    default: '9464',
    doc: 'Port of the listener that serves GET /metrics (without a key) and nothing else; the API port answers 404 for /metrics, since the per-type counts are health information. 0 picks a free port; off: no metrics listener. Each instance on one host needs its own port.',
  },
  METRICS_HOST: { schema: z.string().min(1), default: '127.0.0.1', doc: 'Address the metrics listener binds to. The default reaches only this machine; set the monitoring network\'s address (or 0.0.0.0 behind a firewall) for a remote Prometheus.' },
  // Edge protection: rate limits, CORS, time and size limits, hostile input.
  RATE_LIMIT_WINDOW_SECONDS: { schema: int(1, 86_400), default: '3600', doc: 'Length of the sliding rate-limit window: a request counts until it is this old.' },
  RATE_LIMIT_REQUESTS_PER_HOUR: { schema: int(1, 10_000_000), default: '1000', doc: 'Requests one API key may make per window (despite the name, per RATE_LIMIT_WINDOW_SECONDS). One export in the app\'s batch mode can be dozens of requests.' },
  RATE_LIMIT_USER_REQUESTS_PER_HOUR: { schema: int(1, 10_000_000).optional(), doc: 'Requests all of one user\'s keys together may make per window, so minting keys buys no budget. Unset: 5 x RATE_LIMIT_REQUESTS_PER_HOUR.' },
  RATE_LIMIT_IP_REQUESTS_PER_HOUR: { schema: int(1, 10_000_000), default: '100', doc: 'Failed authentications (a key that is wrong, revoked, expired or malformed) one client address may make per window; at most this many guesses are ever checked. Once used up, that address gets 429 for every authenticated route, valid key or not, so keys cannot be guessed.' },
  RATE_LIMIT_ANONYMOUS_REQUESTS_PER_HOUR: { schema: int(1, 10_000_000), default: '100', doc: 'Requests without any key (unknown URLs, a missing key header) one client address may make per window; a budget of its own, so a page of broken links never locks out a valid key from the same address.' },
  RATE_LIMIT_KEY_PREFIX: { schema: z.string().regex(/^[\w:.-]{1,64}$/, 'letters, digits and _ : . - only'), default: 'hea:rl:', doc: 'Prefix of the rate-limit keys in Redis; deployments sharing one Redis need different prefixes.' },
  CORS_ALLOWED_ORIGINS: { schema: originList, default: '', doc: 'Comma-separated origins (https://dash.example.com) whose browser pages may call the API. Empty: no cross-origin access. * allows any origin and is refused when NODE_ENV=production.' },
  CORS_ALLOW_CREDENTIALS: { schema: flag, default: 'false', doc: 'Send Access-Control-Allow-Credentials to allowed origins (cookies or HTTP auth from browsers; not needed for API keys in headers).' },
  CORS_MAX_AGE: { schema: int(0, 86_400), default: '600', doc: 'Seconds a browser may cache a preflight answer.' },
  TRUST_PROXY: { schema: trustProxy, default: 'false', doc: 'Whom to believe about the client address in X-Forwarded-For (rate limits and logs use it). Behind a proxy set the proxy\'s addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8, or Cloudflare\'s published ranges), or the number of proxies in front (1 for one nginx that appends to X-Forwarded-For; only when nothing but the proxy can reach the port). false: direct connections (behind a proxy every client then shares its address and limits). true believes every hop, so a client behind a proxy that appends can choose its address and lock out others: start-up warns.' },
  REQUEST_TIMEOUT_SECONDS: { schema: int(1, 3600), default: '90', doc: 'A request must arrive in full within this time (else 408), and a connection silent for twice as long is closed; keep it under the proxy\'s own limit (Cloudflare: 100 s).' },
  HEADERS_TIMEOUT_SECONDS: { schema: int(1, 3600), default: '30', doc: 'A request\'s headers must arrive within this time (slow-header attacks); at most REQUEST_TIMEOUT_SECONDS.' },
  KEEP_ALIVE_TIMEOUT_SECONDS: { schema: int(1, 3600), default: '72', doc: 'How long an idle keep-alive connection stays open; longer than the proxy\'s idle timeout, so the proxy never reuses a connection the server is closing.' },
  MAX_JSON_DEPTH: { schema: int(8, 10_000), default: '64', doc: 'A JSON body nested deeper than this many levels is refused whole (the app sends under 10).' },
  MAX_STRING_KB: { schema: int(1, 102_400), default: '64', doc: 'A JSON body holding any string longer than this (KiB, as sent) is refused whole.' },
  // Reading: queries, daily summaries and exports.
  COMPRESS_MIN_BYTES: { schema: int(0, 1024 * 1024 * 1024), default: '1024', doc: 'Responses at least this large are compressed (brotli or gzip, whichever the client accepts).' },
  EXPORT_BATCH_ROWS: { schema: int(100, 100_000), default: '5000', doc: 'Rows an export reads per query; an export holds one batch in memory whatever its range.' },

  // The browser dashboard served at / (src/dashboard).
  MAP_TILE_URL: {
    schema: tileUrl,
    default: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    emptyIsValue: true,
    doc: "Map tiles under a workout's route in the dashboard, as a URL template with {z}, {x} and {y}; the browser fetches them directly (the page's Content-Security-Policy allows that origin, and sends it the page's origin as referrer, as tile servers ask). Set but empty (MAP_TILE_URL=) or off: no tiles, the route is drawn on a plain background and nothing is fetched from elsewhere. OpenStreetMap's tile policy asks heavy users to run their own tile server.",
  },

  // MQTT intake (docs/mqtt.md)
  MQTT_URL: { schema: url(['mqtt:', 'mqtts:']).optional(), doc: 'Broker to subscribe to (mqtt://host:1883 or mqtts://...). Unset: no MQTT intake.' },
  MQTT_USERNAME: { schema: z.string().min(1).optional(), doc: "This server's username at the broker." },
  MQTT_PASSWORD: { schema: z.string().min(1).optional(), doc: "This server's password at the broker." },
  MQTT_CLIENT_ID: { schema: z.string().min(1).max(128).regex(/^\S+$/, 'must not contain whitespace').optional(), doc: 'Client id of the persistent session; must stay the same across restarts and differ per instance. Unset: health-export-<hostname>.' },
  MQTT_TOPIC: { schema: mqttTopic, default: 'health-export/+', doc: 'Topic filter to subscribe to (as a shared subscription); its one + level names the API key id a message is for.' },
  MQTT_MAX_MESSAGE_MB: { schema: int(1, 256), default: '100', doc: 'Largest message archived with its body; a larger one is recorded as failed without it.' },
  MQTT_SESSION_EXPIRY_HOURS: { schema: int(1, 24 * 366), default: '24', doc: "How long the broker keeps this instance's session (and QoS 1 messages for it) while the server is away; a retired client id's session keeps taking a share of messages until then." },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;
