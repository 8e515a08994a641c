/**
 * The one way the dashboard talks to the server: fetch with the signed-in key as a
 * bearer header. The key lives in sessionStorage, so it is gone when the tab closes.
 */
import type { z } from 'zod';
import type { countsSchema } from '../http/schemas/common.js';
import type { metricItem, metricSampleItem, seriesItem, sleepNightItem, sleepSegmentItem, summaryItem, workoutDetail, workoutItem } from '../http/schemas/data.js';
import type { ingestionSchema, rejectionSchema } from '../http/schemas/ingestion.js';
import type { keySchema, scopeSchema } from '../http/schemas/keys.js';
import type { auditSchema, userSchema } from '../http/schemas/users.js';

const KEY = 'hea.key';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY);
export const forgetKey = (): void => sessionStorage.removeItem(KEY);
export const rememberKey = (key: string): void => sessionStorage.setItem(KEY, key);

/** `path` with the defined parameters as its query string. */
export function withQuery(path: string, params: Record<string, string | number | undefined | null>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Called when the server no longer accepts the key (revoked, expired). */
let onUnauthorized = (): void => {};
export const whenUnauthorized = (handler: () => void): void => {
  onUnauthorized = handler;
};

export async function api<T>(path: string, options: { method?: string; body?: unknown; key?: string } = {}): Promise<T> {
  const key = options.key ?? storedKey() ?? '';
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? null : JSON.stringify(options.body),
  });
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) {
    if (response.status === 401 && options.key === undefined) onUnauthorized();
    throw new ApiError(response.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body as T;
}

export interface List<T> {
  items: T[];
  next: string | null;
}

/** Every page of a list, up to `max` items (a chart has no use for more). */
export async function allPages<T>(path: string, params: Record<string, string | number | undefined>, max = 100_000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<List<T>>(withQuery(path, { ...params, limit: 1000, cursor }));
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && items.length < max);
  return items;
}

// ---------- the shapes the pages read: the server's own schemas (types only, nothing of them is bundled) ----------

export type Scope = z.infer<typeof scopeSchema>;
export type Key = z.infer<typeof keySchema>;
export type DailySummary = z.infer<typeof summaryItem>;
export type SeriesBucket = z.infer<typeof seriesItem>;
export type SleepNight = z.infer<typeof sleepNightItem>;
export type SleepSegment = z.infer<typeof sleepSegmentItem>;
export type Workout = z.infer<typeof workoutItem>;
export type WorkoutDetail = z.infer<typeof workoutDetail>;
export type SeriesPoint = WorkoutDetail['series'][string][number];
export type Metric = z.infer<typeof metricItem>;
export type MetricSample = z.infer<typeof metricSampleItem>;
export type Counts = z.infer<typeof countsSchema>;
export type Ingestion = z.infer<typeof ingestionSchema>;
export type Rejection = z.infer<typeof rejectionSchema>;
export type User = z.infer<typeof userSchema>;
export type AuditEntry = z.infer<typeof auditSchema>;
