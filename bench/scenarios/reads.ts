/**
 * Reads: what a person with a year of per-minute heart rate and steps (watch and
 * phone, about 1.3 million samples, loaded through POST /api/v1/ingest) waits
 * for when reading it back: the daily summary over the year, one day of heart
 * rate (1,440 samples: two pages of the largest size), one workout with its
 * route as GeoJSON, the year of steps as a daily chart series, and the year as
 * an NDJSON export (rate, and the server's memory growth while it streams).
 *
 * Next to each, from the same run, what PostgreSQL alone takes: planning and
 * execution of the very statements the route sends (recorded through the
 * repositories of src/, replayed under EXPLAIN ANALYZE with TIMING OFF), and for
 * the export the same rows handed out by COPY ... TO STDOUT; the server's CPU
 * profile of one more export says where the export's own time goes. Every
 * answer is checked (status, number of days or samples) before it counts.
 */
import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import pino from 'pino';
import { createPostgresDatabase, type Database, type Queryable } from '../../src/storage/database.js';
import { READINGS, readingsRepository } from '../../src/storage/repositories/readings.js';
import { metricSeries, seriesRepository } from '../../src/storage/repositories/series.js';
import { summaryRepository } from '../../src/storage/repositories/summary.js';
import { workoutsRepository } from '../../src/storage/repositories/workouts.js';
import { readColumns, TABLES } from '../../src/storage/samples/tables.js';
import { ROUTE_POINT_COLUMNS, SERIES_POINT_COLUMNS, WORKOUT_COLUMNS } from '../../src/storage/samples/workouts.js';
import { generateHaePayload, ratesOf } from '../generate.js';
import { cpuMeter, memoryOf, watchMemory } from '../lib/proc.js';
import { profileServer, type ProfileSummary } from '../lib/profile.js';
import { checkCompleted, request, startBenchServer, upload, type BenchServer, type Target } from '../lib/server.js';
import { median, medianBy, percentile, round } from '../lib/stats.js';

export interface ReadsPlan {
  /** Days of data, from 2023-01-01 (a year without 29 February). */
  days: number;
  /** Days per upload: a year goes in several POSTs, each well below the 100 MB limit. */
  uploadDays: number;
  /** Timed repetitions of the summary, the day and the route. */
  reps: number;
  /** Exports, each by a fresh server. */
  exportReps: number;
  /** Repetitions of each PostgreSQL reference. */
  referenceReps: number;
  /** One more export by a server under node --cpu-prof, to say where its time goes. */
  profileExport: boolean;
}

const METRICS = ['heart_rate', 'step_count'];
const FIRST_DAY = Date.UTC(2023, 0, 1);
const DAY = 86_400_000;
/** A 30-minute workout with a point every 3 seconds, as the generator spaces them. */
const ROUTE_POINTS = 600;
/** The largest page the data endpoints give. */
const PAGE = 1000;
const MIB = 1024 * 1024;

interface Statement {
  text: string;
  params: unknown[];
  /** The SET LOCALs sent before it in its transaction. */
  settings: string[];
}

export interface LatencyFigure {
  /** HTTP requests per read (the day takes two pages). */
  requests: number;
  medianMs: number;
  p99Ms: number;
  runsMs: number[];
  /** PostgreSQL's planning plus execution of each statement the read sends, median over the reference runs. */
  statementsMs: number[];
  /** Whether the route sends them at once (on separate connections) rather than one after the other. */
  atOnce: boolean;
  /** The database's time on the read's path: the longest statement when they run at once, else their sum. */
  databaseMs: number;
}

export interface ExportRun {
  ms: number;
  megabytes: number;
  startMb: number;
  peakMb: number;
  growthMb: number;
  serverCpuS: number | null;
  databaseCpuS: number | null;
}

export interface ExportFigure {
  samples: number;
  megabytes: number;
  seconds: number;
  mbPerSecond: number;
  samplesPerSecond: number;
  growthMb: number;
  runs: ExportRun[];
  /** COPY (SELECT the same columns of every table the export reads) TO STDOUT. */
  copy: { rows: number; megabytes: number; seconds: number; rowsPerSecond: number };
  /** The server's CPU profile during one more export (slower: the profiler costs time). */
  profile: (ProfileSummary & { ms: number }) | null;
}

interface Loaded {
  key: string;
  userId: string;
  samples: number;
  uploads: number;
  seconds: number;
}

export interface ReadsFigure {
  days: number;
  samples: number;
  uploads: number;
  loadSeconds: number;
  summary: LatencyFigure;
  day: LatencyFigure & { samples: number };
  route: LatencyFigure & { points: number };
  /** A year of steps as a daily series: buckets of min/avg/max/sum/count. */
  series: LatencyFigure & { buckets: number };
  export: ExportFigure;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Line ends in a chunk. */
function linesIn(chunk: Buffer): number {
  let lines = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
  return lines;
}

/** Loads the days through the ingest API for a new user, every sample checked to be stored. */
async function load(server: BenchServer, plan: ReadsPlan): Promise<Loaded> {
  const started = performance.now();
  const { key, userId } = await server.newKey('reads');
  const { perMinute, perMorning } = ratesOf(METRICS);
  if (perMorning !== 0) throw new Error('the reads data must have no morning metrics, or a day would not hold a whole number of samples');
  let samples = 0;
  let uploads = 0;
  for (let first = 0; first < plan.days; first += plan.uploadDays) {
    const days = Math.min(plan.uploadDays, plan.days - first);
    const generated = generateHaePayload({
      samples: days * 1440 * perMinute + 1, // and the workout
      metrics: METRICS,
      workouts: 1,
      routePoints: ROUTE_POINTS,
      seed: 7000 + first,
      start: FIRST_DAY + first * DAY,
    });
    const result = await upload(server.url, key, Buffer.from(JSON.stringify(generated.payload)));
    checkCompleted(result, generated.samples);
    if (result.body.counts!.inserted !== generated.samples) throw new Error(`upload ${uploads + 1}: ${result.body.counts!.inserted} of ${generated.samples} samples inserted`);
    samples += generated.samples;
    uploads += 1;
  }
  return { key, userId, samples, uploads, seconds: round((performance.now() - started) / 1000, 1) };
}

/** One GET, timed to the last byte of the answer; refuses anything but 200. */
async function read(server: BenchServer, key: string, path: string): Promise<{ ms: number; body: unknown }> {
  const started = performance.now();
  const response = await request(server.url + path, { method: 'GET', headers: { authorization: `Bearer ${key}` } });
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.text.slice(0, 500)}`);
  return { ms, body: JSON.parse(response.text) };
}

/** A read repeated `reps` times after one unmeasured warm-up: each run's milliseconds. */
async function repeat(reps: number, run: () => Promise<number>): Promise<number[]> {
  await run();
  const runs: number[] = [];
  for (let rep = 0; rep < reps; rep++) runs.push(await run());
  return runs;
}

/** A Database that runs every statement and writes it down, with the SET LOCALs of its transaction. */
function recording(db: Database): { db: Database; statements: Statement[] } {
  const statements: Statement[] = [];
  const recorder = (target: Queryable, settings: string[]): Queryable => ({
    query<R>(text: string, params?: unknown[]) {
      if (/^SET LOCAL /i.test(text)) settings.push(text);
      else statements.push({ text, params: params ?? [], settings: [...settings] });
      return target.query<R>(text, params);
    },
  });
  return { db: { ...db, ...recorder(db, []), transaction: (fn) => db.transaction((tx) => fn({ ...tx, ...recorder(tx, []) })) }, statements };
}

/** The statements a repository call sends, each one's planning plus execution time: median of `reps` EXPLAIN ANALYZE (TIMING OFF: no clock read per row). */
async function databaseTimes(db: Database, call: (db: Database) => Promise<unknown>, reps: number): Promise<number[]> {
  const recorded = recording(db);
  await call(recorded.db);
  const times: number[] = [];
  for (const statement of recorded.statements) {
    const runs: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const plan = await db.transaction(async (tx) => {
        for (const setting of statement.settings) await tx.query(setting);
        const { rows } = await tx.query<{ 'QUERY PLAN': [{ 'Planning Time': number; 'Execution Time': number }] }>(
          `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${statement.text}`,
          statement.params,
        );
        return rows[0]!['QUERY PLAN'][0];
      });
      runs.push(plan['Planning Time'] + plan['Execution Time']);
    }
    times.push(round(median(runs), 1));
  }
  return times;
}

function latency(runs: number[], requests: number, statementsMs: number[], atOnce = false): LatencyFigure {
  return {
    requests,
    medianMs: round(median(runs), 1),
    p99Ms: round(percentile(runs, 99), 1),
    runsMs: runs.map((ms) => round(ms, 1)),
    statementsMs,
    atOnce,
    databaseMs: round(atOnce ? Math.max(...statementsMs) : statementsMs.reduce((sum, ms) => sum + ms, 0), 1),
  };
}

/** The middle day of the data, as ISO instants (start inclusive, end exclusive). */
function middleDay(days: number): { start: string; end: string } {
  const start = FIRST_DAY + Math.floor(days / 2) * DAY;
  return { start: new Date(start).toISOString(), end: new Date(start + DAY).toISOString() };
}

/** The summary over every day loaded, the middle day of heart rate, and the first workout. */
async function timeReads(
  server: BenchServer,
  loaded: Loaded,
  options: ReadsPlan & { reference: Database },
): Promise<Pick<ReadsFigure, 'summary' | 'day' | 'route' | 'series'>> {
  const { key, userId } = loaded;
  const first = isoDay(FIRST_DAY);
  const last = isoDay(FIRST_DAY + (options.days - 1) * DAY);
  const summaryRuns = await repeat(options.reps, async () => {
    const { ms, body } = await read(server, key, `/api/v1/summary/daily?start=${first}&end=${last}`);
    const items = (body as { items: { date: string; steps: number | null; heart_rate: { min: number | null } }[] }).items;
    const empty = items.find((item) => item.steps === null || item.heart_rate.min === null);
    if (items.length !== options.days || empty) throw new Error(`summary: ${items.length} days for ${options.days}${empty ? `, ${empty.date} without steps or heart rate` : ''}`);
    return ms;
  });

  const day = middleDay(options.days);
  const dayRuns = await repeat(options.reps, async () => {
    let total = 0;
    let samples = 0;
    let cursor: string | null = null;
    do {
      const { ms, body } = await read(server, key, `/api/v1/data/heart-rate?start=${day.start}&end=${day.end}&limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`);
      const page = body as { items: unknown[]; next: string | null };
      total += ms;
      samples += page.items.length;
      cursor = page.next;
    } while (cursor);
    if (samples !== 1440) throw new Error(`one day of heart rate: ${samples} samples, not 1,440`);
    return total;
  });

  const listed = (await read(server, key, '/api/v1/data/workouts?limit=1')).body as { items: { id: string; has_route: boolean }[] };
  const workout = listed.items[0];
  if (!workout?.has_route) throw new Error(`no workout with a route: ${JSON.stringify(listed).slice(0, 500)}`);
  const routeRuns = await repeat(options.reps, async () => {
    const { ms, body } = await read(server, key, `/api/v1/data/workouts/${workout.id}`);
    const line = (body as { route: { type: string; coordinates: number[][] } | null }).route;
    if (line?.type !== 'LineString' || line.coordinates.length !== ROUTE_POINTS) throw new Error(`route: ${JSON.stringify(line).slice(0, 200)}, not a LineString of ${ROUTE_POINTS} points`);
    return ms;
  });

  const yearEnd = new Date(FIRST_DAY + options.days * DAY).toISOString();
  const seriesQuery = { start: new Date(FIRST_DAY).toISOString(), end: yearEnd, timeZone: 'UTC', bucket: '1d' as const };
  const seriesRuns = await repeat(options.reps, async () => {
    const { ms, body } = await read(server, key, `/api/v1/data/metrics/step_count/series?start=${seriesQuery.start}&end=${yearEnd}&bucket=1d`);
    const items = (body as { items: { count: number }[] }).items;
    if (items.length !== options.days || items.some((item) => item.count < 1440)) throw new Error(`series: ${items.length} days for ${options.days}, or a day of fewer than 1,440 samples`);
    return ms;
  });

  // The same reads through the repositories the routes call, their statements recorded and replayed.
  const { reference: db, referenceReps: reps } = options;
  const summaryMs = await databaseTimes(db, (rec) => summaryRepository(rec).daily(userId, first, last, 'UTC'), reps);
  const dayMs = await databaseTimes(
    db,
    async (rec) => {
      const readings = readingsRepository(rec);
      let page = await readings.list(READINGS.heartRate, userId, day, { limit: PAGE, order: 'asc' });
      while (page.next) page = await readings.list(READINGS.heartRate, userId, day, { after: page.next, limit: PAGE, order: 'asc' });
    },
    reps,
  );
  const routeMs = await databaseTimes(db, (rec) => workoutsRepository(rec, { postgis: false }).find(userId, workout.id), reps);
  const seriesMs = await databaseTimes(
    db,
    async (rec) => {
      const unit = (await readingsRepository(rec).metricUnit(userId, 'step_count'))!;
      await seriesRepository(rec).bucketCount(seriesQuery);
      await seriesRepository(rec).series(userId, metricSeries('step_count', unit), seriesQuery);
    },
    reps,
  );
  return {
    // summaryRepository.daily sends its three statements at once.
    summary: latency(summaryRuns, 1, summaryMs, true),
    day: { ...latency(dayRuns, dayMs.length, dayMs), samples: 1440 },
    route: { ...latency(routeRuns, 1, routeMs), points: ROUTE_POINTS },
    series: { ...latency(seriesRuns, 1, seriesMs), buckets: options.days },
  };
}

/** Streams the export, counting bytes and lines as they come (nothing is kept but the start). */
function download(server: BenchServer, key: string, path: string): Promise<{ ms: number; bytes: number; lines: number; head: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = get(server.url + path, { headers: { authorization: `Bearer ${key}` }, agent: false }, (res) => {
      let bytes = 0;
      let lines = 0;
      let head = '';
      res.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.subarray(0, 4096).toString('utf8');
        bytes += chunk.length;
        lines += linesIn(chunk);
      });
      res.on('end', () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${head.slice(0, 500)}`));
        else resolve({ ms, bytes, lines, head });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** The user's rows of every table the export reads, through COPY TO STDOUT: what PostgreSQL alone takes to hand them out. */
async function copyReference(databaseUrl: string, userId: string): Promise<{ rows: number; bytes: number; ms: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const selects = [
      ...Object.values(TABLES).map((spec) => `SELECT ${readColumns(spec)} FROM ${spec.table} t`),
      `SELECT ${WORKOUT_COLUMNS.join(', ')} FROM workouts t`,
      `SELECT ${ROUTE_POINT_COLUMNS.join(', ')} FROM workout_route_points t`,
      `SELECT ${SERIES_POINT_COLUMNS.join(', ')} FROM workout_series t`,
    ];
    let rows = 0;
    let bytes = 0;
    const started = performance.now();
    for (const select of selects) {
      const stream = client.query(copyTo(`COPY (${select} WHERE t.user_id = ${client.escapeLiteral(userId)}) TO STDOUT`));
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        rows += linesIn(chunk);
      }
    }
    return { rows, bytes, ms: performance.now() - started };
  } finally {
    await client.end();
  }
}

/** A one-day export by a fresh server: the export's code compiled, the key verified, the pool open; then a second's rest. */
async function warmUp(server: BenchServer, key: string, days: number): Promise<void> {
  const day = middleDay(days);
  const warm = await download(server, key, `/api/v1/export?format=ndjson&types=heart_rate&start=${day.start}&end=${day.end}`);
  if (warm.lines !== 1440) throw new Error(`warm-up export: ${warm.lines} lines for one day of heart rate`);
  await sleep(1000);
}

/** Everything as NDJSON; refused unless it is one line per sample loaded. */
async function exportEverything(server: BenchServer, loaded: Loaded): Promise<{ ms: number; bytes: number }> {
  const result = await download(server, loaded.key, '/api/v1/export?format=ndjson');
  if (result.lines !== loaded.samples) throw new Error(`export: ${result.lines} lines for ${loaded.samples} samples`);
  const first = JSON.parse(result.head.split('\n')[0]!) as { type?: unknown };
  if (typeof first.type !== 'string') throw new Error(`export: the first line is not a sample: ${result.head.slice(0, 200)}`);
  return result;
}

/** The whole NDJSON export, each time by a fresh server (its memory measured from a clean start), and the COPY reference. */
async function timeExport(target: Target, loaded: Loaded, options: ReadsPlan & { reference: Database; databaseUrl: string; log: (line: string) => void }): Promise<ExportFigure> {
  const runs: ExportRun[] = [];
  for (let rep = 0; rep < options.exportReps; rep++) {
    const server = await startBenchServer(target);
    try {
      await warmUp(server, loaded.key, options.days);
      const startMb = memoryOf(server.pid).rssMb;
      const watch = watchMemory(server.pid);
      const meter = await cpuMeter(server.pid, options.reference);
      const result = await exportEverything(server, loaded);
      const cpu = await meter.stop();
      const peakMb = watch.stop().highestMb;
      const run: ExportRun = {
        ms: round(result.ms),
        megabytes: round(result.bytes / MIB, 1),
        startMb: round(startMb),
        peakMb: round(peakMb),
        growthMb: round(peakMb - startMb),
        serverCpuS: cpu.serverS === null ? null : round(cpu.serverS, 2),
        databaseCpuS: cpu.databaseS === null ? null : round(cpu.databaseS, 2),
      };
      runs.push(run);
      options.log(`  export: ${run.megabytes} MB in ${run.ms} ms (${round(run.megabytes / (run.ms / 1000), 1)} MB/s), RSS ${run.startMb} → ${run.peakMb} MB, server CPU ${run.serverCpuS} s, PostgreSQL CPU ${run.databaseCpuS} s`);
    } finally {
      await server.stop();
    }
  }
  const profiled = options.profileExport
    ? await profileServer(target, async (server, measure) => {
        await warmUp(server, loaded.key, options.days);
        return (await measure(() => exportEverything(server, loaded))).ms;
      })
    : null;
  if (profiled) {
    const { idleMs, garbageCollectionMs, functions } = profiled.profile;
    options.log(`  export under node --cpu-prof: ${round(profiled.value)} ms, idle ${idleMs} ms, garbage collection ${garbageCollectionMs} ms; ${functions.slice(0, 5).map((f) => `${f.name} ${f.ms} ms`).join(', ')}`);
  }
  const copies = [];
  for (let rep = 0; rep < options.referenceReps; rep++) copies.push(await copyReference(options.databaseUrl, loaded.userId));
  const copy = medianBy(copies, (c) => c.ms);
  const ms = median(runs.map((r) => r.ms));
  const megabytes = median(runs.map((r) => r.megabytes));
  return {
    samples: loaded.samples,
    megabytes,
    seconds: round(ms / 1000, 2),
    mbPerSecond: round(megabytes / (ms / 1000), 1),
    samplesPerSecond: round((loaded.samples / ms) * 1000),
    growthMb: round(median(runs.map((r) => r.growthMb))),
    runs,
    copy: { rows: copy.rows, megabytes: round(copy.bytes / MIB, 1), seconds: round(copy.ms / 1000, 2), rowsPerSecond: round((copy.rows / copy.ms) * 1000) },
    profile: profiled && { ms: round(profiled.value), ...profiled.profile },
  };
}

export async function measureReads(target: Target, options: ReadsPlan & { databaseUrl: string; log: (line: string) => void }): Promise<ReadsFigure> {
  const reference = createPostgresDatabase(
    { url: options.databaseUrl, poolSize: 1, connectTimeoutMs: 10_000, statementTimeoutMs: 0, applicationName: 'health-export-api bench reference' },
    pino({ level: 'silent' }),
  );
  try {
    // Loaded and then read by the same server, as a server that has just received the data would be.
    const server = await startBenchServer(target);
    let loaded: Loaded;
    let reads: Pick<ReadsFigure, 'summary' | 'day' | 'route' | 'series'>;
    try {
      loaded = await load(server, options);
      options.log(`  loaded ${loaded.samples.toLocaleString('en-US')} samples (${options.days} days) in ${loaded.uploads} uploads, ${loaded.seconds} s`);
      // What autovacuum would have done by the time anyone reads a year: statistics, the visibility map.
      await reference.query('VACUUM (ANALYZE) heart_rate_samples, quantity_samples, quantity_rollups, heart_rate_rollups, workouts, workout_route_points, workout_series');
      reads = await timeReads(server, loaded, { ...options, reference });
    } finally {
      await server.stop();
    }
    const { summary, day, route, series } = reads;
    options.log(`  summary of ${options.days} days: ${summary.medianMs} ms (p99 ${summary.p99Ms} ms); PostgreSQL ${summary.statementsMs.join(' + ')} ms`);
    options.log(`  one day of heart rate (${day.requests} pages): ${day.medianMs} ms (p99 ${day.p99Ms} ms); PostgreSQL ${day.statementsMs.join(' + ')} ms`);
    options.log(`  one workout with its route (${route.points} points): ${route.medianMs} ms (p99 ${route.p99Ms} ms); PostgreSQL ${route.statementsMs.join(' + ')} ms`);
    options.log(`  a year of steps as a daily series (${series.buckets} buckets): ${series.medianMs} ms (p99 ${series.p99Ms} ms); PostgreSQL ${series.statementsMs.join(' + ')} ms`);
    const exported = await timeExport(target, loaded, { ...options, reference });
    options.log(`  COPY of the same rows: ${exported.copy.rows.toLocaleString('en-US')} rows, ${exported.copy.megabytes} MB in ${exported.copy.seconds} s`);
    return { days: options.days, samples: loaded.samples, uploads: loaded.uploads, loadSeconds: loaded.seconds, ...reads, export: exported };
  } finally {
    await reference.close();
  }
}
