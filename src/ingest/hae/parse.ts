/**
 * A Health Auto Export payload, `{"data": {"metrics": [...], "workouts": [...], ...}}`
 * (hae-format.md section 2), walked array by array. Every entry of every array
 * yields exactly one ParsedItem, so the outcome counts add up to what was sent.
 */
import type { ParseContext, ParsedItem } from '../records.js';
import { isObject } from '../sample-fields.js';
import {
  parseHaeCycleTracking,
  parseHaeEcg,
  parseHaeHeartRateNotifications,
  parseHaeMedications,
  parseHaeStateOfMind,
  parseHaeSymptoms,
} from './events.js';
import { parseHaeMetrics } from './metrics.js';
import { parseHaeWorkouts } from './workouts.js';

/** `first`: the index of `entries[0]` in the upload, when `entries` is a slice of the array. */
export type ArrayParser = (entries: unknown, ctx: ParseContext, first?: number) => Iterable<ParsedItem>;

/** The arrays under `data`, in the order they are parsed. */
export const HAE_ARRAYS: ReadonlyMap<string, ArrayParser> = new Map<string, ArrayParser>([
  ['metrics', parseHaeMetrics],
  ['workouts', parseHaeWorkouts],
  ['stateOfMind', parseHaeStateOfMind],
  ['symptoms', parseHaeSymptoms],
  ['medications', parseHaeMedications],
  ['cycleTracking', parseHaeCycleTracking],
  ['ecg', parseHaeEcg],
  ['heartRateNotifications', parseHaeHeartRateNotifications],
]);

/**
 * Every sample in the payload, stored or rejected. An array under `data` that
 * this server does not know (a newer app's) is not skipped: each of its entries
 * is rejected with a reason, so it is counted and can be reprocessed once a
 * parser for it exists. Other unknown keys under `data` are not samples.
 *
 * Throws a TypeError when `body` is not an HAE payload (an object with a `data` object).
 */
export function* parseHae(body: unknown, ctx: ParseContext): Generator<ParsedItem> {
  if (!isObject(body) || !isObject(body.data)) {
    throw new TypeError('not a Health Auto Export payload: expected an object with a "data" object');
  }
  const data = body.data;
  for (const [key, parse] of HAE_ARRAYS) {
    if (data[key] !== undefined && data[key] !== null) yield* parse(data[key], ctx);
  }
  for (const key of Object.keys(data)) {
    const entries = data[key];
    if (!HAE_ARRAYS.has(key) && Array.isArray(entries)) yield* rejectUnknownArray(key, entries);
  }
}

/** The entries of `data[key]`, an array no parser knows, from index `first`. */
export function* rejectUnknownArray(key: string, entries: unknown[], first = 0): Generator<ParsedItem> {
  for (let i = 0; i < entries.length; i++) {
    yield {
      ok: false,
      rejection: {
        type: key,
        reason: `${key}[${first + i}]: data.${key} is not an array this server knows how to store`,
        category: 'format',
        sample: entries[i],
      },
    };
  }
}
