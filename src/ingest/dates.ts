/**
 * Dates as Health Auto Export sends them (hae-format.md section 3):
 *   `2024-02-06 14:30:00 -0800`, the 12-hour form `2024-09-21 7:57:00\u202fam +1000`,
 *   a date alone `2024-09-21`, numbers counted in seconds from Apple's reference
 *   date 2001-01-01T00:00:00Z, and ISO 8601 (our standard format).
 */

export interface ParsedDate {
  instant: Date;
  /** Offset from UTC in minutes as sent; null for a date alone or a number. */
  offsetMinutes: number | null;
  /** True when only a calendar date was sent. */
  dateOnly: boolean;
}

const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1);

// yyyy-MM-dd H:mm[:ss[.fff]] [am|pm] ±hhmm / ±hh:mm / Z; separators: space, U+202F, U+00A0, 'T'
const HAE_DATE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:[\s\u202f\u00a0]*([aApP])\.?[mM]\.?)?[\s\u202f\u00a0]*(?:([+-])(\d{2}):?(\d{2})|Z|GMT|UTC)$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseHaeDate(value: unknown): ParsedDate | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    const instant = new Date(APPLE_EPOCH_MS + value * 1000);
    return Number.isNaN(instant.getTime()) ? null : { instant, offsetMinutes: null, dateOnly: false };
  }
  if (typeof value !== 'string') return null;
  const text = value.trim();

  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly) {
    const [y, m, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    const instant = new Date(Date.UTC(y, m - 1, d));
    return validCalendar(instant, y, m, d) ? { instant, offsetMinutes: null, dateOnly: true } : null;
  }

  const match = HAE_DATE.exec(text);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  let hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  const millis = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, '0'));
  const meridiem = match[8]?.toLowerCase();
  if (meridiem) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === 'p' ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offsetMinutes =
    match[9] === undefined ? 0 : (match[9] === '-' ? -1 : 1) * (Number(match[10]) * 60 + Number(match[11]));
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (!validCalendar(new Date(localMs), year, month, day)) return null;
  return { instant: new Date(localMs - offsetMinutes * 60_000), offsetMinutes, dateOnly: false };
}

/** The calendar date (YYYY-MM-DD) of an instant as seen at a fixed offset. */
export function localDate(instant: Date, offsetMinutes: number): string {
  return new Date(instant.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

function validCalendar(date: Date, year: number, month: number, day: number): boolean {
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
