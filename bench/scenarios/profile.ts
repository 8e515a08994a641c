/**
 * Where the time of one large upload goes: the server runs under node
 * --cpu-prof, and the samples taken between the request and the response are
 * summarised by function and by file. PostgreSQL's side is in the CPU seconds
 * of its sessions (measured with the throughput figures).
 */
import { generateHaePayload } from '../generate.js';
import { profileServer, type ProfileSummary } from '../lib/profile.js';
import { checkCompleted, upload, type Target } from '../lib/server.js';
import { round } from '../lib/stats.js';

export interface ProfileFigure extends ProfileSummary {
  samples: number;
  ingestMs: number;
}

export async function profileIngest(target: Target, samples: number): Promise<ProfileFigure> {
  const { value, profile } = await profileServer(target, async (server, measure) => {
    const warm = generateHaePayload({ samples: 5000, seed: 97 });
    const { key } = await server.newKey('profile');
    checkCompleted(await upload(server.url, key, Buffer.from(JSON.stringify(warm.payload))), warm.samples);
    const generated = generateHaePayload({ samples, seed: samples + 1 });
    const body = Buffer.from(JSON.stringify(generated.payload));
    const result = await measure(() => upload(server.url, key, body));
    checkCompleted(result, generated.samples);
    return { samples: generated.samples, ingestMs: round(result.ms) };
  });
  return { ...value, ...profile };
}
