/**
 * POST /api/v1/import/apple-health: a backfill from Apple Health's own export
 * (export.zip, or export.xml alone) as the body. Archived like any upload, then
 * processed by a worker: an export of several GB takes minutes, so the answer
 * is always 202 with the ingestion's status URL (or 200 for a body this user
 * already sent). Its own limits: IMPORT_MAX_MB per upload and
 * IMPORT_MAX_MB_PER_USER_PER_DAY, not the phone's MAX_PAYLOAD_MB, and no
 * REQUEST_TIMEOUT_SECONDS for the upload.
 */
import type { Socket } from 'node:net';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { discardRest, tooLarge, type BodyLimit, type BodyStream } from '../../ingest/body.js';
import { keptHeaders, type Upload } from '../../ingest/service.js';
import { AppError } from '../../shared/errors.js';
import { ingestionsRepository } from '../../storage/repositories/ingestions.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse } from '../schemas/common.js';
import { ingestionAccepted, ingestionSchema, ingestionStatusCode, ingestionView } from '../schemas/ingestion.js';

const EXPORT_TYPES = /^(application\/(zip|x-zip-compressed|xml|octet-stream)|text\/xml)\s*(;.*)?$/i;
const DAY_MS = 86_400_000;
const MB = 1024 * 1024;

const importRoutes: FastifyPluginAsyncZod = async (app) => {
  const ingestions = ingestionsRepository(app.services.db);
  app.addHook('onRequest', requireScope('ingest'));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.post(
    '/import/apple-health',
    {
      schema: {
        tags: ['ingestion'],
        summary: "Import Apple Health's own export (export.zip or export.xml)",
        description:
          'The body is the zip the Health app writes ("Export All Health Data"), or its export.xml alone, sent as it is (application/zip, application/xml or application/octet-stream). ' +
          'It is archived, then processed by a worker: the answer is 202 with the ingestion\'s status URL to poll; `format` is `apple_health`. ' +
          'Samples land on the same types, units and identities as the app\'s uploads, so importing again, or importing what the app also sent, stores nothing twice. ' +
          'Limits: IMPORT_MAX_MB per upload, IMPORT_MAX_MB_PER_USER_PER_DAY per user; the upload may take longer than REQUEST_TIMEOUT_SECONDS (a connection silent for twice that long is closed).',
        security: SECURITY,
        response: {
          200: ingestionSchema.describe('The same bytes were imported before by this user: the earlier ingestion, with duplicate_of'),
          202: ingestionAccepted,
          ...authErrors,
          413: errorResponse('PAYLOAD_TOO_LARGE', 'Larger than IMPORT_MAX_MB, or more than IMPORT_MAX_MB_PER_USER_PER_DAY in 24 hours; refused unread', 'body is larger than the limit of 4096 MB (IMPORT_MAX_MB)'),
          415: errorResponse('UNSUPPORTED_MEDIA_TYPE', 'Content-Type is neither a zip nor XML', 'Content-Type "application/json" is not accepted here; send the export as application/zip or application/xml'),
        },
      },
    },
    async (request, reply) => {
      withoutRequestTimeout(request.raw.socket);
      const principal = principalOf(request);
      const { ingest } = app.services;
      const { importMaxBytes, importMaxBytesPerUserPerDay } = app.config.ingest;
      const upload: Upload = {
        userId: principal.userId,
        keyId: principal.keyId,
        source: 'http',
        clientIp: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
        headers: keptHeaders(request.headers),
        format: 'apple_health',
      };
      const declared = Number(request.headers['content-length'] ?? 0);
      try {
        const contentType = request.headers['content-type'] ?? '';
        if (!EXPORT_TYPES.test(contentType)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(contentType)} is not accepted here; send the export as application/zip or application/xml`);
        }
        if (declared > importMaxBytes) throw tooLarge({ bytes: importMaxBytes, setting: 'IMPORT_MAX_MB' });
        const used = await ingestions.importedBytesSince(upload.userId, new Date(Date.now() - DAY_MS));
        const left = importMaxBytesPerUserPerDay - used;
        if (declared > left || left <= 0) {
          throw new AppError(
            'PAYLOAD_TOO_LARGE',
            `this upload would pass the ${importMaxBytesPerUserPerDay / MB} MB of exports a user may import in 24 hours (IMPORT_MAX_MB_PER_USER_PER_DAY; ${Math.round(used / MB)} MB used)`,
          );
        }
        const limit: BodyLimit =
          importMaxBytes <= left ? { bytes: importMaxBytes, setting: 'IMPORT_MAX_MB' } : { bytes: left, setting: 'what is left today of IMPORT_MAX_MB_PER_USER_PER_DAY' };
        // Archived in chunks as it arrives: nothing holds more than a chunk of the export.
        const body = await ingest.receive(upload.userId, request.body as BodyStream | undefined, null, limit);
        if (body.size === 0) {
          await ingest.discard(upload.userId, body);
          throw new AppError('BAD_REQUEST', 'body is empty; send export.zip or export.xml');
        }
        // Always a worker's job: an export takes longer than any request should.
        const { ingestion, duplicateOf } = await ingest.ingest(upload, body, { log: request.log as Logger, budgetMs: 0 });
        return reply.status(duplicateOf ? 200 : ingestionStatusCode(ingestion)).send(ingestionView(ingestion, duplicateOf));
      } catch (error) {
        if (error instanceof AppError && (error.code === 'PAYLOAD_TOO_LARGE' || error.code === 'UNSUPPORTED_MEDIA_TYPE')) {
          await discardRest(request.body);
          await ingest.recordRefused(upload, error, Number.isFinite(declared) ? declared : 0);
        }
        throw error;
      }
    },
  );
};

/**
 * Frees this request (authenticated by now) from REQUEST_TIMEOUT_SECONDS, which Node
 * applies per server: an export of several GB takes longer to upload than any other
 * request may. Node checks that limit on the connections its server lists; this takes
 * the connection off the list (the parser's own `remove`, not a documented API), and
 * the parser lists it again when the next request on it begins. A client that stops
 * sending is still cut off after 2 × REQUEST_TIMEOUT_SECONDS of silence (connectionTimeout).
 */
function withoutRequestTimeout(socket: Socket | null | undefined): void {
  (socket as (Socket & { parser?: { remove?: () => void } | null }) | null | undefined)?.parser?.remove?.();
}


export default importRoutes;
