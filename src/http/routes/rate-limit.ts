/** GET /api/v1/auth/rate-limit: the calling key's limit and what is left of it. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf, requireScope } from '../plugins/app/auth.js';
import { SECURITY, authErrors } from '../schemas/common.js';

const statusSchema = z
  .object({
    limit: z.number().int().describe('Requests this key may make per window (RATE_LIMIT_REQUESTS_PER_HOUR)'),
    remaining: z.number().int().describe('Requests left in the window, this one already counted'),
    reset_at: z.string().describe('When the oldest counted request leaves the window and `remaining` grows'),
    window_seconds: z.number().int().describe('Length of the sliding window (RATE_LIMIT_WINDOW_SECONDS)'),
  })
  .meta({ id: 'RateLimit', example: { limit: 1000, remaining: 997, reset_at: '2024-03-14T07:19:54.000Z', window_seconds: 3600 } });

const rateLimitRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireScope('ingest', 'read'));

  app.get(
    '/auth/rate-limit',
    {
      schema: {
        tags: ['keys'],
        summary: "The calling key's rate limit and current usage (a sliding window: requests age out one by one)",
        security: SECURITY,
        response: { 200: statusSchema.describe('Counting nothing extra: this request is already in the window'), ...authErrors },
      },
    },
    async (request) => app.rateLimits.status(principalOf(request).keyId),
  );
};

export default rateLimitRoutes;
