/**
 * GET /metrics: the Prometheus scrape, without a key (put it behind the network,
 * or set METRICS_PORT to serve it only on a port of its own, see server.ts).
 */
import type { FastifyInstance } from 'fastify';

export default async function metricsRoutes(app: FastifyInstance): Promise<void> {
  if (app.config.metrics.port !== undefined) return;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format); see docs/metrics.md',
        description: 'No key: keep this port off the public network, or set METRICS_PORT to serve /metrics on a port of its own (it then leaves this one).',
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await app.services.metrics.scrape();
      return reply.type(contentType).send(body);
    },
  );
}
