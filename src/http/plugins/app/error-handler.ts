/**
 * The one place errors become HTTP. Every body is {"error": {code, message, request_id}};
 * 4xx messages say what was wrong and where, 5xx hide internals and are logged
 * (on the request's one log line, src/http/plugins/app/request-telemetry.ts).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../../shared/errors.js';
import { isDatabaseUnavailable } from '../../../storage/database.js';

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'BAD_REQUEST',
};

const MIB = 1024 * 1024;
/** A lost connection is back within seconds, or an operator is at work: the app retries a 503. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Fastify says what went wrong; for these, ours also says how much is allowed or what to send. */
function fastifyMessage(error: FastifyError, request: FastifyRequest): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit ?? 0;
    const size = limit % MIB === 0 ? `${limit / MIB} MiB` : `${limit} bytes`;
    return `request body is larger than the ${size} this route accepts`;
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted; send application/json`;
  }
  return error.message;
}

export function errorBody(code: ErrorCode, message: string, requestId: string) {
  return { error: { code, message, request_id: requestId } };
}

function toAppError(error: FastifyError | Error, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = fastifyError.validationContext ?? 'request';
    const details = error.validation
      .map((issue) => `${where}${issue.instancePath ? issue.instancePath.replaceAll('/', '.') : ''}: ${issue.message}`)
      .join('; ');
    return new AppError('BAD_REQUEST', details);
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new AppError('INVALID_JSON', `request body is not valid JSON: ${error.message}`);
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, fastifyMessage(fastifyError, request));
  if (fastifyError.statusCode === 429) return new AppError('RATE_LIMITED', fastifyError.message);
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new AppError('BAD_REQUEST', fastifyError.message);
  }
  if (isDatabaseUnavailable(error)) {
    return new AppError('DATABASE_UNAVAILABLE', 'the database is unavailable right now; retry after the seconds in Retry-After', {
      'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
    });
  }
  return new AppError('INTERNAL', 'internal error; the request id identifies it in the server log');
}

/**
 * Requests Node refuses before Fastify sees them (too slow, headers too large,
 * not HTTP) are answered in the same shape as every other error. Node closes
 * the connection after them; there is no request log line, so the request id
 * is on a debug line of its own. Passed to Fastify as a server option
 * (src/http/server-options.ts).
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'the request did not arrive in time (headers within HEADERS_TIMEOUT_SECONDS, all of it within REQUEST_TIMEOUT_SECONDS)']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'request headers are larger than the 16 KiB allowed in all']
        : ['BAD_REQUEST', 'not a well-formed HTTP/1.1 request'];
  const requestId = randomUUID();
  this.log.debug({ request_id: requestId, code, cause: error.code }, 'request refused by the HTTP layer');
  if (socket.writable) {
    const body = JSON.stringify(errorBody(code, message, requestId));
    const status = ERROR_STATUS[code];
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export default fp(
  async function errorHandler(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const appError = toAppError(error, request);
      // Logged once, on the request's line (request-telemetry.ts). Messages are not logged:
      // they echo input (an email that exists, a JSON snippet of the body).
      request.failure = { code: appError.code, ...(appError.status >= 500 ? { error } : {}) };
      void reply
        .status(appError.status)
        .headers(appError.headers)
        .send(errorBody(appError.code, appError.message, request.id));
    });
    app.setNotFoundHandler((request, reply) => {
      request.failure = { code: 'NOT_FOUND' };
      void reply
        .status(ERROR_STATUS.NOT_FOUND)
        .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, request.id));
    });
  },
  { name: 'error-handler' },
);
