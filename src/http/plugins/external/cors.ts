/**
 * Cross-origin access for browser dashboards, off unless CORS_ALLOWED_ORIGINS
 * lists origins. An origin not on the list gets no CORS header at all (not even
 * on a preflight, which then answers 404), so a browser page elsewhere cannot
 * read any answer. Preflights are answered before authentication: browsers send
 * them without the key.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const CORS_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'api-key', 'X-Request-Id'];
/** Headers a page may read from an answer besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'Content-Disposition'];

export default fp(
  async function corsPlugin(app: FastifyInstance) {
    const { origins, credentials, maxAgeSeconds } = app.config.edge.cors;
    const allowed = new Set(origins);
    await app.register(cors, {
      // A function answering false for a refused origin turns CORS off for that request entirely.
      origin: allowed.has('*') ? '*' : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
      methods: CORS_METHODS,
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      credentials,
      maxAge: maxAgeSeconds,
      // A bare OPTIONS from an allowed origin gets the preflight answer rather than a text/plain 400.
      strictPreflight: false,
    });
  },
  { name: 'cors' },
);
