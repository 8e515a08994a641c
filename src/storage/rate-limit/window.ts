/**
 * A sliding-window log: each counted request is remembered with its time and
 * counts until it is `windowMs` old, so requests age out one by one instead of
 * all at once at a boundary (a fixed window lets a client send twice the limit
 * across one). Refused requests are not remembered, so a client that keeps
 * knocking recovers as soon as its oldest counted request ages out.
 *
 * One request may count against several windows at once (a key, its user) and
 * be checked against others (its address): `take` counts it in all of them or
 * in none, atomically, so concurrent requests never count past a limit. A
 * counted request can be given back (a key check takes its address's slot
 * before argon2 runs and returns it when the key was valid).
 */
export interface WindowState {
  /** Requests counted in the window, this one included when it was counted. */
  count: number;
  /** Whether this window had room for the request. */
  allowed: boolean;
  /** Milliseconds until the oldest counted request leaves the window (0 when none is counted). */
  resetMs: number;
}

export interface Bucket {
  key: string;
  limit: number;
  windowMs: number;
  /** Count the request in this window (else only check that it has room). */
  count: boolean;
}

/** A request counted in one window, to give back. */
export interface Slot {
  key: string;
  member: string;
}

export interface Taken {
  /** Every window had room, and the request was counted in those with `count`. */
  allowed: boolean;
  /** Each bucket's state, in the order given. */
  states: WindowState[];
  /** Names this request in the windows it was counted in (see Slot). */
  member: string;
}

export interface WindowStore {
  /** Gives `giveBack` back first (when given), then counts the request at `now` in every counting bucket if all have room. */
  take(now: number, buckets: Bucket[], giveBack?: Slot): Promise<Taken>;
}
