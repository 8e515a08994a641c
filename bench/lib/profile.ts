/**
 * Profiles a server (node --cpu-prof) during one call, and reads a V8 CPU
 * profile to say where the time went during a window: self time per function
 * and per file, idle and garbage collection.
 * Profile timestamps are CLOCK_MONOTONIC microseconds, the clock behind
 * process.hrtime, so a window measured by the benchmark selects the samples of
 * one upload in the server's profile.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBenchServer, type BenchServer, type Target } from './server.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds covered by the samples counted. */
  totalMs: number;
  idleMs: number;
  garbageCollectionMs: number;
  /** Busy time (not idle) by function, largest first. */
  functions: { name: string; file: string; ms: number; share: number }[];
  /** Busy time by source file (src/..., node_modules/<package>, node internals). */
  files: { file: string; ms: number; share: number }[];
}

/** A short name for where a function lives. */
function fileOf(url: string): string {
  if (url === '') return '(native)';
  const source = /\/(src\/.*)$/.exec(url);
  if (source) return source[1]!;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `node_modules/${pkg[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

export async function summariseProfile(file: string, window?: { fromUs: number; toUs: number }, top = 20): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  let counted = 0;
  const inWindow = (time: number) => !window || (time >= window.fromUs && time <= window.toUs);
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (!inWindow(at)) continue;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + delta);
    counted += delta;
  }
  if (window && counted === 0) return summariseProfile(file, undefined, top);

  let idle = 0;
  let gc = 0;
  const functions = new Map<string, { name: string; file: string; us: number }>();
  const files = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gc += us;
    const name = frame.functionName || '(anonymous)';
    const where = fileOf(frame.url);
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, file: where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    files.set(where, (files.get(where) ?? 0) + us);
  }
  const busy = counted - idle;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const share = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  return {
    totalMs: ms(counted),
    idleMs: ms(idle),
    garbageCollectionMs: ms(gc),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, file: f.file, ms: ms(f.us), share: share(f.us) })),
    files: [...files].sort((a, b) => b[1] - a[1]).slice(0, top).map(([file, us]) => ({ file, ms: ms(us), share: share(us) })),
  };
}

/**
 * Runs `work` on a server started under node --cpu-prof, then summarises the
 * server's main thread over the one call `work` passes to `measure` (set-up and
 * warm-up around it are left out).
 */
export async function profileServer<T>(
  target: Target,
  work: (server: BenchServer, measure: <R>(call: () => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<{ value: T; profile: ProfileSummary }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hea-bench-prof-'));
  try {
    const server = await startBenchServer(target, {}, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let window: { fromUs: number; toUs: number } | undefined;
    let value: T;
    try {
      value = await work(server, async (call) => {
        const from = process.hrtime.bigint();
        try {
          return await call();
        } finally {
          window = { fromUs: Number(from / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
        }
      });
    } finally {
      await server.stop();
    }
    // One profile per thread; the main thread's is the largest (the other is the module loader's).
    const files = await Promise.all((await readdir(dir)).map(async (name) => ({ name, size: (await stat(path.join(dir, name))).size })));
    const main = files.sort((a, b) => b.size - a.size)[0];
    if (!main) throw new Error('the server wrote no CPU profile');
    return { value, profile: await summariseProfile(path.join(dir, main.name), window) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
