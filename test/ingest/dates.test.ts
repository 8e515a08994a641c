/**
 * Dates in the app's usual form are read by position, for speed; every other
 * form goes through the general pattern. Both must agree on every date, valid
 * or not: the same string written with a 'T' and a colon in the offset takes the
 * general path, and must give the same instant, offset or refusal.
 */
import { describe, expect, it } from 'vitest';
import { random } from '../../bench/generate.js';
import { parseHaeDate } from '../../src/ingest/dates.js';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('reading dates in the usual form', () => {
  /** The date in the usual form and in a form only the general path reads; both must parse alike. */
  const same = (year: number, month: number, day: number, hour: number, minute: number, second: number, offset: string) => {
    const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
    const time = `${pad(hour)}:${pad(minute)}:${pad(second)}`;
    const usual = parseHaeDate(`${date} ${time} ${offset}`);
    expect(usual, `${date} ${time} ${offset}`).toEqual(parseHaeDate(`${date}T${time}${offset.slice(0, 3)}:${offset.slice(3)}`));
    return usual !== null;
  };

  it('gives what the general path gives, for valid and impossible dates alike', () => {
    const rand = random(2024);
    const pick = (from: number, to: number) => from + Math.floor(rand() * (to - from + 1));
    let valid = 0;
    for (let i = 0; i < 5000; i++) {
      const offset = `${rand() < 0.5 ? '-' : '+'}${pad(pick(0, 14))}${pad([0, 30, 45][pick(0, 2)]!)}`;
      if (same(pick(1896, 2104), pick(0, 13), pick(0, 32), pick(0, 24), pick(0, 60), pick(0, 60), offset)) valid += 1;
    }
    expect(valid).toBeGreaterThan(2000);
    // Month ends and leap years, centuries included.
    for (const year of [1900, 2000, 2023, 2024, 2100]) {
      for (let month = 1; month <= 12; month++) {
        for (const day of [0, 1, 28, 29, 30, 31, 32]) same(year, month, day, 12, 0, 0, '+0000');
      }
    }
  });

  it('reads the app’s dates, refuses impossible ones, and leaves other forms to the general path', () => {
    expect(parseHaeDate('2024-02-06 14:30:00 -0800')).toEqual({ instant: new Date('2024-02-06T22:30:00Z'), offsetMinutes: -480, dateOnly: false });
    expect(parseHaeDate(' 2024-03-10 02:30:00 +0530 ')?.instant).toEqual(new Date('2024-03-09T21:00:00Z'));
    expect(parseHaeDate('2024-02-29 00:00:00 +0000')?.instant).toEqual(new Date('2024-02-29T00:00:00Z'));
    expect(parseHaeDate('2023-02-29 00:00:00 +0000')).toBeNull();
    expect(parseHaeDate('2024-04-31 12:00:00 +0000')).toBeNull();
    expect(parseHaeDate('2024-01-01 24:00:00 +0000')).toBeNull();
    expect(parseHaeDate('2024-01-01 2a:00:00 +0000')).toBeNull();
    expect(parseHaeDate('2024-02-06 14:30:00 +08:00')?.offsetMinutes).toBe(480);
    expect(parseHaeDate('2024-09-21 7:57:00\u202fam +1000')?.instant).toEqual(new Date('2024-09-20T21:57:00Z'));
  });
});
