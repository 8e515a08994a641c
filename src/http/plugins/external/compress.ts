/**
 * Response compression: brotli or gzip, whichever the client prefers, for bodies
 * of at least COMPRESS_MIN_BYTES (a year of daily summaries, a page of 1,000
 * samples, a streamed export). Request bodies are left alone: the ingest route
 * reads and inflates its own body, so it can archive the bytes as sent.
 */
import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// The plugin's own default list, plus NDJSON exports.
const COMPRESSIBLE = /^text\/(?!event-stream)|(?:\+|\/)(?:x-nd)?json(?:;|$)|(?:\+|\/)text(?:;|$)|(?:\+|\/)xml(?:;|$)/u;

export default fp(
  async function compression(app: FastifyInstance) {
    await app.register(compress, {
      globalCompression: true,
      globalDecompression: false,
      threshold: app.config.reading.compressMinBytes,
      encodings: ['br', 'gzip'],
      customTypes: COMPRESSIBLE,
    });
  },
  { name: 'compress' },
);
