/**
 * Ingestion status, lists, rejections and reprocessing. The phone polls with its
 * ingest key, so reading accepts `ingest` or `read`. Another user's ingestion
 * answers 404, the same as a missing one.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { hasScope } from '../../auth/key-service.js';
import { AppError, notFound } from '../../shared/errors.js';
import { ingestionsRepository } from '../../storage/repositories/ingestions.js';
import { isKeyRecord } from '../../storage/repositories/keyset.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors, decodeCursor, errorResponse, listFrom, listSchema, listQuery, uuidParam, isoTime } from '../schemas/common.js';
import { ingestionAccepted, ingestionSchema, ingestionStatusCode, ingestionView, rejectionSchema } from '../schemas/ingestion.js';

const isPageKey = isKeyRecord({ received_at: 'timestamptz', id: 'uuid' });
/** A rejection's seq: an int, as the column is (1.5 or 1e400 would reach SQL as a 500). */
const isRejectionKey = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= -1 && (v as number) <= 2 ** 31 - 1;

const notFoundIngestion = errorResponse('NOT_FOUND', "No such ingestion, or another user's (the same answer, so ids cannot be probed)", 'ingestion not found');

const ingestionRoutes: FastifyPluginAsyncZod = async (app) => {
  const repository = ingestionsRepository(app.services.db);
  app.addHook('onRequest', requireScope('ingest', 'read'));

  /** Admins see every user's ingestions; others only their own. */
  const owner = (request: Parameters<typeof principalOf>[0]) => {
    const principal = principalOf(request);
    return hasScope(principal, 'admin') ? null : principal.userId;
  };

  app.get(
    '/ingestions',
    {
      schema: {
        tags: ['ingestion'],
        summary: "The caller's ingestions, newest first",
        security: SECURITY,
        querystring: listQuery.extend({ user_id: z.uuid().optional().describe('Admins only: another user, e.g. the built-in unclaimed user').meta({ example: 'b167adc8-85aa-45b5-9000-dab05cfe94e0' }) }),
        response: { 200: listSchema(ingestionSchema, 'Ingestions, newest first; pass next as cursor for the following page'), ...authErrors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const userId = request.query.user_id && hasScope(principal, 'admin') ? request.query.user_id : principal.userId;
      const rows = await repository.list(userId, request.query.limit + 1, decodeCursor(request.query.cursor, isPageKey));
      return listFrom(rows, request.query.limit, (row) => ingestionView(row), (last) => ({ received_at: isoTime(last.received_at), id: last.id }));
    },
  );

  app.get(
    '/ingestions/:id',
    {
      schema: {
        tags: ['ingestion'],
        summary: 'One ingestion: status, counts per type, timings, kept headers, error',
        security: SECURITY,
        params: uuidParam,
        response: { 200: ingestionSchema.describe('The ingestion: while queued or processing, counts may be null or partial'), ...authErrors, 404: notFoundIngestion },
      },
    },
    async (request) => {
      const row = await repository.find(request.params.id, owner(request));
      if (!row) throw notFound('ingestion');
      return ingestionView(row);
    },
  );

  app.get(
    '/ingestions/:id/rejections',
    {
      schema: {
        tags: ['ingestion'],
        summary: 'Every rejected sample of an ingestion, with its type, reason and original JSON',
        security: SECURITY,
        params: uuidParam,
        querystring: listQuery,
        response: {
          200: listSchema(rejectionSchema, 'Rejected samples in the order they were met: the first REJECTIONS_KEPT_MAX of the ingestion')
            .extend({
              rejections_not_kept: z.number().int().describe('Rejections of this ingestion counted but not kept, so not in this list (0 when every one was kept)'),
            })
            .meta({ example: { items: [z.globalRegistry.get(rejectionSchema)?.example], next: null, rejections_not_kept: 0 } }),
          ...authErrors,
          404: notFoundIngestion,
        },
      },
    },
    async (request) => {
      const row = await repository.find(request.params.id, owner(request));
      if (!row) throw notFound('ingestion');
      const after = decodeCursor(request.query.cursor, isRejectionKey);
      const rows = await repository.rejections(row.user_id, row.id, request.query.limit + 1, after);
      const page = listFrom(rows, request.query.limit, ({ type, category, reason, sample }) => ({ type, category, reason, sample }), (last) => last.seq);
      return { ...page, rejections_not_kept: row.rejections_not_kept };
    },
  );

  app.post(
    '/ingestions/:id/reprocess',
    {
      schema: {
        tags: ['ingestion'],
        summary: "Run an archived body again through today's parser and thresholds, under the same id",
        security: SECURITY,
        params: uuidParam,
        response: {
          200: ingestionSchema.describe('Processed again: status, counts and rejections replaced'),
          202: ingestionAccepted,
          ...authErrors,
          404: notFoundIngestion,
          409: errorResponse('CONFLICT', 'The ingestion is being processed right now, or has no body (refused unread, or deleted by its owner)', 'this ingestion is being processed right now; try again when it finishes'),
        },
      },
    },
    async (request, reply) => {
      if (!hasScope(principalOf(request), 'ingest')) throw new AppError('FORBIDDEN', 'this key lacks the ingest scope');
      const row = await repository.find(request.params.id, owner(request));
      if (!row) throw notFound('ingestion');
      const result = await app.services.ingest.reprocess(row.user_id, row.id, { log: request.log as Logger });
      if (!result) {
        throw new AppError(
          'CONFLICT',
          row.body_deleted_at
            ? 'this ingestion\'s body was deleted by its owner, so there is nothing to reprocess'
            : row.sha256
              ? 'this ingestion is being processed right now; try again when it finishes'
              : 'this ingestion kept no body (it was refused unread), so there is nothing to reprocess',
        );
      }
      return reply.status(ingestionStatusCode(result)).send(ingestionView(result));
    },
  );
};

export default ingestionRoutes;
