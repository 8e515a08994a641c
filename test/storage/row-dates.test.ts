/**
 * Rows carry their dates as ISO text, formatted by a shortcut that keeps the
 * day from the previous call: the text must be toISOString's for any instant,
 * whatever came before it.
 */
import { describe, expect, it } from 'vitest';
import type { HeartRateRecord } from '../../src/ingest/records.js';
import { TABLES } from '../../src/storage/samples/tables.js';

const startOf = (time: number) => {
  const start = new Date(time);
  const record: HeartRateRecord = { kind: 'heart_rate', type: 'heart_rate', start, end: start, source: 'Watch', min: 60, avg: 60, max: 60, context: null, raw: null };
  return TABLES.heart_rate.toRow(record).start_at;
};

describe('dates in rows', () => {
  it('are the same text as toISOString for instants in any order, across days, before 1970 and past year 9999', () => {
    const day = 86_400_000;
    const instants = [
      Date.UTC(2024, 4, 1, 23, 59, 59, 999), Date.UTC(2024, 4, 2), Date.UTC(2024, 4, 1, 0, 0, 0, 1), Date.UTC(2024, 4, 1, 12, 30, 5, 20),
      -1, 0, -day, -day - 1, Date.UTC(1969, 11, 31, 23, 0), Date.UTC(-50, 0, 1, 1, 2, 3, 4), Date.UTC(-50, 0, 1, 5),
      Date.UTC(10_000, 0, 1, 0, 0, 1), Date.UTC(10_000, 0, 1, 7), 8.64e15, -8.64e15,
    ];
    for (let i = 0; i < 3000; i++) instants.push(Date.UTC(2023, 0, 1) + i * 37_337 + (i % 1000));
    for (const time of instants) expect(startOf(time)).toBe(new Date(time).toISOString());
  });

  it('are refused for an invalid date, as toISOString refuses it', () => {
    startOf(Date.UTC(2024, 0, 1));
    expect(() => startOf(NaN)).toThrow(RangeError);
  });
});
