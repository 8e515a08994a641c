/**
 * pino options shared by the server and the CLI. Credentials and anything that
 * could name a person are redacted wherever they appear in a logged object;
 * request bodies, health values and source names are never logged in the first
 * place: the request line carries the route, not the query string, and errors
 * are logged without the database's copy of the failing row.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Field and header names whose values are never written, compared in lower case. */
const SECRET_NAMES = new Set(
  ['password', 'token', 'key', 'secret', 'email', 'apiKey', 'api_key', 'adminApiKey', 'adminEmail', 'pepper']
    .concat(['authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key'])
    .map((name) => name.toLowerCase()),
);
const CENSOR = '[redacted]';
const MAX_DEPTH = 6;

/**
 * Replaces secret fields in plain objects and arrays at any depth up to MAX_DEPTH,
 * copying only the objects it changes (the caller's object is never modified).
 * pino's own `redact` needs a wildcard path per depth, and wildcard paths cost tens
 * of microseconds per line; this walk costs well under one for a request line.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i += 1) {
      const next = redactSecrets(value[i], depth + 1);
      if (next !== value[i]) (copy ??= value.slice())[i] = next;
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const field of Object.keys(record)) {
    const inner = record[field];
    const next = SECRET_NAMES.has(field.toLowerCase()) && inner !== undefined ? CENSOR : redactSecrets(inner, depth + 1);
    if (next !== inner) (copy ??= { ...record })[field] = next;
  }
  return copy ?? value;
}

/**
 * PostgreSQL puts the failing row's values in `detail` ("Failing row contains (...)")
 * and statement context in `where`: health values and source names. The error's
 * message, code and stack are enough to find the fault.
 */
const UNSAFE_ERROR_FIELDS = ['detail', 'where', 'internalQuery', 'parameters'];

function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (!serialized || typeof serialized !== 'object') return serialized;
  for (const field of UNSAFE_ERROR_FIELDS) delete serialized[field];
  return redactSecrets(serialized);
}

export function loggerOptions(level: string, pretty: boolean): LoggerOptions {
  return {
    level,
    formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
    serializers: { err: serializeError, error: serializeError },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

export function createLogger(level: string, pretty: boolean): Logger {
  return pino(loggerOptions(level, pretty));
}
