/**
 * The same sliding window in this process's memory: the store without Redis,
 * and the fallback while Redis is unreachable. Bounded: keys whose requests
 * have all aged out are swept, and past MAX_KEYS the oldest keys are dropped
 * (a flood of addresses costs memory, never the process).
 */
import type { WindowState, WindowStore } from './window.js';

const MAX_KEYS = 100_000;
const SWEEP_EVERY = 1000;

interface Bucket {
  /** Times of the counted requests, oldest first. */
  times: number[];
  windowMs: number;
}

export function memoryWindow(): WindowStore {
  const buckets = new Map<string, Bucket>();
  let hits = 0;

  function current(key: string, now: number, windowMs: number): Bucket {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { times: [], windowMs };
      buckets.set(key, bucket);
    }
    bucket.windowMs = windowMs;
    let aged = 0;
    while (aged < bucket.times.length && bucket.times[aged]! <= now - windowMs) aged++;
    if (aged > 0) bucket.times.splice(0, aged);
    return bucket;
  }

  function state(bucket: Bucket, now: number, allowed: boolean): WindowState {
    const oldest = bucket.times[0];
    return { count: bucket.times.length, allowed, resetMs: oldest === undefined ? 0 : Math.max(0, oldest + bucket.windowMs - now) };
  }

  function sweep(now: number): void {
    for (const [key, bucket] of buckets) {
      const newest = bucket.times.at(-1);
      if (newest === undefined || newest <= now - bucket.windowMs) buckets.delete(key);
    }
    // Map order is insertion order: past the bound, the longest-known keys go, down to 90 % so sweeps stay rare.
    if (buckets.size <= MAX_KEYS) return;
    for (const key of buckets.keys()) {
      if (buckets.size <= MAX_KEYS * 0.9) break;
      buckets.delete(key);
    }
  }

  return {
    async hit(key, now, limit, windowMs) {
      if (++hits % SWEEP_EVERY === 0 || buckets.size > MAX_KEYS) sweep(now);
      const bucket = current(key, now, windowMs);
      const allowed = bucket.times.length < limit;
      if (allowed) bucket.times.push(now);
      return state(bucket, now, allowed);
    },
    async peek(key, now, limit, windowMs) {
      const bucket = buckets.get(key);
      if (!bucket) return { count: 0, allowed: limit > 0, resetMs: 0 };
      const live = current(key, now, windowMs);
      return state(live, now, live.times.length < limit);
    },
  };
}
