/**
 * Conditional GETs for the data endpoints: each 200 JSON answer carries a weak
 * ETag (a hash of the body before compression, so gzip and brotli copies share it)
 * and `Cache-Control: private` (health data must never sit in a shared cache).
 * A request whose If-None-Match names the current ETag gets 304 and no body, so
 * a dashboard polling for changes costs a query but not a transfer. Streamed
 * exports are not hashed: that would mean holding them whole.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

export async function conditionalGet(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (request.method !== 'GET' || reply.statusCode !== 200 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) return payload;
  const etag = `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`;
  void reply.header('ETag', etag).header('Cache-Control', 'private');
  if (!matches(request.headers['if-none-match'], etag)) return payload;
  void reply.code(304).removeHeader('Content-Type').removeHeader('Content-Length');
  return '';
}
