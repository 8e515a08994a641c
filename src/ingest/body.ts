/**
 * Reads an upload as it streams in: inflates gzip on the fly, hashes the
 * decompressed bytes, and stops reading the moment the decompressed size passes
 * the limit, so a gzip bomb is refused after inflating at most MAX_PAYLOAD_MB.
 * The archive is written on the way, chunk by chunk, so no stage holds the whole
 * upload; reading it back (`archiveSource`) inflates it chunk by chunk too.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AppError } from '../shared/errors.js';

/** A body read in full and archived in chunks, not yet visible as an ingestion. */
export interface ReceivedBody {
  /** Decompressed size in bytes. */
  size: number;
  /** Of the decompressed bytes. */
  sha256: string;
  /** How many chunks its archive has. */
  chunks: number;
  /** The decompressed body when it is small (see KEEP_BYTES), else null: read it back from the archive. */
  bytes: Buffer | null;
}

/**
 * An upload's decompressed bytes, wherever they are kept (the request, the
 * archive), read as a stream so that no stage needs to hold a whole upload.
 */
export interface BodySource {
  /** Decompressed size in bytes. */
  readonly size: number;
  /** Reads from the first byte; may be called again for a fresh read. */
  open(): AsyncIterable<Buffer>;
}

export function bufferSource(bytes: Buffer): BodySource {
  return {
    size: bytes.length,
    async *open() {
      yield bytes;
    },
  };
}

export const SUPPORTED_ENCODINGS = ['identity', 'gzip', 'x-gzip'];

export function checkEncoding(header: string | undefined): 'gzip' | null {
  const encoding = (header ?? 'identity').trim().toLowerCase() || 'identity';
  if (!SUPPORTED_ENCODINGS.includes(encoding)) {
    throw new AppError('UNSUPPORTED_ENCODING', `Content-Encoding ${JSON.stringify(header)} is not supported; send gzip or no encoding`);
  }
  return encoding === 'identity' ? null : 'gzip';
}

/** No `Connection: close`: the rest of the body is discarded instead (see discardRest). */
/** How large a body may be, counted after decompression, and the setting that says so (the refusal names it). */
export interface BodyLimit {
  bytes: number;
  setting: string;
}

/** For bodies already in memory or on the server's own disk (MQTT's own limit came first; the CLI's files). */
export const NO_LIMIT: BodyLimit = { bytes: Infinity, setting: '' };

export function tooLarge(limit: BodyLimit): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `body is larger than the limit of ${limit.bytes / 1024 / 1024} MB (${limit.setting})`);
}

export type BodyStream = AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>;

/**
 * Reads and drops what a refused client is still sending, so that it then gets
 * its answer. Node stops reading a connection whose answer ended before its
 * request did (the client stalls until a timeout), and closing a socket the
 * client is still writing to resets it (the client loses the answer). Costs
 * network only: nothing is kept or inflated. REQUEST_TIMEOUT_SECONDS bounds it.
 */
export function discardRest(stream: unknown): Promise<void> {
  if (!(stream instanceof Readable) || stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve).once('close', resolve).once('error', resolve);
    stream.resume();
  });
}

/** The archive's chunk rows hold this much of its gzip stream each (the last one less). */
export const ARCHIVE_CHUNK_BYTES = 1024 * 1024;
/**
 * A body up to this size (decompressed) is also kept in memory, so that the small
 * upload a phone sends every few minutes is processed without reading its archive back.
 */
const KEEP_BYTES = 1024 * 1024;

/** Where the archive's chunks go as they fill: the service binds it to the upload's future id. */
export type ChunkSink = (seq: number, data: Buffer) => Promise<void>;

/**
 * Cuts a gzip stream into chunks of ARCHIVE_CHUNK_BYTES for the sink; waiting for each
 * write is what slows the client down when the database is slower than its upload.
 */
function chunker(sink: ChunkSink) {
  let parts: Buffer[] = [];
  let size = 0;
  let seq = 0;
  const flush = async () => {
    if (size === 0) return;
    const data = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    await sink(seq, data);
    seq += 1;
  };
  return {
    async push(chunk: Buffer) {
      for (let at = 0; at < chunk.length; ) {
        const piece = chunk.subarray(at, at + ARCHIVE_CHUNK_BYTES - size);
        parts.push(piece);
        size += piece.length;
        at += piece.length;
        if (size === ARCHIVE_CHUNK_BYTES) await flush();
      }
    },
    /** Writes what is left; returns how many chunks the archive has. */
    async end(): Promise<number> {
      await flush();
      return seq;
    },
  };
}

/**
 * Reads the body and writes its archive as it arrives: the client's own gzip
 * bytes as they came (compressing them again would change them), else the body
 * compressed here at level 1; the SHA-256 and the size are of the decompressed
 * bytes, counted on the way. Nothing holds more than a chunk of the upload.
 *
 * The request is piped into the pipeline rather than placed in it: on a refusal
 * the pipeline tears down its own stages, but the request must stay open, or
 * the socket would go with it and the client would never see the 413.
 */
export async function readBody(stream: BodyStream, encoding: 'gzip' | null, limit: BodyLimit, sink: ChunkSink): Promise<ReceivedBody> {
  const source = stream instanceof Readable ? stream : Readable.from(stream);
  const archive = chunker(sink);
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let size = 0;
  // Kept aside: pipeline reports its own abort rather than the error that stopped it.
  let failure: Error | undefined;

  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (encoding !== 'gzip') return done(null, chunk);
      archive.push(chunk).then(
        () => done(null, chunk),
        (error: Error) => done((failure = error)),
      );
    },
  });
  const gone = () => {
    if (!source.readableEnded) tap.destroy(new AppError('BAD_REQUEST', 'the client stopped sending before the end of the body'));
  };
  source.once('error', gone).once('close', gone);
  source.pipe(tap);

  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit.bytes) return done((failure = tooLarge(limit)));
      hash.update(chunk);
      if (size <= KEEP_BYTES) kept.push(chunk);
      done(null, chunk);
    },
  });
  const store = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) await archive.push(chunk).catch((error: Error) => Promise.reject((failure = error)));
  };
  const drain = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) void chunk;
  };

  let chunks: number;
  try {
    if (encoding === 'gzip') await pipeline(tap, createGunzip(), count, drain);
    else await pipeline(tap, count, createGzip({ level: 1 }), store);
    chunks = await archive.end();
  } catch (error) {
    source.unpipe(tap);
    await discardRest(source);
    if (failure) throw failure;
    if (error instanceof AppError || encoding !== 'gzip') throw error;
    throw new AppError('BAD_REQUEST', `body is not valid gzip: ${(error as Error).message}`);
  } finally {
    source.off('error', gone).off('close', gone);
  }
  return { size, sha256: hash.digest('hex'), chunks, bytes: size <= KEEP_BYTES ? Buffer.concat(kept, size) : null };
}

/**
 * An archived body read back: its gzip stream, chunk after chunk as `chunks`
 * yields them, inflated on the way.
 */
export function archiveSource(size: number, chunks: () => AsyncIterable<Buffer>): BodySource {
  return {
    size,
    async *open() {
      const gunzip = createGunzip();
      // pipeline destroys gunzip with the error of any stage, which ends the loop below with it.
      pipeline(Readable.from(chunks()), gunzip).catch(() => undefined);
      yield* gunzip as AsyncIterable<Buffer>;
    },
  };
}
