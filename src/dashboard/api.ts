/**
 * The one way the dashboard talks to the server: fetch with the signed-in key as a
 * bearer header. The key lives in sessionStorage, so it is gone when the tab closes.
 */
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

// ---------- the shapes the pages read (docs/openapi.json) ----------

export type Scope = 'ingest' | 'read' | 'admin' | 'delete';

export interface Key {
  id: string;
  name: string;
  scopes: Scope[];
  user_id: string;
  format: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface DailySummary {
  date: string;
  steps: number | null;
  distance_m: number | null;
  active_energy_kcal: number | null;
  exercise_min: number | null;
  resting_heart_rate: number | null;
  hrv_ms: number | null;
  heart_rate: { min: number | null; avg: number | null; max: number | null };
  sleep: { asleep_h: number | null; core_h: number | null; deep_h: number | null; rem_h: number | null; awake_h: number | null; in_bed_h: number | null };
}

export interface SeriesBucket {
  start: string;
  end: string;
  min: number;
  avg: number;
  max: number;
  sum: number;
  count: number;
}

export interface SleepNight {
  date: string;
  source: string;
  origin: 'summarised' | 'segments';
  start: string;
  end: string;
  asleep_h: number | null;
  core_h: number | null;
  deep_h: number | null;
  rem_h: number | null;
  awake_h: number | null;
  in_bed_h: number | null;
}

export interface SleepSegment {
  start: string;
  end: string;
  source: string;
  stage: string;
  hours: number;
}

export interface Workout {
  id: string;
  name: string;
  start: string;
  end: string;
  duration_s: number | null;
  distance_m: number | null;
  active_energy_kcal: number | null;
  heart_rate: { min: number | null; avg: number | null; max: number | null };
  has_route: boolean;
}

export interface SeriesPoint {
  time: string;
  qty: number | null;
  min: number | null;
  avg: number | null;
  max: number | null;
  unit: string | null;
}

export interface WorkoutDetail extends Workout {
  route: { type: 'LineString'; coordinates: number[][] } | null;
  series: Record<string, SeriesPoint[]>;
}

export interface Metric {
  name: string;
  unit: string;
  count: number;
  first: string;
  last: string;
  path: string;
}

export interface MetricSample {
  start: string;
  end: string;
  source: string;
  value: number;
  unit: string;
}

export interface Counts {
  received: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface Ingestion {
  id: string;
  status: string;
  format: string | null;
  counts: Counts | null;
  by_type: Record<string, Counts> | null;
  rejected_by_category: Record<string, number> | null;
  rejections_not_kept: number;
  source: string;
  size_bytes: number;
  received_at: string;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  body_deleted_at: string | null;
}

export interface Rejection {
  type: string;
  category: string;
  reason: string;
  sample: unknown;
}

export interface User {
  id: string;
  email: string;
  active: boolean;
  created_at: string;
}

export interface AuditEntry {
  at: string;
  action: string;
  key_id: string | null;
  user_id: string | null;
  ip: string | null;
  reason: string | null;
}
