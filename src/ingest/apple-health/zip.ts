/**
 * Reads an export.zip entry by entry straight from the upload's bytes, never
 * unpacked to disk. yauzl needs random access (the directory is at the end of
 * a zip); a BodySource is a stream from the first byte, so reads go forward
 * through one open stream and reopen it only to go back. The directory is read
 * whole first, then entries are opened in the order the caller asks, so a whole
 * import costs two or three passes over the body, whatever the entry count.
 */
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { AppError } from '../../shared/errors.js';
import type { BodySource } from '../body.js';

export interface ZipEntry {
  name: string;
  /** Offset of the entry's local header in the zip: opening entries by offset reads forward. */
  offset: number;
  size: number;
  open(): Promise<Readable>;
}

/** A zip starts with a local file header (or, empty, with the end of its directory). */
export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6);
}

const EMPTY = Buffer.alloc(0);

/**
 * A forward-only window on a BodySource, reopened from the first byte when a read
 * goes back. Every move of the window goes through one queue, so a stream yauzl
 * dropped half-read cannot interleave with the next one.
 */
class SourceReader extends yauzl.RandomAccessReader {
  private iterator: AsyncIterator<Buffer> | null = null;
  /** Offset of `pending`'s first byte in the body. */
  private position = 0;
  private pending: Buffer = EMPTY;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly source: BodySource) {
    super();
  }

  /** How far into the body the window is. */
  get bytesRead(): number {
    return this.position + this.pending.length;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.range(start, end), { objectMode: false });
  }

  private async *range(start: number, end: number): AsyncGenerator<Buffer> {
    let at = start;
    while (at < end) {
      const found = await this.chunkAt(at);
      if (found === null) throw new AppError('UNPROCESSABLE_PAYLOAD', `the zip ends before byte ${at}, which its directory points to`);
      const piece = found.chunk.subarray(found.from, Math.min(found.chunk.length, found.from + end - at));
      at += piece.length;
      yield piece;
    }
  }

  private chunkAt(at: number): Promise<{ chunk: Buffer; from: number } | null> {
    const work = this.queue.then(() => this.locate(at));
    this.queue = work.catch(() => undefined);
    return work;
  }

  private async locate(at: number): Promise<{ chunk: Buffer; from: number } | null> {
    if (at < this.position) this.rewind();
    while (at >= this.position + this.pending.length) {
      this.position += this.pending.length;
      this.pending = EMPTY;
      this.iterator ??= this.source.open()[Symbol.asyncIterator]();
      const next = await this.iterator.next();
      if (next.done) return null;
      this.pending = next.value;
    }
    return { chunk: this.pending, from: at - this.position };
  }

  private rewind(): void {
    void this.iterator?.return?.();
    this.iterator = null;
    this.position = 0;
    this.pending = EMPTY;
  }

  override close(callback: (err: Error | null) => void): void {
    this.rewind();
    callback(null);
  }
}

export interface OpenedZip {
  entries: ZipEntry[];
  /** Where the reader is in the body, for progress. */
  bytesRead(): number;
  close(): void;
}

/** Lists every entry (file names decoded, UTF-8 flag and Info-ZIP Unicode paths honoured; zip64 read). */
export async function openZip(source: BodySource): Promise<OpenedZip> {
  const reader = new SourceReader(source);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, source.size, { lazyEntries: true, autoClose: false });
  } catch (error) {
    throw new AppError('UNPROCESSABLE_PAYLOAD', `body starts like a zip but is not one yauzl can read: ${(error as Error).message}`);
  }
  const entries: ZipEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) {
        entries.push({
          name: entry.fileName,
          offset: entry.relativeOffsetOfLocalHeader,
          size: entry.uncompressedSize,
          open: () => zip.openReadStreamPromise(entry),
        });
      }
      zip.readEntry();
    });
    zip.once('end', resolve);
    zip.once('error', (error: Error) => reject(new AppError('UNPROCESSABLE_PAYLOAD', `the zip's directory cannot be read: ${error.message}`)));
    zip.readEntry();
  });
  return { entries, bytesRead: () => reader.bytesRead, close: () => zip.close() };
}
