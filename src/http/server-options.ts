/**
 * The Fastify and Node HTTP server settings that protect the process at the
 * edge: whom to believe about the client address, and how long a client may
 * take. REQUEST_TIMEOUT_SECONDS stays under the proxy's own limit (Cloudflare
 * cuts at 100 s), so a slow client is answered 408 here rather than 524 there.
 */
import type { Server } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { clientErrorHandler } from './plugins/app/error-handler.js';

/** Fastify's default; only /ingest reads more, as a stream under MAX_PAYLOAD_MB. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export function serverOptions(edge: Config['edge']): FastifyHttpOptions<Server> {
  const { requestMs, headersMs, keepAliveMs } = edge.timeouts;
  return {
    bodyLimit: BODY_LIMIT_BYTES,
    // A hop count trusts that many proxies nearest the server: the client is the address the last of them saw.
    trustProxy: typeof edge.trustProxy === 'number' ? trustHops(edge.trustProxy) : edge.trustProxy,
    requestTimeout: requestMs,
    // A connection silent for twice as long (a client that stopped reading its answer) is closed;
    // longer than requestTimeout, so that a stalled upload gets its 408 before the socket goes.
    connectionTimeout: 2 * requestMs,
    keepAliveTimeout: keepAliveMs,
    clientErrorHandler,
    http: {
      headersTimeout: headersMs,
      // How often Node checks those two timeouts (default 30 s would let 90 s become 120 s).
      connectionsCheckingInterval: Math.min(1000, headersMs),
    },
  };
}

function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}
