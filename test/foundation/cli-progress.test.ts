/**
 * The CLI's progress line for long imports and reprocessing: uploads and bytes
 * done, rate and time left, on a terminal only (redirected output stays the
 * result lines alone).
 */
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
}

describe('the CLI progress line', () => {
  it('shows uploads done, megabytes sent, the rate and the time left on a terminal', () => {
    const { written, stream } = fakeStream(true);
    let now = 0;
    const progress = progressLine({ uploads: 2, bytes: 8 * 1024 * 1024 }, stream, () => now);
    progress.update(0, 0, 'a.json');
    now = 2000;
    progress.update(0, 2 * 1024 * 1024, 'a.json');
    expect(written.at(-1)).toBe('\r0/2 uploads, 2.0/8.0 MB, 1.0 MB/s, ~6 s left  a.json\u001b[K');
    progress.clear();
    expect(written.at(-1)).toBe('\r\u001b[K');
  });

  it('writes nothing when the output is not a terminal', () => {
    const { written, stream } = fakeStream(false);
    const progress = progressLine({ uploads: 1, bytes: 100 }, stream);
    progress.update(0, 50, 'a.json');
    progress.clear();
    expect(written).toEqual([]);
  });
});
