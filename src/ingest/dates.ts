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

/**
 * Real UTC offsets run from -12:00 to +14:00. A wider one (`+9999`) would move the
 * sample by days, so it is refused (sample-fields.ts checkTimeWindow), not believed.
 */
export const MAX_OFFSET_MINUTES = 14 * 60;

/** The offset an ISO 8601 date-time ends with, in minutes (Z: 0); null when it has none. */
export function isoOffsetMinutes(text: string): number | null {
  if (/Z$/i.test(text)) return 0;
  const match = /([+-])(\d{2}):?(\d{2})$/.exec(text);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : null;
}

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
  const usual = parseUsualForm(text);
  if (usual !== undefined) return usual;

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
  if (hour > 23 || minute > 59 || second > 59 || Number(match[11] ?? 0) > 59) return null;
  const offsetMinutes =
    match[9] === undefined ? 0 : (match[9] === '-' ? -1 : 1) * (Number(match[10]) * 60 + Number(match[11]));
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (!validCalendar(new Date(localMs), year, month, day)) return null;
  return { instant: new Date(localMs - offsetMinutes * 60_000), offsetMinutes, dateOnly: false };
}

const DIGIT_0 = 48;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by `count` digits of `text` at `from`, or -1 if any is not a digit. */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - DIGIT_0;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The form the app sends almost every date in, `yyyy-MM-dd HH:mm:ss ±hhmm`,
 * read by position: the general pattern costs a tenth of the server's CPU on a
 * 500,000-sample upload. Returns what the general path returns (null for an
 * impossible date or time), or undefined when `text` is not in this form.
 */
function parseUsualForm(text: string): ParsedDate | null | undefined {
  const sign = text[20];
  if (
    text.length !== 25 || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ' || text[13] !== ':' ||
    text[16] !== ':' || text[19] !== ' ' || (sign !== '+' && sign !== '-')
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const offsetHours = digitsAt(text, 21, 2);
  const offsetMins = digitsAt(text, 23, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || offsetHours < 0 || offsetMins < 0) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetMins > 59) return null;
  // Below year 100 the general path's Date.UTC reads 19xx and so refuses the date: so does this one.
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (year < 100 || monthDays === undefined || day < 1 || day > monthDays) return null;
  const offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  return { instant: new Date(Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000), offsetMinutes, dateOnly: false };
}

/** The calendar date (YYYY-MM-DD) of an instant as seen at a fixed offset. */
export function localDate(instant: Date, offsetMinutes: number): string {
  return new Date(instant.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

function validCalendar(date: Date, year: number, month: number, day: number): boolean {
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
