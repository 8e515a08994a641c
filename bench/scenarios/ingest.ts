/**
 * End-to-end ingest throughput: a generated payload POSTed to a running server
 * and processed to `completed` (the POST waits: INGEST_SYNC_BUDGET_MS is high),
 * in samples per second from the first byte sent to the response. Next to it, in
 * the same run, the database ceiling: the same samples COPYed into the narrow
 * reference table. Each repetition is a new person, so every sample is new in
 * both. CPU seconds of the server and of its PostgreSQL sessions say where the
 * time went.
 */
import pg from 'pg';
import { generateHaePayload } from '../generate.js';
import type { Ceiling } from '../lib/ceiling.js';
import { ceilingLines } from '../lib/ceiling.js';
import { cpuMeter } from '../lib/proc.js';
import { checkCompleted, upload, type BenchServer } from '../lib/server.js';
import { median, round } from '../lib/stats.js';

export interface IngestRun {
  ms: number;
  samplesPerSecond: number;
  /** CPU seconds the server process used during the upload. */
  serverCpuS: number | null;
  /** CPU seconds of the server's PostgreSQL sessions during the upload (PostgreSQL on this machine only). */
  databaseCpuS: number | null;
  ceilingMs: number | null;
}

export interface IngestFigure {
  samples: number;
  payloadMb: number;
  samplesPerSecond: number;
  ceilingRowsPerSecond: number | null;
  /** End-to-end throughput as a share of the ceiling. */
  shareOfCeiling: number | null;
  runs: IngestRun[];
}

export async function measureIngest(
  server: BenchServer,
  options: { sizes: number[]; reps: number; ceiling: Ceiling | null; databaseUrl: string | null; log: (line: string) => void },
): Promise<IngestFigure[]> {
  const db = options.databaseUrl ? new pg.Client({ connectionString: options.databaseUrl }) : null;
  await db?.connect();
  try {
    // Warm-up, not measured: the first upload of a process pays for compiling the code it runs.
    const warm = generateHaePayload({ samples: 5000, seed: 99 });
    checkCompleted(await upload(server.url, (await server.newKey('warm-up')).key, Buffer.from(JSON.stringify(warm.payload))), warm.samples);

    const figures: IngestFigure[] = [];
    for (const size of options.sizes) {
      const generated = generateHaePayload({ samples: size, seed: size });
      const body = Buffer.from(JSON.stringify(generated.payload));
      const { lines, months } = ceilingLines(generated);
      const runs: IngestRun[] = [];
      for (let rep = 0; rep < options.reps; rep++) {
        // Alternate which goes first, so neither always meets the other's leftovers (autovacuum, dirty pages).
        const ceilingFirst = rep % 2 === 1;
        let ceilingMs: number | null = null;
        if (ceilingFirst && options.ceiling) ceilingMs = await options.ceiling.copy(lines, months);
        const { key } = await server.newKey(`ingest-${size}-${rep}`);
        const meter = await cpuMeter(server.pid, db);
        const result = await upload(server.url, key, body);
        const cpu = await meter.stop();
        checkCompleted(result, generated.samples);
        if (!ceilingFirst && options.ceiling) ceilingMs = await options.ceiling.copy(lines, months);
        const run: IngestRun = {
          ms: round(result.ms),
          samplesPerSecond: round((generated.samples / result.ms) * 1000),
          serverCpuS: cpu.serverS === null ? null : round(cpu.serverS, 2),
          databaseCpuS: cpu.databaseS === null ? null : round(cpu.databaseS, 2),
          ceilingMs: ceilingMs === null ? null : round(ceilingMs),
        };
        runs.push(run);
        options.log(`  ${generated.samples} samples: ${run.samplesPerSecond} samples/s (${run.ms} ms, server CPU ${run.serverCpuS} s, database CPU ${run.databaseCpuS} s)` +
          (ceilingMs === null ? '' : `; ceiling ${round((generated.samples / ceilingMs) * 1000)} rows/s`));
      }
      const ceilingTimes = runs.map((r) => r.ceilingMs).filter((ms): ms is number => ms !== null);
      const samplesPerSecond = round(median(runs.map((r) => r.samplesPerSecond)));
      const ceilingRowsPerSecond = ceilingTimes.length ? round(median(ceilingTimes.map((ms) => (generated.samples / ms) * 1000))) : null;
      figures.push({
        samples: generated.samples,
        payloadMb: round(body.length / 1024 / 1024, 1),
        samplesPerSecond,
        ceilingRowsPerSecond,
        shareOfCeiling: ceilingRowsPerSecond ? round(samplesPerSecond / ceilingRowsPerSecond, 2) : null,
        runs,
      });
    }
    return figures;
  } finally {
    await db?.end();
  }
}
