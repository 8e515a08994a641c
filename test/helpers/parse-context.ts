import { loadConfig } from '../../src/config/config.js';
import type { ParseContext } from '../../src/ingest/records.js';

/** The parse context the server uses with its default configuration (thresholds overridable). */
export function defaultContext(env: Record<string, string> = {}): ParseContext {
  return { limits: loadConfig(env).ingest.limits, now: new Date() };
}
