/**
 * Memory: the server's resident memory while it ingests one payload of about
 * 95 MB (just under the default 100 MB limit), and how far it comes back
 * afterwards. Each repetition is a fresh server; the starting level is taken
 * after a small warm-up upload, so it includes the code a working server holds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { generateHaePayload, type Generated } from '../generate.js';
import { memoryOf, watchMemory } from '../lib/proc.js';
import { checkCompleted, startBenchServer, upload, type Target } from '../lib/server.js';
import { median, percentile, round } from '../lib/stats.js';

export interface MemoryRun {
  startMb: number;
  peakMb: number;
  afterMb: number;
  /** Seconds after the response until RSS was within 50 MB of the start (null: not within the settle time); `afterMb` is read then. */
  backWithin50MbAfterS: number | null;
  ingestMs: number;
  /** /health asked every 20 ms while the upload was read, parsed and written: the 99th percentile and the slowest answer. */
  healthP99Ms: number;
  healthMaxMs: number;
}

export interface MemoryFigure {
  payloadMb: number;
  samples: number;
  settleSeconds: number;
  startMb: number;
  peakMb: number;
  afterMb: number;
  healthP99Ms: number;
  runs: MemoryRun[];
}

/** Asks `url`/health every 20 ms until stopped; the answers' times in ms. */
function watchHealth(url: string): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const asked = performance.now();
      await fetch(`${url}/health`).then((response) => response.arrayBuffer());
      times.push(performance.now() - asked);
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return times;
    },
  };
}

/** A generated payload whose JSON is about `megabytes` MB (MiB, as MAX_PAYLOAD_MB counts). */
export function payloadOfSize(megabytes: number): { generated: Generated; body: Buffer } {
  const probe = generateHaePayload({ samples: 50_000, seed: 1 });
  const bytesPerSample = Buffer.byteLength(JSON.stringify(probe.payload)) / probe.samples;
  let samples = Math.round((megabytes * 1024 * 1024) / bytesPerSample);
  for (;;) {
    const generated = generateHaePayload({ samples, seed: 95 });
    const body = Buffer.from(JSON.stringify(generated.payload));
    if (body.length <= megabytes * 1024 * 1024) return { generated, body };
    samples = Math.floor(samples * 0.99);
  }
}

export async function measureMemory(
  target: () => Promise<{ target: Target; drop(): Promise<void> }>,
  payload: { generated: Generated; body: Buffer },
  options: { reps: number; settleSeconds: number; log: (line: string) => void },
): Promise<MemoryFigure> {
  const runs: MemoryRun[] = [];
  const warm = generateHaePayload({ samples: 5000, seed: 98 });
  const warmBody = Buffer.from(JSON.stringify(warm.payload));
  for (let rep = 0; rep < options.reps; rep++) {
    const place = await target();
    const server = await startBenchServer(place.target);
    try {
      const { key } = await server.newKey(`memory-${rep}`);
      checkCompleted(await upload(server.url, key, warmBody), warm.samples);
      await sleep(1000);
      const startMb = memoryOf(server.pid).rssMb;
      const watch = watchMemory(server.pid);
      const health = watchHealth(server.url);
      const result = await upload(server.url, key, payload.body);
      const during = watch.stop();
      const answers = await health.stop();
      checkCompleted(result, payload.generated.samples);
      const peakMb = Math.max(during.highestMb, memoryOf(server.pid).peakMb);
      // Afterwards: RSS once back within 50 MB of the start, or when the settle time is up.
      let back: number | null = null;
      const settled = Date.now();
      let afterMb = memoryOf(server.pid).rssMb;
      while (back === null && Date.now() - settled < options.settleSeconds * 1000) {
        await sleep(250);
        afterMb = memoryOf(server.pid).rssMb;
        if (afterMb - startMb <= 50) back = round((Date.now() - settled) / 1000, 1);
      }
      const run = { startMb: round(startMb), peakMb: round(peakMb), afterMb: round(afterMb), backWithin50MbAfterS: back, ingestMs: round(result.ms), healthP99Ms: round(percentile(answers, 99), 1), healthMaxMs: round(Math.max(...answers), 1) };
      runs.push(run);
      options.log(`  start ${run.startMb} MB, peak ${run.peakMb} MB, after ${run.afterMb} MB (${back === null ? `not within 50 MB of the start ${options.settleSeconds} s later` : `within 50 MB after ${back} s`}), ingest ${run.ingestMs} ms, /health p99 ${run.healthP99Ms} ms (slowest ${run.healthMaxMs} ms)`);
    } finally {
      await server.stop();
      await place.drop();
    }
  }
  return {
    payloadMb: round(payload.body.length / 1024 / 1024, 1),
    samples: payload.generated.samples,
    settleSeconds: options.settleSeconds,
    startMb: round(median(runs.map((r) => r.startMb))),
    peakMb: round(median(runs.map((r) => r.peakMb))),
    afterMb: round(median(runs.map((r) => r.afterMb))),
    healthP99Ms: round(median(runs.map((r) => r.healthP99Ms)), 1),
    runs,
  };
}
