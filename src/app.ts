/**
 * buildApp(config, deps) assembles the whole service without listening: the
 * services over the given database (and Redis), then Fastify plugins in layers:
 * external first, then the app's own, then routes. Tests drive it with inject.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createKeyService, loadPepper, type KeyService } from './auth/key-service.js';
import type { Config } from './config/config.js';
import errorHandler from './http/plugins/app/error-handler.js';
import requestTelemetry from './http/plugins/app/request-telemetry.js';
import openapi from './http/plugins/external/swagger.js';
import routes from './http/routes/index.js';
import { createIngestService, type IngestService } from './ingest/service.js';
import { createMetrics, type Metrics } from './monitoring/metrics.js';
import { createReadiness } from './monitoring/readiness.js';
import type { Database } from './storage/database.js';
import { ingestionsRepository } from './storage/repositories/ingestions.js';

export interface AppDeps {
  db: Database;
  logger: Logger;
  redis?: Redis | null;
  /** Whether PostGIS objects exist (the result of the migration step). */
  postgis: boolean;
  now?: () => Date;
}

export interface Services {
  db: Database;
  keys: KeyService;
  ingest: IngestService;
  readiness: ReturnType<typeof createReadiness>;
  /** This app's Prometheus registry and the API that records every metric. */
  metrics: Metrics;
  /** The root logger: its level is the process's (children follow it). */
  logger: Logger;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    config: Config;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const redis = deps.redis ?? null;
  const ingestions = ingestionsRepository(deps.db);
  const metrics = createMetrics({
    queue: () => ingestions.queueState(),
    activeUsers: () => ingestions.activeUsers(24),
    pool: () => deps.db.poolState(),
  });
  const services: Services = {
    db: deps.db,
    keys: createKeyService({
      db: deps.db,
      config: config.auth,
      pepper: await loadPepper(deps.db, config.auth.pepper),
      redis,
      logger: deps.logger,
      metrics,
    }),
    ingest: createIngestService({ db: deps.db, config, postgis: deps.postgis, logger: deps.logger, metrics, now: deps.now }),
    readiness: createReadiness({ db: deps.db, redis }),
    metrics,
    logger: deps.logger,
  };

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // One line per request, written by request-telemetry.ts, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('services', services);
  app.decorate('config', config);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  // The database outlives the app in tests (and could in a CLI): stop listening when the app closes.
  const stopPoolWait = deps.db.onPoolWait((seconds) => metrics.poolWait(seconds));
  app.addHook('onClose', async () => stopPoolWait());

  await app.register(openapi);
  await app.register(requestTelemetry);
  await app.register(errorHandler);
  await app.register(routes);
  return app as unknown as FastifyInstance;
}
