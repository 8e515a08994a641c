/**
 * Liveness and readiness. /ready is 503 only when the database or the migrations
 * fail; Redis or MQTT trouble is "degraded" with 200, because ingestion still works.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const check = z.enum(['ok', 'down', 'off']);
const readySchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    checks: z
      .object({ database: check, migrations: check, redis: check, mqtt: check })
      .describe('ok, down, or off (not configured); why a check is down is in the server log, not here (this route has no key)'),
  })
  .meta({ id: 'Readiness', example: { status: 'ok', checks: { database: 'ok', migrations: 'ok', redis: 'off', mqtt: 'off' } } });

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'The process is running', response: { 200: z.object({ status: z.literal('ok') }).meta({ description: 'The process runs', example: { status: 'ok' } }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Whether the database, migrations, Redis and MQTT are usable',
        response: {
          200: readySchema.describe('ok, or degraded when Redis or MQTT is down (ingestion still works)'),
          503: readySchema.meta({
            description: 'down: the database or the migrations check failed',
            example: { status: 'down', checks: { database: 'down', migrations: 'down', redis: 'off', mqtt: 'off' } },
          }),
        },
      },
    },
    async (_request, reply) => {
      const report = await app.services.readiness.check();
      return reply.status(report.status === 'down' ? 503 : 200).send(report);
    },
  );
};

export default healthRoutes;
