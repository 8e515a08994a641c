/**
 * One status line for long CLI operations (import, reprocess --all), redrawn in
 * place: uploads done of all, bytes done of all, the rate and the time left.
 * Only on a terminal: piped or redirected output stays the result lines alone.
 * Bytes are those sent, then, while an upload is processed, the share of it that
 * its ingestion reports done (`progress`), with the samples walked so far.
 */
export interface Progress {
  /** `uploads` finished so far, `bytes` done so far (of every upload together), and what is being worked on. */
  update(uploads: number, bytes: number, label: string): void;
  /** Clears the line, so a result line can be written in its place. */
  clear(): void;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0);

export function progressLine(total: { uploads: number; bytes: number }, stream: NodeJS.WriteStream = process.stdout, now = () => Date.now()): Progress {
  if (!stream.isTTY) return { update() {}, clear() {} };
  const started = now();
  let shown = false;
  let lastDraw = 0;
  return {
    update(uploads, bytes, label) {
      const at = now();
      // Redrawing on every chunk sent would cost more than the upload.
      if (at - lastDraw < 100 && uploads < total.uploads) return;
      lastDraw = at;
      const seconds = (at - started) / 1000;
      const rate = seconds > 0.5 ? bytes / seconds : 0;
      const left = rate > 0 ? Math.ceil((total.bytes - bytes) / rate) : undefined;
      const timing = rate > 0 ? `, ${mb(rate)} MB/s${left !== undefined && left > 0 ? `, ~${left} s left` : ''}` : '';
      stream.write(`\r${uploads}/${total.uploads} uploads, ${mb(bytes)}/${mb(total.bytes)} MB${timing}  ${label}\u001b[K`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\u001b[K');
      shown = false;
    },
  };
}
