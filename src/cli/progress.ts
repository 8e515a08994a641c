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

/** One long import's line: bytes read of the total, records so far and per second, the time left. */
export interface ImportProgress {
  update(bytesDone: number, records: number): void;
  clear(): void;
}

export function importProgressLine(totalBytes: number, stream: NodeJS.WriteStream = process.stdout, now = () => Date.now()): ImportProgress {
  if (!stream.isTTY) return { update() {}, clear() {} };
  const started = now();
  let shown = false;
  let lastDraw = 0;
  return {
    update(bytesDone, records) {
      const at = now();
      if (at - lastDraw < 200) return;
      lastDraw = at;
      const seconds = (at - started) / 1000;
      const share = totalBytes > 0 ? Math.min(1, bytesDone / totalBytes) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
      const rate = seconds > 0.5 ? Math.round(records / seconds) : 0;
      const left = share > 0.01 && seconds > 1 ? Math.ceil((seconds / share) * (1 - share)) : undefined;
      stream.write(
        `\r[${bar}] ${mb(bytesDone)}/${mb(totalBytes)} MB, ${records.toLocaleString('en')} records${rate ? `, ${rate.toLocaleString('en')} records/s` : ''}${left !== undefined ? `, ~${left} s left` : ''}\u001b[K`,
      );
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\u001b[K');
      shown = false;
    },
  };
}
