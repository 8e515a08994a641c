/**
 * Erasing the caller's own data, with a key holding the `delete` scope (granted
 * only when named; admin includes it): a type's samples in a time range, and one
 * archived upload's body. Each deletion is audited; erasing a whole user is an
 * admin route (admin.ts).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { hasScope } from '../../auth/key-service.js';
import { AppError, notFound } from '../../shared/errors.js';
import { ingestionsRepository } from '../../storage/repositories/ingestions.js';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors, errorResponse, uuidParam } from '../schemas/common.js';
import { erasedSchema, erasureParam, erasureQuery } from '../schemas/data.js';
import { ingestionSchema, ingestionView } from '../schemas/ingestion.js';

const noDeleteScope = errorResponse('FORBIDDEN', 'The key lacks the delete scope (no key has it unless it was asked for; admin includes it)', 'this key lacks the delete scope');

const erasureRoutes: FastifyPluginAsyncZod = async (app) => {
  const { erasure } = app.services;
  const ingestions = ingestionsRepository(app.services.db);
  app.addHook('onRequest', requireScope('delete'));

  const actorOf = (request: Parameters<typeof principalOf>[0]) => ({
    keyId: principalOf(request).keyId,
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  });

  app.delete(
    '/data/:type',
    {
      schema: {
        tags: ['data'],
        summary: "Erase the caller's samples of one type whose start is in [start, end)",
        description:
          'Deletes the samples, audits the deletion and remembers it: a reprocess of an upload received before the erasure skips those samples ' +
          '(counted as rejected, category erased), so they never come back from an archive. The archived bodies are kept (they hold other data too); ' +
          'DELETE /api/v1/ingestions/{id}/body removes one. An upload received after the erasure stores its samples again.',
        security: SECURITY,
        params: erasureParam,
        querystring: erasureQuery,
        response: { 200: erasedSchema, ...authErrors, 403: noDeleteScope },
      },
    },
    async (request) => {
      const { start, end } = request.query;
      const deleted = await erasure.samples(principalOf(request).userId, { type: request.params.type, start, end }, actorOf(request));
      return { deleted };
    },
  );

  app.delete(
    '/ingestions/:id/body',
    {
      schema: {
        tags: ['ingestion'],
        summary: 'Delete the archived body of one upload, keeping the samples it wrote',
        description:
          'The body and the original JSON of its kept rejections are deleted; the ingestion record (status, counts, headers, SHA-256) stays, ' +
          'and it can no longer be reprocessed. Admins may name any user\'s ingestion.',
        security: SECURITY,
        params: uuidParam,
        response: {
          200: ingestionSchema.describe('The ingestion, with body_deleted_at set'),
          ...authErrors,
          403: noDeleteScope,
          404: errorResponse('NOT_FOUND', "No such ingestion, or another user's (the same answer)", 'ingestion not found'),
          409: errorResponse('CONFLICT', 'The ingestion is queued or being processed', 'this ingestion is being processed right now; delete its body when it finishes'),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const owner = hasScope(principal, 'admin') ? null : principal.userId;
      const outcome = await erasure.body(owner, request.params.id, actorOf(request));
      if (outcome === null) throw notFound('ingestion');
      if (outcome === 'busy') throw new AppError('CONFLICT', 'this ingestion is being processed right now; delete its body when it finishes');
      return ingestionView((await ingestions.find(request.params.id, outcome.user_id))!);
    },
  );
};

export default erasureRoutes;
