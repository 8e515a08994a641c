/**
 * Reads an upload as it streams in: inflates gzip on the fly, hashes the
 * decompressed bytes, and stops reading the moment the decompressed size passes
 * the limit, so a gzip bomb is refused after inflating at most MAX_PAYLOAD_MB.
 */
import { createHash } from 'node:crypto';
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

export const SUPPORTED_ENCODINGS = ['identity', 'gzip', 'x-gzip'];

export function checkEncoding(header: string | undefined): 'gzip' | null {
  const encoding = (header ?? 'identity').trim().toLowerCase() || 'identity';
  if (!SUPPORTED_ENCODINGS.includes(encoding)) {
    throw new AppError('UNSUPPORTED_ENCODING', `Content-Encoding ${JSON.stringify(header)} is not supported; send gzip or no encoding`);
  }
  return encoding === 'identity' ? null : 'gzip';
}

export function tooLarge(limitBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `body is larger than the limit of ${limitBytes / 1024 / 1024} MB (MAX_PAYLOAD_MB, counted after decompression)`, {
    Connection: 'close',
  });
}

export type BodyStream = AsyncIterable<Buffer | Uint8Array> & { destroy?(): void };

export async function readBody(stream: BodyStream, encoding: 'gzip' | null, limitBytes: number): Promise<ReceivedBody> {
  const received: Buffer[] = [];
  const inflated: Buffer[] = [];
  const hash = createHash('sha256');
  let size = 0;

  const keep = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    hash.update(chunk);
    inflated.push(chunk);
  };

  if (encoding === 'gzip') {
    const gunzipStream = createGunzip();
    const done = (async () => {
      for await (const chunk of gunzipStream) keep(chunk as Buffer);
    })();
    try {
      for await (const chunk of stream) {
        received.push(chunk as Buffer);
        if (!gunzipStream.write(chunk)) await new Promise((resolve) => gunzipStream.once('drain', resolve));
      }
      gunzipStream.end();
      await done;
    } catch (error) {
      gunzipStream.destroy();
      stream.destroy?.();
      await done.catch(() => undefined);
      if (error instanceof AppError) throw error;
      throw new AppError('BAD_REQUEST', `body is not valid gzip: ${(error as Error).message}`);
    }
  } else {
    try {
      for await (const chunk of stream) keep(Buffer.from(chunk));
    } catch (error) {
      stream.destroy?.();
      throw error;
    }
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
