/**
 * The database ceiling: the same samples COPYed straight into one narrow table
 * keyed on (user, metric, time, source) and partitioned by month, in one
 * statement and one commit. It is the least work PostgreSQL can do to hold them
 * durable and unique: no parsing, validation, unit conversion, upsert or counts.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { parseHaeDate } from '../../src/ingest/dates.js';
import { openPglite } from '../../src/storage/database.js';
import { monthOf } from '../../src/storage/partitions.js';
import type { Generated } from '../generate.js';

const COLUMNS = 'user_id, metric, start_at, end_at, source, value';

const TABLE = `CREATE TABLE IF NOT EXISTS ceiling_samples (
  user_id uuid NOT NULL,
  metric text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  source text NOT NULL,
  value double precision,
  PRIMARY KEY (user_id, metric, start_at, source)
) PARTITION BY RANGE (start_at)`;

type Point = Record<string, unknown>;

/** One COPY text line per sample (without the user id), and the months they fall in. */
export function ceilingLines(generated: Generated): { lines: string[]; months: Set<string> } {
  const lines: string[] = [];
  const months = new Set<string>();
  // HAE dates ('2024-01-01 07:00:00 +0000') are valid timestamptz input: PostgreSQL parses them itself.
  const add = (metric: string, start: string, end: string, source: unknown, value: unknown) => {
    months.add(monthOf(parseHaeDate(start)!.instant));
    lines.push(`${metric}\t${start}\t${end}\t${copyText(typeof source === 'string' ? source : '')}\t${typeof value === 'number' ? value : '\\N'}`);
  };
  for (const metric of generated.payload.data.metrics as { name: string; data: Point[] }[]) {
    for (const p of metric.data) {
      if (typeof p.startDate === 'string') add(`${metric.name}:${String(p.value)}`, p.startDate, p.endDate as string, p.source, p.qty);
      else if (typeof p.sleepStart === 'string') add(`${metric.name}:night`, p.sleepStart, p.sleepEnd as string, p.source, p.totalSleep);
      else add(metric.name, p.date as string, p.date as string, p.source, p.qty ?? p.Avg ?? p.systolic);
    }
  }
  for (const w of generated.payload.data.workouts as Point[]) add('workout', w.start as string, w.end as string, w.name, w.duration);
  if (lines.length !== generated.samples) throw new Error(`ceiling rows ${lines.length} != samples ${generated.samples}`);
  return { lines, months };
}

function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function partitionSql(month: string): string {
  const [year, mm] = month.split('-').map(Number) as [number, number];
  const from = new Date(Date.UTC(year, mm - 1, 1)).toISOString();
  const to = new Date(Date.UTC(year, mm, 1)).toISOString();
  return `CREATE TABLE IF NOT EXISTS ceiling_samples_p${month.replace('-', '')} PARTITION OF ceiling_samples FOR VALUES FROM ('${from}') TO ('${to}')`;
}

export interface Ceiling {
  /** COPYs the lines for a new user; resolves with the milliseconds it took. */
  copy(lines: string[], months: Set<string>): Promise<number>;
  close(): Promise<void>;
}

/** Each copy is for a new user, so every row is new, as in the end-to-end runs it is compared with. */
function withUser(lines: string[]): Buffer {
  const user = randomUUID();
  return Buffer.from(lines.map((line) => `${user}\t${line}`).join('\n') + '\n');
}

export async function postgresCeiling(url: string): Promise<Ceiling> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(TABLE);
  return {
    async copy(lines, months) {
      for (const month of months) await client.query(partitionSql(month));
      const text = withUser(lines);
      const started = performance.now();
      await pipeline(Readable.from([text]), client.query(copyFrom(`COPY ceiling_samples (${COLUMNS}) FROM STDIN`)));
      return performance.now() - started;
    },
    close: () => client.end(),
  };
}

/** The embedded equivalent: PGlite on a folder, in this process, fed through its /dev/blob device. */
export async function embeddedCeiling(dataDir: string): Promise<Ceiling> {
  // The server's own settings (shared_buffers), so the ceiling is measured on the same database.
  const db = await openPglite(dataDir);
  await db.exec(TABLE);
  return {
    async copy(lines, months) {
      for (const month of months) await db.exec(partitionSql(month));
      const blob = new Blob([withUser(lines)]);
      const started = performance.now();
      await db.query(`COPY ceiling_samples (${COLUMNS}) FROM '/dev/blob'`, [], { blob });
      return performance.now() - started;
    },
    close: () => db.close(),
  };
}
