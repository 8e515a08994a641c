/**
 * Bounding the memory a request holds: a garbage collection on demand (what
 * earlier tests left for the collector would otherwise hide growth behind the
 * baseline), and a large body to send as a stream while the memory is watched.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
export const collectGarbage = runInNewContext('gc') as () => void;

/**
 * A body made of `text()`'s pieces, each sent as a new Buffer, as a socket hands
 * them over (a server keeping them keeps them all). Buffer memory is sampled as
 * each piece is asked for, while the server holds what it kept so far. The
 * SHA-256 and length are computed from the strings beforehand, so no Buffer
 * garbage lands after the baseline.
 */
export function watchedBody(text: () => Iterable<string>) {
  const hash = createHash('sha256');
  let length = 0;
  for (const piece of text()) {
    hash.update(piece);
    length += Buffer.byteLength(piece);
  }
  let before = 0;
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers));
  return {
    sha256: hash.digest('hex'),
    length,
    /** Collects garbage, takes the baseline, and gives the stream to send. */
    send(): Readable {
      collectGarbage();
      before = peak = process.memoryUsage().arrayBuffers;
      return Readable.from(
        (function* () {
          for (const piece of text()) {
            sample();
            yield Buffer.from(piece);
          }
        })(),
        { objectMode: false },
      );
    },
    /** How far Buffer memory rose above the baseline, sampled once more now: a body kept whole is still there. */
    growth(): number {
      sample();
      return peak - before;
    },
  };
}
