/**
 * Where the time of one large upload goes: the server runs under node
 * --cpu-prof, and the samples taken between the request and the response are
 * summarised by function and by file. PostgreSQL's side is in the CPU seconds
 * of its sessions (measured with the throughput figures).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateHaePayload } from '../generate.js';
import { summariseProfile, type ProfileSummary } from '../lib/profile.js';
import { checkCompleted, startBenchServer, upload, type Target } from '../lib/server.js';
import { round } from '../lib/stats.js';

export interface ProfileFigure extends ProfileSummary {
  samples: number;
  ingestMs: number;
}

export async function profileIngest(target: Target, samples: number): Promise<ProfileFigure> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hea-bench-prof-'));
  try {
    const server = await startBenchServer(target, {}, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let window: { fromUs: number; toUs: number };
    let generated;
    let ingestMs: number;
    try {
      const warm = generateHaePayload({ samples: 5000, seed: 97 });
      const { key } = await server.newKey('profile');
      checkCompleted(await upload(server.url, key, Buffer.from(JSON.stringify(warm.payload))), warm.samples);
      generated = generateHaePayload({ samples, seed: samples + 1 });
      const body = Buffer.from(JSON.stringify(generated.payload));
      const from = process.hrtime.bigint();
      const result = await upload(server.url, key, body);
      const to = process.hrtime.bigint();
      checkCompleted(result, generated.samples);
      ingestMs = round(result.ms);
      window = { fromUs: Number(from / 1000n), toUs: Number(to / 1000n) };
    } finally {
      await server.stop();
    }
    // One profile per thread; the main thread's is the largest (the other is the module loader's).
    const files = await Promise.all((await readdir(dir)).map(async (name) => ({ name, size: (await stat(path.join(dir, name))).size })));
    const main = files.sort((a, b) => b.size - a.size)[0];
    if (!main) throw new Error('the server wrote no CPU profile');
    return { samples: generated.samples, ingestMs, ...(await summariseProfile(path.join(dir, main.name), window)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
