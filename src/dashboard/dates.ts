/**
 * Days and instants in the chosen IANA time zone. The API takes local dates
 * (YYYY-MM-DD) for summaries and instants for ranges; a local midnight in a zone
 * becomes an instant here.
 */
const TZ_KEY = 'hea.tz';

export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
export const timeZone = (): string => localStorage.getItem(TZ_KEY) ?? browserZone();
export const setTimeZone = (zone: string): void => localStorage.setItem(TZ_KEY, zone);

/** The zones this browser knows, for the chooser. */
export const zones = (): string[] => (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [browserZone(), 'UTC'];

export const isDate = (text: string | null): text is string => text !== null && /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text));

/** Today's date in the zone. */
export const today = (zone: string): string => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second')) - Math.floor(instant / 1000) * 1000;
}

/** The instant local midnight begins `date` in the zone, as ISO 8601 UTC. */
export function midnight(date: string, zone: string): string {
  const naive = Date.parse(`${date}T00:00:00Z`);
  const first = naive - offsetAt(naive, zone);
  return new Date(naive - offsetAt(first, zone)).toISOString();
}

/** The local date of an instant in the zone. */
export const dateOf = (instant: string, zone: string): string =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));

export const time = (instant: string, zone: string): string => new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(new Date(instant));

export const dateTime = (instant: string, zone: string): string =>
  new Intl.DateTimeFormat(undefined, { timeZone: zone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(instant));

/** Seconds since the epoch, as uPlot's x values. */
export const seconds = (instant: string): number => Date.parse(instant) / 1000;
