/**
 * buildApp(config, deps) assembles the whole service without listening: the
 * services over the given database (and Redis), then Fastify plugins in layers:
 * external first, then the app's own, then routes. Tests drive it with inject.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createKeyService, loadPepper, type KeyService } from './auth/key-service.js';
import type { Config } from './config/config.js';
import errorHandler from './http/plugins/app/error-handler.js';
import openapi from './http/plugins/external/swagger.js';
import routes from './http/routes/index.js';
import { createIngestService, type IngestService } from './ingest/service.js';
import { createReadiness } from './monitoring/readiness.js';
import { createMqttIntake } from './mqtt/intake.js';
import { createMqttSubscriber, type MqttSubscriber } from './mqtt/subscriber.js';
import type { Database } from './storage/database.js';

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
  /** Set when MQTT_URL is; the server starts it after listening. */
  mqtt: MqttSubscriber | null;
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
  const services: Services = {
    db: deps.db,
    keys: createKeyService({
      db: deps.db,
      config: config.auth,
      pepper: await loadPepper(deps.db, config.auth.pepper),
      redis,
      logger: deps.logger,
    }),
    ingest: createIngestService({ db: deps.db, config, postgis: deps.postgis, logger: deps.logger, now: deps.now }),
    readiness: createReadiness({ db: deps.db, redis, mqttState: () => services.mqtt?.state() ?? 'off' }),
    mqtt: null,
  };
  if (config.mqtt.url) {
    const intake = createMqttIntake({ db: deps.db, keys: services.keys, ingest: services.ingest, config: config.mqtt, logger: deps.logger });
    services.mqtt = createMqttSubscriber({ config: { ...config.mqtt, url: config.mqtt.url }, logger: deps.logger, handle: intake.handle });
  }

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
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

  await app.register(openapi);
  await app.register(errorHandler);
  await app.register(routes);
  return app as unknown as FastifyInstance;
}
