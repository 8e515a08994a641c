/**
 * One hook at the end of every request: it counts the request in /metrics and
 * writes the request's only log line (Fastify's own incoming/completed lines are
 * off). The line has the route template and the path without its query string
 * (queries can carry source names), the status, the duration and, for errors,
 * the code; a 5xx line carries the error itself. Its request id comes from the
 * request's child logger, like every other line logged for that request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the error handler: the code sent, and the error itself when it was ours (5xx). */
    failure: { code: ErrorCode; error?: unknown } | null;
  }
}

/** The route label of a request no route matched: the raw path would make labels unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Probes and scrapes arrive every few seconds: their successful lines are debug, not info. */
const QUIET_ROUTES = new Set(['/health', '/ready']);
const MAX_PATH_LENGTH = 256;

export default fp(
  async function requestTelemetry(app: FastifyInstance) {
    const { metrics } = app.services;
    app.decorateRequest('failure', null);

    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const status = reply.statusCode;
      const ms = reply.elapsedTime;
      metrics.httpRequest(request.method, route, status, ms / 1000);
      if (status >= 500) metrics.error('http');

      const level = status >= 500 ? 'error' : status < 400 && QUIET_ROUTES.has(route) ? 'debug' : 'info';
      // The line is only built when it will be written: this hook runs on every request.
      if ((request.log as Logger).isLevelEnabled(level)) {
        const query = request.url.indexOf('?');
        const path = (query === -1 ? request.url : request.url.slice(0, query)).slice(0, MAX_PATH_LENGTH);
        const { failure, principal } = request;
        request.log[level](
          {
            method: request.method,
            route,
            path,
            status,
            ms: Math.round(ms * 10) / 10,
            ...(principal ? { key_id: principal.keyId } : {}),
            ...(failure ? { code: failure.code } : {}),
            ...(failure?.error ? { err: failure.error } : {}),
          },
          'request',
        );
      }
      done();
    });
  },
  { name: 'request-telemetry' },
);
