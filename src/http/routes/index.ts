/** Every route, grouped by resource; each group sets its own authentication scope. The dashboard's page answers every other GET. */
import type { FastifyInstance } from 'fastify';
import adminRoutes from './admin.js';
import dashboardRoutes from './dashboard.js';
import dataRoutes from './data/index.js';
import erasureRoutes from './erasure.js';
import healthRoutes from './health.js';
import importRoutes from './import.js';
import ingestRoutes from './ingest.js';
import ingestionRoutes from './ingestions.js';
import keyRoutes from './keys.js';
import loggingRoutes from './logging.js';
import rateLimitRoutes from './rate-limit.js';

export default async function routes(app: FastifyInstance): Promise<void> {
  await app.register(healthRoutes);
  await app.register(ingestRoutes, { prefix: '/api/v1' });
  await app.register(importRoutes, { prefix: '/api/v1' });
  await app.register(ingestionRoutes, { prefix: '/api/v1' });
  await app.register(keyRoutes, { prefix: '/api/v1' });
  await app.register(rateLimitRoutes, { prefix: '/api/v1' });
  await app.register(adminRoutes, { prefix: '/api/v1' });
  await app.register(loggingRoutes, { prefix: '/api/v1' });
  await app.register(dataRoutes, { prefix: '/api/v1' });
  await app.register(erasureRoutes, { prefix: '/api/v1' });
  await app.register(dashboardRoutes);
}
