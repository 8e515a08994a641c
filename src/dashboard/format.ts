/**
 * Numbers as the pages show them: each in a <data> element whose value is the
 * number the API answered (the browser tests compare the two), and whose text is
 * that number converted and rounded for reading, in the browser's locale.
 */
import { h } from './dom.js';

export function formatNumber(value: number, digits = 0): string {
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

/** `raw` as answered; shown as `convert(raw)` with up to `digits` decimals, or a dash when there is none. */
export function shown(raw: number | null | undefined, digits = 0, convert: (value: number) => number = (value) => value): HTMLElement {
  if (raw === null || raw === undefined) return h('data', { value: '', class: 'none' }, '–');
  return h('data', { value: raw }, formatNumber(convert(raw), digits));
}

export const km = (metres: number) => metres / 1000;
export const minutes = (seconds: number) => seconds / 60;

export function duration(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const mins = Math.round((seconds % 3600) / 60);
  return hours > 0 ? `${hours} h ${mins} min` : `${mins} min`;
}

export const bytes = (size: number): string => (size >= 1024 * 1024 ? `${formatNumber(size / 1024 / 1024, 1)} MB` : `${formatNumber(size / 1024, 1)} kB`);
