/**
 * The same sliding windows in this process's memory: the store without Redis,
 * and the fallback while Redis is unreachable. Bounded: keys whose requests
 * have all aged out are swept, and past MAX_KEYS the oldest keys are dropped
 * (a flood of addresses costs memory, never the process). Each `take` runs
 * without awaiting anything, so it is as atomic as the Redis script.
 */
import { randomBytes } from 'node:crypto';
import type { WindowState, WindowStore } from './window.js';

const MAX_KEYS = 100_000;
const SWEEP_EVERY = 1000;

interface Entry {
  time: number;
  member: string;
}

interface Window {
  /** The counted requests, oldest first. */
  entries: Entry[];
  windowMs: number;
}

export function memoryWindow(): WindowStore {
  const windows = new Map<string, Window>();
  const processId = randomBytes(6).toString('hex');
  let sequence = 0;
  let takes = 0;

  function current(key: string, now: number, windowMs: number): Window {
    let window = windows.get(key);
    if (!window) {
      window = { entries: [], windowMs };
      windows.set(key, window);
    }
    window.windowMs = windowMs;
    let aged = 0;
    while (aged < window.entries.length && window.entries[aged]!.time <= now - windowMs) aged++;
    if (aged > 0) window.entries.splice(0, aged);
    return window;
  }

  function state(window: Window, now: number, allowed: boolean): WindowState {
    const oldest = window.entries[0];
    return { count: window.entries.length, allowed, resetMs: oldest === undefined ? 0 : Math.max(0, oldest.time + window.windowMs - now) };
  }

  function sweep(now: number): void {
    for (const [key, window] of windows) {
      const newest = window.entries.at(-1);
      if (newest === undefined || newest.time <= now - window.windowMs) windows.delete(key);
    }
    // Map order is insertion order: past the bound, the longest-known keys go, down to 90 % so sweeps stay rare.
    if (windows.size <= MAX_KEYS) return;
    for (const key of windows.keys()) {
      if (windows.size <= MAX_KEYS * 0.9) break;
      windows.delete(key);
    }
  }

  return {
    async take(now, buckets, giveBack) {
      if (++takes % SWEEP_EVERY === 0 || windows.size > MAX_KEYS) sweep(now);
      if (giveBack) {
        const entries = windows.get(giveBack.key)?.entries;
        const index = entries?.findIndex((entry) => entry.member === giveBack.member) ?? -1;
        if (index >= 0) entries!.splice(index, 1);
      }
      const member = `${now}:${processId}:${sequence++}`;
      const live = buckets.map((bucket) => current(bucket.key, now, bucket.windowMs));
      const room = buckets.map((bucket, i) => live[i]!.entries.length < bucket.limit);
      const allowed = room.every(Boolean);
      if (allowed) buckets.forEach((bucket, i) => bucket.count && live[i]!.entries.push({ time: now, member }));
      return { allowed, member, states: live.map((window, i) => state(window, now, room[i]!)) };
    },
  };
}
