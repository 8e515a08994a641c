/**
 * POST /api/v1/ingest: the phone's endpoint. The body is read here as a raw
 * stream (not by Fastify's JSON parser) so it can be archived byte for byte,
 * hashed, inflated under a size limit, and refused before it is read in full.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { checkEncoding, discardRest, readBody, tooLarge, type BodyStream } from '../../ingest/body.js';
import { keptHeaders, type Upload } from '../../ingest/service.js';
import { AppError } from '../../shared/errors.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors, errorSchema } from '../schemas/common.js';
import { ingestionSchema, ingestionStatusCode, ingestionView } from '../schemas/ingestion.js';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
/** Refusals recorded as failed ingestions without a body: the body was never read in full. */
const RECORDED_UNREAD = new Set(['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_ENCODING', 'UNSUPPORTED_MEDIA_TYPE']);

const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
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
          'An identical body sent again by the same user answers with the earlier ingestion and `duplicate_of`. `Content-Encoding: gzip` is accepted.',
        security: SECURITY,
        response: { 200: ingestionSchema, 202: ingestionSchema, ...authErrors, 413: errorSchema, 415: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { ingest } = app.services;
      const limit = app.config.ingest.maxPayloadBytes;
      const upload: Upload = {
        userId: principal.userId,
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
        if (encoding === null && declared(request) > limit) throw tooLarge(limit);
        const body = await readBody((request.body as BodyStream | undefined) ?? emptyStream(), encoding, limit);
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

async function* emptyStream(): AsyncGenerator<Buffer> {
  // A request without a body: readBody sees zero bytes and the parser says so.
}

export default ingestRoutes;
