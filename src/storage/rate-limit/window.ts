/**
 * A sliding-window log: each counted request is remembered with its time and
 * counts until it is `windowMs` old, so requests age out one by one instead of
 * all at once at a boundary (a fixed window lets a client send twice the limit
 * across one). Refused requests are not remembered, so a client that keeps
 * knocking recovers as soon as its oldest counted request ages out.
 */
export interface WindowState {
  /** Requests counted in the window, this one included when it was counted. */
  count: number;
  /** Whether this request was within the limit (and so counted). */
  allowed: boolean;
  /** Milliseconds until the oldest counted request leaves the window (0 when none is counted). */
  resetMs: number;
}

export interface WindowStore {
  /** Counts a request at `now` if the key has fewer than `limit` in the window. */
  hit(key: string, now: number, limit: number, windowMs: number): Promise<WindowState>;
  /** The key's state at `now`, counting nothing. */
  peek(key: string, now: number, limit: number, windowMs: number): Promise<WindowState>;
}
