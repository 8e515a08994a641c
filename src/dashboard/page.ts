/** What every page gets from the router. */
import type { Key } from './api.js';

export interface PageContext {
  /** Path parameters (/workouts/:id). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The chosen IANA time zone. */
  zone: string;
  /** The signed-in key (scopes decide what the page offers). */
  me: Key;
  /** Shows another page (or this one with other query parameters). */
  navigate(url: string): void;
}

export type Page = (main: HTMLElement, context: PageContext) => Promise<void>;

export const isAdmin = (me: Key) => me.scopes.includes('admin');
export const canIngest = (me: Key) => me.scopes.includes('ingest') || isAdmin(me);
