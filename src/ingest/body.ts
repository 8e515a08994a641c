/**
 * Reads an upload as it streams in: inflates gzip on the fly, hashes the
 * decompressed bytes, and stops reading the moment the decompressed size passes
 * the limit, so a gzip bomb is refused after inflating at most MAX_PAYLOAD_MB.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip, gzip } from 'node:zlib';
import { AppError } from '../shared/errors.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface ReceivedBody {
  /** The decompressed body. */
  bytes: Buffer;
  sha256: string;
  /** What the archive stores: the client's own gzip, or the body compressed cheaply here. */
  archive: Buffer;
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
export function tooLarge(limitBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `body is larger than the limit of ${limitBytes / 1024 / 1024} MB (MAX_PAYLOAD_MB, counted after decompression)`);
}

export type BodyStream = AsyncIterable<Buffer | Uint8Array>;

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

/**
 * The request is piped into the pipeline rather than placed in it: on a refusal
 * the pipeline tears down its own stages, but the request must stay open, or
 * the socket would go with it and the client would never see the 413.
 */
export async function readBody(stream: BodyStream, encoding: 'gzip' | null, limitBytes: number): Promise<ReceivedBody> {
  const source = stream instanceof Readable ? stream : Readable.from(stream);
  const received: Buffer[] = [];
  const inflated: Buffer[] = [];
  const hash = createHash('sha256');
  let size = 0;

  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (encoding === 'gzip') received.push(chunk);
      done(null, chunk);
    },
  });
  const gone = () => {
    if (!source.readableEnded) tap.destroy(new AppError('BAD_REQUEST', 'the client stopped sending before the end of the body'));
  };
  source.once('error', gone).once('close', gone);
  source.pipe(tap);

  // Kept aside: pipeline reports its own abort rather than the error that stopped it.
  let refusal: AppError | undefined;
  const keep = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > limitBytes) throw (refusal = tooLarge(limitBytes));
      hash.update(chunk);
      inflated.push(chunk);
    }
  };

  try {
    if (encoding === 'gzip') await pipeline(tap, createGunzip(), keep);
    else await pipeline(tap, keep);
  } catch (error) {
    source.unpipe(tap);
    await discardRest(source);
    if (refusal) throw refusal;
    if (error instanceof AppError || encoding !== 'gzip') throw error;
    throw new AppError('BAD_REQUEST', `body is not valid gzip: ${(error as Error).message}`);
  } finally {
    source.off('error', gone).off('close', gone);
  }

  const bytes = Buffer.concat(inflated);
  return {
    bytes,
    sha256: hash.digest('hex'),
    archive: encoding === 'gzip' ? Buffer.concat(received) : await gzipAsync(bytes, { level: 1 }),
  };
}

/** Compresses a body that did not arrive over HTTP (MQTT, CLI) for the archive. */
export async function archiveBytes(bytes: Buffer): Promise<ReceivedBody> {
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), archive: await gzipAsync(bytes, { level: 1 }) };
}

export function unarchive(archive: Buffer): Promise<Buffer> {
  return gunzipAsync(archive);
}
