/**
 * The results of a run: the targets checked against them, a summary on the
 * terminal, and docs/benchmarks.md (tables generated from the results file, then
 * the hand-written analysis kept in bench/analysis.md).
 */
import type { Machine } from './lib/machine.js';
import type { ProfileSummary } from './lib/profile.js';
import { round } from './lib/stats.js';
import type { AppleHealthFigure } from './scenarios/apple-health.js';
import type { ExplainFigure } from './scenarios/explain.js';
import type { IngestFigure } from './scenarios/ingest.js';
import type { MemoryFigure } from './scenarios/memory.js';
import type { EndpointFigure, OverheadFigure } from './scenarios/overheads.js';
import type { RedisHangFigure } from './scenarios/redis-hang.js';
import type { ProfileFigure } from './scenarios/profile.js';
import type { LatencyFigure, ReadsFigure } from './scenarios/reads.js';
import type { SmallUploadsFigure } from './scenarios/small-uploads.js';

export interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  met: boolean | null;
  /** By how much it is missed, in words. */
  gap?: string;
}

export interface Results {
  date: string;
  mode: 'full' | 'quick' | 'partial';
  durationS?: number;
  machine: Machine;
  plan: unknown;
  /** 1-minute load average before and after each scenario: above the core count, something else was running. */
  load: Record<string, { before: number; after: number }>;
  overheads?: { endpoints: EndpointFigure[]; overheads: OverheadFigure[] };
  redisHang?: RedisHangFigure;
  smallUploads?: SmallUploadsFigure;
  ingest: { postgres?: IngestFigure[]; embedded?: IngestFigure[] };
  memory: { postgres?: MemoryFigure; embedded?: MemoryFigure };
  profile?: ProfileFigure;
  explain?: ExplainFigure;
  reads?: ReadsFigure;
  appleHealth?: AppleHealthFigure;
  targets?: TargetCheck[];
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const times = (needed: number, have: number) => `${round(needed / have, 1)}×`;

export function checkTargets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const figure of results.ingest.postgres ?? []) {
    if (figure.ceilingRowsPerSecond) {
      const half = figure.ceilingRowsPerSecond / 2;
      checks.push({
        figure: `ingest ${n(figure.samples)} samples (PostgreSQL)`,
        target: `≥ half the ceiling (${n(half)} samples/s)`,
        measured: `${n(figure.samplesPerSecond)} samples/s (${Math.round((figure.shareOfCeiling ?? 0) * 100)} % of the ceiling)`,
        met: figure.samplesPerSecond >= half,
        ...(figure.samplesPerSecond < half ? { gap: `needs ${times(half, figure.samplesPerSecond)} the throughput` } : {}),
      });
    }
  }
  const largest = results.ingest.postgres?.find((figure) => figure.samples >= 500_000);
  checks.push(
    largest
      ? {
          figure: 'ingest 500,000 samples (PostgreSQL)',
          target: '≥ 100,000 samples/s',
          measured: `${n(largest.samplesPerSecond)} samples/s`,
          met: largest.samplesPerSecond >= 100_000,
          ...(largest.samplesPerSecond < 100_000 ? { gap: `needs ${times(100_000, largest.samplesPerSecond)} the throughput` } : {}),
        }
      : { figure: 'ingest 500,000 samples (PostgreSQL)', target: '≥ 100,000 samples/s', measured: 'not run', met: null },
  );
  const apple = results.appleHealth;
  if (apple) {
    const what = `Apple Health import, ${n(apple.exportMb)} MB export.xml (PostgreSQL)`;
    checks.push({
      figure: what,
      target: '≥ 100,000 records/s',
      measured: `${n(apple.recordsPerSecond)} records/s`,
      met: apple.recordsPerSecond >= 100_000,
      ...(apple.recordsPerSecond < 100_000 ? { gap: `needs ${times(100_000, apple.recordsPerSecond)} the throughput` } : {}),
    });
    checks.push({ figure: what, target: 'RSS growth < 300 MB', measured: `+${n(apple.rssGrowthMb)} MB`, met: apple.rssGrowthMb < 300 });
  }
  const memory = results.memory.postgres;
  if (memory) {
    checks.push({
      figure: `memory, ${memory.payloadMb} MB upload (PostgreSQL)`,
      target: 'peak < 1 GB',
      measured: `${n(memory.peakMb)} MB`,
      met: memory.peakMb < 1024,
      ...(memory.peakMb >= 1024 ? { gap: `${n(memory.peakMb - 1024)} MB over` } : {}),
    });
    checks.push({
      figure: `/health during the ${memory.payloadMb} MB upload (PostgreSQL)`,
      target: 'p99 < 50 ms',
      measured: `${memory.healthP99Ms} ms (slowest ${Math.max(...memory.runs.map((r) => r.healthMaxMs))} ms)`,
      met: memory.healthP99Ms < 50,
    });
    const growth = memory.afterMb - memory.startMb;
    checks.push({
      figure: `memory after the upload (PostgreSQL)`,
      target: `within 50 MB of the start (${n(memory.startMb)} MB)`,
      measured: `${n(memory.afterMb)} MB (${growth >= 0 ? '+' : ''}${n(growth)} MB) ${memory.runs.every((r) => r.backWithin50MbAfterS !== null) ? `back within ${Math.max(...memory.runs.map((r) => r.backWithin50MbAfterS!))} s` : `${memory.settleSeconds} s after the answer`}`,
      met: growth <= 50,
      ...(growth > 50 ? { gap: `${n(growth - 50)} MB too many` } : {}),
    });
  }
  const embedded = results.memory.embedded;
  if (embedded) {
    // The embedded default is what a person runs on a small home server: the database lives in the process.
    checks.push({
      figure: 'memory at rest (embedded)',
      target: '≤ 250 MB',
      measured: `${n(embedded.startMb)} MB (after a 5,000-sample warm-up upload)`,
      met: embedded.startMb <= 250,
      ...(embedded.startMb > 250 ? { gap: `${n(embedded.startMb - 250)} MB over` } : {}),
    });
    const growth = embedded.afterMb - embedded.startMb;
    checks.push({
      figure: `memory growth, ${embedded.payloadMb} MB upload (embedded)`,
      target: '≤ +300 MB',
      measured: `+${n(growth)} MB (${n(embedded.startMb)} → ${n(embedded.afterMb)} MB; peak ${n(embedded.peakMb)} MB)`,
      met: growth <= 300,
      ...(growth > 300 ? { gap: `${n(growth - 300)} MB too many` } : {}),
    });
  }
  const small = results.smallUploads;
  if (small) {
    checks.push({
      figure: `small uploads at ${small.rate}/s`,
      target: 'p99 < 100 ms',
      measured: `p99 ${round(small.fixedRate.p99Ms, 1)} ms (p50 ${round(small.fixedRate.p50Ms, 1)} ms)`,
      met: small.fixedRate.p99Ms < 100,
      ...(small.fixedRate.p99Ms >= 100 ? { gap: `${round(small.fixedRate.p99Ms - 100)} ms over` } : {}),
    });
    checks.push({
      figure: `small uploads at ${small.rate}/s`,
      target: 'every upload completed',
      measured: `${n(small.fixedRate.completed)} completed of ${n(small.fixedRate.uploads)} answered, ${small.fixedRate.unfinished} unfinished`,
      met: small.fixedRate.unfinished === 0 && small.fixedRate.completed >= small.fixedRate.uploads,
    });
  }
  for (const overhead of results.overheads?.overheads ?? []) {
    if (overhead.targetMs === undefined) continue;
    checks.push({
      figure: `overhead: ${overhead.name}`,
      target: `p99 difference < ${overhead.targetMs} ms`,
      measured: `${overhead.p99DiffMs} ms (p50 ${overhead.p50DiffMs} ms)`,
      met: overhead.p99DiffMs < overhead.targetMs,
      ...(overhead.p99DiffMs >= overhead.targetMs ? { gap: `${round(overhead.p99DiffMs - overhead.targetMs, 3)} ms over` } : {}),
    });
  }
  const hang = results.redisHang;
  if (hang) {
    checks.push({
      figure: `a new key while Redis hangs (${hang.keys} keys)`,
      target: 'p99 < 100 ms',
      measured: `p99 ${hang.p99Ms} ms (p50 ${hang.p50Ms} ms, max ${hang.maxMs} ms; the first request ${hang.firstMs} ms; with Redis answering p99 ${hang.reference.p99Ms} ms)`,
      met: hang.p99Ms < 100,
      ...(hang.p99Ms >= 100 ? { gap: `${round(hang.p99Ms - 100)} ms over` } : {}),
    });
  }
  checks.push(...readChecks(results.reads));
  return checks;
}

/** The read targets are for a year of data: a shorter run (--quick) is not held to them. */
function readChecks(reads: ReadsFigure | undefined): TargetCheck[] {
  const year = reads && reads.days >= 365 ? reads : undefined;
  const notRun = reads ? `not held to it: ${reads.days} days loaded, not a year` : 'not run';
  const latency = (figure: string, read: LatencyFigure | undefined, targetMs: number | null, p99TargetMs?: number): TargetCheck => ({
    figure,
    target: targetMs === null ? 'none set' : `< ${targetMs} ms${p99TargetMs ? `, p99 < ${p99TargetMs} ms` : ''}`,
    measured: read ? `${read.medianMs} ms (p99 ${read.p99Ms} ms; PostgreSQL ${read.databaseMs} ms)` : notRun,
    met: read && targetMs !== null ? read.medianMs < targetMs && (!p99TargetMs || read.p99Ms < p99TargetMs) : null,
    ...(read && targetMs !== null && read.medianMs >= targetMs ? { gap: `${n(read.medianMs - targetMs)} ms over (${times(read.medianMs, targetMs)} the target)` } : {}),
    ...(read && targetMs !== null && read.medianMs < targetMs && p99TargetMs && read.p99Ms >= p99TargetMs ? { gap: `p99 ${n(read.p99Ms - p99TargetMs)} ms over` } : {}),
  });
  const exported = year?.export;
  return [
    latency('reads: daily summary over a year (PostgreSQL)', year?.summary, 50, 100),
    latency('reads: one day of heart rate, 1,440 samples', year?.day, 10),
    latency('reads: one workout route as GeoJSON', year?.route, 5),
    latency('reads: a year of steps as a daily series', year?.series, 50),
    {
      figure: "reads: a year's NDJSON export",
      target: '≥ 50 MB/s',
      measured: exported ? `${exported.mbPerSecond} MB/s (${n(exported.samplesPerSecond)} samples/s)` : notRun,
      met: exported ? exported.mbPerSecond >= 50 : null,
      ...(exported && exported.mbPerSecond < 50 ? { gap: `needs ${times(50, exported.mbPerSecond)} the rate` } : {}),
    },
    {
      figure: "reads: server memory growth during a year's export",
      target: '< 50 MB',
      measured: exported ? `+${n(exported.growthMb)} MB` : notRun,
      met: exported ? exported.growthMb < 50 : null,
      ...(exported && exported.growthMb >= 50 ? { gap: `${n(exported.growthMb - 50)} MB over` } : {}),
    },
  ];
}

const mark = (met: boolean | null) => (met === null ? '—' : met ? 'met' : '**missed**');

export function printSummary(results: Results, log: (line: string) => void): void {
  for (const check of results.targets ?? []) {
    log(`${check.met === null ? '  -  ' : check.met ? ' met ' : 'MISS '} ${check.figure}: ${check.measured} (target ${check.target}${check.gap ? `; ${check.gap}` : ''})`);
  }
}

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function ingestTable(figures: IngestFigure[]): string {
  return table(
    ['samples', 'payload', 'end-to-end (median)', 'runs', 'ceiling: COPY', 'share of ceiling', 'server CPU', 'PostgreSQL CPU'],
    figures.map((f) => {
      const middle = [...f.runs].sort((a, b) => a.samplesPerSecond - b.samplesPerSecond)[Math.floor((f.runs.length - 1) / 2)]!;
      return [
        n(f.samples),
        `${f.payloadMb} MB`,
        `**${n(f.samplesPerSecond)}/s**`,
        f.runs.map((r) => n(r.samplesPerSecond)).join(', '),
        f.ceilingRowsPerSecond ? `${n(f.ceilingRowsPerSecond)}/s` : '—',
        f.shareOfCeiling === null ? '—' : `${Math.round(f.shareOfCeiling * 100)} %`,
        middle.serverCpuS === null ? '—' : `${middle.serverCpuS} s of ${round(middle.ms / 1000, 1)} s`,
        middle.databaseCpuS === null ? 'in-process' : `${middle.databaseCpuS} s`,
      ];
    }),
  );
}

/** Busy time of a CPU profile by file and by function (self time), largest first. */
function profileTables(p: ProfileSummary): string[] {
  return [
    table(['file', 'ms', 'share of busy'], p.files.slice(0, 12).map((f) => [`\`${f.file}\``, n(f.ms), `${f.share} %`])),
    '',
    table(['function', 'file', 'ms', 'share of busy'], p.functions.slice(0, 15).map((f) => [`\`${f.name}\``, `\`${f.file}\``, n(f.ms), `${f.share} %`])),
    '',
  ];
}

function memoryTable(figures: [string, MemoryFigure | undefined][]): string {
  return table(
    ['database', 'payload', 'start', 'peak', 'after', '/health p99 during', 'runs (start / peak / after)'],
    figures
      .filter((entry): entry is [string, MemoryFigure] => entry[1] !== undefined)
      .map(([name, m]) => [
        name,
        `${m.payloadMb} MB, ${n(m.samples)} samples`,
        `${n(m.startMb)} MB`,
        `**${n(m.peakMb)} MB**`,
        `${n(m.afterMb)} MB`,
        `${m.healthP99Ms} ms`,
        m.runs.map((r) => `${n(r.startMb)} / ${n(r.peakMb)} / ${n(r.afterMb)}`).join('; '),
      ]),
  );
}

export function renderMarkdown(results: Results, resultsFile: string, analysis: string): string {
  const m = results.machine;
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench\` on ${results.date.slice(0, 16).replace('T', ' ')} UTC in ${results.durationS} s; the raw figures of every run are in [\`${resultsFile}\`](../${resultsFile}). ` +
      'Every figure is the median of repeated runs, next to its reference measured in the same run. Tests never assert timings; this suite measures and reports them. ' +
      '`npm run bench -- --quick` runs every scenario briefly and writes nothing (CI runs it so the suite keeps working).',
    '',
  );
  out.push('## Machine', '');
  out.push(
    table(
      ['CPU', 'cores', 'memory', 'kernel', 'Node', 'PostgreSQL', 'load at start'],
      [[m.cpuModel, m.cores, `${m.memoryGb} GB`, m.kernel, m.node, m.postgres, m.loadAtStart]],
    ),
    '',
  );
  const loads = Object.entries(results.load);
  if (loads.length) {
    out.push(
      `1-minute load average before → after each scenario (the machine has ${m.cores} cores: a load above that means other work competed for the CPU and the figures are pessimistic):`,
      '',
      table(['scenario', 'load'], loads.map(([name, l]) => [name, `${l.before} → ${l.after}`])),
      '',
    );
  }

  out.push('## Targets', '');
  out.push(table(['figure', 'target', 'measured', '', 'gap'], (results.targets ?? []).map((c) => [c.figure, c.target, c.measured, mark(c.met), c.gap ?? ''])), '');

  out.push('## 1. End-to-end ingest throughput', '');
  out.push(
    'A generated Health Auto Export payload (per-minute heart rate, steps from two sources, energy, distance, respiratory rate, SpO2, sleep, blood pressure, workouts with routes) is POSTed to the running server, which answers once every sample is stored (`INGEST_SYNC_BUDGET_MS` high): samples per second from the first byte sent to the answer, including the archive. ' +
      'Each run is a new person, so every sample is new. The ceiling is the same samples COPYed in one statement into a narrow table keyed on (user, metric, time, source), partitioned by month: the least work PostgreSQL can do to hold them durable and unique. ' +
      'Server and PostgreSQL CPU are the CPU seconds the server process and its database sessions used during the median run.',
    '',
  );
  if (results.ingest.postgres) out.push('**PostgreSQL** (with Redis):', '', ingestTable(results.ingest.postgres), '');
  if (results.ingest.embedded) out.push('**Embedded database** (PGlite, in the server process; its ceiling is the same COPY into PGlite on a folder):', '', ingestTable(results.ingest.embedded), '');

  out.push('## 2. Memory', '');
  out.push(
    `Resident memory (VmRSS, VmHWM from /proc) of the server process while it ingests one payload just under the default 100 MB limit. Each run is a fresh server; 'start' is after a small warm-up upload; 'after' is read once RSS is back within 50 MB of the start, or ${results.memory.postgres?.settleSeconds ?? ''} s after the answer if it is not by then. With the embedded database the database lives in the server process, and PGlite's WebAssembly memory never shrinks.`,
    '',
    memoryTable([
      ['PostgreSQL', results.memory.postgres],
      ['embedded', results.memory.embedded],
    ]),
    '',
  );

  const s = results.smallUploads;
  if (s) {
    out.push('## 3. Small uploads under load', '');
    out.push(
      `Payloads of about ${s.samplesPerUpload} samples (the next hour of one person's data each, so no two are alike), ${s.connections} connections, autocannon \`overallRate\` ${s.rate}/s for ${s.seconds} s; then as fast as answers come (closed loop). ` +
        'autocannon spends each connection\'s share of the rate at the start of every second, so arrivals come in bursts of up to 50 concurrent requests rather than evenly spaced. ' +
        `Latency is measured per response. The bare route is a Fastify app without hooks that parses the same bodies and answers (fixed rate for ${results.plan && (results.plan as { small: { closedSeconds: number } }).small.closedSeconds} s).`,
      '',
      table(
        ['', 'requests/s', 'p50', 'p99', 'runs (p99)'],
        (
          [
            [`uploads at ${s.rate}/s`, s.fixedRate, false],
            ['uploads, closed loop (maximum)', s.closedLoop, true],
            [`bare route at ${s.rate}/s`, s.bare.fixedRate, false],
            ['bare route, closed loop (maximum)', s.bare.closedLoop, false],
          ] as const
        ).map(([name, f, maximum]) => [
          name,
          maximum ? `**${n(f.perSecond)}**` : n(f.perSecond),
          `${round(f.p50Ms, 1)} ms`,
          name.startsWith('uploads at') ? `**${round(f.p99Ms, 1)} ms**` : `${round(f.p99Ms, 1)} ms`,
          f.runs.map((r) => `${round(r.latencyMs.p99, 1)} ms`).join(', '),
        ]),
      ),
      '',
      `CPU per upload in the closed loop: server ${s.cpuPerUploadMs.server ?? '—'} ms, PostgreSQL ${s.cpuPerUploadMs.database ?? '—'} ms. ` +
        `Every upload at the fixed rate: ${n(s.fixedRate.completed)} completed in the database for ${n(s.fixedRate.uploads)} answers, ${s.fixedRate.unfinished} left unfinished; each answer was checked to say \`completed\`, and each ingestion's counts add up with nothing rejected.`,
      '',
    );
  }

  const o = results.overheads;
  if (o) {
    out.push('## 4. Per-request overheads', '');
    out.push(
      'One connection in a closed loop (nothing queues), GET routes that do nothing themselves: the bare Fastify route, and probe routes added to the real app (`bench/servers/probe.ts`: `buildApp` with every plugin and hook) without and behind `requireScope`. ' +
        "A layer's overhead is the difference between two endpoints that differ only by it, per repetition, median over repetitions.",
      '',
      table(['endpoint', 'p50', 'p99', 'requests/s'], o.endpoints.map((e) => [e.name, `${e.p50Ms} ms`, `${e.p99Ms} ms`, n(e.perSecond)])),
      '',
      table(
        ['overhead', 'compared', 'p50 difference', 'p99 difference', 'target'],
        o.overheads.map((x) => [
          x.name,
          `${x.subject} − ${x.base}`,
          `${x.p50DiffMs} ms`,
          `**${x.p99DiffMs} ms**`,
          x.targetMs === undefined ? '' : `< ${x.targetMs} ms`,
        ]),
      ),
      '',
    );
  }

  const h = results.redisHang;
  if (h) {
    out.push('### New keys while Redis hangs', '');
    out.push(
      `The PostgreSQL server reaches Redis through a TCP proxy that is then made to stall (connections open, nothing answered). ${h.keys} keys the server has never verified are each used once, one request at a time (\`GET /api/v1/ingestions?limit=1\`, argon2 at its default cost). ` +
        `The first request to meet the hung Redis waits one command timeout (${h.firstMs} ms) and is not counted; after it the key cache and the rate limits are in memory until Redis answers again. ` +
        'The reference is as many new keys just before, with Redis answering.',
      '',
      table(
        ['Redis', 'new keys', 'p50', 'p99', 'max', 'target'],
        [
          ['answering', String(h.keys), `${h.reference.p50Ms} ms`, `${h.reference.p99Ms} ms`, '', ''],
          ['hung', String(h.keys), `${h.p50Ms} ms`, `**${h.p99Ms} ms**`, `${h.maxMs} ms`, 'p99 < 100 ms'],
        ],
      ),
      '',
    );
  }

  const r = results.reads;
  if (r) {
    const e = r.export;
    out.push('## 5. Reads', '');
    out.push(
      `One person's ${r.days} days of per-minute heart rate and steps (the watch every minute, the phone every minute of the first half of each upload: ${n(r.samples)} samples with ${r.uploads} workouts of ${r.route.points} route points), loaded through \`POST /api/v1/ingest\` in ${r.uploads} uploads (${r.loadSeconds} s), then \`VACUUM (ANALYZE)\` as autovacuum would have done by then. PostgreSQL only. ` +
        `Each read is repeated ${r.summary.runsMs.length} times after one unmeasured warm-up, one request at a time, each on a new connection, timed to the last byte of the answer; every answer is checked (status 200, the days or samples loaded). ` +
        'PostgreSQL is the same reads made through the repositories the routes call, their statements recorded and replayed under `EXPLAIN (ANALYZE, TIMING OFF)`: planning plus execution, median of the repetitions; the summary sends its three statements at once on separate connections (its figure is the longest), the other reads one after the other (their sum).',
      '',
      table(
        ['read', 'requests', 'median', 'p99', 'PostgreSQL', 'per statement'],
        (
          [
            [`daily summary, ${r.days} days (\`GET /api/v1/summary/daily\`)`, r.summary],
            [`one day of heart rate, ${n(r.day.samples)} samples (\`GET /api/v1/data/heart-rate\`, pages of 1,000)`, r.day],
            [`one workout, route as GeoJSON (\`GET /api/v1/data/workouts/:id\`)`, r.route],
            ...(r.series ? ([[`a year of steps as a daily series, ${r.series.buckets} buckets (\`GET /api/v1/data/metrics/step_count/series?bucket=1d\`)`, r.series]] as const) : []),
          ] as const
        ).map(([name, f]) => [name, f.requests, `**${f.medianMs} ms**`, `${f.p99Ms} ms`, `${f.databaseMs} ms`, `${f.atOnce ? 'at once: ' : ''}${f.statementsMs.join(f.atOnce ? ', ' : ' + ')} ms`]),
      ),
      '',
      `The export: \`GET /api/v1/export?format=ndjson\` of everything, uncompressed (no Accept-Encoding), read as fast as it comes; each run by a fresh server after a one-day export as warm-up. MB are MiB. Memory is the server's RSS (VmRSS from /proc, every 50 ms) from just before the request to its peak. ` +
        "The reference is PostgreSQL alone handing out the same rows (every table the export reads, route points included) with `COPY (SELECT …) TO STDOUT`, in its text format.",
      '',
      table(
        ['', 'size', 'time', 'rate', 'samples/s', 'RSS: start → peak', 'server CPU', 'PostgreSQL CPU', 'runs'],
        [
          [
            'NDJSON export',
            `${e.megabytes} MB, ${n(e.samples)} samples`,
            `${e.seconds} s`,
            `**${e.mbPerSecond} MB/s**`,
            n(e.samplesPerSecond),
            `${e.runs.map((run) => `${n(run.startMb)} → ${n(run.peakMb)} MB`).join('; ')} (median **+${n(e.growthMb)} MB**)`,
            e.runs.map((run) => (run.serverCpuS === null ? '—' : `${run.serverCpuS} s`)).join(', '),
            e.runs.map((run) => (run.databaseCpuS === null ? '—' : `${run.databaseCpuS} s`)).join(', '),
            e.runs.map((run) => `${round(run.megabytes / (run.ms / 1000), 1)} MB/s`).join(', '),
          ],
          ['COPY of the same rows', `${e.copy.megabytes} MB, ${n(e.copy.rows)} rows`, `${e.copy.seconds} s`, `${round(e.copy.megabytes / e.copy.seconds, 1)} MB/s`, `${n(e.copy.rowsPerSecond)} rows/s`, '', '', '', ''],
        ],
      ),
      '',
    );
    if (e.profile) {
      out.push(
        `Where the export's time goes: CPU profile of the server (\`node --cpu-prof\`) during one more export (${n(e.profile.ms)} ms with the profiler on): of ${n(e.profile.totalMs)} ms, the main thread was idle (waiting for PostgreSQL or the client) ${n(e.profile.idleMs)} ms, collected garbage ${n(e.profile.garbageCollectionMs)} ms. Busy time by file and by function (self time):`,
        '',
        ...profileTables(e.profile),
      );
    }
  }

  const p = results.profile;
  if (p) {
    out.push('## Where the time goes', '');
    out.push(
      `CPU profile of the server (\`node --cpu-prof\`) during one upload of ${n(p.samples)} samples (${n(p.ingestMs)} ms with the profiler on): of ${n(p.totalMs)} ms, the server's main thread was idle (waiting for PostgreSQL or the network) ${n(p.idleMs)} ms, collected garbage ${n(p.garbageCollectionMs)} ms. Busy time by file and by function (self time):`,
      '',
      ...profileTables(p),
    );
  }
  const x = results.explain;
  if (x) {
    if (!p) out.push('## Where the time goes', '');
    out.push(
      `PostgreSQL's side of one chunk: the transaction the sample writer runs for ${n(x.rows)} quantity samples of a new person, its rows COPYed into the staging table and its merge statement under \`EXPLAIN ANALYZE\` (rolled back) on the benchmark database after the throughput runs: planning ${x.planningMs} ms, execution ${x.executionMs} ms (${round((x.executionMs * 1000) / x.rows, 1)} µs per row) of the merge. Node times are inclusive and overlap a little.`,
      '',
      table(['part', 'ms', 'µs per row'], x.parts.map((part) => [part.name, part.ms, round((part.ms * 1000) / x.rows, 1)])),
      '',
    );
  }
  if (analysis.trim()) out.push(analysis.trim(), '');
  return `${out.join('\n')}`;
}
