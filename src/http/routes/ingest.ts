/**
 * POST /api/v1/ingest: the phone's endpoint. The body is read here as a raw
 * stream (not by Fastify's JSON parser) so it can be archived byte for byte,
 * hashed, inflated under a size limit, and refused before it is read in full.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { hasScope } from '../../auth/key-service.js';
import { checkEncoding, discardRest, tooLarge, type BodyLimit, type BodyStream } from '../../ingest/body.js';
import { keptHeaders, type Upload } from '../../ingest/service.js';
import { AppError, notFound } from '../../shared/errors.js';
import { usersRepository } from '../../storage/repositories/users.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse } from '../schemas/common.js';
import { ingestBody, ingestionAccepted, ingestionSchema, ingestionStatusCode, ingestionView } from '../schemas/ingestion.js';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
/** Refusals recorded as failed ingestions without a body: the body was never read in full. */
const RECORDED_UNREAD = new Set(['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_ENCODING', 'UNSUPPORTED_MEDIA_TYPE']);

const ingestQuery = z.object({
  user_id: z
    .uuid()
    .optional()
    .describe('Admin keys only: ingest for this user instead of the key\'s own (the CLI\'s import does). The ingestion records the admin key as the one that sent it.')
    .meta({ example: 'b167adc8-85aa-45b5-9000-dab05cfe94e0' }),
});

const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
  const users = usersRepository(app.services.db);
  app.addHook('onRequest', requireScope('ingest'));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.post(
    '/ingest',
    {
      schema: {
        tags: ['ingestion'],
        summary: 'Upload Health Auto Export JSON or the standard format',
        description:
          'The body is archived first, then processed. 200 when processing finished within INGEST_SYNC_BUDGET_MS, 202 with a status URL otherwise. ' +
          'An identical body sent again by the same user answers 200 with the earlier ingestion, `duplicate_of` and `"duplicate": true` (nothing is written again). `Content-Encoding: gzip` is accepted. ' +
          'An admin key may add `?user_id=` to ingest for another user.',
        security: SECURITY,
        querystring: ingestQuery,
        documentedBody: ingestBody,
        response: {
          200: ingestionSchema.describe('Processed: the counts per outcome and per type add up to the samples received (or an identical earlier upload, with duplicate_of)'),
          202: ingestionAccepted,
          ...authErrors,
          403: errorResponse('FORBIDDEN', 'The key lacks the ingest scope, or names a user_id without the admin scope', 'user_id: only an admin key may ingest for another user'),
          404: errorResponse('NOT_FOUND', 'No user with that user_id', 'user not found'),
          400: errorResponse(
            'INVALID_JSON',
            'INVALID_JSON: empty, not UTF-8, or not JSON (the body is kept as a failed ingestion); BAD_REQUEST: gzip that does not inflate, or a body cut off',
            'body is not valid JSON: ValueExpected at line 1, column 23 (position 22) (kept as ingestion 5104ed7b-62f8-468b-b443-0b4a820c7fe7)',
          ),
          413: errorResponse('PAYLOAD_TOO_LARGE', 'Larger than MAX_PAYLOAD_MB after decompression; refused unread', 'body is larger than the limit of 100 MB (MAX_PAYLOAD_MB, counted after decompression)'),
          415: errorResponse(
            'UNSUPPORTED_MEDIA_TYPE',
            'UNSUPPORTED_MEDIA_TYPE: Content-Type is not JSON, or a charset other than UTF-8; UNSUPPORTED_ENCODING: Content-Encoding other than gzip',
            'Content-Type "application/x-www-form-urlencoded" is not accepted; send application/json',
          ),
          422: errorResponse(
            'UNPROCESSABLE_PAYLOAD',
            'JSON in neither format, or hostile JSON (nested deeper than MAX_JSON_DEPTH, a string longer than MAX_STRING_KB, __proto__, \\u0000); kept as a failed ingestion',
            'body is JSON but in neither accepted format: expected a Health Auto Export payload {"data": {"metrics": [...], ...}} or the standard format {"samples": [...]} (kept as ingestion 4e385028-d828-4b07-9d0b-11654ce3db26)',
          ),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { ingest } = app.services;
      const limit: BodyLimit = { bytes: app.config.ingest.maxPayloadBytes, setting: 'MAX_PAYLOAD_MB, counted after decompression' };
      const owner = request.query.user_id;
      if (owner !== undefined) {
        if (!hasScope(principal, 'admin')) throw new AppError('FORBIDDEN', 'user_id: only an admin key may ingest for another user');
        if (!(await users.findById(owner))) throw notFound('user');
      }
      const upload: Upload = {
        userId: owner ?? principal.userId,
        keyId: principal.keyId,
        source: 'http',
        clientIp: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
        headers: keptHeaders(request.headers),
      };
      try {
        const contentType = request.headers['content-type'];
        if (!contentType || !JSON_TYPE.test(contentType)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(contentType ?? '')} is not accepted; send application/json`);
        }
        const charset = CHARSET.exec(contentType)?.[1];
        if (charset && !/^utf-?8$/i.test(charset)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type charset ${JSON.stringify(charset)} is not accepted; JSON must be sent as UTF-8`);
        }
        const encoding = checkEncoding(request.headers['content-encoding']);
        if (encoding === null && declared(request) > limit.bytes) throw tooLarge(limit);
        const body = await ingest.receive(upload.userId, request.body as BodyStream | undefined, encoding, limit);
        const { ingestion, duplicateOf } = await ingest.ingest(upload, body, { log: request.log as Logger });
        if (ingestion.status === 'failed' && ingestion.error && !duplicateOf) {
          const code = ingestion.error.code as 'INVALID_JSON' | 'UNPROCESSABLE_PAYLOAD';
          throw new AppError(code, `${ingestion.error.message} (kept as ingestion ${ingestion.id})`);
        }
        return reply.status(ingestionStatusCode(ingestion)).send(ingestionView(ingestion, duplicateOf));
      } catch (error) {
        if (error instanceof AppError && RECORDED_UNREAD.has(error.code)) {
          await discardRest(request.body);
          await ingest.recordRefused(upload, error, Number.isFinite(declared(request)) ? declared(request) : 0);
        }
        throw error;
      }
    },
  );
};

function declared(request: { headers: Record<string, unknown> }): number {
  return Number(request.headers['content-length'] ?? 0);
}

export default ingestRoutes;
