/**
 * Small uploads under load: 100-sample payloads, a different one per request
 * (identical bodies would only hit the duplicate shortcut), each the next hour of
 * one person's data, at a fixed arrival rate; then as fast as the server answers
 * (closed loop). Every upload must come back completed with counts that add up,
 * and the database must hold no ingestion left unfinished. The bare Fastify
 * route receives the same bodies as the reference.
 */
import pg from 'pg';
import { generateHaePayload } from '../generate.js';
import { runLoad, failed, type LoadResult } from '../lib/load.js';
import { cpuMeter } from '../lib/proc.js';
import type { BenchServer } from '../lib/server.js';
import { median, medianBy, round } from '../lib/stats.js';

const FIRST_HOUR = Date.UTC(2020, 0, 1);

/** The i-th small payload: the i-th hour of data, generated once and kept. */
function smallBodies() {
  const bodies: Buffer[] = [];
  const samples: number[] = [];
  return {
    body(index: number): Buffer {
      for (let i = bodies.length; i <= index; i++) {
        const generated = generateHaePayload({ samples: 100, seed: i + 1, start: FIRST_HOUR + i * 3_600_000 });
        bodies.push(Buffer.from(JSON.stringify(generated.payload)));
        samples.push(generated.samples);
      }
      return bodies[index]!;
    },
    samples: (count: number) => samples.slice(0, count).reduce((a, b) => a + b, 0),
  };
}

export interface LoadFigure {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  runs: Pick<LoadResult, 'latencyMs' | 'perSecond' | 'requests' | 'statusCodes'>[];
}

export interface SmallUploadsFigure {
  /** CPU milliseconds per upload in the closed-loop runs: the server process, and its PostgreSQL sessions. */
  cpuPerUploadMs: { server: number | null; database: number | null };
  rate: number;
  connections: number;
  seconds: number;
  samplesPerUpload: number;
  fixedRate: LoadFigure & { uploads: number; completed: number; unfinished: number };
  closedLoop: LoadFigure;
  bare: { fixedRate: LoadFigure; closedLoop: LoadFigure };
}

const figure = (runs: LoadResult[]): LoadFigure => {
  const middle = medianBy(runs, (r) => r.latencyMs.p99);
  return {
    perSecond: round(median(runs.map((r) => r.perSecond)), 1),
    p50Ms: round(median(runs.map((r) => r.latencyMs.p50)), 2),
    p99Ms: middle.latencyMs.p99,
    runs: runs.map((r) => ({ latencyMs: r.latencyMs, perSecond: r.perSecond, requests: r.requests, statusCodes: r.statusCodes })),
  };
};

const completed = (status: number, body: string) => status === 200 && body.includes('"status":"completed"');

export async function measureSmallUploads(
  server: BenchServer,
  bareUrl: string,
  databaseUrl: string,
  options: { rate: number; connections: number; seconds: number; closedSeconds: number; reps: number; log: (line: string) => void },
): Promise<SmallUploadsFigure> {
  const bodies = smallBodies();
  bodies.body(Math.ceil(options.rate * options.seconds * 1.1)); // generated before the clock starts
  const fixed: LoadResult[] = [];
  const closed: LoadResult[] = [];
  const bareFixed: LoadResult[] = [];
  const bareClosed: LoadResult[] = [];
  let uploads = 0;
  let done = 0;
  let unfinished = 0;
  const serverCpuMs: number[] = [];
  const databaseCpuMs: number[] = [];
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const load = (url: string, key: string | null, seconds: number, overallRate?: number) =>
      runLoad({
        url: `${url}/api/v1/ingest`,
        method: 'POST',
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
        connections: options.connections,
        seconds,
        ...(overallRate ? { overallRate } : {}),
        body: (i) => bodies.body(i),
        accept: key ? completed : undefined,
      });
    const checked = (name: string, result: LoadResult) => {
      if (failed(result) > 0) throw new Error(`${name}: ${JSON.stringify(result.failures)} ${JSON.stringify(result.statusCodes)}`);
      return result;
    };
    for (let rep = 0; rep < options.reps; rep++) {
      // A new person per run: the same bodies are new data for them, never duplicates.
      const person = await server.newKey(`small-${rep}`);
      const run = checked('uploads at a fixed rate', await load(server.url, person.key, options.seconds, options.rate));
      fixed.push(run);
      const check = await settle(db, person.userId);
      if (check.unfinished > 0 || check.unbalanced > 0) throw new Error(`uploads left unfinished or unbalanced: ${JSON.stringify(check)}`);
      if (check.completed < run.requests) throw new Error(`${run.requests} answered completed, ${check.completed} completed in the database`);
      uploads += run.requests;
      done += check.completed;
      unfinished += check.unfinished;

      const other = await server.newKey(`small-closed-${rep}`);
      const meter = await cpuMeter(server.pid, db);
      const max = checked('uploads in a closed loop', await load(server.url, other.key, options.closedSeconds));
      const cpu = await meter.stop();
      closed.push(max);
      if (cpu.serverS !== null) serverCpuMs.push((cpu.serverS * 1000) / max.sent);
      if (cpu.databaseS !== null) databaseCpuMs.push((cpu.databaseS * 1000) / max.sent);
      bareFixed.push(checked('bare route at a fixed rate', await load(bareUrl, null, options.closedSeconds, options.rate)));
      bareClosed.push(checked('bare route in a closed loop', await load(bareUrl, null, options.closedSeconds)));
      const show = (r: LoadResult) => `${r.perSecond}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`;
      options.log(`  at ${options.rate}/s: ${show(run)}; closed loop: ${show(closed.at(-1)!)} (CPU per upload: server ${round(serverCpuMs.at(-1) ?? NaN, 2)} ms, PostgreSQL ${round(databaseCpuMs.at(-1) ?? NaN, 2)} ms); bare at ${options.rate}/s: ${show(bareFixed.at(-1)!)}; bare closed loop: ${show(bareClosed.at(-1)!)}`);
    }
  } finally {
    await db.end();
  }
  return {
    rate: options.rate,
    connections: options.connections,
    seconds: options.seconds,
    samplesPerUpload: round(bodies.samples(100) / 100, 1),
    cpuPerUploadMs: {
      server: serverCpuMs.length ? round(median(serverCpuMs), 2) : null,
      database: databaseCpuMs.length ? round(median(databaseCpuMs), 2) : null,
    },
    fixedRate: { ...figure(fixed), uploads, completed: done, unfinished },
    closedLoop: figure(closed),
    bare: { fixedRate: figure(bareFixed), closedLoop: figure(bareClosed) },
  };
}

/** Waits for uploads cut off at the end of the run to finish; then counts by status and checks the counts add up. */
async function settle(db: pg.Client, userId: string) {
  for (let attempt = 0; ; attempt++) {
    const { rows } = await db.query<{ completed: number; unfinished: number; unbalanced: number }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
              count(*) FILTER (WHERE status <> 'completed')::int AS unfinished,
              count(*) FILTER (WHERE status = 'completed' AND ((counts->>'received')::int <>
                (counts->>'inserted')::int + (counts->>'updated')::int + (counts->>'unchanged')::int + (counts->>'rejected')::int
                OR (counts->>'rejected')::int <> 0))::int AS unbalanced
       FROM raw_ingestions WHERE user_id = $1`,
      [userId],
    );
    const row = rows[0]!;
    if (row.unfinished === 0 || attempt >= 50) return row;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
