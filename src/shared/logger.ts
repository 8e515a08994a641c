/**
 * pino options shared by the server and the CLI. Credentials and anything that
 * could name a person are redacted wherever they appear; request bodies and
 * health values are never logged in the first place.
 */
import pino, { type LoggerOptions } from 'pino';

const SECRET_FIELDS = ['password', 'token', 'key', 'secret', 'email', 'apiKey', 'api_key', 'pepper'];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export function loggerOptions(level: string, pretty: boolean): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

export function createLogger(level: string, pretty: boolean) {
  return pino(loggerOptions(level, pretty));
}
